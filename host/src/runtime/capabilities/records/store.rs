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
use crate::records::{RecordQuery as StoreQuery, RecordWrite, Store, StoreError, StoredRecord, Tx};
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
    /// Where writes wait for the request's final transaction, if they do.
    deferred: Option<Arc<DeferredWrites>>,
}

/// The record writes of one invocation (its hooks' included), held until
/// the request commits them in one transaction with its idempotency
/// answer and audit event (`ops/completion.rs`). Until then the
/// invocation reads its own writes by kind and id; state the host derives
/// from them (inventory, release tuples) appears only at the commit.
#[derive(Debug, Default)]
pub struct DeferredWrites {
    puts: std::sync::Mutex<Vec<DeferredPut>>,
}

/// One deferred write, checked against its model.
#[derive(Debug, Clone)]
pub struct DeferredPut {
    product: String,
    kind: String,
    record_id: String,
    context: String,
    instance: String,
    document: Value,
    write: Write,
}

/// How a write is applied: through the evidence ingest (which derives
/// inventory and release tuples) or as the record itself.
#[derive(Debug, Clone)]
enum Write {
    Deployment(DeploymentRecord),
    Promotion(PromotionRecord),
    BackupGate(BackupGateRecord),
    Record(RecordWrite),
}

impl DeferredWrites {
    fn puts(&self) -> std::sync::MutexGuard<'_, Vec<DeferredPut>> {
        match self.puts.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn push(&self, put: DeferredPut) {
        self.puts().push(put);
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.puts().is_empty()
    }

    /// `kind/record_id` of each waiting write, in order.
    pub fn names(&self) -> Vec<String> {
        self.puts()
            .iter()
            .map(|p| format!("{}/{}", p.kind, p.record_id))
            .collect()
    }

    /// The newest waiting document of `kind` `record_id` of `product`.
    fn get(&self, product: &str, kind: &str, record_id: &str) -> Option<Value> {
        self.puts()
            .iter()
            .rev()
            .find(|p| p.product == product && p.kind == kind && p.record_id == record_id)
            .map(|p| p.document.clone())
    }

    /// Waiting documents of `kind` matching `query`, newest first, one per id.
    fn list(&self, kind: &str, query: &StoreQuery) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = Vec::new();
        for put in self.puts().iter().rev() {
            let matches = put.kind == kind
                && query.product.as_ref().is_none_or(|p| *p == put.product)
                && query.context.as_ref().is_none_or(|c| *c == put.context)
                && query.instance.as_ref().is_none_or(|i| *i == put.instance);
            if matches && !out.iter().any(|(id, _)| *id == put.record_id) {
                out.push((put.record_id.clone(), put.document.clone()));
            }
        }
        out
    }

    /// Applies every waiting write, in order, in `tx` (on an error the
    /// caller rolls `tx` back).
    pub async fn apply(&self, tx: &mut Tx, trace_id: &str) -> Result<(), HostError> {
        let puts = self.puts().clone();
        for put in &puts {
            put.apply(tx, trace_id).await?;
        }
        Ok(())
    }
}

impl DeferredPut {
    /// Writes it (with what the ingest derives from it) in `tx`.
    async fn apply(&self, tx: &mut Tx, trace_id: &str) -> Result<(), HostError> {
        let ingest = Ingest {
            product: &self.product,
            trace_id,
        };
        let pending = match &self.write {
            Write::Deployment(deployment) => {
                ingest
                    .deployment(tx, deployment, InventoryRule::WhenHealthy, true)
                    .await
                    .map_err(ingest_error)?
                    .pending
            }
            Write::Promotion(promotion) => {
                ingest
                    .promotion(tx, promotion, InventoryRule::WhenHealthy, true)
                    .await
                    .map_err(ingest_error)?
                    .pending
            }
            Write::BackupGate(gate) => {
                ingest
                    .backup_gate(gate)
                    .await
                    .map_err(ingest_error)?
                    .pending
            }
            Write::Record(write) => vec![write.clone()],
        };
        tx.write_records(&pending, trace_id)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl StoreRecords {
    pub fn new(store: Store, trace_id: &str, declared: Arc<HashMap<String, RecordMode>>) -> Self {
        StoreRecords {
            store,
            trace_id: trace_id.to_string(),
            declared,
            deferred: None,
        }
    }

    /// Whether writes wait for the request's final transaction.
    pub fn defers(&self) -> bool {
        self.deferred.is_some()
    }

    /// The same capability, its writes held in `deferred` until the
    /// request commits them.
    pub fn deferring(mut self, deferred: Arc<DeferredWrites>) -> Self {
        self.deferred = Some(deferred);
        self
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
        if let Some(document) = self
            .deferred
            .as_ref()
            .and_then(|d| d.get(&scope.product, kind, record_id))
        {
            return Ok(Some(document.to_string()));
        }
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
        let Some(deferred) = &self.deferred else {
            return Ok(records
                .into_iter()
                .map(|r| r.document.to_string())
                .collect());
        };
        let waiting = deferred.list(kind, &query);
        let mut out: Vec<String> = waiting.iter().map(|(_, d)| d.to_string()).collect();
        out.extend(
            records
                .into_iter()
                .filter(|r| !waiting.iter().any(|(id, _)| *id == r.record_id))
                .map(|r| r.document.to_string()),
        );
        if query.limit > 0 {
            out.truncate(query.limit as usize);
        }
        Ok(out)
    }

    /// Validates a driver's record write and applies it: at once in a
    /// transaction of its own, or, when this invocation defers its writes
    /// ([`StoreRecords::deferring`]), at the end with the request's answer.
    pub async fn put(
        &self,
        scope: &InvocationScope,
        kind: &str,
        document: &str,
    ) -> Result<String, HostError> {
        let put = self.prepare(scope, kind, document)?;
        let record_id = put.record_id.clone();
        if let Some(deferred) = &self.deferred {
            deferred.push(put);
            return Ok(record_id);
        }
        let mut tx = self.store.begin_write().await.map_err(store_error)?;
        put.apply(&mut tx, &self.trace_id).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(record_id)
    }

    /// A write checked against its kind's model, with its id and lane.
    fn prepare(
        &self,
        scope: &InvocationScope,
        kind: &str,
        document: &str,
    ) -> Result<DeferredPut, HostError> {
        driver_kind(kind)?;
        let document: Value = serde_json::from_str(document)
            .map_err(|e| HostError::Invalid(format!("{kind} record is not JSON: {e}")))?;
        if !document.is_object() {
            return Err(HostError::Invalid(format!(
                "{kind} record must be a JSON object"
            )));
        }
        let (mode, model) = self.mode_of(kind)?;
        let field = |name: &str| {
            document
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let lane = |instance: &str| (field("context"), field(instance));
        let (write, record_id, (context, instance)) = match model {
            Model::Deployment => {
                let deployment: DeploymentRecord = typed(kind, &document)?;
                let id = deployment.record_id.clone();
                (Write::Deployment(deployment), id, lane("instance"))
            }
            Model::Promotion => {
                let promotion: PromotionRecord = typed(kind, &document)?;
                let id = promotion.record_id.clone();
                (Write::Promotion(promotion), id, lane("to_instance"))
            }
            Model::BackupGate => {
                let gate: BackupGateRecord = typed(kind, &document)?;
                let id = gate.record_id.clone();
                (Write::BackupGate(gate), id, lane("instance"))
            }
            _ => {
                let record = self.document_record(scope, kind, model, &document)?;
                let (id, lane) = (
                    record.record_id.clone(),
                    (record.context.clone(), record.instance.clone()),
                );
                let write = match mode {
                    RecordMode::State => RecordWrite::Replace { record },
                    RecordMode::Evidence | RecordMode::Immutable => RecordWrite::Append {
                        record,
                        allow_transition: mode == RecordMode::Evidence,
                    },
                };
                (Write::Record(write), id, lane)
            }
        };
        Ok(DeferredPut {
            product: scope.product.clone(),
            kind: kind.to_string(),
            record_id,
            context,
            instance,
            document,
            write,
        })
    }

    /// A record of a kind without an ingest rule: validated against the
    /// host's model when there is one; its id and key columns from it.
    fn document_record(
        &self,
        scope: &InvocationScope,
        kind: &str,
        model: Model,
        document: &Value,
    ) -> Result<StoredRecord, HostError> {
        let (record_id, instance) = match model {
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
        };
        let mut record = StoredRecord::new(kind, &record_id, &scope.product, document.clone())
            .with_instance(&instance);
        if record.context.is_empty() {
            record.context = scope.context.clone();
        }
        Ok(record)
    }
}
