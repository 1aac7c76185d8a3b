//! Idempotency keys, reserved in the database before an action runs.
//!
//! The original stored a key only after the action finished, so two
//! concurrent requests with one key could both execute. Here the first
//! request inserts an `in_progress` row (a unique key on scope + route +
//! key decides the race), runs, then completes the row with its response;
//! a concurrent duplicate sees the reservation and gets 409. A reservation
//! left by a crashed host carries a lease and can be taken over once it
//! expires. Keys expire after a TTL.

use sqlx::Row;

use super::{Store, StoreError, on_pool, unix_millis};

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
}

impl Store {
    /// Reserves `key` for a request with `fingerprint`, owned by `owner`
    /// until `lease_ms` from now; the key lives `ttl_ms`.
    pub async fn reserve_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        owner: &str,
        lease_ms: i64,
        ttl_ms: i64,
    ) -> Result<Reservation, StoreError> {
        let now = unix_millis();
        on_pool!(self, pool => {
            // Expired keys are forgotten; a request after the TTL runs again.
            sqlx::query("DELETE FROM lp_idempotency WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND expires_at < $4")
                .bind(&key.scope)
                .bind(&key.route_path)
                .bind(&key.key)
                .bind(now)
                .execute(pool)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO lp_idempotency (scope, route_path, idempotency_key, request_fingerprint, state, owner, \
                 lease_expires_at, created_at, expires_at) VALUES ($1, $2, $3, $4, 'in_progress', $5, $6, $7, $8) \
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
            .execute(pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(Reservation::Reserved);
            }
            let row = sqlx::query(
                "SELECT request_fingerprint, state, lease_expires_at, response_status, response_body, response_trace_id \
                 FROM lp_idempotency WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3",
            )
            .bind(&key.scope)
            .bind(&key.route_path)
            .bind(&key.key)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else {
                // Deleted between our insert and read (expired by another
                // request): the caller may simply retry.
                return Ok(Reservation::InProgress);
            };
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
            let lease_expires_at: i64 = row.try_get(2)?;
            if lease_expires_at >= now {
                return Ok(Reservation::InProgress);
            }
            // The owner's lease ran out (its host likely crashed): take over
            // only if nobody else did first.
            let taken = sqlx::query(
                "UPDATE lp_idempotency SET owner = $1, lease_expires_at = $2 \
                 WHERE scope = $3 AND route_path = $4 AND idempotency_key = $5 AND state = 'in_progress' AND lease_expires_at < $6",
            )
            .bind(owner)
            .bind(now + lease_ms)
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

    /// Stores the response of a reserved key. Only the owner can complete.
    pub async fn complete_idempotency_key(
        &self,
        key: &IdempotencyKey,
        owner: &str,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let body = response.body.to_string();
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE lp_idempotency SET state = 'complete', response_status = $1, response_body = $2, response_trace_id = $3 \
                 WHERE scope = $4 AND route_path = $5 AND idempotency_key = $6 AND owner = $7 AND state = 'in_progress'",
            )
            .bind(i64::from(response.status))
            .bind(&body)
            .bind(&response.trace_id)
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

    /// Frees a reserved key without storing a response (the action failed
    /// in a way that must not be replayed), so a retry runs again.
    pub async fn release_idempotency_key(
        &self,
        key: &IdempotencyKey,
        owner: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM lp_idempotency WHERE scope = $1 AND route_path = $2 AND idempotency_key = $3 AND owner = $4 AND state = 'in_progress'",
            )
            .bind(&key.scope)
            .bind(&key.route_path)
            .bind(&key.key)
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
