//! Administration routes (reference §3.4, §7.5, §10.4): policy grants,
//! product profiles, onboarding, product config, live targets.

use axum::extract::State;

use super::extract::JsonObject;
use crate::error::ApiError;
use crate::ops::grants::Change;
use crate::ops::{Call, Reply, Service};

/// `POST /v1/authz-policies/github-actions/grants`.
pub async fn grants(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .change_policy(&call, body.value(), Change::Grant)
        .await
}

/// `POST /v1/authz-policies/github-actions/removals`.
pub async fn removals(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .change_policy(&call, body.value(), Change::Removal)
        .await
}

/// `POST /v1/product-profiles`.
pub async fn write_profile(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service.write_profile(&call, body.value()).await
}

/// `POST /v1/product-onboarding/apply`.
pub async fn onboarding(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.onboard_product(&call, body).await
}

/// `POST /v1/product-config/apply`.
pub async fn product_config(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.apply_product_config(&call, body).await
}

/// `POST /v1/live-target-runtime/apply`.
pub async fn live_target(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.apply_live_target(&call, body).await
}

/// `POST /v1/lanes/release`.
pub async fn release_lane(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.release_lane_lease(&call, body).await
}
