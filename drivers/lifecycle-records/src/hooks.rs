//! The extension hooks of the web lifecycle, with their payloads and
//! answers: the ones generic-web calls, and the two the host calls for an
//! extension's action that runs a generic-web action (`adapt-request`,
//! `adapt-result`). They live here, beside the record shapes, because they
//! are the contract between generic-web and the drivers that extend it.
//!
//! An extension driver (one whose descriptor `extends("generic-web")`)
//! implements any of these for its products with `Driver::hook`. A product
//! whose driver does not implement a hook answers `{}`, which every hook
//! below reads as "carry on unchanged". Payloads may gain fields in later
//! versions: extensions should ignore fields they do not know. Answers are
//! read leniently too.
//!
//! A hook that returns an error fails the action with that error, after the
//! driver has recorded the failure in the record it was about to write
//! (`runtime_source.failure_stage = "<hook> hook"` on deployments,
//! `post_deploy_update.detail` on promotions, a failed generation on
//! previews, a blocker on rollback plans).

use std::collections::BTreeMap;

use launchplane_sdk::host::HostExt;
use launchplane_sdk::prelude::*;

pub const PRE_DEPLOY: &str = "pre-deploy";
pub const POST_DEPLOY: &str = "post-deploy";
pub const PROMOTION_GATE: &str = "promotion-gate";
pub const ROLLBACK_SELECT: &str = "rollback-select";
pub const PREVIEW_ENV: &str = "preview-env";
pub const VERIFY: &str = "verify";

/// Called by the host for an extension's action that runs a base action:
/// the extension's validated request in, the base action's request out.
pub const ADAPT_REQUEST: &str = "adapt-request";
/// Called by the host after the base action answered: payload
/// [`AdaptResultPayload`], answer [`AdaptResultAnswer`].
pub const ADAPT_RESULT: &str = "adapt-result";

/// Called by the host before it enqueues an async action's operation: the
/// action's driver proves the validated request (payload) at request time;
/// an error refuses the request, `{}` admits it.
pub const ADMIT_OPERATION: &str = "admit-operation";

/// Every hook generic-web calls, in lifecycle order of first use.
pub const ALL: [&str; 6] = [
    PRE_DEPLOY,
    POST_DEPLOY,
    PROMOTION_GATE,
    ROLLBACK_SELECT,
    PREVIEW_ENV,
    VERIFY,
];

/// The health probe outcome handed to `post-deploy` and `verify`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct HealthFacts {
    /// `pass`, `fail` or `skipped`.
    pub status: String,
    /// The URL that answered (empty when skipped).
    pub url: String,
    /// Every URL that was tried, in order.
    pub urls: Vec<String>,
    /// Runtime identity echo: `match`, `mismatch`, `missing`, `malformed`
    /// or empty.
    pub identity: String,
    pub detail: String,
}

/// Payload of `pre-deploy`, `post-deploy` and `verify`: one lane deploy.
///
/// * `pre-deploy` runs after the runtime identity env is set on the lane and
///   before the lane's image changes. Answer `{}`; an error stops the deploy
///   before any image change (deployment recorded as failed).
/// * `post-deploy` runs after the deploy and its health check passed.
///   Answer `{}` when there was nothing to do, or
///   `{"attempted": true, "detail": "..."}` to record the product's
///   post-deploy step in `post_deploy_update`. An error records
///   `post_deploy_update` as failed and fails the action.
/// * `verify` runs last, after `post-deploy`. Answer `{}` or
///   `{"verified": true}` to accept the deploy; `{"verified": false,
///   "reason": "..."}` or an error rejects it: destination health is
///   recorded as `fail`, so the host does not move the lane's inventory,
///   and the action fails.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct DeployHookPayload {
    /// The hook point: `pre-deploy`, `post-deploy` or `verify`.
    pub hook: String,
    /// `stable_deploy`, `prod_promotion` or `prod_rollback`.
    pub action: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    /// The deployment record this deploy will be written as.
    pub deployment_record_id: String,
    pub artifact_id: String,
    /// The immutable image reference the lane is pointed at.
    pub image_reference: String,
    pub source_git_ref: String,
    /// Provider-neutral runtime target name of the lane.
    pub target_name: String,
    /// Absent for `pre-deploy`.
    pub health: Option<HealthFacts>,
    /// How long the lane's health may be polled, in seconds: a hook that
    /// checks the deploy itself (`verify`) keeps to the same window.
    pub health_timeout_seconds: u32,
}

/// Answer of `post-deploy`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct PostDeployAnswer {
    pub attempted: bool,
    pub detail: String,
}

/// Answer of `verify`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct VerifyAnswer {
    /// `false` rejects the deploy; absent or `true` accepts it.
    pub verified: Option<bool>,
    pub reason: String,
}

/// Payload of `promotion-gate`, called once the source lane's health is
/// known and before anything changes on the destination lane.
///
/// Answer `{}` or `{"allowed": true}` to let the promotion proceed, or
/// `{"allowed": false, "reason": "..."}` to block it: a blocked promotion
/// is recorded (deploy `skipped`, the reason in `post_deploy_update.detail`)
/// and the action fails with `precondition_failed` naming the reason.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct PromotionGatePayload {
    pub product: String,
    /// The destination lane's context (the promotion's context).
    pub context: String,
    pub source_context: String,
    pub from_instance: String,
    pub to_instance: String,
    pub artifact_id: String,
    pub image_reference: String,
    pub source_git_ref: String,
    pub promotion_record_id: String,
    pub deployment_record_id: String,
    pub backup_record_id: String,
    /// `pass`, `fail` or `skipped`.
    pub source_health_status: String,
}

/// Answer of `promotion-gate`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct PromotionGateAnswer {
    pub allowed: Option<bool>,
    pub reason: String,
}

/// One stored deployment a rollback could return to.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct RollbackCandidate {
    pub deployment_record_id: String,
    pub artifact_id: String,
    pub image_reference: String,
    pub source_git_ref: String,
    pub finished_at: String,
}

/// Payload of `rollback-select`, called while a rollback plan is built.
///
/// `selected` is the driver's choice (the request's
/// `rollback_deployment_record_id`, else the newest earlier passing
/// deployment of the lane that is not the current one), `candidates` every
/// earlier passing deployment found, newest first.
///
/// Answer `{}` to keep the choice, or `{"deployment_record_id": "...",
/// "reason": "..."}` to roll back to another stored deployment of the lane
/// instead; the override is checked like any rollback target (same lane,
/// deploy passed, health not failed, immutable image).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct RollbackSelectPayload {
    pub product: String,
    pub context: String,
    pub instance: String,
    /// `request` (named by the caller) or `previous_deployment`.
    pub selection: String,
    pub current_deployment_record_id: String,
    pub current_artifact_id: String,
    pub selected: Option<RollbackCandidate>,
    pub candidates: Vec<RollbackCandidate>,
}

/// Answer of `rollback-select`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct RollbackSelectAnswer {
    pub deployment_record_id: String,
    pub reason: String,
}

/// Payload of `preview-env`, called after readiness passed and before the
/// preview application is created.
///
/// Answer `{}` or `{"env": {"KEY": "value", ...}}`: the keys are added to
/// (or override) the preview's environment. An error fails the refresh
/// before any provider change; the preview and a failed generation are
/// recorded.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct PreviewEnvPayload {
    pub product: String,
    pub context: String,
    pub preview_slug: String,
    pub anchor_pr_number: u64,
    pub application_name: String,
    pub preview_url: String,
    /// `host[:port]` of the preview URL.
    pub preview_host: String,
    pub image_reference: String,
    pub template_context: String,
    pub template_instance: String,
    /// The env keys the driver will set (values are not repeated here).
    pub env_keys: Vec<String>,
}

/// Answer of `preview-env`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct PreviewEnvAnswer {
    pub env: BTreeMap<String, String>,
}

/// Calls a hook with a typed payload and a lenient typed answer.
pub fn call<P: Serialize, R: serde::de::DeserializeOwned>(
    ctx: &Ctx<'_>,
    hook: &str,
    payload: &P,
) -> Result<R, DriverError> {
    ctx.host().hook(hook, payload)
}

/// Payload of `adapt-result`: the extension's own request, the request
/// the base action ran with, and what the base action answered, or, when
/// it failed, `result: null` and its `error`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct AdaptResultPayload {
    pub request: Value,
    pub base_request: Value,
    pub result: Value,
    pub records: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BaseFailure>,
}

/// A failed base action, as `adapt-result` sees it. An answer with a
/// `result` object turns it into the action's answer (the original
/// answered a failure it had recorded as a 202 with a failed status); an
/// answer without one (`AdaptResultAnswer::default()`) keeps the failure.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct BaseFailure {
    /// `invalid_request`, `precondition_failed`, `not_found`,
    /// `provider_failed`, `internal`, …
    pub kind: String,
    pub message: String,
}

/// Answer of `adapt-result`: the extension's result object, `records`
/// keys to add or replace, and `replayable: false` for an answer the host
/// must not keep for idempotent replay (absent: the base action's say).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct AdaptResultAnswer {
    pub result: Value,
    pub records: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayable: Option<bool>,
}

/// The key of an `adapt-request` answer that ends the action with the
/// extension's own answer instead of running the base action:
/// `{"$finish": {"result": {...}, "records": {...}, "replayable": bool}}`.
/// An extension whose own step (a gate it captures first, a plan it
/// checks) did not pass answers so; the host runs that step with the
/// record kinds the extension's action declares.
pub const FINISH: &str = "$finish";
