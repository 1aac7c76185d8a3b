//! The product-neutral preview lifecycle routes (reference §3.5); the
//! service layer is `ops/previews/`.

use axum::extract::State;

use super::extract::JsonObject;
use crate::error::ApiError;
use crate::ops::{Call, Reply, Service};

/// `POST /v1/previews/desired-state`.
pub async fn desired_state(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.preview_desired_state(&call, body).await
}

/// `POST /v1/previews/lifecycle-plan`.
pub async fn lifecycle_plan(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.preview_lifecycle_plan(&call, body).await
}

/// `POST /v1/previews/lifecycle-cleanup`.
pub async fn lifecycle_cleanup(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.preview_lifecycle_cleanup(&call, body).await
}

/// `POST /v1/previews/pr-feedback`.
pub async fn pr_feedback(
    State(service): State<Service>,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.preview_pr_feedback(&call, body).await
}
