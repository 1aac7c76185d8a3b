//! Product read routes (reference §3.2, `product_environment.read`) and
//! the protected artifact set (`artifact_protection.read`), and the
//! service's runtime (`launchplane_service.read`).

use axum::extract::{Path, Query, State};
use serde::Deserialize;

use crate::error::ApiError;
use crate::ops::protected_artifacts::ProtectedQuery;
use crate::ops::{Call, Reply, Service};

/// `GET /v1/products`.
pub async fn list(State(service): State<Service>, call: Call) -> Result<Reply, ApiError> {
    service.list_products(&call).await
}

/// `GET /v1/products/{product}`.
pub async fn show(
    State(service): State<Service>,
    call: Call,
    Path(product): Path<String>,
) -> Result<Reply, ApiError> {
    service.show_product(&call, &product).await
}

/// The `limit` of the activity read.
#[derive(Debug, Deserialize)]
pub struct ActivityQuery {
    limit: Option<String>,
}

/// `GET /v1/products/{product}/activity`.
pub async fn activity(
    State(service): State<Service>,
    call: Call,
    Path(product): Path<String>,
    Query(query): Query<ActivityQuery>,
) -> Result<Reply, ApiError> {
    service
        .product_activity(&call, &product, query.limit.as_deref())
        .await
}

/// `GET /v1/products/{product}/environments`.
pub async fn environments(
    State(service): State<Service>,
    call: Call,
    Path(product): Path<String>,
) -> Result<Reply, ApiError> {
    service.product_environments(&call, &product).await
}

/// `GET /v1/products/{product}/environments/{environment}`.
pub async fn environment(
    State(service): State<Service>,
    call: Call,
    Path((product, environment)): Path<(String, String)>,
) -> Result<Reply, ApiError> {
    service
        .product_environment(&call, &product, &environment)
        .await
}

/// `GET /v1/products/{product}/environments/{environment}/config-status`.
pub async fn config_status(
    State(service): State<Service>,
    call: Call,
    Path((product, environment)): Path<(String, String)>,
) -> Result<Reply, ApiError> {
    service
        .product_config_status(&call, &product, &environment)
        .await
}

/// The query of the protected artifact set, as given.
#[derive(Debug, Deserialize)]
pub struct ProtectedParams {
    product: Option<String>,
    context: Option<String>,
    retention_days: Option<String>,
}

/// `GET /v1/artifacts/protected?product=&context=&retention_days=`.
pub async fn protected(
    State(service): State<Service>,
    call: Call,
    Query(params): Query<ProtectedParams>,
) -> Result<Reply, ApiError> {
    let query = ProtectedQuery {
        product: params.product,
        context: params.context,
        retention_days: params.retention_days,
    };
    service.protected_artifacts(&call, &query).await
}

/// `GET /v1/service/runtime`.
pub async fn service_runtime(
    State(service): State<Service>,
    call: Call,
) -> Result<Reply, ApiError> {
    service.service_runtime(&call).await
}
