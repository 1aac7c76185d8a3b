//! Driver routes: everything under `/v1/drivers/{driver_id}/…` is matched
//! against the descriptor-derived route table, so no route exists without a
//! descriptor entry. The request then follows the original's order: route
//! (404/405), authentication (401), envelope (400), product profile and
//! lane (404/403), authorization (403), payload schema (400), idempotency
//! (409), and only then driver code.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::envelope::{Envelope, parse_envelope, validate_payload};
use super::mutation::{Accepted, Mutation};
use super::{AppState, TraceId};
use crate::auth::{Caller, CallerIdentity};
use crate::error::ApiError;
use crate::records::models::product_profile::ProductProfile;
use crate::registry::{
    ActionDescriptor, Execution, LoadedDriver, Method, RouteMatch, RouteTarget, Scope,
};
use crate::runtime::{self, DriverError, InvocationScope, InvokeError, Lane};

pub async fn dispatch(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Result<Response, ApiError> {
    let trace_id = TraceId::new();
    let (parts, body) = request.into_parts();
    handle(
        &state,
        &trace_id,
        &parts.method,
        uri.path(),
        &parts.headers,
        body,
    )
    .await
    .map_err(|e| e.with_trace(&trace_id))
}

async fn handle(
    state: &AppState,
    trace_id: &TraceId,
    method: &HttpMethod,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let admitted = admit(state, trace_id, method, path, headers, body).await?;
    execute(state, trace_id, path, headers, admitted).await
}

/// A driver request that passed every check the host makes before driver
/// code runs: route, authentication, envelope, product profile and lane,
/// authorization and payload schema.
pub struct Admitted {
    pub target: RouteTarget,
    pub driver: Arc<LoadedDriver>,
    pub action: ActionDescriptor,
    pub caller: Caller,
    pub envelope: Envelope,
    pub profile: ProductProfile,
    pub context: String,
    pub instance: String,
    /// The request body as JSON, for the idempotency fingerprint and audit.
    pub body: Value,
    pub method: Method,
}

impl Admitted {
    /// The idempotent, audited mutation this request is, for
    /// [`AppState::run_mutation`].
    pub fn mutation<'a>(
        &'a self,
        trace_id: &'a TraceId,
        path: &'a str,
        headers: &'a HeaderMap,
    ) -> Mutation<'a> {
        Mutation {
            trace_id,
            caller: &self.caller.identity,
            method: self.method.as_str(),
            route_path: path,
            action: &self.action.authz_action,
            product: &self.envelope.product,
            context: &self.context,
            instance: &self.instance,
            body: &self.body,
            headers,
            idempotency: self.action.idempotency,
        }
    }
}

/// Runs the checks in the original's order and answers the first refusal.
/// Public so that a stand-in for driver code (the benchmark's native no-op)
/// is measured behind exactly the layers a driver route has.
pub async fn admit(
    state: &AppState,
    trace_id: &TraceId,
    method: &HttpMethod,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Admitted, ApiError> {
    let registry = state.registry();
    let method = match *method {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        ref other => return Err(ApiError::method_not_allowed(other.as_str(), path)),
    };
    let target = match registry.route(method, path) {
        RouteMatch::Found(target) => target.clone(),
        RouteMatch::WrongMethod => return Err(ApiError::method_not_allowed(method.as_str(), path)),
        RouteMatch::NotFound => return Err(ApiError::no_route(path)),
    };
    let caller = state.authenticator.authenticate_caller(headers).await?;
    let driver = registry
        .driver(&target.driver_id)
        .ok_or_else(|| {
            ApiError::internal(format!(
                "route {path} names unloaded driver {}",
                target.driver_id
            ))
        })?
        .clone();
    let action = driver
        .descriptor
        .action(&target.action_id)
        .ok_or_else(|| {
            ApiError::internal(format!(
                "route {path} names undeclared action {}",
                target.action_id
            ))
        })?
        .clone();

    let bytes = axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| ApiError::payload_too_large(state.body_limit))?;
    let envelope = match method {
        Method::Post => parse_envelope(&bytes, &action.envelope_key)?,
        Method::Get => return Err(ApiError::method_not_allowed("GET", path)),
    };
    if let Some(inner) = envelope.payload.get("product").and_then(Value::as_str)
        && inner.trim() != envelope.product
    {
        return Err(ApiError::invalid_request(format!(
            "Field `{}.product` must equal the envelope's `product`.",
            action.envelope_key
        )));
    }

    let profile = state.require_product_profile(&envelope.product).await?;
    if !registry.compatible(&profile.driver_id, &target.driver_id) {
        return Err(mismatch(format!(
            "Product `{}` uses driver `{}`, which cannot call {} routes.",
            profile.product, profile.driver_id, target.driver_id
        )));
    }
    let (context, instance) = lane_of(&profile, &action, &envelope)?;

    state
        .authorize(
            trace_id,
            &caller,
            path,
            &action.authz_action,
            &envelope.product,
            &context,
            &instance,
        )
        .await?;
    if let Some(validator) = driver.validator(&action.action_id) {
        validate_payload(validator, &action.envelope_key, &envelope.payload)?;
    }

    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Admitted {
        target,
        driver,
        action,
        caller,
        envelope,
        profile,
        context,
        instance,
        body,
        method,
    })
}

/// Driver code: the component (sync) or an operation for the worker (async).
async fn execute(
    state: &AppState,
    trace_id: &TraceId,
    path: &str,
    headers: &HeaderMap,
    admitted: Admitted,
) -> Result<Response, ApiError> {
    let mutation = admitted.mutation(trace_id, path, headers);
    let Admitted {
        target,
        driver,
        action,
        caller,
        envelope,
        profile,
        context,
        instance,
        ..
    } = &admitted;
    let scope = InvocationScope {
        product: envelope.product.clone(),
        context: context.clone(),
        instance: instance.clone(),
        lanes: profile
            .lanes
            .iter()
            .map(|l| Lane {
                context: l.context.clone(),
                instance: l.instance.clone(),
            })
            .collect(),
        writes_records: action.writes_records.clone(),
    };
    let invocation = runtime::Invocation {
        trace_id: trace_id.to_string(),
        driver_id: target.driver_id.clone(),
        action_id: action.action_id.clone(),
        product: envelope.product.clone(),
        context: context.clone(),
        instance: instance.clone(),
        request: envelope.payload.to_string(),
        caller: runtime::Caller {
            kind: caller.identity.kind.clone(),
            subject: caller.identity.subject.clone(),
            claims: caller.identity.claims.clone(),
        },
        idempotency_key: super::mutation::idempotency_key(headers)?,
        dry_run: envelope
            .payload
            .get("dry_run")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    match action.execution {
        Execution::Sync => {
            state
                .run_mutation(mutation, || async {
                    let services = state.host_services_for(trace_id.as_str());
                    let invoked = if super::lanes::needs_lane(action) {
                        let lease = state
                            .lease_lane(&invocation, driver.component.limits().deadline_ms)
                            .await?;
                        // The guest runs on the guest pool whether or not
                        // this request is still awaited (a client that
                        // disconnects drops this future), so the lease is
                        // released by a task that waits for the guest, not
                        // by this one.
                        let (component, releaser) = (driver.component.clone(), state.clone());
                        let guest = async move {
                            let invoked = component.handle(invocation, scope, services).await;
                            releaser.release_lane(&lease).await;
                            invoked
                        };
                        tokio::spawn(tracing::Instrument::instrument(
                            guest,
                            tracing::Span::current(),
                        ))
                        .await
                        .map_err(|e| {
                            ApiError::internal(format!("the invocation task failed: {e}"))
                        })?
                    } else {
                        driver.component.handle(invocation, scope, services).await
                    }
                    .map_err(invoke_error)?;
                    let response = invoked
                        .value
                        .map_err(|e| driver_error(&target.driver_id, e))?;
                    let result: Value = serde_json::from_str(&response.result).map_err(|e| {
                        ApiError::internal(format!(
                            "driver {} returned malformed JSON: {e}",
                            target.driver_id
                        ))
                    })?;
                    let mut accepted = Accepted::new();
                    accepted.store_for_replay = !reports_blocked(&result);
                    accepted.result = Some(result);
                    accepted.written = invoked
                        .transcript
                        .iter()
                        .filter(|c| c.function == "records.put" && c.outcome == "ok")
                        .map(|c| c.summary.clone())
                        .collect();
                    accepted.records = response
                        .records
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect();
                    Ok(accepted)
                })
                .await
        }
        Execution::Async => {
            let caller_json = caller_json(&caller.identity);
            let lanes = json!(
                scope
                    .lanes
                    .iter()
                    .map(|l| json!({"context": l.context, "instance": l.instance}))
                    .collect::<Vec<_>>()
            );
            state
                .run_mutation(mutation, || async {
                    let operation = state
                        .enqueue_operation(target, action, &invocation, caller_json, lanes)
                        .await?;
                    let poll_url = format!("/v1/operations/{}", operation.operation_id);
                    let mut accepted =
                        Accepted::new().record("operation_id", operation.operation_id.clone());
                    accepted.result = Some(json!({"operation": operation, "poll_url": poll_url}));
                    accepted.written = vec![operation.operation_id];
                    Ok(accepted)
                })
                .await
        }
    }
}

fn caller_json(caller: &CallerIdentity) -> Value {
    json!({
        "kind": caller.kind,
        "subject": caller.subject,
        "claims": caller.claims.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

/// Whether a driver's answer says it was blocked: a top-level `status` or
/// `*_status` field that is `blocked`. Such an answer describes a state
/// that will change (no testing release yet, a rollback plan refused) and
/// nothing was done, so, as in the original, it is not kept for idempotent
/// replay: a retry with the same key asks again instead of replaying
/// "blocked" forever. Other answers, failures included, are kept.
fn reports_blocked(result: &Value) -> bool {
    result.as_object().is_some_and(|fields| {
        fields.iter().any(|(name, value)| {
            (name == "status" || name.ends_with("_status")) && value.as_str() == Some("blocked")
        })
    })
}

fn mismatch(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "product_driver_mismatch", message)
}

/// The lane an action addresses, from the product profile: instance-scoped
/// actions name a lane the profile owns; preview- and context-scoped
/// actions use the profile's preview context or a context it owns.
fn lane_of(
    profile: &ProductProfile,
    action: &ActionDescriptor,
    envelope: &Envelope,
) -> Result<(String, String), ApiError> {
    let field = |name: &str| {
        envelope
            .payload
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let requested_context = field("context");
    match action.scope {
        Scope::Instance => {
            // The payload's lane field, or its schema default (a promotion's
            // `to_instance` defaults to `prod`).
            let schema_default = |name: &str| {
                action
                    .input_schema
                    .pointer(&format!("/properties/{name}/default"))
                    .and_then(Value::as_str)
                    .map(str::trim)
            };
            let instance = ["instance", "to_instance", "destination_instance"]
                .into_iter()
                .find_map(|name| {
                    field(name)
                        .or_else(|| schema_default(name))
                        .filter(|s| !s.is_empty())
                })
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "Field `{}.instance` is required to name a lane.",
                        action.envelope_key
                    ))
                })?;
            let lane = profile.lane(&instance).ok_or_else(|| {
                mismatch(format!(
                    "Product `{}` has no lane `{instance}`.",
                    profile.product
                ))
            })?;
            if let Some(context) = requested_context
                && context != lane.context
            {
                return Err(mismatch(format!(
                    "Product `{}` lane `{instance}` is in context `{}`, not `{context}`.",
                    profile.product, lane.context
                )));
            }
            Ok((lane.context.clone(), instance))
        }
        Scope::Preview | Scope::Context => {
            let contexts = profile.contexts();
            let context = match requested_context {
                Some(context) => context.to_string(),
                None if !profile.preview.context.trim().is_empty() => {
                    profile.preview.context.clone()
                }
                None => {
                    return Err(mismatch(format!(
                        "Product `{}` has no preview context.",
                        profile.product
                    )));
                }
            };
            if !contexts.iter().any(|c| c == &context) {
                return Err(mismatch(format!(
                    "Context `{context}` does not belong to product `{}`.",
                    profile.product
                )));
            }
            Ok((context, String::new()))
        }
        Scope::Global => Ok(("launchplane".to_string(), String::new())),
    }
}

/// A driver's typed failure, as the original's status and code.
pub fn driver_error(driver_id: &str, error: DriverError) -> ApiError {
    match error {
        DriverError::InvalidRequest(m) => ApiError::invalid_request(m),
        DriverError::PreconditionFailed(m) => {
            ApiError::new(StatusCode::CONFLICT, "precondition_failed", m)
        }
        DriverError::NotFound(m) => ApiError::not_found(m),
        DriverError::NotImplemented(m) => {
            ApiError::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", m)
        }
        DriverError::ProviderFailed(m) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "provider_failed", m)
        }
        DriverError::Internal(m) => ApiError::internal(format!("driver {driver_id}: {m}")),
        DriverError::UnknownAction(m) => ApiError::internal(format!(
            "descriptor and dispatch disagree in {driver_id}: {m}"
        )),
    }
}

/// A sandbox failure: logged with detail, answered without it.
pub fn invoke_error(error: InvokeError) -> ApiError {
    let message = match &error {
        InvokeError::DeadlineExceeded {
            driver_id,
            deadline_ms,
        } => {
            format!("Driver `{driver_id}` exceeded its deadline of {deadline_ms} ms.")
        }
        InvokeError::MemoryExceeded {
            driver_id,
            memory_mib,
        } => {
            format!("Driver `{driver_id}` exceeded its memory cap of {memory_mib} MiB.")
        }
        InvokeError::Trap { driver_id, .. } => {
            format!("Driver `{driver_id}` failed. Use trace_id to inspect service logs.")
        }
        InvokeError::Closed => "The driver runtime is shutting down.".to_string(),
    };
    tracing::error!(%error, "driver invocation failed");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
}
