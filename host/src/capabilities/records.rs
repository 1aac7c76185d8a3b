//! `records` for drivers, over the store: reads see only the invocation's
//! product; writes land as append-only evidence (with declared status
//! transitions) or replace-in-place state, by kind.

use async_trait::async_trait;
use serde_json::Value;

use crate::records::{RecordQuery as StoreQuery, RecordWrite, Store, StoreError, StoredRecord};
use crate::runtime::records::RecordQuery;
use crate::runtime::{HostError, InvocationScope, RecordAccess};

/// Kinds that are current state (replaced in place, history kept); every
/// other kind is append-only evidence.
const STATE_KINDS: &[&str] = &[
    "inventory",
    "release_tuple",
    "preview",
    "odoo_instance_override",
    "generic_web_rollback_plan",
];

/// The records capability over a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreRecords {
    store: Store,
    trace_id: String,
}

impl StoreRecords {
    pub fn new(store: Store, trace_id: &str) -> Self {
        StoreRecords {
            store,
            trace_id: trace_id.to_string(),
        }
    }
}

fn store_error(error: StoreError) -> HostError {
    match error {
        StoreError::Conflict { kind, record_id } => HostError::Invalid(format!(
            "record {kind}/{record_id} already exists with different content"
        )),
        other => {
            tracing::error!(error = %other, "records capability failed");
            HostError::Unavailable("the record store failed; see service logs".to_string())
        }
    }
}

#[async_trait]
impl RecordAccess for StoreRecords {
    async fn get(
        &self,
        scope: &InvocationScope,
        kind: &str,
        record_id: &str,
    ) -> Result<Option<String>, HostError> {
        let record = self
            .store
            .get_record(kind, record_id)
            .await
            .map_err(store_error)?;
        Ok(record
            .filter(|r| r.product == scope.product)
            .map(|r| r.document.to_string()))
    }

    async fn list(
        &self,
        scope: &InvocationScope,
        kind: &str,
        query: &RecordQuery,
    ) -> Result<Vec<String>, HostError> {
        let query = StoreQuery {
            product: Some(scope.product.clone()),
            context: query.context.clone(),
            instance: query.instance.clone(),
            limit: query.limit,
        };
        let records = self
            .store
            .list_records(kind, &query)
            .await
            .map_err(store_error)?;
        Ok(records
            .into_iter()
            .map(|r| r.document.to_string())
            .collect())
    }

    async fn put(
        &self,
        scope: &InvocationScope,
        kind: &str,
        document: &str,
    ) -> Result<String, HostError> {
        let document: Value = serde_json::from_str(document)
            .map_err(|e| HostError::Invalid(format!("{kind} record is not JSON: {e}")))?;
        if !document.is_object() {
            return Err(HostError::Invalid(format!(
                "{kind} record must be a JSON object"
            )));
        }
        let record_id = document
            .get("record_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind}-{}", uuid::Uuid::new_v4().simple()));
        let mut record = StoredRecord::new(kind, &record_id, &scope.product, document);
        if record.context.is_empty() {
            record.context = scope.context.clone();
        }
        let write = if STATE_KINDS.contains(&kind) {
            RecordWrite::Replace { record }
        } else {
            RecordWrite::Append {
                record,
                allow_transition: true,
            }
        };
        self.store
            .write_records(&[write], &self.trace_id)
            .await
            .map_err(store_error)?;
        Ok(record_id)
    }
}
