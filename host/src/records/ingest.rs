//! Evidence and the state derived from it (reference §8), written in one
//! transaction. Both the evidence routes and drivers' record writes go
//! through here, so a deployment recorded by a workflow and one recorded
//! by a driver update inventory by the same rules.

use serde::Serialize;
use serde_json::Value;

use super::models::ValidationError;
use super::models::artifact::ArtifactIdentityManifest;
use super::models::backup_gate::BackupGateRecord;
use super::models::deployment::{DeploymentRecord, ReleaseStatus};
use super::models::from_value;
use super::models::inventory::EnvironmentInventory;
use super::models::preview::{
    PreviewDestroyMutationRequest, PreviewGenerationMutationRequest, PreviewGenerationRecord,
    PreviewMutationRequest, PreviewRecord, apply_destroy, apply_generation,
};
use super::models::promotion::PromotionRecord;
use super::models::release_tuple::{
    ReleaseTupleProvenance, ReleaseTupleRecord, is_git_sha, is_stable_channel, mint_from_manifest,
    mint_from_promotion, tuple_id,
};
use super::{RecordQuery, RecordWrite, StoreError, StoredRecord, Tx};

/// Why an ingest was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The evidence breaks a rule (400 for callers).
    #[error("{0}")]
    Invalid(ValidationError),
    /// A record the evidence links to does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// When a deployment moves its lane's inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryRule {
    /// Evidence ingest (§8 rule 1): always, whatever the deploy status.
    Always,
    /// Driver executions (§8 rule 5): only when the deploy passed and the
    /// destination health passed or was skipped.
    WhenHealthy,
}

/// What an ingest writes: `records` keys for the response, the record
/// ids, and the writes themselves, for the caller to apply in its
/// transaction ([`Tx::write_records`]) when it chooses: host routes apply
/// them last, so the lane's inventory row, which every request of a lane
/// updates, is locked only until the commit that follows.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    pub records: Vec<(String, Value)>,
    pub written: Vec<String>,
    pub pending: Vec<RecordWrite>,
}

impl Ingested {
    fn record(&mut self, key: &str, value: impl Into<String>) {
        self.records
            .push((key.to_string(), Value::String(value.into())));
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, IngestError> {
    serde_json::to_value(value).map_err(|e| {
        IngestError::Invalid(ValidationError::new(
            "$",
            format!("does not serialise: {e}"),
        ))
    })
}

/// A deploy that shipped: it passed, its lane answers (or was not
/// probed), and no later step (a post-deploy hook, a data step) failed it:
/// a deploy that failed after the image moved keeps the lane's inventory
/// on the previous deployment.
fn healthy(deployment: &DeploymentRecord) -> bool {
    deployment.deploy.status == ReleaseStatus::Pass
        && matches!(
            deployment.destination_health.status,
            ReleaseStatus::Pass | ReleaseStatus::Skipped
        )
        && deployment.post_deploy_update.status != ReleaseStatus::Fail
        && !deployment.runtime_source.contains_key("failure_stage")
}

/// One product's evidence writer. Every method reads and writes through
/// the caller's transaction, which commits the evidence together with
/// whatever else the caller writes (its idempotency answer, its audit).
pub struct Ingest<'a> {
    pub product: &'a str,
    pub trace_id: &'a str,
}

impl Ingest<'_> {
    /// A typed record read back from the store.
    pub async fn stored<T: serde::de::DeserializeOwned>(
        &self,
        tx: &mut Tx,
        kind: &str,
        id: &str,
    ) -> Result<Option<T>, IngestError> {
        match tx.get_record(kind, id).await? {
            None => Ok(None),
            Some(record) => from_value(&record.document, kind).map(Some).map_err(|e| {
                IngestError::Store(StoreError::Corrupt {
                    what: format!("{kind} `{id}`"),
                    reason: e.to_string(),
                })
            }),
        }
    }

    /// An evidence record as a store write. Re-sending an id with different
    /// content is allowed only as the declared transition out of `pending`
    /// (or, for drivers, the declared rewrite of their own evidence); the
    /// store judges that against the stored version, read only when there
    /// is one ([`RecordWrite::Evidence`]).
    fn evidence(
        &self,
        kind: &str,
        id: &str,
        instance: &str,
        document: Value,
        rewrite: bool,
    ) -> RecordWrite {
        let record = StoredRecord::new(kind, id, self.product, document).with_instance(instance);
        RecordWrite::Evidence { record, rewrite }
    }

    fn inventory(&self, inventory: &EnvironmentInventory) -> Result<RecordWrite, IngestError> {
        inventory
            .validate()
            .map_err(|e| IngestError::Invalid(e.within("inventory")))?;
        Ok(RecordWrite::Replace {
            record: StoredRecord::new(
                "inventory",
                &inventory.id(),
                self.product,
                to_value(inventory)?,
            ),
        })
    }

    /// The ingest's writes, checked ([`RecordWrite`] rules hold when
    /// they are applied).
    fn commit(
        &self,
        writes: Vec<RecordWrite>,
        mut ingested: Ingested,
    ) -> Result<Ingested, IngestError> {
        for write in &writes {
            crate::records::documents::check_write(write).map_err(StoreError::from)?;
        }
        ingested.written = writes.iter().map(|w| w.record_id().to_string()).collect();
        ingested.pending = writes;
        Ok(ingested)
    }

    /// A deployment and (by `rule`) its lane's inventory.
    pub async fn deployment(
        &self,
        tx: &mut Tx,
        deployment: &DeploymentRecord,
        rule: InventoryRule,
        rewrite: bool,
    ) -> Result<Ingested, IngestError> {
        deployment
            .validate()
            .map_err(|e| IngestError::Invalid(e.within("deployment")))?;
        let mut ingested = Ingested::default();
        let mut writes = vec![self.evidence(
            "deployment",
            &deployment.record_id,
            &deployment.instance,
            to_value(deployment)?,
            rewrite,
        )];
        ingested.record("deployment_record_id", deployment.record_id.clone());
        if rule == InventoryRule::Always || healthy(deployment) {
            let inventory = EnvironmentInventory::from_deployment(
                deployment,
                None,
                &crate::time::now_rfc3339(),
            );
            writes.push(self.inventory(&inventory)?);
            ingested.record("inventory_record_id", inventory.id());
        }
        // §8 rule 4: a driver's passed, healthy deploy of a stable lane ships
        // that lane's release tuple. Evidence routes leave tuples alone.
        if rule == InventoryRule::WhenHealthy
            && healthy(deployment)
            && let Some(tuple) = self.ship_tuple(tx, deployment).await?
        {
            let key = format!("{}-{}", tuple.context, tuple.channel);
            ingested.record("release_tuple_id", tuple.tuple_id.clone());
            let record = StoredRecord::new("release_tuple", &key, self.product, to_value(&tuple)?)
                .with_instance(&tuple.channel);
            writes.push(RecordWrite::Replace { record });
        }
        self.commit(writes, ingested)
    }

    /// The `ship` tuple a deployment mints for its stable lane: from the
    /// stored manifest of its artifact when there is one, else from its
    /// source commit (`tenant-<context>` → sha) when that is a commit sha.
    /// `None` for a preview lane, or an artifact with neither.
    async fn ship_tuple(
        &self,
        tx: &mut Tx,
        deployment: &DeploymentRecord,
    ) -> Result<Option<ReleaseTupleRecord>, IngestError> {
        let (context, channel) = (deployment.context.trim(), deployment.instance.trim());
        let Some(artifact_id) = deployment
            .artifact_identity
            .as_ref()
            .map(|a| a.artifact_id.trim())
            .filter(|a| !a.is_empty())
        else {
            return Ok(None);
        };
        if !is_stable_channel(channel) {
            return Ok(None);
        }
        let now = crate::time::now_rfc3339();
        if let Some(manifest) = self
            .stored::<ArtifactIdentityManifest>(tx, "artifact_manifest", artifact_id)
            .await?
        {
            return mint_from_manifest(context, channel, &manifest, &deployment.record_id, &now)
                .map(Some)
                .map_err(|e| IngestError::Invalid(e.within("artifact_manifest")));
        }
        let sha = deployment.source_git_ref.trim();
        if !is_git_sha(sha) {
            return Ok(None);
        }
        let tuple = ReleaseTupleRecord {
            schema_version: 1,
            tuple_id: tuple_id(context, channel, artifact_id),
            context: context.to_string(),
            channel: channel.to_string(),
            artifact_id: artifact_id.to_string(),
            repo_shas: [(format!("tenant-{context}"), sha.to_string())].into(),
            image_repository: String::new(),
            image_digest: String::new(),
            deployment_record_id: deployment.record_id.clone(),
            promotion_record_id: String::new(),
            promoted_from_channel: String::new(),
            provenance: ReleaseTupleProvenance::Ship,
            minted_at: now,
        };
        tuple
            .validate()
            .map_err(|e| IngestError::Invalid(e.within("release_tuple")))?;
        Ok(Some(tuple))
    }

    /// A promotion; with `deployment_record_id` linkage, the destination
    /// inventory (§8 rule 2) and release tuple (rule 3).
    pub async fn promotion(
        &self,
        tx: &mut Tx,
        promotion: &PromotionRecord,
        rule: InventoryRule,
        rewrite: bool,
    ) -> Result<Ingested, IngestError> {
        promotion
            .validate()
            .map_err(|e| IngestError::Invalid(e.within("promotion")))?;
        let now = crate::time::now_rfc3339();
        let mut ingested = Ingested::default();
        let mut writes = vec![self.evidence(
            "promotion",
            &promotion.record_id,
            &promotion.to_instance,
            to_value(promotion)?,
            rewrite,
        )];
        ingested.record("promotion_record_id", promotion.record_id.clone());
        if let Some(deployment_id) = promotion.linked_deployment_id() {
            let deployment: DeploymentRecord = self
                .stored(tx, "deployment", deployment_id)
                .await?
                .ok_or_else(|| {
                    IngestError::NotFound(format!("No deployment record `{deployment_id}`."))
                })?;
            let link = promotion
                .check_deployment_link(&deployment)
                .map_err(|e| IngestError::Invalid(e.within("promotion")))?;
            if rule == InventoryRule::Always || healthy(&deployment) {
                let inventory =
                    EnvironmentInventory::from_deployment(&deployment, Some(link), &now);
                writes.push(self.inventory(&inventory)?);
                ingested.record("inventory_record_id", inventory.id());
                let stable = is_stable_channel(&promotion.from_instance)
                    && is_stable_channel(&promotion.to_instance);
                let source_key = format!("{}-{}", promotion.context, promotion.from_instance);
                if stable
                    && let Some(source) = self
                        .stored::<ReleaseTupleRecord>(tx, "release_tuple", &source_key)
                        .await?
                {
                    let minted = mint_from_promotion(&source, promotion, &now)
                        .map_err(|e| IngestError::Invalid(e.within("promotion")))?;
                    let key = format!("{}-{}", promotion.context, promotion.to_instance);
                    let record =
                        StoredRecord::new("release_tuple", &key, self.product, to_value(&minted)?)
                            .with_instance(&promotion.to_instance);
                    writes.push(RecordWrite::Replace { record });
                    ingested.record("release_tuple_id", minted.tuple_id.clone());
                }
            }
        }
        self.commit(writes, ingested)
    }

    pub async fn backup_gate(&self, gate: &BackupGateRecord) -> Result<Ingested, IngestError> {
        gate.validate()
            .map_err(|e| IngestError::Invalid(e.within("backup_gate")))?;
        let mut ingested = Ingested::default();
        let writes = vec![self.evidence(
            "backup_gate",
            &gate.record_id,
            &gate.instance,
            to_value(gate)?,
            false,
        )];
        ingested.record("backup_gate_record_id", gate.record_id.clone());
        self.commit(writes, ingested)
    }

    /// Generation evidence: upserts the preview and writes the generation
    /// with the §6.6 transitions. Generations key their `instance` column
    /// by preview id.
    pub async fn preview_generation(
        &self,
        tx: &mut Tx,
        preview: &PreviewMutationRequest,
        generation: &PreviewGenerationMutationRequest,
        base_url: Option<&str>,
    ) -> Result<Ingested, IngestError> {
        let preview_id = preview.preview_id();
        let existing: Option<PreviewRecord> = self.stored(tx, "preview", &preview_id).await?;
        let query = RecordQuery {
            instance: Some(preview_id.clone()),
            limit: 1000,
            ..Default::default()
        };
        let next_sequence = tx
            .list_records("preview_generation", &query)
            .await?
            .iter()
            .filter_map(|g| g.document.get("sequence").and_then(Value::as_u64))
            .max()
            .map_or(1, |max| max as u32 + 1);
        let (preview, generation): (PreviewRecord, PreviewGenerationRecord) =
            apply_generation(existing, preview, generation, next_sequence, base_url)
                .map_err(IngestError::Invalid)?;
        let writes = vec![
            RecordWrite::Replace {
                record: StoredRecord::new(
                    "preview",
                    &preview.preview_id,
                    self.product,
                    to_value(&preview)?,
                ),
            },
            self.evidence(
                "preview_generation",
                &generation.generation_id,
                &preview.preview_id,
                to_value(&generation)?,
                false,
            ),
        ];
        let mut ingested = Ingested::default();
        ingested.record("generation_id", generation.generation_id.clone());
        ingested.record("preview_id", preview.preview_id.clone());
        ingested.record("transition", generation.state.as_str());
        self.commit(writes, ingested)
    }

    /// Destroy evidence: transitions an existing preview; never creates one.
    pub async fn preview_destroyed(
        &self,
        tx: &mut Tx,
        destroy: &PreviewDestroyMutationRequest,
    ) -> Result<Ingested, IngestError> {
        let preview_id = destroy.preview_id();
        let existing: PreviewRecord =
            self.stored(tx, "preview", &preview_id)
                .await?
                .ok_or_else(|| {
                    IngestError::Invalid(ValidationError::new(
                        "destroy",
                        format!("No Launchplane preview found for `{preview_id}`."),
                    ))
                })?;
        let preview = apply_destroy(existing, destroy);
        let writes = vec![RecordWrite::Replace {
            record: StoredRecord::new(
                "preview",
                &preview.preview_id,
                self.product,
                to_value(&preview)?,
            ),
        }];
        let mut ingested = Ingested::default();
        ingested.record("preview_id", preview.preview_id.clone());
        ingested.record("transition", "destroyed");
        self.commit(writes, ingested)
    }
}
