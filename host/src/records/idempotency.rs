//! Idempotency keys, reserved in the database before an action runs.
//!
//! The original stored a key only after the action finished, so two
//! concurrent requests with one key could both execute. Here the first
//! request inserts an `in_progress` row (a unique key on scope + route +
//! key decides the race), runs, then completes the row with its response;
//! a concurrent duplicate sees the reservation and gets 409. Keys expire
//! after a TTL.
//!
//! A reservation carries a lease its host renews while the action runs
//! (`ops/heartbeat.rs`). When a host dies, its lease runs out, and what a
//! retry may do depends on how far the dead attempt got:
//!
//! * before its first effect (no provider change, no record written:
//!   `effect_started_at` is null) nothing happened, so the retry takes the
//!   reservation over and runs;
//! * after it, the outcome is unknown: the retry is answered
//!   [`Reservation::Interrupted`] with the records the attempt wrote (tied
//!   to it by its trace id), now and for every later retry of the key. It
//!   never runs twice; an operator decides.

use sqlx::Row;

use super::tx::on_tx;
use super::{Store, StoreError, Tx, on_pool, unix_millis};

/// What identifies a key: caller scope, route path and the header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub scope: String,
    pub route_path: String,
    pub key: String,
}

/// A stored response to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: serde_json::Value,
    pub trace_id: String,
}

/// An attempt that died after its first effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptedAttempt {
    /// The dead attempt's trace id (its log lines and records carry it).
    pub trace_id: String,
    /// `kind/record_id` of every record the attempt wrote, oldest first.
    pub written: Vec<String>,
}

/// How [`Store::release_idempotency_key`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Deleted: the attempt made no effect, so a retry runs afresh.
    Freed,
    /// Kept as interrupted: the attempt had begun changing things, so a
    /// retry answers `idempotency_outcome_unknown` and never runs again.
    Kept,
    /// The owner no longer held the key (taken over, completed or gone).
    NotHeld,
}

/// The outcome of trying to reserve a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Reservation {
    /// This request owns the key and must complete or release it.
    Reserved,
    /// The same request already completed: replay this.
    Replay(StoredResponse),
    /// The key was used with a different request body.
    Reused,
    /// The same key is being executed right now by another request.
    InProgress,
    /// An earlier attempt with this key died after it began changing
    /// things; it is never run again.
    Interrupted(InterruptedAttempt),
}

const COMPLETE: &str = "UPDATE lp_idempotency SET state = 'complete', response_status = $1, response_body = $2, \
     response_trace_id = $3 WHERE scope = $4 AND route_path = $5 AND idempotency_key = $6 AND owner = $7 \
     AND state = 'in_progress' AND interrupted_at IS NULL";

/// Binds a key's three columns (scope, route path, key), in order.
macro_rules! bind_key {
    ($query:expr, $key:expr) => {
        $query
            .bind(&$key.scope)
            .bind(&$key.route_path)
            .bind(&$key.key)
    };
}

/// Binds [`COMPLETE`]'s parameters.
macro_rules! bind_completion {
    ($query:expr, $key:expr, $owner:expr, $response:expr, $body:expr) => {
        $query
            .bind(i64::from($response.status))
            .bind($body)
            .bind(&$response.trace_id)
            .bind(&$key.scope)
            .bind(&$key.route_path)
            .bind(&$key.key)
            .bind($owner)
    };
}

impl Store {
    /// Reserves `key` for a request with `fingerprint`, run as attempt
    /// `trace_id` by `owner` until `lease_ms` from now (renewed by
    /// [`Store::renew_idempotency_key`]); the key lives `ttl_ms`. An
    /// expired key is reserved afresh.
    pub async fn reserve_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        owner: &str,
        trace_id: &str,
        lease_ms: i64,
        ttl_ms: i64,
    ) -> Result<Reservation, StoreError> {
        let now = unix_millis();
        on_pool!(self, pool => {
            let inserted = sqlx::query(
                "INSERT INTO lp_idempotency (scope, route_path, idempotency_key, request_fingerprint, state, owner, \
                 lease_expires_at, created_at, expires_at, attempt_trace_id) \
                 VALUES ($1, $2, $3, $4, 'in_progress', $5, $6, $7, $8, $9) \
                 ON CONFLICT (scope, route_path, idempotency_key) DO NOTHING",
            )
            .bind(&key.scope)
            .bind(&key.route_path)
            .bind(&key.key)
            .bind(fingerprint)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(crate::time::now_rfc3339())
            .bind(now + ttl_ms)
            .bind(trace_id)
            .execute(pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(Reservation::Reserved);
            }
            let row = sqlx::query(
                "SELECT request_fingerprint, state, lease_expires_at, response_status, response_body, response_trace_id, \
                 expires_at, effect_started_at, interrupted_at, attempt_trace_id \
                 FROM lp_idempotency WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3",
            )
            .bind(&key.scope)
            .bind(&key.route_path)
            .bind(&key.key)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else {
                // Purged between our insert and read: the caller may retry.
                return Ok(Reservation::InProgress);
            };
            let expires_at: i64 = row.try_get(6)?;
            if expires_at < now {
                // Forgotten after its TTL: this request starts it afresh.
                let renewed = sqlx::query(
                    "UPDATE lp_idempotency SET request_fingerprint = $1, state = 'in_progress', owner = $2, \
                     lease_expires_at = $3, created_at = $4, expires_at = $5, attempt_trace_id = $6, \
                     response_status = NULL, response_body = NULL, response_trace_id = NULL, \
                     effect_started_at = NULL, interrupted_at = NULL \
                     WHERE scope = $7 AND route_path = $8 AND idempotency_key = $9 AND expires_at < $10",
                )
                .bind(fingerprint)
                .bind(owner)
                .bind(now + lease_ms)
                .bind(crate::time::now_rfc3339())
                .bind(now + ttl_ms)
                .bind(trace_id)
                .bind(&key.scope)
                .bind(&key.route_path)
                .bind(&key.key)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
                return Ok(if renewed == 1 { Reservation::Reserved } else { Reservation::InProgress });
            }
            let stored_fingerprint: String = row.try_get(0)?;
            if stored_fingerprint != fingerprint {
                return Ok(Reservation::Reused);
            }
            let state: String = row.try_get(1)?;
            if state == "complete" {
                let status: Option<i64> = row.try_get(3)?;
                let body: Option<String> = row.try_get(4)?;
                let trace_id: Option<String> = row.try_get(5)?;
                let body = serde_json::from_str(body.as_deref().unwrap_or("null")).map_err(|e| StoreError::Corrupt {
                    what: "idempotency response".to_string(),
                    reason: e.to_string(),
                })?;
                return Ok(Reservation::Replay(StoredResponse {
                    status: u16::try_from(status.unwrap_or(202)).unwrap_or(202),
                    body,
                    trace_id: trace_id.unwrap_or_default(),
                }));
            }
            let effect_started_at: Option<i64> = row.try_get(7)?;
            let interrupted_at: Option<i64> = row.try_get(8)?;
            let attempt: String = row.try_get(9)?;
            let lease_expires_at: i64 = row.try_get(2)?;
            if interrupted_at.is_none() && lease_expires_at >= now {
                return Ok(Reservation::InProgress);
            }
            if interrupted_at.is_some() || effect_started_at.is_some() {
                // The attempt died after its first effect: never again.
                sqlx::query(
                    "UPDATE lp_idempotency SET interrupted_at = $1 \
                     WHERE scope = $2 AND route_path = $3 AND idempotency_key = $4 AND interrupted_at IS NULL",
                )
                .bind(now)
                .bind(&key.scope)
                .bind(&key.route_path)
                .bind(&key.key)
                .execute(pool)
                .await?;
                let written: Vec<(String, String)> = sqlx::query_as(
                    "SELECT kind, record_id FROM lp_record_history WHERE trace_id = $1 ORDER BY recorded_at",
                )
                .bind(&attempt)
                .fetch_all(pool)
                .await?;
                let mut names: Vec<String> = Vec::with_capacity(written.len());
                for (kind, id) in written {
                    let name = format!("{kind}/{id}");
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                return Ok(Reservation::Interrupted(InterruptedAttempt { trace_id: attempt, written: names }));
            }
            // The owner's lease ran out before anything happened: take over
            // only if nobody else did first.
            let taken = sqlx::query(
                "UPDATE lp_idempotency SET owner = $1, lease_expires_at = $2, attempt_trace_id = $3 \
                 WHERE scope = $4 AND route_path = $5 AND idempotency_key = $6 AND state = 'in_progress' \
                 AND lease_expires_at < $7 AND effect_started_at IS NULL",
            )
            .bind(owner)
            .bind(now + lease_ms)
            .bind(trace_id)
            .bind(&key.scope)
            .bind(&key.route_path)
            .bind(&key.key)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(if taken == 1 { Reservation::Reserved } else { Reservation::InProgress })
        })
    }

    /// Notes that the owner's attempt is about to make its first effect.
    /// `false` when the owner no longer holds the reservation (its lease
    /// ran out and another request took it over): the attempt must then
    /// change nothing.
    pub async fn begin_idempotent_effect(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        trace_id: &str,
    ) -> Result<bool, StoreError> {
        let now = unix_millis();
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE lp_idempotency SET effect_started_at = COALESCE(effect_started_at, $1) \
                 WHERE scope = $2 AND route_path = $3 AND idempotency_key = $4 AND owner = $5 \
                 AND attempt_trace_id = $6 AND state = 'in_progress' AND interrupted_at IS NULL",
            )
            .bind(now)
            .bind(&key.scope)
            .bind(&key.route_path)
            .bind(&key.key)
            .bind(owner)
            .bind(trace_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Extends the owner's reservation lease to `lease_ms` from now;
    /// `false` when it no longer holds it.
    pub async fn renew_idempotency_key(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = unix_millis();
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE lp_idempotency SET lease_expires_at = $1 \
                 WHERE scope = $2 AND route_path = $3 AND idempotency_key = $4 AND owner = $5 \
                 AND state = 'in_progress' AND interrupted_at IS NULL",
            )
            .bind(now + lease_ms)
            .bind(&key.scope)
            .bind(&key.route_path)
            .bind(&key.key)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Stores the response of a reserved key. Only the owner can complete.
    pub async fn complete_idempotency_key(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let body = response.body.to_string();
        let updated = on_pool!(self, pool => {
            bind_completion!(sqlx::query(COMPLETE), key, owner, response, &body)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Frees a reserved key without storing a response (the action failed
    /// in a way that must not be replayed), so a retry runs again; only
    /// while the attempt made no effect. A key whose attempt began
    /// changing things is never deleted: it is closed as interrupted, so
    /// every retry answers [`Reservation::Interrupted`] naming what the
    /// attempt wrote, and nothing runs twice. Returns how it ended.
    pub async fn release_idempotency_key(
        &self,
        key: &IdempotencyKey,
        owner: &str,
    ) -> Result<Release, StoreError> {
        let now = unix_millis();
        on_pool!(self, pool => {
            let deleted = bind_key!(sqlx::query(
                "DELETE FROM lp_idempotency WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND owner = $4 \
                 AND state = 'in_progress' AND interrupted_at IS NULL AND effect_started_at IS NULL",
            ), key)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected();
            if deleted == 1 {
                return Ok(Release::Freed);
            }
            let closed = bind_key!(sqlx::query(
                "UPDATE lp_idempotency SET interrupted_at = $4, lease_expires_at = $4 \
                 WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND owner = $5 \
                 AND state = 'in_progress' AND interrupted_at IS NULL AND effect_started_at IS NOT NULL",
            ), key)
            .bind(now)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(if closed == 1 { Release::Kept } else { Release::NotHeld })
        })
    }

    /// Deletes expired keys; returns how many.
    pub async fn purge_expired_idempotency_keys(&self) -> Result<u64, StoreError> {
        let now = unix_millis();
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM lp_idempotency WHERE expires_at < $1").bind(now).execute(pool).await?.rows_affected()
        }))
    }
}

/// A key stored already complete: a new row, or one whose TTL ran out
/// (taken over afresh). A live row of the same key is left alone.
const STORE_ANSWER: &str = "INSERT INTO lp_idempotency (scope, route_path, idempotency_key, request_fingerprint, \
     state, owner, lease_expires_at, created_at, expires_at, attempt_trace_id, response_status, response_body, \
     response_trace_id) VALUES ($1, $2, $3, $4, 'complete', $5, $6, $7, $8, $9, $10, $11, $9) \
     ON CONFLICT (scope, route_path, idempotency_key) DO UPDATE SET \
     request_fingerprint = excluded.request_fingerprint, state = 'complete', owner = excluded.owner, \
     lease_expires_at = excluded.lease_expires_at, created_at = excluded.created_at, \
     expires_at = excluded.expires_at, attempt_trace_id = excluded.attempt_trace_id, \
     response_status = excluded.response_status, response_body = excluded.response_body, \
     response_trace_id = excluded.response_trace_id, effect_started_at = NULL, interrupted_at = NULL \
     WHERE lp_idempotency.expires_at < $6";

impl Tx {
    /// Stores `response` as the answer of a key nobody reserved: the
    /// reservation and the completion in one statement, at the end of the
    /// transaction that did the work. `false` when the key is already
    /// taken (answered, reserved or running elsewhere): the caller rolls
    /// back and looks at the key ([`Store::reserve_idempotency_key`]). A
    /// concurrent duplicate waits on the key's row until this
    /// transaction ends, then finds it answered.
    pub async fn store_idempotent_answer(
        &mut self,
        key: &IdempotencyKey,
        fingerprint: &str,
        owner: &str,
        response: &StoredResponse,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = unix_millis();
        let body = response.body.to_string();
        let stored = on_tx!(self, conn => {
            sqlx::query(STORE_ANSWER)
                .bind(&key.scope)
                .bind(&key.route_path)
                .bind(&key.key)
                .bind(fingerprint)
                .bind(owner)
                .bind(now)
                .bind(crate::time::now_rfc3339())
                .bind(now + ttl_ms)
                .bind(&response.trace_id)
                .bind(i64::from(response.status))
                .bind(&body)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(stored == 1)
    }

    /// [`Store::complete_idempotency_key`] in this transaction, so the
    /// answer commits with the records it describes.
    pub async fn complete_idempotency_key(
        &mut self,
        key: &IdempotencyKey,
        owner: &str,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let body = response.body.to_string();
        let updated = on_tx!(self, conn => {
            bind_completion!(sqlx::query(COMPLETE), key, owner, response, &body)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }
}

/// SHA-256 hex of the canonical JSON (sorted keys, compact) of a body: the
/// request fingerprint.
pub fn fingerprint(body: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(canonical_json(body).as_bytes()))
}

/// Compact JSON with object keys sorted at every depth.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&json!({"b": 2, "a": {"x": "s", "y": [1, 2]}}))
        );
    }
}
