//! Stable deploys, prod promotions and the promotion workflow dispatch.

use launchplane_sdk::prelude::*;

use super::*;
use crate::checks::NON_BLANK;

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
    /// The promotion record's id, when the caller names it (so a retried
    /// workflow writes the same record); derived from the time otherwise.
    #[serde(default)]
    pub promotion_record_id: String,
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

fn prod_instance() -> String {
    "prod".to_string()
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
    /// The lane the workflow promotes to; the host authorizes on its
    /// context, which must be `context`.
    #[serde(default = "prod_instance")]
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
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
