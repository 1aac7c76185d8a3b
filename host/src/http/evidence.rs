//! Evidence ingest routes (reference §3.3).

use axum::extract::State;

use super::extract::JsonObject;
use crate::error::ApiError;
use crate::ops::{Call, Reply, Service};
use crate::records::models::evidence::{
    BackupGateEvidenceRequest, DeploymentEvidenceRequest, PreviewDestroyedEvidenceRequest,
    PreviewGenerationEvidenceRequest, PromotionEvidenceRequest,
};

/// `POST /v1/evidence/deployments`.
pub async fn deployments(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .ingest_evidence::<DeploymentEvidenceRequest>(&call, body.value())
        .await
}

/// `POST /v1/evidence/promotions`.
pub async fn promotions(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .ingest_evidence::<PromotionEvidenceRequest>(&call, body.value())
        .await
}

/// `POST /v1/evidence/backup-gates`.
pub async fn backup_gates(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .ingest_evidence::<BackupGateEvidenceRequest>(&call, body.value())
        .await
}

/// `POST /v1/evidence/previews/generations`.
pub async fn preview_generations(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .ingest_evidence::<PreviewGenerationEvidenceRequest>(&call, body.value())
        .await
}

/// `POST /v1/evidence/previews/destroyed`.
pub async fn previews_destroyed(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .ingest_evidence::<PreviewDestroyedEvidenceRequest>(&call, body.value())
        .await
}
