//! The preview record: one per (context, anchor repo, PR), keyed by
//! `preview_id`, and its state.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation::{
    ValidationError, default_schema_version, require_all_non_blank, require_positive,
};

/// `pending | active | failed | paused | teardown_pending | destroyed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreviewState {
    #[default]
    Pending,
    Active,
    Failed,
    Paused,
    TeardownPending,
    Destroyed,
}

impl PreviewState {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PreviewState::Pending => "pending",
            PreviewState::Active => "active",
            PreviewState::Failed => "failed",
            PreviewState::Paused => "paused",
            PreviewState::TeardownPending => "teardown_pending",
            PreviewState::Destroyed => "destroyed",
        }
    }
}

/// One preview per (context, anchor repo, PR); destroyed previews stay
/// readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub preview_id: String,
    pub context: String,
    pub anchor_repo: String,
    pub anchor_pr_number: u64,
    pub anchor_pr_url: String,
    pub preview_label: String,
    pub canonical_url: String,
    pub state: PreviewState,
    pub created_at: String,
    pub updated_at: String,
    pub eligible_at: String,
    #[serde(default)]
    pub paused_at: String,
    #[serde(default)]
    pub destroy_after: String,
    #[serde(default)]
    pub destroyed_at: String,
    #[serde(default)]
    pub destroy_reason: String,
    #[serde(default)]
    pub active_generation_id: String,
    #[serde(default)]
    pub serving_generation_id: String,
    #[serde(default)]
    pub latest_generation_id: String,
    #[serde(default)]
    pub latest_manifest_fingerprint: String,
}

impl PreviewRecord {
    /// `anchor_pr_number ≥ 1`; `preview_id`, `context`, `anchor_repo`,
    /// `anchor_pr_url`, `preview_label`, `canonical_url`, `created_at`,
    /// `updated_at`, `eligible_at` non-blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_positive(self.anchor_pr_number, "anchor_pr_number")?;
        require_all_non_blank(&[
            ("preview_id", &self.preview_id),
            ("context", &self.context),
            ("anchor_repo", &self.anchor_repo),
            ("anchor_pr_url", &self.anchor_pr_url),
            ("preview_label", &self.preview_label),
            ("canonical_url", &self.canonical_url),
            ("created_at", &self.created_at),
            ("updated_at", &self.updated_at),
            ("eligible_at", &self.eligible_at),
        ])
    }

    /// Whether this preview is the one of (context, anchor repo, PR).
    pub fn is_anchored_at(&self, context: &str, anchor_repo: &str, anchor_pr_number: u64) -> bool {
        self.context == context
            && self.anchor_repo == anchor_repo
            && self.anchor_pr_number == anchor_pr_number
    }
}

crate::impl_validate!(PreviewRecord);
