//! Odoo previews: isolated per-pull-request Odoo stacks, planned read-only
//! first and then applied.

use launchplane_sdk::prelude::*;

use super::{ArtifactManifest, ReadyBlocked, schema_version, three_hundred, yes};
use crate::checks::NON_BLANK;

/// Whether a preview is being created or updated, or torn down.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PreviewOperation {
    #[default]
    Refresh,
    Destroy,
}

fn preview_apply_inputs_source() -> String {
    "odoo-preview-apply-inputs".to_string()
}

/// `inputs` of `preview-apply-inputs`: the dry-run plan for one preview.
/// §4 of the reference gives no model for this later route; this is the
/// original's `OdooPreviewApplyInputsRequest`, read from its public source.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewApplyInputsRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default)]
    pub operation: PreviewOperation,
    #[schemars(range(min = 1))]
    pub pr_number: u64,
    /// Defaults to the profile's slug template applied to `pr_number`.
    #[serde(default)]
    pub preview_slug: String,
    /// Defaults to the slug under the context's `LAUNCHPLANE_PREVIEW_BASE_URL`.
    #[serde(default)]
    pub preview_url: String,
    /// For a refresh: the image, or the manifest that names it.
    #[serde(default)]
    pub image_reference: String,
    #[serde(default)]
    pub manifest: Option<ArtifactManifest>,
    /// Defaults to the manifest's source commit.
    #[serde(default)]
    pub source_git_ref: String,
    #[serde(default = "preview_apply_inputs_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
    #[serde(default = "three_hundred")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
    #[serde(default)]
    pub no_cache: bool,
}

fn web_health() -> String {
    "/web/health".to_string()
}

/// `apply` of `preview-apply`. Invented, minimal: the original's payload
/// carried the provider dry-run plan and the preview's runtime env values
/// back from the client. Here the host owns both (drivers see neither
/// provider vocabulary nor secrets), so the payload names the same preview as
/// `preview-apply-inputs` and the driver re-plans before applying, plus the
/// original's apply knobs (`health_path`, `wait_for_deploy`, `smoke_check`).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewApplyRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default)]
    pub operation: PreviewOperation,
    #[schemars(range(min = 1))]
    pub pr_number: u64,
    #[serde(default)]
    pub preview_slug: String,
    #[serde(default)]
    pub preview_url: String,
    #[serde(default)]
    pub image_reference: String,
    #[serde(default)]
    pub manifest: Option<ArtifactManifest>,
    #[serde(default)]
    pub source_git_ref: String,
    /// Site-relative path probed after the deploy.
    #[serde(default = "web_health")]
    pub health_path: String,
    #[serde(default = "three_hundred")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
    #[serde(default = "yes")]
    pub wait_for_deploy: bool,
    #[serde(default = "yes")]
    pub smoke_check: bool,
    #[serde(default)]
    pub no_cache: bool,
}

/// The dry-run plan of one Odoo preview (`preview-apply-inputs`), and the
/// plan `preview-apply` applies. Secret values never appear: the runtime
/// keys the preview takes from its template lane are named, not shown.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewApplyInputsResult {
    /// `ready`, or `blocked` with `error_message` and `missing_keys`.
    pub status: ReadyBlocked,
    pub operation: PreviewOperation,
    pub product: String,
    pub context: String,
    pub preview_slug: String,
    pub pr_number: u64,
    pub preview_url: String,
    pub domain_host: String,
    /// The preview application: `<prefix>-<slug>`.
    pub application_name: String,
    pub image_reference: String,
    pub source_git_ref: String,
    /// The lane the preview's runtime comes from.
    pub template_context: String,
    pub template_instance: String,
    /// The per-preview runtime settings Odoo derives (database, volume and
    /// stack names): plain values, no secrets.
    pub environment: std::collections::BTreeMap<String, String>,
    /// Runtime keys taken from the template lane, by name only.
    pub copied_env_keys: Vec<String>,
    /// Required runtime keys the template lane does not provide.
    pub missing_keys: Vec<String>,
    pub error_message: String,
}

/// One step of a preview apply, as evidence: what ran and how it ended,
/// with no runtime values.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewApplyStep {
    pub step: String,
    pub status: String,
    pub detail: String,
}

/// What `preview-apply` did (`pass`, `fail`, or `blocked` before any
/// provider change), with redacted step evidence.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewApplyResult {
    pub status: String,
    pub operation: PreviewOperation,
    pub product: String,
    pub context: String,
    pub preview_slug: String,
    pub preview_url: String,
    pub domain_host: String,
    pub application_name: String,
    pub application_id: String,
    pub steps: Vec<PreviewApplyStep>,
    pub error_message: String,
}
