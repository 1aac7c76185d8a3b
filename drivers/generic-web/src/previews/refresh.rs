//! `preview-refresh`: one preview created or updated from an immutable
//! image. The request is checked, readiness evaluated, the provider side
//! run (`provision.rs`), and the generation and preview records landed.

use launchplane_sdk::prelude::*;

use super::lookup::{find_preview, generations};
use super::provision::{Provisioned, provision};
use super::readiness::evaluate_readiness;
use crate::checks::{
    at_least, envelope_product, http_url, immutable_image_reference, invalid, non_blank,
    optional_at_least,
};
use crate::models::*;
use crate::profile::{ProfileExt, load_profile};
use crate::records::ProductProfile;
use crate::records::{
    self, PreviewGenerationRecord, PreviewGenerationState, PreviewPullRequestSummary,
    PreviewRecord, PreviewState, generation_id, preview_id, preview_label,
};
use crate::stable::product_of;

/// Why a generation was requested, as recorded.
const REFRESH_REASON: &str = "generic_web_preview_refresh";

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

/// What a refresh knows once its request is understood.
pub(super) struct Refresh {
    pub(super) product: String,
    pub(super) context: String,
    pub(super) slug: String,
    pub(super) number: u64,
    pub(super) app_name: String,
    pub(super) preview_url: String,
    pub(super) image_reference: String,
    pub(super) anchor_repo: String,
    pub(super) anchor_pr_url: String,
    pub(super) anchor_head_sha: String,
    pub(super) preview_id: String,
    pub(super) generation_id: String,
    pub(super) sequence: u32,
    pub(super) started_at: String,
}

impl Refresh {
    /// The resolved manifest fingerprint: repo token, slug and a short
    /// commit (or image digest).
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
/// driver: the host copies them from the template application inside
/// `create_preview_app`.) Without a `preview_url`, it is derived from the
/// slug and `preview_base_url` of the context (`settings`). Provider failures are results
/// (`refresh_status: fail`); a failing hook fails the action after the
/// failed generation is recorded.
pub fn preview_refresh(
    ctx: &Ctx<'_>,
    req: PreviewRefreshRequest,
) -> Result<Reply<PreviewRefreshResult>, DriverError> {
    check_refresh_request(ctx, &req)?;

    let profile = load_profile(ctx)?;
    let template = profile.clone().unwrap_or_default();
    let slug = req.preview_slug.trim().to_string();
    let number = anchor_number(&template, &slug, req.anchor_pr_number)?;
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
        preview_url: preview_url(ctx, &req.preview_url, &slug)?,
        readiness: None,
        smoke: None,
        error_message: String::new(),
    };

    let (readiness, template_target) = evaluate_readiness(ctx, profile.as_ref(), &req.source);
    let blocked = readiness.readiness_status == PassBlocked::Blocked;
    if blocked {
        result.error_message = blocked_summary(&readiness);
    }
    result.readiness = Some(readiness);
    if blocked {
        result.refresh_finished_at = ctx.host().now();
        // Nothing was created: a retry once the template is ready asks
        // again instead of replaying the refusal.
        return Ok(Reply::new(result).not_replayable());
    }

    let anchor_repo = template.anchor_repo(&product);
    let id = preview_id(&context, &anchor_repo, number);
    let existing = find_preview(ctx, &context, &id)?;
    let sequence = next_sequence(ctx, &id)?;
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
    land(ctx, &refresh, existing, outcome, result)
}

/// The blocking checks of `readiness`, as `check_id: message` joined by
/// `; `.
fn blocked_summary(readiness: &PreviewReadinessResult) -> String {
    readiness
        .checks
        .iter()
        .filter(|c| c.status == PassBlocked::Blocked)
        .map(|c| format!("{}: {}", c.check_id, c.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The sequence of preview `id`'s next generation: one after the highest
/// stored.
fn next_sequence(ctx: &Ctx<'_>, id: &str) -> Result<u32, DriverError> {
    Ok(generations(ctx, id)?
        .iter()
        .map(|g| g.sequence)
        .max()
        .unwrap_or(0)
        + 1)
}

/// The request's own checks: fields, URLs and numbers.
fn check_refresh_request(ctx: &Ctx<'_>, req: &PreviewRefreshRequest) -> Result<(), DriverError> {
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
    Ok(())
}

/// The preview URL: the request's override, else
/// `<scheme>://<slug>.<host of the context's LAUNCHPLANE_PREVIEW_BASE_URL>`
/// (reference §13 "Preview naming"); without either, the request is
/// refused naming the field and the setting.
fn preview_url(ctx: &Ctx<'_>, requested: &str, slug: &str) -> Result<String, DriverError> {
    if !requested.trim().is_empty() {
        return Ok(requested.trim().to_string());
    }
    let context = ctx.context();
    let base = ctx.host().preview_base_url(context)?.unwrap_or_default();
    let derived = base.trim().split_once("://").and_then(|(scheme, rest)| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        (matches!(scheme, "http" | "https") && !host.is_empty())
            .then(|| format!("{scheme}://{slug}.{host}"))
    });
    derived.ok_or_else(|| {
        invalid(
            "preview_url",
            format_args!(
                "is required: no usable LAUNCHPLANE_PREVIEW_BASE_URL is set for context `{context}` to derive it"
            ),
        )
    })
}

/// The PR number: the request's, which must give `slug`, or the one
/// `slug` names.
fn anchor_number(
    template: &ProductProfile,
    slug: &str,
    anchor_pr_number: Option<u64>,
) -> Result<u64, DriverError> {
    Ok(match anchor_pr_number {
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
        None => template.number_from_slug(slug).ok_or_else(|| {
            invalid(
                "preview_slug",
                format_args!(
                    "`{slug}` does not match the slug template `{}`",
                    template.preview.slug_template
                ),
            )
        })?,
    })
}

/// Records the generation and the preview after it (a failing hook fails
/// the action once both are written), and completes the result.
fn land(
    ctx: &Ctx<'_>,
    refresh: &Refresh,
    existing: Option<PreviewRecord>,
    outcome: Provisioned,
    mut result: PreviewRefreshResult,
) -> Result<Reply<PreviewRefreshResult>, DriverError> {
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
