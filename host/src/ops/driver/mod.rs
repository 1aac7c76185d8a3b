//! Driver actions: everything under `/v1/drivers/{driver_id}/…`.
//!
//! Routes come only from the descriptor-derived route table, so no route
//! exists without a descriptor entry. Read [`Service::run_driver_action`]
//! first: it is the whole path of a driver request after the route and the
//! caller are known, one step per file, top to bottom:
//!
//! 1. [`admission`]: envelope (400), product profile and lane (404/403),
//!    authorization (403), payload schema (400);
//! 2. `ops/idempotency.rs`: the `Idempotency-Key` is reserved (replay, 409);
//! 3. [`execute`]: driver code, in the request on a leased lane ([`lane`])
//!    for a sync action, or as a durable operation for an async one (after
//!    the driver's request-time proof, hook `admit-operation`), which the
//!    [`worker`] runs later with the same typed [`ActionCall`];
//! 4. `ops/completion.rs`: the accepted envelope, the stored replay and
//!    the audit event.

pub mod admission;
mod base_action;
pub mod envelope;
pub mod execute;
pub mod invocation;
pub mod lane;
mod worker;

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value};

pub use execute::{driver_error, invoke_error};
pub use invocation::{ActionCall, OperationRequest};
pub use worker::{Worker, WorkerConfig};

use self::admission::Admitted;
use super::attempt::ReservationFence;
use super::idempotency::Ticket;
use super::{Call, Reply, Service};
use crate::error::ApiError;
use crate::records::models::product_profile::ProductProfile;
use crate::records::{IdempotencyKey, Lane};
use crate::registry::{
    ActionDescriptor, Execution, LoadedDriver, Method, Registry, RouteMatch, RouteTarget,
};

/// A matched driver route: the registry it was matched in (a reload never
/// changes a request midway), the driver and its declared action.
#[derive(Clone)]
pub struct DriverRoute {
    pub registry: Arc<Registry>,
    pub target: RouteTarget,
    pub driver: Arc<LoadedDriver>,
    pub action: ActionDescriptor,
}

impl Service {
    /// The driver route for `method` and `path`: 404 for no route, 405 for
    /// another method. The first check of every driver request, before the
    /// caller is known.
    pub fn driver_route(&self, method: &str, path: &str) -> Result<DriverRoute, ApiError> {
        let registry = self.registry();
        // Driver actions take an envelope, so only a declared POST is ever
        // served: a 405 names it in `Allow` when the path has one.
        let refuse = |method: &str| {
            let allowed: &[&str] = match registry.route(Method::Post, path) {
                RouteMatch::Found(_) => &["POST"],
                _ => &[],
            };
            ApiError::method_not_allowed_with_allow(method, path, allowed)
        };
        let method = match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => return Err(refuse(other)),
        };
        let target = match registry.route(method, path) {
            RouteMatch::Found(target) => target.clone(),
            RouteMatch::WrongMethod => return Err(refuse(method.as_str())),
            RouteMatch::NotFound => return Err(ApiError::no_route(path)),
        };
        // A declared GET has no envelope to read.
        if method == Method::Get {
            return Err(refuse("GET"));
        }
        let driver = registry.driver(&target.driver_id).cloned().ok_or_else(|| {
            ApiError::internal(format!(
                "route {path} names unloaded driver {}",
                target.driver_id
            ))
        })?;
        let action = driver
            .descriptor
            .action(&target.action_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "route {path} names undeclared action {}",
                    target.action_id
                ))
            })?;
        Ok(DriverRoute {
            registry,
            target,
            driver,
            action,
        })
    }

    /// The driver action whose declared operation poll route is `path`,
    /// and the operation id in it.
    pub fn poll_route(&self, path: &str) -> Option<(RouteTarget, String)> {
        self.registry().poll_route(path)
    }

    /// One driver request, from admission to the committed answer.
    pub async fn run_driver_action(
        &self,
        call: &Call,
        route: DriverRoute,
        body: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let admitted = self.admit(call, route, body).await?;
        let mutation = admitted.mutation(call);
        let key = match self.reserve(&mutation).await? {
            Ticket::Replay(reply) => return Ok(reply),
            Ticket::Proceed(key) => key,
        };
        let action_call = action_call(call, &admitted)?;
        if admitted.route.action.execution == Execution::Sync {
            return self.run_sync(call, admitted, action_call, key).await;
        }
        let mutation = admitted.mutation(call);
        let outcome = match self.admit_operation(&admitted, &action_call).await {
            Ok(()) => self.enqueue(&admitted.route.action, action_call).await,
            Err(refused) => Err(refused),
        };
        self.complete(&mutation, key.as_ref(), outcome).await
    }

    /// A sync action and its completion, on a task of its own: a caller
    /// that hangs up stops neither, so the records it wrote commit with
    /// its answer (or with its failure) whether or not anyone waits.
    async fn run_sync(
        &self,
        call: &Call,
        admitted: Admitted,
        action_call: ActionCall,
        key: Option<IdempotencyKey>,
    ) -> Result<Reply, ApiError> {
        let (service, call) = (self.clone(), call.clone());
        let task = async move {
            let fence = key
                .as_ref()
                .map(|key| ReservationFence::new(&service, key, call.trace_id.as_str()));
            let outcome = service
                .invoke(&admitted, action_call, key.as_ref(), fence.clone())
                .await;
            let deferred = fence.as_deref().map(ReservationFence::deferred);
            service
                .complete_with(&admitted.mutation(&call), key.as_ref(), outcome, deferred)
                .await
        };
        tokio::spawn(tracing::Instrument::instrument(
            task,
            tracing::Span::current(),
        ))
        .await
        .map_err(|e| ApiError::internal(format!("the request task failed: {e}")))?
    }
}

/// The typed invocation of an admitted request.
fn action_call(call: &Call, admitted: &Admitted) -> Result<ActionCall, ApiError> {
    let payload = &admitted.envelope.payload;
    Ok(ActionCall {
        trace_id: call.trace_id.to_string(),
        driver_id: admitted.route.target.driver_id.clone(),
        action_id: admitted.route.action.action_id.clone(),
        product: admitted.envelope.product.clone(),
        context: admitted.context.clone(),
        instance: admitted.instance.clone(),
        caller: call.caller.identity.clone(),
        idempotency_key: call.key.value()?.map(str::to_string),
        extension: None,
        request: OperationRequest {
            payload: payload.clone(),
            dry_run: payload
                .get("dry_run")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            lanes: profile_lanes(&admitted.profile),
        },
    })
}

/// The lanes a product profile declares, as an invocation's scope names
/// them.
pub(crate) fn profile_lanes(profile: &ProductProfile) -> Vec<Lane> {
    profile
        .lanes
        .iter()
        .map(|l| Lane {
            context: l.context.clone(),
            instance: l.instance.clone(),
        })
        .collect()
}

/// 403 `product_driver_mismatch`.
fn mismatch(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "product_driver_mismatch", message)
}
