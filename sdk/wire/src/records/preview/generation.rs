//! The generation record: one build/deploy attempt of a preview, keyed by
//! `generation_id`, with its state, source map and pull-request summaries.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::validate_list;
use crate::records::deployment::{ReleaseStatus, pending};
use crate::validation::{
    ValidationError, default_schema_version, require_all_non_blank, require_positive,
};

/// `resolving | building | deploying | verifying | ready | failed | superseded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreviewGenerationState {
    Resolving,
    Building,
    Deploying,
    Verifying,
    Ready,
    Failed,
    Superseded,
}

impl PreviewGenerationState {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PreviewGenerationState::Resolving => "resolving",
            PreviewGenerationState::Building => "building",
            PreviewGenerationState::Deploying => "deploying",
            PreviewGenerationState::Verifying => "verifying",
            PreviewGenerationState::Ready => "ready",
            PreviewGenerationState::Failed => "failed",
            PreviewGenerationState::Superseded => "superseded",
        }
    }
}

/// Why a repo is part of a preview: `anchor | companion | baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreviewSourceSelection {
    Anchor,
    Companion,
    Baseline,
}

/// One repo revision of a generation's source map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewSourceRecord {
    pub repo: String,
    pub git_sha: String,
    pub selection: PreviewSourceSelection,
}

impl PreviewSourceRecord {
    /// `repo` and `git_sha` non-blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_all_non_blank(&[("repo", &self.repo), ("git_sha", &self.git_sha)])
    }
}

/// A pull request a generation was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewPullRequestSummary {
    pub repo: String,
    pub pr_number: u64,
    pub head_sha: String,
    pub pr_url: String,
}

impl PreviewPullRequestSummary {
    /// `pr_number ≥ 1`; `repo`, `head_sha`, `pr_url` non-blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.pr_number, "pr_number")?;
        require_all_non_blank(&[
            ("repo", &self.repo),
            ("head_sha", &self.head_sha),
            ("pr_url", &self.pr_url),
        ])
    }
}

/// One build/deploy attempt of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewGenerationRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub generation_id: String,
    pub preview_id: String,
    pub sequence: u32,
    pub state: PreviewGenerationState,
    pub requested_reason: String,
    pub requested_at: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub ready_at: String,
    #[serde(default)]
    pub finished_at: String,
    #[serde(default)]
    pub superseded_at: String,
    #[serde(default)]
    pub failed_at: String,
    #[serde(default)]
    pub expires_at: String,
    pub resolved_manifest_fingerprint: String,
    #[serde(default)]
    pub artifact_id: String,
    #[serde(default)]
    pub baseline_release_tuple_id: String,
    #[serde(default)]
    pub source_map: Vec<PreviewSourceRecord>,
    pub anchor_summary: PreviewPullRequestSummary,
    #[serde(default)]
    pub companion_summaries: Vec<PreviewPullRequestSummary>,
    #[serde(default = "pending")]
    pub deploy_status: ReleaseStatus,
    #[serde(default = "pending")]
    pub verify_status: ReleaseStatus,
    #[serde(default = "pending")]
    pub overall_health_status: ReleaseStatus,
    #[serde(default)]
    pub failure_stage: String,
    #[serde(default)]
    pub failure_summary: String,
}

impl PreviewGenerationRecord {
    /// `sequence ≥ 1`; `generation_id`, `preview_id`, `requested_reason`,
    /// `requested_at`, `resolved_manifest_fingerprint` non-blank; nested
    /// summaries and sources valid.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_positive(self.sequence.into(), "sequence")?;
        require_all_non_blank(&[
            ("generation_id", &self.generation_id),
            ("preview_id", &self.preview_id),
            ("requested_reason", &self.requested_reason),
            ("requested_at", &self.requested_at),
            (
                "resolved_manifest_fingerprint",
                &self.resolved_manifest_fingerprint,
            ),
        ])?;
        validate_list(
            &self.source_map,
            "source_map",
            PreviewSourceRecord::validate,
        )?;
        self.anchor_summary
            .validate()
            .map_err(|e| e.within("anchor_summary"))?;
        validate_list(
            &self.companion_summaries,
            "companion_summaries",
            PreviewPullRequestSummary::validate,
        )
    }
}

crate::impl_validate!(
    PreviewSourceRecord,
    PreviewPullRequestSummary,
    PreviewGenerationRecord,
);
