//! Read models (reference §3.2): records by id, lane inventory, preview
//! history, recent activity per context (with the mutations holding its
//! lanes now), operations. Record-level reads
//! authorize against product `launchplane` and the stored record's context,
//! as the original does.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{AppState, TraceId};
use crate::error::ApiError;
use crate::records::{Operation, RecordQuery, StoredRecord};

const LAUNCHPLANE: &str = "launchplane";

async fn record_by_id(
    state: &AppState,
    headers: &HeaderMap,
    trace_id: &TraceId,
    route: &str,
    kind: &str,
    action: &str,
    record_id: &str,
) -> Result<StoredRecord, ApiError> {
    let caller = state.authenticator.authenticate_caller(headers).await?;
    // The record is read first (the original's order): a missing record is
    // 404 before authorization.
    let record = state
        .store
        .get_record(kind, record_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::no_route(route))?;
    state
        .authorize(
            trace_id,
            &caller,
            route,
            action,
            LAUNCHPLANE,
            &record.context,
            "",
        )
        .await?;
    Ok(record)
}

fn ok(trace_id: &TraceId, fields: Value) -> Json<Value> {
    let mut body = json!({"status": "ok", "trace_id": trace_id.as_str()});
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    Json(body)
}

/// `GET` of one record by id: `{"status":"ok","trace_id","record":…}`.
async fn record_response(
    state: &AppState,
    headers: &HeaderMap,
    route: String,
    kind: &str,
    action: &str,
    record_id: &str,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let record = record_by_id(state, headers, &trace_id, &route, kind, action, record_id)
        .await
        .map_err(|e| e.with_trace(&trace_id))?;
    Ok(ok(&trace_id, json!({"record": record.document})))
}

pub async fn deployment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(record_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let route = format!("/v1/deployments/{record_id}");
    record_response(
        &state,
        &headers,
        route,
        "deployment",
        "deployment.read",
        &record_id,
    )
    .await
}

pub async fn promotion(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(record_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let route = format!("/v1/promotions/{record_id}");
    record_response(
        &state,
        &headers,
        route,
        "promotion",
        "promotion.read",
        &record_id,
    )
    .await
}

pub async fn preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(preview_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let route = format!("/v1/previews/{preview_id}");
    record_response(
        &state,
        &headers,
        route,
        "preview",
        "preview.read",
        &preview_id,
    )
    .await
}

pub async fn preview_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(preview_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let route = format!("/v1/previews/{preview_id}/history");
    let result = async {
        let record = record_by_id(
            &state,
            &headers,
            &trace_id,
            &route,
            "preview",
            "preview.read",
            &preview_id,
        )
        .await?;
        // Generations key their `instance` column by preview id.
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
        Ok::<_, ApiError>(ok(
            &trace_id,
            json!({
                "preview": record.document,
                "generations": generations.into_iter().map(|g| g.document).collect::<Vec<_>>(),
            }),
        ))
    };
    result.await.map_err(|e| e.with_trace(&trace_id))
}

pub async fn inventory(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((context, instance)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let route = format!("/v1/inventory/{context}/{instance}");
    let result = async {
        let caller = state.authenticator.authenticate_caller(&headers).await?;
        state
            .authorize(
                &trace_id,
                &caller,
                &route,
                "inventory.read",
                LAUNCHPLANE,
                &context,
                &instance,
            )
            .await?;
        let record = state
            .store
            .get_record("inventory", &format!("{context}-{instance}"))
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!("No inventory for lane {context}/{instance}."))
            })?;
        Ok::<_, ApiError>(ok(&trace_id, json!({"record": record.document})))
    };
    result.await.map_err(|e| e.with_trace(&trace_id))
}

pub async fn recent_operations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(context): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let route = format!("/v1/contexts/{context}/operations/recent");
    let result = async {
        let caller = state.authenticator.authenticate_caller(&headers).await?;
        state
            .authorize(
                &trace_id,
                &caller,
                &route,
                "operations.read",
                LAUNCHPLANE,
                &context,
                "",
            )
            .await?;
        let recent = |kind: &'static str| {
            let state = state.clone();
            let query = RecordQuery {
                context: Some(context.clone()),
                limit: 10,
                ..Default::default()
            };
            async move {
                state
                    .store
                    .list_records(kind, &query)
                    .await
                    .map(|records| records.into_iter().map(|r| r.document).collect::<Vec<_>>())
                    .map_err(ApiError::internal)
            }
        };
        let lane_leases = state
            .store
            .live_lane_leases(&context)
            .await
            .map_err(ApiError::internal)?;
        let active_operations = state
            .store
            .active_operations_in(&context)
            .await
            .map_err(ApiError::internal)?;
        Ok::<_, ApiError>(ok(
            &trace_id,
            json!({
                "context": context,
                "storage_backend": state.store.backend(),
                "inventory": recent("inventory").await?,
                "recent_deployments": recent("deployment").await?,
                "recent_promotions": recent("promotion").await?,
                "recent_previews": recent("preview").await?,
                // Not in the original: which mutation holds which lane now,
                // the holder a `lane_busy` 409 would name.
                "lane_leases": lane_leases,
                "active_operations": active_operations.iter().map(operation_summary).collect::<Vec<_>>(),
            }),
        ))
    };
    result.await.map_err(|e| e.with_trace(&trace_id))
}

/// An active operation as the context's recent view lists it: which action
/// holds which lane, in what phase, since when. Its request and caller are
/// left to `GET /v1/operations/{id}`, which authorizes with the operation's
/// own action rather than `operations.read`.
fn operation_summary(operation: &Operation) -> Value {
    json!({
        "operation_id": operation.operation_id,
        "product": operation.product,
        "context": operation.context,
        "instance": operation.instance,
        "driver_id": operation.driver_id,
        "action_id": operation.action_id,
        "status": operation.status,
        "phase": operation.phase,
        "trace_id": operation.trace_id,
        "created_at": operation.created_at,
        "started_at": operation.started_at,
    })
}

/// `GET /v1/operations/{operation_id}`: authorized with the action that
/// created the operation, on the operation's own product and lane.
pub async fn operation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(operation_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let route = format!("/v1/operations/{operation_id}");
    let result = async {
        let caller = state.authenticator.authenticate_caller(&headers).await?;
        let operation = state
            .store
            .get_operation(&operation_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::no_route(&route))?;
        let registry = state.registry();
        let authz_action = registry
            .driver(&operation.driver_id)
            .and_then(|d| d.descriptor.action(&operation.action_id))
            .map(|a| a.authz_action.clone())
            .unwrap_or_else(|| "operations.read".to_string());
        state
            .authorize(
                &trace_id,
                &caller,
                &route,
                &authz_action,
                &operation.product,
                &operation.context,
                &operation.instance,
            )
            .await?;
        let result = operation.result.clone();
        let mut body = json!({"operation": operation, "poll_url": route});
        if let Some(result) = result {
            body["result"] = result;
        }
        Ok::<_, ApiError>(ok(&trace_id, body))
    };
    result.await.map_err(|e| e.with_trace(&trace_id))
}
