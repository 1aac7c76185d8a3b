//! Read routes (reference §3.2): records, inventory, previews, operations,
//! product profiles and secret metadata.

use axum::extract::{Path, Query, State};
use serde::Deserialize;

use crate::error::ApiError;
use crate::ops::reads::RecordRead;
use crate::ops::{Call, Reply, Service};

/// `GET /v1/deployments/{record_id}`.
pub async fn deployment(
    State(service): State<Service>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    service
        .read_record(&call, RecordRead::Deployment, &id)
        .await
}

/// `GET /v1/promotions/{record_id}`.
pub async fn promotion(
    State(service): State<Service>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    service.read_record(&call, RecordRead::Promotion, &id).await
}

/// `GET /v1/previews/{preview_id}`.
pub async fn preview(
    State(service): State<Service>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    service.read_record(&call, RecordRead::Preview, &id).await
}

/// `GET /v1/previews/{preview_id}/history`.
pub async fn preview_history(
    State(service): State<Service>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    service.preview_history(&call, &id).await
}

/// `GET /v1/inventory/{context}/{instance}`.
pub async fn inventory(
    State(service): State<Service>,
    call: Call,
    Path((context, instance)): Path<(String, String)>,
) -> Result<Reply, ApiError> {
    service.read_inventory(&call, &context, &instance).await
}

/// `GET /v1/contexts/{context}/operations/recent`.
pub async fn recent_operations(
    State(service): State<Service>,
    call: Call,
    Path(context): Path<String>,
) -> Result<Reply, ApiError> {
    service.recent_operations(&call, &context).await
}

/// `GET /v1/operations/{operation_id}`.
pub async fn operation(
    State(service): State<Service>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    service.read_operation(&call, &id).await
}

/// The `driver_id` filter of the profile list.
#[derive(Debug, Deserialize)]
pub struct ProfileFilter {
    #[serde(default)]
    driver_id: String,
}

/// `GET /v1/product-profiles`.
pub async fn profiles(
    State(service): State<Service>,
    call: Call,
    Query(filter): Query<ProfileFilter>,
) -> Result<Reply, ApiError> {
    service.list_profiles(&call, &filter.driver_id).await
}

/// `GET /v1/product-profiles/{product}`.
pub async fn profile(
    State(service): State<Service>,
    call: Call,
    Path(product): Path<String>,
) -> Result<Reply, ApiError> {
    service.show_profile(&call, &product).await
}

/// `GET /v1/contexts/{context}/secrets`.
pub async fn context_secrets(
    State(service): State<Service>,
    call: Call,
    Path(context): Path<String>,
) -> Result<Reply, ApiError> {
    service.list_secrets(&call, &context, "").await
}

/// `GET /v1/contexts/{context}/instances/{instance}/secrets`.
pub async fn instance_secrets(
    State(service): State<Service>,
    call: Call,
    Path((context, instance)): Path<(String, String)>,
) -> Result<Reply, ApiError> {
    service.list_secrets(&call, &context, &instance).await
}

/// `GET /v1/secrets/{secret_id}`.
pub async fn secret(
    State(service): State<Service>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    service.show_secret(&call, &id).await
}
