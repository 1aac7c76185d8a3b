//! Odoo on generic-web's one lifecycle: the hooks that make a promotion or
//! a rollback an Odoo one, and the adapters that let Odoo's own routes run
//! generic-web's actions. No deploy, promotion or rollback code is here:
//! generic-web runs it, and calls these at its fixed points.
//!
//! * `promotion-gate`: prod changes only with a passing, required prod
//!   backup gate of the promotion's context, captured within
//!   [`GATE_MAX_AGE_HOURS`]. generic-web calls it before anything changes on
//!   prod, whichever route promotes an Odoo product, generic-web's own
//!   included.
//! * `rollback-select`: a rollback returns to the testing release tuple's
//!   artifact (or the explicit stored artifact the Odoo route named), as
//!   the earlier passing prod deployment of that artifact.
//! * `adapt-request` / `adapt-result`: `/v1/drivers/odoo/prod-promotion`
//!   and `prod-rollback` keep the original's request and result shapes;
//!   these map them onto generic-web's `prod_promotion` and `prod_rollback`.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::{
    AdaptResultAnswer, AdaptResultPayload, PromotionGateAnswer, PromotionGatePayload,
    RollbackSelectAnswer, RollbackSelectPayload,
};
use lifecycle_records::{
    self as records, ArtifactIdentityManifest, BackupGateRecord, ReleaseStatus, ReleaseTupleRecord,
};

use crate::actions::testing_to_prod;
use crate::checks::{invalid, non_blank, normalized};
use crate::failures;
use crate::models::{ProdPromotionRequest, ProdRollbackRequest};

/// How old a prod backup gate may be when a promotion relies on it. A
/// restore point from before the day's changes is not one: capture the gate
/// right before promoting (`prod-promotion-run` does).
pub const GATE_MAX_AGE_HOURS: i64 = 6;

// ------------------------------------------------------------ promotion gate

/// `promotion-gate`: a passing, required backup gate of the destination
/// lane, fresh enough, or the promotion is blocked before prod changes.
pub fn promotion_gate(
    ctx: &Ctx<'_>,
    payload: PromotionGatePayload,
) -> Result<PromotionGateAnswer, DriverError> {
    let refusal = gate_refusal(
        ctx,
        &payload.context,
        &payload.to_instance,
        &payload.backup_record_id,
    )?;
    Ok(PromotionGateAnswer {
        allowed: Some(refusal.is_none()),
        reason: refusal.unwrap_or_default(),
    })
}

/// Why backup gate `backup_record_id` cannot let a promotion into
/// `context`/`to_instance` change prod, or `None` when it can: it exists,
/// is of that lane, required, passed, and was captured within
/// [`GATE_MAX_AGE_HOURS`].
pub(crate) fn gate_refusal(
    ctx: &Ctx<'_>,
    context: &str,
    to_instance: &str,
    backup_record_id: &str,
) -> Result<Option<String>, DriverError> {
    let backup_record_id = backup_record_id.trim();
    if backup_record_id.is_empty() {
        return Ok(Some(
            "Odoo prod promotions need a passing prod backup gate: capture one with \
             /v1/drivers/odoo/prod-backup-gate and name it in backup_record_id"
                .to_string(),
        ));
    }
    let Some(gate) = records::read::<BackupGateRecord>(ctx, "backup_gate", backup_record_id)?
    else {
        return Ok(Some(format!(
            "backup gate `{backup_record_id}` does not exist"
        )));
    };
    if gate.context.trim() != context.trim()
        || normalized(&gate.instance) != normalized(to_instance)
    {
        return Ok(Some(format!(
            "backup gate `{backup_record_id}` is of lane {}/{}, not {context}/{to_instance}",
            gate.context, gate.instance
        )));
    }
    if !gate.required {
        return Ok(Some(format!(
            "backup gate `{backup_record_id}` is not marked required"
        )));
    }
    if gate.status != ReleaseStatus::Pass {
        return Ok(Some(format!(
            "backup gate `{backup_record_id}` is {}, not pass",
            gate.status.as_str()
        )));
    }
    let now = ctx.host().now();
    Ok(match age_seconds(&gate.created_at, &now) {
        Some(age) if age <= GATE_MAX_AGE_HOURS * 3600 => None,
        Some(age) => Some(format!(
            "backup gate `{backup_record_id}` was captured {} h {} min ago; a promotion needs \
             one from the last {GATE_MAX_AGE_HOURS} h",
            age / 3600,
            age % 3600 / 60
        )),
        None => Some(format!(
            "backup gate `{backup_record_id}` has no readable created_at (`{}`)",
            gate.created_at
        )),
    })
}

pub use lifecycle_records::age_seconds;

// ------------------------------------------------------------ adapters

/// `adapt-request`: Odoo's request, as the host validated it, becomes the
/// request of the generic-web action it runs.
pub fn adapt_request(ctx: &Ctx<'_>, request: Value) -> Result<Value, DriverError> {
    match ctx.invocation().action_id.as_str() {
        "prod_promotion" => promotion_request(ctx, parse(request)?),
        "prod_promotion_run" => crate::promotion_run::prepare(ctx, parse(request)?),
        "preview_apply" => crate::previews::apply_request(ctx, parse(request)?),
        "prod_rollback" => rollback_request(ctx, parse(request)?),
        "stable_bootstrap" | "target_replacement_apply" => {
            crate::rebuild::deploy_request(ctx, request)
        }
        other => Err(DriverError::Internal(format!(
            "odoo has no generic-web mapping for `{other}`"
        ))),
    }
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(request: Value) -> Result<T, DriverError> {
    serde_json::from_value(request)
        .map_err(|e| DriverError::InvalidRequest(format!("request is invalid: {e}")))
}

/// Odoo's promotion preconditions (§11.5), then generic-web's request: the
/// backup gate is required, the source ref is the testing tuple's.
pub(crate) fn promotion_request(
    ctx: &Ctx<'_>,
    req: ProdPromotionRequest,
) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    testing_to_prod(&req.from_instance, &req.to_instance)?;
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("backup_record_id", &req.backup_record_id)?;
    if req.verify_health && !req.wait {
        return Err(invalid("wait", "must be true when verify_health is true"));
    }
    let context = normalized(&req.context);
    let artifact_id = req.artifact_id.trim();
    // The original's order: manifest, backup gate, testing tuple; each a
    // refusal (400) before any record is written.
    let manifest = stored_manifest(ctx, artifact_id)?;
    if let Some(reason) = gate_refusal(ctx, &context, "prod", &req.backup_record_id)? {
        return Err(invalid("backup_record_id", format!("is refused: {reason}")));
    }
    let tuple = testing_tuple(ctx, &context)?;
    if tuple.artifact_id.trim() != artifact_id {
        return Err(DriverError::InvalidRequest(format!(
            "the {context}/testing release tuple ships `{}`, not `{artifact_id}`",
            tuple.artifact_id
        )));
    }
    let source_git_ref = match req.source_git_ref.trim() {
        "" => source_commit(&context, &tuple, &manifest),
        explicit => explicit.to_string(),
    };
    Ok(json!({
        "product": ctx.product(),
        "artifact_id": artifact_id,
        "source_git_ref": source_git_ref,
        "from_instance": normalized(&req.from_instance),
        "to_instance": normalized(&req.to_instance),
        "backup_record_id": req.backup_record_id.trim(),
        "backup_required": true,
        "wait": req.wait,
        "timeout_seconds": req.timeout_seconds,
        "verify_health": req.verify_health,
        "health_timeout_seconds": req.health_timeout_seconds.unwrap_or(60),
        "no_cache": req.no_cache,
        // Named here so that a failed promotion's record can be read back
        // (`failures.rs`).
        "promotion_record_id": records::promotion_record_id(&ctx.host().now(), &context, "testing", "prod"),
    }))
}

/// Odoo's rollback: back to the testing tuple's artifact, or an explicit
/// stored artifact, as the earlier passing prod deployment of it.
fn rollback_request(ctx: &Ctx<'_>, req: ProdRollbackRequest) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    let context = normalized(&req.context);
    let instance = normalized(&req.instance);
    if instance != "prod" {
        return Err(invalid("instance", "must be `prod`"));
    }
    if req.verify_health && !req.wait {
        return Err(invalid("wait", "must be true when verify_health is true"));
    }
    let artifact_id = rollback_artifact(ctx, &context, req.artifact_id.trim())?;
    let deployment = deployment_of(ctx, &context, &instance, &artifact_id)?;
    let mut request = json!({
        "product": ctx.product(),
        "instance": instance,
        "rollback_deployment_record_id": deployment,
        "verify_health": req.verify_health,
        "timeout_seconds": req.timeout_seconds,
        "no_cache": req.no_cache,
    });
    if req.timeout_seconds.is_none() {
        request["timeout_seconds"] = Value::Null;
    }
    Ok(request)
}

/// The artifact a rollback returns to: the explicit one (its manifest must
/// be stored), else the testing release tuple's.
fn rollback_artifact(ctx: &Ctx<'_>, context: &str, explicit: &str) -> Result<String, DriverError> {
    if !explicit.is_empty() {
        stored_manifest(ctx, explicit)?;
        return Ok(explicit.to_string());
    }
    Ok(testing_tuple(ctx, context)?.artifact_id.trim().to_string())
}

/// The newest passing deployment of `artifact_id` on the lane.
fn deployment_of(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
    artifact_id: &str,
) -> Result<String, DriverError> {
    let query = RecordQuery {
        context: Some(context.to_string()),
        instance: Some(instance.to_string()),
        limit: 200,
    };
    let found = ctx
        .host()
        .record_list("deployment", &query)?
        .into_iter()
        .find(|d| {
            d["artifact_identity"]["artifact_id"].as_str() == Some(artifact_id)
                && d["deploy"]["status"] == "pass"
                && d["destination_health"]["status"] != "fail"
        });
    found
        .and_then(|d| d["record_id"].as_str().map(str::to_string))
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "no passing {context}/{instance} deployment of `{artifact_id}` to roll back to"
            ))
        })
}

fn stored_manifest(
    ctx: &Ctx<'_>,
    artifact_id: &str,
) -> Result<ArtifactIdentityManifest, DriverError> {
    records::read::<ArtifactIdentityManifest>(ctx, "artifact_manifest", artifact_id)?.ok_or_else(
        || {
            DriverError::InvalidRequest(format!(
                "Missing artifact manifest `{artifact_id}`: publish it with \
                 /v1/drivers/odoo/artifact-publish first"
            ))
        },
    )
}

fn testing_tuple(ctx: &Ctx<'_>, context: &str) -> Result<ReleaseTupleRecord, DriverError> {
    let key = records::inventory_id(context, "testing");
    records::read::<ReleaseTupleRecord>(ctx, "release_tuple", &key)?.ok_or_else(|| {
        DriverError::InvalidRequest(format!(
            "no current {context}/testing release tuple: deploy testing first"
        ))
    })
}

/// `repo_shas["tenant-<context>"]` of the tuple, else the manifest's
/// source commit.
fn source_commit(
    context: &str,
    tuple: &ReleaseTupleRecord,
    manifest: &ArtifactIdentityManifest,
) -> String {
    tuple
        .repo_shas
        .get(&format!("tenant-{context}"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| manifest.source_commit.trim().to_string())
}

/// `adapt-result`: generic-web's answer in the original Odoo shape. A
/// failed promotion or rollback that wrote its records is answered as the
/// original did, with a `fail` status (`failures.rs`); any other failure
/// stays the error it was (an answer without a result).
pub fn adapt_result(
    ctx: &Ctx<'_>,
    payload: AdaptResultPayload,
) -> Result<AdaptResultAnswer, DriverError> {
    let action = ctx.invocation().action_id.clone();
    let recorded = match action.as_str() {
        "prod_promotion" | "prod_promotion_run" => failures::recorded_promotion(ctx, &payload)?,
        "prod_rollback" => failures::recorded_rollback(ctx, &payload)?,
        _ if payload.error.is_some() => None,
        _ => Some(payload),
    };
    let Some(payload) = recorded else {
        return Ok(AdaptResultAnswer::default());
    };
    match action.as_str() {
        "stable_bootstrap" | "target_replacement_apply" => Ok(AdaptResultAnswer {
            result: crate::rebuild::result(ctx, &payload)?,
            records: payload.records.clone(),
            replayable: None,
        }),
        "prod_promotion" => Ok(promotion_answer(&payload)),
        "prod_promotion_run" => crate::promotion_run::run_answer(ctx, &payload),
        "preview_apply" => crate::previews::apply_answer(&payload),
        "prod_rollback" => Ok(rollback_answer(&payload)),
        other => Err(DriverError::Internal(format!(
            "odoo has no result mapping for `{other}`"
        ))),
    }
}

/// Text of a JSON string, or empty.
fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A generic-web status as one of the original's Odoo result statuses.
fn status(v: &Value) -> &'static str {
    match v.as_str() {
        Some("pass") => "pass",
        Some("fail") => "fail",
        _ => "skipped",
    }
}

/// generic-web's rollback answer in the original Odoo rollback shape.
fn rollback_answer(payload: &AdaptResultPayload) -> AdaptResultAnswer {
    let (req, r) = (&payload.request, &payload.result);
    let context = normalized(req["context"].as_str().unwrap_or_default());
    let instance = text(&r["instance"]);
    let explicit = req["artifact_id"]
        .as_str()
        .is_some_and(|a| !a.trim().is_empty());
    let passed = r["rollback_status"] == "pass";
    let artifact_id = text(&r["artifact_id"]);
    let tuple_id = if passed {
        records::tuple_id(&context, &instance, &artifact_id)
    } else {
        String::new()
    };
    AdaptResultAnswer {
        result: json!({
            "context": context,
            "instance": instance,
            "source_channel": if explicit { "artifact" } else { "testing" },
            "artifact_id": artifact_id,
            "promotion_record_id": text(&r["promotion_record_id"]),
            "deployment_record_id": text(&r["deployment_record_id"]),
            "release_tuple_id": tuple_id,
            "rollback_status": if passed { "pass" } else { "fail" },
            "rollback_health_status": status(&r["destination_health_status"]),
            "post_deploy_status": status(&r["deploy_status"]),
            "error_message": text(&r["error_message"]),
        }),
        records: payload.records.clone(),
        replayable: None,
    }
}

/// generic-web's promotion answer in the original Odoo promotion shape
/// (also the promotion part of `prod-promotion-run`).
pub(crate) fn promotion_answer(payload: &AdaptResultPayload) -> AdaptResultAnswer {
    let r = &payload.result;
    let mut records = payload.records.clone();
    let req = &payload.request;
    let context = normalized(req["context"].as_str().unwrap_or_default());
    let artifact_id = text(&r["artifact_id"]);
    let passed = r["promotion_status"] == "pass"
        && r["deployment_status"] == "pass"
        && r["destination_health_status"] != "fail";
    let tuple_id = if passed {
        records::tuple_id(&context, "prod", &artifact_id)
    } else {
        String::new()
    };
    if passed {
        records.insert("release_tuple_id".into(), tuple_id.clone());
    }
    AdaptResultAnswer {
        result: json!({
            "context": context,
            "from_instance": text(&r["from_instance"]),
            "to_instance": text(&r["to_instance"]),
            "artifact_id": artifact_id,
            "backup_record_id": text(&r["backup_record_id"]),
            "promotion_record_id": text(&r["promotion_record_id"]),
            "deployment_record_id": text(&r["deployment_record_id"]),
            "release_tuple_id": tuple_id,
            "promotion_status": if passed { "pass" } else { "fail" },
            "deployment_status": status(&r["deployment_status"]),
            "post_deploy_status": status(&r["deployment_status"]),
            "destination_health_status": status(&r["destination_health_status"]),
            "error_message": text(&r["error_message"]),
        }),
        records,
        replayable: None,
    }
}

// ------------------------------------------------------------ rollback select

/// `rollback-select`: keep a deployment the request named (Odoo's route
/// names the one it resolved) when its artifact is a stored one with a
/// manifest; otherwise return to the testing release tuple's artifact, as
/// the newest earlier passing deployment of it.
pub fn rollback_select(
    ctx: &Ctx<'_>,
    payload: RollbackSelectPayload,
) -> Result<RollbackSelectAnswer, DriverError> {
    if payload.selection == "request" {
        if let Some(selected) = &payload.selected {
            stored_manifest(ctx, selected.artifact_id.trim())?;
        }
        return Ok(RollbackSelectAnswer::default());
    }
    let tuple = testing_tuple(ctx, &payload.context)?;
    let artifact = tuple.artifact_id.trim();
    let chosen = payload
        .candidates
        .iter()
        .find(|c| c.artifact_id.trim() == artifact)
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "Odoo rolls back to the {}/testing release tuple's artifact `{artifact}`, \
                 and {}/{} has no earlier passing deployment of it",
                payload.context, payload.context, payload.instance
            ))
        })?;
    Ok(RollbackSelectAnswer {
        deployment_record_id: chosen.deployment_record_id.clone(),
        reason: format!(
            "the {}/testing release tuple ships `{artifact}`",
            payload.context
        ),
    })
}
