//! The preview evidence payloads (reference §4.1): the `preview` and
//! `generation` of generation evidence and the `destroy` of destroyed
//! evidence, with their rules and the rule that ties the first two.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::generation::{PreviewGenerationState, PreviewPullRequestSummary, PreviewSourceRecord};
use super::ids::preview_id;
use super::record::PreviewState;
use super::validate_list;
use crate::records::deployment::{ReleaseStatus, pending};
use crate::validation::{
    ValidationError, default_schema_version, require_all_non_blank, require_positive,
};

/// The `preview` of generation evidence: creates or refreshes the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewMutationRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub context: String,
    pub anchor_repo: String,
    pub anchor_pr_number: u64,
    pub anchor_pr_url: String,
    #[serde(default)]
    pub canonical_url: String,
    #[serde(default)]
    pub state: PreviewState,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
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

impl PreviewMutationRequest {
    /// `anchor_pr_number ≥ 1`; `context`, `anchor_repo`, `anchor_pr_url`
    /// non-blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_positive(self.anchor_pr_number, "anchor_pr_number")?;
        require_all_non_blank(&[
            ("context", &self.context),
            ("anchor_repo", &self.anchor_repo),
            ("anchor_pr_url", &self.anchor_pr_url),
        ])
    }

    /// The id of the preview this request addresses.
    pub fn preview_id(&self) -> String {
        preview_id(&self.context, &self.anchor_repo, self.anchor_pr_number)
    }
}

/// The `generation` of generation evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewGenerationMutationRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub context: String,
    pub anchor_repo: String,
    pub anchor_pr_number: u64,
    pub anchor_pr_url: String,
    pub anchor_head_sha: String,
    #[serde(default)]
    pub sequence: Option<u32>,
    #[serde(default)]
    pub generation_id: String,
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

impl PreviewGenerationMutationRequest {
    /// `anchor_pr_number ≥ 1`; `sequence ≥ 1` when set; `context`,
    /// `anchor_repo`, `anchor_pr_url`, `anchor_head_sha`,
    /// `requested_reason`, `requested_at`, `resolved_manifest_fingerprint`
    /// non-blank; sources and companion summaries valid.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_positive(self.anchor_pr_number, "anchor_pr_number")?;
        if let Some(sequence) = self.sequence {
            require_positive(sequence.into(), "sequence")?;
        }
        require_all_non_blank(&[
            ("context", &self.context),
            ("anchor_repo", &self.anchor_repo),
            ("anchor_pr_url", &self.anchor_pr_url),
            ("anchor_head_sha", &self.anchor_head_sha),
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
        validate_list(
            &self.companion_summaries,
            "companion_summaries",
            PreviewPullRequestSummary::validate,
        )
    }
}

/// The `destroy` of destroyed evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyMutationRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub context: String,
    pub anchor_repo: String,
    pub anchor_pr_number: u64,
    pub destroyed_at: String,
    pub destroy_reason: String,
}

impl PreviewDestroyMutationRequest {
    /// `anchor_pr_number ≥ 1`; `context`, `anchor_repo`, `destroyed_at`,
    /// `destroy_reason` non-blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_positive(self.anchor_pr_number, "anchor_pr_number")?;
        require_all_non_blank(&[
            ("context", &self.context),
            ("anchor_repo", &self.anchor_repo),
            ("destroyed_at", &self.destroyed_at),
            ("destroy_reason", &self.destroy_reason),
        ])
    }

    /// The id of the preview this request addresses.
    pub fn preview_id(&self) -> String {
        preview_id(&self.context, &self.anchor_repo, self.anchor_pr_number)
    }
}

/// The generation evidence envelope's rule: `context`, `anchor_repo`,
/// `anchor_pr_number` and `anchor_pr_url` must be equal (exactly) in the
/// preview and the generation. Errors name the generation field.
pub fn check_alignment(
    preview: &PreviewMutationRequest,
    generation: &PreviewGenerationMutationRequest,
) -> Result<(), ValidationError> {
    let mismatch = |field: &str| {
        Err(ValidationError::new(
            format!("generation.{field}"),
            format!("preview generation evidence requires matching {field}"),
        ))
    };
    if preview.context != generation.context {
        return mismatch("context");
    }
    if preview.anchor_repo != generation.anchor_repo {
        return mismatch("anchor_repo");
    }
    if preview.anchor_pr_number != generation.anchor_pr_number {
        return mismatch("anchor_pr_number");
    }
    if preview.anchor_pr_url != generation.anchor_pr_url {
        return mismatch("anchor_pr_url");
    }
    Ok(())
}

crate::impl_validate!(
    PreviewMutationRequest,
    PreviewGenerationMutationRequest,
    PreviewDestroyMutationRequest,
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::requests::*;
    use super::*;
    use crate::fixtures::*;

    #[test]
    fn requests_name_their_preview() {
        assert_eq!(
            preview_req().preview_id(),
            "preview-cm-acme-tenant-cm-pr-42"
        );
        assert_eq!(
            destroy_req().preview_id(),
            "preview-cm-acme-tenant-cm-pr-42"
        );
    }

    #[test]
    fn request_rules() {
        for field in ["context", "anchor_repo", "anchor_pr_url"] {
            let value = set(preview_request(), &format!("/{field}"), json!(""));
            assert_rejected_at::<PreviewMutationRequest>(value, field);
        }
        let value = set(preview_request(), "/anchor_pr_number", json!(0));
        assert_rejected_at::<PreviewMutationRequest>(value, "anchor_pr_number");
        let value = set(preview_request(), "/state", json!("running"));
        assert_rejected_at::<PreviewMutationRequest>(value, "state");

        for field in [
            "context",
            "anchor_repo",
            "anchor_pr_url",
            "anchor_head_sha",
            "requested_reason",
            "requested_at",
            "resolved_manifest_fingerprint",
        ] {
            let value = set(
                generation_request("building"),
                &format!("/{field}"),
                json!(" "),
            );
            assert_rejected_at::<PreviewGenerationMutationRequest>(value, field);
        }
        let value = set(generation_request("building"), "/sequence", json!(0));
        assert_rejected_at::<PreviewGenerationMutationRequest>(value, "sequence");
        let value = set(
            generation_request("building"),
            "/anchor_pr_number",
            json!(0),
        );
        assert_rejected_at::<PreviewGenerationMutationRequest>(value, "anchor_pr_number");
        let value = remove(generation_request("building"), "", "state");
        assert_rejected_at::<PreviewGenerationMutationRequest>(value, "state");
        let value = set(
            generation_request("building"),
            "/source_map/0/git_sha",
            json!(""),
        );
        assert_rejected_at::<PreviewGenerationMutationRequest>(value, "source_map[0].git_sha");
        let value = set(
            generation_request("building"),
            "/source_map/0/selection",
            json!("pr"),
        );
        assert_rejected_at::<PreviewGenerationMutationRequest>(value, "source_map[0].selection");
        let value = set(
            generation_request("building"),
            "/companion_summaries/0/pr_number",
            json!(0),
        );
        assert_rejected_at::<PreviewGenerationMutationRequest>(
            value,
            "companion_summaries[0].pr_number",
        );
        let value = set(
            generation_request("building"),
            "/companion_summaries/0/pr_url",
            json!(""),
        );
        assert_rejected_at::<PreviewGenerationMutationRequest>(
            value,
            "companion_summaries[0].pr_url",
        );
        let value = insert(
            generation_request("building"),
            "/source_map/0",
            "branch",
            json!("x"),
        );
        assert_rejected_at::<PreviewGenerationMutationRequest>(value, "source_map[0].branch");

        for field in ["context", "anchor_repo", "destroyed_at", "destroy_reason"] {
            let value = set(destroy_request(), &format!("/{field}"), json!(""));
            assert_rejected_at::<PreviewDestroyMutationRequest>(value, field);
        }
        let value = set(destroy_request(), "/anchor_pr_number", json!(0));
        assert_rejected_at::<PreviewDestroyMutationRequest>(value, "anchor_pr_number");
        let value = insert(destroy_request(), "", "anchor_pr_url", json!("https://x"));
        assert_rejected_at::<PreviewDestroyMutationRequest>(value, "anchor_pr_url");
    }

    #[test]
    fn requests_serialise_every_default() {
        let value = round_trip(&preview_req());
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["state"], "pending");
        assert_eq!(value["latest_manifest_fingerprint"], "");
        let value = round_trip(&generation_req("building"));
        assert_eq!(value["sequence"], json!(null));
        assert_eq!(value["deploy_status"], "pending");
        assert_eq!(value["verify_status"], "pending");
        assert_eq!(value["overall_health_status"], "pending");
        round_trip(&destroy_req());
    }
}
