//! The one error type every HTTP handler returns.
//!
//! Every non-2xx answer has the original service's shape:
//! `{"status":"rejected","trace_id":…,"error":{"code":…,"message":…}}`,
//! optionally with extra top-level keys (`authz` diagnostics, `operation`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::http::TraceId;

/// A refused or failed request, rendered as the JSON error envelope.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra top-level keys of the error body.
    pub extra: Map<String, Value>,
    /// The request's trace id; filled in by the handler or a fresh one.
    pub trace_id: Option<TraceId>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
            trace_id: None,
        }
    }

    /// 400 `invalid_request`; the message names the offending field.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `authentication_required`.
    pub fn authentication_required(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "authentication_required", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 404 for a path no route serves, with the original's message.
    pub fn no_route(path: &str) -> Self {
        ApiError::not_found(format!("No Launchplane route for {path}."))
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("Method {method} is not allowed for {path}."),
        )
    }

    /// 413 when a body exceeds the configured limit.
    pub fn payload_too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body exceeds the {limit}-byte limit."),
        )
    }

    /// 500 `internal_error`. The detail goes to the log, not the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Launchplane could not complete the request. Use trace_id to inspect service logs.",
        )
    }

    pub fn with_extra(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn with_trace(mut self, trace_id: &TraceId) -> Self {
        self.trace_id = Some(trace_id.clone());
        self
    }

    /// The JSON body.
    pub fn body(&self, trace_id: &TraceId) -> Value {
        let mut body = self.extra.clone();
        body.insert("status".into(), json!("rejected"));
        body.insert("trace_id".into(), json!(trace_id.as_str()));
        body.insert(
            "error".into(),
            json!({"code": self.code, "message": self.message}),
        );
        Value::Object(body)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let trace_id = self.trace_id.clone().unwrap_or_default();
        let body = self.body(&trace_id);
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Launchplane API\""),
            );
        }
        response
    }
}
