//! Request and result shapes of the generic-web routes.
//!
//! Field names, defaults and enum spellings are the original service's, so
//! tenant workflows keep sending the payloads they already send. Every struct
//! refuses unknown fields, as the original's `extra="forbid"` models did.

use launchplane_sdk::prelude::*;

use crate::checks::{NON_BLANK, release_status_schema};

/// A JSON object whose fields the reference does not name; kept as an object
/// (not any JSON value) because results always are one.
pub type UntypedResult = serde_json::Map<String, Value>;

fn schema_version() -> u32 {
    1
}

fn testing() -> String {
    "testing".to_string()
}

fn prod() -> String {
    "prod".to_string()
}

fn yes() -> bool {
    true
}

fn three_hundred() -> u32 {
    300
}

pub use lifecycle_records::{DataTransportMode, PassFail, ReleaseStatus};

// ---------------------------------------------------------------- stable deploy

/// `deploy`: ship an immutable artifact to one lane of a generic-web product.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    /// A lane instance of the product profile (`testing`, `prod`, ...).
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub artifact_id: String,
    #[schemars(pattern(NON_BLANK))]
    pub source_git_ref: String,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub no_cache: bool,
    /// Probe the lane's health URLs after the deploy (with the expected
    /// runtime identity). Without any URL the check is `skipped`.
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default = "health_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub health_timeout_seconds: u32,
}

/// What the deploy did; the same facts land in the deployment record.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DeployResult {
    pub deployment_record_id: String,
    pub deploy_status: PassFail,
    pub deploy_started_at: String,
    pub deploy_finished_at: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    #[serde(default)]
    pub target_name: String,
    /// Provider-neutral category of the runtime target (the later original
    /// replaced `target_type` with this and the two fields below).
    #[serde(default)]
    pub target_category: String,
    #[serde(default)]
    pub provider_id: String,
    #[serde(default)]
    pub provider_target_type: String,
    #[serde(default)]
    pub target_id: String,
    #[serde(default)]
    pub error_message: String,
    /// The immutable image reference the lane now runs.
    #[serde(default)]
    pub image_reference: String,
    #[serde(default = "lifecycle_records::skipped")]
    pub destination_health_status: ReleaseStatus,
}

fn health_timeout_seconds() -> u32 {
    60
}

// --------------------------------------------------------------- prod promotion

/// `promotion`: promote the testing artifact to prod with health evidence.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub artifact_id: String,
    #[schemars(pattern(NON_BLANK))]
    pub source_git_ref: String,
    /// Lower-cased; only `testing` → `prod` is supported.
    #[serde(default = "testing")]
    pub from_instance: String,
    #[serde(default = "prod")]
    pub to_instance: String,
    #[serde(default)]
    pub backup_record_id: String,
    /// When true a passing backup gate record must be named.
    #[serde(default)]
    pub backup_required: bool,
    /// Must be true: a promotion is only recorded once the deploy finished.
    #[serde(default = "yes")]
    pub wait: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default = "health_timeout_seconds")]
    #[schemars(range(min = 1))]
    pub health_timeout_seconds: u32,
    /// Plan only: answer the would-be ids with `promotion_status: pending`.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub no_cache: bool,
}

/// `pending` only answers a dry run.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PromotionStatus {
    Pending,
    Pass,
    Fail,
}

/// What the promotion did; status fields stay in the result because the
/// records allow-list drops them.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionResult {
    pub product: String,
    pub context: String,
    pub from_instance: String,
    pub to_instance: String,
    pub artifact_id: String,
    pub backup_record_id: String,
    pub promotion_record_id: String,
    pub deployment_record_id: String,
    pub inventory_record_id: String,
    pub promotion_status: PromotionStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub deployment_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub backup_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub source_health_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub destination_health_status: ReleaseStatus,
    #[serde(default)]
    pub target_name: String,
    #[serde(default)]
    pub target_type: String,
    #[serde(default)]
    pub target_id: String,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub error_message: String,
}

// ------------------------------------------------------ promotion workflow

/// Version bump handed to the product's workflow.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

fn observe_timeout_seconds() -> u32 {
    12
}

/// `workflow`: dispatch the product-owned promotion workflow, so promotion can
/// stay in the product's own CI while Launchplane authorizes and observes it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PromotionWorkflowRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default = "yes")]
    pub dry_run: bool,
    #[serde(default)]
    pub bump: Option<Bump>,
    /// How long to look for the dispatched run before answering.
    #[serde(default = "observe_timeout_seconds")]
    #[schemars(range(min = 0, max = 60))]
    pub observe_timeout_seconds: u32,
}

/// A dispatch that fails is an error, so a result always says `dispatched`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DispatchStatus {
    Dispatched,
}

fn pending() -> String {
    "pending".to_string()
}

/// The dispatched run, when exactly one new run could be attributed to it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PromotionWorkflowResult {
    pub product: String,
    pub context: String,
    pub repository: String,
    pub workflow_id: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub dry_run: bool,
    pub bump: Option<Bump>,
    pub dispatch_status: DispatchStatus,
    /// 0 when exactly one new run could not be identified.
    #[serde(default)]
    pub run_id: u64,
    #[serde(default)]
    pub run_url: String,
    #[serde(default = "pending")]
    pub run_status: String,
    #[serde(default)]
    pub run_conclusion: String,
}

// ------------------------------------------------------------- rollback

/// `rollback_plan` and `rollback`. §4 of the reference gives no model for
/// these later routes; this is the original's `GenericWebRollbackPlanRequest`
/// (both envelopes carry it), read from its public source.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RollbackPlanRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    /// Lower-cased lane instance to roll back.
    #[serde(default = "prod")]
    pub instance: String,
    /// The earlier, known-good deployment whose artifact is redeployed.
    /// Left out, the rollback returns to the newest earlier passing
    /// deployment of the lane that is not the one the lane runs now.
    #[serde(default)]
    #[schemars(pattern(NON_BLANK))]
    pub rollback_deployment_record_id: Option<String>,
    #[serde(default)]
    pub backup_record_id: String,
    #[serde(default)]
    pub backup_required: bool,
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub no_cache: bool,
}

/// `ready` plans carry the deploy to run; `blocked` ones say why not.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RollbackPlanStatus {
    Ready,
    Blocked,
}

/// Why a rollback cannot run. Codes are the original's, plus
/// `rollback_select_failed` when the `rollback-select` hook failed.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RollbackBlocker {
    pub code: String,
    pub message: String,
}

/// The deploy a ready rollback plan runs.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RollbackDeployPlan {
    pub product: String,
    pub instance: String,
    pub artifact_id: String,
    /// The immutable image reference the lane is pointed back at.
    pub deploy_reference: String,
    pub source_git_ref: String,
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub no_cache: bool,
    #[serde(default = "yes")]
    pub verify_health: bool,
}

/// How the rollback target was chosen: named by the request, the lane's
/// previous deployment, or overridden by the `rollback-select` hook.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RollbackSelection {
    Request,
    PreviousDeployment,
    Hook,
}

/// The stored `generic_web_rollback_plan` record, which `prod-rollback-plan`
/// answers as is. Keyed by `record_id` (= `plan_id`).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RollbackPlan {
    pub record_id: String,
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub plan_id: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub status: RollbackPlanStatus,
    /// The deployment whose artifact is redeployed (empty when none was
    /// found).
    pub rollback_deployment_record_id: String,
    pub selection: RollbackSelection,
    /// What the lane runs now, per its inventory.
    #[serde(default)]
    pub current_deployment_record_id: String,
    #[serde(default)]
    pub current_artifact_id: String,
    #[serde(default)]
    pub artifact_identity: Option<crate::records::ArtifactIdentityRef>,
    #[serde(default)]
    pub source_git_ref: String,
    #[serde(default)]
    pub planned_deploy: Option<RollbackDeployPlan>,
    #[serde(default)]
    pub backup_record_id: String,
    pub backup_gate: crate::records::BackupGateEvidence,
    /// The health evidence of the deployment rolled back to.
    pub target_health: crate::records::HealthcheckEvidence,
    #[serde(default)]
    pub blockers: Vec<RollbackBlocker>,
    pub created_at: String,
    pub summary: String,
}

/// `blocked` means the plan had blockers and nothing was deployed.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RollbackStatus {
    Pass,
    Fail,
    Blocked,
}

/// What `prod-rollback` did.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RollbackResult {
    pub plan_id: String,
    #[serde(default)]
    pub deployment_record_id: String,
    pub rollback_status: RollbackStatus,
    pub deploy_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub destination_health_status: ReleaseStatus,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub rollback_deployment_record_id: String,
    #[serde(default)]
    pub artifact_id: String,
    /// The promotion annotated with this rollback, if any.
    #[serde(default)]
    pub promotion_record_id: String,
    #[serde(default)]
    pub blockers: Vec<RollbackBlocker>,
    #[serde(default)]
    pub error_message: String,
}

// ---------------------------------------------------------- verification

/// `verification` of `stable-verification`: fold a product's own smoke run
/// into an existing deployment (and promotion) record.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableVerificationRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub deployment_record_id: String,
    #[serde(default)]
    pub promotion_record_id: String,
    /// Any CI spelling of pass or fail (`success`, `failed`, ...).
    #[schemars(transform = release_status_schema)]
    pub verification_status: String,
    #[schemars(pattern(NON_BLANK))]
    pub verified_at: String,
    #[serde(default)]
    pub checked_urls: Vec<String>,
    /// Required when `checked_urls` is not empty.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    /// The health endpoint's JSON, checked against the deployment's runtime
    /// identity.
    #[serde(default)]
    pub health_payload: Option<Value>,
    #[serde(default)]
    pub failure_summary: String,
}

/// `verification` of `preview-verification`: record the product's smoke run
/// against the latest generation of a preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewVerificationRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub anchor_repo: String,
    #[schemars(range(min = 1))]
    pub anchor_pr_number: u64,
    #[schemars(transform = release_status_schema)]
    pub verification_status: String,
    #[schemars(pattern(NON_BLANK))]
    pub verified_at: String,
    #[serde(default)]
    pub checked_urls: Vec<String>,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub failure_summary: String,
}

// ------------------------------------------------------------ previews

fn preview_desired_state_source() -> String {
    "generic-web-preview".to_string()
}

fn preview_label() -> String {
    "preview".to_string()
}

fn max_pages() -> u32 {
    10
}

/// `desired_state`: discover which pull requests want a preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDesiredStateRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default = "preview_desired_state_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
    /// The pull-request label that asks for a preview.
    #[serde(default = "preview_label")]
    #[schemars(pattern(NON_BLANK))]
    pub label: String,
    #[serde(default = "max_pages")]
    #[schemars(range(min = 1, max = 20))]
    pub max_pages: u32,
}

/// One pull request that wants a preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DesiredPreview {
    pub preview_slug: String,
    #[serde(default)]
    pub anchor_repo: String,
    #[serde(default)]
    pub anchor_pr_number: Option<u64>,
    #[serde(default)]
    pub anchor_pr_url: String,
    #[serde(default)]
    pub head_sha: String,
}

fn preview_slug_prefix() -> String {
    "pr-".to_string()
}

/// The stored `PreviewDesiredStateRecord`, which the route answers as is.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDesiredStateResult {
    pub desired_state_id: String,
    pub product: String,
    pub context: String,
    pub source: String,
    pub discovered_at: String,
    pub repository: String,
    pub label: String,
    pub anchor_repo: String,
    #[serde(default = "preview_slug_prefix")]
    pub preview_slug_prefix: String,
    pub status: PassFail,
    pub desired_count: u64,
    pub desired_previews: Vec<DesiredPreview>,
    #[serde(default)]
    pub error_message: String,
}

fn preview_inventory_source() -> String {
    "generic-web-preview-inventory".to_string()
}

/// `inventory`: scan the provider for the product's preview applications.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewInventoryRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default = "preview_inventory_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
}

/// Whether a preview is its own application or a domain on a shared target.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PreviewProviderType {
    #[default]
    Application,
    ComposeDomain,
}

/// One preview found by a scan. The camelCase keys are the original's.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreviewInventoryItem {
    pub application_id: String,
    pub application_name: String,
    pub preview_slug: String,
    #[serde(default)]
    pub provider_type: PreviewProviderType,
    #[serde(default)]
    pub domain_id: String,
    #[serde(default)]
    pub domain_host: String,
}

/// The previews that exist; the route also stores them as a scan record.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewInventoryResult {
    pub product: String,
    pub context: String,
    pub source: String,
    pub app_name_prefix: String,
    pub previews: Vec<PreviewInventoryItem>,
}

fn preview_readiness_source() -> String {
    "generic-web-preview-readiness".to_string()
}

/// `readiness`: check the preview template before anything is created.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewReadinessRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default = "preview_readiness_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
}

/// Readiness never fails: it passes or names what blocks it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PassBlocked {
    Pass,
    Blocked,
}

/// How template data and env reach a preview, without any values.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewTransportSummary {
    pub data_transport_mode: DataTransportMode,
    pub copied_env_keys: Vec<String>,
    pub omitted_env_keys: Vec<String>,
    pub override_env_keys: Vec<String>,
    pub preview_url_env_keys: Vec<String>,
    pub preview_domain_env_keys: Vec<String>,
    pub migration_command_configured: bool,
    pub seed_command_configured: bool,
}

/// One readiness check: `template_lane`, `template_target`, `template_env`,
/// `template_provider_fields` or `transport_policy`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewReadinessCheck {
    pub check_id: String,
    pub status: PassBlocked,
    pub message: String,
}

/// Whether a refresh could run now, and why not.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewReadinessResult {
    pub readiness_status: PassBlocked,
    pub checked_at: String,
    pub product: String,
    pub context: String,
    pub template_context: String,
    pub template_instance: String,
    #[serde(default)]
    pub template_target_type: String,
    #[serde(default)]
    pub template_target_id: String,
    #[serde(default)]
    pub template_target_name: String,
    pub source: String,
    pub missing_template_env_keys: Vec<String>,
    pub missing_provider_fields: Vec<String>,
    pub transport: PreviewTransportSummary,
    pub checks: Vec<PreviewReadinessCheck>,
}

fn preview_refresh_source() -> String {
    "generic-web-preview-refresh".to_string()
}

/// `refresh`: create or update one preview from an immutable image.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewRefreshRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub preview_slug: String,
    /// Optional override; by default the URL is derived from the slug and the
    /// context's `LAUNCHPLANE_PREVIEW_BASE_URL`.
    #[serde(default)]
    pub preview_url: String,
    #[schemars(pattern(NON_BLANK))]
    pub image_reference: String,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub anchor_pr_number: Option<u64>,
    #[serde(default)]
    pub anchor_pr_url: String,
    #[serde(default)]
    pub anchor_head_sha: String,
    #[serde(default = "preview_refresh_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
    #[serde(default = "three_hundred")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
    #[serde(default)]
    pub no_cache: bool,
}

/// `blocked` means readiness stopped the refresh before any mutation.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStatus {
    Pass,
    Blocked,
    Fail,
}

/// One page or endpoint probed after a refresh.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewSmokeCheck {
    pub check_id: String,
    pub status: PassFail,
    pub message: String,
}

/// Smoke checks after a refresh, so a broken preview is not reported ready.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewSmokeResult {
    pub smoke_status: PassFail,
    pub checked_at: String,
    pub checks: Vec<PreviewSmokeCheck>,
    #[serde(default)]
    pub failure_summary: String,
}

/// What the refresh did; failures are results (HTTP 202), not errors.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewRefreshResult {
    pub refresh_status: RefreshStatus,
    pub refresh_started_at: String,
    pub refresh_finished_at: String,
    pub product: String,
    pub context: String,
    pub preview_slug: String,
    pub application_name: String,
    #[serde(default)]
    pub application_id: String,
    pub preview_url: String,
    /// Present when readiness was evaluated; a blocked readiness stops the
    /// refresh before any provider mutation.
    #[serde(default)]
    pub readiness: Option<PreviewReadinessResult>,
    #[serde(default)]
    pub smoke: Option<PreviewSmokeResult>,
    #[serde(default)]
    pub error_message: String,
}

/// `destroy`: remove one preview and its domains.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub preview_slug: String,
    #[schemars(pattern(NON_BLANK))]
    pub destroy_reason: String,
    #[serde(default = "three_hundred")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
}

/// What the destroy did; a preview that was already gone is a pass.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyResult {
    pub destroy_status: PassFail,
    pub destroy_started_at: String,
    pub destroy_finished_at: String,
    pub product: String,
    pub context: String,
    pub preview_slug: String,
    pub application_name: String,
    /// Empty when there was nothing to destroy (still a pass).
    pub application_id: String,
    #[serde(default)]
    pub provider_type: PreviewProviderType,
    #[serde(default)]
    pub domain_ids: Vec<String>,
    #[serde(default)]
    pub error_message: String,
}

// ------------------------------------------------------ verification results

/// Runtime identity outcome of a stable verification's health payload.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    Match,
    Mismatch,
    Missing,
    Malformed,
    Unverifiable,
    Unchecked,
}

/// What `stable-verification` recorded.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableVerificationResult {
    pub deployment_record_id: String,
    #[serde(default)]
    pub promotion_record_id: String,
    /// The lane's inventory id when the verification lets the host move it.
    #[serde(default)]
    pub inventory_record_id: String,
    pub context: String,
    pub instance: String,
    pub verification_status: PassFail,
    pub verified_at: String,
    pub runtime_identity_status: IdentityStatus,
    #[serde(default)]
    pub runtime_identity_detail: String,
    pub destination_health_status: ReleaseStatus,
}

/// The `generic_web_preview_verification` object.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewVerification {
    pub preview_id: String,
    pub generation_id: String,
    pub sequence: u32,
    pub preview_state: crate::records::PreviewState,
    pub generation_state: crate::records::PreviewGenerationState,
    pub verification_status: PassFail,
    pub verified_at: String,
    pub checked_urls: Vec<String>,
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub failure_summary: String,
}

/// What `preview-verification` recorded.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewVerificationResult {
    pub generic_web_preview_verification: PreviewVerification,
}
