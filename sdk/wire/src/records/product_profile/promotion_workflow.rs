//! The GitHub workflow that promotes a product to prod
//! ([`ProductPromotionWorkflowProfile`]): its id, ref and input names.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, require_all_non_blank, require_non_blank};

/// `patch | minor | major`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    #[default]
    Patch,
    Minor,
    Major,
}

fn default_workflow_id() -> String {
    "promote-prod.yml".to_string()
}
fn default_ref() -> String {
    "main".to_string()
}
fn default_dry_run_input() -> String {
    "dry_run".to_string()
}
fn default_bump_input() -> String {
    "bump".to_string()
}
fn default_artifact_id_input() -> String {
    "artifact_id".to_string()
}
fn default_deploy_reference_input() -> String {
    "deploy_reference".to_string()
}
fn default_source_git_ref_input() -> String {
    "source_git_ref".to_string()
}
fn default_promotion_intent_input() -> String {
    "promotion_intent_id".to_string()
}

/// The GitHub workflow that promotes the product to prod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPromotionWorkflowProfile {
    #[serde(default = "default_workflow_id")]
    pub workflow_id: String,
    #[serde(default = "default_ref", rename = "ref")]
    pub git_ref: String,
    #[serde(default = "default_dry_run_input")]
    pub dry_run_input: String,
    #[serde(default = "default_bump_input")]
    pub bump_input: String,
    /// [L]
    #[serde(default = "default_artifact_id_input")]
    pub artifact_id_input: String,
    /// [L]
    #[serde(default = "default_deploy_reference_input")]
    pub deploy_reference_input: String,
    /// [L]
    #[serde(default = "default_source_git_ref_input")]
    pub source_git_ref_input: String,
    /// [L]
    #[serde(default = "default_promotion_intent_input")]
    pub promotion_intent_input: String,
    #[serde(default)]
    pub default_bump: Bump,
}

impl Default for ProductPromotionWorkflowProfile {
    fn default() -> Self {
        ProductPromotionWorkflowProfile {
            workflow_id: default_workflow_id(),
            git_ref: default_ref(),
            dry_run_input: default_dry_run_input(),
            bump_input: default_bump_input(),
            artifact_id_input: default_artifact_id_input(),
            deploy_reference_input: default_deploy_reference_input(),
            source_git_ref_input: default_source_git_ref_input(),
            promotion_intent_input: default_promotion_intent_input(),
            default_bump: Bump::Patch,
        }
    }
}

impl ProductPromotionWorkflowProfile {
    /// `workflow_id`, `ref` and every input name non-blank; input names
    /// unique.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_all_non_blank(&[("workflow_id", &self.workflow_id), ("ref", &self.git_ref)])?;
        let inputs = [
            ("dry_run_input", &self.dry_run_input),
            ("bump_input", &self.bump_input),
            ("artifact_id_input", &self.artifact_id_input),
            ("deploy_reference_input", &self.deploy_reference_input),
            ("source_git_ref_input", &self.source_git_ref_input),
            ("promotion_intent_input", &self.promotion_intent_input),
        ];
        let mut seen = HashSet::new();
        for (field, value) in inputs {
            require_non_blank(value, field)?;
            if !seen.insert(value.trim()) {
                return Err(ValidationError::new(
                    field,
                    format!("workflow input name `{}` is used twice", value.trim()),
                ));
            }
        }
        Ok(())
    }
}

crate::impl_validate!(ProductPromotionWorkflowProfile);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::ProductProfile;
    use super::super::profiles::*;
    use super::*;
    use crate::fixtures::*;

    #[test]
    fn promotion_workflow_rules() {
        let value = set(full(), "/promotion_workflow/workflow_id", json!(""));
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.workflow_id");
        let value = set(full(), "/promotion_workflow/ref", json!(" "));
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.ref");
        let value = set(full(), "/promotion_workflow/bump_input", json!("dry_run"));
        let error = reject::<ProductProfile>(value);
        assert_eq!(error.field, "promotion_workflow.bump_input");
        assert!(error.message.contains("twice"), "{error}");
        let value = set(
            full(),
            "/promotion_workflow/source_git_ref_input",
            json!(""),
        );
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.source_git_ref_input");
        let value = set(full(), "/promotion_workflow/default_bump", json!("huge"));
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.default_bump");
        let value = set(full(), "/promotion_workflow/default_bump", json!("minor"));
        assert_eq!(
            parse::<ProductProfile>(value)
                .promotion_workflow
                .default_bump,
            Bump::Minor
        );
    }
}
