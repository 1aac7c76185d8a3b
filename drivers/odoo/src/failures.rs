//! Failed base actions, answered as the original answered them.
//!
//! The original's Odoo promotion and rollback wrote their records first and
//! then answered a failed provider step as a 202 with `promotion_status` or
//! `rollback_status` `fail` and the step's `error_message`; only a refusal
//! before any record was written was an HTTP error. generic-web fails such
//! a run with an error after writing its records, and the host then calls
//! `adapt-result` with the failure (`payload.error`). These read back the
//! records the failed run wrote and rebuild the base answer it would have
//! given, so the route's usual mapping answers the failure; a failure that
//! left no record stays an error.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::AdaptResultPayload;
use lifecycle_records::{self as records, PromotionRecord, ReleaseStatus};

use crate::checks::normalized;

/// The promotion a failed `prod_promotion` recorded (its id is the one
/// Odoo's `adapt-request` named in the base request), as generic-web's
/// answer with `promotion_status: fail`; `None` when it wrote none.
pub fn recorded_promotion(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
) -> Result<Option<AdaptResultPayload>, DriverError> {
    let Some(error) = &payload.error else {
        return Ok(Some(payload.clone()));
    };
    let id = payload.base_request["promotion_record_id"]
        .as_str()
        .unwrap_or_default()
        .trim();
    if id.is_empty() {
        return Ok(None);
    }
    let Some(record) = records::read::<PromotionRecord>(ctx, "promotion", id)? else {
        return Ok(None);
    };
    let result = json!({
        "context": record.context,
        "from_instance": record.from_instance,
        "to_instance": record.to_instance,
        "artifact_id": record.artifact_identity.artifact_id,
        "backup_record_id": record.backup_record_id,
        "promotion_record_id": record.record_id,
        "deployment_record_id": record.deployment_record_id,
        "promotion_status": "fail",
        "deployment_status": record.deploy.status.as_str(),
        "destination_health_status": record.destination_health.status.as_str(),
        "error_message": error.message,
    });
    Ok(Some(rebuilt(payload, result)))
}

/// The deployment a failed `prod_rollback` recorded, as generic-web's
/// answer with `rollback_status: fail`: the run annotated the latest
/// promotion into the lane with a failed `rollback` whose start names the
/// deployment record it wrote. `None` when it got no further than its plan.
pub fn recorded_rollback(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
) -> Result<Option<AdaptResultPayload>, DriverError> {
    let Some(error) = &payload.error else {
        return Ok(Some(payload.clone()));
    };
    let context = normalized(payload.request["context"].as_str().unwrap_or_default());
    let instance = normalized(payload.base_request["instance"].as_str().unwrap_or("prod"));
    let Some(promotion) = records::latest_promotion(ctx, &context, &instance)? else {
        return Ok(None);
    };
    let rollback = &promotion.rollback;
    if !rollback.attempted
        || rollback.status != ReleaseStatus::Fail
        || rollback.started_at.is_empty()
    {
        return Ok(None);
    }
    let deployment_id = records::deployment_record_id(&rollback.started_at, &context, &instance);
    let Some(deployment) =
        records::read::<records::DeploymentRecord>(ctx, "deployment", &deployment_id)?
    else {
        return Ok(None);
    };
    let result = json!({
        "context": context,
        "instance": instance,
        "artifact_id": deployment
            .artifact_identity
            .as_ref()
            .map(|a| a.artifact_id.clone())
            .unwrap_or_default(),
        "promotion_record_id": promotion.record_id,
        "deployment_record_id": deployment.record_id,
        "rollback_status": "fail",
        "deploy_status": deployment.deploy.status.as_str(),
        "destination_health_status": promotion.rollback_health.status.as_str(),
        "error_message": error.message,
    });
    Ok(Some(rebuilt(payload, result)))
}

/// `payload` as if the base action had answered `result`, with the
/// `records` keys of the records it names.
fn rebuilt(payload: &AdaptResultPayload, result: Value) -> AdaptResultPayload {
    let mut records = payload.records.clone();
    for key in ["promotion_record_id", "deployment_record_id"] {
        if let Some(id) = result[key].as_str().filter(|id| !id.is_empty()) {
            records.insert(key.to_string(), id.to_string());
        }
    }
    AdaptResultPayload {
        result,
        records,
        error: None,
        ..payload.clone()
    }
}
