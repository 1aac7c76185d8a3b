//! The preview lifecycle: desired state, inventory, readiness, refresh, destroy.

use launchplane_sdk::prelude::*;

use super::*;
use crate::checks::NON_BLANK;

// ------------------------------------------------------------ previews

fn preview_desired_state_source() -> String {
    "generic-web-preview".to_string()
}

fn preview_label() -> String {
    "preview".to_string()
}

fn max_pages() -> u32 {
    10
}

/// `desired_state`: discover which pull requests want a preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDesiredStateRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default = "preview_desired_state_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
    /// The pull-request label that asks for a preview.
    #[serde(default = "preview_label")]
    #[schemars(pattern(NON_BLANK))]
    pub label: String,
    #[serde(default = "max_pages")]
    #[schemars(range(min = 1, max = 20))]
    pub max_pages: u32,
}

/// One pull request that wants a preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DesiredPreview {
    pub preview_slug: String,
    #[serde(default)]
    pub anchor_repo: String,
    #[serde(default)]
    pub anchor_pr_number: Option<u64>,
    #[serde(default)]
    pub anchor_pr_url: String,
    #[serde(default)]
    pub head_sha: String,
}

fn preview_slug_prefix() -> String {
    "pr-".to_string()
}

/// The stored `PreviewDesiredStateRecord`, which the route answers as is.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDesiredStateResult {
    pub desired_state_id: String,
    pub product: String,
    pub context: String,
    pub source: String,
    pub discovered_at: String,
    pub repository: String,
    pub label: String,
    pub anchor_repo: String,
    #[serde(default = "preview_slug_prefix")]
    pub preview_slug_prefix: String,
    pub status: PassFail,
    pub desired_count: u64,
    pub desired_previews: Vec<DesiredPreview>,
    #[serde(default)]
    pub error_message: String,
}

fn preview_inventory_source() -> String {
    "generic-web-preview-inventory".to_string()
}

/// `inventory`: scan the provider for the product's preview applications.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewInventoryRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default = "preview_inventory_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
}

/// Whether a preview is its own application or a domain on a shared target.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PreviewProviderType {
    #[default]
    Application,
    ComposeDomain,
}

/// One preview found by a scan. The camelCase keys are the original's.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreviewInventoryItem {
    pub application_id: String,
    pub application_name: String,
    pub preview_slug: String,
    #[serde(default)]
    pub provider_type: PreviewProviderType,
    #[serde(default)]
    pub domain_id: String,
    #[serde(default)]
    pub domain_host: String,
}

/// The previews that exist; the route also stores them as a scan record.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewInventoryResult {
    pub product: String,
    pub context: String,
    pub source: String,
    pub app_name_prefix: String,
    pub previews: Vec<PreviewInventoryItem>,
}

fn preview_readiness_source() -> String {
    "generic-web-preview-readiness".to_string()
}

/// `readiness`: check the preview template before anything is created.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewReadinessRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default = "preview_readiness_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
}

/// Readiness never fails: it passes or names what blocks it.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PassBlocked {
    Pass,
    Blocked,
}

/// How template data and env reach a preview, without any values.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewTransportSummary {
    pub data_transport_mode: DataTransportMode,
    pub copied_env_keys: Vec<String>,
    pub omitted_env_keys: Vec<String>,
    pub override_env_keys: Vec<String>,
    pub preview_url_env_keys: Vec<String>,
    pub preview_domain_env_keys: Vec<String>,
    pub migration_command_configured: bool,
    pub seed_command_configured: bool,
}

/// One readiness check: `template_lane`, `template_target`, `template_env`,
/// `template_provider_fields` or `transport_policy`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewReadinessCheck {
    pub check_id: String,
    pub status: PassBlocked,
    pub message: String,
}

/// Whether a refresh could run now, and why not.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewReadinessResult {
    pub readiness_status: PassBlocked,
    pub checked_at: String,
    pub product: String,
    pub context: String,
    pub template_context: String,
    pub template_instance: String,
    #[serde(default)]
    pub template_target_type: String,
    #[serde(default)]
    pub template_target_id: String,
    #[serde(default)]
    pub template_target_name: String,
    pub source: String,
    pub missing_template_env_keys: Vec<String>,
    pub missing_provider_fields: Vec<String>,
    pub transport: PreviewTransportSummary,
    pub checks: Vec<PreviewReadinessCheck>,
}

fn preview_refresh_source() -> String {
    "generic-web-preview-refresh".to_string()
}

/// `refresh`: create or update one preview from an immutable image.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewRefreshRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub preview_slug: String,
    /// Optional override; by default the URL is derived from the slug and the
    /// context's `LAUNCHPLANE_PREVIEW_BASE_URL`.
    #[serde(default)]
    pub preview_url: String,
    #[schemars(pattern(NON_BLANK))]
    pub image_reference: String,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub anchor_pr_number: Option<u64>,
    #[serde(default)]
    pub anchor_pr_url: String,
    #[serde(default)]
    pub anchor_head_sha: String,
    #[serde(default = "preview_refresh_source")]
    #[schemars(pattern(NON_BLANK))]
    pub source: String,
    #[serde(default = "three_hundred")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
    #[serde(default)]
    pub no_cache: bool,
}

/// `blocked` means readiness stopped the refresh before any mutation.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStatus {
    Pass,
    Blocked,
    Fail,
}

/// One page or endpoint probed after a refresh.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewSmokeCheck {
    pub check_id: String,
    pub status: PassFail,
    pub message: String,
}

/// Smoke checks after a refresh, so a broken preview is not reported ready.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewSmokeResult {
    pub smoke_status: PassFail,
    pub checked_at: String,
    pub checks: Vec<PreviewSmokeCheck>,
    #[serde(default)]
    pub failure_summary: String,
}

/// What the refresh did; failures are results (HTTP 202), not errors.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewRefreshResult {
    pub refresh_status: RefreshStatus,
    pub refresh_started_at: String,
    pub refresh_finished_at: String,
    pub product: String,
    pub context: String,
    pub preview_slug: String,
    pub application_name: String,
    #[serde(default)]
    pub application_id: String,
    pub preview_url: String,
    /// Present when readiness was evaluated; a blocked readiness stops the
    /// refresh before any provider mutation.
    #[serde(default)]
    pub readiness: Option<PreviewReadinessResult>,
    #[serde(default)]
    pub smoke: Option<PreviewSmokeResult>,
    #[serde(default)]
    pub error_message: String,
}

/// `destroy`: remove one preview and its domains.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub preview_slug: String,
    #[schemars(pattern(NON_BLANK))]
    pub destroy_reason: String,
    #[serde(default = "three_hundred")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
}

/// What the destroy did; a preview that was already gone is a pass.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyResult {
    pub destroy_status: PassFail,
    pub destroy_started_at: String,
    pub destroy_finished_at: String,
    pub product: String,
    pub context: String,
    pub preview_slug: String,
    pub application_name: String,
    /// Empty when there was nothing to destroy (still a pass).
    pub application_id: String,
    #[serde(default)]
    pub provider_type: PreviewProviderType,
    #[serde(default)]
    pub domain_ids: Vec<String>,
    #[serde(default)]
    pub error_message: String,
}
