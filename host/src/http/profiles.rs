//! Product profiles (reference §3.2, §3.4, §6.8): the record that binds a
//! product to its driver and lanes, and so decides every driver route's
//! product/lane checks.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::JsonPost;
use super::mutation::{Accepted, Mutation};
use super::{AppState, TraceId};
use crate::error::ApiError;
use crate::records::models::parse_record;
use crate::records::models::product_profile::ProductProfile;
use crate::records::{RecordQuery, RecordWrite, StoredRecord};
use crate::registry::Idempotency;

#[derive(Debug, Deserialize)]
pub struct ProfileFilter {
    #[serde(default)]
    driver_id: String,
}

pub async fn list(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(filter): Query<ProfileFilter>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let run = async {
        let caller = state.authenticator.authenticate_caller(&headers).await?;
        state
            .authorize(
                &trace_id,
                &caller,
                "/v1/product-profiles",
                "product_profile.read",
                "launchplane",
                "launchplane",
                "",
            )
            .await?;
        let records = state
            .store
            .list_records(
                "product_profile",
                &RecordQuery {
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .map_err(ApiError::internal)?;
        let mut profiles: Vec<Value> = records
            .into_iter()
            .map(|r| r.document)
            .filter(|p| {
                filter.driver_id.is_empty()
                    || p.get("driver_id").and_then(Value::as_str) == Some(&filter.driver_id)
            })
            .collect();
        profiles.sort_by(|a, b| a["product"].as_str().cmp(&b["product"].as_str()));
        Ok::<_, ApiError>(Json(json!({
            "status": "ok",
            "trace_id": trace_id.as_str(),
            "driver_id": filter.driver_id,
            "profiles": profiles,
        })))
    };
    run.await.map_err(|e| e.with_trace(&trace_id))
}

pub async fn show(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(product): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let route = format!("/v1/product-profiles/{product}");
    let run = async {
        let caller = state.authenticator.authenticate_caller(&headers).await?;
        state
            .authorize(
                &trace_id,
                &caller,
                &route,
                "product_profile.read",
                &product,
                "launchplane",
                "",
            )
            .await?;
        let record = state
            .store
            .get_record("product_profile", &product)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "No Launchplane product profile for product `{product}`."
                ))
            })?;
        Ok::<_, ApiError>(Json(
            json!({"status": "ok", "trace_id": trace_id.as_str(), "profile": record.document}),
        ))
    };
    run.await.map_err(|e| e.with_trace(&trace_id))
}

/// `POST /v1/product-profiles`: the full profile record (not enveloped).
pub async fn write(State(state): State<AppState>, post: JsonPost) -> Result<Response, ApiError> {
    let JsonPost {
        trace_id,
        caller,
        body,
        headers,
        route,
    } = post;
    let run = async {
        let body = Value::Object(body);
        let profile: ProductProfile = parse_record(&body, "").map_err(|e| {
            ApiError::invalid_request(format!("Request payload failed validation: {e}"))
        })?;
        state
            .authorize(
                &trace_id,
                &caller,
                &route,
                "product_profile.write",
                &profile.product,
                "launchplane",
                "",
            )
            .await?;
        if state.registry().driver(&profile.driver_id).is_none() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "Field `driver_id`: `{}` is not a loaded driver.",
                    profile.driver_id
                ),
            ));
        }
        let mutation = Mutation {
            trace_id: &trace_id,
            caller: &caller.identity,
            method: "POST",
            route_path: &route,
            action: "product_profile.write",
            product: &profile.product,
            context: "launchplane",
            instance: "",
            body: &body,
            headers: &headers,
            idempotency: Idempotency::Optional,
        };
        state
            .run_mutation(mutation, || async {
                let document = serde_json::to_value(&profile).map_err(ApiError::internal)?;
                let mut record = StoredRecord::new(
                    "product_profile",
                    &profile.product,
                    &profile.product,
                    document,
                );
                record.context = String::new();
                let mut accepted =
                    Accepted::new().record("product_profile", profile.product.clone());
                accepted.written = state
                    .store
                    .write_records(&[RecordWrite::Replace { record }], trace_id.as_str())
                    .await
                    .map_err(ApiError::internal)?;
                Ok(accepted)
            })
            .await
    };
    run.await.map_err(|e| e.with_trace(&trace_id))
}
