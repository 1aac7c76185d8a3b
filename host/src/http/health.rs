//! `GET /v1/health`: liveness plus the storage backend in use.
//! `GET /v1/ready`: readiness ([`crate::ops::readiness`]), 503 naming
//! every failed check. `GET /metrics`: Prometheus text
//! ([`crate::metrics`]). None of them needs a token.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::ops::Service;
use crate::trace::TraceId;

pub async fn health(State(state): State<Service>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "trace_id": TraceId::new().as_str(),
        "storage_backend": state.store.backend(),
    }))
}

/// The readiness checks by name (`ok` or the reason), and the failed
/// ones in `missing`.
pub async fn ready(State(state): State<Service>, trace_id: TraceId) -> Response {
    let readiness = state.readiness().await;
    let mut checks = Map::new();
    for check in crate::ops::readiness::CHECKS {
        let outcome = readiness
            .missing
            .iter()
            .find(|m| m.check == *check)
            .map(|m| m.reason.clone())
            .unwrap_or_else(|| "ok".to_string());
        checks.insert((*check).to_string(), Value::String(outcome));
    }
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if readiness.ready { "ready" } else { "not_ready" },
        "trace_id": trace_id.as_str(),
        "storage_backend": state.store.backend(),
        "checks": checks,
        "missing": readiness.missing,
    });
    (status, Json(body)).into_response()
}

/// The metrics in Prometheus text format (503 when the recorder could not
/// be installed).
pub async fn metrics() -> Response {
    match crate::metrics::render() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n",
        )
            .into_response(),
    }
}
