//! Driver routes: the catalogue and every descriptor-declared action.

use axum::extract::{Path, State};

use super::extract::JsonObject;
use crate::error::ApiError;
use crate::ops::{Call, DriverRoute, Reply, Service};

/// `GET /v1/drivers`.
pub async fn list(State(service): State<Service>, call: Call) -> Result<Reply, ApiError> {
    service.list_drivers(&call).await
}

/// `GET /v1/drivers/{driver_id}`.
pub async fn show(
    State(service): State<Service>,
    call: Call,
    Path(driver_id): Path<String>,
) -> Result<Reply, ApiError> {
    service.show_driver(&call, &driver_id).await
}

/// Any method on `/v1/drivers/{driver_id}/{*action_path}`: the route
/// (404/405), then the caller (401), then the body (400/413), then the
/// service.
pub async fn dispatch(
    State(service): State<Service>,
    route: DriverRoute,
    call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    service.run_driver_action(&call, route, body).await
}
