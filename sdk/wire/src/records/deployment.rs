//! Deployment evidence (`DeploymentRecord`, reference §4.1) and the evidence
//! blocks it shares with promotions and inventory.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation::{
    ValidationError, default_schema_version, default_true, require_all_non_blank, require_positive,
};

/// Outcome of one step of a release: `pending | pass | fail | skipped`.
///
/// It has no `Default`: each field names its own ([`pending`] or
/// [`skipped`]), because a missing status means different things in
/// different blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseStatus {
    Pending,
    Pass,
    Fail,
    Skipped,
}

impl ReleaseStatus {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReleaseStatus::Pending => "pending",
            ReleaseStatus::Pass => "pass",
            ReleaseStatus::Fail => "fail",
            ReleaseStatus::Skipped => "skipped",
        }
    }
}

/// `pending`, the serde default of statuses of steps that may still run.
pub fn pending() -> ReleaseStatus {
    ReleaseStatus::Pending
}

/// `skipped`, the serde default of statuses of steps that did not run.
pub fn skipped() -> ReleaseStatus {
    ReleaseStatus::Skipped
}

/// Provider target kind: `compose | application`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    Compose,
    Application,
}

impl TargetType {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TargetType::Compose => "compose",
            TargetType::Application => "application",
        }
    }
}

/// The only executor the original knows: `control-plane.dokploy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum DelegatedExecutor {
    #[default]
    #[serde(rename = "control-plane.dokploy")]
    ControlPlaneDokploy,
}

/// `{artifact_id, manifest_version = 1}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactIdentityRef {
    pub artifact_id: String,
    #[serde(default = "default_schema_version")]
    pub manifest_version: u32,
}

impl ArtifactIdentityRef {
    /// The identity of `artifact_id` in manifest version 1.
    pub fn new(artifact_id: impl Into<String>) -> ArtifactIdentityRef {
        ArtifactIdentityRef {
            artifact_id: artifact_id.into(),
            manifest_version: 1,
        }
    }

    /// `manifest_version ≥ 1`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.manifest_version.into(), "manifest_version")
    }
}

/// The provider target a deployment resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolvedTarget {
    pub target_type: TargetType,
    pub target_id: String,
    pub target_name: String,
}

impl ResolvedTarget {
    /// `target_id` and `target_name` non-blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_all_non_blank(&[
            ("target_id", &self.target_id),
            ("target_name", &self.target_name),
        ])
    }
}

/// What the provider deploy did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEvidence {
    pub target_name: String,
    pub target_type: TargetType,
    pub deploy_mode: String,
    #[serde(default)]
    pub deployment_id: String,
    #[serde(default = "pending")]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
}

impl DeploymentEvidence {
    /// The original states no rule beyond the field types.
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// Health verification of a lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckEvidence {
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
    #[serde(default = "skipped")]
    pub status: ReleaseStatus,
}

impl Default for HealthcheckEvidence {
    fn default() -> Self {
        HealthcheckEvidence::skipped()
    }
}

impl HealthcheckEvidence {
    /// Nothing verified: no URLs, no timeout, `skipped` (the default).
    pub fn skipped() -> Self {
        HealthcheckEvidence {
            verified: false,
            urls: Vec::new(),
            timeout_seconds: None,
            status: ReleaseStatus::Skipped,
        }
    }

    /// `timeout_seconds ≥ 1` when set; verified evidence needs URLs, a
    /// timeout and a `pass`/`fail` status.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(timeout) = self.timeout_seconds {
            require_positive(timeout.into(), "timeout_seconds")?;
        }
        if !self.verified {
            return Ok(());
        }
        if self.urls.is_empty() {
            return Err(ValidationError::new(
                "urls",
                "verified healthcheck evidence requires at least one URL",
            ));
        }
        if self.timeout_seconds.is_none() {
            return Err(ValidationError::new(
                "timeout_seconds",
                "verified healthcheck evidence requires timeout_seconds",
            ));
        }
        if !matches!(self.status, ReleaseStatus::Pass | ReleaseStatus::Fail) {
            return Err(ValidationError::new(
                "status",
                "verified healthcheck evidence requires pass/fail status",
            ));
        }
        Ok(())
    }
}

/// The attempted ⇒ status rule shared by post-deploy updates and rollbacks.
pub fn check_attempted_status(
    attempted: bool,
    status: ReleaseStatus,
    what: &str,
) -> Result<(), ValidationError> {
    if !attempted && status != ReleaseStatus::Skipped {
        return Err(ValidationError::new(
            "status",
            format!("non-attempted {what} must use skipped status"),
        ));
    }
    if attempted && status == ReleaseStatus::Skipped {
        return Err(ValidationError::new(
            "status",
            format!("attempted {what} must use pending/pass/fail status"),
        ));
    }
    Ok(())
}

/// The product's post-deploy step (migrations, overrides…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostDeployUpdateEvidence {
    #[serde(default)]
    pub attempted: bool,
    #[serde(default = "skipped")]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub detail: String,
}

impl Default for PostDeployUpdateEvidence {
    fn default() -> Self {
        PostDeployUpdateEvidence {
            attempted: false,
            status: ReleaseStatus::Skipped,
            detail: String::new(),
        }
    }
}

impl PostDeployUpdateEvidence {
    /// Not attempted ⇒ `skipped`; attempted ⇒ `pending | pass | fail`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_attempted_status(self.attempted, self.status, "post-deploy update")
    }
}

/// One deployment of one lane (`context`/`instance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub record_id: String,
    #[serde(default)]
    pub artifact_identity: Option<ArtifactIdentityRef>,
    pub context: String,
    pub instance: String,
    pub source_git_ref: String,
    #[serde(default = "default_true")]
    pub wait_for_completion: bool,
    #[serde(default = "default_true")]
    pub verify_destination_health: bool,
    #[serde(default)]
    pub no_cache: bool,
    #[serde(default)]
    pub delegated_executor: DelegatedExecutor,
    #[serde(default)]
    pub resolved_target: Option<ResolvedTarget>,
    #[serde(default)]
    pub runtime_source: BTreeMap<String, String>,
    pub deploy: DeploymentEvidence,
    #[serde(default)]
    pub post_deploy_update: PostDeployUpdateEvidence,
    #[serde(default)]
    pub destination_health: HealthcheckEvidence,
}

impl DeploymentRecord {
    /// `schema_version ≥ 1`; `record_id`, `context`, `instance` and
    /// `source_git_ref` non-blank; every nested block valid.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_all_non_blank(&[
            ("record_id", &self.record_id),
            ("context", &self.context),
            ("instance", &self.instance),
            ("source_git_ref", &self.source_git_ref),
        ])?;
        if let Some(identity) = &self.artifact_identity {
            identity
                .validate()
                .map_err(|e| e.within("artifact_identity"))?;
        }
        if let Some(target) = &self.resolved_target {
            target.validate().map_err(|e| e.within("resolved_target"))?;
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

    /// The artifact id, or `""` without an artifact identity.
    pub fn artifact_id(&self) -> &str {
        self.artifact_identity
            .as_ref()
            .map_or("", |a| a.artifact_id.as_str())
    }
}

crate::impl_validate!(
    ArtifactIdentityRef,
    ResolvedTarget,
    DeploymentEvidence,
    HealthcheckEvidence,
    PostDeployUpdateEvidence,
    DeploymentRecord,
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::*;
    use crate::validation::from_value;

    #[test]
    fn full_record_round_trips() {
        let record: DeploymentRecord = parse(deployment_full());
        let value = round_trip(&record);
        assert_eq!(value, deployment_full());
        assert_eq!(record.artifact_id(), "artifact-cm-0123456");
    }

    #[test]
    fn minimal_record_serialises_every_default() {
        let record: DeploymentRecord = parse(deployment_minimal());
        let value = round_trip(&record);
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["artifact_identity"], json!(null));
        assert_eq!(value["wait_for_completion"], true);
        assert_eq!(value["verify_destination_health"], true);
        assert_eq!(value["no_cache"], false);
        assert_eq!(value["delegated_executor"], "control-plane.dokploy");
        assert_eq!(value["resolved_target"], json!(null));
        assert_eq!(value["runtime_source"], json!({}));
        assert_eq!(
            value["deploy"],
            json!({"target_name": "cm-testing", "target_type": "compose",
                   "deploy_mode": "dokploy-compose-api", "deployment_id": "",
                   "status": "pending", "started_at": "", "finished_at": ""})
        );
        assert_eq!(
            value["post_deploy_update"],
            json!({"attempted": false, "status": "skipped", "detail": ""})
        );
        assert_eq!(
            value["destination_health"],
            json!({"verified": false, "urls": [], "timeout_seconds": null, "status": "skipped"})
        );
        assert_eq!(record.artifact_id(), "");
    }

    #[test]
    fn required_strings_must_not_be_blank() {
        for field in ["record_id", "context", "instance", "source_git_ref"] {
            let value = set(deployment_minimal(), &format!("/{field}"), json!("  "));
            assert_rejected_at::<DeploymentRecord>(value, field);
        }
    }

    #[test]
    fn schema_and_manifest_versions_start_at_one() {
        let value = set(deployment_full(), "/schema_version", json!(0));
        assert_rejected_at::<DeploymentRecord>(value, "schema_version");
        let value = set(
            deployment_full(),
            "/artifact_identity/manifest_version",
            json!(0),
        );
        assert_rejected_at::<DeploymentRecord>(value, "artifact_identity.manifest_version");
    }

    #[test]
    fn verified_health_needs_urls_timeout_and_pass_or_fail() {
        let value = set(deployment_full(), "/destination_health/urls", json!([]));
        let error = reject::<DeploymentRecord>(value);
        assert_eq!(error.field, "destination_health.urls");
        assert_eq!(
            error.to_string(),
            "destination_health.urls: verified healthcheck evidence requires at least one URL"
        );

        let value = set(
            deployment_full(),
            "/destination_health/timeout_seconds",
            json!(null),
        );
        assert_rejected_at::<DeploymentRecord>(value, "destination_health.timeout_seconds");

        for status in ["pending", "skipped"] {
            let value = set(
                deployment_full(),
                "/destination_health/status",
                json!(status),
            );
            assert_rejected_at::<DeploymentRecord>(value, "destination_health.status");
        }
        let value = set(
            deployment_full(),
            "/destination_health/status",
            json!("fail"),
        );
        parse::<DeploymentRecord>(value);

        // Unverified evidence may be anything.
        let value = set(
            deployment_full(),
            "/destination_health",
            json!({"verified": false, "status": "pending"}),
        );
        parse::<DeploymentRecord>(value);
    }

    #[test]
    fn timeout_seconds_is_at_least_one() {
        let value = set(
            deployment_full(),
            "/destination_health/timeout_seconds",
            json!(0),
        );
        assert_rejected_at::<DeploymentRecord>(value, "destination_health.timeout_seconds");
    }

    #[test]
    fn post_deploy_status_follows_attempted() {
        let value = set(
            deployment_full(),
            "/post_deploy_update",
            json!({"attempted": false, "status": "pass"}),
        );
        let error = reject::<DeploymentRecord>(value);
        assert_eq!(error.field, "post_deploy_update.status");
        assert!(error.message.contains("skipped"), "{error}");

        let value = set(
            deployment_full(),
            "/post_deploy_update",
            json!({"attempted": true, "status": "skipped"}),
        );
        assert_rejected_at::<DeploymentRecord>(value, "post_deploy_update.status");

        for status in ["pending", "pass", "fail"] {
            let value = set(
                deployment_full(),
                "/post_deploy_update",
                json!({"attempted": true, "status": status}),
            );
            parse::<DeploymentRecord>(value);
        }
    }

    #[test]
    fn resolved_target_needs_id_and_name() {
        for field in ["target_id", "target_name"] {
            let value = set(
                deployment_full(),
                &format!("/resolved_target/{field}"),
                json!(""),
            );
            assert_rejected_at::<DeploymentRecord>(value, &format!("resolved_target.{field}"));
        }
    }

    #[test]
    fn shapes_are_checked_with_exact_paths() {
        let value = insert(deployment_full(), "/deploy", "extra", json!(1));
        let error = from_value::<DeploymentRecord>(&value, "deployment").unwrap_err();
        assert_eq!(error.field, "deployment.deploy.extra");
        assert!(
            error.message.starts_with("unknown field `extra`"),
            "{error}"
        );

        let value = set(deployment_full(), "/deploy/status", json!("passed"));
        let error = from_value::<DeploymentRecord>(&value, "").unwrap_err();
        assert_eq!(error.field, "deploy.status");
        assert!(
            error.message.starts_with("unknown variant `passed`"),
            "{error}"
        );

        let value = set(deployment_full(), "/deploy/target_type", json!("swarm"));
        assert_rejected_at::<DeploymentRecord>(value, "deploy.target_type");

        let value = set(deployment_full(), "/delegated_executor", json!("other"));
        assert_rejected_at::<DeploymentRecord>(value, "delegated_executor");

        let value = remove(deployment_full(), "/deploy", "deploy_mode");
        let error = reject::<DeploymentRecord>(value);
        assert_eq!(error.field, "deploy.deploy_mode");
        assert_eq!(error.message, "missing field `deploy_mode`");

        let value = set(
            deployment_full(),
            "/destination_health/urls",
            json!("https://x"),
        );
        assert_rejected_at::<DeploymentRecord>(value, "destination_health.urls");

        let value = set(deployment_full(), "/runtime_source/ODOO_DB_NAME", json!(1));
        assert_rejected_at::<DeploymentRecord>(value, "runtime_source.ODOO_DB_NAME");

        let value = insert(deployment_full(), "/resolved_target", "x", json!(null));
        assert_rejected_at::<DeploymentRecord>(value, "resolved_target.x");
    }

    #[test]
    fn release_status_names() {
        for (status, name) in [
            (ReleaseStatus::Pending, "pending"),
            (ReleaseStatus::Pass, "pass"),
            (ReleaseStatus::Fail, "fail"),
            (ReleaseStatus::Skipped, "skipped"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(serde_json::to_value(status).unwrap(), json!(name));
        }
        assert_eq!(TargetType::Application.as_str(), "application");
    }
}
