//! Stable and preview verification requests and results.

use launchplane_sdk::prelude::*;

use super::*;
use crate::checks::{NON_BLANK, release_status_schema};

// ---------------------------------------------------------- verification

/// `verification` of `stable-verification`: fold a product's own smoke run
/// into an existing deployment (and promotion) record.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableVerificationRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub instance: String,
    #[schemars(pattern(NON_BLANK))]
    pub deployment_record_id: String,
    #[serde(default)]
    pub promotion_record_id: String,
    /// Any CI spelling of pass or fail (`success`, `failed`, ...).
    #[schemars(transform = release_status_schema)]
    pub verification_status: String,
    #[schemars(pattern(NON_BLANK))]
    pub verified_at: String,
    #[serde(default)]
    pub checked_urls: Vec<String>,
    /// Required when `checked_urls` is not empty.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    /// The health endpoint's JSON, checked against the deployment's runtime
    /// identity.
    #[serde(default)]
    pub health_payload: Option<Value>,
    #[serde(default)]
    pub failure_summary: String,
}

/// `verification` of `preview-verification`: record the product's smoke run
/// against the latest generation of a preview.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewVerificationRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    #[schemars(pattern(NON_BLANK))]
    pub anchor_repo: String,
    #[schemars(range(min = 1))]
    pub anchor_pr_number: u64,
    #[schemars(transform = release_status_schema)]
    pub verification_status: String,
    #[schemars(pattern(NON_BLANK))]
    pub verified_at: String,
    #[serde(default)]
    pub checked_urls: Vec<String>,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub failure_summary: String,
}

// ------------------------------------------------------ verification results

/// Runtime identity outcome of a stable verification's health payload.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    Match,
    Mismatch,
    Missing,
    Malformed,
    Unverifiable,
    Unchecked,
}

/// What `stable-verification` recorded.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StableVerificationResult {
    pub deployment_record_id: String,
    #[serde(default)]
    pub promotion_record_id: String,
    /// The lane's inventory id when the verification lets the host move it.
    #[serde(default)]
    pub inventory_record_id: String,
    pub context: String,
    pub instance: String,
    pub verification_status: PassFail,
    pub verified_at: String,
    pub runtime_identity_status: IdentityStatus,
    #[serde(default)]
    pub runtime_identity_detail: String,
    pub destination_health_status: ReleaseStatus,
}

/// The `generic_web_preview_verification` object.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewVerification {
    pub preview_id: String,
    pub generation_id: String,
    pub sequence: u32,
    pub preview_state: crate::records::PreviewState,
    pub generation_state: crate::records::PreviewGenerationState,
    pub verification_status: PassFail,
    pub verified_at: String,
    pub checked_urls: Vec<String>,
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub failure_summary: String,
}

/// What `preview-verification` recorded.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewVerificationResult {
    pub generic_web_preview_verification: PreviewVerification,
}
