//! Authorization policy records: versioned, one active, newest wins.
//!
//! Writes are compare-and-write: a new policy names the revision it was
//! derived from, and the write fails with [`StoreError::PolicyConflict`]
//! when another writer got there first, so a concurrent grant is never
//! silently lost.

use sqlx::Row;

use super::tx::on_tx;
use super::{Store, StoreError, Tx, on_pool};

/// A stored policy record. The policy body stays JSON here; `auth::policy`
/// parses and validates it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRecord {
    pub record_id: String,
    pub revision: i64,
    pub status: String,
    pub source: String,
    pub updated_at: String,
    pub policy_sha256: String,
    pub policy: serde_json::Value,
}

const ACTIVE: &str = "SELECT record_id, revision, status, source, updated_at, policy_sha256, policy \
     FROM lp_authz_policies WHERE status = 'active' ORDER BY revision DESC LIMIT 1";

/// Decodes an [`ACTIVE`] row of either backend.
macro_rules! policy_from_row {
    ($row:expr) => {{
        let row = $row;
        let policy: String = row.try_get(6)?;
        Ok::<PolicyRecord, StoreError>(PolicyRecord {
            record_id: row.try_get(0)?,
            revision: row.try_get(1)?,
            status: row.try_get(2)?,
            source: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            policy_sha256: row.try_get(5)?,
            policy: serde_json::from_str(&policy).map_err(|e| StoreError::Corrupt {
                what: "authz policy".into(),
                reason: e.to_string(),
            })?,
        })
    }};
}

impl Store {
    /// The active policy, if any.
    pub async fn active_policy(&self) -> Result<Option<PolicyRecord>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(ACTIVE)
                .fetch_optional(pool)
                .await?
                .map(|row| policy_from_row!(row))
                .transpose()
        })
    }

    /// Writes `record` as the new active policy if the active revision is
    /// still `expected_revision` (0 when there is none); the previous record
    /// becomes `superseded`. Returns the stored record with its revision.
    pub async fn replace_policy(
        &self,
        expected_revision: i64,
        record: &PolicyRecord,
    ) -> Result<PolicyRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let found = tx.active_revision().await?;
        if found != expected_revision {
            return Err(StoreError::PolicyConflict {
                expected: expected_revision,
                found,
            });
        }
        let stored = tx.replace_policy(expected_revision, record).await?;
        tx.commit().await?;
        Ok(stored)
    }
}

impl Tx {
    /// The active policy's revision (0 when there is none), unlocked.
    async fn active_revision(&mut self) -> Result<i64, StoreError> {
        let current: Option<i64> = on_tx!(self, conn => {
            sqlx::query_scalar("SELECT revision FROM lp_authz_policies WHERE status = 'active'")
                .fetch_optional(&mut *conn)
                .await?
        });
        Ok(current.unwrap_or(0))
    }

    /// The active policy, locked for this transaction on PostgreSQL (a
    /// concurrent change waits; SQLite's write transaction already
    /// excludes it).
    pub async fn active_policy(&mut self) -> Result<Option<PolicyRecord>, StoreError> {
        let tx = match self {
            Tx::Sqlite(tx) => {
                return sqlx::query(ACTIVE)
                    .fetch_optional(&mut **tx)
                    .await?
                    .map(|row| policy_from_row!(row))
                    .transpose();
            }
            Tx::Postgres(tx) => tx,
        };
        // A row locked by a concurrent change that superseded it is no
        // longer active once the lock is ours: read the new one (bounded:
        // each round follows a committed change).
        for _ in 0..8 {
            let locked = sqlx::query(sqlx::AssertSqlSafe(format!("{ACTIVE} FOR UPDATE")))
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(row) = locked {
                return policy_from_row!(row).map(Some);
            }
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT revision FROM lp_authz_policies WHERE status = 'active' LIMIT 1",
            )
            .fetch_optional(&mut **tx)
            .await?;
            if exists.is_none() {
                return Ok(None);
            }
        }
        Err(StoreError::PolicyConflict {
            expected: 0,
            found: 0,
        })
    }

    /// Makes `record` the active policy in place of revision
    /// `expected_revision`, which this transaction read with
    /// [`Tx::active_policy`] (0 when there was none).
    pub async fn replace_policy(
        &mut self,
        expected_revision: i64,
        record: &PolicyRecord,
    ) -> Result<PolicyRecord, StoreError> {
        let revision = expected_revision + 1;
        let text = record.policy.to_string();
        let conflict = StoreError::PolicyConflict {
            expected: expected_revision,
            found: revision,
        };
        let inserted = on_tx!(self, conn => {
            sqlx::query("UPDATE lp_authz_policies SET status = 'superseded' WHERE status = 'active' AND revision = $1")
                .bind(expected_revision)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO lp_authz_policies (record_id, revision, status, source, updated_at, policy_sha256, policy) \
                 VALUES ($1, $2, 'active', $3, $4, $5, $6)",
            )
            .bind(&record.record_id)
            .bind(revision)
            .bind(&record.source)
            .bind(&record.updated_at)
            .bind(&record.policy_sha256)
            .bind(&text)
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected())
        });
        match inserted {
            Ok(_) => Ok(PolicyRecord {
                revision,
                status: "active".into(),
                ..record.clone()
            }),
            // Another writer inserted the same revision concurrently.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(conflict),
            Err(e) => Err(e.into()),
        }
    }
}
