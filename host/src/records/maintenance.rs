//! What the maintenance sweep (`ops::maintenance`) measures: the sizes of
//! the tables that grow with traffic rather than with deployments.

use super::{Store, StoreError, on_pool};

/// Row counts of the tables a sweep keeps bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TableSizes {
    /// Rows of `lp_idempotency` (reservations and stored answers).
    pub idempotency_keys: i64,
    /// Rows of `lp_audit_events` (a coalesced denial row counts once).
    pub audit_events: i64,
    /// Of those, denial rows.
    pub denial_audit_events: i64,
}

impl Store {
    /// Counts the rows of the swept tables.
    pub async fn table_sizes(&self) -> Result<TableSizes, StoreError> {
        let (idempotency_keys, audit_events, denial_audit_events) = on_pool!(self, pool => {
            let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lp_idempotency").fetch_one(pool).await?;
            let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lp_audit_events").fetch_one(pool).await?;
            let denied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lp_audit_events WHERE outcome = $1")
                .bind(super::audit::DENIED)
                .fetch_one(pool)
                .await?;
            (keys, audit, denied)
        });
        Ok(TableSizes {
            idempotency_keys,
            audit_events,
            denial_audit_events,
        })
    }
}
