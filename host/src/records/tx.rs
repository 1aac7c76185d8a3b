//! One write transaction on one connection.
//!
//! A host route's mutation runs in one [`Tx`]: its record writes, the
//! state derived from them, the stored answer of its idempotency key and
//! its audit event commit together or not at all (one commit, one pool
//! checkout). Record writes are upserts, so the common write is one
//! statement; a record is read only when an insert found it already there
//! (see [`Tx::write_records`]).

use serde_json::Value;

use super::documents::{Reader, RecordQuery, RecordWrite, StoredRecord, check_write};
use super::{Store, StoreError};

/// Where [`Store::begin_write`] logs each `BEGIN`.
pub const TX_TARGET: &str = "launchplane::records::tx";

/// An open write transaction: SQLite's is `BEGIN IMMEDIATE`, so writers
/// queue instead of failing on a lock upgrade. Dropped without
/// [`Tx::commit`], it rolls back.
pub enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Runs the same body on whichever connection the transaction holds.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::records::Tx::Postgres(inner) => {
                let $conn = &mut **inner;
                $body
            }
            $crate::records::Tx::Sqlite(inner) => {
                let $conn = &mut **inner;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// Binds `$1`–`$8`: the record's key columns, stamps and document text.
macro_rules! bind_record {
    ($query:expr, $record:expr, $text:expr) => {
        $query
            .bind(&$record.kind)
            .bind(&$record.record_id)
            .bind(&$record.product)
            .bind(&$record.context)
            .bind(&$record.instance)
            .bind(&$record.recorded_at)
            .bind(&$record.updated_at)
            .bind($text)
    };
}

/// How one record write ended on the fast path.
enum Put {
    /// Inserted or replaced (a history row was written).
    Written,
    /// Nothing changed: the stored document is the same, or the insert
    /// found another version that the slow path must judge.
    Untouched,
}

impl Store {
    /// Opens a write transaction. sqlx sends its `BEGIN` together with
    /// the first statement (no round trip of its own) and logs no
    /// statement event for it, so the host logs one, at debug level under
    /// [`TX_TARGET`], for statement counts (`tests/src/statements.rs`).
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        let begin = self.write_transaction();
        tracing::debug!(target: TX_TARGET, statement = begin, "transaction opened");
        Ok(match self {
            Store::Postgres(pool) => Tx::Postgres(pool.begin_with(begin).await?),
            Store::Sqlite(pool) => Tx::Sqlite(pool.begin_with(begin).await?),
        })
    }
}

impl Tx {
    /// Commits everything written in this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Postgres(tx) => tx.commit().await?,
            Tx::Sqlite(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls back (dropping a `Tx` does the same, later).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Postgres(tx) => tx.rollback().await?,
            Tx::Sqlite(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// One record by kind and id, as this transaction sees it.
    pub async fn get_record(
        &mut self,
        kind: &str,
        record_id: &str,
    ) -> Result<Option<StoredRecord>, StoreError> {
        super::documents::get_record_in(Reader::Tx(self), kind, record_id).await
    }

    /// Records of a kind, newest first, as this transaction sees them.
    pub async fn list_records(
        &mut self,
        kind: &str,
        query: &RecordQuery,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        super::documents::list_records_in(Reader::Tx(self), kind, query).await
    }

    /// Applies a batch of writes (the rules of [`RecordWrite`]); returns
    /// the ids written. Each write is one upsert that also appends the
    /// history row (PostgreSQL: one statement; SQLite: two); only when an
    /// insert meets a different stored version is that version read
    /// (locked on PostgreSQL) and the write judged against it.
    pub async fn write_records(
        &mut self,
        writes: &[RecordWrite],
        trace_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        for write in writes {
            check_write(write)?;
        }
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            self.write_one(write, trace_id).await?;
            written.push(write.record_id().to_string());
        }
        Ok(written)
    }

    async fn write_one(&mut self, write: &RecordWrite, trace_id: &str) -> Result<(), StoreError> {
        match self.write_fast(write, trace_id).await? {
            None => Ok(()),
            Some((record, text)) => self.write_slow(write, record, &text, trace_id).await,
        }
    }

    /// The one statement a write usually is: done (`None`), or the record
    /// and its text when another version is stored (or the guarded update
    /// missed) and must be judged.
    async fn write_fast<'w>(
        &mut self,
        write: &'w RecordWrite,
        trace_id: &str,
    ) -> Result<Option<(&'w StoredRecord, String)>, StoreError> {
        match write {
            RecordWrite::DeleteIf {
                kind,
                record_id,
                expected,
            } => {
                let deleted = on_tx!(self, conn => {
                    sqlx::query("DELETE FROM lp_records WHERE kind = $1 AND record_id = $2 AND document = $3")
                        .bind(kind)
                        .bind(record_id)
                        .bind(expected.to_string())
                        .execute(&mut *conn)
                        .await?
                        .rows_affected()
                });
                if deleted == 1 {
                    Ok(None)
                } else {
                    Err(conflict(kind, record_id))
                }
            }
            RecordWrite::Replace { record } => {
                let text = record.document.to_string();
                // Inserted, replaced or already the same: done.
                self.put(Sql::Upsert, record, &text, None, trace_id).await?;
                Ok(None)
            }
            RecordWrite::ReplaceIf {
                record,
                expected: Some(expected),
            } => {
                let text = record.document.to_string();
                let guard = expected.to_string();
                match self
                    .put(Sql::UpdateIf, record, &text, Some(&guard), trace_id)
                    .await?
                {
                    Put::Written => Ok(None),
                    Put::Untouched => Ok(Some((record, text))),
                }
            }
            RecordWrite::Append { record, .. }
            | RecordWrite::Evidence { record, .. }
            | RecordWrite::ReplaceIf {
                record,
                expected: None,
            } => {
                let text = record.document.to_string();
                match self.put(Sql::Insert, record, &text, None, trace_id).await? {
                    Put::Written => Ok(None),
                    Put::Untouched => Ok(Some((record, text))),
                }
            }
        }
    }

    /// Slow path: another version is stored (or the guarded update
    /// missed). Read it once, locked, and judge.
    async fn write_slow(
        &mut self,
        write: &RecordWrite,
        record: &StoredRecord,
        text: &str,
        trace_id: &str,
    ) -> Result<(), StoreError> {
        let current = self
            .current_document(&record.kind, &record.record_id)
            .await?;
        let Some(current) = current else {
            return Err(conflict(&record.kind, &record.record_id));
        };
        if current == text {
            return Ok(());
        }
        let allowed = match write {
            RecordWrite::Append {
                allow_transition, ..
            } => *allow_transition,
            RecordWrite::Evidence { rewrite, .. } => {
                let stored: Value =
                    serde_json::from_str(&current).map_err(|e| StoreError::Corrupt {
                        what: format!("record {}/{}", record.kind, record.record_id),
                        reason: e.to_string(),
                    })?;
                evidence_may_replace(&stored, &record.document, *rewrite)
            }
            _ => false,
        };
        if !allowed {
            return Err(conflict(&record.kind, &record.record_id));
        }
        match self
            .put(Sql::UpdateIf, record, text, Some(&current), trace_id)
            .await?
        {
            Put::Written => Ok(()),
            Put::Untouched => Err(conflict(&record.kind, &record.record_id)),
        }
    }

    /// The stored document of one record, locked for this transaction.
    async fn current_document(
        &mut self,
        kind: &str,
        record_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(match self {
            Tx::Postgres(tx) => {
                sqlx::query_scalar(
                    "SELECT document FROM lp_records WHERE kind = $1 AND record_id = $2 FOR UPDATE",
                )
                .bind(kind)
                .bind(record_id)
                .fetch_optional(&mut **tx)
                .await?
            }
            Tx::Sqlite(tx) => {
                sqlx::query_scalar(
                    "SELECT document FROM lp_records WHERE kind = $1 AND record_id = $2",
                )
                .bind(kind)
                .bind(record_id)
                .fetch_optional(&mut **tx)
                .await?
            }
        })
    }

    /// One record statement and its history row.
    async fn put(
        &mut self,
        sql: Sql,
        record: &StoredRecord,
        text: &str,
        guard: Option<&str>,
        trace_id: &str,
    ) -> Result<Put, StoreError> {
        let changed = match self {
            Tx::Postgres(tx) => {
                let query = sqlx::query(sql.postgres());
                let query = bind_record!(query, record, text).bind(trace_id);
                let query = match guard {
                    Some(guard) => query.bind(guard),
                    None => query,
                };
                query.execute(&mut **tx).await?.rows_affected()
            }
            Tx::Sqlite(tx) => {
                let query = sqlx::query(sql.sqlite());
                let query = bind_record!(query, record, text);
                let query = match guard {
                    Some(guard) => query.bind(guard),
                    None => query,
                };
                let changed = query.execute(&mut **tx).await?.rows_affected();
                if changed == 1 {
                    sqlx::query(
                        "INSERT INTO lp_record_history (kind, record_id, recorded_at, trace_id, document) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&record.kind)
                    .bind(&record.record_id)
                    .bind(&record.updated_at)
                    .bind(trace_id)
                    .bind(text)
                    .execute(&mut **tx)
                    .await?;
                }
                changed
            }
        };
        Ok(if changed == 1 {
            Put::Written
        } else {
            Put::Untouched
        })
    }
}

/// The conflict of a write with the stored version of `kind/record_id`.
fn conflict(kind: &str, record_id: &str) -> StoreError {
    StoreError::Conflict {
        kind: kind.to_string(),
        record_id: record_id.to_string(),
    }
}

/// The three record statements. On PostgreSQL each also appends its
/// history row (`$9` is the trace id) in the same statement.
#[derive(Clone, Copy)]
enum Sql {
    /// Insert a new id; an existing one is left alone.
    Insert,
    /// Insert, or replace a different stored version.
    Upsert,
    /// Replace only the version `$9` (SQLite) / `$10` (PostgreSQL).
    UpdateIf,
}

impl Sql {
    fn postgres(self) -> &'static str {
        match self {
            Sql::Insert => {
                "WITH w AS (INSERT INTO lp_records (kind, record_id, product, context, instance, recorded_at, updated_at, document) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, record_id) DO NOTHING \
                 RETURNING kind, record_id, updated_at, document) \
                 INSERT INTO lp_record_history (kind, record_id, recorded_at, trace_id, document) \
                 SELECT kind, record_id, updated_at, $9, document FROM w"
            }
            Sql::Upsert => {
                "WITH w AS (INSERT INTO lp_records (kind, record_id, product, context, instance, recorded_at, updated_at, document) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, record_id) DO UPDATE SET \
                 product = EXCLUDED.product, context = EXCLUDED.context, instance = EXCLUDED.instance, \
                 updated_at = EXCLUDED.updated_at, document = EXCLUDED.document \
                 WHERE lp_records.document <> EXCLUDED.document \
                 RETURNING kind, record_id, updated_at, document) \
                 INSERT INTO lp_record_history (kind, record_id, recorded_at, trace_id, document) \
                 SELECT kind, record_id, updated_at, $9, document FROM w"
            }
            Sql::UpdateIf => {
                "WITH w AS (UPDATE lp_records SET product = $3, context = $4, instance = $5, updated_at = $7, document = $8 \
                 WHERE kind = $1 AND record_id = $2 AND document = $10 \
                 RETURNING kind, record_id, updated_at, document) \
                 INSERT INTO lp_record_history (kind, record_id, recorded_at, trace_id, document) \
                 SELECT kind, record_id, updated_at, $9, document FROM w"
            }
        }
    }

    fn sqlite(self) -> &'static str {
        match self {
            Sql::Insert => {
                "INSERT INTO lp_records (kind, record_id, product, context, instance, recorded_at, updated_at, document) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, record_id) DO NOTHING"
            }
            Sql::Upsert => {
                "INSERT INTO lp_records (kind, record_id, product, context, instance, recorded_at, updated_at, document) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, record_id) DO UPDATE SET \
                 product = excluded.product, context = excluded.context, instance = excluded.instance, \
                 updated_at = excluded.updated_at, document = excluded.document \
                 WHERE lp_records.document <> excluded.document"
            }
            Sql::UpdateIf => {
                "UPDATE lp_records SET product = $3, context = $4, instance = $5, updated_at = $7, document = $8 \
                 WHERE kind = $1 AND record_id = $2 AND document = $9"
            }
        }
    }
}

/// Whether evidence `next` may replace the stored version `stored`: only
/// the declared transition out of `pending`, or (for a driver rewriting
/// its own evidence) a new version about the same lane and artifact.
pub fn evidence_may_replace(stored: &Value, next: &Value, rewrite: bool) -> bool {
    let pending = stored
        .pointer("/deploy/status")
        .or_else(|| stored.pointer("/status"))
        .and_then(Value::as_str)
        == Some("pending");
    let same_subject = || {
        [
            "/context",
            "/instance",
            "/from_instance",
            "/to_instance",
            "/artifact_identity/artifact_id",
        ]
        .iter()
        .all(|pointer| stored.pointer(pointer) == next.pointer(pointer))
    };
    pending || (rewrite && same_subject())
}
