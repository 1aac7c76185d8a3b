//! Authorization policy records: versioned, one active, newest wins.
//!
//! Writes are compare-and-write: a new policy names the revision it was
//! derived from, and the write fails with [`StoreError::PolicyConflict`]
//! when another writer got there first, so a concurrent grant is never
//! silently lost.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

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

impl Store {
    /// The active policy, if any.
    pub async fn active_policy(&self) -> Result<Option<PolicyRecord>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT record_id, revision, status, source, updated_at, policy_sha256, policy \
                 FROM lp_authz_policies WHERE status = 'active' ORDER BY revision DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let policy: String = row.try_get(6)?;
                    Ok(Some(PolicyRecord {
                        record_id: row.try_get(0)?,
                        revision: row.try_get(1)?,
                        status: row.try_get(2)?,
                        source: row.try_get(3)?,
                        updated_at: row.try_get(4)?,
                        policy_sha256: row.try_get(5)?,
                        policy: serde_json::from_str(&policy)
                            .map_err(|e| StoreError::Corrupt { what: "authz policy".into(), reason: e.to_string() })?,
                    }))
                }
            }
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
        let revision = expected_revision + 1;
        let text = record.policy.to_string();
        let begin = self.write_transaction();
        let result: Result<(), StoreError> = on_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let current: Option<i64> =
                sqlx::query_scalar("SELECT revision FROM lp_authz_policies WHERE status = 'active'")
                    .fetch_optional(&mut *tx)
                    .await?;
            if current.unwrap_or(0) != expected_revision {
                return Err(StoreError::PolicyConflict { expected: expected_revision, found: current.unwrap_or(0) });
            }
            sqlx::query("UPDATE lp_authz_policies SET status = 'superseded' WHERE status = 'active'")
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO lp_authz_policies (record_id, revision, status, source, updated_at, policy_sha256, policy) \
                 VALUES ($1, $2, 'active', $3, $4, $5, $6)",
            )
            .bind(&record.record_id)
            .bind(revision)
            .bind(&record.source)
            .bind(&record.updated_at)
            .bind(&record.policy_sha256)
            .bind(&text)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                // Another writer inserted the same revision concurrently.
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    return Err(StoreError::PolicyConflict { expected: expected_revision, found: revision });
                }
                Err(e) => return Err(e.into()),
            }
            tx.commit().await?;
            Ok(())
        });
        result?;
        Ok(PolicyRecord {
            revision,
            status: "active".into(),
            ..record.clone()
        })
    }
}
