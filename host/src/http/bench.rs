//! Bench-only (cargo feature `bench`): a native no-op handler behind the
//! same layers as a driver route, so `cargo xtask bench` can measure what
//! dispatching to a Wasm component costs over not doing so.
//!
//! `POST /v1/bench/native/{driver_id}/{*action_path}` mirrors the driver
//! route `POST /v1/drivers/{driver_id}/{action_path}`: it resolves the same
//! route-table entry and action descriptor, then runs the same steps in the
//! same order as `dispatch` (authentication, envelope, product profile and
//! lane, authorization, schema validation with the driver's compiled
//! validator, `run_mutation` with idempotency and audit) and answers an
//! empty result where `dispatch` would instantiate and call the component.
//!
//! Never compiled into a normal build: the feature is enabled only by the
//! benchmark (`cargo xtask bench`).

use axum::extract::{Path, Request, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::dispatch::{lane_of, mismatch};
use super::envelope::{parse_envelope, validate_payload};
use super::mutation::{Accepted, Mutation};
use super::{AppState, TraceId};
use crate::error::ApiError;
use crate::registry::{Method, RouteMatch};

pub async fn native(
    State(state): State<AppState>,
    Path((driver_id, action_path)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let trace_id = TraceId::new();
    // The driver route this handler stands in for: its descriptor supplies
    // the envelope key, authz action, schema and idempotency mode, and its
    // path is the one idempotency keys and audit events are scoped to.
    let path = format!("/v1/drivers/{driver_id}/{action_path}");
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let run = async {
        let registry = state.registry();
        let target = match registry.route(Method::Post, &path) {
            RouteMatch::Found(target) => target.clone(),
            RouteMatch::WrongMethod => return Err(ApiError::method_not_allowed("POST", &path)),
            RouteMatch::NotFound => return Err(ApiError::no_route(&path)),
        };
        let caller = state.authenticator.authenticate_caller(headers).await?;
        let driver = registry
            .driver(&target.driver_id)
            .ok_or_else(|| ApiError::internal(format!("route {path} names an unloaded driver")))?
            .clone();
        let action = driver
            .descriptor
            .action(&target.action_id)
            .ok_or_else(|| ApiError::internal(format!("route {path} names an undeclared action")))?
            .clone();

        let bytes = axum::body::to_bytes(body, state.body_limit)
            .await
            .map_err(|_| ApiError::payload_too_large(state.body_limit))?;
        let envelope = parse_envelope(&bytes, &action.envelope_key)?;
        if let Some(inner) = envelope.payload.get("product").and_then(Value::as_str)
            && inner.trim() != envelope.product
        {
            return Err(ApiError::invalid_request(format!(
                "Field `{}.product` must equal the envelope's `product`.",
                action.envelope_key
            )));
        }

        let profile = state
            .product_profile(&envelope.product)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "No Launchplane product profile for product `{}`.",
                    envelope.product
                ))
            })?;
        if !registry.compatible(&profile.driver_id, &target.driver_id) {
            return Err(mismatch(format!(
                "Product `{}` uses driver `{}`, which cannot call {} routes.",
                profile.product, profile.driver_id, target.driver_id
            )));
        }
        // The same lane rule as dispatch.
        let (context, instance) = lane_of(&profile, &action, &envelope)?;

        state
            .authorize(
                &trace_id,
                &caller,
                &path,
                &action.authz_action,
                &envelope.product,
                &context,
                &instance,
            )
            .await?;
        if let Some(validator) = driver.validator(&action.action_id) {
            validate_payload(validator, &action.envelope_key, &envelope.payload)?;
        }

        let body_value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mutation = Mutation {
            trace_id: &trace_id,
            caller: &caller.identity,
            method: "POST",
            route_path: &path,
            action: &action.authz_action,
            product: &envelope.product,
            context: &context,
            instance: &instance,
            body: &body_value,
            headers,
            idempotency: action.idempotency,
        };
        state
            .run_mutation(mutation, || async {
                // Where dispatch invokes the component: nothing.
                let mut accepted = Accepted::new();
                accepted.result = Some(json!({}));
                Ok(accepted)
            })
            .await
    };
    run.await.map_err(|e| e.with_trace(&trace_id))
}
