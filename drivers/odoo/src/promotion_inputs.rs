//! Odoo prod promotion inputs: what a testing→prod promotion should ship,
//! read from records, or why there is nothing to ship yet.
//!
//! The source is the testing lane's current release tuple and its artifact
//! manifest. A missing tuple, a tuple of another lane, a missing manifest or
//! a manifest without a source commit is `blocked` with the reason: an
//! answer about a state that will change, which the host does not keep for
//! idempotent replay. `ready` names the artifact, its image and source
//! commit, and the backup gate record the promotion should capture, derived
//! from the request id so a retried request reuses the same gate.

use launchplane_sdk::prelude::*;
use lifecycle_records::{self as records, ArtifactIdentityManifest, ReleaseTupleRecord};

use crate::models::{ProdPromotionInputsResult, ReadyBlocked};

/// The lane the inputs are for, as the checked request names it.
pub struct Promotion<'a> {
    pub context: &'a str,
    pub from_instance: &'a str,
    pub to_instance: &'a str,
    pub request_id: &'a str,
}

/// Resolves the inputs; only a failing record read is an error.
pub fn resolve(
    ctx: &Ctx<'_>,
    promotion: &Promotion<'_>,
) -> Result<ProdPromotionInputsResult, DriverError> {
    let Promotion {
        context,
        from_instance: from,
        to_instance: to,
        request_id,
    } = *promotion;
    let mut result = ProdPromotionInputsResult {
        context: context.to_string(),
        from_instance: from.to_string(),
        to_instance: to.to_string(),
        request_id: request_id.to_string(),
        input_status: ReadyBlocked::Blocked,
        artifact_id: String::new(),
        source_git_ref: String::new(),
        backup_record_id: String::new(),
        release_tuple_id: String::new(),
        image_repository: String::new(),
        image_digest: String::new(),
        error_message: String::new(),
    };
    let blocked = |mut result: ProdPromotionInputsResult, message: String| {
        result.error_message = message;
        Ok(result)
    };

    let tuple_key = records::inventory_id(context, from);
    let Some(tuple) = records::read::<ReleaseTupleRecord>(ctx, "release_tuple", &tuple_key)? else {
        return blocked(
            result,
            format!(
                "Odoo prod promotion inputs require a current {from} release tuple. \
                 Ship and verify {context}/{from} before promoting {to}."
            ),
        );
    };
    result.release_tuple_id = tuple.tuple_id.clone();
    result.artifact_id = tuple.artifact_id.clone();
    if tuple.context != context || tuple.channel != from {
        return blocked(
            result,
            format!(
                "Odoo prod promotion inputs found a source tuple for the wrong lane. \
                 Tuple={}/{} request={context}/{from}.",
                tuple.context, tuple.channel
            ),
        );
    }
    let manifest =
        records::read::<ArtifactIdentityManifest>(ctx, "artifact_manifest", &tuple.artifact_id)?;
    let Some(manifest) = manifest else {
        return blocked(
            result,
            format!(
                "Odoo prod promotion inputs require the source tuple artifact manifest. \
                 Missing artifact manifest `{}`.",
                tuple.artifact_id
            ),
        );
    };
    let source_git_ref = manifest.source_commit.trim();
    if source_git_ref.is_empty() {
        return blocked(
            result,
            "Odoo prod promotion inputs require artifact source_commit before promotion."
                .to_string(),
        );
    }
    result.input_status = ReadyBlocked::Ready;
    result.source_git_ref = source_git_ref.to_string();
    result.image_repository = first_set(&tuple.image_repository, &manifest.image.repository);
    result.image_digest = first_set(&tuple.image_digest, &manifest.image.digest);
    result.backup_record_id = backup_record_id(context, to, request_id);
    Ok(result)
}

fn first_set(preferred: &str, fallback: &str) -> String {
    match preferred.trim() {
        "" => fallback.trim().to_string(),
        value => value.to_string(),
    }
}

/// `backup-gate-<context>-<instance>-<request id>`, each part slugged:
/// lower-case, every run of other characters than ASCII letters and digits
/// one `-`, trimmed of `-` (an empty part is `request`).
pub fn backup_record_id(context: &str, instance: &str, request_id: &str) -> String {
    [
        "backup-gate".to_string(),
        slug(context),
        slug(instance),
        slug(request_id),
    ]
    .join("-")
}

fn slug(value: &str) -> String {
    let mut out = String::new();
    for c in value.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "request".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_record_ids_are_slugged_from_the_request() {
        assert_eq!(
            backup_record_id("CM", "prod", "Release 42 / main"),
            "backup-gate-cm-prod-release-42-main"
        );
        assert_eq!(
            backup_record_id("opw", "prod", " -- "),
            "backup-gate-opw-prod-request"
        );
        assert_eq!(
            backup_record_id("opw", "prod", "run_7.1"),
            "backup-gate-opw-prod-run-7-1"
        );
    }
}
