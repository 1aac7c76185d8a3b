//! Request bodies: the original's envelope and the payload schema check.
//!
//! Every driver POST body is `{"schema_version": int ≥ 1 (default 1),
//! "product": non-blank string, "<envelope_key>": {…}}` with unknown
//! top-level fields rejected. The payload object is then validated against
//! the action's declared input schema before any driver code runs.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub schema_version: u64,
    pub product: String,
    pub payload: Value,
}

/// The front of every JSON `POST` host route, as an extractor: a fresh
/// trace id, the authenticated caller, and the body (at most the state's
/// body limit) as a JSON object, with the headers and route path the
/// mutation tail needs. The caller is known before the body is read, so an
/// anonymous request costs no body read; a refusal answers with this
/// trace id, which the handler keeps for everything after.
pub struct JsonPost {
    pub trace_id: super::TraceId,
    pub caller: crate::auth::Caller,
    pub body: Map<String, Value>,
    pub headers: axum::http::HeaderMap,
    /// The path as the client sent it (`OriginalUri`).
    pub route: String,
}

impl axum::extract::FromRequest<super::AppState> for JsonPost {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &super::AppState,
    ) -> Result<Self, ApiError> {
        use axum::extract::FromRequestParts as _;
        let trace_id = super::TraceId::new();
        let (mut parts, body) = request.into_parts();
        let axum::extract::OriginalUri(uri) =
            match axum::extract::OriginalUri::from_request_parts(&mut parts, state).await {
                Ok(uri) => uri,
                Err(never) => match never {},
            };
        match authenticated_object(state, &parts.headers, body).await {
            Ok((caller, body)) => Ok(JsonPost {
                trace_id,
                caller,
                body,
                headers: parts.headers,
                route: uri.path().to_string(),
            }),
            Err(error) => Err(error.with_trace(&trace_id)),
        }
    }
}

/// Authenticates the caller, then reads the body (at most the state's body
/// limit) as a JSON object ([`JsonPost`]).
async fn authenticated_object(
    state: &super::AppState,
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<(crate::auth::Caller, Map<String, Value>), ApiError> {
    let caller = state.authenticator.authenticate_caller(headers).await?;
    let bytes = axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| ApiError::payload_too_large(state.body_limit))?;
    Ok((caller, parse_object(&bytes)?))
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

/// Splits an envelope whose payload lives under `envelope_key`.
pub fn parse_envelope(body: &[u8], envelope_key: &str) -> Result<Envelope, ApiError> {
    let mut map = parse_object(body)?;
    if let Some(unknown) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "schema_version" | "product") && k.as_str() != envelope_key)
    {
        return Err(ApiError::invalid_request(format!(
            "Field `{unknown}` is not allowed; the envelope is {{schema_version, product, {envelope_key}}}."
        )));
    }
    let schema_version = match map.remove("schema_version") {
        None => 1,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v >= 1) => n.as_u64().unwrap_or(1),
        Some(_) => {
            return Err(ApiError::invalid_request(
                "Field `schema_version` must be an integer ≥ 1.",
            ));
        }
    };
    let product = match map.remove("product") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) => {
            return Err(ApiError::invalid_request(
                "Field `product` must not be blank.",
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid_request(
                "Field `product` must be a string.",
            ));
        }
        None => return Err(ApiError::invalid_request("Field `product` is required.")),
    };
    let payload = match map.remove(envelope_key) {
        Some(value @ Value::Object(_)) => value,
        Some(_) => {
            return Err(ApiError::invalid_request(format!(
                "Field `{envelope_key}` must be a JSON object."
            )));
        }
        None => {
            return Err(ApiError::invalid_request(format!(
                "Field `{envelope_key}` is required."
            )));
        }
    };
    Ok(Envelope {
        schema_version,
        product,
        payload,
    })
}

/// Validates a payload against an action's input schema. The message names
/// the field path (`/deploy/image_reference`) and the rule it broke; all
/// violations are listed, the first in full.
pub fn validate_payload(
    validator: &jsonschema::Validator,
    envelope_key: &str,
    payload: &Value,
) -> Result<(), ApiError> {
    let errors: Vec<String> = validator
        .iter_errors(payload)
        .map(|error| {
            let path = error.instance_path().to_string();
            format!("/{envelope_key}{path}: {error}")
        })
        .collect();
    match errors.split_first() {
        None => Ok(()),
        Some((first, [])) => Err(ApiError::invalid_request(format!(
            "Request payload failed validation: {first}"
        ))),
        Some((first, rest)) => Err(ApiError::invalid_request(format!(
            "Request payload failed validation: {first} (and {} more: {})",
            rest.len(),
            rest.join("; ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_rejects_unknown_and_missing_fields_by_name() {
        let ok =
            parse_envelope(br#"{"product":"demo","deploy":{"a":1}}"#, "deploy").expect("valid");
        assert_eq!(ok.schema_version, 1);
        assert_eq!(ok.product, "demo");
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"[1]", "JSON object"),
            (b"{nope", "not valid JSON"),
            (br#"{"product":"demo","deploy":{},"extra":1}"#, "`extra`"),
            (br#"{"deploy":{}}"#, "`product` is required"),
            (
                br#"{"product":"  ","deploy":{}}"#,
                "`product` must not be blank",
            ),
            (br#"{"product":"demo"}"#, "`deploy` is required"),
            (
                br#"{"product":"demo","deploy":[]}"#,
                "`deploy` must be a JSON object",
            ),
            (
                br#"{"schema_version":0,"product":"demo","deploy":{}}"#,
                "`schema_version`",
            ),
        ];
        for (body, expected) in cases {
            let error = parse_envelope(body, "deploy").expect_err("must be refused");
            assert_eq!(error.code, "invalid_request");
            assert!(
                error.message.contains(expected),
                "{expected:?} not in {:?}",
                error.message
            );
        }
    }

    #[test]
    fn schema_violations_name_the_field() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["image_reference"],
            "properties": {"image_reference": {"type": "string"}, "count": {"type": "integer"}}
        });
        let validator = jsonschema::validator_for(&schema).expect("schema");
        assert!(validate_payload(&validator, "deploy", &json!({"image_reference": "x"})).is_ok());
        let error = validate_payload(
            &validator,
            "deploy",
            &json!({"image_reference": "x", "count": "two"}),
        )
        .expect_err("wrong type");
        assert!(error.message.contains("/deploy/count"), "{}", error.message);
        let error = validate_payload(&validator, "deploy", &json!({})).expect_err("missing");
        assert!(
            error.message.contains("image_reference"),
            "{}",
            error.message
        );
        let error = validate_payload(
            &validator,
            "deploy",
            &json!({"image_reference": "x", "zzz": 1}),
        )
        .expect_err("unknown");
        assert!(error.message.contains("zzz"), "{}", error.message);
    }
}
