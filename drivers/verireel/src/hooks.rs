//! VeriReel's part of generic-web's lifecycle: the hooks generic-web calls
//! at its fixed points for a VeriReel product, whichever route started the
//! deploy (VeriReel's own or generic-web's).
//!
//! * `promotion-gate`: prod changes only with a passing, required prod
//!   backup gate of the promotion's context, captured within
//!   [`GATE_MAX_AGE_HOURS`].
//! * `post-deploy`: a promotion applies the Prisma migrations on prod (job
//!   `ver-apply-prisma-migrations`, retried as app maintenance retries); a
//!   rollback restores the database dump of the rolled-back promotion's
//!   backup gate (job `ver-prod-restore`).
//! * `verify`: the rollout check: `<base>/api/health` reports `ok` and the
//!   deployed build (`buildRevision` = the deploy's `source_git_ref`,
//!   `buildTag` = its image tag), then `/` and `/sign-in` render.
//! * `preview-env`: the preview's own URL and host in the env keys the
//!   VeriReel app reads.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::{
    DeployHookPayload, PostDeployAnswer, PreviewEnvAnswer, PreviewEnvPayload, PromotionGateAnswer,
    PromotionGatePayload, VerifyAnswer,
};
use lifecycle_records::{self as records, BackupGateRecord, ReleaseStatus, age_seconds};

use crate::backup_gate::{DUMP_PATH, RESTORE_JOB_NAME, restore_command};
use crate::lifecycle::{latest_promotion, origin};
use crate::maintenance::{self, run_with_retries};
use crate::models::{MaintenanceAction, MaintenanceContext};
use crate::rollout::{
    ExpectedBuild, RolloutWindow, artifact_tag, base_urls, lane_bases, verify_rollout,
};

/// How old a prod backup gate may be when a promotion relies on it.
pub const GATE_MAX_AGE_HOURS: i64 = 6;
/// How long a post-deploy job (migrations, restore) may run.
pub const JOB_TIMEOUT_SECONDS: u32 = 900;
/// The rollout window when the payload names none.
const DEFAULT_ROLLOUT_SECONDS: u32 = 300;
/// The poll interval when the request names none (reference §4.4).
const DEFAULT_INTERVAL_SECONDS: u32 = 5;

// ------------------------------------------------------------ promotion gate

/// `promotion-gate`: a passing, required backup gate of the destination
/// lane, fresh enough, or the promotion is blocked before prod changes.
pub fn promotion_gate(
    ctx: &Ctx<'_>,
    payload: PromotionGatePayload,
) -> Result<PromotionGateAnswer, DriverError> {
    let refusal = gate_refusal(
        ctx,
        &payload.backup_record_id,
        &payload.context,
        &payload.to_instance,
    )?;
    Ok(PromotionGateAnswer {
        allowed: Some(refusal.is_none()),
        reason: refusal.unwrap_or_default(),
    })
}

/// The promotion gate's rule (see [`promotion_gate`]): why backup gate
/// `id` cannot authorize a promotion into `context`/`to_instance`, or
/// `None` when it is a passing, required gate of that lane from the last
/// [`GATE_MAX_AGE_HOURS`].
pub fn gate_refusal(
    ctx: &Ctx<'_>,
    id: &str,
    context: &str,
    to_instance: &str,
) -> Result<Option<String>, DriverError> {
    let id = id.trim();
    let refuse = |reason: String| Ok(Some(reason));
    if id.is_empty() {
        return refuse(
            "VeriReel prod promotions need a passing prod backup gate: capture one with \
             /v1/drivers/verireel/prod-backup-gate and name it in backup_record_id"
                .to_string(),
        );
    }
    let Some(gate) = records::read::<BackupGateRecord>(ctx, "backup_gate", id)? else {
        return refuse(format!("backup gate `{id}` does not exist"));
    };
    if gate.context.trim() != context.trim() || gate.instance.trim() != to_instance.trim() {
        let reason = format!(
            "backup gate `{id}` is of lane {}/{}, not {}/{}",
            gate.context, gate.instance, context, to_instance
        );
        return refuse(reason);
    }
    if !gate.required {
        return refuse(format!("backup gate `{id}` is not marked required"));
    }
    if gate.status != ReleaseStatus::Pass {
        let reason = format!("backup gate `{id}` is {}, not pass", gate.status.as_str());
        return refuse(reason);
    }
    match age_seconds(&gate.created_at, &ctx.host().now()) {
        Some(age) if age <= GATE_MAX_AGE_HOURS * 3600 => Ok(None),
        Some(age) => {
            let reason = format!(
                "backup gate `{id}` was captured {} h {} min ago; a promotion needs one from \
                 the last {GATE_MAX_AGE_HOURS} h",
                age / 3600,
                age % 3600 / 60
            );
            refuse(reason)
        }
        None => {
            let reason = format!(
                "backup gate `{id}` has no readable created_at (`{}`)",
                gate.created_at
            );
            refuse(reason)
        }
    }
}

// ------------------------------------------------------------ post-deploy

/// `post-deploy`: migrations after a promotion, the gate's restore after a
/// rollback, nothing after a plain deploy (the testing workflow runs its
/// migrations through app maintenance and reports them in
/// `testing-verification`).
pub fn post_deploy(
    ctx: &Ctx<'_>,
    payload: DeployHookPayload,
) -> Result<PostDeployAnswer, DriverError> {
    match payload.action.as_str() {
        "prod_promotion" => migrate(ctx, &payload),
        "prod_rollback" => restore(ctx, &payload),
        _ => Ok(PostDeployAnswer::default()),
    }
}

fn migrate(ctx: &Ctx<'_>, payload: &DeployHookPayload) -> Result<PostDeployAnswer, DriverError> {
    let (name, command) =
        maintenance::job(MaintenanceAction::Migrate, MaintenanceContext::Stable, "");
    let (context, instance) = (&payload.context, &payload.instance);
    run_with_retries(ctx, name, || {
        ctx.host()
            .run_job(context, instance, name, &command, JOB_TIMEOUT_SECONDS)
    })
    .map_err(|e| {
        DriverError::ProviderFailed(format!(
            "Prisma migrations failed on {context}/{instance}: {e}"
        ))
    })?;
    Ok(PostDeployAnswer {
        attempted: true,
        detail: format!("Prisma migrations applied on {context}/{instance} (job `{name}`)."),
    })
}

fn restore(ctx: &Ctx<'_>, payload: &DeployHookPayload) -> Result<PostDeployAnswer, DriverError> {
    let (context, instance) = (&payload.context, &payload.instance);
    let promotion = latest_promotion(ctx, context)?.ok_or_else(|| {
        DriverError::PreconditionFailed(format!(
            "{context}/{instance} has no promotion whose backup gate a rollback could restore"
        ))
    })?;
    let gate_id = promotion.backup_record_id.trim().to_string();
    let dump = records::read::<BackupGateRecord>(ctx, "backup_gate", &gate_id)?
        .filter(|g| g.status == ReleaseStatus::Pass)
        .and_then(|g| g.evidence.get(DUMP_PATH).cloned())
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "backup gate `{gate_id}` of promotion `{}` has no passing dump to restore",
                promotion.record_id
            ))
        })?;
    let outcome = ctx.host().run_job(
        context,
        instance,
        RESTORE_JOB_NAME,
        &restore_command(&dump),
        JOB_TIMEOUT_SECONDS,
    );
    let failure = match outcome {
        Ok(job) if job.status == "pass" => None,
        Ok(job) => Some(format!(
            "the restore job ended {}: {}",
            job.status, job.detail
        )),
        Err(e) => Some(format!("the restore job could not run: {}", e.message())),
    };
    if let Some(message) = failure {
        return Err(DriverError::ProviderFailed(format!(
            "restoring backup gate `{gate_id}` on {context}/{instance} failed: {message}"
        )));
    }
    Ok(PostDeployAnswer {
        attempted: true,
        detail: format!(
            "Restored the database of {context}/{instance} from backup gate `{gate_id}` (job `{RESTORE_JOB_NAME}`)."
        ),
    })
}

// ------------------------------------------------------------ verify

/// The base URLs a rollout is checked on: the origins of the health URLs
/// generic-web probed (the profile's lane URLs and the target's domains),
/// else the target's domains.
fn rollout_bases(ctx: &Ctx<'_>, payload: &DeployHookPayload) -> Vec<String> {
    let probed: Vec<String> = payload
        .health
        .as_ref()
        .map(|h| h.urls.iter().map(|u| origin(u)).collect())
        .unwrap_or_default();
    let bases = base_urls(&probed);
    if !bases.is_empty() {
        return bases;
    }
    ctx.host()
        .resolve_target(&payload.context, &payload.instance)
        .map(|t| lane_bases(ctx, &payload.instance, &t.domains))
        .unwrap_or_default()
}

/// What VeriReel's own request (the extension's, when one of its routes
/// runs the deploy) says about the rollout check: an explicit expected
/// build, the poll interval, and for a rollback whether the app is to be
/// started. Absent fields (generic-web's own routes) take the defaults.
#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct RolloutAsk {
    pub expected_build_revision: String,
    pub expected_build_tag: String,
    pub rollout_interval_seconds: u32,
    pub start_after_rollback: Option<bool>,
}

impl RolloutAsk {
    /// Read from the invocation's extension request, if any.
    pub fn of(ctx: &Ctx<'_>) -> RolloutAsk {
        ctx.invocation()
            .extension
            .as_ref()
            .and_then(|e| serde_json::from_str(&e.request).ok())
            .unwrap_or_default()
    }
}

/// The request's value when it names one, else the derived one.
fn asked_or<'a>(asked: &'a str, derived: &'a str) -> &'a str {
    match asked.trim() {
        "" => derived,
        asked => asked,
    }
}

/// `verify`: the VeriReel rollout check; a failure rejects the deploy
/// with the check's message. The expected build is the request's when it
/// names one, else the deploy's own `source_git_ref` and image tag (the
/// original's defaults); a rollback asked not to start the app
/// (`start_after_rollback: false`) is not checked.
pub fn verify(ctx: &Ctx<'_>, payload: DeployHookPayload) -> Result<VerifyAnswer, DriverError> {
    let ask = RolloutAsk::of(ctx);
    if payload.action == "prod_rollback" && ask.start_after_rollback == Some(false) {
        return Ok(VerifyAnswer {
            verified: Some(true),
            reason: String::new(),
        });
    }
    let image = match payload.image_reference.trim() {
        "" => payload.artifact_id.trim(),
        image => image,
    };
    let expected = ExpectedBuild {
        revision: asked_or(&ask.expected_build_revision, payload.source_git_ref.trim()),
        tag: asked_or(&ask.expected_build_tag, artifact_tag(image)),
    };
    let window = RolloutWindow {
        timeout_seconds: match payload.health_timeout_seconds {
            0 => DEFAULT_ROLLOUT_SECONDS,
            seconds => seconds,
        },
        interval_seconds: match ask.rollout_interval_seconds {
            0 => DEFAULT_INTERVAL_SECONDS,
            seconds => seconds,
        },
    };
    let bases = rollout_bases(ctx, &payload);
    let rollout = verify_rollout(ctx, &payload.instance, &bases, &expected, window);
    Ok(if rollout.status == ReleaseStatus::Pass {
        VerifyAnswer {
            verified: Some(true),
            reason: String::new(),
        }
    } else {
        VerifyAnswer {
            verified: Some(false),
            reason: rollout.error_message,
        }
    })
}

// ------------------------------------------------------------ preview env

/// `preview-env`: the app's own URL (`VERIREEL_APP_URL`, `BETTER_AUTH_URL`)
/// and host (`DOKPLOY_PREVIEW_DOMAIN`, `NEXT_PUBLIC_DOKPLOY_PREVIEW_DOMAIN`),
/// the keys the original set on every preview.
pub fn preview_env(
    _ctx: &Ctx<'_>,
    payload: PreviewEnvPayload,
) -> Result<PreviewEnvAnswer, DriverError> {
    let url = payload.preview_url.trim().trim_end_matches('/').to_string();
    let host = payload.preview_host.trim().to_string();
    let mut answer = PreviewEnvAnswer::default();
    if !url.is_empty() {
        answer.env.insert("VERIREEL_APP_URL".into(), url.clone());
        answer.env.insert("BETTER_AUTH_URL".into(), url);
    }
    if !host.is_empty() {
        answer
            .env
            .insert("DOKPLOY_PREVIEW_DOMAIN".into(), host.clone());
        answer
            .env
            .insert("NEXT_PUBLIC_DOKPLOY_PREVIEW_DOMAIN".into(), host);
    }
    Ok(answer)
}
