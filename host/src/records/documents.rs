//! Records as JSON documents with indexed key columns.
//!
//! Every write also appends the written version to `lp_record_history`, so
//! current-state records (inventory, release tuples, previews, profiles) are
//! replaced in place while their history stays append-only. A batch of
//! writes commits in one transaction or not at all.

use serde_json::Value;
use sqlx::Row;

use super::hygiene::{InputError, check_columns, check_document, is_forbidden_char};
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
        if unstorable(&[kind, record_id]) {
            // No such record can have been stored (PostgreSQL would refuse
            // the NUL with an error, SQLite would look it up).
            return Ok(None);
        }
        let row = on_pool!(self, pool => {
            sqlx::query(
                "SELECT kind, record_id, product, context, instance, recorded_at, updated_at, document \
                 FROM lp_records WHERE kind = $1 AND record_id = $2",
            )
            .bind(kind)
            .bind(record_id)
            .fetch_optional(pool)
            .await?
            .map(|row| {
                record_from_row!(row)
            })
        });
        row.transpose()
    }

    /// Records of a kind, newest first.
    pub async fn list_records(
        &self,
        kind: &str,
        query: &RecordQuery,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let limit = if query.limit == 0 {
            100
        } else {
            query.limit.min(1000)
        } as i64;
        let filters = [&query.product, &query.context, &query.instance];
        if unstorable(&[kind])
            || filters
                .iter()
                .any(|f| f.as_deref().is_some_and(|v| unstorable(&[v])))
        {
            return Ok(Vec::new());
        }
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT kind, record_id, product, context, instance, recorded_at, updated_at, document \
                 FROM lp_records WHERE kind = $1 \
                 AND ($2 IS NULL OR product = $2) AND ($3 IS NULL OR context = $3) AND ($4 IS NULL OR instance = $4) \
                 ORDER BY seq DESC LIMIT $5",
            )
            .bind(kind)
            .bind(query.product.as_deref())
            .bind(query.context.as_deref())
            .bind(query.instance.as_deref())
            .bind(limit)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| {
                record_from_row!(row)
            })
            .collect::<Result<Vec<_>, _>>()
        })
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
        for write in writes {
            check_write(write)?;
        }
        let begin = self.write_transaction();
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let mut written = Vec::with_capacity(writes.len());
            for write in writes {
                let (record, replace, allow_transition, expected) = match write {
                    RecordWrite::Append { record, allow_transition } => (record, false, *allow_transition, None),
                    RecordWrite::Replace { record } => (record, true, false, None),
                    RecordWrite::ReplaceIf { record, expected } => {
                        (record, true, false, Some(expected.as_ref().map(Value::to_string)))
                    }
                    RecordWrite::DeleteIf { kind, record_id, expected } => {
                        let deleted = sqlx::query(
                            "DELETE FROM lp_records WHERE kind = $1 AND record_id = $2 AND document = $3",
                        )
                        .bind(kind)
                        .bind(record_id)
                        .bind(expected.to_string())
                        .execute(&mut *tx)
                        .await?;
                        if deleted.rows_affected() != 1 {
                            return Err(StoreError::Conflict { kind: kind.clone(), record_id: record_id.clone() });
                        }
                        written.push(record_id.clone());
                        continue;
                    }
                };
                let conflict = || StoreError::Conflict { kind: record.kind.clone(), record_id: record.record_id.clone() };
                let text = record.document.to_string();
                let existing: Option<String> =
                    sqlx::query_scalar("SELECT document FROM lp_records WHERE kind = $1 AND record_id = $2")
                        .bind(&record.kind)
                        .bind(&record.record_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                match existing {
                    Some(current) if current == text => {
                        written.push(record.record_id.clone());
                        continue;
                    }
                    Some(_) if !replace && !allow_transition => return Err(conflict()),
                    Some(_) if matches!(expected, Some(None)) => return Err(conflict()),
                    Some(current) => {
                        // The compare is repeated in the UPDATE itself: under
                        // PostgreSQL's read committed a concurrent writer may
                        // have replaced the row since the SELECT above.
                        let guard = match &expected {
                            Some(Some(expected)) if *expected != current => return Err(conflict()),
                            Some(Some(expected)) => Some(expected.as_str()),
                            _ => None,
                        };
                        let updated = sqlx::query(
                            "UPDATE lp_records SET product = $1, context = $2, instance = $3, updated_at = $4, document = $5 \
                             WHERE kind = $6 AND record_id = $7 AND ($8 IS NULL OR document = $8)",
                        )
                        .bind(&record.product)
                        .bind(&record.context)
                        .bind(&record.instance)
                        .bind(&record.updated_at)
                        .bind(&text)
                        .bind(&record.kind)
                        .bind(&record.record_id)
                        .bind(guard)
                        .execute(&mut *tx)
                        .await?;
                        if updated.rows_affected() != 1 {
                            return Err(conflict());
                        }
                    }
                    None if matches!(expected, Some(Some(_))) => return Err(conflict()),
                    None => {
                        sqlx::query(
                            "INSERT INTO lp_records (kind, record_id, product, context, instance, recorded_at, updated_at, document) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(&record.kind)
                        .bind(&record.record_id)
                        .bind(&record.product)
                        .bind(&record.context)
                        .bind(&record.instance)
                        .bind(&record.recorded_at)
                        .bind(&record.updated_at)
                        .bind(&text)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| match e {
                            // Another writer inserted the same id between our
                            // read and this insert: a conflict, not a failure.
                            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                                kind: record.kind.clone(),
                                record_id: record.record_id.clone(),
                            },
                            other => other.into(),
                        })?;
                    }
                }
                sqlx::query("INSERT INTO lp_record_history (kind, record_id, recorded_at, trace_id, document) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&record.kind)
                    .bind(&record.record_id)
                    .bind(&record.updated_at)
                    .bind(trace_id)
                    .bind(&text)
                    .execute(&mut *tx)
                    .await?;
                written.push(record.record_id.clone());
            }
            tx.commit().await?;
            Ok(written)
        })
    }
}

/// Whether any of `values` holds a character no stored row can hold.
fn unstorable(values: &[&str]) -> bool {
    values.iter().any(|v| v.chars().any(is_forbidden_char))
}

/// A write's key columns and document as storable text (the
/// [`super::hygiene`] rule); the error names `<kind>.<field path>`.
fn check_write(write: &RecordWrite) -> Result<(), InputError> {
    let record = match write {
        RecordWrite::Append { record, .. }
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
