//! VeriReel app maintenance: one allow-listed command, run as a named job on
//! the stable testing lane's application or on one preview application,
//! retried as the original retried it.
//!
//! The request's checks (which action in which context, email or not, the
//! intent) are in `actions`; this module runs what passed them. A command
//! that fails is answered as `maintenance_status: fail` with the reason
//! (HTTP 202), not as an error, as the original did.

use launchplane_sdk::prelude::*;
use lifecycle_records::PassFail;

use crate::models::{
    AppMaintenanceRequest, AppMaintenanceResult, MaintenanceAction, MaintenanceContext,
};
use crate::previews::{PREVIEW_APP_PREFIX, preview_slug_of};

/// Attempts per command, and the pause between two.
pub const ATTEMPTS: u32 = 4;
pub const RETRY_DELAY_MS: u32 = 5_000;
/// The stable application's name when its target record names none.
const DEFAULT_APPLICATION_NAME: &str = "ver-testing-app";

/// What a maintenance action runs: the job's name (the original's schedule
/// names, so an operator finds the same jobs in the provider) and the
/// command, as arguments (the host quotes them for the shell).
pub fn job(
    action: MaintenanceAction,
    context: MaintenanceContext,
    email: &str,
) -> (&'static str, Vec<String>) {
    let args = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let owner_admin = |name| {
        (
            name,
            args(&[
                "node",
                "scripts/ops/remote-owner-admin.mjs",
                "--action",
                action.as_str(),
                "--email",
                email,
            ]),
        )
    };
    match action {
        MaintenanceAction::Migrate => (
            "ver-apply-prisma-migrations",
            args(&[
                "npx",
                "prisma",
                "migrate",
                "deploy",
                "--config",
                "prisma.config.ts",
            ]),
        ),
        MaintenanceAction::ResetTesting => (
            "ver-testing-reset",
            args(&[
                "sh",
                "-c",
                "node prisma/reset-testing-job.mjs && npx prisma migrate deploy --schema prisma/schema.prisma && node prisma/seed.mjs",
            ]),
        ),
        MaintenanceAction::GrantSponsored => owner_admin("ver-remote-e2e-grant-sponsored"),
        MaintenanceAction::PromoteOwner => owner_admin("ver-owner-route-promote-owner"),
        MaintenanceAction::DeleteUser => owner_admin(match context {
            MaintenanceContext::Stable => "ver-owner-route-delete-user",
            MaintenanceContext::Preview => "ver-remote-e2e-delete-user",
        }),
    }
}

/// Runs a checked request: on the stable testing lane (context
/// `verireel`) or on the preview application it names (context
/// `verireel-testing`).
///
/// Host calls, in order: stable, `resolve_target` then `run_job`; preview,
/// `list_preview_apps` then `run_preview_job`; each up to [`ATTEMPTS`] times with a `sleep` of
/// [`RETRY_DELAY_MS`] between two; for `reset-testing`, then `deploy` (the
/// app restarts on the reset database).
pub fn run(ctx: &Ctx<'_>, req: &AppMaintenanceRequest, intent: &str) -> AppMaintenanceResult {
    let host = ctx.host();
    let (context, instance) = match req.context {
        MaintenanceContext::Stable => ("verireel", "testing"),
        MaintenanceContext::Preview => ("verireel-testing", "preview"),
    };
    let (job_name, command) = job(req.action, req.context, req.email.trim());
    let mut result = AppMaintenanceResult {
        maintenance_status: PassFail::Fail,
        action: req.action,
        intent: intent.to_string(),
        context: context.to_string(),
        instance: instance.to_string(),
        application_name: String::new(),
        // Drivers never see provider ids.
        application_id: String::new(),
        schedule_name: job_name.to_string(),
        started_at: host.now(),
        finished_at: String::new(),
        error_message: String::new(),
    };
    let outcome = match req.context {
        MaintenanceContext::Stable => {
            run_on_stable(ctx, &mut result, job_name, &command, req.timeout_seconds)
        }
        MaintenanceContext::Preview => {
            let app_name = preview_application(ctx, context, req);
            result.application_name = app_name.clone();
            run_with_retries(ctx, job_name, || {
                host.run_preview_job(context, &app_name, job_name, &command, req.timeout_seconds)
            })
        }
    };
    result.finished_at = host.now();
    match outcome {
        Ok(()) => result.maintenance_status = PassFail::Pass,
        Err(message) => result.error_message = message,
    }
    result
}

/// The preview application a request names: the context's application of
/// the same pull request, whichever of the two names it carries (the
/// original's `ver-preview-pr-<n>-app`, or generic-web's
/// `ver-preview-pr-<n>` that preview-refresh creates); the name the
/// request implies when the context has none (the job then answers that
/// no such preview exists).
fn preview_application(ctx: &Ctx<'_>, context: &str, req: &AppMaintenanceRequest) -> String {
    let named = req.application_name.trim();
    let slug = match named {
        "" => req.preview_slug.trim().to_string(),
        name => preview_slug_of(name).unwrap_or_default().to_string(),
    };
    let implied = match named {
        "" => format!("{PREVIEW_APP_PREFIX}{slug}-app"),
        name => name.to_string(),
    };
    let apps = ctx
        .host()
        .list_preview_apps(context, PREVIEW_APP_PREFIX)
        .unwrap_or_default();
    apps.into_iter()
        .map(|app| app.name)
        .filter(|name| preview_slug_of(name) == Some(slug.as_str()))
        .min_by_key(|name| name != &implied)
        .unwrap_or(implied)
}

fn run_on_stable(
    ctx: &Ctx<'_>,
    result: &mut AppMaintenanceResult,
    job_name: &str,
    command: &[String],
    timeout_seconds: u32,
) -> Result<(), String> {
    let host = ctx.host();
    let (context, instance) = (result.context.clone(), result.instance.clone());
    let target = host
        .resolve_target(&context, &instance)
        .map_err(|e| format!("cannot resolve the runtime target of {context}/{instance}: {e}"))?;
    result.application_name = match target.target_name.trim() {
        "" => DEFAULT_APPLICATION_NAME.to_string(),
        name => name.to_string(),
    };
    if target.target_type != "application" {
        return Err(format!(
            "VeriReel app maintenance requires {context}/{instance} to resolve to an application target, not `{}`",
            target.target_type
        ));
    }
    run_with_retries(ctx, job_name, || {
        host.run_job(&context, &instance, job_name, command, timeout_seconds)
    })?;
    if result.action == MaintenanceAction::ResetTesting {
        let redeploy = host
            .deploy(&context, &instance, timeout_seconds)
            .map_err(|e| e.to_string())
            .and_then(|outcome| match outcome.status.as_str() {
                "pass" => Ok(()),
                status => Err(if outcome.detail.is_empty() {
                    format!("the deploy finished with status `{status}`")
                } else {
                    outcome.detail
                }),
            });
        redeploy.map_err(|detail| format!("redeploy after the testing reset failed: {detail}"))?;
    }
    Ok(())
}

/// Runs the job until it passes, at most [`ATTEMPTS`] times. A job that
/// failed and a provider that failed are retried; a refusal (a bad
/// request, a missing target or preview, a denied call) is final at once.
pub(crate) fn run_with_retries(
    ctx: &Ctx<'_>,
    job_name: &str,
    run_once: impl Fn() -> Result<JobOutcome, HostError>,
) -> Result<(), String> {
    let host = ctx.host();
    let mut attempt = 1;
    loop {
        let failure = match run_once() {
            Ok(outcome) if outcome.status == "pass" => return Ok(()),
            Ok(outcome) => match outcome.exit_code {
                Some(code) if outcome.detail.is_empty() => format!("exited with {code}"),
                _ if outcome.detail.is_empty() => {
                    format!("finished with status `{}`", outcome.status)
                }
                _ => outcome.detail,
            },
            Err(e @ (HostError::ProviderFailed(_) | HostError::Timeout(_))) => e.to_string(),
            Err(e) => return Err(format!("job `{job_name}` could not run: {e}")),
        };
        if attempt >= ATTEMPTS {
            return Err(format!(
                "job `{job_name}` failed after {ATTEMPTS} attempts: {failure}"
            ));
        }
        host.log(
            LogLevel::Warn,
            &format!(
                "job `{job_name}` attempt {attempt} of {ATTEMPTS} failed: {failure}; retrying"
            ),
        );
        host.sleep(RETRY_DELAY_MS);
        attempt += 1;
    }
}
