//! The tail of every mutation: the accepted envelope, the answer stored
//! for replay (or the key released), and the audit event.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::records::{AuditEvent, IdempotencyKey, StoredResponse};

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

/// An audit event of `call` for `action`, with the caller's claims.
pub fn audit_event(call: &Call, action: &str, outcome: &str, status: u16) -> AuditEvent {
    let mut event = AuditEvent::new(
        call.trace_id.as_str(),
        call.method,
        &call.route,
        action,
        outcome,
        status,
    );
    let identity = &call.caller.identity;
    event.caller_kind = identity.kind.clone();
    event.caller_subject = identity.subject.clone();
    event.caller_claims = identity.claims_json();
    event
}

impl Service {
    /// Envelopes a mutation's outcome, stores or releases its key, and
    /// audits it. Returns the 202 answer, or the error unchanged.
    pub async fn complete(
        &self,
        m: &Mutation<'_>,
        key: Option<&IdempotencyKey>,
        outcome: Result<Accepted, ApiError>,
    ) -> Result<Reply, ApiError> {
        let mut event = audit_event(m.call, m.action, "accepted", 202);
        event.product = m.product.to_string();
        event.context = m.context.to_string();
        event.instance = m.instance.to_string();
        match outcome {
            Ok(accepted) => {
                let body = accepted_body(m.call, &accepted);
                if let Some(key) = key {
                    self.keep_or_release(key, &accepted, &body, m.call).await;
                }
                event.record_ids = accepted.written;
                self.audit(&event).await;
                Ok(Reply {
                    status: StatusCode::ACCEPTED,
                    body,
                })
            }
            Err(error) => {
                if let Some(key) = key
                    && let Err(release) =
                        self.store.release_idempotency_key(key, &self.host_id).await
                {
                    tracing::error!(error = %release, "could not release an idempotency key");
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

    /// Stores the answer for replay, or releases the key for an answer
    /// the original never kept. A failure is logged: the request itself
    /// succeeded.
    async fn keep_or_release(
        &self,
        key: &IdempotencyKey,
        accepted: &Accepted,
        body: &Value,
        call: &Call,
    ) {
        let kept = if accepted.store_for_replay {
            let stored = StoredResponse {
                status: 202,
                body: body.clone(),
                trace_id: call.trace_id.to_string(),
            };
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
            tracing::error!(%error, "could not store the idempotent response");
        }
    }

    /// Appends an audit event; a failure to audit is logged loudly.
    pub async fn audit(&self, event: &AuditEvent) {
        if let Err(error) = self.store.append_audit_event(event).await {
            tracing::error!(%error, "could not write an audit event");
        }
    }
}

/// `{"status":"accepted","trace_id",records,result}` (result only when not
/// empty).
fn accepted_body(call: &Call, accepted: &Accepted) -> Value {
    let mut body = Map::new();
    body.insert("status".into(), json!("accepted"));
    body.insert("trace_id".into(), json!(call.trace_id.as_str()));
    body.insert(
        "records".into(),
        Value::Object(allowed_records(&accepted.records)),
    );
    if let Some(result) = &accepted.result
        && !result.as_object().is_some_and(Map::is_empty)
    {
        body.insert("result".into(), result.clone());
    }
    Value::Object(body)
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
