//! Post-deploy settings: typed Odoo instance overrides, written ahead of time
//! and applied inside the container after a deploy, plus the guarded stable
//! bootstrap that builds a lane from nothing.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

use super::{PassFail, PassFailSkipped, UntypedResult, launchplane_service, schema_version, yes};
use crate::checks::NON_BLANK;

/// When an override record applies; post-deploy runs in one of these phases.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Restore,
    #[default]
    Deploy,
    Promotion,
    Preview,
    Manual,
}

/// `post_deploy`: apply the lane's override record for one phase.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PostDeployRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    #[serde(default)]
    pub phase: Phase,
}

/// `skipped` when no override applies to the phase.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverrideStatus {
    #[default]
    Skipped,
    Pending,
    Pass,
    Fail,
}

/// What post-deploy applied; failures are results (HTTP 202), not errors.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PostDeployResult {
    pub context: String,
    pub instance: String,
    pub phase: Phase,
    pub post_deploy_status: PassFail,
    #[serde(default)]
    pub override_status: OverrideStatus,
    pub override_record_found: bool,
    pub override_payload_rendered: bool,
    /// Env names the container must already hold for secret-backed values;
    /// secret values never travel in the payload.
    pub required_container_environment_keys: Vec<String>,
    pub applied_at: String,
    pub error_message: String,
    #[serde(default)]
    pub website_bootstrap_included: bool,
}

/// `override` of `config-parameter-override`. Only `web.base.url` is writable
/// through the service; other keys stay an administrator's decision.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigParameterOverrideRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    /// Lower-cased; must be `web.base.url`.
    #[schemars(pattern(NON_BLANK))]
    pub key: String,
    #[schemars(pattern(NON_BLANK))]
    pub value: String,
    #[serde(default = "launchplane_service")]
    pub source_label: String,
}

/// The keys now overridden on the lane (values are not echoed).
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigParameterOverrideResult {
    pub context: String,
    pub instance: String,
    pub config_parameter_keys: Vec<String>,
}

/// A literal setting value: the original's `str | int | float | bool`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Integer(i64),
    Number(f64),
    Text(String),
}

fn published() -> bool {
    true
}

/// A page route the bootstrapped website must serve.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WebsiteBootstrapRoute {
    #[serde(default)]
    pub name: String,
    /// Site-relative: starts with `/`.
    pub url: String,
    #[serde(default)]
    pub module: String,
    #[serde(default = "published")]
    pub published: bool,
    #[serde(default)]
    pub homepage: bool,
}

/// The website an Odoo tenant should have after bootstrap, applied by the
/// post-deploy driver rather than by hand in the Odoo UI.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WebsiteBootstrap {
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub default_lang: String,
    /// Site-relative when set.
    #[serde(default)]
    pub homepage_url: String,
    #[serde(default)]
    pub primary_page_xmlid: String,
    #[serde(default)]
    pub logo_path: String,
    #[serde(default)]
    pub logo_alt: String,
    #[serde(default)]
    pub canonical_url: String,
    #[serde(default)]
    pub pages_source: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub routes_source: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub routes: Vec<WebsiteBootstrapRoute>,
}

/// `override` of `website-bootstrap-override`.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WebsiteBootstrapOverrideRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    pub website_bootstrap: WebsiteBootstrap,
    #[serde(default = "launchplane_service")]
    pub source_label: String,
}

/// Whether the lane now carries website bootstrap intent.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WebsiteBootstrapOverrideResult {
    pub context: String,
    pub instance: String,
    pub website_bootstrap: bool,
}

fn cm() -> String {
    "cm".to_string()
}

/// `bootstrap`: rebuild a stable lane from empty data. Destructive, so the
/// lane's policy must be enabled and `confirmation` must repeat its phrase.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableBootstrapRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// Must equal the envelope product.
    #[schemars(pattern(NON_BLANK))]
    pub product: String,
    #[serde(default = "cm")]
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    /// Lower-cased and compared with the lane policy's phrase.
    pub confirmation: String,
    #[serde(default = "yes")]
    pub verify_health: bool,
    #[serde(default = "yes")]
    pub verify_canonical: bool,
    #[serde(default = "yes")]
    pub verify_logo: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub health_timeout_seconds: Option<u32>,
}

/// Whether the bootstrapped lane came up and passed its checks.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    Pass,
    Fail,
    VerificationFailed,
    #[default]
    Skipped,
}

/// The eventual result of the bootstrap operation.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableBootstrapResult {
    pub product: String,
    pub context: String,
    pub instance: String,
    #[serde(default)]
    pub deployment_record_id: String,
    pub bootstrap_status: PassFail,
    #[serde(default)]
    pub bootstrap_run_status: PassFailSkipped,
    #[serde(default)]
    pub readiness_status: ReadinessStatus,
    #[serde(default)]
    pub post_deploy_status: PassFailSkipped,
    #[serde(default)]
    pub health_status: PassFailSkipped,
    #[serde(default)]
    pub canonical_status: PassFailSkipped,
    #[serde(default)]
    pub logo_status: PassFailSkipped,
    #[serde(default)]
    pub health_url: String,
    #[serde(default)]
    pub canonical_url: String,
    #[serde(default)]
    pub logo_urls: Vec<String>,
    /// Health, canonical-URL and logo probe evidence.
    #[serde(default)]
    pub verification_evidence: UntypedResult,
    #[serde(default)]
    pub target_id: String,
    #[serde(default)]
    pub target_name: String,
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub source_git_ref: String,
    #[serde(default)]
    pub error_message: String,
}
