//! The shared tail of every mutating request: idempotency, execution,
//! the accepted envelope, the stored replay and the audit event.
//!
//! Callers run this only after routing, authentication, envelope parsing,
//! product/lane resolution, authorization and schema validation have
//! passed, so a 400/401/403 never consumes an idempotency key (the
//! original's order, reference §2.3).

use std::future::Future;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{AppState, TraceId};
use crate::auth::CallerIdentity;
use crate::error::ApiError;
use crate::records::{AuditEvent, IdempotencyKey, Reservation, StoredResponse, fingerprint};
use crate::registry::Idempotency;

/// `records` keys a client may see (the original's allow-list, [S] and
/// [L]); anything else a handler reports is dropped.
const RECORD_KEYS: &[&str] = &[
    "deployment_record_id",
    "backup_gate_record_id",
    "backup_record_id",
    "release_tuple_id",
    "inventory_record_id",
    "preview_id",
    "preview_desired_state_id",
    "preview_inventory_scan_id",
    "preview_pr_feedback_id",
    "preview_lifecycle_cleanup_id",
    "preview_lifecycle_plan_id",
    "authz_policy_record_id",
    "product_profile",
    "generation_id",
    "promotion_record_id",
    "target_id",
    "target_type",
    "image_reference",
    "artifact_id",
    "transition",
    "runtime_key_safety_policy_record_id",
    "provider_target_count",
    "provider_target_id_count",
    "runtime_environment_record_count",
    "secret_binding_count",
    "preview_state",
    "preview_generation_id",
    "verification_status",
    "verified_at",
    "generic_web_preview_verification",
    "request_id",
    "feedback_id",
    "state",
    "odoo_stable_bootstrap_operation_id",
    "odoo_stable_target_replacement_operation_id",
    "generic_web_rollback_plan_id",
    "operation_id",
];

/// Keys kept as objects rather than stringified.
const OBJECT_RECORD_KEYS: &[&str] = &["generic_web_preview_verification"];

/// Applies the allow-list and the original's "every value is a string" rule.
pub fn allowed_records(records: &[(String, Value)]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in records {
        if !RECORD_KEYS.contains(&key.as_str()) {
            continue;
        }
        let value = match value {
            _ if OBJECT_RECORD_KEYS.contains(&key.as_str()) => value.clone(),
            Value::String(s) => Value::String(s.clone()),
            Value::Bool(b) => Value::String(if *b { "True" } else { "False" }.to_string()),
            Value::Null => continue,
            other => Value::String(other.to_string()),
        };
        out.insert(key.clone(), value);
    }
    out
}

/// What a successful execution produced.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    pub records: Vec<(String, Value)>,
    pub result: Option<Value>,
    /// Ids of records written, for the audit event.
    pub written: Vec<String>,
    /// `false` for results the original never stored for replay (blocked
    /// or failed driver outcomes, pending gates): the key is released.
    pub store_for_replay: bool,
}

impl Accepted {
    pub fn new() -> Self {
        Accepted {
            store_for_replay: true,
            ..Default::default()
        }
    }

    pub fn record(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.records.push((key.to_string(), value.into()));
        self
    }
}

/// Everything the tail needs to know about the request.
pub struct Mutation<'a> {
    pub trace_id: &'a TraceId,
    pub caller: &'a CallerIdentity,
    pub method: &'a str,
    pub route_path: &'a str,
    pub action: &'a str,
    pub product: &'a str,
    pub context: &'a str,
    pub instance: &'a str,
    /// The parsed body, fingerprinted for idempotency.
    pub body: &'a Value,
    pub headers: &'a HeaderMap,
    pub idempotency: Idempotency,
}

/// The trimmed `Idempotency-Key` header, if any.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::invalid_request("Header `Idempotency-Key` must be ASCII."))?
                .trim();
            if text.len() > 512 {
                return Err(ApiError::invalid_request(
                    "Header `Idempotency-Key` is longer than 512 characters.",
                ));
            }
            Ok((!text.is_empty()).then(|| text.to_string()))
        }
    }
}

impl AppState {
    /// Runs `execute` under idempotency and audit, and renders 202.
    pub async fn run_mutation<F, Fut>(
        &self,
        m: Mutation<'_>,
        execute: F,
    ) -> Result<Response, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Accepted, ApiError>>,
    {
        let key = match m.idempotency {
            Idempotency::None => None,
            _ => idempotency_key(m.headers)?,
        };
        if m.idempotency == Idempotency::Required && key.is_none() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                format!("Route {} requires an Idempotency-Key header.", m.route_path),
            ));
        }
        let reservation = match &key {
            None => None,
            Some(value) => {
                let key = IdempotencyKey {
                    scope: m.caller.subject.clone(),
                    route_path: m.route_path.to_string(),
                    key: value.clone(),
                };
                let outcome = self
                    .store
                    .reserve_idempotency_key(
                        &key,
                        &fingerprint(m.body),
                        &self.host_id,
                        self.lease_ms,
                        self.idempotency_ttl_ms,
                    )
                    .await
                    .map_err(ApiError::internal)?;
                match outcome {
                    Reservation::Reserved => Some(key),
                    Reservation::Replay(stored) => return Ok(replay(m.trace_id, stored)),
                    Reservation::Reused => {
                        return Err(ApiError::new(
                            StatusCode::CONFLICT,
                            "idempotency_key_reused",
                            "Idempotency-Key was already used with a different request body.",
                        ));
                    }
                    Reservation::InProgress => {
                        return Err(ApiError::new(
                            StatusCode::CONFLICT,
                            "idempotency_request_in_progress",
                            "A request with this Idempotency-Key is still being processed; retry later.",
                        ));
                    }
                }
            }
        };

        let outcome = execute().await;
        let mut event = AuditEvent::new(
            m.trace_id.as_str(),
            m.method,
            m.route_path,
            m.action,
            "accepted",
            202,
        );
        event.caller_kind = m.caller.kind.clone();
        event.caller_subject = m.caller.subject.clone();
        event.caller_claims = Value::Object(
            m.caller
                .claims
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        );
        event.product = m.product.to_string();
        event.context = m.context.to_string();
        event.instance = m.instance.to_string();

        match outcome {
            Ok(accepted) => {
                let mut body = Map::new();
                body.insert("status".into(), json!("accepted"));
                body.insert("trace_id".into(), json!(m.trace_id.as_str()));
                body.insert(
                    "records".into(),
                    Value::Object(allowed_records(&accepted.records)),
                );
                if let Some(result) = &accepted.result
                    && !result.as_object().is_some_and(Map::is_empty)
                {
                    body.insert("result".into(), result.clone());
                }
                let body = Value::Object(body);
                if let Some(key) = &reservation {
                    let stored = StoredResponse {
                        status: 202,
                        body: body.clone(),
                        trace_id: m.trace_id.to_string(),
                    };
                    let kept = if accepted.store_for_replay {
                        self.store
                            .complete_idempotency_key(key, &self.host_id, &stored)
                            .await
                    } else {
                        self.store
                            .release_idempotency_key(key, &self.host_id)
                            .await
                            .map(|_| true)
                    };
                    if let Err(error) = kept {
                        tracing::error!(trace_id = %m.trace_id, %error, "could not store the idempotent response");
                    }
                }
                event.record_ids = accepted.written.clone();
                self.audit(&event).await;
                Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
            }
            Err(error) => {
                if let Some(key) = &reservation
                    && let Err(release) =
                        self.store.release_idempotency_key(key, &self.host_id).await
                {
                    tracing::error!(trace_id = %m.trace_id, error = %release, "could not release an idempotency key");
                }
                event.outcome = if error.status.is_server_error() {
                    "failed"
                } else {
                    "rejected"
                }
                .to_string();
                event.status_code = error.status.as_u16();
                event.detail = json!({"code": error.code, "message": error.message});
                self.audit(&event).await;
                Err(error)
            }
        }
    }

    /// Appends an audit event; a failure to audit is logged loudly.
    pub async fn audit(&self, event: &AuditEvent) {
        if let Err(error) = self.store.append_audit_event(event).await {
            tracing::error!(trace_id = %event.trace_id, %error, "could not write an audit event");
        }
    }
}

/// The stored response with a fresh trace id, `replayed: true` and the
/// original trace id.
fn replay(trace_id: &TraceId, stored: StoredResponse) -> Response {
    let mut body = match stored.body {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("result".into(), other);
            map
        }
    };
    body.insert("trace_id".into(), json!(trace_id.as_str()));
    body.insert("replayed".into(), json!(true));
    body.insert("original_trace_id".into(), json!(stored.trace_id));
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::ACCEPTED);
    (status, axum::Json(Value::Object(body))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_the_original_allow_list_and_stringify() {
        let records = vec![
            ("deployment_record_id".to_string(), json!("d-1")),
            ("promotion_status".to_string(), json!("pass")),
            ("provider_target_count".to_string(), json!(3)),
            ("transition".to_string(), json!(true)),
            (
                "generic_web_preview_verification".to_string(),
                json!({"status": "pass"}),
            ),
        ];
        let out = allowed_records(&records);
        assert_eq!(
            Value::Object(out),
            json!({
                "deployment_record_id": "d-1",
                "provider_target_count": "3",
                "transition": "True",
                "generic_web_preview_verification": {"status": "pass"}
            })
        );
    }
}
