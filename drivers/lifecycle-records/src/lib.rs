//! lifecycle_records: the records of the web lifecycle (deployments,
//! promotions, inventory, backup gates, previews) in the exact JSON shapes
//! the host's record models accept.
//!
//! generic-web writes them, and so do the drivers that extend it (VeriReel's
//! own stable deploys fold into the same deployment records), so the shapes
//! live in one crate rather than in a copy per driver.
//!
//! Writes serialise every field of the host model and nothing else (the host
//! rejects unknown fields). Reads are lenient: a stored document may carry
//! keys the host adds (such as its own `record_id` column), and a driver must
//! not fail a lifecycle step because the store knows more than it does.
//!
//! A driver never writes `inventory`: the host rebuilds a lane's inventory
//! from the `deployment` and `promotion` records written here (deploy `pass`
//! and destination health `pass` or `skipped`).

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Status of one step of a release, as stored in evidence records.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    Pending,
    Pass,
    Fail,
    #[default]
    Skipped,
}

impl ReleaseStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReleaseStatus::Pending => "pending",
            ReleaseStatus::Pass => "pass",
            ReleaseStatus::Fail => "fail",
            ReleaseStatus::Skipped => "skipped",
        }
    }
}

/// Outcome of an action that either worked or did not.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PassFail {
    Pass,
    Fail,
}

/// The timestamp used in record ids: `2026-04-29T19:58:38Z` becomes
/// `20260429T195838Z` (UTC basic format). Sub-second digits, which the host
/// clock provides, are kept (`…T195838.123456Z`) so that two records of one
/// lane written within the same second get distinct ids.
pub fn compact_timestamp(now: &str) -> String {
    let now = now.trim();
    if let Some((date, time)) = now.split_once('T') {
        let date: String = date.chars().filter(char::is_ascii_digit).collect();
        let clock = time
            .split(['.', 'Z', 'z', '+', '-'])
            .next()
            .unwrap_or_default();
        let clock: String = clock.chars().filter(char::is_ascii_digit).collect();
        let fraction: String = time
            .split_once('.')
            .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        if date.len() == 8 && clock.len() == 6 {
            return if fraction.is_empty() {
                format!("{date}T{clock}Z")
            } else {
                format!("{date}T{clock}.{fraction}Z")
            };
        }
    }
    now.chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | '+'))
        .collect()
}

/// `{artifact_id, manifest_version}`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct ArtifactIdentityRef {
    pub artifact_id: String,
    #[serde(default = "one")]
    pub manifest_version: u32,
}

impl ArtifactIdentityRef {
    pub fn new(artifact_id: &str) -> Self {
        ArtifactIdentityRef {
            artifact_id: artifact_id.to_string(),
            manifest_version: 1,
        }
    }
}

/// The provider target kind as deployment evidence spells it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    Compose,
    #[default]
    Application,
}

impl TargetType {
    /// Provider-neutral target types map onto the two evidence kinds; anything
    /// that is not a compose stack deploys as an application.
    pub fn of(target_type: &str) -> Self {
        if target_type.trim().eq_ignore_ascii_case("compose") {
            TargetType::Compose
        } else {
            TargetType::Application
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TargetType::Compose => "compose",
            TargetType::Application => "application",
        }
    }
}

/// What the provider deploy did.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEvidence {
    pub target_name: String,
    #[serde(default)]
    pub target_type: TargetType,
    #[serde(default)]
    pub deploy_mode: String,
    #[serde(default)]
    pub deployment_id: String,
    #[serde(default)]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
}

/// Health verification of a lane. Verified evidence carries its URLs, its
/// timeout and a `pass`/`fail` status (the host's rule).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckEvidence {
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub status: ReleaseStatus,
}

impl Default for HealthcheckEvidence {
    fn default() -> Self {
        HealthcheckEvidence::skipped()
    }
}

impl HealthcheckEvidence {
    pub fn skipped() -> Self {
        HealthcheckEvidence {
            verified: false,
            urls: Vec::new(),
            timeout_seconds: None,
            status: ReleaseStatus::Skipped,
        }
    }
}

/// The product's post-deploy step (here: the `post-deploy` hook).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct PostDeployUpdateEvidence {
    #[serde(default)]
    pub attempted: bool,
    #[serde(default)]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub detail: String,
}

impl Default for PostDeployUpdateEvidence {
    fn default() -> Self {
        PostDeployUpdateEvidence {
            attempted: false,
            status: ReleaseStatus::Skipped,
            detail: String::new(),
        }
    }
}

/// `runtime_source` keys this driver writes on deployment records.
pub mod source_keys {
    /// The immutable image reference the lane was pointed at.
    pub const IMAGE_REFERENCE: &str = "image_reference";
    /// The compact sorted runtime identity JSON set on the lane.
    pub const RUNTIME_IDENTITY: &str = "runtime_identity";
    /// The step that failed, on failed deployments.
    pub const FAILURE_STAGE: &str = "failure_stage";
    /// Why it failed, on failed deployments.
    pub const FAILURE_DETAIL: &str = "failure_detail";
}

/// One deployment of one lane (the host's `DeploymentRecord`). The host's
/// `delegated_executor` keeps its default and `resolved_target` stays null:
/// provider-neutral targets carry no provider target id.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRecord {
    #[serde(default = "one")]
    pub schema_version: u32,
    pub record_id: String,
    #[serde(default)]
    pub artifact_identity: Option<ArtifactIdentityRef>,
    pub context: String,
    pub instance: String,
    pub source_git_ref: String,
    #[serde(default = "yes")]
    pub wait_for_completion: bool,
    #[serde(default = "yes")]
    pub verify_destination_health: bool,
    #[serde(default)]
    pub no_cache: bool,
    #[serde(default)]
    pub resolved_target: Option<Value>,
    #[serde(default)]
    pub runtime_source: BTreeMap<String, String>,
    pub deploy: DeploymentEvidence,
    #[serde(default)]
    pub post_deploy_update: PostDeployUpdateEvidence,
    #[serde(default)]
    pub destination_health: HealthcheckEvidence,
}

impl DeploymentRecord {
    pub fn artifact_id(&self) -> &str {
        self.artifact_identity
            .as_ref()
            .map_or("", |a| a.artifact_id.as_str())
    }

    pub fn image_reference(&self) -> &str {
        self.runtime_source
            .get(source_keys::IMAGE_REFERENCE)
            .map_or("", String::as_str)
    }
}

/// The backup gate as a promotion or rollback plan saw it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct BackupGateEvidence {
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
}

impl BackupGateEvidence {
    /// No backup record named and none demanded.
    pub fn not_required() -> Self {
        BackupGateEvidence {
            required: false,
            status: ReleaseStatus::Skipped,
            evidence: BTreeMap::new(),
        }
    }
}

/// A rollback executed after a promotion.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct RollbackExecutionEvidence {
    #[serde(default)]
    pub attempted: bool,
    #[serde(default)]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub snapshot_name: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
}

impl Default for RollbackExecutionEvidence {
    fn default() -> Self {
        RollbackExecutionEvidence {
            attempted: false,
            status: ReleaseStatus::Skipped,
            detail: String::new(),
            snapshot_name: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
        }
    }
}

/// One promotion (the host's `PromotionRecord`).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct PromotionRecord {
    #[serde(default = "one")]
    pub schema_version: u32,
    pub record_id: String,
    pub artifact_identity: ArtifactIdentityRef,
    #[serde(default)]
    pub deployment_record_id: String,
    #[serde(default)]
    pub backup_record_id: String,
    pub context: String,
    pub from_instance: String,
    pub to_instance: String,
    #[serde(default)]
    pub source_health: HealthcheckEvidence,
    #[serde(default = "BackupGateEvidence::not_required")]
    pub backup_gate: BackupGateEvidence,
    pub deploy: DeploymentEvidence,
    #[serde(default)]
    pub post_deploy_update: PostDeployUpdateEvidence,
    #[serde(default)]
    pub destination_health: HealthcheckEvidence,
    #[serde(default)]
    pub rollback: RollbackExecutionEvidence,
    #[serde(default)]
    pub rollback_health: HealthcheckEvidence,
}

/// What is deployed on a lane now (read only; the host maintains it).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Inventory {
    pub context: String,
    pub instance: String,
    pub artifact_identity: Option<ArtifactIdentityRef>,
    pub source_git_ref: String,
    pub deployment_record_id: String,
    pub promotion_record_id: String,
}

impl Inventory {
    pub fn artifact_id(&self) -> &str {
        self.artifact_identity
            .as_ref()
            .map_or("", |a| a.artifact_id.as_str())
    }
}

/// A lane's current release tuple (read only; the host mints it), stored
/// under `<context>-<channel>`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct ReleaseTuple {
    pub tuple_id: String,
    pub context: String,
    pub channel: String,
    pub artifact_id: String,
    pub image_repository: String,
    pub image_digest: String,
}

/// The image of an artifact manifest.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct ManifestImage {
    pub repository: String,
    pub digest: String,
}

/// What a promotion needs of an artifact manifest (read only), stored
/// under its artifact id.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct ArtifactManifestView {
    pub artifact_id: String,
    pub source_commit: String,
    pub image: ManifestImage,
}

/// A backup gate record (read only).
#[derive(Deserialize, Debug, Clone)]
pub struct BackupGateRecord {
    #[serde(default)]
    pub record_id: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub instance: String,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
}

/// `pending | active | failed | paused | teardown_pending | destroyed`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PreviewState {
    #[default]
    Pending,
    Active,
    Failed,
    Paused,
    TeardownPending,
    Destroyed,
}

/// One preview per (context, anchor repo, PR) (the host's `PreviewRecord`,
/// keyed by `preview_id`).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct PreviewRecord {
    #[serde(default = "one")]
    pub schema_version: u32,
    pub preview_id: String,
    pub context: String,
    pub anchor_repo: String,
    pub anchor_pr_number: u64,
    pub anchor_pr_url: String,
    pub preview_label: String,
    pub canonical_url: String,
    #[serde(default)]
    pub state: PreviewState,
    pub created_at: String,
    pub updated_at: String,
    pub eligible_at: String,
    #[serde(default)]
    pub paused_at: String,
    #[serde(default)]
    pub destroy_after: String,
    #[serde(default)]
    pub destroyed_at: String,
    #[serde(default)]
    pub destroy_reason: String,
    #[serde(default)]
    pub active_generation_id: String,
    #[serde(default)]
    pub serving_generation_id: String,
    #[serde(default)]
    pub latest_generation_id: String,
    #[serde(default)]
    pub latest_manifest_fingerprint: String,
}

/// `resolving | building | deploying | verifying | ready | failed | superseded`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PreviewGenerationState {
    Resolving,
    Building,
    Deploying,
    Verifying,
    Ready,
    Failed,
    Superseded,
}

/// A pull request a generation was built from.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct PreviewPullRequestSummary {
    pub repo: String,
    pub pr_number: u64,
    pub head_sha: String,
    pub pr_url: String,
}

/// One build/deploy attempt of a preview (the host's
/// `PreviewGenerationRecord`, keyed by `generation_id`).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct PreviewGenerationRecord {
    #[serde(default = "one")]
    pub schema_version: u32,
    pub generation_id: String,
    pub preview_id: String,
    pub sequence: u32,
    pub state: PreviewGenerationState,
    pub requested_reason: String,
    pub requested_at: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub ready_at: String,
    #[serde(default)]
    pub finished_at: String,
    #[serde(default)]
    pub superseded_at: String,
    #[serde(default)]
    pub failed_at: String,
    #[serde(default)]
    pub expires_at: String,
    pub resolved_manifest_fingerprint: String,
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub baseline_release_tuple_id: String,
    #[serde(default)]
    pub source_map: Vec<Value>,
    pub anchor_summary: PreviewPullRequestSummary,
    #[serde(default)]
    pub companion_summaries: Vec<PreviewPullRequestSummary>,
    #[serde(default)]
    pub deploy_status: ReleaseStatus,
    #[serde(default)]
    pub verify_status: ReleaseStatus,
    #[serde(default)]
    pub overall_health_status: ReleaseStatus,
    #[serde(default)]
    pub failure_stage: String,
    #[serde(default)]
    pub failure_summary: String,
}

/// `preview_inventory_scan`: what a scan found. The host has no model of
/// its own for this kind and keys it by `record_id` (= `scan_id`).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct PreviewInventoryScanRecord {
    pub record_id: String,
    pub scan_id: String,
    pub context: String,
    pub scanned_at: String,
    pub source: String,
    pub status: PassFail,
    pub preview_count: u64,
    pub preview_slugs: Vec<String>,
    #[serde(default)]
    pub error_message: String,
}

/// `preview-` + lower-case(`<context>-<anchor_repo>-pr-<n>`), runs of
/// characters outside `[a-z0-9]` folded to one `-`, trimmed.
pub fn preview_id(context: &str, anchor_repo: &str, number: u64) -> String {
    let key = format!("{context}-{anchor_repo}-pr-{number}").to_lowercase();
    let mut normalized = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            normalized.push(c);
        } else if !normalized.ends_with('-') {
            normalized.push('-');
        }
    }
    format!("preview-{}", normalized.trim_matches('-'))
}

/// `<preview_id>-generation-<sequence, 4 digits>`.
pub fn generation_id(preview_id: &str, sequence: u32) -> String {
    format!("{preview_id}-generation-{sequence:04}")
}

/// `<context>/<anchor_repo>/pr-<n>`.
pub fn preview_label(context: &str, anchor_repo: &str, number: u64) -> String {
    format!("{context}/{anchor_repo}/pr-{number}")
}

/// `deployment-<compact ts>-<context>-<instance>`.
pub fn deployment_record_id(now: &str, context: &str, instance: &str) -> String {
    format!("deployment-{}-{context}-{instance}", compact_timestamp(now))
}

/// `promotion-<compact ts>-<context>-<from>-to-<to>`.
pub fn promotion_record_id(now: &str, context: &str, from: &str, to: &str) -> String {
    format!(
        "promotion-{}-{context}-{from}-to-{to}",
        compact_timestamp(now)
    )
}

/// `<context>-<instance>`.
pub fn inventory_id(context: &str, instance: &str) -> String {
    format!("{context}-{instance}")
}

/// Reads a record and parses it leniently; a malformed stored record is the
/// store's defect, reported as internal.
pub fn read<T: serde::de::DeserializeOwned>(
    ctx: &Ctx<'_>,
    kind: &str,
    record_id: &str,
) -> Result<Option<T>, DriverError> {
    match ctx.host().record_get(kind, record_id)? {
        Some(value) => parse(kind, value).map(Some),
        None => Ok(None),
    }
}

/// Parses a stored document of `kind`.
pub fn parse<T: serde::de::DeserializeOwned>(kind: &str, value: Value) -> Result<T, DriverError> {
    serde_json::from_value(value)
        .map_err(|e| DriverError::Internal(format!("a stored {kind} record is malformed: {e}")))
}

/// Serialises and writes a record, returning the id the host stored it
/// under.
pub fn write<T: Serialize>(ctx: &Ctx<'_>, kind: &str, record: &T) -> Result<String, DriverError> {
    let value = serde_json::to_value(record)
        .map_err(|e| DriverError::Internal(format!("{kind} record does not serialise: {e}")))?;
    Ok(ctx.host().record_put(kind, &value)?)
}

/// Lists records of a kind, newest first.
pub fn list(
    ctx: &Ctx<'_>,
    kind: &str,
    context: Option<&str>,
    instance: Option<&str>,
    limit: u32,
) -> Result<Vec<Value>, DriverError> {
    let query = RecordQuery {
        context: context.map(str::to_string),
        instance: instance.map(str::to_string),
        limit,
    };
    Ok(ctx.host().record_list(kind, &query)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_timestamps() {
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38Z"),
            "20260429T195838Z"
        );
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38.123456Z"),
            "20260429T195838.123456Z"
        );
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38+00:00"),
            "20260429T195838Z"
        );
        assert_eq!(compact_timestamp("odd:value-1"), "oddvalue1");
    }
}
