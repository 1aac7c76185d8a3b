//! Lane leases: one mutation at a time on a product lane.
//!
//! A durable operation reserves its lane through `lp_operations`' partial
//! unique index for as long as it is pending or running. A mutation that
//! runs inside the request (a synchronous driver action that deploys,
//! promotes or rolls back) takes a lease row in `lp_lane_leases` instead,
//! for as long as its driver code runs. Each kind checks the other inside
//! one transaction that is serialised per lane (a transaction-scoped
//! advisory lock on PostgreSQL, the write lock `BEGIN IMMEDIATE` takes on
//! SQLite), so a lane never has two mutations at once, of either kind,
//! even with several hosts on one database. A lease expires: a host that
//! dies mid-request frees its lanes when its leases run out, the same
//! recovery its idempotency reservations have.

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, on_pool, unix_millis};

/// What a caller asks to lease.
#[derive(Debug, Clone)]
pub struct NewLaneLease {
    pub product: String,
    pub context: String,
    pub instance: String,
    pub driver_id: String,
    pub action_id: String,
    pub trace_id: String,
    /// The host holding the lease (its host id).
    pub owner: String,
}

/// A held (or, in [`StoreError::LaneLeased`], a competing) lease.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaneLease {
    pub lease_id: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub driver_id: String,
    pub action_id: String,
    pub trace_id: String,
    /// The host holding it. Not shown to API callers.
    #[serde(skip)]
    pub owner: String,
    /// RFC 3339.
    pub acquired_at: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// A lease's columns in the order `lease_from_row!` reads them.
macro_rules! lease_columns {
    () => {
        "lease_id, product, context, instance, driver_id, action_id, trace_id, owner, acquired_at, expires_at"
    };
}

/// The live lease on lane (`$1`, `$2`, `$3`) at unix millisecond `$4`.
/// Under the lane's lock, after expired leases are deleted, it is also the
/// lease an insert collided with.
pub(crate) const LIVE_LEASE: &str = concat!(
    "SELECT ",
    lease_columns!(),
    " FROM lp_lane_leases WHERE product = $1 AND context = $2 AND instance = $3 AND expires_at > $4"
);

/// The live leases of context `$1` at unix millisecond `$2`, oldest first.
const LIVE_LEASES_IN_CONTEXT: &str = concat!(
    "SELECT ",
    lease_columns!(),
    " FROM lp_lane_leases WHERE context = $1 AND expires_at > $2 ORDER BY acquired_at, lease_id"
);

macro_rules! lease_from_row {
    ($row:expr) => {{
        let row = $row;
        $crate::records::LaneLease {
            lease_id: row.try_get(0)?,
            product: row.try_get(1)?,
            context: row.try_get(2)?,
            instance: row.try_get(3)?,
            driver_id: row.try_get(4)?,
            action_id: row.try_get(5)?,
            trace_id: row.try_get(6)?,
            owner: row.try_get(7)?,
            acquired_at: row.try_get(8)?,
            expires_at: row.try_get(9)?,
        }
    }};
}
pub(crate) use lease_from_row;

/// The key of a lane's PostgreSQL advisory lock: hashed by the database
/// (`hashtextextended`) from this text, under a prefix that keeps it apart
/// from any other advisory lock user. The unit separator cannot appear in
/// a product, context or instance name.
pub(crate) fn lane_lock_text(product: &str, context: &str, instance: &str) -> String {
    format!("launchplane.lane\u{1f}{product}\u{1f}{context}\u{1f}{instance}")
}

/// Takes the lane's PostgreSQL advisory lock until the transaction ends; a
/// no-op on SQLite, whose `BEGIN IMMEDIATE` already serialises writers.
macro_rules! lock_lane {
    ($store:expr, $tx:expr, $product:expr, $context:expr, $instance:expr) => {
        if matches!($store, Store::Postgres(_)) {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind($crate::records::lane_leases::lane_lock_text(
                    $product, $context, $instance,
                ))
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(crate) use lock_lane;

/// What an acquisition found, decided inside the transaction.
enum Acquired {
    Leased,
    Operation(String),
    Leaseholder(LaneLease),
}

impl Store {
    /// Leases a lane for an in-request mutation until `ttl_ms` from now.
    /// Refuses with [`StoreError::LaneBusy`] when a durable operation holds
    /// the lane and with [`StoreError::LaneLeased`] when another live lease
    /// does; an expired lease is taken over.
    pub async fn acquire_lane(
        &self,
        new: &NewLaneLease,
        ttl_ms: i64,
    ) -> Result<LaneLease, StoreError> {
        let now = unix_millis();
        let lease = LaneLease {
            lease_id: uuid::Uuid::new_v4().simple().to_string(),
            product: new.product.clone(),
            context: new.context.clone(),
            instance: new.instance.clone(),
            driver_id: new.driver_id.clone(),
            action_id: new.action_id.clone(),
            trace_id: new.trace_id.clone(),
            owner: new.owner.clone(),
            acquired_at: crate::time::now_rfc3339(),
            expires_at: now.saturating_add(ttl_ms),
        };
        let (product, context, instance) = (&lease.product, &lease.context, &lease.instance);
        let begin = self.write_transaction();
        let acquired: Acquired = on_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            lock_lane!(self, tx, product, context, instance);
            let operation: Option<String> = sqlx::query_scalar(
                "SELECT operation_id FROM lp_operations WHERE product = $1 AND context = $2 AND instance = $3 \
                 AND status IN ('pending', 'running')",
            )
            .bind(product)
            .bind(context)
            .bind(instance)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(operation_id) = operation {
                Acquired::Operation(operation_id)
            } else {
                sqlx::query(
                    "DELETE FROM lp_lane_leases WHERE product = $1 AND context = $2 AND instance = $3 \
                     AND expires_at <= $4",
                )
                .bind(product)
                .bind(context)
                .bind(instance)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let inserted = sqlx::query(
                    "INSERT INTO lp_lane_leases (lease_id, product, context, instance, driver_id, action_id, \
                     trace_id, owner, acquired_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&lease.lease_id)
                .bind(product)
                .bind(context)
                .bind(instance)
                .bind(&lease.driver_id)
                .bind(&lease.action_id)
                .bind(&lease.trace_id)
                .bind(&lease.owner)
                .bind(&lease.acquired_at)
                .bind(lease.expires_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    tx.commit().await?;
                    Acquired::Leased
                } else {
                    let row = sqlx::query(LIVE_LEASE)
                        .bind(product)
                        .bind(context)
                        .bind(instance)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    Acquired::Leaseholder(lease_from_row!(row))
                }
            }
        });
        match acquired {
            Acquired::Leased => Ok(lease),
            Acquired::Operation(operation_id) => Err(StoreError::LaneBusy {
                product: product.clone(),
                context: context.clone(),
                instance: instance.clone(),
                operation_id,
            }),
            Acquired::Leaseholder(holder) => Err(StoreError::LaneLeased {
                holder: Box::new(holder),
            }),
        }
    }

    /// Ends a lease. `false` when it was no longer held (it expired and
    /// another mutation took the lane over).
    pub async fn release_lane(&self, lease: &LaneLease) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, pool => {
            sqlx::query("DELETE FROM lp_lane_leases WHERE lease_id = $1")
                .bind(&lease.lease_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted == 1)
    }

    /// Extends a held lease to `ttl_ms` from now (its holder's heartbeat);
    /// `false` when it is no longer held (released, or expired and taken).
    pub async fn renew_lane(&self, lease: &LaneLease, ttl_ms: i64) -> Result<bool, StoreError> {
        let now = unix_millis();
        let updated = on_pool!(self, pool => {
            sqlx::query("UPDATE lp_lane_leases SET expires_at = $1 WHERE lease_id = $2 AND expires_at > $3")
                .bind(now.saturating_add(ttl_ms))
                .bind(&lease.lease_id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Frees whatever lease holds one lane (an operator's repair after a
    /// host died): the freed lease, or `None` when the lane was free.
    pub async fn force_release_lane(
        &self,
        product: &str,
        context: &str,
        instance: &str,
    ) -> Result<Option<LaneLease>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "DELETE FROM lp_lane_leases WHERE product = $1 AND context = $2 AND instance = $3 \
                 RETURNING lease_id, product, context, instance, driver_id, action_id, trace_id, owner, acquired_at, expires_at",
            )
            .bind(product)
            .bind(context)
            .bind(instance)
            .fetch_optional(pool)
            .await?;
            match row {
                Some(row) => Ok(Some(lease_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    /// The live leases in one context, oldest first: the in-request
    /// mutations running there now (or whose host died less than a lease
    /// ago).
    pub async fn live_lane_leases(&self, context: &str) -> Result<Vec<LaneLease>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(LIVE_LEASES_IN_CONTEXT)
                .bind(context)
                .bind(unix_millis())
                .fetch_all(pool)
                .await?;
            rows.into_iter()
                .map(|row| -> Result<LaneLease, StoreError> { Ok(lease_from_row!(row)) })
                .collect()
        })
    }

    /// The live (unexpired) lease on a lane, if any.
    pub async fn lane_lease(
        &self,
        product: &str,
        context: &str,
        instance: &str,
    ) -> Result<Option<LaneLease>, StoreError> {
        on_pool!(self, pool => {
            match sqlx::query(LIVE_LEASE)
                .bind(product)
                .bind(context)
                .bind(instance)
                .bind(unix_millis())
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(lease_from_row!(row))),
                None => Ok(None),
            }
        })
    }
}
