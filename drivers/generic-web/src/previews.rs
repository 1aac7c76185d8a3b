//! The preview lifecycle: readiness, refresh, inventory and destroy.
//!
//! Previews live in the invocation's context (the profile's preview context
//! unless the request names another of the product's contexts). A preview
//! application is named `<prefix>-<slug>`, the slug coming from the
//! profile's slug template (`pr-{number}` by default) and the prefix from
//! `preview.app_name_prefix` (default `<product>-preview`).

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

use crate::checks::{
    at_least, compact_timestamp, envelope_product, http_url, immutable_image_reference, invalid,
    non_blank, optional_at_least, url_host,
};
use crate::hooks::{self, PreviewEnvAnswer, PreviewEnvPayload};
use crate::lane::{check_health, health_failure_detail};
use crate::models::*;
use crate::profile::{DEFAULT_HEALTH_PATH, ProfileExt, load_profile, origin_of};
use crate::records::ProductProfile;
use crate::records::{
    self, PreviewGenerationRecord, PreviewGenerationState, PreviewInventoryScanRecord,
    PreviewPullRequestSummary, PreviewRecord, PreviewState, TargetType, generation_id, preview_id,
    preview_label,
};
use crate::stable::product_of;

/// Why a generation was requested, as recorded.
const REFRESH_REASON: &str = "generic_web_preview_refresh";

/// How many stored previews / generations a lookup reads.
const LOOKUP_LIMIT: u32 = 200;

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
fn evaluate_readiness(
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

    let lane_problem = if profile.is_none() {
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
    };
    checks.push(match &lane_problem {
        None => check(
            "template_lane",
            true,
            format!("template lane {template_context}/{template_instance}"),
        ),
        Some(problem) => check("template_lane", false, problem.clone()),
    });

    let target = if lane_problem.is_none() {
        match ctx
            .host()
            .resolve_target(&template_context, &template_instance)
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
        let is_application = records::target_type_of(&t.target_type) == TargetType::Application;
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

    let required = &preview.required_template_env_keys;
    let missing_env: Vec<String> = match &target {
        Some(_) => match ctx.host().env_keys(&template_context, &template_instance) {
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

    let overlap: Vec<&String> = preview
        .copied_env_keys
        .iter()
        .filter(|k| preview.omitted_env_keys.contains(k))
        .collect();
    let commands_without_mode = preview.data_transport_mode == DataTransportMode::None
        && (!preview.migration_command.trim().is_empty()
            || !preview.seed_command.trim().is_empty());
    checks.push(if !overlap.is_empty() {
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
    });

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
        transport: PreviewTransportSummary {
            data_transport_mode: preview.data_transport_mode,
            copied_env_keys: preview.copied_env_keys.clone(),
            omitted_env_keys: preview.omitted_env_keys.clone(),
            override_env_keys: preview.override_env.keys().cloned().collect(),
            preview_url_env_keys: preview.preview_url_env_keys.clone(),
            preview_domain_env_keys: preview.preview_domain_env_keys.clone(),
            migration_command_configured: !preview.migration_command.trim().is_empty(),
            seed_command_configured: !preview.seed_command.trim().is_empty(),
        },
        checks,
    };
    (result, target)
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
    Ok(Reply::new(result))
}

/// `host[:port]` of an absolute URL.
fn url_authority(url: &str) -> String {
    let rest = url.trim().split_once("://").map_or("", |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_string()
}

/// Lower-case, non-alphanumerics folded to single `-`, trimmed.
fn token(value: &str) -> String {
    let mut out = String::new();
    for c in value.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Stored previews of a context, newest first.
fn previews(ctx: &Ctx<'_>, context: &str) -> Result<Vec<PreviewRecord>, DriverError> {
    records::list(ctx, "preview", Some(context), None, LOOKUP_LIMIT)?
        .into_iter()
        .map(|v| records::parse("preview", v))
        .collect()
}

fn find_preview(
    ctx: &Ctx<'_>,
    context: &str,
    id: &str,
) -> Result<Option<PreviewRecord>, DriverError> {
    Ok(previews(ctx, context)?
        .into_iter()
        .find(|p| p.preview_id == id))
}

/// Stored generations of one preview, newest first. (Generation documents
/// carry no context, so they are filtered by preview id.)
pub fn generations(
    ctx: &Ctx<'_>,
    preview_id: &str,
) -> Result<Vec<PreviewGenerationRecord>, DriverError> {
    let mut found = Vec::new();
    for value in records::list(ctx, "preview_generation", None, None, LOOKUP_LIMIT)? {
        let generation: PreviewGenerationRecord = records::parse("preview_generation", value)?;
        if generation.preview_id == preview_id {
            found.push(generation);
        }
    }
    Ok(found)
}

/// What a refresh knows once its request is understood.
struct Refresh {
    product: String,
    context: String,
    slug: String,
    number: u64,
    app_name: String,
    preview_url: String,
    image_reference: String,
    anchor_repo: String,
    anchor_pr_url: String,
    anchor_head_sha: String,
    preview_id: String,
    generation_id: String,
    sequence: u32,
    started_at: String,
}

impl Refresh {
    fn fingerprint(&self) -> String {
        let sha = self.anchor_head_sha.trim().to_lowercase();
        let short: String = if sha.is_empty() {
            self.image_reference
                .rsplit_once("sha256:")
                .map_or("", |(_, hex)| hex)
                .chars()
                .take(12)
                .collect()
        } else {
            sha.chars().take(7).collect()
        };
        format!(
            "{}-preview-manifest-{}-{short}",
            token(&self.anchor_repo),
            self.slug
        )
    }

    /// The generation record of this refresh.
    fn generation(
        &self,
        finished_at: &str,
        health: ReleaseStatus,
        failure: Option<(&str, &str)>,
    ) -> PreviewGenerationRecord {
        let failed = failure.is_some();
        PreviewGenerationRecord {
            schema_version: 1,
            generation_id: self.generation_id.clone(),
            preview_id: self.preview_id.clone(),
            sequence: self.sequence,
            state: if failed {
                PreviewGenerationState::Failed
            } else {
                PreviewGenerationState::Ready
            },
            requested_reason: REFRESH_REASON.to_string(),
            requested_at: self.started_at.clone(),
            started_at: self.started_at.clone(),
            ready_at: if failed {
                String::new()
            } else {
                finished_at.to_string()
            },
            finished_at: finished_at.to_string(),
            superseded_at: String::new(),
            failed_at: if failed {
                finished_at.to_string()
            } else {
                String::new()
            },
            expires_at: String::new(),
            resolved_manifest_fingerprint: self.fingerprint(),
            artifact_id: self.image_reference.clone(),
            baseline_release_tuple_id: String::new(),
            source_map: Vec::new(),
            anchor_summary: PreviewPullRequestSummary {
                repo: self.anchor_repo.clone(),
                pr_number: self.number,
                head_sha: match self.anchor_head_sha.trim() {
                    "" => "unknown".to_string(),
                    sha => sha.to_string(),
                },
                pr_url: self.anchor_pr_url.clone(),
            },
            companion_summaries: Vec::new(),
            deploy_status: match failure {
                Some(("preview-env hook", _)) => ReleaseStatus::Skipped,
                Some(("provision", _)) => ReleaseStatus::Fail,
                _ => ReleaseStatus::Pass,
            },
            verify_status: ReleaseStatus::Skipped,
            overall_health_status: if failed && health != ReleaseStatus::Fail {
                ReleaseStatus::Fail
            } else {
                health
            },
            failure_stage: failure
                .map(|(stage, _)| stage.to_string())
                .unwrap_or_default(),
            failure_summary: failure
                .map(|(_, summary)| summary.to_string())
                .unwrap_or_default(),
        }
    }

    /// The preview after this generation landed (§6.6 transitions): ready
    /// makes it `active` and serving this generation; failed makes it
    /// `failed` and keeps the serving generation.
    fn preview(
        &self,
        existing: Option<PreviewRecord>,
        generation: &PreviewGenerationRecord,
    ) -> PreviewRecord {
        let updated_at = generation.finished_at.clone();
        let mut preview = existing.unwrap_or_else(|| PreviewRecord {
            schema_version: 1,
            preview_id: self.preview_id.clone(),
            context: self.context.clone(),
            anchor_repo: self.anchor_repo.clone(),
            anchor_pr_number: self.number,
            anchor_pr_url: self.anchor_pr_url.clone(),
            preview_label: preview_label(&self.context, &self.anchor_repo, self.number),
            canonical_url: self.preview_url.clone(),
            state: PreviewState::Pending,
            created_at: self.started_at.clone(),
            updated_at: updated_at.clone(),
            eligible_at: self.started_at.clone(),
            paused_at: String::new(),
            destroy_after: String::new(),
            destroyed_at: String::new(),
            destroy_reason: String::new(),
            active_generation_id: String::new(),
            serving_generation_id: String::new(),
            latest_generation_id: String::new(),
            latest_manifest_fingerprint: String::new(),
        });
        preview.anchor_pr_url = self.anchor_pr_url.clone();
        preview.canonical_url = self.preview_url.clone();
        preview.updated_at = updated_at;
        preview.active_generation_id = generation.generation_id.clone();
        preview.latest_generation_id = generation.generation_id.clone();
        if generation.state == PreviewGenerationState::Ready {
            preview.state = PreviewState::Active;
            preview.serving_generation_id = generation.generation_id.clone();
            preview.latest_manifest_fingerprint = generation.resolved_manifest_fingerprint.clone();
            preview.destroyed_at = String::new();
            preview.destroy_reason = String::new();
        } else {
            preview.state = PreviewState::Failed;
        }
        preview
    }
}

/// `preview-refresh`: create or update one preview from an immutable image.
///
/// Host calls, in order: `record_get product_profile`, readiness
/// (`resolve_target`, `env_keys` of the template lane) — a blocked readiness
/// answers `refresh_status: blocked` here, before any provider change —
/// then `record_list preview`, `record_list preview_generation`,
/// `list_preview_apps` (does the app exist already?), hook `preview-env`,
/// `create_preview_app` (which updates an app that exists),
/// `health_check` of `<preview URL><health path>`, `delete_preview_app`
/// only when this run created the app and a later step failed, `record_put
/// preview`, `record_put preview_generation`.
///
/// The preview's env: `override_env`, each `preview_url_env_keys` = the
/// URL, each `preview_domain_env_keys` = its `host[:port]`, then whatever
/// the `preview-env` hook adds. (`copied_env_keys` values never reach a
/// driver; copying them from the template is the provider's side of
/// `create_preview_app`.) Provider failures are results
/// (`refresh_status: fail`); a failing hook fails the action after the
/// failed generation is recorded.
pub fn preview_refresh(
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
    if req.preview_url.trim().is_empty() {
        return Err(invalid(
            "preview_url",
            "is required: drivers cannot read LAUNCHPLANE_PREVIEW_BASE_URL to derive it",
        ));
    }

    let profile = load_profile(ctx)?;
    let template = profile.clone().unwrap_or_default();
    let slug = req.preview_slug.trim().to_string();
    let number = match req.anchor_pr_number {
        Some(number) if template.slug_for(number) != slug => {
            return Err(invalid(
                "preview_slug",
                format_args!(
                    "`{slug}` is not the slug of PR {number} (`{}`)",
                    template.slug_for(number)
                ),
            ));
        }
        Some(number) => number,
        None => template.number_from_slug(&slug).ok_or_else(|| {
            invalid(
                "preview_slug",
                format_args!(
                    "`{slug}` does not match the slug template `{}`",
                    template.preview.slug_template
                ),
            )
        })?,
    };
    let image_reference = immutable_image_reference(
        "image_reference",
        &req.image_reference,
        &template.image.repository,
    )?;
    let product = product_of(ctx, &req.product);
    let context = ctx.context().to_string();
    let app_name = format!("{}-{slug}", template.app_name_prefix(&product));
    let started_at = ctx.host().now();
    let mut result = PreviewRefreshResult {
        refresh_status: RefreshStatus::Blocked,
        refresh_started_at: started_at.clone(),
        refresh_finished_at: String::new(),
        product: product.clone(),
        context: context.clone(),
        preview_slug: slug.clone(),
        application_name: app_name.clone(),
        application_id: String::new(),
        preview_url: req.preview_url.trim().to_string(),
        readiness: None,
        smoke: None,
        error_message: String::new(),
    };

    let (readiness, template_target) = evaluate_readiness(ctx, profile.as_ref(), &req.source);
    let blocked = readiness.readiness_status == PassBlocked::Blocked;
    if blocked {
        result.error_message = readiness
            .checks
            .iter()
            .filter(|c| c.status == PassBlocked::Blocked)
            .map(|c| format!("{}: {}", c.check_id, c.message))
            .collect::<Vec<_>>()
            .join("; ");
    }
    result.readiness = Some(readiness);
    if blocked {
        result.refresh_finished_at = ctx.host().now();
        return Ok(Reply::new(result));
    }

    let anchor_repo = template.anchor_repo(&product);
    let id = preview_id(&context, &anchor_repo, number);
    let existing = find_preview(ctx, &context, &id)?;
    let sequence = generations(ctx, &id)?
        .iter()
        .map(|g| g.sequence)
        .max()
        .unwrap_or(0)
        + 1;
    let refresh = Refresh {
        product: product.clone(),
        context: context.clone(),
        slug: slug.clone(),
        number,
        app_name: app_name.clone(),
        preview_url: result.preview_url.clone(),
        image_reference,
        anchor_pr_url: match req.anchor_pr_url.trim() {
            "" => template.pr_url(&product, number),
            url => url.to_string(),
        },
        anchor_repo,
        anchor_head_sha: req.anchor_head_sha.trim().to_string(),
        generation_id: generation_id(&id, sequence),
        preview_id: id,
        sequence,
        started_at,
    };
    let outcome = provision(
        ctx,
        &template,
        template_target.as_ref(),
        &refresh,
        req.timeout_seconds,
    );
    let finished_at = ctx.host().now();
    let failure = outcome
        .failure
        .as_ref()
        .map(|(stage, summary)| (stage.as_str(), summary.as_str()));
    let generation = refresh.generation(&finished_at, outcome.health, failure);
    let preview = refresh.preview(existing, &generation);
    let hook_error = outcome.hook_error;
    let preview_written = records::write(ctx, "preview", &preview);
    let generation_written = records::write(ctx, "preview_generation", &generation);
    if let Some(error) = hook_error {
        return Err(error);
    }
    preview_written?;
    generation_written?;

    result.refresh_status = if outcome.failure.is_some() {
        RefreshStatus::Fail
    } else {
        RefreshStatus::Pass
    };
    result.refresh_finished_at = finished_at;
    result.application_id = if outcome.app_exists {
        refresh.app_name.clone()
    } else {
        String::new()
    };
    result.smoke = outcome.smoke;
    result.error_message = outcome
        .failure
        .map(|(_, summary)| summary)
        .unwrap_or_default();
    Ok(Reply::new(result)
        .record("preview_id", refresh.preview_id.clone())
        .record("generation_id", refresh.generation_id.clone()))
}

/// What the provider side of a refresh did.
struct Provisioned {
    /// Stage and summary of the failure, if any.
    failure: Option<(String, String)>,
    /// A failing hook's own error, to fail the action with.
    hook_error: Option<DriverError>,
    health: ReleaseStatus,
    smoke: Option<PreviewSmokeResult>,
    /// Whether the app exists once the refresh is over.
    app_exists: bool,
}

fn provision(
    ctx: &Ctx<'_>,
    profile: &ProductProfile,
    template_target: Option<&Target>,
    refresh: &Refresh,
    timeout_seconds: u32,
) -> Provisioned {
    let host = ctx.host();
    let failed = |stage: &str, summary: String, app_exists: bool| Provisioned {
        failure: Some((stage.to_string(), summary)),
        hook_error: None,
        health: ReleaseStatus::Skipped,
        smoke: None,
        app_exists,
    };
    let existed = match host.list_preview_apps(&refresh.context, &refresh.app_name) {
        Ok(apps) => apps.iter().any(|a| a.name == refresh.app_name),
        Err(e) => {
            return failed(
                "provision",
                format!("listing preview apps failed: {}", e.message()),
                false,
            );
        }
    };

    let preview = &profile.preview;
    let authority = url_authority(&refresh.preview_url);
    let domain = url_host(&refresh.preview_url)
        .unwrap_or_default()
        .to_string();
    let mut env: BTreeMap<String, String> = preview.override_env.clone();
    for key in &preview.preview_url_env_keys {
        env.insert(key.clone(), refresh.preview_url.clone());
    }
    for key in &preview.preview_domain_env_keys {
        env.insert(key.clone(), authority.clone());
    }
    let template_lane = profile.lane(&preview.template_instance);
    let payload = PreviewEnvPayload {
        product: refresh.product.clone(),
        context: refresh.context.clone(),
        preview_slug: refresh.slug.clone(),
        anchor_pr_number: refresh.number,
        application_name: refresh.app_name.clone(),
        preview_url: refresh.preview_url.clone(),
        preview_host: authority,
        image_reference: refresh.image_reference.clone(),
        template_context: template_lane.map(|l| l.context.clone()).unwrap_or_default(),
        template_instance: preview.template_instance.clone(),
        env_keys: env.keys().cloned().collect(),
    };
    match hooks::call::<_, PreviewEnvAnswer>(ctx, hooks::PREVIEW_ENV, &payload) {
        Ok(answer) => {
            if let Some(bad) = answer.env.keys().find(|k| k.trim().is_empty()) {
                let error = DriverError::Internal(format!(
                    "the preview-env hook answered a blank env key `{bad}`"
                ));
                return Provisioned {
                    hook_error: Some(error.clone()),
                    ..failed("preview-env hook", error.message().to_string(), existed)
                };
            }
            env.extend(answer.env);
        }
        Err(e) => {
            return Provisioned {
                hook_error: Some(e.clone()),
                ..failed(
                    "preview-env hook",
                    format!("the preview-env hook failed: {}", e.message()),
                    existed,
                )
            };
        }
    }

    let env: Vec<(String, String)> = env.into_iter().collect();
    if let Err(e) = host.create_preview_app(
        &refresh.context,
        &refresh.app_name,
        &refresh.image_reference,
        std::slice::from_ref(&domain),
        &env,
    ) {
        return failed(
            "provision",
            format!(
                "creating preview app `{}` failed: {}",
                refresh.app_name,
                e.message()
            ),
            existed,
        );
    }

    let path = match profile.health_path.trim() {
        "" => template_target
            .map(|t| t.healthcheck_path.trim())
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_HEALTH_PATH),
        path => path,
    };
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let url = format!("{}{path}", refresh.preview_url_origin());
    let (evidence, health) = check_health(ctx, &[url], timeout_seconds, None);
    let passed = evidence.status != ReleaseStatus::Fail;
    let message = if passed {
        format!(
            "health {} at {}",
            evidence.status.as_str(),
            evidence.urls.join(", ")
        )
    } else {
        format!("health failed: {}", health_failure_detail(health.as_ref()))
    };
    let smoke = PreviewSmokeResult {
        smoke_status: if passed {
            PassFail::Pass
        } else {
            PassFail::Fail
        },
        checked_at: host.now(),
        checks: vec![PreviewSmokeCheck {
            check_id: "health".to_string(),
            status: if passed {
                PassFail::Pass
            } else {
                PassFail::Fail
            },
            message: message.clone(),
        }],
        failure_summary: if passed {
            String::new()
        } else {
            message.clone()
        },
    };
    if passed {
        return Provisioned {
            failure: None,
            hook_error: None,
            health: evidence.status,
            smoke: Some(smoke),
            app_exists: true,
        };
    }

    // Undo only what this run created.
    let mut summary = format!("preview `{}` {message}", refresh.app_name);
    let mut app_exists = true;
    if !existed {
        match host.delete_preview_app(&refresh.context, &refresh.app_name) {
            Ok(()) => {
                app_exists = false;
                summary.push_str("; the app created by this refresh was deleted");
            }
            Err(e) => summary.push_str(&format!(
                "; deleting the app created by this refresh failed: {}",
                e.message()
            )),
        }
    }
    Provisioned {
        failure: Some(("health".to_string(), summary)),
        hook_error: None,
        health: ReleaseStatus::Fail,
        smoke: Some(smoke),
        app_exists,
    }
}

impl Refresh {
    /// The scheme and authority of the preview URL.
    fn preview_url_origin(&self) -> String {
        let url = self.preview_url.trim();
        match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://{}", url_authority(url)),
            None => url.to_string(),
        }
    }
}

/// `preview-inventory`: which preview apps exist. Host calls:
/// `record_get product_profile`, `list_preview_apps(<prefix>-)`,
/// `record_put preview_inventory_scan` (a `fail` scan when listing failed,
/// then `provider_failed`).
pub fn preview_inventory(
    ctx: &Ctx<'_>,
    req: PreviewInventoryRequest,
) -> Result<Reply<PreviewInventoryResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("source", &req.source)?;
    let profile = load_profile(ctx)?.unwrap_or_default();
    let product = product_of(ctx, &req.product);
    let context = ctx.context().to_string();
    let prefix = format!("{}-", profile.app_name_prefix(&product));
    let now = ctx.host().now();
    let scan_id = format!(
        "preview-inventory-scan-{context}-{}",
        compact_timestamp(&now)
    );
    let mut scan = PreviewInventoryScanRecord {
        record_id: scan_id.clone(),
        scan_id: scan_id.clone(),
        context: context.clone(),
        scanned_at: now,
        source: req.source.trim().to_string(),
        status: PassFail::Pass,
        preview_count: 0,
        preview_slugs: Vec::new(),
        error_message: String::new(),
    };
    let apps = match ctx.host().list_preview_apps(&context, &prefix) {
        Ok(apps) => apps,
        Err(e) => {
            scan.status = PassFail::Fail;
            scan.error_message = format!("listing preview apps failed: {}", e.message());
            let error = crate::lane::provider_step_error(
                "listing preview apps",
                &context,
                "",
                &e,
                &format!(" (scan {scan_id} records the failure)"),
            );
            return Err(crate::stable::record_failure(
                ctx,
                "preview_inventory_scan",
                &scan,
                error,
            ));
        }
    };
    let mut previews: Vec<PreviewInventoryItem> = apps
        .iter()
        .filter_map(|app| {
            let slug = app.name.strip_prefix(&prefix)?;
            (!slug.is_empty()).then(|| PreviewInventoryItem {
                application_id: app.name.clone(),
                application_name: app.name.clone(),
                preview_slug: slug.to_string(),
                provider_type: PreviewProviderType::Application,
                domain_id: String::new(),
                domain_host: app
                    .domains
                    .first()
                    .map(|d| url_host(&origin_of(d)).unwrap_or(d).to_string())
                    .unwrap_or_default(),
            })
        })
        .collect();
    previews.sort_by(|a, b| a.preview_slug.cmp(&b.preview_slug));
    scan.preview_slugs = previews.iter().map(|p| p.preview_slug.clone()).collect();
    scan.preview_count = scan.preview_slugs.len() as u64;
    let scan_written = records::write(ctx, "preview_inventory_scan", &scan)?;
    let result = PreviewInventoryResult {
        product,
        context,
        source: scan.source.clone(),
        app_name_prefix: prefix.trim_end_matches('-').to_string(),
        previews,
    };
    Ok(Reply::new(result).record("preview_inventory_scan_id", scan_written))
}

/// `preview-destroy`: delete one preview app and record the destroyed
/// transition. Host calls: `record_get product_profile`,
/// `list_preview_apps(<app name>)`, `delete_preview_app` (when it exists),
/// `record_list preview` and `record_put preview` (the destroyed
/// transition, when a preview record exists). An app that is already gone is
/// a pass; a provider failure is a `fail` result and changes no record.
pub fn preview_destroy(
    ctx: &Ctx<'_>,
    req: PreviewDestroyRequest,
) -> Result<Reply<PreviewDestroyResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("preview_slug", &req.preview_slug)?;
    non_blank("destroy_reason", &req.destroy_reason)?;
    optional_at_least("timeout_seconds", Some(req.timeout_seconds), 1)?;
    let profile = load_profile(ctx)?.unwrap_or_default();
    let product = product_of(ctx, &req.product);
    let context = ctx.context().to_string();
    let slug = req.preview_slug.trim().to_string();
    let app_name = format!("{}-{slug}", profile.app_name_prefix(&product));
    let started_at = ctx.host().now();
    let mut result = PreviewDestroyResult {
        destroy_status: PassFail::Pass,
        destroy_started_at: started_at,
        destroy_finished_at: String::new(),
        product: product.clone(),
        context: context.clone(),
        preview_slug: slug.clone(),
        application_name: app_name.clone(),
        application_id: String::new(),
        provider_type: PreviewProviderType::Application,
        domain_ids: Vec::new(),
        error_message: String::new(),
    };
    let existed = match ctx.host().list_preview_apps(&context, &app_name) {
        Ok(apps) => apps.iter().any(|a| a.name == app_name),
        Err(e) => {
            result.destroy_status = PassFail::Fail;
            result.error_message = format!("listing preview apps failed: {}", e.message());
            result.destroy_finished_at = ctx.host().now();
            return Ok(Reply::new(result));
        }
    };
    if existed {
        result.application_id = app_name.clone();
        if let Err(e) = ctx.host().delete_preview_app(&context, &app_name) {
            result.destroy_status = PassFail::Fail;
            result.error_message =
                format!("deleting preview app `{app_name}` failed: {}", e.message());
            result.destroy_finished_at = ctx.host().now();
            return Ok(Reply::new(result));
        }
    }
    let destroyed_at = ctx.host().now();
    result.destroy_finished_at = destroyed_at.clone();
    let mut reply_records = Vec::new();
    let found = match profile.number_from_slug(&slug) {
        Some(number) => {
            let id = preview_id(&context, &profile.anchor_repo(&product), number);
            find_preview(ctx, &context, &id)?
        }
        None => None,
    };
    match found {
        Some(mut preview) => {
            preview.state = PreviewState::Destroyed;
            preview.updated_at = destroyed_at.clone();
            preview.destroyed_at = destroyed_at;
            preview.destroy_reason = req.destroy_reason.trim().to_string();
            preview.active_generation_id = String::new();
            preview.serving_generation_id = String::new();
            records::write(ctx, "preview", &preview)?;
            reply_records.push(("preview_id", preview.preview_id.clone()));
            reply_records.push(("transition", "destroyed".to_string()));
        }
        None => reply_records.push(("transition", "destroyed_missing_preview".to_string())),
    }
    Ok(reply_records
        .into_iter()
        .fold(Reply::new(result), |reply, (k, v)| reply.record(k, v)))
}
