//! Records as JSON documents with indexed key columns.
//!
//! Every write also appends the written version to `lp_record_history`, so
//! current-state records (inventory, release tuples, previews, profiles) are
//! replaced in place while their history stays append-only. A batch of
//! writes commits in one transaction or not at all.

use serde_json::Value;
use sqlx::Row;

use super::hygiene::{InputError, check_columns, check_document, is_forbidden_char};
use super::tx::{Tx, on_tx};
use super::{Store, StoreError, on_pool};

/// One stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub kind: String,
    pub record_id: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub recorded_at: String,
    pub updated_at: String,
    pub document: Value,
}

/// A write in a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordWrite {
    /// Append-only evidence: a new id is inserted; the same id with the same
    /// document is a no-op; the same id with a different document is a
    /// conflict unless `transition` allows a declared status transition.
    Append {
        record: StoredRecord,
        allow_transition: bool,
    },
    /// Evidence that may move on: like `Append`, but a different stored
    /// version is replaced when it is `pending` (the declared transition)
    /// or, with `rewrite` (a driver's own evidence), when it is about the
    /// same lane and artifact ([`super::tx::evidence_may_replace`]). The
    /// stored version is read only when there is one.
    Evidence { record: StoredRecord, rewrite: bool },
    /// Current state: replaced in place (history kept).
    Replace { record: StoredRecord },
    /// Current state replaced only if it is still what the writer read:
    /// `expected` is the document read (or `None` for "did not exist").
    /// Anything else is a [`StoreError::Conflict`], so two read-change-write
    /// cycles never silently lose one writer's change.
    ReplaceIf {
        record: StoredRecord,
        expected: Option<Value>,
    },
    /// Current state removed, only if it is still `expected` (the document
    /// the writer read); otherwise, or when it is already gone, a
    /// [`StoreError::Conflict`]. The history rows stay; callers that need
    /// an audit trail write their own event in the same batch.
    DeleteIf {
        kind: String,
        record_id: String,
        expected: Value,
    },
}

/// Filter for [`Store::list_records`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    pub product: Option<String>,
    pub context: Option<String>,
    pub instance: Option<String>,
    /// At most this many, newest first (0 means 100).
    pub limit: u32,
}

/// Decodes a `SELECT kind, record_id, product, context, instance,
/// recorded_at, updated_at, document` row of either backend.
macro_rules! record_from_row {
    ($row:expr) => {{
        let row = $row;
        let kind: String = row.try_get(0)?;
        let record_id: String = row.try_get(1)?;
        let document: String = row.try_get(7)?;
        let document = serde_json::from_str(&document).map_err(|e| StoreError::Corrupt {
            what: format!("record {kind}/{record_id}"),
            reason: e.to_string(),
        })?;
        Ok::<StoredRecord, StoreError>(StoredRecord {
            kind,
            record_id,
            product: row.try_get(2)?,
            context: row.try_get(3)?,
            instance: row.try_get(4)?,
            recorded_at: row.try_get(5)?,
            updated_at: row.try_get(6)?,
            document,
        })
    }};
}

impl Store {
    /// One record by kind and id.
    pub async fn get_record(
        &self,
        kind: &str,
        record_id: &str,
    ) -> Result<Option<StoredRecord>, StoreError> {
        get_record_in(Reader::Pool(self), kind, record_id).await
    }

    /// Records of a kind, newest first.
    pub async fn list_records(
        &self,
        kind: &str,
        query: &RecordQuery,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        list_records_in(Reader::Pool(self), kind, query).await
    }

    /// Every stored version of one record, oldest first.
    pub async fn record_history(
        &self,
        kind: &str,
        record_id: &str,
    ) -> Result<Vec<Value>, StoreError> {
        let rows: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT document FROM lp_record_history WHERE kind = $1 AND record_id = $2 ORDER BY seq")
                .bind(kind)
                .bind(record_id)
                .fetch_all(pool)
                .await?
        });
        rows.iter()
            .map(|d| {
                serde_json::from_str(d).map_err(|e| StoreError::Corrupt {
                    what: format!("history of {kind}/{record_id}"),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Commits a batch of writes atomically; returns the ids written.
    pub async fn write_records(
        &self,
        writes: &[RecordWrite],
        trace_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let written = tx.write_records(writes, trace_id).await?;
        tx.commit().await?;
        Ok(written)
    }
}

const GET_RECORD: &str = "SELECT kind, record_id, product, context, instance, recorded_at, updated_at, document \
     FROM lp_records WHERE kind = $1 AND record_id = $2";

const LIST_RECORDS: &str = "SELECT kind, record_id, product, context, instance, recorded_at, updated_at, document \
     FROM lp_records WHERE kind = $1 \
     AND ($2 IS NULL OR product = $2) AND ($3 IS NULL OR context = $3) AND ($4 IS NULL OR instance = $4) \
     ORDER BY seq DESC LIMIT $5";

/// The row limit of a listing, or `None` when no stored row can match.
fn list_limit(kind: &str, query: &RecordQuery) -> Option<i64> {
    let filters = [&query.product, &query.context, &query.instance];
    if unstorable(&[kind])
        || filters
            .iter()
            .any(|f| f.as_deref().is_some_and(|v| unstorable(&[v])))
    {
        return None;
    }
    Some(if query.limit == 0 {
        100
    } else {
        query.limit.min(1000)
    } as i64)
}

/// Where a read runs: on the pool, or inside an open write transaction
/// (which sees its own uncommitted writes).
pub(super) enum Reader<'a> {
    Pool(&'a Store),
    Tx(&'a mut Tx),
}

/// Runs the same body on whichever executor the reader holds: a pool or a
/// transaction's connection, of either backend. The body is written once
/// and type-checked for all four.
macro_rules! on_reader {
    ($reader:expr, $exec:ident => $body:expr) => {
        match $reader {
            Reader::Pool(store) => on_pool!(store, $exec => $body),
            Reader::Tx(tx) => on_tx!(tx, $exec => $body),
        }
    };
}

/// [`Store::get_record`] and [`Tx::get_record`].
pub(super) async fn get_record_in(
    reader: Reader<'_>,
    kind: &str,
    record_id: &str,
) -> Result<Option<StoredRecord>, StoreError> {
    if unstorable(&[kind, record_id]) {
        // No such record can have been stored (PostgreSQL would refuse
        // the NUL with an error, SQLite would look it up).
        return Ok(None);
    }
    let row = on_reader!(reader, exec => {
        sqlx::query(GET_RECORD)
            .bind(kind)
            .bind(record_id)
            .fetch_optional(exec)
            .await?
            .map(|row| record_from_row!(row))
    });
    row.transpose()
}

/// [`Store::list_records`] and [`Tx::list_records`].
pub(super) async fn list_records_in(
    reader: Reader<'_>,
    kind: &str,
    query: &RecordQuery,
) -> Result<Vec<StoredRecord>, StoreError> {
    let Some(limit) = list_limit(kind, query) else {
        return Ok(Vec::new());
    };
    on_reader!(reader, exec => {
        sqlx::query(LIST_RECORDS)
            .bind(kind)
            .bind(query.product.as_deref())
            .bind(query.context.as_deref())
            .bind(query.instance.as_deref())
            .bind(limit)
            .fetch_all(exec)
            .await?
            .into_iter()
            .map(|row| record_from_row!(row))
            .collect::<Result<Vec<_>, _>>()
    })
}

/// Whether any of `values` holds a character no stored row can hold.
fn unstorable(values: &[&str]) -> bool {
    values.iter().any(|v| v.chars().any(is_forbidden_char))
}

/// A write's key columns and document as storable text (the
/// [`super::hygiene`] rule); the error names `<kind>.<field path>`.
pub(crate) fn check_write(write: &RecordWrite) -> Result<(), InputError> {
    let record = match write {
        RecordWrite::Append { record, .. }
        | RecordWrite::Evidence { record, .. }
        | RecordWrite::Replace { record }
        | RecordWrite::ReplaceIf { record, .. } => record,
        RecordWrite::DeleteIf {
            kind, record_id, ..
        } => return check_columns(&[("kind", kind), ("record_id", record_id)]),
    };
    let kind = &record.kind;
    check_columns(&[("kind", kind)])?;
    for (column, value) in [
        ("record_id", &record.record_id),
        ("product", &record.product),
        ("context", &record.context),
        ("instance", &record.instance),
        ("recorded_at", &record.recorded_at),
        ("updated_at", &record.updated_at),
    ] {
        check_columns(&[(&format!("{kind}.{column}"), value)])?;
    }
    check_document(kind, &record.document)
}

impl RecordWrite {
    /// The id of the record this write touches.
    pub fn record_id(&self) -> &str {
        match self {
            RecordWrite::DeleteIf { record_id, .. } => record_id,
            RecordWrite::Append { record, .. }
            | RecordWrite::Evidence { record, .. }
            | RecordWrite::Replace { record }
            | RecordWrite::ReplaceIf { record, .. } => &record.record_id,
        }
    }
}

impl StoredRecord {
    /// A record stamped now, keyed by the usual fields of its document.
    pub fn new(kind: &str, record_id: &str, product: &str, document: Value) -> StoredRecord {
        let text = |field: &str| {
            document
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let now = crate::time::now_rfc3339();
        StoredRecord {
            kind: kind.to_string(),
            record_id: record_id.to_string(),
            product: product.to_string(),
            context: text("context"),
            instance: text("instance"),
            recorded_at: now.clone(),
            updated_at: now,
            document,
        }
    }

    /// Overrides the instance key column (promotions key by `to_instance`).
    pub fn with_instance(mut self, instance: &str) -> StoredRecord {
        self.instance = instance.to_string();
        self
    }
}
