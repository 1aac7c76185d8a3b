//! VeriReel's previews on generic-web's preview lifecycle: the request and
//! result adapters of `preview-refresh`, `preview-destroy` and
//! `preview-verification` (generic-web creates, deploys, checks and
//! records the preview; VeriReel's `preview-env` hook adds its env), and
//! VeriReel's own `preview-inventory`.
//!
//! A VeriReel preview is named by its pull request: slug `pr-<n>`, which
//! must match `anchor_pr_number`, so one PR's workflow cannot touch another
//! PR's preview; `anchor_repo` must be the repository the product profile
//! anchors its previews at, so the preview ids VeriReel's workflows use are
//! the ones generic-web records.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::AdaptResultPayload;
use lifecycle_records::{self as records, ProductProfile};

use crate::checks::{at_least, invalid, non_blank, url_host};
use crate::lifecycle::{status, text};
use crate::maintenance::{self, run_with_retries};
use crate::models::*;

/// What every VeriReel preview application's name starts with.
pub const PREVIEW_APP_PREFIX: &str = "ver-preview-";

/// Records keys an adapter adds.
type Keys = std::collections::BTreeMap<String, String>;

/// `pr-<n>` with `n` a positive number written without leading zeros.
pub fn is_pr_slug(value: &str) -> bool {
    value.strip_prefix("pr-").is_some_and(|n| {
        n.starts_with(|c: char| ('1'..='9').contains(&c)) && n.chars().all(|c| c.is_ascii_digit())
    })
}

/// A preview application name: the original's `ver-preview-pr-<n>-app`,
/// or `ver-preview-pr-<n>`, the name generic-web gives a preview of a
/// profile whose `preview.app_name_prefix` is `ver-preview`.
pub fn preview_slug_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PREVIEW_APP_PREFIX)?;
    let slug = rest.strip_suffix("-app").unwrap_or(rest);
    is_pr_slug(slug).then_some(slug)
}

/// Preview slugs are derived from the pull request, never chosen.
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

/// The repository previews of the product are anchored at: the last
/// segment of the profile's repository, else the product (generic-web's
/// rule); the request's `anchor_repo` must name it.
fn check_anchor_repo(ctx: &Ctx<'_>, anchor_repo: &str) -> Result<(), DriverError> {
    non_blank("anchor_repo", anchor_repo)?;
    let profile = records::read::<ProductProfile>(ctx, "product_profile", ctx.product())?;
    let repository = profile
        .as_ref()
        .map(|p| p.repository.trim().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let name = repository.rsplit('/').next().unwrap_or_default();
    let name = name.strip_suffix(".git").unwrap_or(name);
    let expected = if name.is_empty() { ctx.product() } else { name };
    if anchor_repo.trim() != expected {
        return Err(invalid(
            "anchor_repo",
            format_args!(
                "must be `{expected}`, the repository this product's previews are anchored at"
            ),
        ));
    }
    Ok(())
}

/// `preview-refresh` → generic-web's: the preview URL is the request's
/// when given (generic-web derives it otherwise, where it can).
pub fn refresh_request(ctx: &Ctx<'_>, req: PreviewRefreshRequest) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    check_anchor_repo(ctx, &req.anchor_repo)?;
    non_blank("anchor_pr_url", &req.anchor_pr_url)?;
    if url_host(&req.anchor_pr_url).is_none() {
        return Err(invalid(
            "anchor_pr_url",
            "must be an http(s) URL with a hostname",
        ));
    }
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
    Ok(json!({
        "product": ctx.product(),
        "preview_slug": req.preview_slug.trim(),
        "preview_url": req.preview_url.trim(),
        "image_reference": req.image_reference.trim(),
        "anchor_pr_number": req.anchor_pr_number,
        "anchor_pr_url": req.anchor_pr_url.trim(),
        "anchor_head_sha": req.anchor_head_sha.trim(),
        "source": "verireel-preview-refresh",
        "timeout_seconds": req.timeout_seconds,
    }))
}

/// The seed the original ran on a refreshed preview after the Prisma
/// migrations (app maintenance's `migrate` command): jobs `<app>-migrate`
/// and `<app>-seed` on the preview application, each retried as app
/// maintenance retries.
const SEED_COMMAND: [&str; 2] = ["node", "prisma/seed.mjs"];

/// Runs the preview's migration (and, unless the request says `seed:
/// false`, seed) jobs on `app_name`; the first failure's message.
fn migrate_preview(
    ctx: &Ctx<'_>,
    request: &Value,
    context: &str,
    app_name: &str,
) -> Result<(), String> {
    let seed = request["seed"].as_bool().unwrap_or(true);
    let timeout = request["timeout_seconds"]
        .as_u64()
        .and_then(|t| u32::try_from(t).ok())
        .unwrap_or(300);
    let (_, migrate) =
        maintenance::job(MaintenanceAction::Migrate, MaintenanceContext::Preview, "");
    let seed_job: Vec<String> = SEED_COMMAND.iter().map(|p| p.to_string()).collect();
    let mut jobs = vec![(format!("{app_name}-migrate"), migrate)];
    if seed {
        jobs.push((format!("{app_name}-seed"), seed_job));
    }
    for (name, command) in &jobs {
        run_with_retries(ctx, name, || {
            ctx.host()
                .run_preview_job(context, app_name, name, command, timeout)
        })?;
    }
    Ok(())
}

/// generic-web's refresh answer in VeriReel's shape, after the preview's
/// migration and seed jobs when the refresh passed (a failed job fails the
/// refresh, naming it); records add the `transition` the original
/// reported.
pub fn refresh_and_migrate(
    ctx: &Ctx<'_>,
    payload: &AdaptResultPayload,
) -> Result<(Value, Keys), DriverError> {
    let (mut result, mut keys) = refresh_result(payload)?;
    if result["refresh_status"] != "pass" {
        return Ok((result, keys));
    }
    let context = match text(&payload.request["context"]) {
        c if c.trim().is_empty() => "verireel-testing".to_string(),
        c => c.trim().to_string(),
    };
    let app_name = text(&result["application_name"]);
    if let Err(message) = migrate_preview(ctx, &payload.request, &context, &app_name) {
        result["refresh_status"] = json!("fail");
        result["error_message"] = json!(format!(
            "preview `{app_name}` is deployed but its database jobs failed: {message}"
        ));
        if keys.contains_key("transition") {
            keys.insert("transition".into(), "failed".into());
        }
    }
    Ok((result, keys))
}

/// generic-web's refresh answer in VeriReel's shape; records add the
/// `transition` the original reported.
pub fn refresh_result(payload: &AdaptResultPayload) -> Result<(Value, Keys), DriverError> {
    let r = &payload.result;
    let passed = r["refresh_status"] == "pass";
    let result = PreviewRefreshResult {
        refresh_status: if passed {
            PassFail::Pass
        } else {
            PassFail::Fail
        },
        refresh_started_at: text(&r["refresh_started_at"]),
        refresh_finished_at: text(&r["refresh_finished_at"]),
        application_name: text(&r["application_name"]),
        application_id: text(&r["application_id"]),
        preview_url: text(&r["preview_url"]),
        error_message: text(&r["error_message"]),
    };
    let mut keys = Keys::new();
    if payload.records.contains_key("generation_id") {
        let transition = match r["refresh_status"].as_str() {
            Some("pass") => "ready",
            _ => "failed",
        };
        keys.insert("transition".into(), transition.into());
    }
    Ok((to_value(&result)?, keys))
}

/// `preview-destroy` → generic-web's.
pub fn destroy_request(ctx: &Ctx<'_>, req: PreviewDestroyRequest) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    check_anchor_repo(ctx, &req.anchor_repo)?;
    check_preview_slug(&req.preview_slug, req.anchor_pr_number)?;
    non_blank("destroy_reason", &req.destroy_reason)?;
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    Ok(json!({
        "product": ctx.product(),
        "preview_slug": req.preview_slug.trim(),
        "destroy_reason": req.destroy_reason.trim(),
        "timeout_seconds": req.timeout_seconds,
    }))
}

/// generic-web's destroy answer in VeriReel's shape; a failed destroy
/// reports the original's `destroy_failed` transition.
pub fn destroy_result(payload: &AdaptResultPayload) -> Result<(Value, Keys), DriverError> {
    let r = &payload.result;
    let passed = r["destroy_status"] == "pass";
    let result = PreviewDestroyResult {
        destroy_status: if passed {
            PassFail::Pass
        } else {
            PassFail::Fail
        },
        destroy_started_at: text(&r["destroy_started_at"]),
        destroy_finished_at: text(&r["destroy_finished_at"]),
        application_name: text(&r["application_name"]),
        application_id: text(&r["application_id"]),
        preview_url: String::new(),
        error_message: text(&r["error_message"]),
    };
    let mut keys = Keys::new();
    if !passed {
        keys.insert("transition".into(), "destroy_failed".into());
    }
    Ok((to_value(&result)?, keys))
}

/// `preview-verification` → generic-web's (exact pass/fail outcomes only).
pub fn verification_request(req: PreviewVerificationRequest) -> Result<Value, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("anchor_repo", &req.anchor_repo)?;
    at_least("anchor_pr_number", req.anchor_pr_number, 1)?;
    non_blank("verified_at", &req.verified_at)?;
    Ok(json!({
        "context": req.context.trim(),
        "anchor_repo": req.anchor_repo.trim(),
        "anchor_pr_number": req.anchor_pr_number,
        "verification_status": match req.verification_status {
            PassFail::Pass => "pass",
            PassFail::Fail => "fail",
        },
        "verified_at": req.verified_at.trim(),
        "failure_summary": req.failure_summary.trim(),
    }))
}

/// generic-web's verification answer, flattened; records add the
/// generation's `transition` (`ready` / `failed`).
pub fn verification_result(payload: &AdaptResultPayload) -> Result<(Value, Keys), DriverError> {
    let v = &payload.result["generic_web_preview_verification"];
    let verified = status(&v["verification_status"]) == ReleaseStatus::Pass;
    let transition = if verified { "ready" } else { "failed" };
    let result = json!({
        "preview_id": text(&v["preview_id"]),
        "generation_id": text(&v["generation_id"]),
        "preview_state": text(&v["preview_state"]),
        "generation_state": text(&v["generation_state"]),
        "verification_status": text(&v["verification_status"]),
        "verified_at": text(&v["verified_at"]),
        "failure_summary": text(&v["failure_summary"]),
    });
    Ok((
        result,
        Keys::from([("transition".to_string(), transition.to_string())]),
    ))
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, DriverError> {
    serde_json::to_value(value)
        .map_err(|e| DriverError::Internal(format!("result does not serialise: {e}")))
}

/// `preview-inventory`: the preview applications of the context (named
/// as [`preview_slug_of`] reads them), by pull request number. Host call:
/// `list_preview_apps(ver-preview-)`.
pub fn preview_inventory(
    ctx: &Ctx<'_>,
    req: PreviewInventoryRequest,
) -> Result<Reply<PreviewInventoryResult>, DriverError> {
    non_blank("context", &req.context)?;
    let context = req.context.trim();
    let mut previews: Vec<(u64, PreviewInventoryItem)> = ctx
        .host()
        .list_preview_apps(context, PREVIEW_APP_PREFIX)?
        .into_iter()
        .filter_map(|app| {
            let slug = preview_slug_of(&app.name)?.to_string();
            let number = slug.strip_prefix("pr-")?.parse().ok()?;
            Some((
                number,
                PreviewInventoryItem {
                    // Drivers never see provider ids; the name is the
                    // preview's unique handle (as generic-web answers).
                    application_id: app.name.clone(),
                    preview_slug: slug,
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
        assert_eq!(preview_slug_of("ver-preview-pr-7-app"), Some("pr-7"));
        assert_eq!(preview_slug_of("ver-preview-pr-7"), Some("pr-7"));
        assert_eq!(preview_slug_of("ver-preview-pr-0-app"), None);
        assert_eq!(preview_slug_of("ver-preview-main"), None);
    }
}
