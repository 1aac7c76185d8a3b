//! `GET /v1/health`: liveness plus the storage backend in use.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::ops::Service;
use crate::trace::TraceId;

pub async fn health(State(state): State<Service>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "trace_id": TraceId::new().as_str(),
        "storage_backend": state.store.backend(),
    }))
}
