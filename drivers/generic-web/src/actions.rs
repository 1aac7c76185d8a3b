//! The generic-web action catalogue and its handlers.
//!
//! Each declaration mirrors one row of the original registry (route, authz
//! action, safety, scope, record kinds, operator visibility) so the host can
//! derive the same routes and grants. Handlers first repeat the request checks
//! the original made before doing anything; the behaviour behind them is not
//! built yet, and they say so instead of pretending to succeed.

use launchplane_sdk::prelude::*;

use crate::checks::{
    at_least, envelope_product, http_url, invalid, non_blank, normalized, optional_at_least,
    release_status,
};
use crate::models::*;

/// Every action of the driver, in the original registry's order.
pub fn all() -> Vec<Action> {
    vec![
        Action::post("stable_deploy", "deploy")
            .label("Deploy lane")
            .description("Deploy an immutable container image to a configured generic-web product lane.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("generic_web_deploy.execute")
            .writes(&["deployment"])
            .envelope("deploy")
            .handler(stable_deploy),
        Action::post("prod_promotion", "prod-promotion")
            .label("Promote testing to prod")
            .description("Promote a generic-web testing image to prod and record promotion health evidence.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("generic_web_prod_promotion.execute")
            .writes(&["deployment", "promotion", "inventory"])
            .envelope("promotion")
            .handler(prod_promotion),
        Action::post("prod_promotion_workflow", "prod-promotion-workflow")
            .label("Dispatch promote workflow")
            .description("Dispatch the product-owned GitHub workflow that promotes testing to prod.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("generic_web_prod_promotion.dispatch")
            .envelope("workflow")
            .handler(prod_promotion_workflow),
        Action::post("prod_rollback_plan", "prod-rollback-plan")
            .label("Plan prod rollback")
            .description("Build and persist a generic-web rollback plan from a previous good deployment record.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("generic_web_prod_rollback.plan")
            .writes(&["generic_web_rollback_plan"])
            .envelope("rollback_plan")
            .handler(prod_rollback_plan),
        Action::post("prod_rollback", "prod-rollback")
            .label("Apply prod rollback")
            .description("Revalidate and apply a generic-web rollback by deploying a previous immutable artifact.")
            .safety(Safety::Destructive)
            .scope(Scope::Instance)
            .authz("generic_web_prod_rollback.execute")
            .writes(&["generic_web_rollback_plan", "deployment", "inventory"])
            .envelope("rollback")
            .handler(prod_rollback),
        Action::post("stable_verification", "stable-verification")
            .label("Record stable verification")
            .description("Record smoke verification for an existing generic-web stable deployment or promotion.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("deployment.write")
            .hidden()
            .writes(&["deployment", "promotion", "inventory"])
            .envelope("verification")
            .handler(stable_verification),
        Action::post("preview_desired_state", "preview-desired-state")
            .label("Discover desired previews")
            .description(
                "Discover labeled pull requests for a generic-web product profile and record desired preview state.",
            )
            .safety(Safety::SafeWrite)
            .scope(Scope::Context)
            .authz("preview_desired_state.discover")
            .writes(&["preview_desired_state"])
            .envelope("desired_state")
            .handler(preview_desired_state),
        Action::post("preview_refresh", "preview-refresh")
            .label("Refresh preview")
            .description("Create or update a generic-web preview application after readiness passes.")
            .safety(Safety::Mutation)
            .scope(Scope::Preview)
            .authz("preview_refresh.execute")
            .envelope("refresh")
            .handler(preview_refresh),
        Action::post("preview_inventory", "preview-inventory")
            .label("Read preview inventory")
            .description("Scan provider state for active generic-web previews and record inventory evidence.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Context)
            .authz("preview_inventory.read")
            .writes(&["preview_inventory_scan"])
            .envelope("inventory")
            .idempotency(Idempotency::None)
            .handler(preview_inventory),
        Action::post("preview_readiness", "preview-readiness")
            .label("Evaluate preview readiness")
            .description("Validate generic-web preview template settings before provider mutation.")
            .safety(Safety::Read)
            .scope(Scope::Context)
            .authz("preview_readiness.evaluate")
            .envelope("readiness")
            .idempotency(Idempotency::None)
            .handler(preview_readiness),
        Action::post("preview_destroy", "preview-destroy")
            .label("Destroy preview")
            .description("Destroy a generic-web preview application and record cleanup evidence.")
            .safety(Safety::Destructive)
            .scope(Scope::Preview)
            .authz("preview_destroy.execute")
            .writes(&["preview"])
            .envelope("destroy")
            .handler(preview_destroy),
        Action::post("preview_verification", "preview-verification")
            .label("Record preview verification")
            .description("Record product smoke verification for the latest generic-web preview generation.")
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

fn stable_deploy(ctx: &Ctx<'_>, req: DeployRequest) -> Result<Reply<DeployResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("instance", &req.instance)?;
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    not_built(ctx)
}

fn prod_promotion(
    ctx: &Ctx<'_>,
    req: ProdPromotionRequest,
) -> Result<Reply<ProdPromotionResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    let (from, to) = (normalized(&req.from_instance), normalized(&req.to_instance));
    if from == to {
        return Err(invalid("to_instance", "must differ from from_instance"));
    }
    if from != "testing" {
        return Err(invalid(
            "from_instance",
            "must be `testing`: only testing -> prod is supported",
        ));
    }
    if to != "prod" {
        return Err(invalid(
            "to_instance",
            "must be `prod`: only testing -> prod is supported",
        ));
    }
    if req.backup_required && req.backup_record_id.trim().is_empty() {
        return Err(invalid(
            "backup_record_id",
            "is required when backup_required=true",
        ));
    }
    if !req.wait {
        return Err(invalid("wait", "must be true for a prod promotion"));
    }
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    optional_at_least(
        "health_timeout_seconds",
        Some(req.health_timeout_seconds),
        1,
    )?;
    not_built(ctx)
}

fn prod_promotion_workflow(
    ctx: &Ctx<'_>,
    req: PromotionWorkflowRequest,
) -> Result<Reply<PromotionWorkflowResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("context", &req.context)?;
    if req.observe_timeout_seconds > 60 {
        return Err(invalid("observe_timeout_seconds", "must be at most 60"));
    }
    not_built(ctx)
}

fn check_rollback_plan(ctx: &Ctx<'_>, req: &RollbackPlanRequest) -> Result<(), DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("instance", &req.instance)?;
    non_blank(
        "rollback_deployment_record_id",
        &req.rollback_deployment_record_id,
    )?;
    if req.backup_required && req.backup_record_id.trim().is_empty() {
        return Err(invalid(
            "backup_record_id",
            "is required when backup_required=true",
        ));
    }
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)
}

fn prod_rollback_plan(
    ctx: &Ctx<'_>,
    req: RollbackPlanRequest,
) -> Result<Reply<UntypedResult>, DriverError> {
    check_rollback_plan(ctx, &req)?;
    not_built(ctx)
}

fn prod_rollback(
    ctx: &Ctx<'_>,
    req: RollbackPlanRequest,
) -> Result<Reply<UntypedResult>, DriverError> {
    check_rollback_plan(ctx, &req)?;
    not_built(ctx)
}

/// A verification must end as pass or fail; URLs need the timeout they were
/// checked with, or the evidence would claim an unbounded check.
fn check_verification(
    status: &str,
    verified_at: &str,
    checked_urls: &[String],
    timeout_seconds: Option<u32>,
) -> Result<(), DriverError> {
    if !matches!(
        release_status("verification_status", status)?,
        "pass" | "fail"
    ) {
        return Err(invalid("verification_status", "must be pass or fail"));
    }
    non_blank("verified_at", verified_at)?;
    if !checked_urls.is_empty() && timeout_seconds.is_none() {
        return Err(invalid(
            "timeout_seconds",
            "is required when checked_urls is not empty",
        ));
    }
    optional_at_least("timeout_seconds", timeout_seconds, 1)
}

fn stable_verification(
    ctx: &Ctx<'_>,
    req: StableVerificationRequest,
) -> Result<Reply<UntypedResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("instance", &req.instance)?;
    non_blank("deployment_record_id", &req.deployment_record_id)?;
    check_verification(
        &req.verification_status,
        &req.verified_at,
        &req.checked_urls,
        req.timeout_seconds,
    )?;
    not_built(ctx)
}

fn preview_verification(
    ctx: &Ctx<'_>,
    req: PreviewVerificationRequest,
) -> Result<Reply<UntypedResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("anchor_repo", &req.anchor_repo)?;
    at_least("anchor_pr_number", req.anchor_pr_number, 1)?;
    check_verification(
        &req.verification_status,
        &req.verified_at,
        &req.checked_urls,
        req.timeout_seconds,
    )?;
    not_built(ctx)
}

fn preview_desired_state(
    ctx: &Ctx<'_>,
    req: PreviewDesiredStateRequest,
) -> Result<Reply<PreviewDesiredStateResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("source", &req.source)?;
    non_blank("label", &req.label)?;
    if !(1..=20).contains(&req.max_pages) {
        return Err(invalid("max_pages", "must be between 1 and 20"));
    }
    not_built(ctx)
}

fn preview_inventory(
    ctx: &Ctx<'_>,
    req: PreviewInventoryRequest,
) -> Result<Reply<PreviewInventoryResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("source", &req.source)?;
    not_built(ctx)
}

fn preview_readiness(
    ctx: &Ctx<'_>,
    req: PreviewReadinessRequest,
) -> Result<Reply<PreviewReadinessResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("source", &req.source)?;
    not_built(ctx)
}

fn preview_refresh(
    ctx: &Ctx<'_>,
    req: PreviewRefreshRequest,
) -> Result<Reply<PreviewRefreshResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("preview_slug", &req.preview_slug)?;
    if !req.preview_url.trim().is_empty() {
        http_url("preview_url", &req.preview_url)?;
    }
    non_blank("image_reference", &req.image_reference)?;
    non_blank("source", &req.source)?;
    if !req.anchor_pr_url.trim().is_empty() {
        http_url("anchor_pr_url", &req.anchor_pr_url)?;
    }
    if let Some(number) = req.anchor_pr_number {
        at_least("anchor_pr_number", number, 1)?;
    }
    optional_at_least("timeout_seconds", Some(req.timeout_seconds), 1)?;
    not_built(ctx)
}

fn preview_destroy(
    ctx: &Ctx<'_>,
    req: PreviewDestroyRequest,
) -> Result<Reply<PreviewDestroyResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("preview_slug", &req.preview_slug)?;
    non_blank("destroy_reason", &req.destroy_reason)?;
    optional_at_least("timeout_seconds", Some(req.timeout_seconds), 1)?;
    not_built(ctx)
}
