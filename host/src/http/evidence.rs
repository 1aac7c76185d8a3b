//! Evidence ingest (reference §3.3): deployments, promotions, backup gates,
//! preview generations and destroyed previews. The records and the state
//! derived from them (§8) are written by [`crate::records::ingest`] in one
//! transaction; this module parses, authorizes and answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::envelope::JsonPost;
use super::mutation::{Accepted, Mutation};
use crate::error::ApiError;
use crate::records::StoreError;
use crate::records::ingest::{Ingest, IngestError, Ingested, InventoryRule};
use crate::records::models::ValidationError;
use crate::records::models::evidence::{
    BackupGateEvidenceRequest, DeploymentEvidenceRequest, PreviewDestroyedEvidenceRequest,
    PreviewGenerationEvidenceRequest, PromotionEvidenceRequest,
};
use crate::registry::Idempotency;

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
        IngestError::Store(other) => ApiError::internal(other),
    }
}

fn accepted(ingested: Ingested) -> Accepted {
    Accepted {
        records: ingested.records,
        written: ingested.written,
        ..Accepted::new()
    }
}

/// One evidence route: parse (400), authorize (403), then the mutation tail
/// running `$ingest` with `$with` bound to an [`Ingest`] for the product.
macro_rules! evidence_route {
    ($name:ident, $request:ty, $action:literal, |$req:ident| $context:expr, |$with:ident| $ingest:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            post: JsonPost,
        ) -> Result<Response, ApiError> {
            let JsonPost {
                trace_id,
                caller,
                body,
                headers,
                route,
            } = post;
            let body = Value::Object(body);
            let run = async {
                let $req = <$request>::parse(&body).map_err(invalid)?;
                let context: String = $context;
                state
                    .authorize(
                        &trace_id,
                        &caller,
                        &route,
                        $action,
                        &$req.product,
                        &context,
                        "",
                    )
                    .await?;
                let mutation = Mutation {
                    trace_id: &trace_id,
                    caller: &caller.identity,
                    method: "POST",
                    route_path: &route,
                    action: $action,
                    product: &$req.product,
                    context: &context,
                    instance: "",
                    body: &body,
                    headers: &headers,
                    idempotency: Idempotency::Optional,
                };
                state
                    .run_mutation(mutation, || async {
                        let $with = Ingest {
                            store: &state.store,
                            product: &$req.product,
                            trace_id: trace_id.as_str(),
                        };
                        $ingest.await.map(accepted).map_err(ingest_error)
                    })
                    .await
            };
            run.await.map_err(|e| e.with_trace(&trace_id))
        }
    };
}

evidence_route!(
    deployments,
    DeploymentEvidenceRequest,
    "deployment.write",
    |req| req.deployment.context.clone(),
    |ingest| ingest.deployment(&req.deployment, InventoryRule::Always, false)
);

evidence_route!(
    promotions,
    PromotionEvidenceRequest,
    "promotion.write",
    |req| req.promotion.context.clone(),
    |ingest| ingest.promotion(&req.promotion, InventoryRule::Always, false)
);

evidence_route!(
    backup_gates,
    BackupGateEvidenceRequest,
    "backup_gate.write",
    |req| req.backup_gate.context.clone(),
    |ingest| ingest.backup_gate(&req.backup_gate)
);

evidence_route!(
    preview_generations,
    PreviewGenerationEvidenceRequest,
    "preview_generation.write",
    |req| req.preview.context.clone(),
    |ingest| ingest.preview_generation(
        &req.preview,
        &req.generation,
        std::env::var("LAUNCHPLANE_PREVIEW_BASE_URL")
            .ok()
            .as_deref()
    )
);

evidence_route!(
    previews_destroyed,
    PreviewDestroyedEvidenceRequest,
    "preview_destroyed.write",
    |req| req.destroy.context.clone(),
    |ingest| ingest.preview_destroyed(&req.destroy)
);
