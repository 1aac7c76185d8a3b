//! The front of every mutation: the `Idempotency-Key` is reserved in the
//! database before anything runs, so of two concurrent duplicates exactly
//! one executes (a unique key decides the race across hosts sharing one
//! PostgreSQL); a retry of a completed request replays its stored answer.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::mutation::Mutation;
use super::{Reply, Service};
use crate::error::ApiError;
use crate::records::{
    IdempotencyKey, InterruptedAttempt, Reservation, StoredResponse, fingerprint,
};
use crate::registry::Idempotency;
use crate::trace::TraceId;

/// Whether a mutation runs, and under which reserved key.
pub enum Ticket {
    /// Run it; complete or release the key (if any) afterwards.
    Proceed(Option<IdempotencyKey>),
    /// An earlier request with this key and body already answered.
    Replay(Reply),
}

impl Service {
    /// Reserves the mutation's key, or answers a replay or a 409.
    pub async fn reserve(&self, m: &Mutation<'_>) -> Result<Ticket, ApiError> {
        let key = match m.idempotency {
            Idempotency::None => None,
            _ => m.call.key.value()?,
        };
        if m.idempotency == Idempotency::Required && key.is_none() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                format!("Route {} requires an Idempotency-Key header.", m.call.route),
            ));
        }
        let Some(value) = key else {
            return Ok(Ticket::Proceed(None));
        };
        let key = IdempotencyKey {
            scope: m.call.caller.identity.subject.clone(),
            route_path: m.call.route.clone(),
            key: value.to_string(),
        };
        let outcome = self
            .store
            .reserve_idempotency_key(
                &key,
                &fingerprint(m.body),
                &self.host_id,
                m.call.trace_id.as_str(),
                self.lease_ms,
                self.idempotency_ttl_ms,
            )
            .await
            .map_err(ApiError::internal)?;
        crate::metrics::idempotency(match &outcome {
            Reservation::Reserved => "reserved",
            Reservation::Replay(_) => "replayed",
            Reservation::Reused => "reused",
            Reservation::InProgress => "in_progress",
            Reservation::Interrupted(_) => "outcome_unknown",
        });
        match outcome {
            Reservation::Reserved => Ok(Ticket::Proceed(Some(key))),
            Reservation::Replay(stored) => Ok(Ticket::Replay(replay(&m.call.trace_id, stored))),
            Reservation::Reused => Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "Idempotency-Key was already used with a different request body.",
            )),
            Reservation::InProgress => Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_request_in_progress",
                "A request with this Idempotency-Key is still being processed; retry later.",
            )),
            Reservation::Interrupted(attempt) => Err(outcome_unknown(attempt)),
        }
    }
}

/// 409 `idempotency_outcome_unknown`: an attempt with this key died after
/// it began changing things. It is not run again; the answer names the
/// attempt and what it wrote so an operator can decide (inspect the lane,
/// then retry under a new key or not at all).
fn outcome_unknown(attempt: InterruptedAttempt) -> ApiError {
    let written = if attempt.written.is_empty() {
        "no record".to_string()
    } else {
        attempt.written.join(", ")
    };
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_outcome_unknown",
        format!(
            "An earlier attempt with this Idempotency-Key (trace `{}`) stopped after it began \
             changing the lane, so it is not run again. It wrote: {written}. Check the lane's \
             state; to act again, send a new Idempotency-Key.",
            attempt.trace_id
        ),
    )
    .with_extra(
        "attempt",
        json!({"trace_id": attempt.trace_id, "written": attempt.written}),
    )
}

/// The stored answer with a fresh trace id, `replayed: true` and the
/// original trace id.
fn replay(trace_id: &TraceId, stored: StoredResponse) -> Reply {
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
    Reply {
        status: StatusCode::from_u16(stored.status).unwrap_or(StatusCode::ACCEPTED),
        body: Value::Object(body),
    }
}
