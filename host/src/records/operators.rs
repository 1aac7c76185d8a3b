//! Local operator tokens: random bearer tokens for humans at a terminal,
//! stored only as SHA-256 and revocable.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

/// A stored operator token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorToken {
    pub token_id: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: String,
}

impl Store {
    /// Stores a new token's hash under `label`.
    pub async fn insert_operator_token(
        &self,
        token_id: &str,
        label: &str,
        token_sha256: &str,
    ) -> Result<(), StoreError> {
        let now = crate::time::now_rfc3339();
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO lp_operator_tokens (token_id, label, token_sha256, created_at) VALUES ($1, $2, $3, $4)")
                .bind(token_id)
                .bind(label)
                .bind(token_sha256)
                .bind(&now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The live (not revoked) token with this hash.
    pub async fn operator_token_by_hash(
        &self,
        token_sha256: &str,
    ) -> Result<Option<OperatorToken>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT token_id, label, created_at, revoked_at FROM lp_operator_tokens WHERE token_sha256 = $1 AND revoked_at = ''",
            )
            .bind(token_sha256)
            .fetch_optional(pool)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => Ok(Some(OperatorToken {
                    token_id: row.try_get(0)?,
                    label: row.try_get(1)?,
                    created_at: row.try_get(2)?,
                    revoked_at: row.try_get(3)?,
                })),
            }
        })
    }

    /// Every token, newest first.
    pub async fn list_operator_tokens(&self) -> Result<Vec<OperatorToken>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT token_id, label, created_at, revoked_at FROM lp_operator_tokens ORDER BY created_at DESC, token_id")
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| {
                    Ok(OperatorToken {
                        token_id: row.try_get(0)?,
                        label: row.try_get(1)?,
                        created_at: row.try_get(2)?,
                        revoked_at: row.try_get(3)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
    }

    /// Revokes a token by id; false when there was no live token.
    pub async fn revoke_operator_token(&self, token_id: &str) -> Result<bool, StoreError> {
        let now = crate::time::now_rfc3339();
        let updated = on_pool!(self, pool => {
            sqlx::query("UPDATE lp_operator_tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at = ''")
                .bind(&now)
                .bind(token_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }
}
