//! Browser sessions of GitHub-signed-in humans (`launchplane_human_sessions`):
//! stored under the SHA-256 of their id, with the identity they carry and
//! their CSRF token; an expired session is deleted when it is read.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

/// A stored session (keyed by the hash of its id, never the id itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanSessionRow {
    /// The signed-in identity as JSON text.
    pub identity: String,
    pub csrf_token: String,
    pub created_at: String,
    /// Unix milliseconds after which the session is gone.
    pub expires_ms: i64,
}

impl Store {
    /// Stores a new session under `session_sha256`.
    pub async fn insert_human_session(
        &self,
        session_sha256: &str,
        row: &HumanSessionRow,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO launchplane_human_sessions (session_sha256, identity, csrf_token, created_at, expires_ms) VALUES ($1, $2, $3, $4, $5)")
                .bind(session_sha256)
                .bind(&row.identity)
                .bind(&row.csrf_token)
                .bind(&row.created_at)
                .bind(row.expires_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The live session with this hash at `now_ms`; an expired one is
    /// deleted (with every other expired session) and reads as none.
    pub async fn human_session(
        &self,
        session_sha256: &str,
        now_ms: i64,
    ) -> Result<Option<HumanSessionRow>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM launchplane_human_sessions WHERE expires_ms <= $1")
                .bind(now_ms)
                .execute(pool)
                .await?;
            let row = sqlx::query(
                "SELECT identity, csrf_token, created_at, expires_ms FROM launchplane_human_sessions WHERE session_sha256 = $1 AND expires_ms > $2",
            )
            .bind(session_sha256)
            .bind(now_ms)
            .fetch_optional(pool)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => Ok(Some(HumanSessionRow {
                    identity: row.try_get(0)?,
                    csrf_token: row.try_get(1)?,
                    created_at: row.try_get(2)?,
                    expires_ms: row.try_get(3)?,
                })),
            }
        })
    }

    /// Deletes a session; false when there was none.
    pub async fn delete_human_session(&self, session_sha256: &str) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, pool => {
            sqlx::query("DELETE FROM launchplane_human_sessions WHERE session_sha256 = $1")
                .bind(session_sha256)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted == 1)
    }
}
