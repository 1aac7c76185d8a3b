//! Verification evidence a product's own smoke run reports back: folded into
//! the stable deployment (and promotion) it verified, or into the latest
//! generation of a preview.

use launchplane_sdk::prelude::*;

use crate::checks::{at_least, invalid, non_blank, optional_at_least, release_status};
use crate::models::*;
use crate::previews::generations;
use crate::records::{
    self, DeploymentRecord, HealthcheckEvidence, PreviewGenerationState, PreviewState,
    PromotionRecord, inventory_id, preview_id, source_keys,
};

/// A verification must end as pass or fail; URLs need the timeout they were
/// checked with, or the evidence would claim an unbounded check.
fn check_verification(
    status: &str,
    verified_at: &str,
    checked_urls: &[String],
    timeout_seconds: Option<u32>,
) -> Result<PassFail, DriverError> {
    let status = match release_status("verification_status", status)? {
        "pass" => PassFail::Pass,
        "fail" => PassFail::Fail,
        _ => return Err(invalid("verification_status", "must be pass or fail")),
    };
    non_blank("verified_at", verified_at)?;
    if !checked_urls.is_empty() && timeout_seconds.is_none() {
        return Err(invalid(
            "timeout_seconds",
            "is required when checked_urls is not empty",
        ));
    }
    optional_at_least("timeout_seconds", timeout_seconds, 1)?;
    Ok(status)
}

/// Keys a health payload may echo the runtime identity under (§6.14).
const IDENTITY_ECHO_KEYS: [&str; 4] = [
    "runtime_identity",
    "launchplane_runtime_identity",
    "launchplaneRuntimeIdentity",
    "LAUNCHPLANE_RUNTIME_IDENTITY_JSON",
];

/// Identity fields a verification compares.
const IDENTITY_FIELDS: [&str; 6] = [
    "product",
    "context",
    "instance",
    "deployment_record_id",
    "artifact_id",
    "source_git_ref",
];

/// Compares the identity a health payload echoes with the deployment's.
fn identity_outcome(
    payload: Option<&Value>,
    deployment: &DeploymentRecord,
) -> (IdentityStatus, String) {
    let Some(payload) = payload.filter(|p| !p.is_null()) else {
        return (IdentityStatus::Unchecked, String::new());
    };
    let Some(echo) = IDENTITY_ECHO_KEYS.iter().find_map(|k| payload.get(*k)) else {
        return (
            IdentityStatus::Missing,
            "the health payload echoes no runtime identity".to_string(),
        );
    };
    let observed = match echo {
        Value::Object(_) => echo.clone(),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                return (
                    IdentityStatus::Malformed,
                    "the echoed runtime identity is not a JSON object".to_string(),
                );
            }
        },
        _ => {
            return (
                IdentityStatus::Malformed,
                "the echoed runtime identity is not a JSON object".to_string(),
            );
        }
    };
    let expected = deployment
        .runtime_source
        .get(source_keys::RUNTIME_IDENTITY)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            json!({
                "context": deployment.context, "instance": deployment.instance,
                "deployment_record_id": deployment.record_id,
                "artifact_id": deployment.artifact_id(), "source_git_ref": deployment.source_git_ref,
            })
        });
    let differing: Vec<&str> = IDENTITY_FIELDS
        .iter()
        .copied()
        .filter(|field| {
            expected
                .get(*field)
                .is_some_and(|want| observed.get(*field) != Some(want))
        })
        .collect();
    if differing.is_empty() {
        (IdentityStatus::Match, String::new())
    } else {
        (
            IdentityStatus::Mismatch,
            format!(
                "the echoed runtime identity differs in {}",
                differing.join(", ")
            ),
        )
    }
}

/// `stable-verification`: fold a product's smoke run into the deployment it
/// verified (and the promotion that deployed it).
///
/// Host calls, in order: `record_get deployment`, `record_get promotion`
/// (when named), `record_put deployment` (destination health replaced; the
/// host then moves the lane's inventory if deploy and health pass),
/// `record_put promotion` (destination health replaced). An echoed runtime
/// identity that mismatches or is malformed fails the verification.
pub fn stable_verification(
    ctx: &Ctx<'_>,
    req: StableVerificationRequest,
) -> Result<Reply<StableVerificationResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("instance", &req.instance)?;
    non_blank("deployment_record_id", &req.deployment_record_id)?;
    let mut status = check_verification(
        &req.verification_status,
        &req.verified_at,
        &req.checked_urls,
        req.timeout_seconds,
    )?;
    let (context, instance) = (req.context.trim(), req.instance.trim());
    let deployment_id = req.deployment_record_id.trim();
    let mut deployment: DeploymentRecord = records::read(ctx, "deployment", deployment_id)?
        .ok_or_else(|| {
            DriverError::NotFound(format!("deployment record `{deployment_id}` was not found"))
        })?;
    if deployment.context != context || deployment.instance != instance {
        return Err(invalid(
            "deployment_record_id",
            format_args!(
                "`{deployment_id}` is a deployment of {}/{}, not {context}/{instance}",
                deployment.context, deployment.instance
            ),
        ));
    }
    let promotion_id = req.promotion_record_id.trim();
    let promotion: Option<PromotionRecord> = if promotion_id.is_empty() {
        None
    } else {
        let promotion: PromotionRecord = records::read(ctx, "promotion", promotion_id)?
            .ok_or_else(|| {
                DriverError::NotFound(format!("promotion record `{promotion_id}` was not found"))
            })?;
        if promotion.context != context
            || promotion.to_instance != instance
            || promotion.deployment_record_id != deployment_id
        {
            return Err(invalid(
                "promotion_record_id",
                format_args!(
                    "`{promotion_id}` is not the promotion that deployed `{deployment_id}` to {context}/{instance}"
                ),
            ));
        }
        Some(promotion)
    };

    let (identity, identity_detail) = identity_outcome(req.health_payload.as_ref(), &deployment);
    if matches!(
        identity,
        IdentityStatus::Mismatch | IdentityStatus::Malformed
    ) {
        status = PassFail::Fail;
    }
    let health_status = match status {
        PassFail::Pass => ReleaseStatus::Pass,
        PassFail::Fail => ReleaseStatus::Fail,
    };
    let health = HealthcheckEvidence {
        verified: !req.checked_urls.is_empty(),
        urls: req.checked_urls.clone(),
        timeout_seconds: req.timeout_seconds,
        status: health_status,
    };
    deployment.destination_health = health.clone();
    let moves_inventory =
        deployment.deploy.status == ReleaseStatus::Pass && health_status == ReleaseStatus::Pass;
    let written = records::write(ctx, "deployment", &deployment)?;
    let mut reply_promotion = String::new();
    if let Some(mut promotion) = promotion {
        promotion.destination_health = health;
        reply_promotion = records::write(ctx, "promotion", &promotion)?;
    }
    let result = StableVerificationResult {
        deployment_record_id: written.clone(),
        promotion_record_id: reply_promotion.clone(),
        inventory_record_id: if moves_inventory {
            inventory_id(context, instance)
        } else {
            String::new()
        },
        context: context.to_string(),
        instance: instance.to_string(),
        verification_status: status,
        verified_at: req.verified_at.trim().to_string(),
        runtime_identity_status: identity,
        runtime_identity_detail: identity_detail,
        destination_health_status: health_status,
    };
    let mut reply = Reply::new(result.clone())
        .record("deployment_record_id", written)
        .record(
            "verification_status",
            if status == PassFail::Pass {
                "pass"
            } else {
                "fail"
            },
        )
        .record("verified_at", result.verified_at.clone());
    if !reply_promotion.is_empty() {
        reply = reply.record("promotion_record_id", reply_promotion);
    }
    if !result.inventory_record_id.is_empty() {
        reply = reply.record("inventory_record_id", result.inventory_record_id.clone());
    }
    Ok(reply)
}

/// `preview-verification`: record a product's smoke run against the latest
/// (else active) generation of a preview. Pass makes the generation `ready`
/// and the preview `active` and serving it; fail makes both `failed`
/// (`failure_stage: verify`), keeping the serving generation.
///
/// Host calls, in order: `record_list preview`, `record_list
/// preview_generation`, `record_put preview`, `record_put
/// preview_generation`.
pub fn preview_verification(
    ctx: &Ctx<'_>,
    req: PreviewVerificationRequest,
) -> Result<Reply<PreviewVerificationResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("anchor_repo", &req.anchor_repo)?;
    at_least("anchor_pr_number", req.anchor_pr_number, 1)?;
    let status = check_verification(
        &req.verification_status,
        &req.verified_at,
        &req.checked_urls,
        req.timeout_seconds,
    )?;
    let context = req.context.trim();
    let id = preview_id(context, req.anchor_repo.trim(), req.anchor_pr_number);
    let mut preview = records::list(ctx, "preview", Some(context), None, 200)?
        .into_iter()
        .map(|v| records::parse::<records::PreviewRecord>("preview", v))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find(|p| p.preview_id == id)
        .ok_or_else(|| DriverError::NotFound(format!("preview `{id}` was not found")))?;
    let generation_id = [&preview.latest_generation_id, &preview.active_generation_id]
        .into_iter()
        .find(|g| !g.trim().is_empty())
        .cloned()
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!("preview `{id}` has no generation to verify"))
        })?;
    let mut generation = generations(ctx, &id)?
        .into_iter()
        .find(|g| g.generation_id == generation_id)
        .ok_or_else(|| {
            DriverError::NotFound(format!(
                "preview generation `{generation_id}` was not found"
            ))
        })?;

    let verified_at = req.verified_at.trim().to_string();
    let failure_summary = match (status, req.failure_summary.trim()) {
        (PassFail::Pass, _) => String::new(),
        (PassFail::Fail, "") => "Preview verification failed.".to_string(),
        (PassFail::Fail, summary) => summary.to_string(),
    };
    generation.finished_at = verified_at.clone();
    preview.updated_at = verified_at.clone();
    preview.active_generation_id = generation_id.clone();
    preview.latest_generation_id = generation_id.clone();
    match status {
        PassFail::Pass => {
            generation.state = PreviewGenerationState::Ready;
            generation.verify_status = ReleaseStatus::Pass;
            generation.overall_health_status = ReleaseStatus::Pass;
            generation.ready_at = verified_at.clone();
            generation.failure_stage = String::new();
            generation.failure_summary = String::new();
            preview.state = PreviewState::Active;
            preview.serving_generation_id = generation_id.clone();
            preview.latest_manifest_fingerprint = generation.resolved_manifest_fingerprint.clone();
            preview.destroyed_at = String::new();
            preview.destroy_reason = String::new();
        }
        PassFail::Fail => {
            generation.state = PreviewGenerationState::Failed;
            generation.verify_status = ReleaseStatus::Fail;
            generation.overall_health_status = ReleaseStatus::Fail;
            generation.failed_at = verified_at.clone();
            generation.failure_stage = "verify".to_string();
            generation.failure_summary = failure_summary.clone();
            preview.state = PreviewState::Failed;
        }
    }
    records::write(ctx, "preview", &preview)?;
    records::write(ctx, "preview_generation", &generation)?;
    let verification = PreviewVerification {
        preview_id: id.clone(),
        generation_id: generation_id.clone(),
        sequence: generation.sequence,
        preview_state: preview.state,
        generation_state: generation.state,
        verification_status: status,
        verified_at: verified_at.clone(),
        checked_urls: req.checked_urls.clone(),
        timeout_seconds: req.timeout_seconds,
        failure_summary,
    };
    Ok(Reply::new(PreviewVerificationResult {
        generic_web_preview_verification: verification,
    })
    .record("preview_id", id)
    .record("generation_id", generation_id)
    .record(
        "verification_status",
        if status == PassFail::Pass {
            "pass"
        } else {
            "fail"
        },
    )
    .record("verified_at", verified_at))
}
