//! Driver routes: the catalogue and every descriptor-declared action.

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::Method;

use super::extract::{JsonObject, original_path};
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

/// Any method on `/v1/drivers/{driver_id}/{*action_path}`: a `GET` on a
/// declared operation poll route reads that operation; otherwise the route
/// (404/405), then the caller (401), then the body (400/413), then the
/// service.
pub async fn dispatch(State(service): State<Service>, request: Request) -> Result<Reply, ApiError> {
    let (mut parts, body) = request.into_parts();
    if parts.method == Method::GET
        && let Some((target, operation_id)) = service.poll_route(&original_path(&parts))
    {
        let call = Call::from_request_parts(&mut parts, &service).await?;
        return service
            .read_driver_operation(&call, &target, &operation_id)
            .await;
    }
    let route = DriverRoute::from_request_parts(&mut parts, &service).await?;
    let call = Call::from_request_parts(&mut parts, &service).await?;
    let JsonObject(body) =
        JsonObject::from_request(Request::from_parts(parts, body), &service).await?;
    service.run_driver_action(&call, route, body).await
}
