//! Prod rollback: plan which earlier deployment to return to, then deploy
//! it and annotate the lane's latest promotion.

use launchplane_sdk::prelude::*;

use crate::checks::{
    envelope_product, immutable_image_reference, invalid, non_blank, normalized, optional_at_least,
};
use crate::hooks::{self, RollbackCandidate, RollbackSelectAnswer, RollbackSelectPayload};
use crate::lane::{DEFAULT_DEPLOY_TIMEOUT_SECONDS, LanePlan, deploy_lane};
use crate::models::*;
use crate::profile::load_profile;
use crate::records::ProductProfile;
use crate::records::{
    self, ArtifactIdentityRef, BackupGateEvidence, BackupGateRecord, DeploymentExt,
    DeploymentRecord, EnvironmentInventory, HealthcheckEvidence, RollbackExecutionEvidence,
    deployment_record_id, inventory_id,
};
use crate::stable::{lane_context, product_of, record_failure, with_note, write_then};

/// Health timeout of the rollback deploy (the request names none).
const ROLLBACK_HEALTH_TIMEOUT_SECONDS: u32 = 60;

/// How many of the lane's stored deployments a plan looks through.
const CANDIDATE_SCAN_LIMIT: u32 = 50;

fn check_request(ctx: &Ctx<'_>, req: &RollbackPlanRequest) -> Result<(), DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("instance", &req.instance)?;
    if let Some(id) = &req.rollback_deployment_record_id {
        non_blank("rollback_deployment_record_id", id)?;
    }
    if req.backup_required && req.backup_record_id.trim().is_empty() {
        return Err(invalid(
            "backup_record_id",
            "is required when backup_required=true",
        ));
    }
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)
}

fn blocker(code: &str, message: impl Into<String>) -> RollbackBlocker {
    RollbackBlocker {
        code: code.to_string(),
        message: message.into(),
    }
}

/// The immutable image a stored deployment ran: its recorded image
/// reference, else its artifact id read as one.
fn deployed_image(deployment: &DeploymentRecord, image_repository: &str) -> Option<String> {
    [deployment.image_reference(), deployment.artifact_id()]
        .into_iter()
        .filter(|r| !r.is_empty())
        .find_map(|r| immutable_image_reference("artifact_id", r, image_repository).ok())
}

fn candidate(deployment: &DeploymentRecord, image_repository: &str) -> RollbackCandidate {
    RollbackCandidate {
        deployment_record_id: deployment.record_id.clone(),
        artifact_id: deployment.artifact_id().to_string(),
        image_reference: deployed_image(deployment, image_repository).unwrap_or_default(),
        source_git_ref: deployment.source_git_ref.clone(),
        finished_at: deployment.deploy.finished_at.clone(),
    }
}

/// Whether a stored deployment is a good place to return to.
fn eligible(deployment: &DeploymentRecord, image_repository: &str) -> bool {
    deployment.deploy.status == ReleaseStatus::Pass
        && deployment.destination_health.status != ReleaseStatus::Fail
        && deployed_image(deployment, image_repository).is_some()
}

/// The reasons a rollback target cannot be deployed (the original's checks).
fn target_blockers(
    deployment: &DeploymentRecord,
    context: &str,
    instance: &str,
    image_repository: &str,
) -> Vec<RollbackBlocker> {
    let mut blockers = Vec::new();
    if deployment.context != context || deployment.instance != instance {
        blockers.push(blocker(
            "deployment_scope_mismatch",
            format!(
                "rollback target deployment `{}` is of lane {}/{}, not {context}/{instance}",
                deployment.record_id, deployment.context, deployment.instance
            ),
        ));
    }
    if deployment.deploy.status != ReleaseStatus::Pass {
        blockers.push(blocker(
            "target_deploy_not_passed",
            format!(
                "rollback target deployment `{}` did not pass (deploy `{}`)",
                deployment.record_id,
                deployment.deploy.status.as_str()
            ),
        ));
    }
    if deployment.destination_health.status == ReleaseStatus::Fail {
        blockers.push(blocker(
            "health_evidence_failed",
            format!(
                "rollback target deployment `{}` has failed health evidence",
                deployment.record_id
            ),
        ));
    }
    if deployment.artifact_identity.is_none() {
        blockers.push(blocker(
            "missing_rollback_target",
            format!(
                "rollback target deployment `{}` has no artifact identity",
                deployment.record_id
            ),
        ));
    } else if deployed_image(deployment, image_repository).is_none() {
        blockers.push(blocker(
            "mutable_artifact_reference",
            format!(
                "rollback target deployment `{}` ran `{}`, which is not an immutable image digest",
                deployment.record_id,
                deployment.artifact_id()
            ),
        ));
    }
    blockers
}

/// The backup gate of a rollback plan; problems are blockers.
fn backup_gate(
    ctx: &Ctx<'_>,
    req: &RollbackPlanRequest,
    context: &str,
    instance: &str,
    blockers: &mut Vec<RollbackBlocker>,
) -> Result<BackupGateEvidence, DriverError> {
    let backup_record_id = req.backup_record_id.trim();
    if backup_record_id.is_empty() {
        return Ok(BackupGateEvidence {
            required: req.backup_required,
            ..BackupGateEvidence::not_required()
        });
    }
    let Some(record) = records::read::<BackupGateRecord>(ctx, "backup_gate", backup_record_id)?
    else {
        blockers.push(blocker(
            "backup_gate_missing",
            format!("backup gate record `{backup_record_id}` was not found"),
        ));
        return Ok(BackupGateEvidence {
            required: req.backup_required,
            status: ReleaseStatus::Fail,
            evidence: Default::default(),
        });
    };
    if record.context != context || record.instance != instance {
        blockers.push(blocker(
            "backup_gate_scope_mismatch",
            format!(
                "backup gate record `{backup_record_id}` does not match lane {context}/{instance}"
            ),
        ));
    }
    if record.required && record.status != ReleaseStatus::Pass {
        blockers.push(blocker(
            "backup_gate_not_passed",
            format!("backup gate record `{backup_record_id}` is not passing"),
        ));
    }
    if req.backup_required && !record.required {
        blockers.push(blocker(
            "backup_gate_not_passed",
            format!("backup gate record `{backup_record_id}` is marked required=false"),
        ));
    }
    Ok(BackupGateEvidence {
        required: record.required || req.backup_required,
        status: record.status,
        evidence: record.evidence,
    })
}

/// What the lane's inventory says is deployed now; empty without one.
struct CurrentDeployment {
    deployment_record_id: String,
    artifact_id: String,
}

impl CurrentDeployment {
    fn of(inventory: Option<&EnvironmentInventory>) -> Self {
        CurrentDeployment {
            deployment_record_id: inventory
                .map(|i| i.deployment_record_id.clone())
                .unwrap_or_default(),
            artifact_id: inventory
                .map(|i| i.artifact_id().to_string())
                .unwrap_or_default(),
        }
    }
}

/// A built plan, the profile it was built with, and the hook failure to
/// fail with once the plan is recorded.
struct Planned {
    plan: RollbackPlan,
    profile: Option<ProductProfile>,
    hook_failure: Option<DriverError>,
}

/// Builds the plan. Host calls, in order: `record_get product_profile`,
/// `record_get inventory <context>-<instance>`, then `record_get deployment
/// <id>` (named target) or `record_list deployment` (the lane's history,
/// newest first), hook `rollback-select` (and `record_get deployment` when
/// it names a deployment not among the candidates), `record_get
/// backup_gate` (when named).
fn build_plan(ctx: &Ctx<'_>, req: &RollbackPlanRequest) -> Result<Planned, DriverError> {
    let profile = load_profile(ctx)?;
    let image_repository = profile
        .as_ref()
        .map(|p| p.image.repository.clone())
        .unwrap_or_default();
    let instance = normalized(&req.instance);
    let context = lane_context(ctx, profile.as_ref(), &instance);
    let product = product_of(ctx, &req.product);
    let inventory: Option<EnvironmentInventory> =
        records::read(ctx, "inventory", &inventory_id(&context, &instance))?;
    let current = CurrentDeployment::of(inventory.as_ref());
    let mut blockers = Vec::new();

    let requested = req
        .rollback_deployment_record_id
        .as_deref()
        .map(str::trim)
        .map(str::to_string);
    let mut candidates: Vec<DeploymentRecord> = Vec::new();
    let (mut selection, mut target) = match &requested {
        Some(id) => {
            let found: Option<DeploymentRecord> = records::read(ctx, "deployment", id)?;
            if found.is_none() {
                blockers.push(blocker(
                    "missing_rollback_target",
                    format!("rollback target deployment record `{id}` was not found"),
                ));
            }
            (RollbackSelection::Request, found)
        }
        None => {
            for value in records::list(
                ctx,
                "deployment",
                Some(&context),
                Some(&instance),
                CANDIDATE_SCAN_LIMIT,
            )? {
                let deployment: DeploymentRecord = records::parse("deployment", value)?;
                let is_current = deployment.record_id == current.deployment_record_id
                    || (!current.artifact_id.is_empty()
                        && deployment.artifact_id() == current.artifact_id);
                if !is_current && eligible(&deployment, &image_repository) {
                    candidates.push(deployment);
                }
            }
            let first = candidates.first().cloned();
            (RollbackSelection::PreviousDeployment, first)
        }
    };

    let payload = RollbackSelectPayload {
        product: product.clone(),
        context: context.clone(),
        instance: instance.clone(),
        selection: match selection {
            RollbackSelection::Request => "request",
            _ => "previous_deployment",
        }
        .to_string(),
        current_deployment_record_id: current.deployment_record_id.clone(),
        current_artifact_id: current.artifact_id.clone(),
        selected: target.as_ref().map(|d| candidate(d, &image_repository)),
        candidates: candidates
            .iter()
            .map(|d| candidate(d, &image_repository))
            .collect(),
    };
    let mut hook_failure = None;
    let mut hook_reason = String::new();
    match hooks::call::<_, RollbackSelectAnswer>(ctx, hooks::ROLLBACK_SELECT, &payload) {
        Ok(answer) => {
            let chosen = answer.deployment_record_id.trim();
            let current_choice = target.as_ref().map(|d| d.record_id.as_str());
            if !chosen.is_empty() && Some(chosen) != current_choice {
                let found = match candidates.iter().find(|d| d.record_id == chosen) {
                    Some(d) => Some(d.clone()),
                    None => records::read(ctx, "deployment", chosen)?,
                };
                if found.is_none() {
                    blockers.push(blocker(
                        "missing_rollback_target",
                        format!(
                            "the rollback-select hook chose deployment record `{chosen}`, which was not found"
                        ),
                    ));
                }
                selection = RollbackSelection::Hook;
                target = found;
                hook_reason = answer.reason.trim().to_string();
            }
        }
        Err(e) => {
            blockers.push(blocker(
                "rollback_select_failed",
                format!("the rollback-select hook failed: {}", e.message()),
            ));
            hook_failure = Some(e);
        }
    }
    if target.is_none() && selection == RollbackSelection::PreviousDeployment {
        blockers.push(blocker(
            "missing_rollback_target",
            format!(
                "lane {context}/{instance} has no earlier passing deployment other than the current one"
            ),
        ));
    }

    let backup_gate = backup_gate(ctx, req, &context, &instance, &mut blockers)?;
    if let Some(deployment) = &target {
        blockers.extend(target_blockers(
            deployment,
            &context,
            &instance,
            &image_repository,
        ));
    }
    blockers.sort_by(|a, b| a.code.cmp(&b.code));

    let target_id = target
        .as_ref()
        .map(|d| d.record_id.clone())
        .or(requested)
        .unwrap_or_default();
    let plan_id = format!(
        "generic-web-rollback-plan-{}-{}-{}",
        context.to_lowercase(),
        instance,
        if target_id.is_empty() {
            "none".to_string()
        } else {
            target_id.to_lowercase()
        }
    );
    let deploy_reference = target
        .as_ref()
        .and_then(|d| deployed_image(d, &image_repository))
        .unwrap_or_default();
    let ready = blockers.is_empty() && target.is_some();
    let planned_deploy = target
        .as_ref()
        .filter(|_| ready)
        .map(|d| RollbackDeployPlan {
            product: product.clone(),
            instance: instance.clone(),
            artifact_id: d.artifact_id().to_string(),
            deploy_reference: deploy_reference.clone(),
            source_git_ref: d.source_git_ref.clone(),
            timeout_seconds: req.timeout_seconds,
            no_cache: req.no_cache,
            verify_health: req.verify_health,
        });
    let mut summary = if ready {
        "generic web rollback plan is ready".to_string()
    } else {
        "generic web rollback plan is blocked".to_string()
    };
    if !hook_reason.is_empty() {
        summary.push_str(&format!(" (rollback-select hook: {hook_reason})"));
    }
    let plan = RollbackPlan {
        record_id: plan_id.clone(),
        schema_version: 1,
        plan_id,
        product,
        context,
        instance,
        status: if ready {
            RollbackPlanStatus::Ready
        } else {
            RollbackPlanStatus::Blocked
        },
        rollback_deployment_record_id: target_id,
        selection,
        current_deployment_record_id: current.deployment_record_id.clone(),
        current_artifact_id: current.artifact_id.clone(),
        artifact_identity: target
            .as_ref()
            .and_then(|d| d.artifact_identity.clone())
            .map(|a| ArtifactIdentityRef::new(&a.artifact_id)),
        source_git_ref: target
            .as_ref()
            .map(|d| d.source_git_ref.clone())
            .unwrap_or_default(),
        planned_deploy,
        backup_record_id: req.backup_record_id.trim().to_string(),
        backup_gate,
        target_health: target
            .as_ref()
            .map(|d| d.destination_health.clone())
            .unwrap_or_default(),
        blockers,
        created_at: ctx.host().now(),
        summary,
    };
    Ok(Planned {
        plan,
        profile,
        hook_failure,
    })
}

/// `prod-rollback-plan`: decide which earlier deployment the lane would
/// return to and record the plan (`generic_web_rollback_plan`, keyed by its
/// `plan_id`). A blocked plan is an answer, not an error; a failing
/// `rollback-select` hook is recorded as a blocker and then fails the
/// action with the hook's error. Host calls: those of the plan (see
/// `build_plan`), then `record_put generic_web_rollback_plan`.
pub fn prod_rollback_plan(
    ctx: &Ctx<'_>,
    req: RollbackPlanRequest,
) -> Result<Reply<RollbackPlan>, DriverError> {
    check_request(ctx, &req)?;
    let Planned {
        plan, hook_failure, ..
    } = build_plan(ctx, &req)?;
    let id = write_then(ctx, "generic_web_rollback_plan", &plan, hook_failure)?;
    let blocked = plan.status == RollbackPlanStatus::Blocked;
    Ok(Reply::new(plan)
        .record("generic_web_rollback_plan_id", id)
        .replayable_unless(blocked))
}

/// `prod-rollback`: build and record the plan, then, when it is ready,
/// deploy the planned artifact to the lane and record it.
///
/// Host calls, in order: the plan's (see `build_plan`), `record_put
/// generic_web_rollback_plan`, then the lane deploy (`resolve_target`,
/// `update_env`, hook `pre-deploy`, `set_image`, `deploy`, `health_check`,
/// hooks `post-deploy` and `verify`), `record_list promotion` and
/// `record_put promotion` (the latest promotion into the lane gets
/// `rollback` / `rollback_health`), and `record_put deployment` last, so
/// the host's inventory rebuild from the rollback deployment is the final
/// one. A blocked plan answers `rollback_status: blocked` without deploying.
pub fn prod_rollback(
    ctx: &Ctx<'_>,
    req: RollbackPlanRequest,
) -> Result<Reply<RollbackResult>, DriverError> {
    check_request(ctx, &req)?;
    let Planned {
        plan,
        profile,
        hook_failure,
    } = build_plan(ctx, &req)?;
    let plan_id = write_then(ctx, "generic_web_rollback_plan", &plan, hook_failure)?;
    let mut result = RollbackResult {
        plan_id: plan_id.clone(),
        deployment_record_id: String::new(),
        rollback_status: RollbackStatus::Blocked,
        deploy_status: ReleaseStatus::Skipped,
        destination_health_status: ReleaseStatus::Skipped,
        product: plan.product.clone(),
        context: plan.context.clone(),
        instance: plan.instance.clone(),
        rollback_deployment_record_id: plan.rollback_deployment_record_id.clone(),
        artifact_id: plan
            .artifact_identity
            .as_ref()
            .map(|a| a.artifact_id.clone())
            .unwrap_or_default(),
        promotion_record_id: String::new(),
        blockers: plan.blockers.clone(),
        error_message: String::new(),
    };
    let Some(planned) = plan.planned_deploy.clone() else {
        result.error_message = plan
            .blockers
            .iter()
            .map(|b| b.message.clone())
            .collect::<Vec<_>>()
            .join("; ");
        return Ok(Reply::new(result)
            .record("generic_web_rollback_plan_id", plan_id)
            .not_replayable());
    };

    let now = ctx.host().now();
    let lane_plan = LanePlan {
        action: "prod_rollback",
        product: plan.product.clone(),
        context: plan.context.clone(),
        instance: plan.instance.clone(),
        record_id: deployment_record_id(&now, &plan.context, &plan.instance),
        artifact_id: planned.artifact_id.clone(),
        image_reference: planned.deploy_reference.clone(),
        source_git_ref: planned.source_git_ref.clone(),
        timeout_seconds: planned
            .timeout_seconds
            .unwrap_or(DEFAULT_DEPLOY_TIMEOUT_SECONDS),
        no_cache: planned.no_cache,
        verify_health: planned.verify_health,
        health_timeout_seconds: ROLLBACK_HEALTH_TIMEOUT_SECONDS,
        started_at: now.clone(),
    };
    let mut outcome = deploy_lane(ctx, profile.as_ref(), &lane_plan);
    let mut failure = outcome.failure.take();
    let rolled_back = failure.is_none();

    // Annotate the latest promotion into the lane before the deployment is
    // written: the deployment's inventory rebuild must come last.
    let annotated = match records::latest_promotion(ctx, &plan.context, &plan.instance) {
        Ok(Some(mut promotion)) => {
            let mut detail = format!(
                "rolled back to `{}` (deployment {}) by deployment {}",
                planned.artifact_id, plan.rollback_deployment_record_id, lane_plan.record_id
            );
            if let Some(f) = &failure {
                detail.push_str(&format!("; failed: {}", f.message()));
            }
            promotion.rollback = RollbackExecutionEvidence {
                attempted: true,
                status: if rolled_back {
                    ReleaseStatus::Pass
                } else {
                    ReleaseStatus::Fail
                },
                detail,
                snapshot_name: String::new(),
                started_at: now,
                finished_at: match outcome.record.deploy.finished_at.as_str() {
                    "" => ctx.host().now(),
                    finished => finished.to_string(),
                },
            };
            promotion.rollback_health = if outcome.deploy_passed() {
                outcome.record.destination_health.clone()
            } else {
                HealthcheckEvidence::skipped()
            };
            match records::write(ctx, "promotion", &promotion) {
                Ok(id) => id,
                Err(e) => {
                    failure = Some(match failure {
                        Some(f) => with_note(
                            f,
                            &format!(
                                "; annotating promotion `{}` also failed: {}",
                                promotion.record_id,
                                e.message()
                            ),
                        ),
                        None => e,
                    });
                    String::new()
                }
            }
        }
        Ok(None) => String::new(),
        Err(e) => {
            failure = failure.or(Some(e));
            String::new()
        }
    };

    if let Some(failure) = failure {
        return Err(record_failure(ctx, "deployment", &outcome.record, failure));
    }
    let deployment_id = records::write(ctx, "deployment", &outcome.record)?;
    result.deployment_record_id = deployment_id.clone();
    result.rollback_status = RollbackStatus::Pass;
    result.deploy_status = outcome.record.deploy.status;
    result.destination_health_status = outcome.record.destination_health.status;
    result.promotion_record_id = annotated.clone();
    let mut reply = Reply::new(result)
        .record("generic_web_rollback_plan_id", plan_id)
        .record("deployment_record_id", deployment_id)
        .record(
            "inventory_record_id",
            inventory_id(&plan.context, &plan.instance),
        );
    if !annotated.is_empty() {
        reply = reply.record("promotion_record_id", annotated);
    }
    Ok(reply)
}
