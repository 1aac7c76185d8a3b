//! Stable promotion: a backup gate first, then testing → prod, and a way back.

use launchplane_sdk::prelude::*;

use super::{
    PassFail, PassFailSkipped, ReadyBlocked, ReleaseStatus, prod, schema_version, testing, yes,
};
use crate::checks::NON_BLANK;

/// `backup_gate`: dump the prod database and filestore before a prod change,
/// so the change has a concrete restore point.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdBackupGateRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// Lower-cased; must be `prod`.
    #[serde(default = "prod")]
    pub instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub backup_record_id: String,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
}

/// Where the backup landed, so a restore does not have to guess.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdBackupGateResult {
    pub context: String,
    pub instance: String,
    pub backup_record_id: String,
    pub backup_status: PassFail,
    pub backup_root: String,
    pub database_dump_path: String,
    pub filestore_archive_path: String,
    pub manifest_path: String,
    pub error_message: String,
}

/// `promotion`: ship the artifact of the current testing release tuple to
/// prod, once a passing backup gate exists for prod.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// Lower-cased; only `testing` → `prod`.
    #[serde(default = "testing")]
    pub from_instance: String,
    #[serde(default = "prod")]
    pub to_instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub artifact_id: String,
    #[schemars(pattern(NON_BLANK))]
    pub backup_record_id: String,
    #[serde(default)]
    pub source_git_ref: String,
    #[serde(default = "yes")]
    pub wait: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    /// Needs `wait`: health cannot be verified for a deploy not waited for.
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub health_timeout_seconds: Option<u32>,
    #[serde(default)]
    pub no_cache: bool,
}

/// What the promotion did; the ids name the records it wrote.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionResult {
    pub context: String,
    pub from_instance: String,
    pub to_instance: String,
    pub artifact_id: String,
    pub backup_record_id: String,
    pub promotion_record_id: String,
    pub deployment_record_id: String,
    /// `<context>-prod-<artifact_id>` once the promoted tuple is minted.
    pub release_tuple_id: String,
    pub promotion_status: PassFail,
    #[serde(default = "lifecycle_records::skipped")]
    pub deployment_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub post_deploy_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub destination_health_status: ReleaseStatus,
    #[serde(default)]
    pub error_message: String,
}

/// The only channel prod rolls back from.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SourceChannel {
    #[default]
    Testing,
}

/// `rollback`: redeploy prod from the testing tuple or an explicit stored
/// artifact. Ids are never invented: everything is read from records.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdRollbackRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// Lower-cased; must be `prod`.
    #[serde(default = "prod")]
    pub instance: String,
    #[serde(default)]
    pub source_channel: SourceChannel,
    /// Defaults to the promotion recorded in prod's inventory.
    #[serde(default)]
    pub promotion_record_id: String,
    /// An explicit stored artifact instead of the testing tuple.
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default = "yes")]
    pub wait: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    /// Needs `wait`.
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub health_timeout_seconds: Option<u32>,
    #[serde(default)]
    pub no_cache: bool,
}

/// Where the rolled-back artifact came from.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RollbackSource {
    Testing,
    Artifact,
}

/// What the rollback did; the ids name the records it read and wrote.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdRollbackResult {
    pub context: String,
    pub instance: String,
    pub source_channel: RollbackSource,
    pub artifact_id: String,
    pub promotion_record_id: String,
    pub deployment_record_id: String,
    pub release_tuple_id: String,
    pub rollback_status: PassFail,
    #[serde(default)]
    pub rollback_health_status: PassFailSkipped,
    #[serde(default)]
    pub post_deploy_status: PassFailSkipped,
    #[serde(default)]
    pub error_message: String,
}

/// `inputs`: is prod promotable right now, and with what? Answers `blocked`
/// (not an error) when testing has no current release tuple.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionInputsRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default = "testing")]
    pub from_instance: String,
    #[serde(default = "prod")]
    pub to_instance: String,
    /// A stable id of the promotion request; the backup record id is derived
    /// from it so a retried request reuses the same gate. Required.
    #[serde(default)]
    pub request_id: String,
}

/// The inputs a promotion should use, or why there are none yet.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionInputsResult {
    pub context: String,
    pub from_instance: String,
    pub to_instance: String,
    pub request_id: String,
    pub input_status: ReadyBlocked,
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub source_git_ref: String,
    /// `backup-gate-<context>-<to_instance>-<request_id>` (slugged) when ready.
    #[serde(default)]
    pub backup_record_id: String,
    #[serde(default)]
    pub release_tuple_id: String,
    #[serde(default)]
    pub image_repository: String,
    #[serde(default)]
    pub image_digest: String,
    #[serde(default)]
    pub error_message: String,
}

/// `run`: inputs, backup gate and promotion in one call. The reference only
/// names `product`, `context` and the request id; the other fields are the
/// original's `OdooProdPromotionRunRequest`, read from its public source.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionRunRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[serde(default = "testing")]
    pub from_instance: String,
    #[serde(default = "prod")]
    pub to_instance: String,
    #[serde(default)]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub request_id: String,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub backup_timeout_seconds: Option<u32>,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub promotion_timeout_seconds: Option<u32>,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub health_timeout_seconds: Option<u32>,
    #[serde(default = "yes")]
    pub wait: bool,
    /// Needs `wait`.
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default)]
    pub no_cache: bool,
}

/// How a promotion run ended: `blocked` (nothing shippable yet, nothing
/// done), `fail` (a step failed: see the step statuses) or `pass`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Pass,
    Fail,
    Blocked,
}

/// What `prod-promotion-run` did, step by step: the inputs it resolved,
/// the backup gate it captured, the promotion it ran (the original's
/// `OdooProdPromotionRunResult`).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProdPromotionRunResult {
    pub context: String,
    pub from_instance: String,
    pub to_instance: String,
    pub request_id: String,
    pub run_status: RunStatus,
    pub input_status: ReadyBlocked,
    pub backup_status: PassFailSkipped,
    pub promotion_status: PassFailSkipped,
    #[serde(default = "lifecycle_records::skipped")]
    pub deployment_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub post_deploy_status: ReleaseStatus,
    #[serde(default = "lifecycle_records::skipped")]
    pub destination_health_status: ReleaseStatus,
    pub artifact_id: String,
    pub source_git_ref: String,
    pub backup_record_id: String,
    pub promotion_record_id: String,
    pub deployment_record_id: String,
    pub release_tuple_id: String,
    pub image_repository: String,
    pub image_digest: String,
    pub error_message: String,
}
