//! The VeriReel action catalogue and its handlers.
//!
//! Each declaration mirrors one row of the original registry (route, authz
//! action, safety, scope, record kinds, operator visibility) so the host can
//! derive the same routes and grants. Handlers first repeat the request checks
//! the original made before doing anything. The stable lane (deploys,
//! environment, rollout and testing verification) is built in
//! [`crate::stable`], app maintenance in [`crate::maintenance`], preview inventory
//! here; the rest (backup gate, promotion, rollback, preview refresh, destroy,
//! verification) is not built yet, and says so (501) rather than pretend.

use launchplane_sdk::prelude::*;

use crate::checks::{at_least, invalid, non_blank, release_status, rollout_window, url_host};
use crate::models::*;
use crate::{maintenance, stable};

/// Every action of the driver, in the original registry's order.
pub fn all() -> Vec<Action> {
    vec![
        Action::post("testing_deploy", "testing-deploy")
            .label("Deploy testing")
            .description("Deploy a stored artifact to the testing lane and record deployment evidence.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("verireel_testing_deploy.execute")
            .writes(&["deployment", "inventory", "release_tuple"])
            .envelope("deploy")
            .handler(testing_deploy),
        Action::post("testing_verification", "testing-verification")
            .label("Record testing verification")
            .description("Record VeriReel product smoke verification for a testing deployment.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("deployment.write")
            .hidden()
            .writes(&["deployment"])
            .envelope("verification")
            .handler(stable::testing_verification),
        Action::post("stable_environment", "stable-environment")
            .label("Read stable environment")
            .description("Resolve DB-backed stable environment settings for driver execution.")
            .safety(Safety::Read)
            .scope(Scope::Instance)
            .authz("verireel_stable_environment.read")
            .envelope("environment")
            .idempotency(Idempotency::None)
            .handler(stable::stable_environment),
        Action::post("runtime_verification", "runtime-verification")
            .label("Verify stable runtime")
            .description("Verify stable VeriReel health and public page responses through Launchplane.")
            .safety(Safety::Read)
            .scope(Scope::Instance)
            .authz("verireel_stable_environment.read")
            .envelope("verification")
            .idempotency(Idempotency::None)
            .handler(stable::runtime_verification),
        Action::post("app_maintenance", "app-maintenance")
            .label("Run app maintenance")
            .description("Run an allow-listed product maintenance operation for a stable or preview environment.")
            .safety(Safety::Mutation)
            // Addressed by context: `verireel` (stable testing, a lane) or
            // `verireel-testing` (a preview, not a lane). The original's
            // registry row says `instance`, but it authorized this route on
            // (product, context) alone, which is what this scope does.
            .scope(Scope::Context)
            .authz("verireel_app_maintenance.execute")
            .envelope("maintenance")
            .handler(app_maintenance),
        Action::post("prod_deploy", "prod-deploy")
            .label("Deploy prod")
            .description("Deploy a stored artifact directly to prod and record evidence.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("verireel_prod_deploy.execute")
            .writes(&["deployment", "inventory", "release_tuple"])
            .envelope("deploy")
            .handler(prod_deploy),
        Action::post("prod_backup_gate", "prod-backup-gate")
            .label("Capture prod backup gate")
            .description("Capture backup evidence before a prod-changing action.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("verireel_prod_backup_gate.execute")
            .writes(&["backup_gate"])
            .envelope("backup_gate")
            .handler(prod_backup_gate),
        Action::post("prod_promotion", "prod-promotion")
            .label("Promote testing to prod")
            .description("Promote a stored testing artifact to prod after backup-gate evidence passes.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("verireel_prod_promotion.execute")
            .writes(&["deployment", "promotion", "inventory", "release_tuple"])
            .envelope("promotion")
            .handler(prod_promotion),
        Action::post("prod_rollback", "prod-rollback")
            .label("Roll back prod")
            .description("Roll prod back to the snapshot taken by its backup gate and record health evidence.")
            .safety(Safety::Destructive)
            .scope(Scope::Instance)
            .authz("verireel_prod_rollback.execute")
            .writes(&["deployment", "promotion", "inventory", "release_tuple"])
            .envelope("rollback")
            .handler(prod_rollback),
        Action::post("preview_refresh", "preview-refresh")
            .label("Refresh preview")
            .description("Refresh an ephemeral preview environment and return follow-up evidence instructions.")
            .safety(Safety::Mutation)
            .scope(Scope::Preview)
            .authz("verireel_preview_refresh.execute")
            .writes(&["preview", "preview_generation"])
            .envelope("refresh")
            .handler(preview_refresh),
        Action::post("preview_inventory", "preview-inventory")
            .label("Read preview inventory")
            .description("Read preview inventory and current preview lifecycle evidence.")
            .safety(Safety::Read)
            .scope(Scope::Context)
            .authz("verireel_preview_inventory.read")
            .envelope("inventory")
            .idempotency(Idempotency::None)
            .handler(preview_inventory),
        Action::post("preview_destroy", "preview-destroy")
            .label("Destroy preview")
            .description("Destroy an ephemeral preview and record cleanup evidence.")
            .safety(Safety::Destructive)
            .scope(Scope::Preview)
            .authz("verireel_preview_destroy.execute")
            .writes(&["preview", "preview_generation"])
            .envelope("destroy")
            .handler(preview_destroy),
        Action::post("preview_verification", "preview-verification")
            .label("Record preview verification")
            .description("Record VeriReel product smoke verification for the latest preview generation.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Preview)
            .authz("preview_generation.write")
            .hidden()
            .writes(&["preview", "preview_generation"])
            .envelope("verification")
            .handler(preview_verification),
    ]
}

/// The answer of a handler whose request passed its checks: the behaviour is
/// declared (so routes, grants and schemas exist) but not built yet.
fn not_built<R>(ctx: &Ctx<'_>) -> Result<Reply<R>, DriverError> {
    Err(DriverError::not_implemented(&ctx.invocation().action_id))
}

fn testing_deploy(
    ctx: &Ctx<'_>,
    req: StableDeployRequest,
) -> Result<Reply<StableDeployResult>, DriverError> {
    stable::stable_deploy(ctx, req, StableInstance::Testing, "testing-deploy")
}

fn prod_deploy(
    ctx: &Ctx<'_>,
    req: StableDeployRequest,
) -> Result<Reply<StableDeployResult>, DriverError> {
    stable::stable_deploy(ctx, req, StableInstance::Prod, "prod-deploy")
}

/// `pr-<n>` with `n` a positive number written without leading zeros.
fn is_pr_slug(value: &str) -> bool {
    value.strip_prefix("pr-").is_some_and(|n| {
        n.starts_with(|c: char| ('1'..='9').contains(&c)) && n.chars().all(|c| c.is_ascii_digit())
    })
}

/// What every VeriReel preview application's name starts with.
const PREVIEW_APP_PREFIX: &str = "ver-preview-";

/// `ver-preview-pr-<n>-app`, the only preview application names.
fn is_preview_application_name(value: &str) -> bool {
    value
        .strip_prefix(PREVIEW_APP_PREFIX)
        .and_then(|rest| rest.strip_suffix("-app"))
        .is_some_and(is_pr_slug)
}

/// The original's rules, in its order: stable maintenance targets testing by
/// record, preview maintenance names exactly one preview, lane-wide commands
/// never take a user, and the intent must match action and context.
fn app_maintenance(
    ctx: &Ctx<'_>,
    req: AppMaintenanceRequest,
) -> Result<Reply<AppMaintenanceResult>, DriverError> {
    let email = req.email.trim();
    let application_name = req.application_name.trim();
    let preview_slug = req.preview_slug.trim();
    match req.context {
        MaintenanceContext::Stable => {
            if req.instance != MaintenanceInstance::Testing {
                return Err(invalid(
                    "instance",
                    "must be `testing` for stable app maintenance",
                ));
            }
            if !application_name.is_empty() {
                return Err(invalid(
                    "application_name",
                    "is not accepted for stable app maintenance: it is resolved from Launchplane records",
                ));
            }
            if !preview_slug.is_empty() {
                return Err(invalid(
                    "preview_slug",
                    "is not accepted for stable app maintenance",
                ));
            }
        }
        MaintenanceContext::Preview => {
            if req.instance != MaintenanceInstance::Preview {
                return Err(invalid(
                    "instance",
                    "must be `preview` for preview app maintenance",
                ));
            }
            if !application_name.is_empty() && !preview_slug.is_empty() {
                return Err(invalid(
                    "application_name",
                    "and preview_slug are exclusive: name one preview",
                ));
            }
            if !application_name.is_empty() && !is_preview_application_name(application_name) {
                return Err(invalid(
                    "application_name",
                    "must look like `ver-preview-pr-<n>-app`",
                ));
            }
            if !preview_slug.is_empty() && !is_pr_slug(preview_slug) {
                return Err(invalid("preview_slug", "must look like `pr-<n>`"));
            }
            if application_name.is_empty() && preview_slug.is_empty() {
                return Err(invalid(
                    "preview_slug",
                    "is required for preview app maintenance",
                ));
            }
        }
    }
    let action = req.action.as_str();
    if req.action.is_lane_wide() {
        if req.context != MaintenanceContext::Stable {
            return Err(invalid(
                "action",
                format_args!("`{action}` is only supported for the stable testing instance"),
            ));
        }
        if !email.is_empty() {
            return Err(invalid(
                "email",
                format_args!("is not accepted by action `{action}`"),
            ));
        }
    } else if email.is_empty() {
        return Err(invalid(
            "email",
            format_args!("is required by action `{action}`"),
        ));
    } else if email.matches('@').count() != 1
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "email",
            "must be one email address (one `@`, no spaces)",
        ));
    }
    let (required_action, required_context) = req.intent.requires();
    if req.action != required_action || req.context != required_context {
        let context = if required_context == MaintenanceContext::Stable {
            "verireel"
        } else {
            "verireel-testing"
        };
        return Err(invalid(
            "intent",
            format_args!(
                "requires action `{}` in context `{context}`",
                required_action.as_str()
            ),
        ));
    }
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    let intent = serde_json::to_value(req.intent)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(Reply::new(maintenance::run(ctx, &req, &intent)))
}

fn prod_backup_gate(
    ctx: &Ctx<'_>,
    req: ProdBackupGateRequest,
) -> Result<Reply<ProdBackupGateResult>, DriverError> {
    non_blank("context", &req.context)?;
    if req.instance != "prod" {
        return Err(invalid("instance", "must be `prod`"));
    }
    non_blank("backup_record_id", &req.backup_record_id)?;
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    not_built(ctx)
}

fn prod_promotion(
    ctx: &Ctx<'_>,
    req: ProdPromotionRequest,
) -> Result<Reply<ProdPromotionResult>, DriverError> {
    non_blank("context", &req.context)?;
    if req.from_instance != "testing" {
        return Err(invalid("from_instance", "must be `testing`"));
    }
    if req.to_instance != "prod" {
        return Err(invalid("to_instance", "must be `prod`"));
    }
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    non_blank("backup_record_id", &req.backup_record_id)?;
    non_blank("promotion_record_id", &req.promotion_record_id)?;
    release_status("source_health_status", &req.source_health_status)?;
    rollout_window(req.rollout_timeout_seconds, req.rollout_interval_seconds)?;
    not_built(ctx)
}

fn prod_rollback(
    ctx: &Ctx<'_>,
    req: ProdRollbackRequest,
) -> Result<Reply<ProdRollbackResult>, DriverError> {
    non_blank("context", &req.context)?;
    if req.instance != "prod" {
        return Err(invalid("instance", "must be `prod`"));
    }
    non_blank("promotion_record_id", &req.promotion_record_id)?;
    non_blank("backup_record_id", &req.backup_record_id)?;
    rollout_window(req.rollout_timeout_seconds, req.rollout_interval_seconds)?;
    not_built(ctx)
}

/// Preview slugs are derived from the pull request, never chosen: a slug for
/// another PR would let one PR's workflow touch another PR's preview.
fn check_preview_slug(preview_slug: &str, anchor_pr_number: u64) -> Result<(), DriverError> {
    non_blank("preview_slug", preview_slug)?;
    at_least("anchor_pr_number", anchor_pr_number, 1)?;
    if preview_slug.trim() != format!("pr-{anchor_pr_number}") {
        return Err(invalid(
            "preview_slug",
            format_args!("must be `pr-{anchor_pr_number}` to match anchor_pr_number"),
        ));
    }
    Ok(())
}

fn preview_refresh(
    ctx: &Ctx<'_>,
    req: PreviewRefreshRequest,
) -> Result<Reply<PreviewRefreshResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("anchor_repo", &req.anchor_repo)?;
    non_blank("anchor_pr_url", &req.anchor_pr_url)?;
    non_blank("anchor_head_sha", &req.anchor_head_sha)?;
    check_preview_slug(&req.preview_slug, req.anchor_pr_number)?;
    non_blank("image_reference", &req.image_reference)?;
    if !req.preview_url.trim().is_empty() && url_host(&req.preview_url).is_none() {
        return Err(invalid(
            "preview_url",
            "must be an http(s) URL with a hostname",
        ));
    }
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    not_built(ctx)
}

/// `preview-inventory`: the preview applications of the context, named
/// `ver-preview-pr-<n>-app` (anything else under the prefix is not a
/// VeriReel preview), by pull request number. Host call:
/// `list_preview_apps(ver-preview-)`.
fn preview_inventory(
    ctx: &Ctx<'_>,
    req: PreviewInventoryRequest,
) -> Result<Reply<PreviewInventoryResult>, DriverError> {
    non_blank("context", &req.context)?;
    let context = req.context.trim();
    let mut previews: Vec<(u64, PreviewInventoryItem)> = ctx
        .host()
        .list_preview_apps(context, PREVIEW_APP_PREFIX)?
        .into_iter()
        .filter(|app| is_preview_application_name(&app.name))
        .filter_map(|app| {
            let slug = app
                .name
                .strip_prefix(PREVIEW_APP_PREFIX)?
                .strip_suffix("-app")?;
            let number = slug.strip_prefix("pr-")?.parse().ok()?;
            Some((
                number,
                PreviewInventoryItem {
                    // Drivers never see provider ids; the name is the
                    // preview's unique handle (as generic-web answers).
                    application_id: app.name.clone(),
                    preview_slug: slug.to_string(),
                    application_name: app.name,
                },
            ))
        })
        .collect();
    previews.sort_by_key(|(number, _)| *number);
    Ok(Reply::new(PreviewInventoryResult {
        context: context.to_string(),
        previews: previews.into_iter().map(|(_, item)| item).collect(),
    }))
}

fn preview_destroy(
    ctx: &Ctx<'_>,
    req: PreviewDestroyRequest,
) -> Result<Reply<PreviewDestroyResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("anchor_repo", &req.anchor_repo)?;
    check_preview_slug(&req.preview_slug, req.anchor_pr_number)?;
    non_blank("destroy_reason", &req.destroy_reason)?;
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    not_built(ctx)
}

fn preview_verification(
    ctx: &Ctx<'_>,
    req: PreviewVerificationRequest,
) -> Result<Reply<UntypedResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("anchor_repo", &req.anchor_repo)?;
    at_least("anchor_pr_number", req.anchor_pr_number, 1)?;
    non_blank("verified_at", &req.verified_at)?;
    not_built(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_names() {
        assert!(is_pr_slug("pr-12"));
        assert!(
            !is_pr_slug("pr-012")
                && !is_pr_slug("pr-")
                && !is_pr_slug("pr-1a")
                && !is_pr_slug("pr-0")
        );
        assert!(is_preview_application_name("ver-preview-pr-7-app"));
        assert!(
            !is_preview_application_name("ver-preview-pr-7")
                && !is_preview_application_name("ver-preview-pr-0-app")
        );
    }
}
