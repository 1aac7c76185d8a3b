//! Promotion evidence (`PromotionRecord`, reference §4.1).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::deployment::{
    ArtifactIdentityRef, DeploymentEvidence, DeploymentRecord, HealthcheckEvidence,
    PostDeployUpdateEvidence, ReleaseStatus, check_attempted_status, pending, skipped,
};
use super::inventory::PromotionLink;
use crate::validation::{
    ValidationError, default_schema_version, default_true, require_all_non_blank, require_positive,
};

/// The backup gate as seen by a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupGateEvidence {
    #[serde(default = "default_true")]
    pub required: bool,
    #[serde(default = "pending")]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
}

impl Default for BackupGateEvidence {
    fn default() -> Self {
        BackupGateEvidence {
            required: true,
            status: ReleaseStatus::Pending,
            evidence: BTreeMap::new(),
        }
    }
}

impl BackupGateEvidence {
    /// No backup record named and none demanded: not required, `skipped`.
    pub fn not_required() -> Self {
        BackupGateEvidence {
            required: false,
            status: ReleaseStatus::Skipped,
            evidence: BTreeMap::new(),
        }
    }

    /// The original states no rule of its own for this block (the
    /// `backup_record_id` rule lives on the promotion).
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// A rollback executed after a failed promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackExecutionEvidence {
    #[serde(default)]
    pub attempted: bool,
    #[serde(default = "skipped")]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub snapshot_name: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
}

impl Default for RollbackExecutionEvidence {
    fn default() -> Self {
        RollbackExecutionEvidence {
            attempted: false,
            status: ReleaseStatus::Skipped,
            detail: String::new(),
            snapshot_name: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
        }
    }
}

impl RollbackExecutionEvidence {
    /// Not attempted ⇒ `skipped`; attempted ⇒ `pending | pass | fail`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_attempted_status(self.attempted, self.status, "rollback")
    }
}

/// One promotion of an artifact from one instance of a context to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub record_id: String,
    pub artifact_identity: ArtifactIdentityRef,
    #[serde(default)]
    pub deployment_record_id: String,
    #[serde(default)]
    pub backup_record_id: String,
    pub context: String,
    pub from_instance: String,
    pub to_instance: String,
    #[serde(default)]
    pub source_health: HealthcheckEvidence,
    #[serde(default)]
    pub backup_gate: BackupGateEvidence,
    pub deploy: DeploymentEvidence,
    #[serde(default)]
    pub post_deploy_update: PostDeployUpdateEvidence,
    #[serde(default)]
    pub destination_health: HealthcheckEvidence,
    #[serde(default)]
    pub rollback: RollbackExecutionEvidence,
    #[serde(default)]
    pub rollback_health: HealthcheckEvidence,
}

impl PromotionRecord {
    /// `schema_version ≥ 1`; `record_id`, `context`, `from_instance`,
    /// `to_instance` non-blank; `from_instance ≠ to_instance`; a required
    /// backup gate that passed needs `backup_record_id`; nested blocks valid.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_all_non_blank(&[
            ("record_id", &self.record_id),
            ("context", &self.context),
            ("from_instance", &self.from_instance),
            ("to_instance", &self.to_instance),
        ])?;
        if self.from_instance.trim() == self.to_instance.trim() {
            return Err(ValidationError::new(
                "to_instance",
                "promotion source and destination instances must differ",
            ));
        }
        if self.backup_gate.required
            && self.backup_gate.status == ReleaseStatus::Pass
            && self.backup_record_id.trim().is_empty()
        {
            return Err(ValidationError::new(
                "backup_record_id",
                "promotion record with passing backup gate requires backup_record_id",
            ));
        }
        self.artifact_identity
            .validate()
            .map_err(|e| e.within("artifact_identity"))?;
        self.source_health
            .validate()
            .map_err(|e| e.within("source_health"))?;
        self.backup_gate
            .validate()
            .map_err(|e| e.within("backup_gate"))?;
        self.deploy.validate().map_err(|e| e.within("deploy"))?;
        self.post_deploy_update
            .validate()
            .map_err(|e| e.within("post_deploy_update"))?;
        self.destination_health
            .validate()
            .map_err(|e| e.within("destination_health"))?;
        self.rollback.validate().map_err(|e| e.within("rollback"))?;
        self.rollback_health
            .validate()
            .map_err(|e| e.within("rollback_health"))?;
        Ok(())
    }

    /// The linked deployment record id (trimmed), if the promotion has one.
    pub fn linked_deployment_id(&self) -> Option<&str> {
        let id = self.deployment_record_id.trim();
        (!id.is_empty()).then_some(id)
    }

    /// Reference §8 rule 2: the deployment this promotion links to
    /// (`deployment_record_id`) must be of the same context, deploy the
    /// destination instance and — when both carry one — the same artifact.
    /// On success returns the linkage the destination inventory is rebuilt
    /// with ([`super::inventory::EnvironmentInventory::from_deployment`]).
    /// Errors name promotion fields.
    pub fn check_deployment_link(
        &self,
        deployment: &DeploymentRecord,
    ) -> Result<PromotionLink, ValidationError> {
        let Some(linked) = self.linked_deployment_id() else {
            return Err(ValidationError::new(
                "deployment_record_id",
                "promotion record has no deployment_record_id linkage",
            ));
        };
        if deployment.record_id != linked {
            return Err(ValidationError::new(
                "deployment_record_id",
                format!(
                    "linked deployment record is `{}`, not `{linked}`",
                    deployment.record_id
                ),
            ));
        }
        if deployment.context != self.context {
            return Err(ValidationError::new(
                "context",
                "promotion record context does not match linked deployment record context",
            ));
        }
        if deployment.instance != self.to_instance {
            return Err(ValidationError::new(
                "to_instance",
                "promotion destination instance does not match linked deployment record instance",
            ));
        }
        let promoted = self.artifact_identity.artifact_id.as_str();
        let deployed = deployment.artifact_id();
        if !promoted.is_empty() && !deployed.is_empty() && promoted != deployed {
            return Err(ValidationError::new(
                "artifact_identity.artifact_id",
                "promotion artifact_id does not match linked deployment record artifact_id",
            ));
        }
        Ok(PromotionLink {
            promotion_record_id: self.record_id.clone(),
            from_instance: self.from_instance.clone(),
        })
    }
}

crate::impl_validate!(
    BackupGateEvidence,
    RollbackExecutionEvidence,
    PromotionRecord
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::*;

    fn deployment_for(promotion: &PromotionRecord) -> DeploymentRecord {
        let value = set(deployment_full(), "/instance", json!("prod"));
        let value = set(
            value,
            "/record_id",
            json!(promotion.deployment_record_id.clone()),
        );
        parse(value)
    }

    #[test]
    fn full_record_round_trips() {
        let record: PromotionRecord = parse(promotion_full());
        let value = round_trip(&record);
        assert_eq!(value["backup_gate"]["evidence"]["snapshot"], "vzdump-1");
        assert_eq!(
            value["rollback"],
            json!({"attempted": false, "status": "skipped", "detail": "",
                   "snapshot_name": "", "started_at": "", "finished_at": ""})
        );
    }

    #[test]
    fn minimal_record_serialises_every_default() {
        let record: PromotionRecord = parse(promotion_minimal());
        let value = round_trip(&record);
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["artifact_identity"]["manifest_version"], 1);
        assert_eq!(value["deployment_record_id"], "");
        assert_eq!(value["backup_record_id"], "");
        assert_eq!(
            value["backup_gate"],
            json!({"required": true, "status": "pending", "evidence": {}})
        );
        for key in ["source_health", "destination_health", "rollback_health"] {
            assert_eq!(
                value[key],
                json!({"verified": false, "urls": [], "timeout_seconds": null, "status": "skipped"})
            );
        }
        assert_eq!(value["post_deploy_update"]["status"], "skipped");
    }

    #[test]
    fn required_strings_must_not_be_blank() {
        for field in ["record_id", "context", "from_instance", "to_instance"] {
            let value = set(promotion_minimal(), &format!("/{field}"), json!(" "));
            assert_rejected_at::<PromotionRecord>(value, field);
        }
    }

    #[test]
    fn artifact_identity_is_required() {
        let value = remove(promotion_minimal(), "", "artifact_identity");
        let error = reject::<PromotionRecord>(value);
        assert_eq!(error.field, "artifact_identity");
        assert_eq!(error.message, "missing field `artifact_identity`");
    }

    #[test]
    fn source_and_destination_must_differ() {
        let value = set(promotion_minimal(), "/to_instance", json!("testing"));
        let error = reject::<PromotionRecord>(value);
        assert_eq!(error.field, "to_instance");
        assert!(error.message.contains("must differ"), "{error}");
    }

    #[test]
    fn passing_required_backup_gate_needs_backup_record_id() {
        let value = set(promotion_full(), "/backup_record_id", json!("  "));
        assert_rejected_at::<PromotionRecord>(value.clone(), "backup_record_id");
        // Not required, or not passed: no backup record needed.
        parse::<PromotionRecord>(set(value.clone(), "/backup_gate/required", json!(false)));
        parse::<PromotionRecord>(set(value, "/backup_gate/status", json!("fail")));
    }

    #[test]
    fn rollback_status_follows_attempted() {
        let value = set(
            promotion_full(),
            "/rollback",
            json!({"attempted": false, "status": "fail"}),
        );
        assert_rejected_at::<PromotionRecord>(value, "rollback.status");
        let value = set(
            promotion_full(),
            "/rollback",
            json!({"attempted": true, "status": "skipped"}),
        );
        assert_rejected_at::<PromotionRecord>(value, "rollback.status");
        let value = set(
            promotion_full(),
            "/rollback",
            json!({"attempted": true, "status": "pass", "snapshot_name": "snap"}),
        );
        parse::<PromotionRecord>(value);
    }

    #[test]
    fn nested_blocks_are_validated_in_place() {
        let value = set(promotion_full(), "/source_health/urls", json!([]));
        assert_rejected_at::<PromotionRecord>(value, "source_health.urls");
        let value = set(
            promotion_full(),
            "/rollback_health",
            json!({"verified": true, "urls": ["https://x"], "status": "pass"}),
        );
        assert_rejected_at::<PromotionRecord>(value, "rollback_health.timeout_seconds");
        let value = set(
            promotion_full(),
            "/post_deploy_update",
            json!({"attempted": false, "status": "fail"}),
        );
        assert_rejected_at::<PromotionRecord>(value, "post_deploy_update.status");
        let value = set(
            promotion_full(),
            "/destination_health/status",
            json!("pending"),
        );
        assert_rejected_at::<PromotionRecord>(value, "destination_health.status");
        let value = insert(promotion_full(), "/backup_gate", "extra", json!(""));
        assert_rejected_at::<PromotionRecord>(value, "backup_gate.extra");
        let value = set(
            promotion_full(),
            "/backup_gate/evidence",
            json!({"k": ["v"]}),
        );
        assert_rejected_at::<PromotionRecord>(value, "backup_gate.evidence.k");
    }

    #[test]
    fn deployment_link_checks() {
        let promotion: PromotionRecord = parse(promotion_full());
        let deployment = deployment_for(&promotion);
        let link = promotion.check_deployment_link(&deployment).unwrap();
        assert_eq!(
            link,
            PromotionLink {
                promotion_record_id: promotion.record_id.clone(),
                from_instance: "testing".to_string(),
            }
        );

        // A deployment without an artifact identity is not compared.
        let mut no_artifact = deployment.clone();
        no_artifact.artifact_identity = None;
        promotion.check_deployment_link(&no_artifact).unwrap();

        let mut other_context = deployment.clone();
        other_context.context = "opw".into();
        let error = promotion.check_deployment_link(&other_context).unwrap_err();
        assert_eq!(error.field, "context");

        let mut other_instance = deployment.clone();
        other_instance.instance = "testing".into();
        let error = promotion
            .check_deployment_link(&other_instance)
            .unwrap_err();
        assert_eq!(error.field, "to_instance");

        let mut other_artifact = deployment.clone();
        other_artifact.artifact_identity = Some(ArtifactIdentityRef::new("artifact-cm-other"));
        let error = promotion
            .check_deployment_link(&other_artifact)
            .unwrap_err();
        assert_eq!(error.field, "artifact_identity.artifact_id");

        let mut other_id = deployment.clone();
        other_id.record_id = "deployment-other".into();
        let error = promotion.check_deployment_link(&other_id).unwrap_err();
        assert_eq!(error.field, "deployment_record_id");

        let mut unlinked = promotion.clone();
        unlinked.deployment_record_id = " ".into();
        assert_eq!(unlinked.linked_deployment_id(), None);
        let error = unlinked.check_deployment_link(&deployment).unwrap_err();
        assert_eq!(error.field, "deployment_record_id");
    }
}
