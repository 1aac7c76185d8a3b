//! Evidence ingest (reference §3.3): deployments, promotions, backup gates,
//! preview generations and destroyed previews, with the derived state of
//! §8 (inventory, promotion linkage, release tuples, preview transitions)
//! written in the same transaction as the evidence.

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::mutation::{Accepted, Mutation};
use super::{AppState, TraceId};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::records::models::deployment::DeploymentRecord;
use crate::records::models::evidence::{
    BackupGateEvidenceRequest, DeploymentEvidenceRequest, PreviewDestroyedEvidenceRequest,
    PreviewGenerationEvidenceRequest, PromotionEvidenceRequest,
};
use crate::records::models::inventory::EnvironmentInventory;
use crate::records::models::preview::{PreviewRecord, apply_destroy, apply_generation};
use crate::records::models::release_tuple::{
    ReleaseTupleRecord, is_stable_channel, mint_from_promotion,
};
use crate::records::models::{ValidationError, from_value};
use crate::records::{RecordQuery, RecordWrite, StoreError, StoredRecord};
use crate::registry::Idempotency;

fn invalid(error: ValidationError) -> ApiError {
    ApiError::invalid_request(format!("Request payload failed validation: {error}"))
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(ApiError::internal)
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict { kind, record_id } => ApiError::new(
            StatusCode::CONFLICT,
            "record_conflict",
            format!("Record {kind} `{record_id}` already exists with different content."),
        ),
        other => ApiError::internal(other),
    }
}

/// The common front of every evidence route: authenticate, read the body.
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(Caller, Value), ApiError> {
    let caller = state.authenticator.authenticate_caller(headers).await?;
    let bytes = axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| ApiError::payload_too_large(state.body_limit))?;
    let map = super::envelope::parse_object(&bytes)?;
    Ok((caller, Value::Object(map)))
}

/// Runs one evidence route: parse, authorize, then the mutation tail.
macro_rules! evidence_route {
    ($name:ident, $request:ty, $action:literal, |$state:ident, $req:ident, $trace:ident| $context:expr, $execute:expr) => {
        pub async fn $name(
            State($state): State<AppState>,
            OriginalUri(uri): OriginalUri,
            request: Request,
        ) -> Result<Response, ApiError> {
            let $trace = TraceId::new();
            let trace_id = &$trace;
            let (parts, body) = request.into_parts();
            let route = uri.path().to_string();
            let run = async {
                let (caller, body) = begin(&$state, &parts.headers, body).await?;
                let $req = <$request>::parse(&body).map_err(invalid)?;
                let context: String = $context;
                $state
                    .authorize(
                        trace_id,
                        &caller,
                        &route,
                        $action,
                        &$req.product,
                        &context,
                        "",
                    )
                    .await?;
                let mutation = Mutation {
                    trace_id,
                    caller: &caller.identity,
                    method: "POST",
                    route_path: &route,
                    action: $action,
                    product: &$req.product,
                    context: &context,
                    instance: "",
                    body: &body,
                    headers: &parts.headers,
                    idempotency: Idempotency::Optional,
                };
                $state.run_mutation(mutation, || $execute).await
            };
            run.await.map_err(|e| e.with_trace(trace_id))
        }
    };
}

/// An evidence record as a store write. Re-sending an id with different
/// content is allowed only as the declared transition out of `pending`.
async fn evidence_write(
    state: &AppState,
    kind: &str,
    record_id: &str,
    product: &str,
    instance: &str,
    document: Value,
) -> Result<RecordWrite, ApiError> {
    let existing = state
        .store
        .get_record(kind, record_id)
        .await
        .map_err(ApiError::internal)?;
    let pending = |doc: &Value| {
        doc.pointer("/deploy/status")
            .or_else(|| doc.pointer("/status"))
            .and_then(Value::as_str)
            == Some("pending")
    };
    let allow_transition = existing.as_ref().is_some_and(|r| pending(&r.document));
    let record = StoredRecord::new(kind, record_id, product, document).with_instance(instance);
    Ok(RecordWrite::Append {
        record,
        allow_transition,
    })
}

fn inventory_write(
    product: &str,
    inventory: &EnvironmentInventory,
) -> Result<RecordWrite, ApiError> {
    inventory
        .validate()
        .map_err(|e| invalid(e.within("inventory")))?;
    Ok(RecordWrite::Replace {
        record: StoredRecord::new("inventory", &inventory.id(), product, to_value(inventory)?),
    })
}

async fn stored<T: serde::de::DeserializeOwned>(
    state: &AppState,
    kind: &str,
    id: &str,
) -> Result<Option<T>, ApiError> {
    match state
        .store
        .get_record(kind, id)
        .await
        .map_err(ApiError::internal)?
    {
        None => Ok(None),
        Some(record) => from_value(&record.document, kind)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("stored {kind} `{id}` is malformed: {e}"))),
    }
}

evidence_route!(
    deployments,
    DeploymentEvidenceRequest,
    "deployment.write",
    |state, req, trace_id| req.deployment.context.clone(),
    async {
        let deployment = &req.deployment;
        let now = crate::time::now_rfc3339();
        let inventory = EnvironmentInventory::from_deployment(deployment, None, &now);
        let writes = vec![
            evidence_write(
                &state,
                "deployment",
                &deployment.record_id,
                &req.product,
                &deployment.instance,
                to_value(deployment)?,
            )
            .await?,
            inventory_write(&req.product, &inventory)?,
        ];
        let written = state
            .store
            .write_records(&writes, trace_id.as_str())
            .await
            .map_err(store_error)?;
        let mut accepted = Accepted::new()
            .record("deployment_record_id", deployment.record_id.clone())
            .record("inventory_record_id", inventory.id());
        accepted.written = written;
        Ok(accepted)
    }
);

evidence_route!(
    promotions,
    PromotionEvidenceRequest,
    "promotion.write",
    |state, req, trace_id| req.promotion.context.clone(),
    async {
        let promotion = &req.promotion;
        let now = crate::time::now_rfc3339();
        let mut writes = vec![
            evidence_write(
                &state,
                "promotion",
                &promotion.record_id,
                &req.product,
                &promotion.to_instance,
                to_value(promotion)?,
            )
            .await?,
        ];
        let mut accepted =
            Accepted::new().record("promotion_record_id", promotion.record_id.clone());
        if !promotion.deployment_record_id.trim().is_empty() {
            let deployment: DeploymentRecord =
                stored(&state, "deployment", &promotion.deployment_record_id)
                    .await?
                    .ok_or_else(|| {
                        ApiError::not_found(format!(
                            "No deployment record `{}`.",
                            promotion.deployment_record_id
                        ))
                    })?;
            let link = promotion
                .check_deployment_link(&deployment)
                .map_err(|e| invalid(e.within("promotion")))?;
            let inventory = EnvironmentInventory::from_deployment(&deployment, Some(link), &now);
            writes.push(inventory_write(&req.product, &inventory)?);
            accepted = accepted.record("inventory_record_id", inventory.id());
            // Mint the destination release tuple from the source tuple when the
            // source lane has one (reference §8 rule 3).
            let source_key = format!("{}-{}", promotion.context, promotion.from_instance);
            let stable = is_stable_channel(&promotion.from_instance)
                && is_stable_channel(&promotion.to_instance);
            if stable
                && let Some(source) =
                    stored::<ReleaseTupleRecord>(&state, "release_tuple", &source_key).await?
            {
                let minted = mint_from_promotion(&source, promotion, &now)
                    .map_err(|e| invalid(e.within("promotion")))?;
                let key = format!("{}-{}", promotion.context, promotion.to_instance);
                let record =
                    StoredRecord::new("release_tuple", &key, &req.product, to_value(&minted)?)
                        .with_instance(&promotion.to_instance);
                writes.push(RecordWrite::Replace { record });
                accepted = accepted.record("release_tuple_id", minted.tuple_id.clone());
            }
        }
        accepted.written = state
            .store
            .write_records(&writes, trace_id.as_str())
            .await
            .map_err(store_error)?;
        Ok(accepted)
    }
);

evidence_route!(
    backup_gates,
    BackupGateEvidenceRequest,
    "backup_gate.write",
    |state, req, trace_id| req.backup_gate.context.clone(),
    async {
        let gate = &req.backup_gate;
        let writes = vec![
            evidence_write(
                &state,
                "backup_gate",
                &gate.record_id,
                &req.product,
                &gate.instance,
                to_value(gate)?,
            )
            .await?,
        ];
        let mut accepted = Accepted::new().record("backup_gate_record_id", gate.record_id.clone());
        accepted.written = state
            .store
            .write_records(&writes, trace_id.as_str())
            .await
            .map_err(store_error)?;
        Ok(accepted)
    }
);

evidence_route!(
    preview_generations,
    PreviewGenerationEvidenceRequest,
    "preview_generation.write",
    |state, req, trace_id| req.preview.context.clone(),
    async {
        let preview_id = req.preview.preview_id();
        let existing: Option<PreviewRecord> = stored(&state, "preview", &preview_id).await?;
        let query = RecordQuery {
            instance: Some(preview_id.clone()),
            limit: 1000,
            ..Default::default()
        };
        let generations = state
            .store
            .list_records("preview_generation", &query)
            .await
            .map_err(ApiError::internal)?;
        let next_sequence = generations
            .iter()
            .filter_map(|g| g.document.get("sequence").and_then(Value::as_u64))
            .max()
            .unwrap_or(0) as u32
            + 1;
        let base_url = std::env::var("LAUNCHPLANE_PREVIEW_BASE_URL").ok();
        let (preview, generation) = apply_generation(
            existing,
            &req.preview,
            &req.generation,
            next_sequence,
            base_url.as_deref(),
        )
        .map_err(invalid)?;
        let writes = vec![
            RecordWrite::Replace {
                record: StoredRecord::new(
                    "preview",
                    &preview.preview_id,
                    &req.product,
                    to_value(&preview)?,
                ),
            },
            evidence_write(
                &state,
                "preview_generation",
                &generation.generation_id,
                &req.product,
                &preview.preview_id,
                to_value(&generation)?,
            )
            .await?,
        ];
        let mut accepted = Accepted::new()
            .record("generation_id", generation.generation_id.clone())
            .record("preview_id", preview.preview_id.clone())
            .record("transition", generation.state.as_str());
        accepted.written = state
            .store
            .write_records(&writes, trace_id.as_str())
            .await
            .map_err(store_error)?;
        Ok(accepted)
    }
);

evidence_route!(
    previews_destroyed,
    PreviewDestroyedEvidenceRequest,
    "preview_destroyed.write",
    |state, req, trace_id| req.destroy.context.clone(),
    async {
        let preview_id = req.destroy.preview_id();
        // Destroy evidence never creates a preview.
        let existing: PreviewRecord =
            stored(&state, "preview", &preview_id)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "No Launchplane preview found for `{preview_id}`."
                    ))
                })?;
        let preview = apply_destroy(existing, &req.destroy);
        let writes = vec![RecordWrite::Replace {
            record: StoredRecord::new(
                "preview",
                &preview.preview_id,
                &req.product,
                to_value(&preview)?,
            ),
        }];
        let mut accepted = Accepted::new()
            .record("preview_id", preview.preview_id.clone())
            .record("transition", "destroyed");
        accepted.written = state
            .store
            .write_records(&writes, trace_id.as_str())
            .await
            .map_err(store_error)?;
        Ok(accepted)
    }
);
