//! `POST /v1/product-onboarding/apply` (reference §3.4 [L]): records which
//! provider object serves each stable lane of a product.
//!
//! Body (unknown fields refused at every level):
//!
//! ```json
//! {"schema_version": 1, "product": "demo", "mode": "dry_run" | "apply",
//!  "provider_targets": [{"provider_id": "dokploy", "context": "demo", "instance": "testing",
//!    "target_type": "application", "target_id": "app-1", "target_name": "demo-testing",
//!    "domains": ["testing.demo.example"], "healthcheck_path": "/web/health",
//!    "deploy_timeout_seconds": 600}]}
//! ```
//!
//! The legacy `dokploy_targets` manifest is refused with a message. Every
//! target must be a stable lane (`testing`/`prod`) of the product's profile,
//! listed once; a stored target of another product is never overwritten
//! (409 `provider_target_conflict`). Authorization: `product_onboarding.apply`
//! on (`launchplane`, `launchplane`). `dry_run` writes nothing and returns the
//! plan (not stored for idempotent replay); `apply` writes the created and
//! changed `provider_target` records in one transaction. Records key:
//! `provider_target_count`.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::providers::ProviderError;
use crate::providers::targets::{
    ProviderTarget, ProviderTargetInput, ProviderTargets, check_unique,
};
use crate::records::Tx;

/// The authorization action.
pub const ACTION: &str = "product_onboarding.apply";

/// The route path.
pub const ROUTE: &str = "/v1/product-onboarding/apply";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    DryRun,
    Apply,
}

impl Mode {
    fn as_str(&self) -> &'static str {
        match self {
            Mode::DryRun => "dry_run",
            Mode::Apply => "apply",
        }
    }
}

fn default_schema_version() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnboardingRequest {
    #[serde(default = "default_schema_version")]
    schema_version: u64,
    product: String,
    mode: Mode,
    provider_targets: Vec<ProviderTargetInput>,
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(format!("Request payload failed validation: {message}"))
}

fn provider_error(error: ProviderError) -> ApiError {
    match error {
        ProviderError::Invalid(m) => invalid(m),
        ProviderError::Config(m) => ApiError::new(
            StatusCode::CONFLICT,
            "provider_target_conflict",
            format!("A stored provider target is unusable: {m}"),
        ),
        other => ApiError::internal(other),
    }
}

/// One planned target.
struct Planned {
    target: ProviderTarget,
    action: &'static str,
}

/// A validated onboarding request.
struct Onboarding {
    /// The request body, as the idempotency fingerprint sees it.
    body: Value,
    /// The product, trimmed.
    product: String,
    mode: Mode,
    targets: Vec<ProviderTarget>,
}

impl Onboarding {
    /// Validates the body; nothing is read from the store yet.
    fn parse(map: Map<String, Value>) -> Result<Onboarding, ApiError> {
        if map.contains_key("dokploy_targets") {
            return Err(ApiError::invalid_request(
                "Field `dokploy_targets` is no longer accepted: send `provider_targets` entries with \
                 `provider_id: \"dokploy\"` instead.",
            ));
        }
        let body = Value::Object(map);
        super::input::check_body(&body)?;
        let parsed: OnboardingRequest =
            crate::records::models::from_value(&body, "").map_err(invalid)?;
        if parsed.schema_version < 1 {
            return Err(invalid("schema_version: must be ≥ 1"));
        }
        let product = parsed.product.trim().to_string();
        if product.is_empty() {
            return Err(invalid("product: must not be blank"));
        }
        if parsed.provider_targets.is_empty() {
            return Err(invalid("provider_targets: at least one target is required"));
        }
        let now = crate::time::now_rfc3339();
        let source = "service:product-onboarding";
        let mut targets = Vec::with_capacity(parsed.provider_targets.len());
        for (index, input) in parsed.provider_targets.into_iter().enumerate() {
            let target = input
                .into_target(&now, source)
                .map_err(|e| invalid(format!("provider_targets[{index}]: {e}")))?;
            targets.push(target);
        }
        check_unique(&targets).map_err(|e| invalid(format!("provider_targets: {e}")))?;
        Ok(Onboarding {
            body,
            product,
            mode: parsed.mode,
            targets,
        })
    }
}

impl Service {
    /// `POST /v1/product-onboarding/apply`.
    pub async fn onboard_product(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let state = self;
        let Onboarding {
            body,
            product,
            mode,
            targets,
        } = Onboarding::parse(map)?;

        state
            .authorize(call, ACTION, "launchplane", "launchplane", "")
            .await?;

        check_lanes(state, &product, &targets).await?;

        // The plan reads the stored targets in the transaction that writes
        // them.
        let mutation = Mutation::host(call, ACTION, &product, "launchplane", &body);
        state
            .run_mutation_tx(mutation, |mut tx: Tx| {
                let (product, targets) = (&product, &targets);
                async move {
                    let outcome = match plan_targets(&mut tx, product, targets).await {
                        Ok(plan) => apply_plan(&mut tx, call, product, mode, &plan).await,
                        Err(refused) => Err(refused),
                    };
                    (tx, outcome)
                }
            })
            .await
    }
}

/// Refuses a target that is not a lane of the product's profile.
async fn check_lanes(
    state: &Service,
    product: &str,
    targets: &[ProviderTarget],
) -> Result<(), ApiError> {
    let profile = state.require_product_profile(product).await?;
    for target in targets {
        let owned = profile
            .lanes
            .iter()
            .any(|l| l.context == target.context && l.instance == target.instance);
        if !owned {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "product_driver_mismatch",
                format!(
                    "Product `{product}` has no lane {}/{}; provider targets may only be onboarded for the profile's lanes.",
                    target.context, target.instance
                ),
            ));
        }
    }
    Ok(())
}

/// Plans each target against the stored one: created, unchanged or
/// updated. A stored target of another product is refused.
async fn plan_targets(
    tx: &mut Tx,
    product: &str,
    targets: &[ProviderTarget],
) -> Result<Vec<Planned>, ApiError> {
    let mut plan: Vec<Planned> = Vec::with_capacity(targets.len());
    for target in targets {
        let existing = ProviderTargets::find_in(tx, &target.provider_id, &target.lane())
            .await
            .map_err(provider_error)?;
        let action = match &existing {
            None => "created",
            Some(owned) if owned.product != product => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "provider_target_conflict",
                    format!(
                        "Provider target {} already belongs to product `{}`; it is not overwritten.",
                        target.record_id(),
                        owned.product
                    ),
                ));
            }
            Some(owned) if owned.target.same_target(target) => "unchanged",
            Some(_) => "updated",
        };
        plan.push(Planned {
            target: target.clone(),
            action,
        });
    }
    Ok(plan)
}

/// Writes the changed targets when applying (a dry run writes nothing)
/// and builds the answer.
async fn apply_plan(
    tx: &mut Tx,
    call: &Call,
    product: &str,
    mode: Mode,
    plan: &[Planned],
) -> Result<Accepted, ApiError> {
    let mut accepted = Accepted::new();
    if mode == Mode::Apply {
        let changed: Vec<ProviderTarget> = plan
            .iter()
            .filter(|p| p.action != "unchanged")
            .map(|p| p.target.clone())
            .collect();
        if !changed.is_empty() {
            accepted.written =
                ProviderTargets::put_in(tx, product, &changed, call.trace_id.as_str())
                    .await
                    .map_err(provider_error)?;
        }
    } else {
        // A plan describes the store at one moment: never replayed.
        accepted.store_for_replay = false;
    }
    let items: Vec<Value> = plan
        .iter()
        .map(|p| {
            let mut item = p.target.read_model();
            item["action"] = json!(p.action);
            item
        })
        .collect();
    accepted = accepted.record("provider_target_count", plan.len());
    accepted.result = Some(json!({
        "product": product,
        "mode": mode.as_str(),
        "applied": mode == Mode::Apply,
        "provider_target_count": plan.len(),
        "written_count": accepted.written.len(),
        "provider_targets": items,
    }));
    Ok(accepted)
}
