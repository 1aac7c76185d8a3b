//! Runtime environment records as typed values: one scope's record, the
//! records that apply to a lane, and the conditional writes that change
//! them. The product-config API, the `settings` capability and
//! `launchplane environments` all read them here.

use serde_json::Value;

use super::models::runtime_environment::{
    EnvironmentScope, KIND, RuntimeEnvironmentRecord, record_id,
};
use super::{RecordQuery, RecordWrite, Store, StoreError, StoredRecord};

/// A stored record and the document it was read from (what a conditional
/// write must still find).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEnvironment {
    pub record: RuntimeEnvironmentRecord,
    pub document: Value,
}

impl StoredEnvironment {
    /// Deletes this record, only if it is unchanged since read.
    pub fn delete(&self) -> RecordWrite {
        RecordWrite::DeleteIf {
            kind: KIND.to_string(),
            record_id: self.record.record_id(),
            expected: self.document.clone(),
        }
    }
}

/// Writes `record` only if its scope still holds what was read: `existing`,
/// or no record at all for `None`. A concurrent change makes the batch a
/// [`StoreError::Conflict`] instead of a lost update.
pub fn write_after_read(
    existing: Option<&StoredEnvironment>,
    record: &RuntimeEnvironmentRecord,
    product: &str,
) -> RecordWrite {
    RecordWrite::ReplaceIf {
        record: row(record, product),
        expected: existing.map(|e| e.document.clone()),
    }
}

/// The store row of `record`, under `product` (the product a write acted
/// for; `launchplane` for the operator's own writes).
pub fn row(record: &RuntimeEnvironmentRecord, product: &str) -> StoredRecord {
    let document = serde_json::to_value(record).unwrap_or(Value::Null);
    let mut row = StoredRecord::new(KIND, &record.record_id(), product, document);
    row.context = record.context.clone();
    row.instance = record.instance.clone();
    row
}

fn decode(stored: StoredRecord) -> Result<StoredEnvironment, StoreError> {
    let record =
        serde_json::from_value(stored.document.clone()).map_err(|e| StoreError::Corrupt {
            what: format!("record {KIND}/{}", stored.record_id),
            reason: e.to_string(),
        })?;
    Ok(StoredEnvironment {
        record,
        document: stored.document,
    })
}

impl super::Tx {
    /// [`Store::runtime_environment`] as this transaction sees it.
    pub async fn runtime_environment(
        &mut self,
        scope: EnvironmentScope,
        context: &str,
        instance: &str,
    ) -> Result<Option<StoredEnvironment>, StoreError> {
        self.get_record(KIND, &record_id(scope, context, instance))
            .await?
            .map(decode)
            .transpose()
    }
}

impl Store {
    /// The record of one scope, if there is one.
    pub async fn runtime_environment(
        &self,
        scope: EnvironmentScope,
        context: &str,
        instance: &str,
    ) -> Result<Option<StoredEnvironment>, StoreError> {
        match self
            .get_record(KIND, &record_id(scope, context, instance))
            .await?
        {
            Some(stored) => decode(stored).map(Some),
            None => Ok(None),
        }
    }

    /// The records that apply to the lane (`context`, `instance`), broadest
    /// first (global, context, instance), so applying them in order leaves
    /// the narrowest value of each key.
    pub async fn lane_runtime_environments(
        &self,
        context: &str,
        instance: &str,
    ) -> Result<Vec<RuntimeEnvironmentRecord>, StoreError> {
        let mut records = Vec::with_capacity(3);
        for scope in [
            EnvironmentScope::Global,
            EnvironmentScope::Context,
            EnvironmentScope::Instance,
        ] {
            if let Some(stored) = self.runtime_environment(scope, context, instance).await? {
                records.push(stored.record);
            }
        }
        Ok(records)
    }

    /// Every record, broadest scope first, then by context and instance.
    pub async fn list_runtime_environments(
        &self,
    ) -> Result<Vec<RuntimeEnvironmentRecord>, StoreError> {
        let query = RecordQuery {
            limit: 1000,
            ..Default::default()
        };
        let mut records = Vec::new();
        for stored in self.list_records(KIND, &query).await? {
            records.push(decode(stored)?.record);
        }
        records.sort_by(|a, b| {
            (a.scope, &a.context, &a.instance).cmp(&(b.scope, &b.context, &b.instance))
        });
        Ok(records)
    }
}
