//! One lane deploy, shared by stable deploys, promotions and rollbacks:
//! resolve the target, set the runtime identity env, `pre-deploy`, point the
//! lane at the image, deploy, check health, `post-deploy`, `verify`.
//!
//! The pipeline never writes records itself: it always hands back the
//! deployment record describing what happened (also when a step failed) and
//! the failure, so each action writes its records in the order its rules
//! need and then fails.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

use crate::hooks::{self, DeployHookPayload, HealthFacts, PostDeployAnswer, VerifyAnswer};
use crate::models::ReleaseStatus;
use crate::profile::lane_health_urls;
use crate::records::ProductProfile;
use crate::records::{
    ArtifactIdentityRef, DelegatedExecutor, DeploymentEvidence, DeploymentRecord,
    HealthcheckEvidence, PostDeployUpdateEvidence, TargetType, source_keys, target_type_of,
};

/// How long the provider may take to deploy when the request names no
/// timeout.
pub const DEFAULT_DEPLOY_TIMEOUT_SECONDS: u32 = 600;

/// The deploy mode recorded in deployment evidence: an image reference was
/// set on the target and the target redeployed.
pub const DEPLOY_MODE: &str = "image-reference";

/// The runtime identity env keys (reference §6.14).
pub const IDENTITY_JSON_KEY: &str = "LAUNCHPLANE_RUNTIME_IDENTITY_JSON";
pub const DEPLOYMENT_RECORD_ID_KEY: &str = "LAUNCHPLANE_DEPLOYMENT_RECORD_ID";
pub const ARTIFACT_ID_KEY: &str = "LAUNCHPLANE_ARTIFACT_ID";
pub const SOURCE_GIT_REF_KEY: &str = "LAUNCHPLANE_SOURCE_GIT_REF";

/// What to deploy where.
#[derive(Debug, Clone)]
pub struct LanePlan {
    /// The action deploying (`stable_deploy`, `prod_promotion`, `prod_rollback`).
    pub action: &'static str,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub record_id: String,
    pub artifact_id: String,
    pub image_reference: String,
    pub source_git_ref: String,
    pub timeout_seconds: u32,
    pub no_cache: bool,
    pub verify_health: bool,
    pub health_timeout_seconds: u32,
    /// When the action started; the identity's `deployed_at`.
    pub started_at: String,
}

impl LanePlan {
    /// The runtime identity (the host's `RuntimeIdentity`, reference §6.14)
    /// as compact JSON with sorted keys, as the host writes it.
    pub fn identity_json(&self) -> String {
        let text = |s: &str| Value::String(s.to_string());
        let identity: BTreeMap<&str, Value> = BTreeMap::from([
            ("artifact_id", text(&self.artifact_id)),
            ("context", text(&self.context)),
            ("deployed_at", text(&self.started_at)),
            ("deployment_record_id", text(&self.record_id)),
            ("environment_kind", text("stable")),
            ("image_reference", text(&self.image_reference)),
            ("instance", text(&self.instance)),
            ("preview_generation_id", text("")),
            ("preview_id", text("")),
            ("product", text(&self.product)),
            ("release_tuple_id", text("")),
            ("schema_version", Value::from(1)),
            ("source_git_ref", text(&self.source_git_ref)),
        ]);
        serde_json::to_string(&identity).unwrap_or_default()
    }

    /// The env the lane gets before its image changes.
    pub fn identity_env(&self) -> Vec<(String, String)> {
        vec![
            (IDENTITY_JSON_KEY.to_string(), self.identity_json()),
            (DEPLOYMENT_RECORD_ID_KEY.to_string(), self.record_id.clone()),
            (ARTIFACT_ID_KEY.to_string(), self.artifact_id.clone()),
            (SOURCE_GIT_REF_KEY.to_string(), self.source_git_ref.clone()),
        ]
    }

    fn hook_payload(
        &self,
        hook: &str,
        target_name: &str,
        health: Option<HealthFacts>,
    ) -> DeployHookPayload {
        DeployHookPayload {
            hook: hook.to_string(),
            action: self.action.to_string(),
            product: self.product.clone(),
            context: self.context.clone(),
            instance: self.instance.clone(),
            deployment_record_id: self.record_id.clone(),
            artifact_id: self.artifact_id.clone(),
            image_reference: self.image_reference.clone(),
            source_git_ref: self.source_git_ref.clone(),
            target_name: target_name.to_string(),
            health,
            health_timeout_seconds: self.health_timeout_seconds,
        }
    }

    /// The deployment record before anything ran: deploy `pending`, health
    /// `skipped`.
    fn record(&self) -> DeploymentRecord {
        DeploymentRecord {
            schema_version: 1,
            record_id: self.record_id.clone(),
            artifact_identity: Some(ArtifactIdentityRef::new(&self.artifact_id)),
            context: self.context.clone(),
            instance: self.instance.clone(),
            source_git_ref: self.source_git_ref.clone(),
            wait_for_completion: true,
            verify_destination_health: self.verify_health,
            no_cache: self.no_cache,
            delegated_executor: DelegatedExecutor::default(),
            resolved_target: None,
            runtime_source: BTreeMap::from([
                (
                    source_keys::IMAGE_REFERENCE.to_string(),
                    self.image_reference.clone(),
                ),
                (
                    source_keys::RUNTIME_IDENTITY.to_string(),
                    self.identity_json(),
                ),
            ]),
            deploy: DeploymentEvidence {
                target_name: format!("{}-{}", self.product, self.instance),
                target_type: TargetType::Application,
                deploy_mode: DEPLOY_MODE.to_string(),
                deployment_id: String::new(),
                status: ReleaseStatus::Pending,
                started_at: self.started_at.clone(),
                finished_at: String::new(),
            },
            post_deploy_update: PostDeployUpdateEvidence::default(),
            destination_health: HealthcheckEvidence::skipped(),
        }
    }
}

/// The outcome of a lane deploy: the record to write, and why it failed.
#[derive(Debug)]
pub struct LaneOutcome {
    pub record: DeploymentRecord,
    pub target: Option<Target>,
    pub failure: Option<DriverError>,
}

impl LaneOutcome {
    pub fn deploy_passed(&self) -> bool {
        self.record.deploy.status == ReleaseStatus::Pass
    }
}

/// Maps a host failure of a provider step to the action's error: a missing
/// target or capability is a lane precondition, a denial a driver defect,
/// anything else the provider's failure.
pub fn provider_step_error(
    step: &str,
    context: &str,
    instance: &str,
    error: &HostError,
    record_note: &str,
) -> DriverError {
    let message = format!(
        "{step} failed for lane {context}/{instance}: {}{record_note}",
        error.message()
    );
    match error {
        HostError::Denied(_) => DriverError::Internal(message),
        HostError::NotFound(_) | HostError::Unavailable(_) => {
            DriverError::PreconditionFailed(message)
        }
        HostError::Invalid(_) | HostError::ProviderFailed(_) | HostError::Timeout(_) => {
            DriverError::ProviderFailed(message)
        }
    }
}

/// The health of a lane as evidence plus the failure it implies.
/// Identity `mismatch` and `malformed` fail the check whatever the status;
/// `missing` is advisory.
pub fn health_evidence(
    urls: &[String],
    timeout_seconds: u32,
    result: &HealthResult,
) -> HealthcheckEvidence {
    let identity_broken = matches!(result.identity.as_str(), "mismatch" | "malformed");
    match result.status.as_str() {
        "skipped" if !identity_broken => HealthcheckEvidence {
            verified: false,
            urls: urls.to_vec(),
            timeout_seconds: Some(timeout_seconds),
            status: ReleaseStatus::Skipped,
        },
        status => HealthcheckEvidence {
            verified: true,
            urls: urls.to_vec(),
            timeout_seconds: Some(timeout_seconds),
            status: if status == "pass" && !identity_broken {
                ReleaseStatus::Pass
            } else {
                ReleaseStatus::Fail
            },
        },
    }
}

/// Probes `urls` (skipped when empty) and answers the evidence and the raw
/// result. A probe the host could not run counts as a failed check.
pub fn check_health(
    ctx: &Ctx<'_>,
    urls: &[String],
    timeout_seconds: u32,
    expected_identity: Option<String>,
) -> (HealthcheckEvidence, Option<HealthResult>) {
    if urls.is_empty() {
        return (HealthcheckEvidence::skipped(), None);
    }
    let check = HealthCheck {
        urls: urls.to_vec(),
        timeout_ms: timeout_seconds.clamp(1, 5) * 1000,
        poll_for_ms: timeout_seconds.saturating_mul(1000),
        expected_identity,
    };
    let result = ctx
        .host()
        .health_check(&check)
        .unwrap_or_else(|e| HealthResult {
            status: "fail".to_string(),
            url: String::new(),
            status_code: None,
            identity: String::new(),
            detail: format!("the health probe could not run: {}", e.message()),
        });
    (
        health_evidence(urls, timeout_seconds, &result),
        Some(result),
    )
}

/// One line saying why a health check did not pass.
pub fn health_failure_detail(result: Option<&HealthResult>) -> String {
    match result {
        Some(r) => {
            let mut parts = Vec::new();
            if !r.url.is_empty() {
                parts.push(format!("at {}", r.url));
            }
            if let Some(code) = r.status_code {
                parts.push(format!("HTTP {code}"));
            }
            if !r.identity.is_empty() {
                parts.push(format!("runtime identity {}", r.identity));
            }
            if !r.detail.is_empty() {
                parts.push(r.detail.clone());
            }
            parts.join(", ")
        }
        None => String::new(),
    }
}

fn health_facts(evidence: &HealthcheckEvidence, result: Option<&HealthResult>) -> HealthFacts {
    HealthFacts {
        status: evidence.status.as_str().to_string(),
        url: result.map(|r| r.url.clone()).unwrap_or_default(),
        urls: evidence.urls.clone(),
        identity: result.map(|r| r.identity.clone()).unwrap_or_default(),
        detail: result.map(|r| r.detail.clone()).unwrap_or_default(),
    }
}

fn failed(
    mut record: DeploymentRecord,
    stage: &str,
    detail: &str,
    target: Option<Target>,
    failure: DriverError,
) -> LaneOutcome {
    record
        .runtime_source
        .insert(source_keys::FAILURE_STAGE.to_string(), stage.to_string());
    record
        .runtime_source
        .insert(source_keys::FAILURE_DETAIL.to_string(), detail.to_string());
    LaneOutcome {
        record,
        target,
        failure: Some(failure),
    }
}

/// Runs the lane deploy. Host calls, in order: `resolve_target`,
/// `update_env` (runtime identity), hook `pre-deploy`, `set_image`,
/// `deploy`, `health_check` (unless disabled or there is no URL), hook
/// `post-deploy`, hook `verify`. The first failing step stops the pipeline.
pub fn deploy_lane(
    ctx: &Ctx<'_>,
    profile: Option<&ProductProfile>,
    plan: &LanePlan,
) -> LaneOutcome {
    let host = ctx.host();
    let mut record = plan.record();
    let note = format!(
        " (deployment record {} records the failure)",
        plan.record_id
    );
    let step_error = |step: &str, e: &HostError| {
        provider_step_error(step, &plan.context, &plan.instance, e, &note)
    };
    let fail_deploy = |mut record: DeploymentRecord, now: String| {
        record.deploy.status = ReleaseStatus::Fail;
        record.deploy.finished_at = now;
        record
    };

    let target = match host.resolve_target(&plan.context, &plan.instance) {
        Ok(target) => target,
        Err(e) => {
            let record = fail_deploy(record, host.now());
            return failed(
                record,
                "resolve-target",
                e.message(),
                None,
                step_error("resolving the runtime target", &e),
            );
        }
    };
    record.deploy.target_name = target.target_name.clone();
    record.deploy.target_type = target_type_of(&target.target_type);

    if let Err(e) = host.update_env(&plan.context, &plan.instance, &plan.identity_env(), &[]) {
        let record = fail_deploy(record, host.now());
        return failed(
            record,
            "update-env",
            e.message(),
            Some(target),
            step_error("setting the runtime identity env", &e),
        );
    }

    let payload = plan.hook_payload(hooks::PRE_DEPLOY, &target.target_name, None);
    if let Err(e) = hooks::call::<_, Value>(ctx, hooks::PRE_DEPLOY, &payload) {
        let record = fail_deploy(record, host.now());
        let detail = e.message().to_string();
        return failed(record, "pre-deploy hook", &detail, Some(target), e);
    }

    if let Err(e) = host.set_image(&plan.context, &plan.instance, &plan.image_reference) {
        let record = fail_deploy(record, host.now());
        return failed(
            record,
            "set-image",
            e.message(),
            Some(target),
            step_error("pointing the lane at the image", &e),
        );
    }

    match host.deploy(&plan.context, &plan.instance, plan.timeout_seconds) {
        Ok(outcome) => {
            if !outcome.started_at.is_empty() {
                record.deploy.started_at = outcome.started_at.clone();
            }
            record.deploy.finished_at = if outcome.finished_at.is_empty() {
                host.now()
            } else {
                outcome.finished_at.clone()
            };
            if outcome.status != "pass" {
                record.deploy.status = ReleaseStatus::Fail;
                let detail = if outcome.detail.is_empty() {
                    format!("the deploy finished with status `{}`", outcome.status)
                } else {
                    outcome.detail.clone()
                };
                let error = DriverError::ProviderFailed(format!(
                    "deploy failed for lane {}/{}: {detail}{note}",
                    plan.context, plan.instance
                ));
                return failed(record, "deploy", &detail, Some(target), error);
            }
            record.deploy.status = ReleaseStatus::Pass;
        }
        Err(e) => {
            let record = fail_deploy(record, host.now());
            return failed(
                record,
                "deploy",
                e.message(),
                Some(target),
                step_error("deploy", &e),
            );
        }
    }

    let urls = if plan.verify_health {
        lane_health_urls(profile, &plan.instance, Some(&target))
    } else {
        Vec::new()
    };
    let (evidence, health) = check_health(
        ctx,
        &urls,
        plan.health_timeout_seconds,
        Some(plan.identity_json()),
    );
    record.destination_health = evidence;
    if record.destination_health.status == ReleaseStatus::Fail {
        let detail = health_failure_detail(health.as_ref());
        let error = DriverError::PreconditionFailed(format!(
            "destination health failed for lane {}/{}: {detail}; the lane's inventory was not moved{note}",
            plan.context, plan.instance
        ));
        return failed(record, "health", &detail, Some(target), error);
    }
    let facts = health_facts(&record.destination_health, health.as_ref());

    let payload = plan.hook_payload(hooks::POST_DEPLOY, &target.target_name, Some(facts.clone()));
    match hooks::call::<_, PostDeployAnswer>(ctx, hooks::POST_DEPLOY, &payload) {
        Ok(answer) if answer.attempted => {
            record.post_deploy_update = PostDeployUpdateEvidence {
                attempted: true,
                status: ReleaseStatus::Pass,
                detail: answer.detail,
            };
        }
        Ok(_) => {}
        Err(e) => {
            record.post_deploy_update = PostDeployUpdateEvidence {
                attempted: true,
                status: ReleaseStatus::Fail,
                detail: format!("post-deploy hook failed: {}", e.message()),
            };
            let detail = e.message().to_string();
            return failed(record, "post-deploy hook", &detail, Some(target), e);
        }
    }

    let payload = plan.hook_payload(hooks::VERIFY, &target.target_name, Some(facts));
    let rejection = match hooks::call::<_, VerifyAnswer>(ctx, hooks::VERIFY, &payload) {
        Ok(answer) if answer.verified == Some(false) => {
            let reason = if answer.reason.trim().is_empty() {
                "the verify hook rejected the deploy".to_string()
            } else {
                answer.reason.trim().to_string()
            };
            Some(DriverError::PreconditionFailed(format!(
                "verify hook rejected lane {}/{}: {reason}{note}",
                plan.context, plan.instance
            )))
        }
        Ok(_) => None,
        Err(e) => Some(e),
    };
    if let Some(error) = rejection {
        record.destination_health.status = ReleaseStatus::Fail;
        let detail = error.message().to_string();
        return failed(record, "verify hook", &detail, Some(target), error);
    }

    LaneOutcome {
        record,
        target: Some(target),
        failure: None,
    }
}
