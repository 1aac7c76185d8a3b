//! The tail of every mutation: the accepted envelope, the answer stored
//! for replay (or the key released), and the audit event.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::records::{AuditEvent, IdempotencyKey, Release, StoreError, StoredResponse};
use crate::runtime::HostError;
use crate::runtime::capabilities::DeferredWrites;

/// Keeps the `records` keys a client may see (the host's, from
/// `records::kinds`, and those a loaded driver declares; anything else a
/// handler reports is dropped, as in the original) with the original's
/// "every value is a string" rule; a declared object key is passed on as an
/// object when its value is JSON object text.
pub fn allowed_records(
    records: &[(String, Value)],
    known: impl Fn(&str) -> Option<bool>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in records {
        let Some(object) = known(key) else {
            continue;
        };
        let value = match value {
            Value::Null => continue,
            Value::String(s) if object => {
                serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.clone()))
            }
            _ if object => value.clone(),
            Value::String(s) => Value::String(s.clone()),
            Value::Bool(b) => Value::String(if *b { "True" } else { "False" }.to_string()),
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
        self.complete_with(m, key, outcome, None).await
    }

    /// [`Service::complete`] for a driver action whose record writes were
    /// held back (`deferred`): they commit in the same transaction as the
    /// stored answer and the audit event, so a crash leaves either all of
    /// them or none (a retry then replays, or finds no record of the
    /// attempt). A failed action's records (its failure evidence) commit
    /// with its audit event.
    pub async fn complete_with(
        &self,
        m: &Mutation<'_>,
        key: Option<&IdempotencyKey>,
        outcome: Result<Accepted, ApiError>,
        deferred: Option<&DeferredWrites>,
    ) -> Result<Reply, ApiError> {
        let mut event = audit_event(m.call, m.action, "accepted", 202);
        event.product = m.product.to_string();
        event.context = m.context.to_string();
        event.instance = m.instance.to_string();
        let deferred = deferred.filter(|d| !d.is_empty());
        match outcome {
            Ok(accepted) => {
                let registry = self.registry();
                let body = accepted_body(m.call, &accepted, |key| registry.records_key(key));
                event.record_ids = accepted.written;
                if let Some(detail) = accepted.audit_detail {
                    event.detail = detail;
                }
                let answer = key.filter(|_| accepted.store_for_replay);
                let finished = match answer {
                    Some(key) => {
                        self.commit_answer(key, &body, m.call, &event, deferred)
                            .await
                    }
                    None => self.commit_records(&event, m.call, deferred).await,
                };
                if let Err(error) = finished {
                    // Nothing of the tail committed: audit the failure alone.
                    set_failure(&mut event, &error);
                    self.audit(&event).await;
                    if let Some(key) = key {
                        self.release_key(key).await;
                    }
                    return Err(error);
                }
                if answer.is_none()
                    && let Some(key) = key
                {
                    self.release_key(key).await;
                }
                Ok(Reply {
                    status: StatusCode::ACCEPTED,
                    body,
                })
            }
            Err(error) => {
                set_failure(&mut event, &error);
                if self.commit_records(&event, m.call, deferred).await.is_err() {
                    self.audit(&event).await;
                }
                if let Some(key) = key {
                    self.release_key(key).await;
                }
                Err(error)
            }
        }
    }

    /// Commits an unstored answer's held-back records with its audit event
    /// (just the event when there are none).
    async fn commit_records(
        &self,
        event: &AuditEvent,
        call: &Call,
        deferred: Option<&DeferredWrites>,
    ) -> Result<(), ApiError> {
        let Some(deferred) = deferred else {
            self.audit(event).await;
            return Ok(());
        };
        let committed: Result<(), Tail> = async {
            let mut tx = self.store.begin_write().await?;
            tx.append_audit_event(event).await?;
            deferred
                .apply(&mut tx, call.trace_id.as_str())
                .await
                .map_err(Tail::Records)?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        committed.map_err(|tail| tail.error(deferred))
    }

    /// Frees a key whose answer is not stored. One whose attempt already
    /// began changing things is kept, closed as interrupted (a retry gets
    /// 409 `idempotency_outcome_unknown`, never a second run).
    async fn release_key(&self, key: &IdempotencyKey) {
        match self.store.release_idempotency_key(key, &self.host_id).await {
            Ok(Release::Freed | Release::NotHeld) => {}
            Ok(Release::Kept) => tracing::warn!(
                "an unanswered request had begun changing things: its Idempotency-Key is kept, \
                 and retries answer idempotency_outcome_unknown"
            ),
            Err(error) => tracing::error!(%error, "could not release an idempotency key"),
        }
    }

    /// Completes the key with the answer and appends the audit event in
    /// one transaction. When that fails the key stays reserved by this
    /// attempt, whose effects began, so every retry of the key answers 409
    /// `idempotency_outcome_unknown` and nothing runs twice; this request
    /// answers 500.
    async fn commit_answer(
        &self,
        key: &IdempotencyKey,
        body: &Value,
        call: &Call,
        event: &AuditEvent,
        deferred: Option<&DeferredWrites>,
    ) -> Result<(), ApiError> {
        let stored = StoredResponse {
            status: 202,
            body: body.clone(),
            trace_id: call.trace_id.to_string(),
        };
        // The records go last: the lane's inventory row is locked from its
        // upsert to the commit.
        let committed: Result<bool, Tail> = async {
            let mut tx = self.store.begin_write().await?;
            let kept = tx
                .complete_idempotency_key(key, &self.host_id, &stored)
                .await?;
            tx.append_audit_event(event).await?;
            if let Some(deferred) = deferred {
                deferred
                    .apply(&mut tx, call.trace_id.as_str())
                    .await
                    .map_err(Tail::Records)?;
            }
            tx.commit().await?;
            Ok(kept)
        }
        .await;
        match committed {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::error!(
                    "the idempotency reservation was lost before its answer was stored"
                );
                Ok(())
            }
            Err(Tail::Store(error)) => {
                let event = serde_json::to_string(event).unwrap_or_default();
                let records = deferred.map(DeferredWrites::names).unwrap_or_default();
                tracing::error!(%error, audit_event_unwritten = %event, records_unwritten = ?records,
                    "could not store the answer, its records and its audit event");
                Err(ApiError::internal(
                    "The action ran but its answer and audit event could not be stored; \
                     retries of this Idempotency-Key answer idempotency_outcome_unknown.",
                ))
            }
            Err(tail) => Err(tail.error(deferred.unwrap_or(&DeferredWrites::default()))),
        }
    }

    /// Appends an audit event. The store escapes hostile text rather than
    /// refusing it, so only an unavailable database fails this; the write
    /// is then tried once more, and if that fails too the whole event
    /// (claims, never a credential) goes to the service log at error level
    /// under `audit_event_unwritten`, so no event is dropped silently.
    /// Returns whether the row was written.
    ///
    /// Used for denials, refusals and keyless driver actions: a keyless
    /// driver action is not undone when its audit row cannot be written
    /// (its provider action already happened, and an error would invite a
    /// retry that does it twice). Host-route mutations write their audit
    /// row in their own transaction (`one_tx.rs`) and keyed driver actions
    /// with their stored answer ([`Service::complete`]), so for those a
    /// failed audit write fails the request (docs/operating.md).
    pub async fn audit(&self, event: &AuditEvent) -> bool {
        let mut attempt = self.store.append_audit_event(event).await;
        if attempt.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            attempt = self.store.append_audit_event(event).await;
        }
        match attempt {
            Ok(()) => true,
            Err(error) => {
                let event = serde_json::to_string(event).unwrap_or_default();
                tracing::error!(%error, audit_event_unwritten = %event, "could not write an audit event; it is logged here instead");
                false
            }
        }
    }
}

/// Why the tail transaction of a driver action failed.
enum Tail {
    /// The database failed.
    Store(StoreError),
    /// A held-back record write was refused when applied.
    Records(HostError),
}

impl From<StoreError> for Tail {
    fn from(error: StoreError) -> Self {
        Tail::Store(error)
    }
}

impl Tail {
    /// The request's answer: a refused record as the records capability
    /// would have refused it (400 naming the record, 404), else 500.
    fn error(self, deferred: &DeferredWrites) -> ApiError {
        match self {
            Tail::Records(HostError::Invalid(message)) => ApiError::invalid_request(message),
            Tail::Records(HostError::NotFound(message)) => ApiError::not_found(message),
            Tail::Records(other) => ApiError::internal(format!(
                "the action's records could not be written: {other:?}"
            )),
            Tail::Store(error) => {
                tracing::error!(%error, records_unwritten = ?deferred.names(),
                    "could not commit an action's records and audit event");
                ApiError::internal(error)
            }
        }
    }
}

/// Marks `event` as the audit of a refused or failed request.
fn set_failure(event: &mut AuditEvent, error: &ApiError) {
    event.outcome = if error.status.is_server_error() {
        "failed"
    } else {
        "rejected"
    }
    .to_string();
    event.status_code = error.status.as_u16();
    event.detail = json!({"code": error.code, "message": error.message});
}

/// `{"status":"accepted","trace_id",records,result}` (result only when not
/// empty).
pub(super) fn accepted_body(
    call: &Call,
    accepted: &Accepted,
    known: impl Fn(&str) -> Option<bool>,
) -> Value {
    let mut body = Map::new();
    body.insert("status".into(), json!("accepted"));
    body.insert("trace_id".into(), json!(call.trace_id.as_str()));
    body.insert(
        "records".into(),
        Value::Object(allowed_records(&accepted.records, known)),
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
    fn records_follow_the_known_keys_and_stringify() {
        let records = vec![
            ("deployment_record_id".to_string(), json!("d-1")),
            ("promotion_status".to_string(), json!("pass")),
            ("provider_target_count".to_string(), json!(3)),
            ("transition".to_string(), json!(true)),
            (
                "driver_verification".to_string(),
                json!(r#"{"status": "pass"}"#),
            ),
            ("driver_note".to_string(), json!(7)),
        ];
        let known = |key: &str| match key {
            "driver_verification" => Some(true),
            "driver_note" => Some(false),
            _ if crate::records::kinds::is_host_records_key(key) => Some(false),
            _ => None,
        };
        let out = allowed_records(&records, known);
        assert_eq!(
            Value::Object(out),
            json!({
                "deployment_record_id": "d-1",
                "provider_target_count": "3",
                "transition": "True",
                "driver_verification": {"status": "pass"},
                "driver_note": "7"
            })
        );
    }
}
