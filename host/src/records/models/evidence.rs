//! The typed envelopes of the evidence routes (reference §2.5, §3.3):
//! `{schema_version ≥ 1 = 1, product (non-blank), <one payload>}`, unknown
//! fields rejected at every level. `parse` deserialises and validates a
//! request body; every error names the field path from the body's root
//! (`deployment.deploy.status: unknown variant …`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::backup_gate::BackupGateRecord;
use super::deployment::DeploymentRecord;
use super::preview::{
    PreviewDestroyMutationRequest, PreviewGenerationMutationRequest, PreviewMutationRequest,
    check_alignment,
};
use super::promotion::PromotionRecord;
use super::{
    ValidationError, default_schema_version, from_value, impl_validate, require_non_blank,
    require_positive,
};

fn check_envelope(schema_version: u32, product: &str) -> Result<(), ValidationError> {
    require_positive(schema_version.into(), "schema_version")?;
    require_non_blank(product, "product")
}

fn parse_envelope<T: DeserializeOwned>(
    body: &Value,
    validate: impl Fn(&T) -> Result<(), ValidationError>,
) -> Result<T, ValidationError> {
    let envelope: T = from_value(body, "")?;
    validate(&envelope)?;
    Ok(envelope)
}

/// `POST /v1/evidence/deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEvidenceRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub deployment: DeploymentRecord,
}

impl DeploymentEvidenceRequest {
    pub fn parse(body: &Value) -> Result<Self, ValidationError> {
        parse_envelope(body, Self::validate)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        check_envelope(self.schema_version, &self.product)?;
        self.deployment
            .validate()
            .map_err(|e| e.within("deployment"))
    }
}

/// `POST /v1/evidence/promotions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionEvidenceRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub promotion: PromotionRecord,
}

impl PromotionEvidenceRequest {
    pub fn parse(body: &Value) -> Result<Self, ValidationError> {
        parse_envelope(body, Self::validate)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        check_envelope(self.schema_version, &self.product)?;
        self.promotion.validate().map_err(|e| e.within("promotion"))
    }
}

/// `POST /v1/evidence/backup-gates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupGateEvidenceRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub backup_gate: BackupGateRecord,
}

impl BackupGateEvidenceRequest {
    pub fn parse(body: &Value) -> Result<Self, ValidationError> {
        parse_envelope(body, Self::validate)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        check_envelope(self.schema_version, &self.product)?;
        self.backup_gate
            .validate()
            .map_err(|e| e.within("backup_gate"))
    }
}

/// `POST /v1/evidence/previews/generations`. `context`, `anchor_repo`,
/// `anchor_pr_number` and `anchor_pr_url` must match between `preview` and
/// `generation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewGenerationEvidenceRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub preview: PreviewMutationRequest,
    pub generation: PreviewGenerationMutationRequest,
}

impl PreviewGenerationEvidenceRequest {
    pub fn parse(body: &Value) -> Result<Self, ValidationError> {
        parse_envelope(body, Self::validate)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        check_envelope(self.schema_version, &self.product)?;
        self.preview.validate().map_err(|e| e.within("preview"))?;
        self.generation
            .validate()
            .map_err(|e| e.within("generation"))?;
        check_alignment(&self.preview, &self.generation)
    }
}

/// `POST /v1/evidence/previews/destroyed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewDestroyedEvidenceRequest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub destroy: PreviewDestroyMutationRequest,
}

impl PreviewDestroyedEvidenceRequest {
    pub fn parse(body: &Value) -> Result<Self, ValidationError> {
        parse_envelope(body, Self::validate)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        check_envelope(self.schema_version, &self.product)?;
        self.destroy.validate().map_err(|e| e.within("destroy"))
    }
}

impl_validate!(
    DeploymentEvidenceRequest,
    PromotionEvidenceRequest,
    BackupGateEvidenceRequest,
    PreviewGenerationEvidenceRequest,
    PreviewDestroyedEvidenceRequest,
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::models::fixtures::*;

    fn deployment_body() -> Value {
        json!({"product": "cm", "deployment": deployment_full()})
    }

    fn generation_body() -> Value {
        json!({
            "schema_version": 1,
            "product": "cm",
            "preview": preview_request(),
            "generation": generation_request("ready")
        })
    }

    #[test]
    fn deployment_envelope_parses_with_default_schema_version() {
        let request = DeploymentEvidenceRequest::parse(&deployment_body()).unwrap();
        assert_eq!(request.schema_version, 1);
        assert_eq!(request.product, "cm");
        assert_eq!(request.deployment.instance, "testing");
        let value = round_trip(&request);
        assert_eq!(value["schema_version"], 1);
    }

    #[test]
    fn envelope_rules() {
        let error =
            DeploymentEvidenceRequest::parse(&set(deployment_body(), "/product", json!(" ")))
                .unwrap_err();
        assert_eq!(error.to_string(), "product: must not be blank");

        let error =
            DeploymentEvidenceRequest::parse(&set(deployment_body(), "/schema_version", json!(0)))
                .unwrap_err();
        assert_eq!(error.field, "schema_version");
        let error =
            DeploymentEvidenceRequest::parse(&set(deployment_body(), "/schema_version", json!(-1)))
                .unwrap_err();
        assert_eq!(error.field, "schema_version");
        let error = DeploymentEvidenceRequest::parse(&set(
            deployment_body(),
            "/schema_version",
            json!("1"),
        ))
        .unwrap_err();
        assert_eq!(error.field, "schema_version");

        let error =
            DeploymentEvidenceRequest::parse(&insert(deployment_body(), "", "trace", json!(1)))
                .unwrap_err();
        assert_eq!(error.field, "trace");
        assert!(
            error.message.starts_with("unknown field `trace`"),
            "{error}"
        );

        let error = DeploymentEvidenceRequest::parse(&remove(deployment_body(), "", "deployment"))
            .unwrap_err();
        assert_eq!(error.to_string(), "deployment: missing field `deployment`");

        let error = DeploymentEvidenceRequest::parse(&remove(deployment_body(), "", "product"))
            .unwrap_err();
        assert_eq!(error.field, "product");

        for body in [json!([]), json!("x"), json!(null)] {
            let error = DeploymentEvidenceRequest::parse(&body).unwrap_err();
            assert_eq!(error.field, "$");
            assert!(error.message.starts_with("invalid type"), "{error}");
        }
        let error =
            DeploymentEvidenceRequest::parse(&set(deployment_body(), "/deployment", json!([])))
                .unwrap_err();
        assert_eq!(error.field, "deployment");
    }

    #[test]
    fn nested_failures_name_the_full_path() {
        let body = set(
            deployment_body(),
            "/deployment/deploy/status",
            json!("passed"),
        );
        let error = DeploymentEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "deployment.deploy.status");
        assert!(
            error
                .to_string()
                .starts_with("deployment.deploy.status: unknown variant `passed`"),
            "{error}"
        );

        let body = insert(
            deployment_body(),
            "/deployment/destination_health",
            "extra",
            json!(1),
        );
        let error = DeploymentEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "deployment.destination_health.extra");

        let body = set(
            deployment_body(),
            "/deployment/destination_health/urls",
            json!([]),
        );
        let error = DeploymentEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "deployment.destination_health.urls");

        let body = set(
            deployment_body(),
            "/deployment/destination_health/urls/0",
            json!(5),
        );
        let error = DeploymentEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "deployment.destination_health.urls[0]");
    }

    #[test]
    fn promotion_envelope() {
        let body = json!({"product": "cm", "promotion": promotion_full()});
        let request = PromotionEvidenceRequest::parse(&body).unwrap();
        assert_eq!(request.promotion.to_instance, "prod");
        round_trip(&request);
        let error = PromotionEvidenceRequest::parse(&set(
            body.clone(),
            "/promotion/to_instance",
            json!("testing"),
        ))
        .unwrap_err();
        assert_eq!(error.field, "promotion.to_instance");
        let error =
            PromotionEvidenceRequest::parse(&set(body, "/promotion/backup_record_id", json!("")))
                .unwrap_err();
        assert_eq!(error.field, "promotion.backup_record_id");
    }

    #[test]
    fn backup_gate_envelope() {
        let body = json!({"product": "cm", "backup_gate": backup_gate()});
        let request = BackupGateEvidenceRequest::parse(&body).unwrap();
        assert_eq!(request.backup_gate.instance, "prod");
        round_trip(&request);
        let error = BackupGateEvidenceRequest::parse(&set(
            body.clone(),
            "/backup_gate/evidence",
            json!({}),
        ))
        .unwrap_err();
        assert_eq!(error.field, "backup_gate.evidence");
        let error =
            BackupGateEvidenceRequest::parse(&insert(body, "/backup_gate", "paths", json!([])))
                .unwrap_err();
        assert_eq!(error.field, "backup_gate.paths");
    }

    #[test]
    fn preview_generation_envelope() {
        let request = PreviewGenerationEvidenceRequest::parse(&generation_body()).unwrap();
        assert_eq!(request.generation.anchor_pr_number, 42);
        round_trip(&request);

        for (pointer, value, field) in [
            ("/generation/context", json!("opw"), "generation.context"),
            (
                "/generation/anchor_repo",
                json!("acme/x"),
                "generation.anchor_repo",
            ),
            (
                "/generation/anchor_pr_number",
                json!(43),
                "generation.anchor_pr_number",
            ),
            (
                "/generation/anchor_pr_url",
                json!("https://x"),
                "generation.anchor_pr_url",
            ),
        ] {
            let error =
                PreviewGenerationEvidenceRequest::parse(&set(generation_body(), pointer, value))
                    .unwrap_err();
            assert_eq!(error.field, field);
            assert!(error.message.contains("matching"), "{error}");
        }

        let body = set(generation_body(), "/preview/anchor_pr_number", json!(0));
        let error = PreviewGenerationEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "preview.anchor_pr_number");
        let body = insert(
            generation_body(),
            "/generation/companion_summaries/0",
            "title",
            json!("t"),
        );
        let error = PreviewGenerationEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "generation.companion_summaries[0].title");
        let body = set(generation_body(), "/generation/state", json!("done"));
        let error = PreviewGenerationEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "generation.state");
        let body = set(
            generation_body(),
            "/generation/resolved_manifest_fingerprint",
            json!(""),
        );
        let error = PreviewGenerationEvidenceRequest::parse(&body).unwrap_err();
        assert_eq!(error.field, "generation.resolved_manifest_fingerprint");
    }

    #[test]
    fn preview_destroyed_envelope() {
        let body = json!({"product": "cm", "destroy": destroy_request()});
        let request = PreviewDestroyedEvidenceRequest::parse(&body).unwrap();
        assert_eq!(request.destroy.destroy_reason, "pull_request_closed");
        round_trip(&request);
        let error = PreviewDestroyedEvidenceRequest::parse(&set(
            body.clone(),
            "/destroy/destroy_reason",
            json!(" "),
        ))
        .unwrap_err();
        assert_eq!(error.field, "destroy.destroy_reason");
        let error =
            PreviewDestroyedEvidenceRequest::parse(&set(body, "/product", json!(""))).unwrap_err();
        assert_eq!(error.field, "product");
    }
}
