//! Environment inventory (`EnvironmentInventory`, reference §6.5): what is
//! deployed on each lane now, rebuilt in place from deployment evidence.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::deployment::{
    ArtifactIdentityRef, DeploymentEvidence, DeploymentRecord, HealthcheckEvidence,
    PostDeployUpdateEvidence,
};
use crate::validation::{
    ValidationError, default_schema_version, require_all_non_blank, require_positive,
};

/// The inventory id of a lane: `<context>-<instance>`.
pub fn inventory_id(context: &str, instance: &str) -> String {
    format!("{context}-{instance}")
}

/// The promotion an inventory refresh came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionLink {
    pub promotion_record_id: String,
    /// The promotion's `from_instance` (stored as `promoted_from_instance`).
    pub from_instance: String,
}

/// The current state of one lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentInventory {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub context: String,
    pub instance: String,
    #[serde(default)]
    pub artifact_identity: Option<ArtifactIdentityRef>,
    pub source_git_ref: String,
    pub deploy: DeploymentEvidence,
    #[serde(default)]
    pub post_deploy_update: PostDeployUpdateEvidence,
    #[serde(default)]
    pub destination_health: HealthcheckEvidence,
    pub updated_at: String,
    pub deployment_record_id: String,
    #[serde(default)]
    pub promotion_record_id: String,
    #[serde(default)]
    pub promoted_from_instance: String,
}

impl EnvironmentInventory {
    /// Reference §8 rules 1–2: the inventory of the deployment's lane, copied
    /// from the deployment record, with the promotion linkage when the
    /// refresh comes from promotion evidence. The result is not validated
    /// (call `validate`; a valid deployment and a non-blank `updated_at`
    /// give a valid inventory).
    pub fn from_deployment(
        deployment: &DeploymentRecord,
        promotion: Option<PromotionLink>,
        updated_at: &str,
    ) -> EnvironmentInventory {
        let (promotion_record_id, promoted_from_instance) = promotion
            .map(|p| (p.promotion_record_id, p.from_instance))
            .unwrap_or_default();
        EnvironmentInventory {
            schema_version: 1,
            context: deployment.context.clone(),
            instance: deployment.instance.clone(),
            artifact_identity: deployment.artifact_identity.clone(),
            source_git_ref: deployment.source_git_ref.clone(),
            deploy: deployment.deploy.clone(),
            post_deploy_update: deployment.post_deploy_update.clone(),
            destination_health: deployment.destination_health.clone(),
            updated_at: updated_at.to_string(),
            deployment_record_id: deployment.record_id.clone(),
            promotion_record_id,
            promoted_from_instance,
        }
    }

    /// The artifact id, or `""` without an artifact identity.
    pub fn artifact_id(&self) -> &str {
        self.artifact_identity
            .as_ref()
            .map_or("", |a| a.artifact_id.as_str())
    }

    /// `<context>-<instance>`.
    pub fn id(&self) -> String {
        inventory_id(&self.context, &self.instance)
    }

    /// `context`, `instance`, `source_git_ref`, `updated_at`,
    /// `deployment_record_id` non-blank; a `promotion_record_id` needs
    /// `promoted_from_instance`; nested blocks valid.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_all_non_blank(&[
            ("context", &self.context),
            ("instance", &self.instance),
            ("source_git_ref", &self.source_git_ref),
            ("updated_at", &self.updated_at),
            ("deployment_record_id", &self.deployment_record_id),
        ])?;
        if !self.promotion_record_id.trim().is_empty()
            && self.promoted_from_instance.trim().is_empty()
        {
            return Err(ValidationError::new(
                "promoted_from_instance",
                "environment inventory with promotion_record_id requires promoted_from_instance",
            ));
        }
        if let Some(identity) = &self.artifact_identity {
            identity
                .validate()
                .map_err(|e| e.within("artifact_identity"))?;
        }
        self.deploy.validate().map_err(|e| e.within("deploy"))?;
        self.post_deploy_update
            .validate()
            .map_err(|e| e.within("post_deploy_update"))?;
        self.destination_health
            .validate()
            .map_err(|e| e.within("destination_health"))?;
        Ok(())
    }
}

crate::impl_validate!(EnvironmentInventory);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::*;

    #[test]
    fn inventory_id_is_context_dash_instance() {
        assert_eq!(inventory_id("cm", "testing"), "cm-testing");
    }

    #[test]
    fn from_deployment_copies_the_deployment() {
        let deployment: DeploymentRecord = parse(deployment_full());
        let inventory =
            EnvironmentInventory::from_deployment(&deployment, None, "2026-04-29T20:02:00Z");
        inventory.validate().unwrap();
        assert_eq!(inventory.id(), "cm-testing");
        assert_eq!(inventory.context, "cm");
        assert_eq!(inventory.instance, "testing");
        assert_eq!(inventory.artifact_identity, deployment.artifact_identity);
        assert_eq!(inventory.source_git_ref, deployment.source_git_ref);
        assert_eq!(inventory.deploy, deployment.deploy);
        assert_eq!(inventory.post_deploy_update, deployment.post_deploy_update);
        assert_eq!(inventory.destination_health, deployment.destination_health);
        assert_eq!(inventory.updated_at, "2026-04-29T20:02:00Z");
        assert_eq!(inventory.deployment_record_id, deployment.record_id);
        assert_eq!(inventory.promotion_record_id, "");
        assert_eq!(inventory.promoted_from_instance, "");
        let value = round_trip(&inventory);
        assert_eq!(value["schema_version"], 1);
    }

    #[test]
    fn from_deployment_with_promotion_linkage() {
        let deployment: DeploymentRecord =
            parse(set(deployment_full(), "/instance", json!("prod")));
        let inventory = EnvironmentInventory::from_deployment(
            &deployment,
            Some(PromotionLink {
                promotion_record_id: "promotion-1".into(),
                from_instance: "testing".into(),
            }),
            "2026-04-29T20:02:00Z",
        );
        inventory.validate().unwrap();
        assert_eq!(inventory.id(), "cm-prod");
        assert_eq!(inventory.promotion_record_id, "promotion-1");
        assert_eq!(inventory.promoted_from_instance, "testing");
        round_trip(&inventory);
    }

    #[test]
    fn failed_deployments_still_make_valid_inventory() {
        let value = insert(deployment_minimal(), "/deploy", "status", json!("fail"));
        let deployment: DeploymentRecord = parse(value);
        let inventory = EnvironmentInventory::from_deployment(&deployment, None, "now");
        inventory.validate().unwrap();
        assert_eq!(
            inventory.deploy.status,
            super::super::deployment::ReleaseStatus::Fail
        );
        let value = round_trip(&inventory);
        assert_eq!(value["artifact_identity"], json!(null));
        assert_eq!(value["promotion_record_id"], "");
    }

    fn inventory_json() -> serde_json::Value {
        let deployment: DeploymentRecord = parse(deployment_full());
        serde_json::to_value(EnvironmentInventory::from_deployment(
            &deployment,
            None,
            "now",
        ))
        .unwrap()
    }

    #[test]
    fn required_strings_must_not_be_blank() {
        for field in [
            "context",
            "instance",
            "source_git_ref",
            "updated_at",
            "deployment_record_id",
        ] {
            let value = set(inventory_json(), &format!("/{field}"), json!(" "));
            assert_rejected_at::<EnvironmentInventory>(value, field);
        }
    }

    #[test]
    fn promotion_linkage_needs_promoted_from_instance() {
        let value = set(
            inventory_json(),
            "/promotion_record_id",
            json!("promotion-1"),
        );
        assert_rejected_at::<EnvironmentInventory>(value.clone(), "promoted_from_instance");
        parse::<EnvironmentInventory>(set(value, "/promoted_from_instance", json!("testing")));
    }

    #[test]
    fn nested_evidence_is_validated_and_unknown_fields_refused() {
        let value = set(inventory_json(), "/destination_health/urls", json!([]));
        assert_rejected_at::<EnvironmentInventory>(value, "destination_health.urls");
        let value = insert(inventory_json(), "/artifact_identity", "digest", json!("x"));
        assert_rejected_at::<EnvironmentInventory>(value, "artifact_identity.digest");
    }
}
