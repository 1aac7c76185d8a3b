//! Stable target replacement: recreate an Odoo lane's runtime target in place
//! from Launchplane-rendered configuration, after a read-only plan.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

use super::{PassFail, PassFailSkipped, ReadyBlocked, UntypedResult, schema_version, yes};
use crate::checks::NON_BLANK;

/// How the target is replaced; only `recreate-in-place` can be applied yet.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    RecreateInPlace,
    ReplaceAndCutover,
}

/// Where the replaced target's data comes from; anything but `existing`
/// needs the lane's prelaunch-rebuild policy.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataSourceMode {
    #[default]
    Existing,
    Empty,
    UpstreamRestore,
}

/// `replacement` of `target-replacement-plan`. The context comes from the
/// product profile's lane, never from the payload.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetReplacementPlanRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    #[serde(default)]
    pub strategy: Strategy,
    /// Required before missing data volumes count as intentional.
    #[serde(default)]
    pub allow_empty_data: bool,
    #[serde(default)]
    pub data_source_mode: DataSourceMode,
    #[serde(default)]
    pub confirmation: String,
    /// Both or neither of `artifact_id` and `source_git_ref`; the default is
    /// the artifact currently in the lane's inventory.
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub source_git_ref: String,
    #[serde(default)]
    pub expected_current_artifact_id: String,
}

/// `replacement` of `target-replacement-apply`: the plan request plus the
/// verification and deploy knobs. Only `recreate-in-place` can be applied.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetReplacementApplyRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    #[serde(default)]
    pub strategy: Strategy,
    #[serde(default)]
    pub allow_empty_data: bool,
    #[serde(default)]
    pub data_source_mode: DataSourceMode,
    #[serde(default)]
    pub confirmation: String,
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub source_git_ref: String,
    #[serde(default)]
    pub expected_current_artifact_id: String,
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default = "yes")]
    pub verify_canonical: bool,
    #[serde(default = "yes")]
    pub verify_logo: bool,
    #[serde(default)]
    pub no_cache: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub health_timeout_seconds: Option<u32>,
}

/// What the lane's runtime target looks like today.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CurrentTarget {
    pub target_type: String,
    pub target_id: String,
    pub target_name: String,
    pub project_name: String,
    pub source_type: String,
    pub compose_path: String,
    pub compose_file_sha256: String,
    pub domain_hosts: Vec<String>,
    pub latest_deployment_status: String,
    pub latest_deployment_id: String,
    /// Names only; values never leave the host.
    pub env_keys: Vec<String>,
    pub required_volume_keys_present: Vec<String>,
    pub required_volume_keys_missing: Vec<String>,
    pub runtime_identity_present: bool,
    pub runtime_identity_deployment_record_id: String,
}

/// `manual` steps are left to an operator on purpose.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ready,
    Blocked,
    Manual,
}

/// One step of the plan, so an operator sees what apply would do.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PlanStep {
    pub step_id: String,
    pub status: StepStatus,
    pub message: String,
}

/// `OdooStableTargetReplacementPlan`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetReplacementPlan {
    pub plan_status: ReadyBlocked,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub strategy: Strategy,
    pub target_record_found: bool,
    pub target_id_record_found: bool,
    pub inventory_found: bool,
    pub current_target: Option<CurrentTarget>,
    pub expected_next_target_name: String,
    pub expected_domain_hosts: Vec<String>,
    pub expected_artifact_id: String,
    pub expected_source_git_ref: String,
    pub allow_empty_data: bool,
    pub data_source_mode: DataSourceMode,
    pub approval_issue_url: String,
    /// The reference does not name the shape of blockers and warnings.
    pub blockers: Vec<Value>,
    pub warnings: Vec<Value>,
    pub steps: Vec<PlanStep>,
}

/// The only strategy an applied replacement can report.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AppliedStrategy {
    RecreateInPlace,
}

/// Outcome of applying the lane's instance overrides after the deploy.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverrideApplyStatus {
    Pending,
    Pass,
    Fail,
    #[default]
    Skipped,
}

/// The eventual result of the target-replacement operation.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetReplacementApplyResult {
    pub product: String,
    pub context: String,
    pub instance: String,
    pub strategy: AppliedStrategy,
    #[serde(default)]
    pub deployment_record_id: String,
    #[serde(default)]
    pub release_tuple_id: String,
    pub deploy_status: PassFail,
    #[serde(default)]
    pub post_deploy_status: PassFailSkipped,
    #[serde(default)]
    pub post_deploy_override_status: OverrideApplyStatus,
    #[serde(default)]
    pub post_deploy_override_record_found: bool,
    #[serde(default)]
    pub post_deploy_override_payload_rendered: bool,
    #[serde(default)]
    pub post_deploy_override_count: u32,
    #[serde(default)]
    pub post_deploy_website_bootstrap_included: bool,
    #[serde(default)]
    pub post_deploy_override_evidence: BTreeMap<String, String>,
    #[serde(default)]
    pub health_status: PassFailSkipped,
    #[serde(default)]
    pub canonical_status: PassFailSkipped,
    #[serde(default)]
    pub logo_status: PassFailSkipped,
    #[serde(default)]
    pub health_url: String,
    #[serde(default)]
    pub canonical_url: String,
    #[serde(default)]
    pub logo_urls: Vec<String>,
    #[serde(default)]
    pub verification_evidence: UntypedResult,
    #[serde(default)]
    pub runtime_identity_injected: bool,
    #[serde(default)]
    pub target_id: String,
    #[serde(default)]
    pub target_name: String,
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub image_reference: String,
    #[serde(default)]
    pub runtime_source: BTreeMap<String, String>,
    #[serde(default)]
    pub error_message: String,
}
