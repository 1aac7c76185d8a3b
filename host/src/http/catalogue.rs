//! The driver catalogue: `GET /v1/drivers` and `GET /v1/drivers/{id}`,
//! authorized with `driver.read` on (`launchplane`, `launchplane`) as in the
//! original.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{AppState, TraceId};
use crate::error::ApiError;

async fn authorize_read(
    state: &AppState,
    headers: &HeaderMap,
    trace_id: &TraceId,
    route: &str,
) -> Result<(), ApiError> {
    let caller = state.authenticator.authenticate_caller(headers).await?;
    state
        .authorize(
            trace_id,
            &caller,
            route,
            "driver.read",
            "launchplane",
            "launchplane",
            "",
        )
        .await
}

pub async fn list_drivers(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    authorize_read(&state, &headers, &trace_id, "/v1/drivers")
        .await
        .map_err(|e| e.with_trace(&trace_id))?;
    let registry = state.registry();
    Ok(Json(json!({
        "status": "ok",
        "trace_id": trace_id.as_str(),
        "drivers": registry.descriptors(),
    })))
}

pub async fn show_driver(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(driver_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let route = format!("/v1/drivers/{driver_id}");
    authorize_read(&state, &headers, &trace_id, &route)
        .await
        .map_err(|e| e.with_trace(&trace_id))?;
    let registry = state.registry();
    let driver = registry.driver(&driver_id).ok_or_else(|| {
        ApiError::not_found(format!("No Launchplane driver `{driver_id}`.")).with_trace(&trace_id)
    })?;
    Ok(Json(json!({
        "status": "ok",
        "trace_id": trace_id.as_str(),
        "driver": driver.descriptor,
    })))
}
