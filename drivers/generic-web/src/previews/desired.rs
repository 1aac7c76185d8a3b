//! `preview-desired-state`: the product's open pull requests carrying the
//! preview label, as the previews that should exist (reference §13
//! "Desired state"). The host's GitHub capability reads them with the
//! context's managed token; a GitHub failure is a `fail` record (still an
//! accepted answer), as in the original.

use launchplane_sdk::prelude::*;

use crate::checks::{envelope_product, invalid, non_blank};
use crate::models::*;
use crate::profile::{ProfileExt, load_profile};
use crate::records;
use crate::stable::product_of;

/// `<prefix>-<context>-<ts>`, `ts` without `:` `-` `.` `+`.
fn desired_state_id(context: &str, at: &str) -> String {
    let ts: String = at
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | '+'))
        .collect();
    format!("preview-desired-state-{context}-{ts}")
}

/// `preview-desired-state`: open labelled pull requests of the profile's
/// repository become desired previews named by the slug template. Host
/// calls: `record_get product_profile`, `github_open_pull_requests`,
/// `record_put preview_desired_state`.
pub fn preview_desired_state(
    ctx: &Ctx<'_>,
    req: PreviewDesiredStateRequest,
) -> Result<Reply<PreviewDesiredStateResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("source", &req.source)?;
    non_blank("label", &req.label)?;
    if !(1..=20).contains(&req.max_pages) {
        return Err(invalid("max_pages", "must be between 1 and 20"));
    }
    let product = product_of(ctx, &req.product);
    let profile = load_profile(ctx)?
        .ok_or_else(|| DriverError::NotFound(format!("no product profile for `{product}`")))?;
    if !profile.preview.enabled {
        return Err(DriverError::PreconditionFailed(format!(
            "previews are not enabled for product `{product}`"
        )));
    }
    let context = ctx.context().to_string();
    let discovered_at = ctx.host().now();
    let anchor_repo = profile.anchor_repo(&product);
    let template = profile.preview.slug_template.trim();
    let prefix = template
        .split("{number}")
        .next()
        .unwrap_or("pr-")
        .to_string();
    let mut record = PreviewDesiredStateResult {
        desired_state_id: desired_state_id(&context, &discovered_at),
        product,
        context: context.clone(),
        source: req.source.trim().to_string(),
        discovered_at,
        repository: profile.repository.trim().to_string(),
        label: req.label.trim().to_string(),
        anchor_repo: anchor_repo.clone(),
        preview_slug_prefix: prefix,
        status: PassFail::Pass,
        desired_count: 0,
        desired_previews: Vec::new(),
        error_message: String::new(),
    };
    match ctx.host().github_open_pull_requests(
        &context,
        &record.repository,
        &record.label,
        req.max_pages,
    ) {
        Ok(pulls) => {
            let mut previews: Vec<DesiredPreview> = pulls
                .into_iter()
                .map(|p| DesiredPreview {
                    preview_slug: profile.slug_for(p.number),
                    anchor_repo: anchor_repo.clone(),
                    anchor_pr_number: Some(p.number),
                    anchor_pr_url: p.html_url,
                    head_sha: p.head_sha,
                })
                .collect();
            previews.sort_by(|a, b| {
                (a.anchor_pr_number, &a.preview_slug).cmp(&(b.anchor_pr_number, &b.preview_slug))
            });
            record.desired_count = previews.len() as u64;
            record.desired_previews = previews;
        }
        Err(e) => {
            record.status = PassFail::Fail;
            record.error_message = e.message().to_string();
        }
    }
    let id = records::write(ctx, "preview_desired_state", &record)?;
    let reply = Reply::new(record).record("preview_desired_state_id", id);
    Ok(reply)
}
