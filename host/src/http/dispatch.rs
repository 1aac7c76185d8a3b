//! Driver routes: everything under `/v1/drivers/{driver_id}/…` is matched
//! against the descriptor-derived route table, so no route exists without a
//! descriptor entry.
//!
//! The order of checks is the original's: route (404/405) before
//! authentication (401) before anything that reads the body.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method as HttpMethod};
use axum::response::Response;

use super::{AppState, TraceId};
use crate::error::ApiError;
use crate::registry::{Method, RouteMatch};

pub async fn dispatch(
    State(state): State<AppState>,
    method: HttpMethod,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let trace_id = TraceId::new();
    let path = uri.path();
    let registry = state.registry();
    let method = match method {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        other => {
            return Err(ApiError::method_not_allowed(other.as_str(), path).with_trace(&trace_id));
        }
    };
    let _target = match registry.route(method, path) {
        RouteMatch::Found(target) => target.clone(),
        RouteMatch::WrongMethod => {
            return Err(ApiError::method_not_allowed(method.as_str(), path).with_trace(&trace_id));
        }
        RouteMatch::NotFound => return Err(ApiError::no_route(path).with_trace(&trace_id)),
    };
    let _caller = state
        .authenticator
        .authenticate(&headers)
        .await
        .map_err(|e| e.with_trace(&trace_id))?;
    // Past authentication the request would be enveloped, matched to its
    // product lane, authorized and validated; none of that exists until the
    // records and authorization layers land, so refuse rather than guess.
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "authz_policy_unavailable",
        "Driver routes need product profiles and authorization policy, which this host does not have yet.",
    )
    .with_trace(&trace_id))
}
