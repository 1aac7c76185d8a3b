//! `prod-promotion-run`: the one-call prod promotion. Three steps, each
//! the one the single-step routes run:
//!
//! 1. the inputs (`promotion_inputs.rs`): what testing ships, and the
//!    backup gate id derived from the request id;
//! 2. the prod backup gate (`backup_gate.rs`), captured under that id (a
//!    retried request finds the passed gate and does not capture again);
//! 3. generic-web's promotion with Odoo's hooks, whose `promotion-gate`
//!    sees the gate step 2 just captured.
//!
//! Steps 1 and 2 are this route's `adapt-request` step (the host runs it
//! with the route's declared writes); step 3 is the base action the route
//! runs. A blocked inputs step or a failed gate ends the run there with a
//! `blocked` or `fail` result that is not kept for idempotent replay, and
//! nothing of the promotion ran. No promotion logic is here: generic-web
//! runs it.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::{AdaptResultAnswer, AdaptResultPayload, FINISH};
use serde_json::Map;

use crate::actions::testing_to_prod;
use crate::checks::{invalid, non_blank, normalized, optional_at_least};
use crate::lifecycle::{promotion_answer, promotion_request};
use crate::models::*;
use crate::promotion_inputs::{self, Promotion};

/// The original's message for a failed gate without one of its own.
const GATE_FAILED: &str = "Odoo prod backup gate failed.";
/// The original's message for a promotion that did not end verified.
const NOT_VERIFIED: &str =
    "Odoo prod promotion did not finish with passing promotion and health status.";

/// The run request's own checks, in the original's order.
fn check(req: &ProdPromotionRunRequest) -> Result<(), DriverError> {
    non_blank("context", &req.context)?;
    testing_to_prod(&req.from_instance, &req.to_instance)?;
    non_blank("request_id", &req.request_id)?;
    if req.verify_health && !req.wait {
        return Err(invalid("wait", "must be true when verify_health is true"));
    }
    optional_at_least("backup_timeout_seconds", req.backup_timeout_seconds, 1)?;
    optional_at_least(
        "promotion_timeout_seconds",
        req.promotion_timeout_seconds,
        1,
    )?;
    optional_at_least("health_timeout_seconds", req.health_timeout_seconds, 1)
}

/// The inputs of the run's lane (step 1).
fn inputs(
    ctx: &Ctx<'_>,
    req: &ProdPromotionRunRequest,
) -> Result<ProdPromotionInputsResult, DriverError> {
    let (context, from, to) = (
        normalized(&req.context),
        normalized(&req.from_instance),
        normalized(&req.to_instance),
    );
    promotion_inputs::resolve(
        ctx,
        &Promotion {
            context: &context,
            from_instance: &from,
            to_instance: &to,
            request_id: req.request_id.trim(),
        },
    )
}

/// The run's result once its inputs are known, every later step skipped.
fn from_inputs(
    req: &ProdPromotionRunRequest,
    inputs: &ProdPromotionInputsResult,
) -> ProdPromotionRunResult {
    ProdPromotionRunResult {
        context: inputs.context.clone(),
        from_instance: inputs.from_instance.clone(),
        to_instance: inputs.to_instance.clone(),
        request_id: req.request_id.trim().to_string(),
        run_status: RunStatus::Blocked,
        input_status: inputs.input_status,
        backup_status: PassFailSkipped::Skipped,
        promotion_status: PassFailSkipped::Skipped,
        deployment_status: ReleaseStatus::Skipped,
        post_deploy_status: ReleaseStatus::Skipped,
        destination_health_status: ReleaseStatus::Skipped,
        artifact_id: inputs.artifact_id.clone(),
        source_git_ref: inputs.source_git_ref.clone(),
        backup_record_id: inputs.backup_record_id.clone(),
        promotion_record_id: String::new(),
        deployment_record_id: String::new(),
        release_tuple_id: inputs.release_tuple_id.clone(),
        image_repository: inputs.image_repository.clone(),
        image_digest: inputs.image_digest.clone(),
        error_message: inputs.error_message.clone(),
    }
}

/// The route's `records` keys for `run`: the ids it names, when set.
fn records_of(run: &ProdPromotionRunResult) -> Map<String, Value> {
    [
        ("artifact_id", &run.artifact_id),
        ("backup_record_id", &run.backup_record_id),
        ("promotion_record_id", &run.promotion_record_id),
        ("deployment_record_id", &run.deployment_record_id),
        ("release_tuple_id", &run.release_tuple_id),
        ("request_id", &run.request_id),
    ]
    .into_iter()
    .filter(|(_, value)| !value.trim().is_empty())
    .map(|(key, value)| (key.to_string(), Value::String(value.clone())))
    .collect()
}

/// Ends the run before the promotion: the host answers `run` and does not
/// keep it for replay (a retry with the same key runs again).
fn finish(run: &ProdPromotionRunResult) -> Result<Value, DriverError> {
    let result = serde_json::to_value(run)
        .map_err(|e| DriverError::Internal(format!("run result does not serialise: {e}")))?;
    Ok(json!({ FINISH: {"result": result, "records": records_of(run), "replayable": false} }))
}

/// `adapt-request` of `prod_promotion_run`: steps 1 and 2, then
/// generic-web's promotion request (through Odoo's promotion mapping), or
/// the run's end when a step did not pass.
pub fn prepare(ctx: &Ctx<'_>, req: ProdPromotionRunRequest) -> Result<Value, DriverError> {
    check(&req)?;
    let inputs = inputs(ctx, &req)?;
    let mut run = from_inputs(&req, &inputs);
    if inputs.input_status == ReadyBlocked::Blocked {
        return finish(&run);
    }

    let gate = crate::backup_gate::prod_backup_gate(
        ctx,
        ProdBackupGateRequest {
            schema_version: 1,
            context: inputs.context.clone(),
            instance: inputs.to_instance.clone(),
            backup_record_id: inputs.backup_record_id.clone(),
            timeout_seconds: req.backup_timeout_seconds,
        },
    )?
    .result;
    if gate.backup_status != PassFail::Pass {
        run.run_status = RunStatus::Fail;
        run.backup_status = PassFailSkipped::Fail;
        run.error_message = match gate.error_message.trim() {
            "" => GATE_FAILED.to_string(),
            message => message.to_string(),
        };
        return finish(&run);
    }

    promotion_request(
        ctx,
        ProdPromotionRequest {
            schema_version: 1,
            context: inputs.context.clone(),
            from_instance: inputs.from_instance.clone(),
            to_instance: inputs.to_instance.clone(),
            artifact_id: inputs.artifact_id.clone(),
            backup_record_id: inputs.backup_record_id.clone(),
            source_git_ref: inputs.source_git_ref.clone(),
            wait: req.wait,
            timeout_seconds: req.promotion_timeout_seconds,
            verify_health: req.verify_health,
            health_timeout_seconds: req.health_timeout_seconds,
            no_cache: req.no_cache,
        },
    )
}

/// `adapt-result` of `prod_promotion_run`: generic-web's promotion answer
/// (in Odoo's promotion shape) as the run's. The run passes only when the
/// promotion passed and prod's health was verified passing, as the
/// original; only a passing run is kept for replay.
pub fn run_answer(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
) -> Result<AdaptResultAnswer, DriverError> {
    let req: ProdPromotionRunRequest = crate::lifecycle::parse(payload.request.clone())?;
    let inputs = inputs(ctx, &req)?;
    let promotion = promotion_answer(payload);
    let p: ProdPromotionResult = serde_json::from_value(promotion.result).map_err(|e| {
        DriverError::Internal(format!("the promotion answer does not read back: {e}"))
    })?;
    let mut run = from_inputs(&req, &inputs);
    let passed =
        p.promotion_status == PassFail::Pass && p.destination_health_status == ReleaseStatus::Pass;
    run.run_status = if passed {
        RunStatus::Pass
    } else {
        RunStatus::Fail
    };
    run.backup_status = PassFailSkipped::Pass;
    run.promotion_status = match p.promotion_status {
        PassFail::Pass => PassFailSkipped::Pass,
        PassFail::Fail => PassFailSkipped::Fail,
    };
    run.deployment_status = p.deployment_status;
    run.post_deploy_status = p.post_deploy_status;
    run.destination_health_status = p.destination_health_status;
    run.artifact_id = p.artifact_id;
    run.promotion_record_id = p.promotion_record_id;
    run.deployment_record_id = p.deployment_record_id;
    run.release_tuple_id = p.release_tuple_id;
    run.error_message = match p.error_message.trim() {
        "" if !passed => NOT_VERIFIED.to_string(),
        message => message.to_string(),
    };
    let mut records = promotion.records;
    for (key, value) in records_of(&run) {
        if let Value::String(value) = value {
            records.insert(key, value);
        }
    }
    let result = serde_json::to_value(&run)
        .map_err(|e| DriverError::Internal(format!("run result does not serialise: {e}")))?;
    Ok(AdaptResultAnswer {
        result,
        records,
        replayable: Some(passed),
    })
}
