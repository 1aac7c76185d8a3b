//! Rollback plans and rollbacks.

use launchplane_sdk::prelude::*;

use super::*;
use crate::checks::NON_BLANK;

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
