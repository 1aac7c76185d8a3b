//! `POST /v1/live-target-runtime/apply`: a lane's resolved runtime
//! environment pushed to its provider target, over the API
//! ([`crate::providers::live_env`]).
//!
//! ```json
//! {"schema_version": 1, "mode": "dry-run" | "apply",
//!  "product": "demo", "context": "demo", "instance": "testing"}
//! ```
//!
//! Order: validation (400), authorization (`live_target_runtime.plan` for a
//! dry run, `live_target_runtime.apply` otherwise, on (product, context)),
//! the lane must be one of the product's (403
//! `context_not_in_product_boundary`), a provider must be configured (503
//! `provider_unavailable`), then idempotency. The answer holds key names
//! and counts only. `apply` sets the keys that are missing from the target
//! or differ there, removes nothing and deploys nothing
//! (`"deployed": false`): a new value takes effect at the next deploy. A
//! dry run writes nothing and is never replayed.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::mutation::Mutation;
use super::secrets::secret_error;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::providers::live_env::{self, LiveEnvError};
use crate::providers::{DeployProvider, ProviderError};
use crate::records::Lane;

/// The route path.
pub const ROUTE: &str = "/v1/live-target-runtime/apply";

const KEYS: &[&str] = &["schema_version", "mode", "product", "context", "instance"];

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(format!(
        "Live target runtime request failed validation: {message}"
    ))
}

/// The validated request.
struct LiveTargetRequest {
    apply: bool,
    product: String,
    lane: Lane,
}

impl LiveTargetRequest {
    fn parse(map: &Map<String, Value>) -> Result<LiveTargetRequest, ApiError> {
        if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(invalid(format!("{key}: unknown field")));
        }
        match map.get("schema_version") {
            None | Some(Value::Null) => {}
            Some(v) if v.as_u64() == Some(1) => {}
            Some(_) => return Err(invalid("schema_version: must be 1")),
        }
        let text = |key: &str| match map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(invalid(format!("{key}: must be a non-blank string"))),
        };
        let apply = match text("mode")?.to_ascii_lowercase().as_str() {
            "dry-run" => false,
            "apply" => true,
            _ => return Err(invalid("mode: must be `dry-run` or `apply`")),
        };
        Ok(LiveTargetRequest {
            apply,
            product: text("product")?,
            lane: Lane {
                context: text("context")?,
                instance: text("instance")?,
            },
        })
    }

    fn action(&self) -> &'static str {
        if self.apply {
            "live_target_runtime.apply"
        } else {
            "live_target_runtime.plan"
        }
    }
}

impl Service {
    /// `POST /v1/live-target-runtime/apply`.
    pub async fn apply_live_target(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let state = self;
        super::input::check_body(&Value::Object(map.clone()))?;
        let request = LiveTargetRequest::parse(&map)?;
        let lane = &request.lane;
        state
            .authorize(
                call,
                request.action(),
                &request.product,
                &lane.context,
                &lane.instance,
            )
            .await?;
        let profile = state.require_product_profile(&request.product).await?;
        if !profile
            .lanes
            .iter()
            .any(|l| l.context == lane.context && l.instance == lane.instance)
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "context_not_in_product_boundary",
                format!(
                    "`{}/{}` is not a lane of product `{}`.",
                    lane.context, lane.instance, request.product
                ),
            ));
        }
        let provider = state.deploy_provider.clone().ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                "No runtime provider is configured on this service (LAUNCHPLANE_PROVIDER).",
            )
        })?;
        let body = Value::Object(map);
        let mutation = Mutation::host(
            call,
            request.action(),
            &request.product,
            &lane.context,
            &body,
        )
        .on_instance(&lane.instance);
        state
            .run_mutation(mutation, || execute(state, &request, provider))
            .await
    }
}

async fn execute(
    state: &Service,
    request: &LiveTargetRequest,
    provider: Arc<dyn DeployProvider>,
) -> Result<Accepted, ApiError> {
    let vault = state.vault();
    let plan = live_env::plan(&state.store, &vault, provider.as_ref(), &request.lane)
        .await
        .map_err(live_env_error)?;
    if request.apply {
        live_env::apply(provider.as_ref(), &plan)
            .await
            .map_err(live_env_error)?;
    }
    let mut result = plan.summary();
    result["status"] = json!("ok");
    result["mode"] = json!(if request.apply { "apply" } else { "dry-run" });
    result["product"] = json!(request.product);
    result["deployed"] = json!(false);
    let applied = if request.apply {
        plan.keys_to_set().len()
    } else {
        0
    };
    let mut accepted = Accepted::new().record("live_target_key_count", applied);
    // A plan describes the target at one moment: never replayed.
    accepted.store_for_replay = request.apply;
    accepted.result = Some(result);
    Ok(accepted)
}

fn live_env_error(error: LiveEnvError) -> ApiError {
    match error {
        LiveEnvError::Store(e) => ApiError::internal(e),
        LiveEnvError::Secret(e) => secret_error(e),
        LiveEnvError::Provider(ProviderError::NotFound(m)) => ApiError::not_found(m),
        LiveEnvError::Provider(ProviderError::Invalid(m)) => ApiError::invalid_request(m),
        LiveEnvError::Provider(e) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "provider_failed", e.to_string())
        }
    }
}
