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

/// A `lp_idempotency` statement whose `$1`–`$3` are the key's scope,
/// route path and value, with those three bound.
macro_rules! keyed {
    ($sql:expr, $key:expr) => {
        sqlx::query($sql)
            .bind(&$key.scope)
            .bind(&$key.route_path)
            .bind(&$key.key)
    };
}

/// The key's row as a reservation reads it.
struct KeyRow {
    fingerprint: String,
    state: String,
    lease_expires_at: i64,
    response_status: Option<i64>,
    response_body: Option<String>,
    response_trace_id: Option<String>,
    expires_at: i64,
    effect_started_at: Option<i64>,
    interrupted_at: Option<i64>,
    attempt_trace_id: String,
}

const INSERT: &str = "INSERT INTO lp_idempotency (scope, route_path, idempotency_key, request_fingerprint, state, owner, \
     lease_expires_at, created_at, expires_at, attempt_trace_id) \
     VALUES ($1, $2, $3, $4, 'in_progress', $5, $6, $7, $8, $9) \
     ON CONFLICT (scope, route_path, idempotency_key) DO NOTHING";

const READ: &str = "SELECT request_fingerprint, state, lease_expires_at, response_status, response_body, response_trace_id, \
     expires_at, effect_started_at, interrupted_at, attempt_trace_id \
     FROM lp_idempotency WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3";

const RENEW_EXPIRED: &str = "UPDATE lp_idempotency SET request_fingerprint = $4, state = 'in_progress', owner = $5, \
     lease_expires_at = $6, created_at = $7, expires_at = $8, attempt_trace_id = $9, \
     response_status = NULL, response_body = NULL, response_trace_id = NULL, \
     effect_started_at = NULL, interrupted_at = NULL \
     WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND expires_at < $10";

const INTERRUPT: &str = "UPDATE lp_idempotency SET interrupted_at = $4 \
     WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND interrupted_at IS NULL";

const TAKE_OVER: &str = "UPDATE lp_idempotency SET owner = $4, lease_expires_at = $5, attempt_trace_id = $6 \
     WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND state = 'in_progress' \
     AND lease_expires_at < $7 AND effect_started_at IS NULL";

const BEGIN_EFFECT: &str = "UPDATE lp_idempotency SET effect_started_at = COALESCE(effect_started_at, $4) \
     WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND owner = $5 \
     AND attempt_trace_id = $6 AND state = 'in_progress' AND interrupted_at IS NULL";

const RENEW: &str = "UPDATE lp_idempotency SET lease_expires_at = $4 \
     WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND owner = $5 \
     AND state = 'in_progress' AND interrupted_at IS NULL";

const COMPLETE: &str = "UPDATE lp_idempotency SET state = 'complete', response_status = $4, response_body = $5, \
     response_trace_id = $6 WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND owner = $7 \
     AND state = 'in_progress' AND interrupted_at IS NULL";

const RELEASE: &str = "DELETE FROM lp_idempotency WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 \
     AND owner = $4 AND state = 'in_progress' AND interrupted_at IS NULL";

/// [`INSERT`] or [`RENEW_EXPIRED`] with the attempt bound as `$4`–`$9`.
macro_rules! attempt {
    ($sql:expr, $a:expr) => {
        keyed!($sql, $a.key)
            .bind($a.fingerprint)
            .bind($a.owner)
            .bind($a.now + $a.lease_ms)
            .bind(crate::time::now_rfc3339())
            .bind($a.now + $a.ttl_ms)
            .bind($a.trace_id)
    };
}

/// [`COMPLETE`] with its parameters bound.
macro_rules! completion {
    ($key:expr, $owner:expr, $response:expr, $body:expr) => {
        keyed!(COMPLETE, $key)
            .bind(i64::from($response.status))
            .bind($body)
            .bind(&$response.trace_id)
            .bind($owner)
    };
}

/// A reservation attempt: who asks, with which body, for how long.
struct Attempt<'a> {
    key: &'a IdempotencyKey,
    fingerprint: &'a str,
    owner: &'a str,
    trace_id: &'a str,
    lease_ms: i64,
    ttl_ms: i64,
    now: i64,
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
        let attempt = Attempt {
            key,
            fingerprint,
            owner,
            trace_id,
            lease_ms,
            ttl_ms,
            now: unix_millis(),
        };
        let now = attempt.now;
        if self.insert_reservation(&attempt).await? {
            return Ok(Reservation::Reserved);
        }
        let Some(row) = self.read_reservation(key).await? else {
            // Purged between our insert and read: the caller may retry.
            return Ok(Reservation::InProgress);
        };
        if row.expires_at < now {
            // Forgotten after its TTL: this request starts it afresh.
            return Ok(reserved_if(self.renew_expired(&attempt).await?));
        }
        if row.fingerprint != fingerprint {
            return Ok(Reservation::Reused);
        }
        if row.state == "complete" {
            return replay_of(row).map(Reservation::Replay);
        }
        if row.interrupted_at.is_none() && row.lease_expires_at >= now {
            return Ok(Reservation::InProgress);
        }
        if row.interrupted_at.is_some() || row.effect_started_at.is_some() {
            // The attempt died after its first effect: never again.
            let attempt = self.interrupt(key, row.attempt_trace_id, now).await?;
            return Ok(Reservation::Interrupted(attempt));
        }
        // The owner's lease ran out before anything happened: take over
        // only if nobody else did first.
        Ok(reserved_if(self.take_over(&attempt).await?))
    }

    /// Inserts a fresh reservation; `false` when the key has a row.
    async fn insert_reservation(&self, a: &Attempt<'_>) -> Result<bool, StoreError> {
        let inserted = on_pool!(self, pool => {
            attempt!(INSERT, a)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// The key's row, if it has one.
    async fn read_reservation(&self, key: &IdempotencyKey) -> Result<Option<KeyRow>, StoreError> {
        let row = on_pool!(self, pool => {
            match keyed!(READ, key).fetch_optional(pool).await? {
                None => None,
                Some(row) => Some(KeyRow {
                    fingerprint: row.try_get(0)?,
                    state: row.try_get(1)?,
                    lease_expires_at: row.try_get(2)?,
                    response_status: row.try_get(3)?,
                    response_body: row.try_get(4)?,
                    response_trace_id: row.try_get(5)?,
                    expires_at: row.try_get(6)?,
                    effect_started_at: row.try_get(7)?,
                    interrupted_at: row.try_get(8)?,
                    attempt_trace_id: row.try_get(9)?,
                }),
            }
        });
        Ok(row)
    }

    /// Reserves an expired key afresh; `false` when another request did.
    async fn renew_expired(&self, a: &Attempt<'_>) -> Result<bool, StoreError> {
        let renewed = on_pool!(self, pool => {
            attempt!(RENEW_EXPIRED, a)
                .bind(a.now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(renewed == 1)
    }

    /// Marks the key's attempt interrupted (once) and names what it wrote.
    async fn interrupt(
        &self,
        key: &IdempotencyKey,
        attempt: String,
        now: i64,
    ) -> Result<InterruptedAttempt, StoreError> {
        let written: Vec<(String, String)> = on_pool!(self, pool => {
            keyed!(INTERRUPT, key).bind(now).execute(pool).await?;
            sqlx::query_as(
                "SELECT kind, record_id FROM lp_record_history WHERE trace_id = $1 ORDER BY recorded_at",
            )
            .bind(&attempt)
            .fetch_all(pool)
            .await?
        });
        let mut names: Vec<String> = Vec::with_capacity(written.len());
        for (kind, id) in written {
            let name = format!("{kind}/{id}");
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Ok(InterruptedAttempt {
            trace_id: attempt,
            written: names,
        })
    }

    /// Takes over a key whose owner's lease ran out before its first
    /// effect; `false` when another request took it first.
    async fn take_over(&self, a: &Attempt<'_>) -> Result<bool, StoreError> {
        let taken = on_pool!(self, pool => {
            keyed!(TAKE_OVER, a.key)
                .bind(a.owner)
                .bind(a.now + a.lease_ms)
                .bind(a.trace_id)
                .bind(a.now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(taken == 1)
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
            keyed!(BEGIN_EFFECT, key)
                .bind(now)
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
            keyed!(RENEW, key)
                .bind(now + lease_ms)
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
            completion!(key, owner, response, &body)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Frees a reserved key without storing a response (the action failed
    /// in a way that must not be replayed), so a retry runs again.
    pub async fn release_idempotency_key(
        &self,
        key: &IdempotencyKey,
        owner: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            keyed!(RELEASE, key)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Deletes expired keys; returns how many.
    pub async fn purge_expired_idempotency_keys(&self) -> Result<u64, StoreError> {
        let now = unix_millis();
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM lp_idempotency WHERE expires_at < $1").bind(now).execute(pool).await?.rows_affected()
        }))
    }
}

/// [`Reservation::Reserved`] when the write took, else `InProgress`.
fn reserved_if(taken: bool) -> Reservation {
    if taken {
        Reservation::Reserved
    } else {
        Reservation::InProgress
    }
}

/// The stored answer of a completed key.
fn replay_of(row: KeyRow) -> Result<StoredResponse, StoreError> {
    let body =
        serde_json::from_str(row.response_body.as_deref().unwrap_or("null")).map_err(|e| {
            StoreError::Corrupt {
                what: "idempotency response".to_string(),
                reason: e.to_string(),
            }
        })?;
    Ok(StoredResponse {
        status: u16::try_from(row.response_status.unwrap_or(202)).unwrap_or(202),
        body,
        trace_id: row.response_trace_id.unwrap_or_default(),
    })
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
            keyed!(STORE_ANSWER, key)
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
            completion!(key, owner, response, &body)
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
