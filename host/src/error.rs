//! The one error type the service layer answers with.
//!
//! An [`ApiError`] is a refusal or failure in the original service's terms:
//! an HTTP status, a stable `error.code` and a message for the caller. It
//! is a plain value: building one logs nothing and renders nothing. The
//! HTTP layer renders every error body as
//! `{"status":"rejected","trace_id":…,"error":{"code":…,"message":…}}`
//! (`http/render.rs`) and logs internal failures inside the request's span
//! (`http/layer.rs`), so the log line carries the trace id the client sees.

use std::borrow::Cow;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

/// A refused or failed request.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// The host's own codes are static; a driver-declared one is owned.
    pub code: Cow<'static, str>,
    pub message: String,
    /// Extra top-level keys of the error body (`authz`, `operation`, …).
    pub extra: Map<String, Value>,
    /// What went wrong inside, for the service log only; never rendered.
    pub detail: Option<Box<str>>,
    /// Response headers the refusal carries (`Allow` on a 405,
    /// `Retry-After` on a 429).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            extra: Map::new(),
            detail: None,
            headers: Vec::new(),
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

    /// 405 with the `Allow` header naming the methods the path serves
    /// (`allowed` may be empty: the path serves no method to anyone).
    pub fn method_not_allowed_with_allow(method: &str, path: &str, allowed: &[&str]) -> Self {
        let allow = HeaderValue::from_str(&allowed.join(", "))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        ApiError::method_not_allowed(method, path).with_header(header::ALLOW, allow)
    }

    /// 408 `request_timeout`: the body did not arrive in time.
    pub fn request_timeout() -> Self {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body did not arrive in time.",
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

    /// 500 `internal_error`. The detail is kept for the log, not the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let mut error = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Launchplane could not complete the request. Use trace_id to inspect service logs.",
        );
        error.detail = Some(detail.to_string().into());
        error
    }

    /// The refusal with one more response header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds a top-level key to the error body.
    pub fn with_extra(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// The JSON body, stamped with the request's trace id.
    pub fn body(&self, trace_id: &str) -> Value {
        let mut body = self.extra.clone();
        body.insert("status".into(), json!("rejected"));
        body.insert("trace_id".into(), json!(trace_id));
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
        )?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
