//! The durable record store: PostgreSQL in production, embedded SQLite for
//! the quickstart and single-node use. Both backends run the same queries
//! and pass the same conformance suite (`tests/all/store.rs`).
//!
//! Several hosts may share one PostgreSQL database: idempotency keys, lane
//! reservations and leases, and operation claims are enforced by the
//! database (unique constraints, conditional updates, per-lane advisory
//! locks, `FOR UPDATE SKIP LOCKED`), never by process memory.

mod audit;
pub(crate) mod documents;
mod human_sessions;
pub mod hygiene;
mod idempotency;
pub mod ingest;
pub mod kinds;
mod lane;
mod lane_leases;
mod maintenance;
mod migrations;
pub mod models;
mod operations;
mod operators;
mod policies;
mod runtime_environments;
mod tx;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

pub use audit::AuditEvent;
pub use documents::{RecordQuery, RecordWrite, StoredRecord};
pub use human_sessions::HumanSessionRow;
pub use idempotency::{
    IdempotencyKey, InterruptedAttempt, Release, Reservation, StoredResponse, canonical_json,
    fingerprint,
};
pub use lane::Lane;
pub use lane_leases::{LaneLease, NewLaneLease};
pub use maintenance::TableSizes;
pub use migrations::LATEST as LATEST_SCHEMA;
pub use operations::{NewOperation, Operation, OperationStatus};
pub use operators::OperatorToken;
pub use policies::PolicyRecord;
pub use runtime_environments::{
    StoredEnvironment, row as runtime_environment_row,
    write_after_read as runtime_environment_write,
};
pub use tx::{TX_TARGET, Tx, evidence_may_replace};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with postgres:// or sqlite:// (got `{0}`)")]
    UnsupportedUrl(String),
    #[error("cannot open the {backend} database: {reason}")]
    Connect {
        backend: &'static str,
        reason: String,
    },
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    #[error("record `{kind}/{record_id}` already exists with different content")]
    Conflict { kind: String, record_id: String },
    #[error("lane {product}/{context}/{instance} already has an active operation `{operation_id}`")]
    LaneBusy {
        product: String,
        context: String,
        instance: String,
        operation_id: String,
    },
    #[error(
        "lane {}/{}/{} is held by `{}` (trace {}) until {} ms",
        holder.product, holder.context, holder.instance, holder.action_id, holder.trace_id, holder.expires_at
    )]
    LaneLeased { holder: Box<LaneLease> },
    #[error(
        "the authorization policy changed concurrently (expected revision {expected}, found {found})"
    )]
    PolicyConflict { expected: i64, found: i64 },
    /// A value the store refuses to hold (see [`hygiene`]); the same on
    /// both backends, and never a database error.
    #[error("invalid input: {0}")]
    Invalid(#[from] hygiene::InputError),
    #[error("stored {what} is malformed: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A connection pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same body against whichever pool the store holds. The body is
/// written once and type-checked for both backends.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::records::Store::Postgres($pool) => $body,
            $crate::records::Store::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Opens the database named by `url` (`postgres://…` or `sqlite://…`;
    /// a SQLite file is created when missing). Does not migrate.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Connect {
                backend: "postgres",
                reason: e.to_string(),
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(|e| StoreError::Connect {
                    backend: "postgres",
                    reason: e.to_string(),
                })?;
            Ok(Store::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Connect {
                    backend: "sqlite",
                    reason: e.to_string(),
                })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .map_err(|e| StoreError::Connect {
                    backend: "sqlite",
                    reason: e.to_string(),
                })?;
            Ok(Store::Sqlite(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Opens and migrates to the latest schema.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// `postgres` or `sqlite`, as `GET /v1/health` reports it.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgres",
            Store::Sqlite(_) => "sqlite",
        }
    }

    /// How a read-then-write transaction starts: SQLite must take its write
    /// lock up front (`BEGIN IMMEDIATE`), or two writers that both read
    /// first deadlock on the upgrade and one fails with `database is locked`
    /// instead of waiting; PostgreSQL's row locks and unique constraints do
    /// the ordering.
    pub(crate) fn write_transaction(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "BEGIN",
            Store::Sqlite(_) => "BEGIN IMMEDIATE",
        }
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrate_to(migrations::LATEST).await
    }

    /// Applies migrations up to `version` (tests use it to build a database
    /// at a previous revision).
    pub async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        let result = match self {
            Store::Postgres(pool) => migrations::postgres().run_to(version, pool).await,
            Store::Sqlite(pool) => migrations::sqlite().run_to(version, pool).await,
        };
        result.map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Rolls the schema back to `version` (0 drops everything).
    pub async fn rollback_to(&self, version: i64) -> Result<(), StoreError> {
        let result = match self {
            Store::Postgres(pool) => migrations::postgres().undo(pool, version).await,
            Store::Sqlite(pool) => migrations::sqlite().undo(pool, version).await,
        };
        result.map_err(|e| StoreError::Migrate(e.to_string()))
    }
}

/// A database URL with any password removed, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
                }
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Milliseconds since the Unix epoch, for leases and expiries.
pub fn unix_millis() -> i64 {
    time::OffsetDateTime::now_utc()
        .unix_timestamp_nanos()
        .div_euclid(1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
