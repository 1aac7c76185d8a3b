//! Managed secret metadata (reference §3.2): the secrets that apply to a
//! context or an instance, and one secret by id. Never a value or a
//! ciphertext: the read model is metadata, binding and recent audit events.
//!
//! Authorization is `secret.list` / `secret.read` on product `launchplane`
//! and the context (for one secret: its stored context, or `launchplane`
//! for a global secret, which belongs to no context).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{AppState, TraceId};
use crate::error::ApiError;
use crate::secrets::SecretError;

const LAUNCHPLANE: &str = "launchplane";

/// How a secret failure is answered. Values never appear in these.
pub fn secret_error(error: SecretError) -> ApiError {
    use axum::http::StatusCode;
    match error {
        SecretError::NotConfigured => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "secret_configuration_required",
            format!("Launchplane is missing required secret write configuration: {error}."),
        ),
        SecretError::Invalid(message) => {
            ApiError::invalid_request(format!("Request payload failed validation: {message}"))
        }
        SecretError::NotFound { .. } => ApiError::not_found(error.to_string()),
        SecretError::Store(crate::records::StoreError::Conflict { kind, record_id }) => {
            ApiError::new(
                StatusCode::CONFLICT,
                "record_conflict",
                format!(
                    "{kind} `{record_id}` changed while this request was applied; nothing was written, retry."
                ),
            )
        }
        other => ApiError::internal(other),
    }
}

/// `GET /v1/contexts/{context}/secrets`.
pub async fn list_for_context(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(context): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let route = format!("/v1/contexts/{context}/secrets");
    list(&state, &headers, &route, &context, "").await
}

/// `GET /v1/contexts/{context}/instances/{instance}/secrets`.
pub async fn list_for_instance(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((context, instance)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let route = format!("/v1/contexts/{context}/instances/{instance}/secrets");
    list(&state, &headers, &route, &context, &instance).await
}

async fn list(
    state: &AppState,
    headers: &HeaderMap,
    route: &str,
    context: &str,
    instance: &str,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let run = async {
        let caller = state.authenticator.authenticate_caller(headers).await?;
        state
            .authorize(
                &trace_id,
                &caller,
                route,
                "secret.list",
                LAUNCHPLANE,
                context,
                "",
            )
            .await?;
        let secrets = state
            .vault()
            .list(context, instance)
            .await
            .map_err(secret_error)?;
        Ok::<_, ApiError>(Json(json!({
            "status": "ok",
            "trace_id": trace_id.as_str(),
            "context": context,
            "instance": instance,
            "secrets": secrets,
        })))
    };
    run.await.map_err(|e| e.with_trace(&trace_id))
}

/// `GET /v1/secrets/{secret_id}`: read first (a missing secret is 404
/// before authorization, as the original's record reads are).
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = TraceId::new();
    let route = format!("/v1/secrets/{secret_id}");
    let run = async {
        let caller = state.authenticator.authenticate_caller(&headers).await?;
        let secret = state
            .vault()
            .status(&secret_id)
            .await
            .map_err(secret_error)?
            .ok_or_else(|| ApiError::not_found(format!("No managed secret `{secret_id}`.")))?;
        let context = match secret.get("context").and_then(Value::as_str) {
            Some(context) if !context.is_empty() => context.to_string(),
            _ => LAUNCHPLANE.to_string(),
        };
        state
            .authorize(
                &trace_id,
                &caller,
                &route,
                "secret.read",
                LAUNCHPLANE,
                &context,
                "",
            )
            .await?;
        Ok::<_, ApiError>(Json(json!({
            "status": "ok",
            "trace_id": trace_id.as_str(),
            "secret": secret,
        })))
    };
    run.await.map_err(|e| e.with_trace(&trace_id))
}
