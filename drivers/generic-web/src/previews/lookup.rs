//! The stored previews of a context and the generations of a preview.

use launchplane_sdk::prelude::*;

use crate::records::{self, PreviewGenerationRecord, PreviewRecord};

/// How many stored previews / generations a lookup reads.
const LOOKUP_LIMIT: u32 = 200;

/// Stored previews of a context, newest first.
fn previews(ctx: &Ctx<'_>, context: &str) -> Result<Vec<PreviewRecord>, DriverError> {
    records::list(ctx, "preview", Some(context), None, LOOKUP_LIMIT)?
        .into_iter()
        .map(|v| records::parse("preview", v))
        .collect()
}

/// The stored preview `id` of a context, if there is one.
pub(super) fn find_preview(
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
