//! Execution: driver code runs here, in the request for a sync action (on
//! a leased lane when it mutates one), or as a durable operation for an
//! async one, which the worker runs later with the same [`ActionCall`].

use std::borrow::Cow;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::admission::Admitted;
use super::invocation::ActionCall;
use super::lane::needs_lane;
use crate::error::ApiError;
use crate::ops::attempt::{Heartbeat, ReservationFence};
use crate::ops::{Accepted, Service};
use crate::records::{IdempotencyKey, NewOperation, StoreError};
use crate::registry::{ActionDescriptor, LoadedDriver};
use crate::runtime::capabilities::EffectFence;
use crate::runtime::{DriverComponent, DriverError, InvokeError, Invoked, Response};

/// Hook a driver implements to prove an async request at request time,
/// before its operation is enqueued (payload: the validated request; an
/// error refuses the request with its status and message).
pub const ADMIT_OPERATION: &str = "admit-operation";

/// What a component run produced: its answer and the host calls it made.
pub type ComponentRun = Result<Invoked<Result<Response, DriverError>>, InvokeError>;

impl Service {
    /// Runs driver code for one [`ActionCall`] of `action` of `driver`:
    /// its own handler, or for an extension action the base action it
    /// names (`base_action.rs`). Shared by sync requests and the operation
    /// worker.
    /// `effects` fences its effects (see `ops/attempt.rs`).
    pub async fn run_action(
        &self,
        driver: &LoadedDriver,
        action: &ActionDescriptor,
        call: &ActionCall,
        effects: Option<Arc<dyn EffectFence>>,
    ) -> ComponentRun {
        match &action.base_action {
            None => {
                self.run_component(&driver.component, &action.writes_records, call, effects)
                    .await
            }
            Some(base) => {
                self.run_base_action(driver, action, base, call, effects)
                    .await
            }
        }
    }

    /// One component invocation: a fresh instance, the invocation's scope,
    /// the host capabilities of its trace.
    pub async fn run_component(
        &self,
        component: &DriverComponent,
        writes_records: &[String],
        call: &ActionCall,
        effects: Option<Arc<dyn EffectFence>>,
    ) -> ComponentRun {
        component
            .handle(
                call.invocation(),
                call.scope(writes_records),
                self.host_services_for(&call.trace_id, effects),
            )
            .await
    }

    /// A sync action: its lane leased when it mutates one, driver code run,
    /// its answer read.
    /// Under an idempotency `key`, its first effect is passed through
    /// `fence` (which also holds its record writes for the final commit)
    /// and its reservation renewed while it runs (`ops/attempt.rs`).
    pub(super) async fn invoke(
        &self,
        admitted: &Admitted,
        call: ActionCall,
        key: Option<&IdempotencyKey>,
        fence: Option<Arc<ReservationFence>>,
    ) -> Result<Accepted, ApiError> {
        let route = &admitted.route;
        let lease = if self.holds_lane(route) {
            Some(self.lease_lane(&call).await?)
        } else {
            None
        };
        let fence = fence.map(|fence| fence as Arc<dyn EffectFence>);
        let heartbeat = Heartbeat::start(self, key, lease.as_ref());
        // The guest runs on the guest pool whether or not this request is
        // still awaited (a client that disconnects drops this future), so
        // its holds are kept and released by a task that waits for the
        // guest, not by this one.
        let (service, route) = (self.clone(), route.clone());
        let guest = async move {
            let run = service
                .run_action(&route.driver, &route.action, &call, fence)
                .await;
            drop(heartbeat);
            if let Some(lease) = &lease {
                service.release_lane(lease).await;
            }
            run
        };
        let run = tokio::spawn(tracing::Instrument::instrument(
            guest,
            tracing::Span::current(),
        ))
        .await
        .map_err(|e| ApiError::internal(format!("the invocation task failed: {e}")))?;
        accepted(&admitted.route.target.driver_id, run)
    }

    /// Whether a sync action holds its lane while it runs: its own rule,
    /// or the rule of the base action it runs.
    fn holds_lane(&self, route: &super::DriverRoute) -> bool {
        let registry = &route.registry;
        needs_lane(&route.action, registry)
            || route.action.base_action.as_ref().is_some_and(|base| {
                route
                    .driver
                    .descriptor
                    .base()
                    .and_then(|id| registry.driver(id))
                    .and_then(|d| d.descriptor.action(base))
                    .is_some_and(|a| needs_lane(a, registry))
            })
    }

    /// The request-time proof of an async action, before anything is
    /// enqueued: the driver's hook [`ADMIT_OPERATION`] (when it implements
    /// it) reads what it needs (the product profile's lane policy, the
    /// lane's target, stored records) and refuses with the rule it broke.
    /// It may write nothing.
    pub(super) async fn admit_operation(
        &self,
        admitted: &Admitted,
        call: &ActionCall,
    ) -> Result<(), ApiError> {
        let driver = &admitted.route.driver;
        let answer = self
            .driver_hook(
                driver,
                ADMIT_OPERATION,
                call,
                &call.request.payload,
                &[],
                None,
            )
            .await
            .map_err(invoke_error)?;
        answer
            .value
            .map(|_| ())
            .map_err(|e| driver_error(&driver.descriptor.driver_id, e))
    }

    /// An async action: its durable operation, reserving its lane. The
    /// answer names the operation and where to poll it (the driver's poll
    /// route when the action declares one, else `/v1/operations/{id}`).
    pub(super) async fn enqueue(
        &self,
        action: &ActionDescriptor,
        call: ActionCall,
    ) -> Result<Accepted, ApiError> {
        let created = crate::time::now_rfc3339().replace([':', '-'], "");
        let operation_id = format!(
            "{}-{}-{}-{}-{}-{}",
            call.driver_id,
            call.action_id.replace('_', "-"),
            call.context,
            call.instance,
            created,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let new = NewOperation {
            operation_id,
            product: call.product.clone(),
            context: call.context.clone(),
            instance: call.instance.clone(),
            driver_id: call.driver_id.clone(),
            action_id: call.action_id.clone(),
            request: serde_json::to_value(&call.request).map_err(ApiError::internal)?,
            idempotency_key: call.idempotency_key.clone().unwrap_or_default(),
            trace_id: call.trace_id.clone(),
            caller: serde_json::to_value(&call.caller).map_err(ApiError::internal)?,
        };
        let operation = match self.store.create_operation(&new).await {
            Ok(operation) => operation,
            Err(StoreError::LaneBusy { operation_id, .. }) => {
                let active = self.holding_operation(&operation_id).await;
                // The driver declares its code (the original's
                // `…_operation_active`); an undeclared one is generic.
                let code = action
                    .operation
                    .as_ref()
                    .map_or(Cow::Borrowed("operation_active"), |o| {
                        Cow::Owned(o.active_code.clone())
                    });
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    code,
                    format!(
                        "Lane {}/{} of product `{}` already has an active operation `{operation_id}`.",
                        new.context, new.instance, new.product
                    ),
                )
                .with_extra("operation", active));
            }
            Err(StoreError::LaneLeased { holder }) => {
                return Err(super::lane::leased_error(&holder));
            }
            Err(error) => return Err(ApiError::internal(error)),
        };
        let id = operation.operation_id.clone();
        let mut accepted = Accepted::new().record("operation_id", id.clone());
        let poll_url = match &action.operation {
            Some(route) => {
                accepted = accepted.record(&route.records_key, id.clone());
                route.poll_url(&id)
            }
            None => format!("/v1/operations/{id}"),
        };
        let mut operation = serde_json::to_value(&operation).map_err(ApiError::internal)?;
        operation["poll_url"] = Value::String(poll_url.clone());
        accepted.written = vec![id];
        accepted.result = Some(json!({"operation": operation, "poll_url": poll_url}));
        Ok(accepted)
    }
}

/// A sync run's answer as an accepted mutation: its result, its `records`
/// keys, the ids it wrote (for audit), and whether it may be replayed.
fn accepted(driver_id: &str, run: ComponentRun) -> Result<Accepted, ApiError> {
    let invoked = run.map_err(invoke_error)?;
    let response = invoked.value.map_err(|e| driver_error(driver_id, e))?;
    let result: Value = serde_json::from_str(&response.result).map_err(|e| {
        ApiError::internal(format!("driver {driver_id} returned malformed JSON: {e}"))
    })?;
    let mut accepted = Accepted::new();
    accepted.store_for_replay = response.replayable;
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
}

/// A driver's typed failure, as the original's status and code.
pub fn driver_error(driver_id: &str, error: DriverError) -> ApiError {
    match error {
        DriverError::InvalidRequest(m) => coded(driver_id, StatusCode::BAD_REQUEST, &m)
            .unwrap_or_else(|| ApiError::invalid_request(m)),
        DriverError::PreconditionFailed(m) => coded(driver_id, StatusCode::CONFLICT, &m)
            .unwrap_or_else(|| ApiError::new(StatusCode::CONFLICT, "precondition_failed", m)),
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

/// A refusal a driver names with a code of its own: the message is the
/// JSON object `{"code", "message", "details"}` and the code is the
/// driver's (`<driver id with _>_…`, lower-case letters, digits and `_`,
/// at most 80), as the original's product-specific refusals
/// (`odoo_preview_runtime_config_incomplete`). `details` (an object) is
/// passed on as the answer's `details`. Anything else is an ordinary
/// message.
fn coded(driver_id: &str, status: StatusCode, message: &str) -> Option<ApiError> {
    let parsed: Value = serde_json::from_str(message.trim_start())
        .ok()
        .filter(|_| message.trim_start().starts_with('{'))?;
    let code = parsed.get("code")?.as_str()?;
    let prefix = format!("{}_", driver_id.replace('-', "_"));
    let well_formed = code.len() <= 80
        && code.len() > prefix.len()
        && code.starts_with(&prefix)
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return None;
    }
    let text = parsed
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or(code);
    let mut error = ApiError::new(status, code.to_string(), text);
    if let Some(details) = parsed.get("details").filter(|d| d.is_object()) {
        error = error.with_extra("details", details.clone());
    }
    Some(error)
}

/// A sandbox failure: answered without detail; the detail goes to the
/// log with the request's trace id.
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
    let mut api = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message);
    api.detail = Some(format!("driver invocation failed: {error}").into());
    api
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_names_its_own_code_only_under_its_id() {
        let coded = |code: &str| {
            DriverError::InvalidRequest(
                json!({"code": code, "message": "keys missing", "details": {"missing_keys": ["A_KEY"]}})
                    .to_string(),
            )
        };
        let error = driver_error("odoo", coded("odoo_preview_runtime_config_incomplete"));
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.code, "odoo_preview_runtime_config_incomplete");
        assert_eq!(error.message, "keys missing");
        assert_eq!(error.extra["details"]["missing_keys"], json!(["A_KEY"]));
        // Another driver's prefix, a bare prefix or a malformed code is an
        // ordinary refusal with the text as it came.
        for code in [
            "generic_web_thing",
            "odoo_",
            "odoo_Bad-Code",
            "authorization_denied",
        ] {
            let error = driver_error("odoo", coded(code));
            assert_eq!(error.code, "invalid_request", "{code}");
        }
        let error = driver_error(
            "odoo",
            DriverError::PreconditionFailed("plain words".to_string()),
        );
        assert_eq!(
            (error.code.as_ref(), error.message.as_str()),
            ("precondition_failed", "plain words")
        );
    }
}
