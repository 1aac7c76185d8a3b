//! Extractors: what a handler needs from a request, taken in the
//! original's order by argument position (route, then caller, then body).
//! An extractor's refusal is an [`ApiError`], rendered like every other.
//!
//! * [`TraceId`]: the request's trace id, set by `layer.rs`.
//! * [`Call`]: the trace id, the authenticated caller (401 here; a
//!   browser session where `ops/humans.rs` allows one, with its CSRF
//!   check, 403), the route as sent and the `Idempotency-Key` header. A handler that takes
//!   a `Call` cannot run for an anonymous caller.
//! * [`DriverRoute`]: the descriptor route of a driver path (404/405),
//!   taken before the caller so an unknown route is 404 before 401.
//! * [`JsonObject`]: the body, at most the service's limit, as a JSON
//!   object (400/413; 408 when it does not arrive within the body
//!   timeout).

use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::ops::{Call, DriverRoute, KeyHeader, Service};
use crate::trace::TraceId;

impl FromRequestParts<Service> for TraceId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Service) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<TraceId>()
            .cloned()
            .unwrap_or_default())
    }
}

/// The path as the client sent it (nested routers strip prefixes from
/// `uri`, never from `OriginalUri`).
pub fn original_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OriginalUri>()
        .map(|uri| uri.path().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string())
}

impl FromRequestParts<Service> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        let caller = service
            .authenticate_request(parts.method.as_str(), &original_path(parts), &parts.headers)
            .await?;
        // The access line names who called (`layer.rs`): a workflow's
        // repository, a human's login, else the caller's subject (an
        // operator's label).
        let label = match (&caller.github_actions, &caller.human) {
            (Some(claims), _) => claims.repository.as_str(),
            (None, Some(human)) => human.login.as_str(),
            (None, None) => caller.identity.subject.as_str(),
        };
        tracing::Span::current().record("caller", label);
        let method = if parts.method == axum::http::Method::GET {
            "GET"
        } else {
            "POST"
        };
        Ok(Call {
            trace_id: parts
                .extensions
                .get::<TraceId>()
                .cloned()
                .unwrap_or_default(),
            caller,
            method,
            route: original_path(parts),
            key: KeyHeader::parse(
                parts
                    .headers
                    .get("idempotency-key")
                    .map(|value| value.as_bytes()),
            ),
        })
    }
}

impl FromRequestParts<Service> for DriverRoute {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        service.driver_route(parts.method.as_str(), &original_path(parts))
    }
}

/// A JSON object body.
pub struct JsonObject(pub Map<String, Value>);

impl FromRequest<Service> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, service: &Service) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(request.into_body(), service.body_limit)
            .await
            .map_err(|error| {
                if super::server::is_body_timeout(&error) {
                    ApiError::request_timeout()
                } else {
                    ApiError::payload_too_large(service.body_limit)
                }
            })?;
        parse_object(&bytes).map(JsonObject)
    }
}

impl JsonObject {
    /// The object as a JSON value.
    pub fn value(self) -> Value {
        Value::Object(self.0)
    }
}

/// Parses a request body as a JSON object; the message names the problem.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_request(
            "Request body is empty; expected a JSON object.",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::invalid_request("Request body is not UTF-8."))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_request(
            "Request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::invalid_request(format!(
            "Request body is not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(parse_object(br#"{"a":1}"#).is_ok());
        for (body, expected) in [
            (&b""[..], "empty"),
            (b"  ", "empty"),
            (b"[1]", "JSON object"),
            (b"{nope", "not valid JSON"),
            (b"\xff", "UTF-8"),
        ] {
            let error = parse_object(body).expect_err("refused");
            assert_eq!(error.code, "invalid_request");
            assert!(error.message.contains(expected), "{}", error.message);
        }
    }
}
