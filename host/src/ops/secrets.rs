//! Managed secret metadata (reference §3.2): the secrets that apply to a
//! context or an instance, and one secret by id. Never a value or a
//! ciphertext: the read model is metadata, binding and recent audit events.
//!
//! Authorization is `secret.list` / `secret.read` on product `launchplane`
//! and the context (for one secret: its stored context, or `launchplane`
//! for a global secret, which belongs to no context).

use serde_json::{Value, json};

use super::{Call, Reply, Service};
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
        SecretError::MasterKeyMismatch { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "secrets_master_key_mismatch",
            error.to_string(),
        ),
        SecretError::BindingMismatch { .. } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "secret_binding_mismatch",
            error.to_string(),
        ),
        SecretError::Store(crate::records::StoreError::Invalid(input)) => {
            super::input::input_error(input)
        }
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

impl Service {
    /// `GET /v1/contexts/{context}/secrets` (`instance` empty) and
    /// `GET /v1/contexts/{context}/instances/{instance}/secrets`.
    pub async fn list_secrets(
        &self,
        call: &Call,
        context: &str,
        instance: &str,
    ) -> Result<Reply, ApiError> {
        super::input::check_path_id("context", context)?;
        if !instance.is_empty() {
            super::input::check_path_id("instance", instance)?;
        }
        self.authorize(call, "secret.list", LAUNCHPLANE, context, "")
            .await?;
        let secrets = self
            .vault()
            .list(context, instance)
            .await
            .map_err(secret_error)?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({"context": context, "instance": instance, "secrets": secrets}),
        ))
    }

    /// `GET /v1/secrets/{secret_id}`: read first (a missing secret is 404
    /// before authorization, as the original's record reads are).
    pub async fn show_secret(&self, call: &Call, secret_id: &str) -> Result<Reply, ApiError> {
        super::input::check_path_id("secret_id", secret_id)?;
        let secret = self
            .vault()
            .status(secret_id)
            .await
            .map_err(secret_error)?
            .ok_or_else(|| ApiError::not_found(format!("No managed secret `{secret_id}`.")))?;
        let context = match secret.get("context").and_then(Value::as_str) {
            Some(context) if !context.is_empty() => context.to_string(),
            _ => LAUNCHPLANE.to_string(),
        };
        self.authorize(call, "secret.read", LAUNCHPLANE, &context, "")
            .await?;
        Ok(Reply::ok(&call.trace_id, json!({"secret": secret})))
    }
}
