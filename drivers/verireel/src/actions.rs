//! The VeriReel action catalogue, and the handlers of its VeriReel-only
//! actions.
//!
//! Each declaration mirrors one row of the original registry (route, authz
//! action, safety, scope, record kinds, operator visibility) so the host can
//! derive the same routes and grants. The stable deploys, the prod promotion
//! and rollback and the preview refresh, destroy and verification run
//! generic-web's lifecycle (`runs_base`; adapters in [`crate::lifecycle`]
//! and [`crate::previews`], hooks in [`crate::hooks`]). VeriReel's own
//! actions: the prod backup gate ([`crate::backup_gate`]), the stable
//! environment and runtime verification ([`crate::rollout`]), the testing
//! verification ([`crate::verification`]), app maintenance (here and
//! [`crate::maintenance`]) and the preview inventory.

use launchplane_sdk::prelude::*;

use crate::checks::{at_least, invalid};
use crate::models::*;
use crate::previews::{PREVIEW_APP_PREFIX, is_pr_slug, preview_inventory};
use crate::{backup_gate, maintenance, rollout, verification};

/// Every action of the driver, in the original registry's order.
pub fn all() -> Vec<Action> {
    vec![
        Action::post("testing_deploy", "testing-deploy")
            .label("Deploy testing")
            .description("Deploy a stored artifact to the testing lane and record deployment evidence.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("verireel_testing_deploy.execute")
            .envelope("deploy")
            .runs_base::<StableDeployRequest, StableDeployResult>("stable_deploy"),
        Action::post("testing_verification", "testing-verification")
            .label("Record testing verification")
            .description("Record VeriReel product smoke verification for a testing deployment.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("deployment.write")
            .hidden()
            .writes(&["deployment"])
            .envelope("verification")
            .handler(verification::testing_verification),
        Action::post("stable_environment", "stable-environment")
            .label("Read stable environment")
            .description("Resolve DB-backed stable environment settings for driver execution.")
            .safety(Safety::Read)
            .scope(Scope::Instance)
            .authz("verireel_stable_environment.read")
            .envelope("environment")
            .idempotency(Idempotency::None)
            .handler(rollout::stable_environment),
        Action::post("runtime_verification", "runtime-verification")
            .label("Verify stable runtime")
            .description("Verify stable VeriReel health and public page responses through Launchplane.")
            .safety(Safety::Read)
            .scope(Scope::Instance)
            .authz("verireel_stable_environment.read")
            .envelope("verification")
            .idempotency(Idempotency::None)
            .handler(rollout::runtime_verification),
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
            .envelope("deploy")
            .runs_base::<StableDeployRequest, StableDeployResult>("stable_deploy"),
        Action::post("prod_backup_gate", "prod-backup-gate")
            .label("Capture prod backup gate")
            .description("Capture backup evidence before a prod-changing action.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("verireel_prod_backup_gate.execute")
            .writes(&["backup_gate"])
            .envelope("backup_gate")
            // The original ran the gate in the background and answered
            // `pending`; here it is a durable operation of the prod lane.
            .run_async()
            .handler(backup_gate::prod_backup_gate),
        Action::post("prod_promotion", "prod-promotion")
            .label("Promote testing to prod")
            .description("Promote a stored testing artifact to prod after backup-gate evidence passes.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("verireel_prod_promotion.execute")
            // A promotion its gate refuses is recorded by VeriReel's own
            // step, before generic-web runs (`lifecycle::promotion_request`).
            .writes(&["promotion"])
            .envelope("promotion")
            .runs_base::<ProdPromotionRequest, ProdPromotionResult>("prod_promotion"),
        Action::post("prod_rollback", "prod-rollback")
            .label("Roll back prod")
            .description("Roll prod back to the snapshot taken by its backup gate and record health evidence.")
            .safety(Safety::Destructive)
            .scope(Scope::Instance)
            .authz("verireel_prod_rollback.execute")
            .envelope("rollback")
            .runs_base::<ProdRollbackRequest, ProdRollbackResult>("prod_rollback"),
        Action::post("preview_refresh", "preview-refresh")
            .label("Refresh preview")
            .description("Refresh an ephemeral preview environment and return follow-up evidence instructions.")
            .safety(Safety::Mutation)
            .scope(Scope::Preview)
            .authz("verireel_preview_refresh.execute")
            .envelope("refresh")
            .runs_base::<PreviewRefreshRequest, PreviewRefreshResult>("preview_refresh"),
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
            .envelope("destroy")
            .runs_base::<PreviewDestroyRequest, PreviewDestroyResult>("preview_destroy"),
        Action::post("preview_verification", "preview-verification")
            .label("Record preview verification")
            .description("Record VeriReel product smoke verification for the latest preview generation.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Preview)
            .authz("preview_generation.write")
            .hidden()
            .envelope("verification")
            .runs_base::<PreviewVerificationRequest, UntypedResult>("preview_verification"),
    ]
}

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
    // The later original demanded an intent; the earlier one, whose
    // workflows still send action-only payloads, did not. When given, it
    // must match the action and context.
    if let Some(intent) = req.intent {
        let (required_action, required_context) = intent.requires();
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
    }
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    let intent = req
        .intent
        .and_then(|i| serde_json::to_value(i).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(Reply::new(maintenance::run(ctx, &req, &intent)))
}
