//! `preview-inventory`: which preview apps exist in a context, recorded as
//! a scan.

use launchplane_sdk::prelude::*;

use crate::checks::{compact_timestamp, envelope_product, non_blank, url_host};
use crate::models::*;
use crate::profile::{ProfileExt, load_profile, origin_of};
use crate::records::{self, PreviewInventoryScanRecord};
use crate::stable::product_of;

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
