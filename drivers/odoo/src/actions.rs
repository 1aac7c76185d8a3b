//! The Odoo action catalogue and its handlers.
//!
//! Each declaration mirrors one row of the original registry (route, authz
//! action, safety, scope, record kinds, operator visibility) so the host can
//! derive the same routes and grants. Handlers first repeat the request checks
//! the original made before doing anything. Artifact publish, its inputs
//! (from the lane's runtime settings), the two override writes, post-deploy
//! (`post_deploy.rs`) and the backup gate (`backup_gate.rs`) are built;
//! promotion and rollback run generic-web's (`lifecycle.rs`), and so do
//! the guarded rebuilds, stable bootstrap and target replacement
//! (`rebuild.rs`, `prelaunch.rs`, `replacement_plan.rs`); the promotion
//! run captures its inputs and gate first (`promotion_run.rs`), and
//! previews run generic-web's refresh with Odoo's runtime env
//! (`previews.rs`).

use launchplane_sdk::host::HostExt;
use launchplane_sdk::prelude::*;

use crate::checks::{envelope_product, invalid, non_blank, normalized};
use crate::models::*;
use crate::overrides::{self, OverrideValue};
use crate::promotion_inputs;

/// Every action of the driver, in the order of the reference's registry table.
pub fn all() -> Vec<Action> {
    let mut all = artifact_and_settings();
    all.extend(previews_and_promotion());
    all.extend(rebuilds_and_runs());
    all
}

/// Artifact publish, instance settings and the stable bootstrap.
fn artifact_and_settings() -> Vec<Action> {
    vec![
        Action::post("artifact_publish_inputs", "artifact-publish-inputs")
            .label("Resolve publish inputs")
            .description("Resolve DB-backed publish settings for product CI without exposing provider internals.")
            .safety(Safety::Read)
            .scope(Scope::Instance)
            .authz("odoo_artifact_publish_inputs.read")
            .envelope("inputs")
            .handler(artifact_publish_inputs),
        Action::post("artifact_publish", "artifact-publish")
            .label("Record artifact")
            .description("Persist a product-built immutable artifact manifest as Launchplane release evidence.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("odoo_artifact_publish.write")
            .writes(&["artifact_manifest"])
            .envelope("publish")
            .handler(artifact_publish),
        Action::post("post_deploy", "post-deploy")
            .label("Apply post-deploy settings")
            .description("Apply typed Odoo instance settings through the product driver after a deployment.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("odoo_post_deploy.execute")
            .writes(&["odoo_instance_override"])
            .envelope("post_deploy")
            .handler(crate::post_deploy::post_deploy),
        Action::post("config_parameter_override", "config-parameter-override")
            .label("Write config parameter override")
            .description("Write an allowed typed Odoo config-parameter override before post-deploy applies it.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("odoo_config_parameter_override.write")
            .writes(&["odoo_instance_override"])
            .envelope("override")
            .handler(config_parameter_override),
        Action::post("website_bootstrap_override", "website-bootstrap-override")
            .label("Write website bootstrap override")
            .description("Write typed Odoo website bootstrap intent before post-deploy applies it.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("odoo_website_bootstrap_override.write")
            .writes(&["odoo_instance_override"])
            .envelope("override")
            .handler(website_bootstrap_override),
        Action::post("stable_bootstrap", "stable-bootstrap")
            .label("Bootstrap stable instance")
            .description("Run a guarded Odoo stable bootstrap through Launchplane-owned provider scheduling.")
            .safety(Safety::Destructive)
            .scope(Scope::Instance)
            .authz("odoo_stable_bootstrap.execute")
            .envelope("bootstrap")
            .idempotency(Idempotency::Required)
            .run_async()
            .operation_route(
                "stable-bootstrap/operations/{operation_id}",
                "odoo_stable_bootstrap_operation_active",
                "odoo_stable_bootstrap_operation_id",
            )
            // Generic-web's deploy with Odoo's hooks (`rebuild.rs`).
            .runs_base::<StableBootstrapRequest, StableBootstrapResult>("stable_deploy"),
    ]
}

/// Previews, the backup gate, promotion and rollback.
fn previews_and_promotion() -> Vec<Action> {
    vec![
        Action::post("preview_apply_inputs", "preview-apply-inputs")
            .label("Resolve preview apply inputs")
            .description(
                "Resolve Launchplane-owned Odoo preview runtime and provider dry-run inputs.",
            )
            .safety(Safety::Read)
            .scope(Scope::Preview)
            .authz("odoo_preview_apply_inputs.read")
            .envelope("inputs")
            .handler(crate::previews::preview_apply_inputs),
        Action::post("preview_apply", "preview-apply")
            .label("Apply isolated preview")
            .description("Apply a ready isolated Odoo preview plan to runtime state.")
            .safety(Safety::Destructive)
            .scope(Scope::Preview)
            .authz("odoo_preview_apply.execute")
            .envelope("apply")
            .runs_base::<PreviewApplyRequest, PreviewApplyResult>("preview_refresh"),
        Action::post("prod_backup_gate", "prod-backup-gate")
            .label("Capture prod backup gate")
            .description("Capture concrete backup evidence before a prod-changing action.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("odoo_prod_backup_gate.execute")
            .writes(&["backup_gate"])
            .envelope("backup_gate")
            .handler(crate::backup_gate::prod_backup_gate),
        Action::post("prod_promotion", "prod-promotion")
            .label("Promote testing to prod")
            .description(
                "Promote a stored testing artifact to prod after backup-gate evidence passes.",
            )
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("odoo_prod_promotion.execute")
            .envelope("promotion")
            .runs_base::<ProdPromotionRequest, ProdPromotionResult>("prod_promotion"),
        Action::post("prod_rollback", "prod-rollback")
            .label("Roll back prod")
            .description(
                "Roll prod back to an explicit stored artifact and record health evidence.",
            )
            .safety(Safety::Destructive)
            .scope(Scope::Instance)
            .authz("odoo_prod_rollback.execute")
            .envelope("rollback")
            .runs_base::<ProdRollbackRequest, ProdRollbackResult>("prod_rollback"),
    ]
}

/// Target replacement and the one-call promotion.
fn rebuilds_and_runs() -> Vec<Action> {
    vec![
        Action::post("target_replacement_plan", "target-replacement-plan")
            .label("Plan stable target replacement")
            .description("Read Launchplane and provider evidence for a safe Odoo stable target replacement dry-run.")
            .safety(Safety::Read)
            .scope(Scope::Instance)
            .authz("odoo_target_replacement_plan.read")
            .envelope("replacement")
            .handler(crate::replacement_plan::target_replacement_plan),
        Action::post("target_replacement_apply", "target-replacement-apply")
            .label("Apply stable target replacement")
            .description("Recreate an Odoo stable compose target in place after replacement planning passes.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("odoo_target_replacement_apply.execute")
            .envelope("replacement")
            .idempotency(Idempotency::Required)
            .run_async()
            .operation_route(
                "target-replacement/operations/{operation_id}",
                "odoo_stable_target_replacement_operation_active",
                "odoo_stable_target_replacement_operation_id",
            )
            .runs_base::<TargetReplacementApplyRequest, TargetReplacementApplyResult>(
                "stable_deploy",
            ),
        Action::post("prod_promotion_inputs", "prod-promotion-inputs")
            .label("Resolve prod promotion inputs")
            .description("Report whether prod can be promoted from the current testing release tuple, and with what.")
            .safety(Safety::Read)
            .scope(Scope::Instance)
            .authz("odoo_prod_promotion_inputs.read")
            .envelope("inputs")
            .handler(prod_promotion_inputs),
        Action::post("prod_promotion_run", "prod-promotion-run")
            .label("Run prod promotion")
            .description("Resolve promotion inputs, capture the prod backup gate and promote testing to prod in one call.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("odoo_prod_promotion_run.execute")
            .writes(&["backup_gate", "deployment", "promotion", "inventory", "release_tuple"])
            .envelope("run")
            .runs_base::<ProdPromotionRunRequest, ProdPromotionRunResult>("prod_promotion"),
    ]
}

/// Artifacts are built per stable lane, and only the stable lanes exist here.
fn stable_instance(instance: &str) -> Result<(), DriverError> {
    match normalized(instance).as_str() {
        "testing" | "prod" => Ok(()),
        _ => Err(invalid("instance", "must be `testing` or `prod`")),
    }
}

pub(crate) fn testing_to_prod(from_instance: &str, to_instance: &str) -> Result<(), DriverError> {
    if normalized(from_instance) != "testing" {
        return Err(invalid(
            "from_instance",
            "must be `testing`: only testing -> prod is supported",
        ));
    }
    if normalized(to_instance) != "prod" {
        return Err(invalid(
            "to_instance",
            "must be `prod`: only testing -> prod is supported",
        ));
    }
    Ok(())
}

/// The build-scoped settings product CI needs to build an Odoo image
/// (reference §11.3), in the original's order.
pub const PUBLISH_INPUT_KEYS: [&str; 7] = [
    "ODOO_VERSION",
    "ODOO_BASE_RUNTIME_IMAGE",
    "ODOO_BASE_DEVTOOLS_IMAGE",
    "ODOO_ADDON_REPOSITORIES",
    "OPENUPGRADE_ADDON_REPOSITORY",
    "OPENUPGRADELIB_INSTALL_SPEC",
    "ODOO_PYTHON_SYNC_SKIP_ADDONS",
];

fn artifact_publish_inputs(
    ctx: &Ctx<'_>,
    req: ArtifactPublishInputsRequest,
) -> Result<Reply<ArtifactPublishInputsResult>, DriverError> {
    non_blank("context", &req.context)?;
    stable_instance(&req.instance)?;
    let context = normalized(&req.context);
    let instance = normalized(&req.instance);
    // The caller was authorized for the lane's context; another context's
    // settings are not theirs to read.
    let lane_context = &ctx.invocation().context;
    if context != *lane_context {
        return Err(invalid(
            "context",
            format_args!("must be the lane's context `{lane_context}`"),
        ));
    }
    let keys: Vec<String> = PUBLISH_INPUT_KEYS.iter().map(|k| k.to_string()).collect();
    let environment = ctx
        .host()
        .settings(&context, &instance, &keys)?
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .collect();
    Ok(Reply::new(ArtifactPublishInputsResult {
        context,
        instance,
        environment,
    }))
}

fn artifact_publish(
    ctx: &Ctx<'_>,
    req: ArtifactPublishRequest,
) -> Result<Reply<ArtifactPublishResult>, DriverError> {
    non_blank("context", &req.context)?;
    stable_instance(&req.instance)?;
    let context = normalized(&req.context);
    let prefix = format!("artifact-{context}-");
    if !req.manifest.artifact_id.starts_with(&prefix) {
        return Err(invalid(
            "manifest.artifact_id",
            format_args!("must start with `{prefix}`: the artifact belongs to another context"),
        ));
    }
    let manifest = &req.manifest;
    non_blank("manifest.image.repository", &manifest.image.repository)?;
    non_blank("manifest.image.digest", &manifest.image.digest)?;
    // The store keys manifests by artifact id and keeps the first one: the
    // same manifest again is a no-op, a different one under the same id is
    // refused, so an id always names one image.
    let artifact_id = ctx.host().put("artifact_manifest", manifest)?;
    let result = ArtifactPublishResult {
        status: PassFail::Pass,
        context,
        instance: normalized(&req.instance),
        artifact_id: artifact_id.clone(),
        image_repository: manifest.image.repository.clone(),
        image_digest: manifest.image.digest.clone(),
        source_commit: manifest.source_commit.clone(),
        output_file: String::new(),
        error_message: String::new(),
    };
    Ok(Reply::new(result).record("artifact_id", artifact_id))
}

fn config_parameter_override(
    ctx: &Ctx<'_>,
    req: ConfigParameterOverrideRequest,
) -> Result<Reply<ConfigParameterOverrideResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("context", &req.context)?;
    non_blank("instance", &req.instance)?;
    non_blank("key", &req.key)?;
    if normalized(&req.key) != "web.base.url" {
        return Err(invalid(
            "key",
            "must be `web.base.url`: only that override is service-writable",
        ));
    }
    non_blank("value", &req.value)?;
    let value = OverrideValue::Literal {
        value: Some(Scalar::Text(req.value.trim().to_string())),
    };
    let record = overrides::update(ctx, &req.context, &req.instance, &req.source_label, |r| {
        r.set_config_parameter(&req.key, value)
    })?;
    Ok(Reply::new(ConfigParameterOverrideResult {
        config_parameter_keys: record.config_parameter_keys(),
        context: record.context,
        instance: record.instance,
    }))
}

/// The override must say something beyond naming the tenant, and every URL
/// it carries is site-relative.
fn check_website_bootstrap(bootstrap: &WebsiteBootstrap) -> Result<(), DriverError> {
    let homepage_url = bootstrap.homepage_url.trim();
    if !homepage_url.is_empty() && !homepage_url.starts_with('/') {
        return Err(invalid(
            "website_bootstrap.homepage_url",
            "must start with `/`",
        ));
    }
    for (index, route) in bootstrap.routes.iter().enumerate() {
        if !route.url.trim().starts_with('/') {
            return Err(invalid(
                &format!("website_bootstrap.routes[{index}].url"),
                "must start with `/`",
            ));
        }
    }
    let texts = [
        &bootstrap.name,
        &bootstrap.default_lang,
        &bootstrap.homepage_url,
        &bootstrap.primary_page_xmlid,
        &bootstrap.logo_path,
        &bootstrap.logo_alt,
        &bootstrap.canonical_url,
    ];
    let says_something = texts.iter().any(|text| !text.trim().is_empty())
        || !bootstrap.pages_source.is_empty()
        || !bootstrap.routes_source.is_empty()
        || !bootstrap.routes.is_empty();
    if !says_something {
        return Err(invalid(
            "website_bootstrap",
            "needs at least one field besides tenant",
        ));
    }
    Ok(())
}

fn website_bootstrap_override(
    ctx: &Ctx<'_>,
    req: WebsiteBootstrapOverrideRequest,
) -> Result<Reply<WebsiteBootstrapOverrideResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("context", &req.context)?;
    non_blank("instance", &req.instance)?;
    check_website_bootstrap(&req.website_bootstrap)?;
    let record = overrides::update(ctx, &req.context, &req.instance, &req.source_label, |r| {
        r.website_bootstrap = Some(req.website_bootstrap)
    })?;
    Ok(Reply::new(WebsiteBootstrapOverrideResult {
        website_bootstrap: record.website_bootstrap.is_some(),
        context: record.context,
        instance: record.instance,
    }))
}

fn prod_promotion_inputs(
    ctx: &Ctx<'_>,
    req: ProdPromotionInputsRequest,
) -> Result<Reply<ProdPromotionInputsResult>, DriverError> {
    non_blank("context", &req.context)?;
    if normalized(&req.from_instance) == normalized(&req.to_instance) {
        return Err(invalid("to_instance", "must differ from from_instance"));
    }
    testing_to_prod(&req.from_instance, &req.to_instance)?;
    non_blank("request_id", &req.request_id)?;
    let (context, from_instance, to_instance) = (
        normalized(&req.context),
        normalized(&req.from_instance),
        normalized(&req.to_instance),
    );
    let promotion = promotion_inputs::Promotion {
        context: &context,
        from_instance: &from_instance,
        to_instance: &to_instance,
        request_id: req.request_id.trim(),
    };
    let result = promotion_inputs::resolve(ctx, &promotion)?;
    // Blocked inputs describe a testing lane that has not shipped yet:
    // nothing was done, so a retry with the same key asks again.
    let blocked = result.input_status == ReadyBlocked::Blocked;
    Ok(Reply::new(result).replayable_unless(blocked))
}
