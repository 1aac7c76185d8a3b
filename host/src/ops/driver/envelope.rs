//! Request bodies: the original's envelope and the payload schema check.
//!
//! Every driver POST body is `{"schema_version": int ≥ 1 (default 1),
//! "product": non-blank string, "<envelope_key>": {…}}` with unknown
//! top-level fields rejected. The payload object is then validated against
//! the action's declared input schema before any driver code runs.

use serde_json::Value;

use crate::error::ApiError;

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub schema_version: u64,
    pub product: String,
    pub payload: Value,
}

/// Splits an envelope whose payload lives under `envelope_key`. `body` is
/// the request's JSON object.
pub fn parse_envelope(body: &Value, envelope_key: &str) -> Result<Envelope, ApiError> {
    let Some(fields) = body.as_object() else {
        return Err(ApiError::invalid_request(
            "Request body must be a JSON object.",
        ));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "schema_version" | "product") && k.as_str() != envelope_key)
    {
        return Err(ApiError::invalid_request(format!(
            "Field `{unknown}` is not allowed; the envelope is {{schema_version, product, {envelope_key}}}."
        )));
    }
    let field = |name: &str| fields.get(name);
    let schema_version = match field("schema_version") {
        None => 1,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v >= 1) => n.as_u64().unwrap_or(1),
        Some(_) => {
            return Err(ApiError::invalid_request(
                "Field `schema_version` must be an integer ≥ 1.",
            ));
        }
    };
    let product = match field("product") {
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
    let payload = match field(envelope_key) {
        Some(value @ Value::Object(_)) => value.clone(),
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
            parse_envelope(&json!({"product":"demo","deploy":{"a":1}}), "deploy").expect("valid");
        assert_eq!(ok.schema_version, 1);
        assert_eq!(ok.product, "demo");
        let cases: &[(Value, &str)] = &[
            (json!([1]), "JSON object"),
            (json!({"product":"demo","deploy":{},"extra":1}), "`extra`"),
            (json!({"deploy":{}}), "`product` is required"),
            (
                json!({"product":"  ","deploy":{}}),
                "`product` must not be blank",
            ),
            (json!({"product":"demo"}), "`deploy` is required"),
            (
                json!({"product":"demo","deploy":[]}),
                "`deploy` must be a JSON object",
            ),
            (
                json!({"schema_version":0,"product":"demo","deploy":{}}),
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
