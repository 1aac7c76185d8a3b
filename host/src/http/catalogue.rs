//! The driver catalogue: `GET /v1/drivers` and `GET /v1/drivers/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{AppState, TraceId};
use crate::error::ApiError;

pub async fn list_drivers(State(state): State<AppState>) -> Json<Value> {
    let registry = state.registry();
    Json(json!({
        "status": "ok",
        "trace_id": TraceId::new().as_str(),
        "drivers": registry.descriptors(),
    }))
}

pub async fn show_driver(
    State(state): State<AppState>,
    Path(driver_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
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
