//! Evidence ingest (reference §3.3): deployments, promotions, backup gates,
//! preview generations and destroyed previews. The records and the state
//! derived from them (§8) are written by [`crate::records::ingest`] in one
//! transaction; this module parses, authorizes and answers.
//!
//! Each route is one [`Evidence`] type; [`Service::ingest_evidence`] is the
//! whole route: parse (400), authorize (403), then the mutation.

use axum::http::StatusCode;
use serde_json::Value;

use super::input::{check_body, input_error};
use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::records::ingest::{Ingest, IngestError, Ingested, InventoryRule};
use crate::records::models::ValidationError;
use crate::records::models::evidence::{
    BackupGateEvidenceRequest, DeploymentEvidenceRequest, PreviewDestroyedEvidenceRequest,
    PreviewGenerationEvidenceRequest, PromotionEvidenceRequest,
};
use crate::records::{StoreError, Tx};

fn invalid(error: ValidationError) -> ApiError {
    ApiError::invalid_request(format!("Request payload failed validation: {error}"))
}

/// An ingest failure as the original's status and code.
pub fn ingest_error(error: IngestError) -> ApiError {
    match error {
        IngestError::Invalid(e) => invalid(e),
        IngestError::NotFound(message) => ApiError::not_found(message),
        IngestError::Store(StoreError::Conflict { kind, record_id }) => ApiError::new(
            StatusCode::CONFLICT,
            "record_conflict",
            format!("Record {kind} `{record_id}` already exists with different content."),
        ),
        IngestError::Store(StoreError::Invalid(input)) => input_error(input),
        IngestError::Store(other) => ApiError::internal(other),
    }
}

/// One evidence route's request.
pub trait Evidence: Sized {
    /// The authorization action.
    const ACTION: &'static str;
    fn parse(body: &Value) -> Result<Self, ValidationError>;
    fn product(&self) -> &str;
    /// The context authorization is decided on.
    fn context(&self) -> &str;
    /// Writes the evidence and its derived state.
    fn ingest(
        &self,
        ingest: &Ingest<'_>,
        tx: &mut Tx,
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send;
}

impl Service {
    /// One evidence route: parse (400), authorize (403), then the mutation.
    pub async fn ingest_evidence<E: Evidence + Sync>(
        &self,
        call: &Call,
        body: Value,
    ) -> Result<Reply, ApiError> {
        check_body(&body)?;
        let request = E::parse(&body).map_err(invalid)?;
        self.authorize(call, E::ACTION, request.product(), request.context(), "")
            .await?;
        let mutation = Mutation::host(call, E::ACTION, request.product(), request.context(), &body);
        let request = &request;
        self.run_mutation_tx(mutation, |mut tx: Tx| async move {
            let ingest = Ingest {
                product: request.product(),
                trace_id: call.trace_id.as_str(),
            };
            let outcome = request
                .ingest(&ingest, &mut tx)
                .await
                .map_err(ingest_error)
                .map(|ingested| Accepted {
                    records: ingested.records,
                    written: ingested.written,
                    pending: ingested.pending,
                    ..Accepted::new()
                });
            (tx, outcome)
        })
        .await
    }
}

impl Evidence for DeploymentEvidenceRequest {
    const ACTION: &'static str = "deployment.write";
    fn parse(body: &Value) -> Result<Self, ValidationError> {
        DeploymentEvidenceRequest::parse(body)
    }
    fn product(&self) -> &str {
        &self.product
    }
    fn context(&self) -> &str {
        &self.deployment.context
    }
    async fn ingest(&self, ingest: &Ingest<'_>, tx: &mut Tx) -> Result<Ingested, IngestError> {
        ingest
            .deployment(tx, &self.deployment, InventoryRule::Always, false)
            .await
    }
}

impl Evidence for PromotionEvidenceRequest {
    const ACTION: &'static str = "promotion.write";
    fn parse(body: &Value) -> Result<Self, ValidationError> {
        PromotionEvidenceRequest::parse(body)
    }
    fn product(&self) -> &str {
        &self.product
    }
    fn context(&self) -> &str {
        &self.promotion.context
    }
    async fn ingest(&self, ingest: &Ingest<'_>, tx: &mut Tx) -> Result<Ingested, IngestError> {
        ingest
            .promotion(tx, &self.promotion, InventoryRule::Always, false)
            .await
    }
}

impl Evidence for BackupGateEvidenceRequest {
    const ACTION: &'static str = "backup_gate.write";
    fn parse(body: &Value) -> Result<Self, ValidationError> {
        BackupGateEvidenceRequest::parse(body)
    }
    fn product(&self) -> &str {
        &self.product
    }
    fn context(&self) -> &str {
        &self.backup_gate.context
    }
    async fn ingest(&self, ingest: &Ingest<'_>, tx: &mut Tx) -> Result<Ingested, IngestError> {
        let _ = tx;
        ingest.backup_gate(&self.backup_gate).await
    }
}

impl Evidence for PreviewGenerationEvidenceRequest {
    const ACTION: &'static str = "preview_generation.write";
    fn parse(body: &Value) -> Result<Self, ValidationError> {
        PreviewGenerationEvidenceRequest::parse(body)
    }
    fn product(&self) -> &str {
        &self.product
    }
    fn context(&self) -> &str {
        &self.preview.context
    }
    async fn ingest(&self, ingest: &Ingest<'_>, tx: &mut Tx) -> Result<Ingested, IngestError> {
        let base_url = std::env::var("LAUNCHPLANE_PREVIEW_BASE_URL").ok();
        ingest
            .preview_generation(tx, &self.preview, &self.generation, base_url.as_deref())
            .await
    }
}

impl Evidence for PreviewDestroyedEvidenceRequest {
    const ACTION: &'static str = "preview_destroyed.write";
    fn parse(body: &Value) -> Result<Self, ValidationError> {
        PreviewDestroyedEvidenceRequest::parse(body)
    }
    fn product(&self) -> &str {
        &self.product
    }
    fn context(&self) -> &str {
        &self.destroy.context
    }
    async fn ingest(&self, ingest: &Ingest<'_>, tx: &mut Tx) -> Result<Ingested, IngestError> {
        ingest.preview_destroyed(tx, &self.destroy).await
    }
}
