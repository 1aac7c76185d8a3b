//! `records` for drivers, over the store. Reads see only the invocation's
//! product. Writes of the evidence families go through
//! [`crate::records::ingest`], so a driver's deployment or promotion is
//! validated and derives inventory and release tuples by the same rules as
//! evidence sent by a workflow (with the driver rule: inventory moves only
//! for a passed deploy with passed or skipped health). Other kinds are
//! validated against their model when the host has one, then stored as
//! append-only evidence or replace-in-place state.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::records::ingest::{Ingest, IngestError, InventoryRule};
use crate::records::kinds::{self, Model, RecordMode};
use crate::records::models::artifact::ArtifactIdentityManifest;
use crate::records::models::backup_gate::BackupGateRecord;
use crate::records::models::deployment::DeploymentRecord;
use crate::records::models::inventory::EnvironmentInventory;
use crate::records::models::preview::{PreviewGenerationRecord, PreviewRecord};
use crate::records::models::promotion::PromotionRecord;
use crate::records::models::{Validate, parse_record};
use crate::records::{RecordQuery as StoreQuery, RecordWrite, Store, StoreError, StoredRecord};
use crate::runtime::records::RecordQuery;
use crate::runtime::{HostError, InvocationScope};

/// Fields a document record's id is read from, in order.
const DOCUMENT_ID_FIELDS: &[&str] = &[
    "record_id",
    "desired_state_id",
    "plan_id",
    "cleanup_id",
    "feedback_id",
];

/// The records capability over a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreRecords {
    store: Store,
    trace_id: String,
    /// The record kinds drivers declare, and how each is kept.
    declared: Arc<HashMap<String, RecordMode>>,
}

impl StoreRecords {
    pub fn new(store: Store, trace_id: &str, declared: Arc<HashMap<String, RecordMode>>) -> Self {
        StoreRecords {
            store,
            trace_id: trace_id.to_string(),
            declared,
        }
    }

    /// How records of `kind` are kept: the host's table, else the driver's
    /// declaration; `invalid` for a kind nobody declared.
    fn mode_of(&self, kind: &str) -> Result<(RecordMode, Model), HostError> {
        if let Some(rule) = kinds::rule_of(kind) {
            return Ok((rule.mode, rule.model));
        }
        self.declared
            .get(kind)
            .map(|mode| (*mode, Model::Document))
            .ok_or_else(|| HostError::Invalid(format!("`{kind}` is not a declared record kind")))
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

fn ingest_error(error: IngestError) -> HostError {
    match error {
        IngestError::Invalid(e) => HostError::Invalid(e.to_string()),
        IngestError::NotFound(m) => HostError::NotFound(m),
        IngestError::Store(e) => store_error(e),
    }
}

/// Refuses the host's own kinds (secrets, runtime settings) to drivers.
fn driver_kind(kind: &str) -> Result<(), HostError> {
    if kinds::is_host_only(kind) {
        return Err(HostError::Denied(format!(
            "`{kind}` records belong to the host; drivers cannot read or write them"
        )));
    }
    Ok(())
}

fn typed<T: serde::de::DeserializeOwned + Validate>(
    kind: &str,
    document: &Value,
) -> Result<T, HostError> {
    parse_record(document, kind).map_err(|e| HostError::Invalid(e.to_string()))
}

impl StoreRecords {
    pub async fn get(
        &self,
        scope: &InvocationScope,
        kind: &str,
        record_id: &str,
    ) -> Result<Option<String>, HostError> {
        driver_kind(kind)?;
        let record = self
            .store
            .get_record(kind, record_id)
            .await
            .map_err(store_error)?;
        Ok(record
            .filter(|r| r.product == scope.product)
            .map(|r| r.document.to_string()))
    }

    pub async fn list(
        &self,
        scope: &InvocationScope,
        kind: &str,
        query: &RecordQuery,
    ) -> Result<Vec<String>, HostError> {
        driver_kind(kind)?;
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

    pub async fn put(
        &self,
        scope: &InvocationScope,
        kind: &str,
        document: &str,
    ) -> Result<String, HostError> {
        driver_kind(kind)?;
        let document: Value = serde_json::from_str(document)
            .map_err(|e| HostError::Invalid(format!("{kind} record is not JSON: {e}")))?;
        if !document.is_object() {
            return Err(HostError::Invalid(format!(
                "{kind} record must be a JSON object"
            )));
        }
        let (mode, model) = self.mode_of(kind)?;
        if let Some(record_id) = self.ingest(scope, kind, model, &document).await? {
            return Ok(record_id);
        }
        let (record_id, instance) = keys_of(kind, model, &document)?;
        let mut record =
            StoredRecord::new(kind, &record_id, &scope.product, document).with_instance(&instance);
        if record.context.is_empty() {
            record.context = scope.context.clone();
        }
        let write = match mode {
            RecordMode::State => RecordWrite::Replace { record },
            RecordMode::Evidence | RecordMode::Immutable => RecordWrite::Append {
                record,
                allow_transition: mode == RecordMode::Evidence,
            },
        };
        self.store
            .write_records(&[write], &self.trace_id)
            .await
            .map_err(store_error)?;
        Ok(record_id)
    }

    /// Writes a deployment, promotion or backup gate record through the
    /// evidence ingest (its derived records in the same transaction);
    /// `None` for other models.
    async fn ingest(
        &self,
        scope: &InvocationScope,
        kind: &str,
        model: Model,
        document: &Value,
    ) -> Result<Option<String>, HostError> {
        let ingest = Ingest {
            product: &scope.product,
            trace_id: &self.trace_id,
        };
        let (mut tx, pending, record_id) = match model {
            Model::Deployment => {
                let deployment: DeploymentRecord = typed(kind, document)?;
                let mut tx = self.store.begin_write().await.map_err(store_error)?;
                let ingested = ingest
                    .deployment(&mut tx, &deployment, InventoryRule::WhenHealthy, true)
                    .await
                    .map_err(ingest_error)?;
                (tx, ingested.pending, deployment.record_id)
            }
            Model::Promotion => {
                let promotion: PromotionRecord = typed(kind, document)?;
                let mut tx = self.store.begin_write().await.map_err(store_error)?;
                let ingested = ingest
                    .promotion(&mut tx, &promotion, InventoryRule::WhenHealthy, true)
                    .await
                    .map_err(ingest_error)?;
                (tx, ingested.pending, promotion.record_id)
            }
            Model::BackupGate => {
                let gate: BackupGateRecord = typed(kind, document)?;
                let tx = self.store.begin_write().await.map_err(store_error)?;
                let ingested = ingest.backup_gate(&gate).await.map_err(ingest_error)?;
                (tx, ingested.pending, gate.record_id)
            }
            _ => return Ok(None),
        };
        tx.write_records(&pending, &self.trace_id)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(Some(record_id))
    }
}

/// A record's id and instance column: from its model where the host has
/// one (validated), else its own id field and `instance`.
fn keys_of(kind: &str, model: Model, document: &Value) -> Result<(String, String), HostError> {
    // Kinds the host has a model for are validated; their ids and key
    // columns come from the model.
    Ok(match model {
        // Keyed by the artifact id the product minted, never a
        // generated one: deploys and promotions name it later.
        Model::ArtifactManifest => {
            let manifest: ArtifactIdentityManifest = typed(kind, document)?;
            (manifest.artifact_id, String::new())
        }
        Model::Inventory => {
            let inventory: EnvironmentInventory = typed(kind, document)?;
            (inventory.id(), inventory.instance.clone())
        }
        Model::Preview => {
            let preview: PreviewRecord = typed(kind, document)?;
            (preview.preview_id.clone(), String::new())
        }
        Model::PreviewGeneration => {
            let generation: PreviewGenerationRecord = typed(kind, document)?;
            (
                generation.generation_id.clone(),
                generation.preview_id.clone(),
            )
        }
        // The record's own id field (the preview lifecycle records
        // name theirs `desired_state_id`, `plan_id`, …), else a fresh one.
        _ => (
            DOCUMENT_ID_FIELDS
                .iter()
                .find_map(|field| document.get(*field).and_then(Value::as_str))
                .filter(|id| !id.trim().is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("{kind}-{}", uuid::Uuid::new_v4().simple())),
            document
                .get("instance")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
    })
}
