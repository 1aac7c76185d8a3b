//! `preview-readiness`: whether the template lane and the preview contract
//! can produce a preview, as named checks. Reads only; a refresh runs the
//! same evaluation first.

use launchplane_sdk::prelude::*;

use crate::checks::{envelope_product, non_blank};
use crate::models::*;
use crate::profile::load_profile;
use crate::records::TargetType;
use crate::records::{ProductLaneProfile, ProductPreviewProfile, ProductProfile};

/// A named check that passed or blocks.
fn check(check_id: &str, passed: bool, message: impl Into<String>) -> PreviewReadinessCheck {
    PreviewReadinessCheck {
        check_id: check_id.to_string(),
        status: if passed {
            PassBlocked::Pass
        } else {
            PassBlocked::Blocked
        },
        message: message.into(),
    }
}

/// The value at a dotted path of a JSON document, if it is non-blank.
fn non_blank_at(document: &Value, path: &str) -> bool {
    let mut value = document;
    for segment in path.split('.') {
        match value.get(segment) {
            Some(next) => value = next,
            None => return false,
        }
    }
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => true,
    }
}

/// Evaluates readiness without changing anything. Host calls:
/// `resolve_target` and `env_keys` of the template lane (only when the
/// profile names one).
pub(super) fn evaluate_readiness(
    ctx: &Ctx<'_>,
    profile: Option<&ProductProfile>,
    source: &str,
) -> (PreviewReadinessResult, Option<Target>) {
    let default = ProductProfile::default();
    let p = profile.unwrap_or(&default);
    let preview = &p.preview;
    let template_instance = match preview.template_instance.trim() {
        "" => "testing".to_string(),
        instance => instance.to_string(),
    };
    let template_lane = p.lane(&template_instance);
    let template_context = template_lane
        .map(|l| l.context.trim().to_string())
        .unwrap_or_default();
    let mut checks = Vec::new();

    let lane_problem =
        template_lane_problem(ctx, profile, preview, template_lane, &template_instance);
    checks.push(match &lane_problem {
        None => check(
            "template_lane",
            true,
            format!("template lane {template_context}/{template_instance}"),
        ),
        Some(problem) => check("template_lane", false, problem.clone()),
    });

    let target = template_target(
        ctx,
        lane_problem.is_none(),
        &template_context,
        &template_instance,
        &mut checks,
    );
    let missing_env = missing_env_keys(
        ctx,
        preview,
        &target,
        &template_context,
        &template_instance,
        &mut checks,
    );
    let missing_fields = missing_provider_fields(preview, &target, &mut checks);
    checks.push(transport_policy(preview));

    let ready = checks.iter().all(|c| c.status == PassBlocked::Pass);
    let result = PreviewReadinessResult {
        readiness_status: if ready {
            PassBlocked::Pass
        } else {
            PassBlocked::Blocked
        },
        checked_at: ctx.host().now(),
        product: ctx.product().to_string(),
        context: ctx.context().to_string(),
        template_context,
        template_instance,
        template_target_type: target
            .as_ref()
            .map(|t| t.target_type.clone())
            .unwrap_or_default(),
        template_target_id: String::new(),
        template_target_name: target
            .as_ref()
            .map(|t| t.target_name.clone())
            .unwrap_or_default(),
        source: source.trim().to_string(),
        missing_template_env_keys: missing_env,
        missing_provider_fields: missing_fields,
        transport: transport_summary(preview),
        checks,
    };
    (result, target)
}

/// Why the template lane cannot be used (no profile, previews off, no
/// preview context, no lane for `template_instance`), if it cannot.
fn template_lane_problem(
    ctx: &Ctx<'_>,
    profile: Option<&ProductProfile>,
    preview: &ProductPreviewProfile,
    template_lane: Option<&ProductLaneProfile>,
    template_instance: &str,
) -> Option<String> {
    if profile.is_none() {
        Some(format!("product `{}` has no profile", ctx.product()))
    } else if !preview.enabled {
        Some("previews are not enabled in the product profile".to_string())
    } else if preview.context.trim().is_empty() {
        Some("the product profile names no preview context".to_string())
    } else if template_lane.is_none() {
        Some(format!(
            "the product profile has no `{template_instance}` lane to use as the preview template"
        ))
    } else {
        None
    }
}

/// The template lane's target (check `template_target`: it resolves and
/// is an application).
fn template_target(
    ctx: &Ctx<'_>,
    lane_ok: bool,
    template_context: &str,
    template_instance: &str,
    checks: &mut Vec<PreviewReadinessCheck>,
) -> Option<Target> {
    let target = if lane_ok {
        match ctx
            .host()
            .resolve_target(template_context, template_instance)
        {
            Ok(target) => Some(target),
            Err(e) => {
                checks.push(check(
                    "template_target",
                    false,
                    format!("the template lane has no runtime target: {}", e.message()),
                ));
                None
            }
        }
    } else {
        checks.push(check(
            "template_target",
            false,
            "no template lane to resolve a target for",
        ));
        None
    };
    if let Some(t) = &target {
        let is_application =
            crate::records::target_type_of(&t.target_type) == TargetType::Application;
        checks.push(check(
            "template_target",
            is_application,
            if is_application {
                format!("template target `{}` is an application", t.target_name)
            } else {
                format!(
                    "template target `{}` is a `{}` target, not an application",
                    t.target_name, t.target_type
                )
            },
        ));
    }
    target
}

/// The required template env keys the template lane lacks (check
/// `template_env`).
fn missing_env_keys(
    ctx: &Ctx<'_>,
    preview: &ProductPreviewProfile,
    target: &Option<Target>,
    template_context: &str,
    template_instance: &str,
    checks: &mut Vec<PreviewReadinessCheck>,
) -> Vec<String> {
    let required = &preview.required_template_env_keys;
    let missing_env: Vec<String> = match &target {
        Some(_) => match ctx.host().env_keys(template_context, template_instance) {
            Ok(keys) => required
                .iter()
                .filter(|k| !keys.contains(k))
                .cloned()
                .collect(),
            Err(e) => {
                checks.push(check(
                    "template_env",
                    false,
                    format!("the template env could not be read: {}", e.message()),
                ));
                required.clone()
            }
        },
        None => required.clone(),
    };
    if !checks.iter().any(|c| c.check_id == "template_env") {
        checks.push(check(
            "template_env",
            target.is_some() && missing_env.is_empty(),
            if target.is_none() {
                "no template target to read env keys from".to_string()
            } else if missing_env.is_empty() {
                format!("the template env has all {} required keys", required.len())
            } else {
                format!("the template env lacks {}", missing_env.join(", "))
            },
        ));
    }
    missing_env
}

/// The required provider fields blank on the provider-neutral target
/// (check `template_provider_fields`).
fn missing_provider_fields(
    preview: &ProductPreviewProfile,
    target: &Option<Target>,
    checks: &mut Vec<PreviewReadinessCheck>,
) -> Vec<String> {
    let target_document = target.as_ref().map(|t| {
        json!({
            "context": t.context, "instance": t.instance, "target_type": t.target_type,
            "target_name": t.target_name, "domains": t.domains, "healthcheck_path": t.healthcheck_path,
        })
    });
    let missing_fields: Vec<String> = preview
        .required_provider_fields
        .iter()
        .filter(|f| {
            target_document
                .as_ref()
                .is_none_or(|doc| !non_blank_at(doc, f.trim()))
        })
        .cloned()
        .collect();
    checks.push(check(
        "template_provider_fields",
        target.is_some() && missing_fields.is_empty(),
        if target.is_none() {
            "no template target to read provider fields from".to_string()
        } else if missing_fields.is_empty() {
            "the template target has every required provider field".to_string()
        } else {
            format!(
                "the template target lacks (or the provider-neutral target does not expose) {}",
                missing_fields.join(", ")
            )
        },
    ));
    missing_fields
}

/// Check `transport_policy`: no env key both copied and omitted, and no
/// migration or seed command without a data transport mode.
fn transport_policy(preview: &ProductPreviewProfile) -> PreviewReadinessCheck {
    let overlap: Vec<&String> = preview
        .copied_env_keys
        .iter()
        .filter(|k| preview.omitted_env_keys.contains(k))
        .collect();
    let commands_without_mode = preview.data_transport_mode == DataTransportMode::None
        && (!preview.migration_command.trim().is_empty()
            || !preview.seed_command.trim().is_empty());
    if !overlap.is_empty() {
        check(
            "transport_policy",
            false,
            format!(
                "env keys are both copied and omitted: {}",
                overlap
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else if commands_without_mode {
        check(
            "transport_policy",
            false,
            "migration or seed commands need a data transport mode other than `none`",
        )
    } else {
        check(
            "transport_policy",
            true,
            "the transport policy is consistent",
        )
    }
}

/// The transport part of the readiness result.
fn transport_summary(preview: &ProductPreviewProfile) -> PreviewTransportSummary {
    PreviewTransportSummary {
        data_transport_mode: preview.data_transport_mode,
        copied_env_keys: preview.copied_env_keys.clone(),
        omitted_env_keys: preview.omitted_env_keys.clone(),
        override_env_keys: preview.override_env.keys().cloned().collect(),
        preview_url_env_keys: preview.preview_url_env_keys.clone(),
        preview_domain_env_keys: preview.preview_domain_env_keys.clone(),
        migration_command_configured: !preview.migration_command.trim().is_empty(),
        seed_command_configured: !preview.seed_command.trim().is_empty(),
    }
}

/// `preview-readiness`: are the template lane and the preview contract able
/// to produce a preview? Reads only. Host calls: `record_get
/// product_profile`, `resolve_target` and `env_keys` of the template lane.
/// Checks: `template_lane` (profile, previews enabled, preview context, a
/// lane for `template_instance`), `template_target` (an application target),
/// `template_env` (every `required_template_env_keys`),
/// `template_provider_fields` (every `required_provider_fields` non-blank
/// on the provider-neutral target), `transport_policy`.
pub fn preview_readiness(
    ctx: &Ctx<'_>,
    req: PreviewReadinessRequest,
) -> Result<Reply<PreviewReadinessResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("source", &req.source)?;
    let profile = load_profile(ctx)?;
    let (result, _) = evaluate_readiness(ctx, profile.as_ref(), &req.source);
    let blocked = result.readiness_status == PassBlocked::Blocked;
    Ok(Reply::new(result).replayable_unless(blocked))
}
