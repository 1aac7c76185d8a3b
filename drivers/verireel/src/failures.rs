//! The original's answers when generic-web's base action failed: not an
//! HTTP error but the VeriReel result with failed statuses (HTTP 202),
//! read from the records generic-web wrote before it failed, with the
//! failure's message in `error_message`.
//!
//! The host hands `adapt-result` the base action's error as `error`
//! (`{"code", "message"}`) beside whatever `result` and `records` it has;
//! [`BaseFailure::of`] also reads it from `result.error`, or a plain
//! string, so the mapping does not hang on one spelling.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::AdaptResultPayload;
use lifecycle_records::{self as records, PromotionRecord, ReleaseStatus};

use crate::lifecycle::{Keys, deploy_result, deployment, promotion_result, rollback_result, text};

/// A base action's failure as `adapt-result` receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseFailure {
    pub code: String,
    pub message: String,
}

impl BaseFailure {
    /// The failure in an `adapt-result` payload, if the base action failed.
    pub fn of(payload: &Value) -> Option<BaseFailure> {
        let error = [&payload["error"], &payload["result"]["error"]]
            .into_iter()
            .find(|e| !e.is_null())?;
        let (code, message) = match error {
            Value::String(message) => (String::new(), message.clone()),
            // The host names the failure's `kind` (older shapes: `code`).
            other => {
                let code = match text(&other["kind"]) {
                    kind if kind.is_empty() => text(&other["code"]),
                    kind => kind,
                };
                (code, text(&other["message"]))
            }
        };
        let message = match message.trim() {
            "" => format!("the base action failed ({code})"),
            m => m.to_string(),
        };
        Some(BaseFailure { code, message })
    }

    /// A refused request stays a refusal: the original answered 400 too.
    pub fn is_refusal(&self) -> bool {
        self.code == "invalid_request"
    }

    /// The failure as this driver's error, for the actions whose failure
    /// the original answered as an error.
    pub fn to_error(&self) -> DriverError {
        let message = self.message.clone();
        match self.code.as_str() {
            "invalid_request" => DriverError::InvalidRequest(message),
            "not_found" => DriverError::NotFound(message),
            "provider_failed" => DriverError::ProviderFailed(message),
            "internal" | "internal_error" => DriverError::Internal(message),
            _ => DriverError::PreconditionFailed(message),
        }
    }
}

/// The payload with the records' ids copied into `result` where the
/// failed base action left none, so the ordinary mapping finds them.
fn with_ids(payload: &AdaptResultPayload) -> AdaptResultPayload {
    let mut payload = payload.clone();
    if !payload.result.is_object() {
        payload.result = json!({});
    }
    for (key, id) in &payload.records {
        if text(&payload.result[key.as_str()]).is_empty() {
            payload.result[key.as_str()] = Value::String(id.clone());
        }
    }
    payload
}

/// Sets `field` of `result` to `value`.
fn set(result: &mut Value, field: &str, value: impl Serialize) {
    if let Ok(value) = serde_json::to_value(value) {
        result[field] = value;
    }
}

/// A stable deploy that failed: the statuses of the deployment record
/// generic-web wrote (the deploy `fail` when no step says so), no
/// inventory key.
pub fn deploy(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
    failure: &BaseFailure,
) -> Result<(Value, Keys), DriverError> {
    let payload = with_ids(payload);
    let (mut result, _) = deploy_result(ctx, &payload)?;
    let record = deployment(ctx, &text(&result["deployment_record_id"]));
    let (mut deploy, rollout) = record
        .as_ref()
        .map_or((ReleaseStatus::Fail, ReleaseStatus::Skipped), |d| {
            (d.deploy.status, d.destination_health.status)
        });
    if deploy != ReleaseStatus::Fail && rollout != ReleaseStatus::Fail {
        deploy = ReleaseStatus::Fail;
    }
    set(&mut result, "deploy_status", deploy);
    set(&mut result, "rollout_status", rollout);
    set(&mut result, "error_message", &failure.message);
    Ok((result, Keys::new()))
}

/// A promotion that failed: the statuses of the promotion record
/// generic-web wrote under the caller's id (deploy, migrations, health).
pub fn promotion(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
    failure: &BaseFailure,
) -> Result<(Value, Keys), DriverError> {
    let mut payload = with_ids(payload);
    let id = match text(&payload.result["promotion_record_id"]) {
        id if id.is_empty() => text(&payload.request["promotion_record_id"]),
        id => id,
    };
    payload.result["promotion_record_id"] = Value::String(id.clone());
    if text(&payload.result["backup_record_id"]).is_empty() {
        payload.result["backup_record_id"] = payload.request["backup_record_id"].clone();
    }
    let (mut result, _) = promotion_result(ctx, &payload)?;
    let record = records::read::<PromotionRecord>(ctx, "promotion", id.trim())?;
    let (mut deploy, migration, health) = record.as_ref().map_or(
        (
            ReleaseStatus::Fail,
            ReleaseStatus::Skipped,
            ReleaseStatus::Skipped,
        ),
        |p| {
            (
                p.deploy.status,
                p.post_deploy_update.status,
                p.destination_health.status,
            )
        },
    );
    if ![deploy, migration, health].contains(&ReleaseStatus::Fail) {
        deploy = ReleaseStatus::Fail;
    }
    let rollout = if deploy == ReleaseStatus::Pass {
        health
    } else {
        ReleaseStatus::Skipped
    };
    set(&mut result, "deploy_status", deploy);
    set(&mut result, "rollout_status", rollout);
    set(&mut result, "migration_status", migration);
    set(&mut result, "health_status", health);
    set(&mut result, "error_message", &failure.message);
    let mut keys = Keys::new();
    if record.is_some() {
        keys.insert("promotion_record_id".into(), id);
    }
    Ok((result, keys))
}

/// A rollback that failed: `rollback_status: fail` (the health the
/// promotion record's annotation reports, when generic-web got so far).
pub fn rollback(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
    failure: &BaseFailure,
) -> Result<(Value, Keys), DriverError> {
    let payload = with_ids(payload);
    let (mut result, keys) = rollback_result(ctx, &payload)?;
    let promotion_id = text(&payload.request["promotion_record_id"]);
    let health = records::read::<PromotionRecord>(ctx, "promotion", promotion_id.trim())?
        .map_or(ReleaseStatus::Skipped, |p| p.rollback_health.status);
    set(&mut result, "rollback_status", ReleaseStatus::Fail);
    set(&mut result, "rollback_health_status", health);
    set(&mut result, "error_message", &failure.message);
    Ok((result, keys))
}

/// A preview refresh that failed: `refresh_status: fail`, and the
/// generation's `failed` transition when generic-web recorded one.
pub fn refresh(
    payload: &AdaptResultPayload,
    failure: &BaseFailure,
) -> Result<(Value, Keys), DriverError> {
    let payload = with_ids(payload);
    let (mut result, mut keys) = crate::previews::refresh_result(&payload)?;
    set(&mut result, "refresh_status", "fail");
    set(&mut result, "error_message", &failure.message);
    if keys.contains_key("transition") {
        keys.insert("transition".into(), "failed".into());
    }
    Ok((result, keys))
}

/// A preview destroy that failed: `destroy_status: fail`, transition
/// `destroy_failed`.
pub fn destroy(
    payload: &AdaptResultPayload,
    failure: &BaseFailure,
) -> Result<(Value, Keys), DriverError> {
    let payload = with_ids(payload);
    let (mut result, keys) = crate::previews::destroy_result(&payload)?;
    set(&mut result, "destroy_status", "fail");
    set(&mut result, "error_message", &failure.message);
    Ok((result, keys))
}
