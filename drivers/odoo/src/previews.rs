//! Odoo previews on generic-web's preview lifecycle.
//!
//! * `preview-apply-inputs` plans one preview, reading only: its slug,
//!   URL, application name and image, the template lane its runtime comes
//!   from, the per-preview Odoo settings, and whether the template lane
//!   provides the runtime keys an Odoo preview cannot start without.
//! * `preview-apply` runs generic-web's `preview_refresh` with that plan
//!   (this file's `adapt-request` step), after refusing, before any
//!   provider change, a plan whose runtime keys are missing (400
//!   `odoo_preview_runtime_config_incomplete`, naming the keys only).
//! * `preview-env` (the hook, for every refresh of an Odoo product's
//!   preview, generic-web's route included) gives the preview its own
//!   database, data volume and stack names.
//!
//! Secret values never pass through here. The runtime keys
//! ([`REQUIRED_RUNTIME_KEYS`]) are checked by name on the template lane
//! and must be among the profile's `preview.copied_env_keys`: the host
//! copies those from the template lane onto the preview application.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::{
    AdaptResultAnswer, AdaptResultPayload, PreviewEnvAnswer, PreviewEnvPayload,
};
use lifecycle_records::{self as records, ProductProfile};

use crate::checks::{at_least, envelope_product, invalid, non_blank, url_host};
use crate::models::*;

/// Runtime keys an Odoo preview cannot start without, sorted.
pub const REQUIRED_RUNTIME_KEYS: [&str; 3] = [
    "ODOO_ADMIN_PASSWORD",
    "ODOO_DB_PASSWORD",
    "ODOO_MASTER_PASSWORD",
];
/// The refusal of an apply whose template lane lacks runtime keys.
pub const RUNTIME_CONFIG_INCOMPLETE: &str = "odoo_preview_runtime_config_incomplete";
/// The setting a preview URL is derived from when the request names none.
pub const PREVIEW_BASE_URL: &str = "LAUNCHPLANE_PREVIEW_BASE_URL";

/// What names one preview: the fields the inputs and the apply share.
struct PreviewTarget<'a> {
    operation: PreviewOperation,
    pr_number: u64,
    preview_slug: &'a str,
    preview_url: &'a str,
    image_reference: &'a str,
    manifest: Option<&'a ArtifactManifest>,
    source_git_ref: &'a str,
}

/// The per-preview Odoo settings of application `name`: its database,
/// data volume, and compose project and stack names.
pub fn preview_environment(application_name: &str) -> BTreeMap<String, String> {
    let base = application_name.trim().replace('-', "_");
    BTreeMap::from([
        ("ODOO_DB_NAME".to_string(), format!("{base}_db")),
        ("ODOO_DATA_VOLUME".to_string(), format!("{base}_data")),
        (
            "ODOO_PROJECT_NAME".to_string(),
            application_name.trim().to_string(),
        ),
        (
            "ODOO_STACK_NAME".to_string(),
            application_name.trim().to_string(),
        ),
    ])
}

fn profile(ctx: &Ctx<'_>) -> Result<ProductProfile, DriverError> {
    records::read::<ProductProfile>(ctx, "product_profile", ctx.product())?.ok_or_else(|| {
        DriverError::PreconditionFailed(format!(
            "product `{}` has no product profile to plan its previews from",
            ctx.product()
        ))
    })
}

/// `pr-{number}` by default.
fn slug_for(profile: &ProductProfile, number: u64) -> String {
    match profile.preview.slug_template.trim() {
        "" => "pr-{number}",
        template => template,
    }
    .replace("{number}", &number.to_string())
}

/// The image to run: the request's, else the manifest's `<repo>@<digest>`.
fn image_of(target: &PreviewTarget<'_>) -> Result<String, DriverError> {
    let image = match (target.image_reference.trim(), target.manifest) {
        ("", Some(m)) => format!("{}@{}", m.image.repository.trim(), m.image.digest.trim()),
        (image, _) => image.to_string(),
    };
    if target.operation == PreviewOperation::Refresh && !image.contains("@sha256:") {
        return Err(invalid(
            "image_reference",
            "must be an immutable `<repository>@sha256:<digest>` (or come from `manifest`)",
        ));
    }
    Ok(image)
}

/// The preview URL: the request's, else the slug as a subdomain of the
/// template lane's `LAUNCHPLANE_PREVIEW_BASE_URL`.
fn url_of(
    ctx: &Ctx<'_>,
    target: &PreviewTarget<'_>,
    slug: &str,
    lane: (&str, &str),
) -> Result<String, DriverError> {
    let explicit = target.preview_url.trim();
    if !explicit.is_empty() {
        if url_host(explicit).is_none() {
            return Err(invalid("preview_url", "must be an absolute http(s) URL"));
        }
        return Ok(explicit.to_string());
    }
    let keys = [PREVIEW_BASE_URL.to_string()];
    let base = ctx.host().settings(lane.0, lane.1, &keys)?;
    let base = base.first().map(|(_, v)| v.trim()).unwrap_or_default();
    let Some((scheme, rest)) = base.split_once("://").filter(|_| url_host(base).is_some()) else {
        return Err(invalid(
            "preview_url",
            format_args!(
                "is required: lane {}/{} has no usable `{PREVIEW_BASE_URL}` to derive it from",
                lane.0, lane.1
            ),
        ));
    };
    Ok(format!("{scheme}://{slug}.{}", rest.trim_end_matches('/')))
}

/// Plans the preview `target` names (see the module docs). Reads only.
fn plan(
    ctx: &Ctx<'_>,
    target: &PreviewTarget<'_>,
) -> Result<PreviewApplyInputsResult, DriverError> {
    at_least("pr_number", target.pr_number, 1)?;
    let profile = profile(ctx)?;
    let preview = &profile.preview;
    let slug = match target.preview_slug.trim() {
        "" => slug_for(&profile, target.pr_number),
        slug => slug.to_string(),
    };
    if slug != slug_for(&profile, target.pr_number) {
        return Err(invalid(
            "preview_slug",
            format_args!("`{slug}` is not the slug of PR {}", target.pr_number),
        ));
    }
    let template_instance = preview.template_instance.trim().to_string();
    let template_context = profile
        .lanes
        .iter()
        .find(|l| l.instance == template_instance)
        .map(|l| l.context.clone())
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "the product profile has no `{template_instance}` lane to use as the preview template"
            ))
        })?;
    let preview_url = url_of(ctx, target, &slug, (&template_context, &template_instance))?;
    let prefix = match preview.app_name_prefix.trim() {
        "" => format!("{}-preview", ctx.product()),
        prefix => prefix.trim_end_matches('-').to_string(),
    };
    let application_name = format!("{prefix}-{slug}");
    let missing_keys = missing_keys(ctx, &profile, &template_context, &template_instance)?;
    let blocked = !missing_keys.is_empty();
    Ok(PreviewApplyInputsResult {
        status: if blocked {
            ReadyBlocked::Blocked
        } else {
            ReadyBlocked::Ready
        },
        operation: target.operation,
        product: ctx.product().to_string(),
        context: ctx.context().to_string(),
        preview_slug: slug,
        pr_number: target.pr_number,
        domain_host: url_host(&preview_url).unwrap_or_default().to_string(),
        preview_url,
        environment: preview_environment(&application_name),
        application_name,
        image_reference: image_of(target)?,
        source_git_ref: match (target.source_git_ref.trim(), target.manifest) {
            ("", Some(m)) => m.source_commit.trim().to_string(),
            (sha, _) => sha.to_string(),
        },
        copied_env_keys: preview.copied_env_keys.clone(),
        error_message: if blocked {
            incomplete_message(&template_context, &template_instance, &missing_keys)
        } else {
            String::new()
        },
        missing_keys,
        template_context,
        template_instance,
    })
}

/// Required runtime keys the template lane does not set, or that the
/// profile does not copy onto previews: names only, sorted.
fn missing_keys(
    ctx: &Ctx<'_>,
    profile: &ProductProfile,
    context: &str,
    instance: &str,
) -> Result<Vec<String>, DriverError> {
    let set = ctx.host().env_keys(context, instance)?;
    Ok(REQUIRED_RUNTIME_KEYS
        .iter()
        .filter(|key| {
            !set.iter().any(|k| k == *key)
                || !profile
                    .preview
                    .copied_env_keys
                    .iter()
                    .any(|k| k.trim() == **key)
        })
        .map(|key| key.to_string())
        .collect())
}

fn incomplete_message(context: &str, instance: &str, missing: &[String]) -> String {
    format!(
        "Odoo preview runtime config is incomplete: template lane {context}/{instance} must set, \
         and the profile's preview.copied_env_keys copy, {}",
        missing.join(", ")
    )
}

/// `preview-apply-inputs`: the dry-run plan. A blocked plan is an answer
/// (not kept for replay), not an error.
pub fn preview_apply_inputs(
    ctx: &Ctx<'_>,
    req: PreviewApplyInputsRequest,
) -> Result<Reply<PreviewApplyInputsResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    at_least("pr_number", req.pr_number, 1)?;
    non_blank("source", &req.source)?;
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    let plan = plan(
        ctx,
        &PreviewTarget {
            operation: req.operation,
            pr_number: req.pr_number,
            preview_slug: &req.preview_slug,
            preview_url: &req.preview_url,
            image_reference: &req.image_reference,
            manifest: req.manifest.as_ref(),
            source_git_ref: &req.source_git_ref,
        },
    )?;
    let blocked = plan.status == ReadyBlocked::Blocked;
    Ok(Reply::new(plan).replayable_unless(blocked))
}

/// `adapt-request` of `preview_apply`: the plan, refused when its runtime
/// keys are missing, then generic-web's `preview_refresh` request.
pub fn apply_request(ctx: &Ctx<'_>, req: PreviewApplyRequest) -> Result<Value, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    at_least("pr_number", req.pr_number, 1)?;
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    if req.operation == PreviewOperation::Destroy {
        return Err(invalid(
            "operation",
            "`destroy` is not applied here yet: use /v1/drivers/generic-web/preview-destroy",
        ));
    }
    let plan = plan(
        ctx,
        &PreviewTarget {
            operation: req.operation,
            pr_number: req.pr_number,
            preview_slug: &req.preview_slug,
            preview_url: &req.preview_url,
            image_reference: &req.image_reference,
            manifest: req.manifest.as_ref(),
            source_git_ref: &req.source_git_ref,
        },
    )?;
    if plan.status == ReadyBlocked::Blocked {
        return Err(DriverError::invalid_with_code(
            RUNTIME_CONFIG_INCOMPLETE,
            &plan.error_message,
            json!({
                "context": plan.template_context,
                "instance": plan.template_instance,
                "missing_keys": plan.missing_keys,
            }),
        ));
    }
    Ok(json!({
        "product": ctx.product(),
        "preview_slug": plan.preview_slug,
        "preview_url": plan.preview_url,
        "image_reference": plan.image_reference,
        "anchor_pr_number": plan.pr_number,
        "anchor_head_sha": plan.source_git_ref,
        "source": "odoo-preview-apply",
        "timeout_seconds": req.timeout_seconds,
        "no_cache": req.no_cache,
    }))
}

/// `adapt-result` of `preview_apply`: generic-web's refresh as the apply
/// result, its steps as evidence without values.
pub fn apply_answer(payload: &AdaptResultPayload) -> Result<AdaptResultAnswer, DriverError> {
    let r = &payload.result;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let preview_url = text(&r["preview_url"]);
    let mut steps = Vec::new();
    if let Some(readiness) = r.get("readiness").filter(|v| v.is_object()) {
        steps.push(PreviewApplyStep {
            step: "readiness".to_string(),
            status: text(&readiness["readiness_status"]),
            detail: String::new(),
        });
    }
    let status = text(&r["refresh_status"]);
    if status != "blocked" {
        steps.push(PreviewApplyStep {
            step: "provision".to_string(),
            status: status.clone(),
            detail: format!("application `{}`", text(&r["application_name"])),
        });
    }
    if let Some(smoke) = r.get("smoke").filter(|v| v.is_object()) {
        steps.push(PreviewApplyStep {
            step: "health".to_string(),
            status: text(&smoke["smoke_status"]),
            detail: text(&smoke["failure_summary"]),
        });
    }
    let result = PreviewApplyResult {
        status,
        operation: PreviewOperation::Refresh,
        product: text(&r["product"]),
        context: text(&r["context"]),
        preview_slug: text(&r["preview_slug"]),
        domain_host: url_host(&preview_url).unwrap_or_default().to_string(),
        preview_url,
        application_name: text(&r["application_name"]),
        application_id: text(&r["application_id"]),
        steps,
        error_message: text(&r["error_message"]),
    };
    Ok(AdaptResultAnswer {
        result: serde_json::to_value(&result)
            .map_err(|e| DriverError::Internal(format!("apply result does not serialise: {e}")))?,
        records: payload.records.clone(),
        replayable: None,
    })
}

/// `preview-env`: the preview's own database, volume and stack names, once
/// the template lane is known to provide the runtime keys (an error names
/// the missing ones and fails the refresh before any provider change).
pub fn preview_env(
    ctx: &Ctx<'_>,
    payload: PreviewEnvPayload,
) -> Result<PreviewEnvAnswer, DriverError> {
    let profile = profile(ctx)?;
    let (context, instance) = (&payload.template_context, &payload.template_instance);
    let missing = missing_keys(ctx, &profile, context, instance)?;
    if !missing.is_empty() {
        return Err(DriverError::PreconditionFailed(incomplete_message(
            context, instance, &missing,
        )));
    }
    Ok(PreviewEnvAnswer {
        env: preview_environment(&payload.application_name),
    })
}
