//! `preview-destroy`: one preview app deleted, and its preview record
//! moved to `destroyed`.

use launchplane_sdk::prelude::*;

use super::lookup::find_preview;
use crate::checks::{envelope_product, non_blank, optional_at_least};
use crate::models::*;
use crate::profile::{ProfileExt, load_profile};
use crate::records::{self, PreviewState, preview_id};
use crate::stable::product_of;

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
