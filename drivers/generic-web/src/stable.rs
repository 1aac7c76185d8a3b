//! Stable deploys and testing → prod promotions.

use launchplane_sdk::prelude::*;

use crate::checks::{
    at_least, envelope_product, immutable_image_reference, invalid, non_blank, normalized,
    optional_at_least,
};
use crate::hooks::{self, PromotionGateAnswer, PromotionGatePayload};
use crate::lane::{
    DEFAULT_DEPLOY_TIMEOUT_SECONDS, DEPLOY_MODE, LaneOutcome, LanePlan, check_health, deploy_lane,
    health_failure_detail, provider_step_error,
};
use crate::models::*;
use crate::profile::{lane_health_urls, load_profile};
use crate::records::ProductProfile;
use crate::records::{
    self, ArtifactIdentityManifest, ArtifactIdentityRef, BackupGateEvidence, BackupGateRecord,
    DeploymentEvidence, EnvironmentInventory, HealthcheckEvidence, PostDeployUpdateEvidence,
    PromotionRecord, RollbackExecutionEvidence, TargetType, deployment_record_id, inventory_id,
    promotion_record_id,
};

/// The image an `artifact_id` deploys: itself when it pins a digest (or
/// is a bare digest of the profile's repository), else the image of the
/// stored artifact manifest of that id (`artifact-publish` of an extension
/// stores one). Anything else is refused naming `artifact_id`.
pub fn artifact_image(
    ctx: &Ctx<'_>,
    artifact_id: &str,
    image_repository: &str,
) -> Result<String, DriverError> {
    let pinned = immutable_image_reference("artifact_id", artifact_id, image_repository);
    if pinned.is_ok() {
        return pinned;
    }
    match records::read::<ArtifactIdentityManifest>(ctx, "artifact_manifest", artifact_id.trim())? {
        Some(manifest) => {
            immutable_image_reference("artifact_id", &manifest.image_reference(), image_repository)
                .map_err(|_| {
                    invalid(
                        "artifact_id",
                        format_args!(
                            "the stored manifest of `{}` names no digest-pinned image",
                            artifact_id.trim()
                        ),
                    )
                })
        }
        None => pinned,
    }
}

/// The product the invocation is for (the envelope's, which the payload
/// repeats).
pub fn product_of(ctx: &Ctx<'_>, payload_product: &str) -> String {
    match ctx.product().trim() {
        "" => payload_product.trim().to_string(),
        product => product.to_string(),
    }
}

/// The context of lane `instance`: the one the host resolved for the
/// invocation, else the profile's.
pub fn lane_context(ctx: &Ctx<'_>, profile: Option<&ProductProfile>, instance: &str) -> String {
    match ctx.context().trim() {
        "" => profile
            .and_then(|p| p.lane(instance))
            .map(|l| l.context.trim().to_string())
            .unwrap_or_default(),
        context => context.to_string(),
    }
}

/// Writes `record`, then fails with `failure` if there is one. A write that
/// fails after a failed step is mentioned in the step's error rather than
/// hiding it.
pub fn write_then<T: Serialize>(
    ctx: &Ctx<'_>,
    kind: &str,
    record: &T,
    failure: Option<DriverError>,
) -> Result<String, DriverError> {
    match failure {
        None => records::write(ctx, kind, record),
        Some(failure) => Err(record_failure(ctx, kind, record, failure)),
    }
}

/// Writes the record that carries the evidence of `failure` and answers the
/// error to fail with.
pub fn record_failure<T: Serialize>(
    ctx: &Ctx<'_>,
    kind: &str,
    record: &T,
    failure: DriverError,
) -> DriverError {
    match records::write(ctx, kind, record) {
        Ok(_) => failure,
        Err(e) => with_note(
            failure,
            &format!("; writing the {kind} record also failed: {}", e.message()),
        ),
    }
}

/// The same error with `note` appended to its message.
pub fn with_note(error: DriverError, note: &str) -> DriverError {
    let message = format!("{}{note}", error.message());
    match error {
        DriverError::InvalidRequest(_) => DriverError::InvalidRequest(message),
        DriverError::PreconditionFailed(_) => DriverError::PreconditionFailed(message),
        DriverError::NotFound(_) => DriverError::NotFound(message),
        DriverError::NotImplemented(_) => DriverError::NotImplemented(message),
        DriverError::ProviderFailed(_) => DriverError::ProviderFailed(message),
        DriverError::Internal(_) => DriverError::Internal(message),
        DriverError::UnknownAction(_) => DriverError::UnknownAction(message),
    }
}

fn pass_fail(status: ReleaseStatus) -> PassFail {
    if status == ReleaseStatus::Pass {
        PassFail::Pass
    } else {
        PassFail::Fail
    }
}

/// `deploy`: point one lane at an immutable image and record the deploy.
///
/// Host calls, in order: `record_get product_profile`, `resolve_target`,
/// `update_env` (runtime identity), hook `pre-deploy`, `set_image`,
/// `deploy`, `health_check` (unless `verify_health=false` or the lane has no
/// health URL), hook `post-deploy`, hook `verify`, `record_put deployment`.
/// A failed step still writes the deployment (deploy or health `fail`,
/// `runtime_source.failure_stage`/`failure_detail`) and then fails the
/// action: provider failures as `provider_failed`, a lane without target or
/// failed health as `precondition_failed`, hook errors as the hook answered.
pub fn stable_deploy(
    ctx: &Ctx<'_>,
    req: DeployRequest,
) -> Result<Reply<DeployResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("instance", &req.instance)?;
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    at_least(
        "health_timeout_seconds",
        u64::from(req.health_timeout_seconds),
        1,
    )?;
    let profile = load_profile(ctx)?;
    let image_repository = profile.as_ref().map_or("", |p| p.image.repository.as_str());
    let image_reference = artifact_image(ctx, &req.artifact_id, image_repository)?;
    let instance = req.instance.trim().to_string();
    let context = lane_context(ctx, profile.as_ref(), &instance);
    let now = ctx.host().now();
    let plan = LanePlan {
        action: "stable_deploy",
        product: product_of(ctx, &req.product),
        record_id: deployment_record_id(&now, &context, &instance),
        context,
        instance,
        artifact_id: req.artifact_id.trim().to_string(),
        image_reference,
        source_git_ref: req.source_git_ref.trim().to_string(),
        timeout_seconds: req
            .timeout_seconds
            .unwrap_or(DEFAULT_DEPLOY_TIMEOUT_SECONDS),
        no_cache: req.no_cache,
        verify_health: req.verify_health,
        health_timeout_seconds: req.health_timeout_seconds,
        started_at: now,
    };
    let outcome = deploy_lane(ctx, profile.as_ref(), &plan);
    let LaneOutcome {
        record,
        target,
        failure,
        ..
    } = outcome;
    let id = write_then(ctx, "deployment", &record, failure)?;
    let target_type = target
        .as_ref()
        .map(|t| t.target_type.clone())
        .unwrap_or_default();
    let result = DeployResult {
        deployment_record_id: id.clone(),
        deploy_status: pass_fail(record.deploy.status),
        deploy_started_at: record.deploy.started_at.clone(),
        deploy_finished_at: record.deploy.finished_at.clone(),
        product: plan.product.clone(),
        context: plan.context.clone(),
        instance: plan.instance.clone(),
        target_name: record.deploy.target_name.clone(),
        target_category: record.deploy.target_type.as_str().to_string(),
        provider_id: String::new(),
        provider_target_type: target_type,
        target_id: String::new(),
        error_message: String::new(),
        image_reference: plan.image_reference.clone(),
        destination_health_status: record.destination_health.status,
    };
    Ok(Reply::new(result).record("deployment_record_id", id))
}

/// The backup gate a promotion names, checked as the original did: the
/// record must exist, be of the destination lane, have passed when required,
/// and be required when the request demands it.
fn backup_gate(
    ctx: &Ctx<'_>,
    req: &ProdPromotionRequest,
    context: &str,
    instance: &str,
) -> Result<BackupGateEvidence, DriverError> {
    let backup_record_id = req.backup_record_id.trim();
    if backup_record_id.is_empty() {
        return Ok(BackupGateEvidence::not_required());
    }
    let record: BackupGateRecord = records::read(ctx, "backup_gate", backup_record_id)?
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "backup gate record `{backup_record_id}` was not found"
            ))
        })?;
    if record.context != context || record.instance != instance {
        return Err(DriverError::PreconditionFailed(format!(
            "backup gate record `{backup_record_id}` is for lane {}/{}, not the destination lane {context}/{instance}",
            record.context, record.instance
        )));
    }
    let required = record.required || req.backup_required;
    if required && record.status != ReleaseStatus::Pass {
        return Err(DriverError::PreconditionFailed(format!(
            "backup gate record `{backup_record_id}` has status `{}`, not `pass`",
            record.status.as_str()
        )));
    }
    if req.backup_required && !record.required {
        return Err(DriverError::PreconditionFailed(format!(
            "backup gate record `{backup_record_id}` is marked required=false but the promotion requires a backup"
        )));
    }
    Ok(BackupGateEvidence {
        required,
        status: record.status,
        evidence: record.evidence,
    })
}

/// Everything a promotion knows before it touches a lane.
struct Promotion {
    product: String,
    context: String,
    source_context: String,
    from: String,
    to: String,
    artifact_id: String,
    image_reference: String,
    source_git_ref: String,
    promotion_id: String,
    deployment_id: String,
    backup_record_id: String,
    backup_gate: BackupGateEvidence,
}

impl Promotion {
    /// The promotion record with the destination not deployed (`skipped`)
    /// and `detail` saying why.
    fn not_deployed(&self, source_health: HealthcheckEvidence, detail: &str) -> PromotionRecord {
        PromotionRecord {
            schema_version: 1,
            record_id: self.promotion_id.clone(),
            artifact_identity: ArtifactIdentityRef::new(&self.artifact_id),
            deployment_record_id: String::new(),
            backup_record_id: self.backup_record_id.clone(),
            context: self.context.clone(),
            from_instance: self.from.clone(),
            to_instance: self.to.clone(),
            source_health,
            backup_gate: self.backup_gate.clone(),
            deploy: DeploymentEvidence {
                target_name: format!("{}-{}", self.product, self.to),
                target_type: TargetType::Application,
                deploy_mode: DEPLOY_MODE.to_string(),
                deployment_id: String::new(),
                status: ReleaseStatus::Skipped,
                started_at: String::new(),
                finished_at: String::new(),
            },
            post_deploy_update: PostDeployUpdateEvidence {
                attempted: false,
                status: ReleaseStatus::Skipped,
                detail: detail.to_string(),
            },
            destination_health: HealthcheckEvidence::skipped(),
            rollback: RollbackExecutionEvidence::default(),
            rollback_health: HealthcheckEvidence::skipped(),
        }
    }

    /// The promotion record of a destination deploy, linked to its
    /// deployment record. A failed deploy leaves destination health
    /// `skipped`.
    fn deployed(
        &self,
        source_health: HealthcheckEvidence,
        outcome: &LaneOutcome,
    ) -> PromotionRecord {
        let deployment = &outcome.record;
        let mut post_deploy_update = deployment.post_deploy_update.clone();
        if let Some(failure) = &outcome.failure
            && post_deploy_update.detail.is_empty()
        {
            post_deploy_update.detail = failure.message().to_string();
        }
        PromotionRecord {
            deployment_record_id: deployment.record_id.clone(),
            deploy: deployment.deploy.clone(),
            post_deploy_update,
            destination_health: if outcome.deploy_passed() {
                deployment.destination_health.clone()
            } else {
                HealthcheckEvidence::skipped()
            },
            ..self.not_deployed(source_health, "")
        }
    }

    fn result(&self, status: PromotionStatus, dry_run: bool) -> ProdPromotionResult {
        ProdPromotionResult {
            product: self.product.clone(),
            context: self.context.clone(),
            from_instance: self.from.clone(),
            to_instance: self.to.clone(),
            artifact_id: self.artifact_id.clone(),
            backup_record_id: self.backup_record_id.clone(),
            promotion_record_id: self.promotion_id.clone(),
            deployment_record_id: self.deployment_id.clone(),
            inventory_record_id: String::new(),
            promotion_status: status,
            deployment_status: if dry_run {
                ReleaseStatus::Pending
            } else {
                ReleaseStatus::Skipped
            },
            backup_status: self.backup_gate.status,
            source_health_status: ReleaseStatus::Skipped,
            destination_health_status: ReleaseStatus::Skipped,
            target_name: String::new(),
            target_type: String::new(),
            target_id: String::new(),
            dry_run,
            error_message: String::new(),
        }
    }
}

/// `prod-promotion`: promote the artifact testing runs to prod.
///
/// Host calls, in order: `record_get product_profile`, `record_get
/// inventory <source context>-testing`, `record_get backup_gate` (when
/// named) — a dry run stops here and answers the plan (`pending`, planned
/// ids). Then `resolve_target` + `health_check` of the source lane (unless
/// `verify_health=false`), hook `promotion-gate`, the destination lane
/// deploy (`resolve_target`, `update_env`, hook `pre-deploy`, `set_image`,
/// `deploy`, `health_check`, hooks `post-deploy` and `verify`), `record_put
/// deployment`, `record_put promotion`.
///
/// The promotion record is always written once the source lane was checked
/// (§8 rule 5): source-health failure and a blocking gate write it without a
/// deployment (deploy `skipped`, the reason in `post_deploy_update.detail`);
/// a destination deploy writes the deployment and links it through
/// `deployment_record_id`, so the host moves prod's inventory only when the
/// deploy passed and destination health passed or was skipped.
pub fn prod_promotion(
    ctx: &Ctx<'_>,
    req: ProdPromotionRequest,
) -> Result<Reply<ProdPromotionResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    let (from, to) = (normalized(&req.from_instance), normalized(&req.to_instance));
    if from == to {
        return Err(invalid("to_instance", "must differ from from_instance"));
    }
    if from != "testing" {
        return Err(invalid(
            "from_instance",
            "must be `testing`: only testing -> prod is supported",
        ));
    }
    if to != "prod" {
        return Err(invalid(
            "to_instance",
            "must be `prod`: only testing -> prod is supported",
        ));
    }
    if req.backup_required && req.backup_record_id.trim().is_empty() {
        return Err(invalid(
            "backup_record_id",
            "is required when backup_required=true",
        ));
    }
    if !req.wait {
        return Err(invalid("wait", "must be true for a prod promotion"));
    }
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    optional_at_least(
        "health_timeout_seconds",
        Some(req.health_timeout_seconds),
        1,
    )?;

    let profile = load_profile(ctx)?;
    let image_repository = profile.as_ref().map_or("", |p| p.image.repository.as_str());
    let image_reference = artifact_image(ctx, &req.artifact_id, image_repository)?;
    let context = lane_context(ctx, profile.as_ref(), &to);
    let source_context = profile
        .as_ref()
        .and_then(|p| p.lane(&from))
        .map(|l| l.context.trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| context.clone());
    let now = ctx.host().now();
    let artifact_id = req.artifact_id.trim().to_string();

    // The artifact testing runs, per its inventory, is what gets promoted.
    let source_inventory: Option<EnvironmentInventory> =
        records::read(ctx, "inventory", &inventory_id(&source_context, &from))?;
    if let Some(running) = source_inventory
        .as_ref()
        .map(EnvironmentInventory::artifact_id)
        && !running.is_empty()
        && running != artifact_id
    {
        return Err(DriverError::PreconditionFailed(format!(
            "lane {source_context}/{from} runs `{running}`, not the requested artifact `{artifact_id}`"
        )));
    }
    let backup_gate = backup_gate(ctx, &req, &context, &to)?;
    let promotion = Promotion {
        product: product_of(ctx, &req.product),
        promotion_id: match req.promotion_record_id.trim() {
            "" => promotion_record_id(&now, &context, &from, &to),
            named => named.to_string(),
        },
        deployment_id: deployment_record_id(&now, &context, &to),
        context,
        source_context,
        from,
        to,
        artifact_id,
        image_reference,
        source_git_ref: req.source_git_ref.trim().to_string(),
        backup_record_id: req.backup_record_id.trim().to_string(),
        backup_gate,
    };
    if req.dry_run {
        let mut result = promotion.result(PromotionStatus::Pending, true);
        result.inventory_record_id = inventory_id(&promotion.context, &promotion.to);
        result.source_health_status = if req.verify_health {
            ReleaseStatus::Pending
        } else {
            ReleaseStatus::Skipped
        };
        result.destination_health_status = result.source_health_status;
        return Ok(Reply::new(result));
    }

    // Source lane health.
    let (source_health, source_result) = if req.verify_health {
        match ctx
            .host()
            .resolve_target(&promotion.source_context, &promotion.from)
        {
            Ok(target) => {
                let urls = lane_health_urls(profile.as_ref(), &promotion.from, Some(&target));
                check_health(ctx, &urls, req.health_timeout_seconds, None)
            }
            Err(e) => {
                let error = provider_step_error(
                    "resolving the source runtime target",
                    &promotion.source_context,
                    &promotion.from,
                    &e,
                    "",
                );
                let record = promotion.not_deployed(
                    HealthcheckEvidence {
                        status: ReleaseStatus::Fail,
                        ..HealthcheckEvidence::skipped()
                    },
                    error.message(),
                );
                return Err(record_failure(ctx, "promotion", &record, error));
            }
        }
    } else {
        (HealthcheckEvidence::skipped(), None)
    };
    if source_health.status == ReleaseStatus::Fail {
        let detail = format!(
            "source lane {}/{} health failed: {}",
            promotion.source_context,
            promotion.from,
            health_failure_detail(source_result.as_ref())
        );
        let record = promotion.not_deployed(source_health, &detail);
        let error = DriverError::PreconditionFailed(format!(
            "{detail}; nothing was deployed (promotion record {})",
            promotion.promotion_id
        ));
        return Err(record_failure(ctx, "promotion", &record, error));
    }

    // The extension's gate.
    let payload = PromotionGatePayload {
        product: promotion.product.clone(),
        context: promotion.context.clone(),
        source_context: promotion.source_context.clone(),
        from_instance: promotion.from.clone(),
        to_instance: promotion.to.clone(),
        artifact_id: promotion.artifact_id.clone(),
        image_reference: promotion.image_reference.clone(),
        source_git_ref: promotion.source_git_ref.clone(),
        promotion_record_id: promotion.promotion_id.clone(),
        deployment_record_id: promotion.deployment_id.clone(),
        backup_record_id: promotion.backup_record_id.clone(),
        source_health_status: source_health.status.as_str().to_string(),
    };
    let gate = match hooks::call::<_, PromotionGateAnswer>(ctx, hooks::PROMOTION_GATE, &payload) {
        Ok(answer) if answer.allowed == Some(false) => {
            let reason = match answer.reason.trim() {
                "" => "no reason given".to_string(),
                reason => reason.to_string(),
            };
            Err((
                format!("blocked by the promotion-gate hook: {reason}"),
                DriverError::PreconditionFailed(format!(
                    "promotion blocked by the promotion-gate hook: {reason} (promotion record {})",
                    promotion.promotion_id
                )),
            ))
        }
        Ok(_) => Ok(()),
        Err(e) => Err((format!("promotion-gate hook failed: {}", e.message()), e)),
    };
    if let Err((detail, error)) = gate {
        let record = promotion.not_deployed(source_health, &detail);
        return Err(record_failure(ctx, "promotion", &record, error));
    }

    // The destination deploy.
    let plan = LanePlan {
        action: "prod_promotion",
        product: promotion.product.clone(),
        context: promotion.context.clone(),
        instance: promotion.to.clone(),
        record_id: promotion.deployment_id.clone(),
        artifact_id: promotion.artifact_id.clone(),
        image_reference: promotion.image_reference.clone(),
        source_git_ref: promotion.source_git_ref.clone(),
        timeout_seconds: req
            .timeout_seconds
            .unwrap_or(DEFAULT_DEPLOY_TIMEOUT_SECONDS),
        no_cache: req.no_cache,
        verify_health: req.verify_health,
        health_timeout_seconds: req.health_timeout_seconds,
        started_at: now,
    };
    let mut outcome = deploy_lane(ctx, profile.as_ref(), &plan);
    let record = promotion.deployed(source_health.clone(), &outcome);
    let failure = match (
        outcome.failure.take(),
        records::write(ctx, "deployment", &outcome.record),
    ) {
        (failure, Ok(_)) => failure,
        (Some(failure), Err(e)) => Some(with_note(
            failure,
            &format!(
                "; writing the deployment record also failed: {}",
                e.message()
            ),
        )),
        (None, Err(e)) => Some(e),
    };
    let promotion_id = write_then(ctx, "promotion", &record, failure)?;

    let mut result = promotion.result(PromotionStatus::Pass, false);
    result.promotion_record_id = promotion_id.clone();
    result.deployment_status = outcome.record.deploy.status;
    result.source_health_status = source_health.status;
    result.destination_health_status = record.destination_health.status;
    result.target_name = outcome.record.deploy.target_name.clone();
    result.target_type = outcome.record.deploy.target_type.as_str().to_string();
    result.inventory_record_id = inventory_id(&promotion.context, &promotion.to);
    let mut reply = Reply::new(result.clone())
        .record("promotion_record_id", promotion_id)
        .record("deployment_record_id", promotion.deployment_id.clone())
        .record("inventory_record_id", result.inventory_record_id.clone());
    if !promotion.backup_record_id.is_empty() {
        reply = reply.record("backup_record_id", promotion.backup_record_id.clone());
    }
    Ok(reply)
}
