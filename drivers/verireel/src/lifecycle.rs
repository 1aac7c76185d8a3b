//! VeriReel's own routes onto generic-web's one lifecycle: the
//! `adapt-request` and `adapt-result` hooks the host calls for the
//! VeriReel actions that run a generic-web action (`runs_base`). No
//! deploy, promotion, rollback or preview code is here: generic-web runs
//! it, and calls VeriReel's hooks (`hooks.rs`) at its fixed points.
//!
//! | VeriReel action | generic-web action |
//! | --- | --- |
//! | `testing_deploy`, `prod_deploy` | `stable_deploy` |
//! | `prod_promotion` | `prod_promotion` |
//! | `prod_rollback` | `prod_rollback` |
//! | `preview_refresh`, `preview_destroy`, `preview_verification` | the same ids (`previews.rs`) |
//!
//! The requests keep the original's shapes (reference §4.4); each adapter
//! repeats the original's checks first, so a bad request is refused naming
//! its field before anything runs.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::{AdaptResultAnswer, AdaptResultPayload, FINISH};
use lifecycle_records::{
    self as records, ArtifactIdentityRef, BackupGateEvidence, BackupGateRecord, DeploymentEvidence,
    DeploymentRecord, HealthcheckEvidence, PostDeployUpdateEvidence, PromotionRecord,
    RollbackExecutionEvidence, TargetType,
};

use crate::backup_gate::SNAPSHOT_NAME;
use crate::checks::{invalid, non_blank, optional_at_least, release_status, rollout_window};
use crate::failures::{self, BaseFailure};
use crate::hooks::gate_refusal;
use crate::models::*;
use crate::previews;

/// `adapt-request`: VeriReel's request, as the host validated it, becomes
/// the request of the generic-web action it runs.
pub fn adapt_request(ctx: &Ctx<'_>, request: Value) -> Result<Value, DriverError> {
    match ctx.invocation().action_id.as_str() {
        "testing_deploy" => deploy_request(ctx, parse(request)?, StableInstance::Testing),
        "prod_deploy" => deploy_request(ctx, parse(request)?, StableInstance::Prod),
        "prod_promotion" => promotion_request(ctx, parse(request)?),
        "prod_rollback" => rollback_request(ctx, parse(request)?),
        "preview_refresh" => previews::refresh_request(ctx, parse(request)?),
        "preview_destroy" => previews::destroy_request(ctx, parse(request)?),
        "preview_verification" => previews::verification_request(parse(request)?),
        other => Err(DriverError::Internal(format!(
            "verireel has no generic-web mapping for `{other}`"
        ))),
    }
}

/// `adapt-result`: generic-web's answer in the original VeriReel shape.
///
/// When the base action failed (the host passes its error as `error`,
/// `{"code", "message"}`, beside whatever `result` and `records` it has),
/// the original's answer is still a result with failed statuses (HTTP
/// 202): see [`crate::failures`]. A refused request (`invalid_request`)
/// stays a refusal, and so does a failed `preview-verification`, which
/// the original answered as an error too.
pub fn adapt_result(ctx: &Ctx<'_>, payload: Value) -> Result<AdaptResultAnswer, DriverError> {
    let failure = BaseFailure::of(&payload);
    let payload: AdaptResultPayload = serde_json::from_value(payload)
        .map_err(|e| DriverError::Internal(format!("adapt-result payload is invalid: {e}")))?;
    let action = ctx.invocation().action_id.clone();
    if let Some(failure) = &failure
        && (failure.is_refusal() || action == "preview_verification")
    {
        return Err(failure.to_error());
    }
    let (result, records) = match (action.as_str(), &failure) {
        ("testing_deploy" | "prod_deploy", None) => deploy_result(ctx, &payload)?,
        ("testing_deploy" | "prod_deploy", Some(f)) => failures::deploy(ctx, &payload, f)?,
        ("prod_promotion", None) => promotion_result(ctx, &payload)?,
        ("prod_promotion", Some(f)) => failures::promotion(ctx, &payload, f)?,
        ("prod_rollback", None) => rollback_result(ctx, &payload)?,
        ("prod_rollback", Some(f)) => failures::rollback(ctx, &payload, f)?,
        ("preview_refresh", None) => previews::refresh_and_migrate(ctx, &payload)?,
        ("preview_refresh", Some(f)) => failures::refresh(&payload, f)?,
        ("preview_destroy", None) => previews::destroy_result(&payload)?,
        ("preview_destroy", Some(f)) => failures::destroy(&payload, f)?,
        ("preview_verification", _) => previews::verification_result(&payload)?,
        (other, _) => {
            return Err(DriverError::Internal(format!(
                "verireel has no result mapping for `{other}`"
            )));
        }
    };
    let mut all = payload.records;
    all.extend(records);
    Ok(AdaptResultAnswer {
        result,
        records: all,
        replayable: None,
    })
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(request: Value) -> Result<T, DriverError> {
    serde_json::from_value(request)
        .map_err(|e| DriverError::InvalidRequest(format!("request is invalid: {e}")))
}

pub(crate) fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A generic-web status as one of VeriReel's.
pub(crate) fn status(v: &Value) -> ReleaseStatus {
    match v.as_str() {
        Some("pass") => ReleaseStatus::Pass,
        Some("fail" | "blocked") => ReleaseStatus::Fail,
        Some("pending") => ReleaseStatus::Pending,
        _ => ReleaseStatus::Skipped,
    }
}

/// The prod target's name when its target record names none (the
/// original's default), and the deploy mode a promotion record names.
const DEFAULT_PROD_TARGET: &str = "ver-prod-app";
const DEPLOY_MODE: &str = "dokploy-application-api";

/// Records keys an adapter adds.
pub(crate) type Keys = std::collections::BTreeMap<String, String>;

// ------------------------------------------------------------ stable deploy

/// `testing-deploy` / `prod-deploy`: the route fixes the lane, so a
/// payload naming the other lane is refused rather than followed.
fn deploy_request(
    ctx: &Ctx<'_>,
    req: StableDeployRequest,
    lane: StableInstance,
) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    if req.instance != lane {
        let route = ctx.invocation().action_id.replace('_', "-");
        return Err(invalid(
            "instance",
            format_args!("must be `{}` for {route}", lane.as_str()),
        ));
    }
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    rollout_window(req.rollout_timeout_seconds, req.rollout_interval_seconds)?;
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    Ok(json!({
        "product": ctx.product(),
        "instance": lane.as_str(),
        "artifact_id": req.artifact_id.trim(),
        "source_git_ref": req.source_git_ref.trim(),
        "timeout_seconds": req.timeout_seconds,
        "no_cache": req.no_cache,
        "verify_health": true,
        "health_timeout_seconds": req.rollout_timeout_seconds,
    }))
}

/// The deployment record an answer names, when it can be read.
pub(crate) fn deployment(ctx: &Ctx<'_>, id: &str) -> Option<DeploymentRecord> {
    records::read::<DeploymentRecord>(ctx, "deployment", id)
        .ok()
        .flatten()
}

/// `scheme://host[:port]` of a URL (the URL itself when it has no path).
pub(crate) fn origin(url: &str) -> String {
    let url = url.trim();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i].to_string(),
        None => url.trim_end_matches('/').to_string(),
    }
}

pub(crate) fn deploy_result(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
) -> Result<(Value, Keys), DriverError> {
    let r = &payload.result;
    let id = text(&r["deployment_record_id"]);
    let record = deployment(ctx, &id);
    let urls = record
        .as_ref()
        .map(|d| d.destination_health.urls.clone())
        .unwrap_or_default();
    let rollout = status(&r["destination_health_status"]);
    let finished = text(&r["deploy_finished_at"]);
    let result = StableDeployResult {
        deployment_record_id: id,
        deploy_status: status(&r["deploy_status"]),
        deploy_started_at: text(&r["deploy_started_at"]),
        deploy_finished_at: finished.clone(),
        target_name: text(&r["target_name"]),
        target_type: text(&r["target_category"]),
        target_id: String::new(),
        rollout_status: rollout,
        rollout_base_url: urls.first().map(|u| origin(u)).unwrap_or_default(),
        rollout_health_urls: urls,
        rollout_started_at: finished.clone(),
        rollout_finished_at: finished,
        error_message: text(&r["error_message"]),
    };
    let mut keys = Keys::new();
    if result.deploy_status == ReleaseStatus::Pass && rollout == ReleaseStatus::Pass {
        let context = text(&r["context"]);
        let instance = text(&r["instance"]);
        keys.insert(
            "inventory_record_id".into(),
            records::inventory_id(&context, &instance),
        );
    }
    Ok((to_value(&result)?, keys))
}

pub(crate) fn to_value<T: Serialize>(value: &T) -> Result<Value, DriverError> {
    serde_json::to_value(value)
        .map_err(|e| DriverError::Internal(format!("result does not serialise: {e}")))
}

// ------------------------------------------------------------ promotion

/// `prod-promotion`: testing → prod only, with the caller's promotion
/// record id and a named backup gate, checked here first (the original's
/// order: a refused gate is a failed promotion record, nothing deployed)
/// and again by the `promotion-gate` hook when generic-web runs.
fn promotion_request(ctx: &Ctx<'_>, req: ProdPromotionRequest) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    if req.from_instance.trim() != "testing" {
        return Err(invalid("from_instance", "must be `testing`"));
    }
    if req.to_instance.trim() != "prod" {
        return Err(invalid("to_instance", "must be `prod`"));
    }
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    non_blank("backup_record_id", &req.backup_record_id)?;
    non_blank("promotion_record_id", &req.promotion_record_id)?;
    release_status("source_health_status", &req.source_health_status)?;
    rollout_window(req.rollout_timeout_seconds, req.rollout_interval_seconds)?;
    if let Some(refusal) = gate_refusal(ctx, &req.backup_record_id, &req.context, &req.to_instance)?
    {
        return refused_promotion(ctx, &req, &refusal);
    }
    Ok(json!({
        "product": ctx.product(),
        "artifact_id": req.artifact_id.trim(),
        "source_git_ref": req.source_git_ref.trim(),
        "from_instance": "testing",
        "to_instance": "prod",
        "backup_record_id": req.backup_record_id.trim(),
        "backup_required": true,
        "wait": true,
        "timeout_seconds": Value::Null,
        "verify_health": true,
        "health_timeout_seconds": req.rollout_timeout_seconds,
        "no_cache": req.no_cache,
        "promotion_record_id": req.promotion_record_id.trim(),
    }))
}

/// The original's answer to a promotion whose gate cannot authorize it: a
/// failed promotion record under the caller's id (deploy `fail`, gate
/// `fail` with the reason, nothing else attempted) and the failed result,
/// HTTP 202, kept for replay like any answer of the original. Ends the
/// action (`$finish`): generic-web does not run.
fn refused_promotion(
    ctx: &Ctx<'_>,
    req: &ProdPromotionRequest,
    reason: &str,
) -> Result<Value, DriverError> {
    let context = req.context.trim();
    let (target_name, target_type) = match ctx.host().resolve_target(context, "prod") {
        Ok(t) if !t.target_name.trim().is_empty() => (t.target_name, t.target_type),
        _ => (DEFAULT_PROD_TARGET.to_string(), "application".to_string()),
    };
    let message = format!("VeriReel prod promotion refused: {reason}");
    let backup_record_id = req.backup_record_id.trim().to_string();
    let record = PromotionRecord {
        schema_version: 1,
        record_id: req.promotion_record_id.trim().to_string(),
        artifact_identity: ArtifactIdentityRef::new(req.artifact_id.trim()),
        deployment_record_id: String::new(),
        backup_record_id: backup_record_id.clone(),
        context: context.to_string(),
        from_instance: "testing".to_string(),
        to_instance: "prod".to_string(),
        source_health: HealthcheckEvidence {
            status: status(&Value::from(release_status(
                "source_health_status",
                &req.source_health_status,
            )?)),
            ..HealthcheckEvidence::skipped()
        },
        backup_gate: BackupGateEvidence {
            required: true,
            status: ReleaseStatus::Fail,
            evidence: [
                ("backup_record_id".to_string(), backup_record_id.clone()),
                ("error".to_string(), message.clone()),
            ]
            .into(),
        },
        deploy: DeploymentEvidence {
            target_name: target_name.clone(),
            target_type: if target_type == "compose" {
                TargetType::Compose
            } else {
                TargetType::Application
            },
            deploy_mode: DEPLOY_MODE.to_string(),
            deployment_id: String::new(),
            status: ReleaseStatus::Fail,
            started_at: String::new(),
            finished_at: String::new(),
        },
        post_deploy_update: PostDeployUpdateEvidence {
            attempted: false,
            status: ReleaseStatus::Skipped,
            detail: message.clone(),
        },
        destination_health: HealthcheckEvidence::skipped(),
        rollback: RollbackExecutionEvidence::default(),
        rollback_health: HealthcheckEvidence::skipped(),
    };
    records::write(ctx, "promotion", &record)?;
    let id = record.record_id;
    let result = ProdPromotionResult {
        promotion_record_id: id.clone(),
        deployment_record_id: String::new(),
        backup_record_id,
        deploy_status: ReleaseStatus::Fail,
        rollout_status: ReleaseStatus::Skipped,
        migration_status: ReleaseStatus::Skipped,
        health_status: ReleaseStatus::Skipped,
        deploy_started_at: String::new(),
        deploy_finished_at: String::new(),
        target_name,
        target_type,
        target_id: String::new(),
        error_message: message,
    };
    Ok(json!({ FINISH: {
        "result": to_value(&result)?,
        "records": {"promotion_record_id": id},
        "replayable": true,
    }}))
}

pub(crate) fn promotion_result(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
) -> Result<(Value, Keys), DriverError> {
    let r = &payload.result;
    let deployment_id = text(&r["deployment_record_id"]);
    let record = deployment(ctx, &deployment_id);
    let deploy = status(&r["deployment_status"]);
    let health = status(&r["destination_health_status"]);
    let migration = record
        .as_ref()
        .map_or(ReleaseStatus::Skipped, |d| d.post_deploy_update.status);
    let result = ProdPromotionResult {
        promotion_record_id: text(&r["promotion_record_id"]),
        deployment_record_id: deployment_id,
        backup_record_id: text(&r["backup_record_id"]),
        deploy_status: deploy,
        rollout_status: health,
        migration_status: migration,
        health_status: health,
        deploy_started_at: record
            .as_ref()
            .map(|d| d.deploy.started_at.clone())
            .unwrap_or_default(),
        deploy_finished_at: record
            .as_ref()
            .map(|d| d.deploy.finished_at.clone())
            .unwrap_or_default(),
        target_name: text(&r["target_name"]),
        target_type: text(&r["target_type"]),
        target_id: String::new(),
        error_message: text(&r["error_message"]),
    };
    Ok((to_value(&result)?, Keys::new()))
}

// ------------------------------------------------------------ rollback

/// `prod-rollback`: returns prod to the deployment before the promotion the
/// request names, and restores that promotion's backup gate (`post-deploy`
/// hook). The promotion must be the latest into prod (the one generic-web
/// annotates), its gate the request's, passing; a snapshot name, when
/// given, must be the gate's.
fn rollback_request(ctx: &Ctx<'_>, req: ProdRollbackRequest) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    if req.instance.trim() != "prod" {
        return Err(invalid("instance", "must be `prod`"));
    }
    non_blank("promotion_record_id", &req.promotion_record_id)?;
    non_blank("backup_record_id", &req.backup_record_id)?;
    rollout_window(req.rollout_timeout_seconds, req.rollout_interval_seconds)?;
    let context = req.context.trim();
    let promotion_id = req.promotion_record_id.trim();
    let backup_id = req.backup_record_id.trim();
    let latest = latest_promotion(ctx, context)?.ok_or_else(|| {
        DriverError::PreconditionFailed(format!("{context}/prod has no promotion to roll back"))
    })?;
    if latest.record_id != promotion_id {
        return Err(DriverError::PreconditionFailed(format!(
            "promotion `{promotion_id}` is not the latest into {context}/prod (`{}` is): \
             only the latest promotion can be rolled back",
            latest.record_id
        )));
    }
    if latest.backup_record_id.trim() != backup_id {
        return Err(invalid(
            "backup_record_id",
            format_args!(
                "is not the gate of promotion `{promotion_id}` (`{}`)",
                latest.backup_record_id
            ),
        ));
    }
    let gate =
        records::read::<BackupGateRecord>(ctx, "backup_gate", backup_id)?.ok_or_else(|| {
            DriverError::PreconditionFailed(format!("backup gate `{backup_id}` does not exist"))
        })?;
    let snapshot = gate
        .evidence
        .get(SNAPSHOT_NAME)
        .cloned()
        .unwrap_or_default();
    let named = req.snapshot_name.trim();
    if !named.is_empty() && named != snapshot {
        return Err(invalid(
            "snapshot_name",
            format_args!("must be blank or the gate's snapshot `{snapshot}`"),
        ));
    }
    Ok(json!({
        "product": ctx.product(),
        "instance": "prod",
        "backup_record_id": backup_id,
        "backup_required": true,
        // Asked not to start the app, the rollback does not wait for its
        // health (the `verify` hook skips its rollout check too).
        "verify_health": req.start_after_rollback,
        "timeout_seconds": Value::Null,
        "no_cache": false,
    }))
}

/// The latest promotion into `<context>/prod`, if any.
pub(crate) fn latest_promotion(
    ctx: &Ctx<'_>,
    context: &str,
) -> Result<Option<PromotionRecord>, DriverError> {
    let query = RecordQuery {
        context: Some(context.to_string()),
        instance: None,
        limit: 20,
    };
    for value in ctx.host().record_list("promotion", &query)? {
        let promotion: PromotionRecord = records::parse("promotion", value)?;
        if promotion.to_instance == "prod" {
            return Ok(Some(promotion));
        }
    }
    Ok(None)
}

pub(crate) fn rollback_result(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
) -> Result<(Value, Keys), DriverError> {
    let r = &payload.result;
    let req = &payload.request;
    let backup_id = text(&req["backup_record_id"]).trim().to_string();
    let promotion_id = text(&req["promotion_record_id"]).trim().to_string();
    let snapshot = records::read::<BackupGateRecord>(ctx, "backup_gate", &backup_id)?
        .and_then(|g| g.evidence.get(SNAPSHOT_NAME).cloned())
        .unwrap_or_default();
    let record = deployment(ctx, &text(&r["deployment_record_id"]));
    let result = ProdRollbackResult {
        promotion_record_id: promotion_id.clone(),
        backup_record_id: backup_id.clone(),
        snapshot_name: snapshot,
        rollback_status: status(&r["rollback_status"]),
        rollback_health_status: status(&r["destination_health_status"]),
        rollback_started_at: record
            .as_ref()
            .map(|d| d.deploy.started_at.clone())
            .unwrap_or_default(),
        rollback_finished_at: record
            .as_ref()
            .map(|d| d.deploy.finished_at.clone())
            .unwrap_or_default(),
        error_message: text(&r["error_message"]),
    };
    let keys = Keys::from([
        ("promotion_record_id".to_string(), promotion_id),
        ("backup_record_id".to_string(), backup_id),
    ]);
    Ok((to_value(&result)?, keys))
}
