//! Request and result shapes of the VeriReel routes.
//!
//! Field names, defaults and enum spellings are the original service's, so
//! VeriReel's workflows keep sending the payloads they already send. Every
//! struct refuses unknown fields, as the original's `extra="forbid"` models
//! did. VeriReel payloads carry no product: the envelope names it.

use launchplane_sdk::prelude::*;

use crate::checks::{NON_BLANK, release_status_schema};

/// A JSON object whose fields the reference does not name; kept as an object
/// (not any JSON value) because results always are one.
pub type UntypedResult = serde_json::Map<String, Value>;

fn schema_version() -> u32 {
    1
}

fn verireel() -> String {
    "verireel".to_string()
}

fn verireel_testing() -> String {
    "verireel-testing".to_string()
}

fn testing() -> String {
    "testing".to_string()
}

fn prod() -> String {
    "prod".to_string()
}

fn skipped() -> String {
    "skipped".to_string()
}

fn yes() -> bool {
    true
}

/// Rollout verification polls for five minutes by default.
fn rollout_timeout_seconds() -> u32 {
    300
}

/// Rollout verification polls every five seconds by default.
fn rollout_interval_seconds() -> u32 {
    5
}

fn preview_timeout_seconds() -> u32 {
    300
}

pub use lifecycle_records::{PassFail, ReleaseStatus};

/// The two stable lanes VeriReel deploys to.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StableInstance {
    #[default]
    Testing,
    Prod,
}

// ------------------------------------------------------------ stable deploy

/// `deploy` of `testing-deploy` and `prod-deploy`; the route fixes the lane,
/// the payload must agree with it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableDeployRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default)]
    pub instance: StableInstance,
    #[schemars(pattern(NON_BLANK))]
    pub artifact_id: String,
    #[schemars(pattern(NON_BLANK))]
    pub source_git_ref: String,
    /// Defaults to `source_git_ref` when the rollout is verified.
    #[serde(default)]
    pub expected_build_revision: String,
    /// Defaults to the tag of the image named by `artifact_id`.
    #[serde(default)]
    pub expected_build_tag: String,
    #[serde(default = "rollout_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub rollout_timeout_seconds: u32,
    #[serde(default = "rollout_interval_seconds")]
    #[schemars(range(min = 1))]
    pub rollout_interval_seconds: u32,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub no_cache: bool,
}

/// What the deploy and its rollout verification did.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableDeployResult {
    pub deployment_record_id: String,
    pub deploy_status: ReleaseStatus,
    pub deploy_started_at: String,
    pub deploy_finished_at: String,
    pub target_name: String,
    pub target_type: String,
    pub target_id: String,
    #[serde(default = "lifecycle_records::skipped")]
    pub rollout_status: ReleaseStatus,
    pub rollout_base_url: String,
    pub rollout_health_urls: Vec<String>,
    pub rollout_started_at: String,
    pub rollout_finished_at: String,
    pub error_message: String,
}

/// `verification` of `testing-verification`: fold the testing workflow's
/// check outcomes into the stored testing deployment.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TestingVerificationRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// Must be `testing`.
    #[serde(default = "testing")]
    pub instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub deployment_record_id: String,
    /// Any CI spelling of pass, fail, skipped or pending.
    #[schemars(transform = release_status_schema)]
    pub migration_status: String,
    #[schemars(transform = release_status_schema)]
    pub verification_status: String,
    #[schemars(transform = release_status_schema)]
    pub owner_routes_status: String,
}

/// `environment`: where a stable lane lives, for workflows that test it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableEnvironmentRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    pub instance: StableInstance,
}

/// The lane's target and URLs, resolved from Launchplane's records.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableEnvironmentResult {
    pub context: String,
    pub instance: StableInstance,
    pub target_name: String,
    pub target_type: String,
    pub target_id: String,
    pub base_urls: Vec<String>,
    pub primary_base_url: String,
    pub healthcheck_path: String,
    /// `<base>/api/health` for every base URL.
    pub health_urls: Vec<String>,
}

/// `verification` of `runtime-verification`: rollout verification alone.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RolloutVerificationRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default)]
    pub instance: StableInstance,
    #[serde(default)]
    pub expected_build_revision: String,
    #[serde(default)]
    pub expected_build_tag: String,
    #[serde(default = "rollout_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
    #[serde(default = "rollout_interval_seconds")]
    #[schemars(range(min = 1))]
    pub interval_seconds: u32,
}

/// Whether the expected build is live and serving its pages.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RolloutVerificationResult {
    pub status: ReleaseStatus,
    pub base_url: String,
    pub health_urls: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    pub error_message: String,
}

// ---------------------------------------------------------- app maintenance

/// Maintenance runs against stable testing or against one preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaintenanceContext {
    /// The stable lanes.
    #[default]
    #[serde(rename = "verireel")]
    Stable,
    /// The preview context.
    #[serde(rename = "verireel-testing")]
    Preview,
}

/// Follows from the context: `testing` for stable, `preview` for previews.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceInstance {
    #[default]
    Testing,
    Preview,
}

/// The allow-listed maintenance commands; nothing else can be run.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum MaintenanceAction {
    Migrate,
    GrantSponsored,
    PromoteOwner,
    DeleteUser,
    ResetTesting,
}

impl MaintenanceAction {
    /// Commands that act on the stable testing database as a whole.
    pub fn is_lane_wide(self) -> bool {
        matches!(
            self,
            MaintenanceAction::Migrate | MaintenanceAction::ResetTesting
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceAction::Migrate => "migrate",
            MaintenanceAction::GrantSponsored => "grant-sponsored",
            MaintenanceAction::PromoteOwner => "promote-owner",
            MaintenanceAction::DeleteUser => "delete-user",
            MaintenanceAction::ResetTesting => "reset-testing",
        }
    }
}

/// Why a maintenance command runs. The later original demanded it, so that
/// a workflow grant for one purpose cannot be reused for another command;
/// the earlier one did not, and neither does this port (reference §4.4).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum MaintenanceIntent {
    StableTestingMigration,
    StableTestingReset,
    StableTestingRemoteE2eGrantSponsored,
    RemoteE2eGrantSponsored,
    RemoteE2eDeleteUser,
    OwnerRoutePromoteOwner,
    OwnerRouteDeleteUser,
}

impl MaintenanceIntent {
    /// The only action and context each intent allows.
    pub fn requires(self) -> (MaintenanceAction, MaintenanceContext) {
        use MaintenanceAction as A;
        use MaintenanceContext as C;
        match self {
            MaintenanceIntent::StableTestingMigration => (A::Migrate, C::Stable),
            MaintenanceIntent::StableTestingReset => (A::ResetTesting, C::Stable),
            MaintenanceIntent::StableTestingRemoteE2eGrantSponsored => {
                (A::GrantSponsored, C::Stable)
            }
            MaintenanceIntent::RemoteE2eGrantSponsored => (A::GrantSponsored, C::Preview),
            MaintenanceIntent::RemoteE2eDeleteUser => (A::DeleteUser, C::Preview),
            MaintenanceIntent::OwnerRoutePromoteOwner => (A::PromoteOwner, C::Stable),
            MaintenanceIntent::OwnerRouteDeleteUser => (A::DeleteUser, C::Stable),
        }
    }
}

/// `maintenance`: run one allow-listed command against stable testing or one
/// preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AppMaintenanceRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default)]
    pub context: MaintenanceContext,
    #[serde(default)]
    pub instance: MaintenanceInstance,
    pub action: MaintenanceAction,
    /// Why the command runs; optional, as in the earlier original. When
    /// given it must match the action and context.
    #[serde(default)]
    pub intent: Option<MaintenanceIntent>,
    /// Required by the per-user commands, refused by the lane-wide ones.
    #[serde(default)]
    pub email: String,
    /// Preview only: `ver-preview-pr-<n>-app`.
    #[serde(default)]
    pub application_name: String,
    /// Preview only: `pr-<n>`.
    #[serde(default)]
    pub preview_slug: String,
    #[serde(default = "preview_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
}

/// What the command did, named by the schedule it ran as.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AppMaintenanceResult {
    /// A failing command is reported here (HTTP 202), not as an error.
    pub maintenance_status: PassFail,
    pub action: MaintenanceAction,
    #[serde(default)]
    pub intent: String,
    pub context: String,
    pub instance: String,
    pub application_name: String,
    pub application_id: String,
    pub schedule_name: String,
    pub started_at: String,
    pub finished_at: String,
    #[serde(default)]
    pub error_message: String,
}

// ------------------------------------------------------------ promotion

/// Long enough for a whole-container snapshot.
fn backup_timeout_seconds() -> u32 {
    1800
}

/// `backup_gate`: snapshot prod before a prod-changing action. The first call
/// starts the snapshot and answers `pending`; later calls report on it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdBackupGateRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// Must be `prod`.
    #[serde(default = "prod")]
    pub instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub backup_record_id: String,
    #[serde(default = "backup_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
}

/// The snapshot the gate took, or that it is still `pending`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdBackupGateResult {
    pub backup_record_id: String,
    pub backup_status: ReleaseStatus,
    pub backup_started_at: String,
    pub backup_finished_at: String,
    pub snapshot_name: String,
    pub error_message: String,
}

/// `promotion`: gate → deploy → migrations → health → promotion record.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// Must be `testing`.
    #[serde(default = "testing")]
    pub from_instance: String,
    /// Must be `prod`.
    #[serde(default = "prod")]
    pub to_instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub artifact_id: String,
    #[schemars(pattern(NON_BLANK))]
    pub source_git_ref: String,
    #[schemars(pattern(NON_BLANK))]
    pub backup_record_id: String,
    /// The caller names the promotion record, so a retried workflow writes
    /// the same record.
    #[schemars(pattern(NON_BLANK))]
    pub promotion_record_id: String,
    /// Any CI spelling of the source lane's health outcome.
    #[serde(default = "skipped")]
    #[schemars(transform = release_status_schema)]
    pub source_health_status: String,
    #[serde(default)]
    pub expected_build_revision: String,
    #[serde(default)]
    pub expected_build_tag: String,
    #[serde(default = "rollout_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub rollout_timeout_seconds: u32,
    #[serde(default = "rollout_interval_seconds")]
    #[schemars(range(min = 1))]
    pub rollout_interval_seconds: u32,
    #[serde(default)]
    pub no_cache: bool,
}

/// Per-step statuses, so a failed promotion says where it stopped.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionResult {
    pub promotion_record_id: String,
    pub deployment_record_id: String,
    pub backup_record_id: String,
    pub deploy_status: ReleaseStatus,
    pub rollout_status: ReleaseStatus,
    pub migration_status: ReleaseStatus,
    pub health_status: ReleaseStatus,
    pub deploy_started_at: String,
    pub deploy_finished_at: String,
    pub target_name: String,
    pub target_type: String,
    pub target_id: String,
    pub error_message: String,
}

/// `rollback`: restore prod from the gate's snapshot, then check health.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdRollbackRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// Must be `prod`.
    #[serde(default = "prod")]
    pub instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub promotion_record_id: String,
    #[schemars(pattern(NON_BLANK))]
    pub backup_record_id: String,
    /// Defaults to the snapshot recorded by the backup gate.
    #[serde(default)]
    pub snapshot_name: String,
    #[serde(default)]
    pub expected_build_revision: String,
    #[serde(default)]
    pub expected_build_tag: String,
    #[serde(default = "rollout_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub rollout_timeout_seconds: u32,
    #[serde(default = "rollout_interval_seconds")]
    #[schemars(range(min = 1))]
    pub rollout_interval_seconds: u32,
    #[serde(default = "yes")]
    pub start_after_rollback: bool,
}

/// Which snapshot was restored and whether prod came back healthy.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdRollbackResult {
    pub promotion_record_id: String,
    pub backup_record_id: String,
    pub snapshot_name: String,
    pub rollback_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub rollback_health_status: ReleaseStatus,
    pub rollback_started_at: String,
    pub rollback_finished_at: String,
    pub error_message: String,
}

// ------------------------------------------------------------- previews

/// `refresh`: create or update the preview of one VeriReel pull request.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewRefreshRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel_testing")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub anchor_repo: String,
    #[schemars(range(min = 1))]
    pub anchor_pr_number: u64,
    #[schemars(pattern(NON_BLANK))]
    pub anchor_pr_url: String,
    #[schemars(pattern(NON_BLANK))]
    pub anchor_head_sha: String,
    /// Must be `pr-<anchor_pr_number>`.
    #[schemars(pattern(NON_BLANK))]
    pub preview_slug: String,
    /// Optional override; by default derived from the slug and the context's
    /// `LAUNCHPLANE_PREVIEW_BASE_URL`.
    #[serde(default)]
    pub preview_url: String,
    #[schemars(pattern(NON_BLANK))]
    pub image_reference: String,
    #[serde(default = "preview_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
    /// Whether the seed job runs after the migrations (the original always
    /// seeded; `false` skips it).
    #[serde(default = "yes")]
    pub seed: bool,
}

/// What the refresh did; failures are results (HTTP 202), not errors.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewRefreshResult {
    pub refresh_status: PassFail,
    pub refresh_started_at: String,
    pub refresh_finished_at: String,
    pub application_name: String,
    pub application_id: String,
    pub preview_url: String,
    pub error_message: String,
}

/// `destroy`: remove one preview, its domains and its database.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel_testing")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub anchor_repo: String,
    #[schemars(range(min = 1))]
    pub anchor_pr_number: u64,
    /// Must be `pr-<anchor_pr_number>`.
    #[schemars(pattern(NON_BLANK))]
    pub preview_slug: String,
    #[schemars(pattern(NON_BLANK))]
    pub destroy_reason: String,
    #[serde(default = "preview_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
}

/// What the destroy did; failures are results (HTTP 202), not errors.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyResult {
    pub destroy_status: PassFail,
    pub destroy_started_at: String,
    pub destroy_finished_at: String,
    pub application_name: String,
    pub application_id: String,
    pub preview_url: String,
    pub error_message: String,
}

/// `inventory`: list the preview applications that exist right now.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewInventoryRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel_testing")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
}

/// One preview found by a scan. The camelCase keys are the original's.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreviewInventoryItem {
    pub application_id: String,
    pub application_name: String,
    pub preview_slug: String,
}

/// The previews that exist right now.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewInventoryResult {
    pub context: String,
    pub previews: Vec<PreviewInventoryItem>,
}

/// `verification` of `preview-verification`: the product's end-to-end run
/// against a preview decides whether its latest generation is ready.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewVerificationRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[serde(default = "verireel_testing")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default = "verireel")]
    #[schemars(pattern(NON_BLANK))]
    pub anchor_repo: String,
    #[schemars(range(min = 1))]
    pub anchor_pr_number: u64,
    /// Exactly `pass` or `fail` (no CI spellings here).
    pub verification_status: PassFail,
    #[schemars(pattern(NON_BLANK))]
    pub verified_at: String,
    #[serde(default)]
    pub failure_summary: String,
}
