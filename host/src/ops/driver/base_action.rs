//! Extension actions that run a base driver's action.
//!
//! An extension driver (Odoo, VeriReel) declares an action with
//! `base_action`: its own route, authz action and input schema, and the
//! base driver's handler. The host then:
//!
//! 1. lets the extension adapt the request to the base action's input
//!    (hook `adapt-request`, when the extension implements it; the payload
//!    is the extension's validated request, the answer the base request);
//! 2. validates the adapted request against the base action's schema;
//! 3. runs the base driver's handler with the base action's declared
//!    writes, on the product's lanes, with the product driver's hooks (so
//!    the base lifecycle calls `promotion-gate`, `post-deploy`, … of the
//!    extension);
//! 4. lets the extension adapt the answer (hook `adapt-result`, payload
//!    `{"request", "result", "records"}`, answer `{"result", "records"}`:
//!    its result object and `records` keys to add or replace).
//!
//! No lifecycle code lives in the extension; a refusal at 1 or 2 is the
//! extension's `invalid_request`, before any provider call.

use std::sync::Arc;

use serde_json::{Value, json};

use super::execute::ComponentRun;
use super::invocation::ActionCall;
use crate::ops::Service;
use crate::registry::{ActionDescriptor, LoadedDriver};
use crate::runtime::capabilities::EffectFence;
use crate::runtime::{DriverError, Invoked, Response};

/// Hook an extension implements to turn its request into the base
/// action's.
pub const ADAPT_REQUEST: &str = "adapt-request";
/// Hook an extension implements to turn the base action's result into its
/// own.
pub const ADAPT_RESULT: &str = "adapt-result";

impl Service {
    /// Runs `action` of `extension`, which names a base action (see the
    /// module docs).
    pub(super) async fn run_base_action(
        &self,
        extension: &LoadedDriver,
        action: &ActionDescriptor,
        base_action_id: &str,
        call: &ActionCall,
        effects: Option<Arc<dyn EffectFence>>,
    ) -> ComponentRun {
        let registry = self.registry();
        let unavailable = |message: String| -> ComponentRun {
            Ok(Invoked {
                value: Err(DriverError::Internal(message)),
                transcript: Vec::new(),
                elapsed: std::time::Duration::ZERO,
            })
        };
        let Some(base) = extension
            .descriptor
            .base()
            .and_then(|id| registry.driver(id))
        else {
            return unavailable(format!(
                "driver `{}` extends a driver that is not loaded",
                extension.descriptor.driver_id
            ));
        };
        let Some(base_action) = base.descriptor.action(base_action_id) else {
            return unavailable(format!(
                "base driver `{}` has no action `{base_action_id}`",
                base.descriptor.driver_id
            ));
        };
        let request = match self
            .driver_hook(
                extension,
                ADAPT_REQUEST,
                call,
                &call.request.payload,
                effects.clone(),
            )
            .await?
        {
            Ok(Some(adapted)) => adapted,
            Ok(None) => call.request.payload.clone(),
            Err(error) => return Ok(failed(error)),
        };
        if let Some(validator) = base.validator(base_action_id) {
            let errors: Vec<String> = validator
                .iter_errors(&request)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            if !errors.is_empty() {
                return Ok(failed(DriverError::InvalidRequest(format!(
                    "`{}` does not map onto `{}.{base_action_id}`: {}",
                    action.action_id,
                    base.descriptor.driver_id,
                    errors.join("; ")
                ))));
            }
        }
        let mut base_call = call.clone();
        base_call.action_id = base_action_id.to_string();
        base_call.extension = Some((call.action_id.clone(), call.request.payload.clone()));
        base_call.request.payload = request;
        let mut run = self
            .run_component(
                &base.component,
                &base_action.writes_records,
                &base_call,
                effects.clone(),
            )
            .await?;
        let Ok(response) = &run.value else {
            return Ok(run);
        };
        let result: Value = serde_json::from_str(&response.result).unwrap_or(Value::Null);
        let payload = json!({
            "request": call.request.payload,
            "result": result,
            "records": response.records.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        });
        match self
            .driver_hook(extension, ADAPT_RESULT, call, &payload, effects)
            .await?
        {
            Ok(Some(adapted)) => {
                if let Ok(response) = &mut run.value {
                    adapt_response(response, adapted);
                }
            }
            Ok(None) => {}
            Err(error) => run.value = Err(error),
        }
        Ok(run)
    }

    /// Calls `hook` of `driver` when it implements it, without write
    /// rights: `Ok(None)` when it does not implement it.
    pub(super) async fn driver_hook(
        &self,
        extension: &LoadedDriver,
        hook: &str,
        call: &ActionCall,
        payload: &Value,
        effects: Option<Arc<dyn EffectFence>>,
    ) -> Result<Result<Option<Value>, DriverError>, crate::runtime::InvokeError> {
        if !extension
            .descriptor
            .hooks_implemented
            .iter()
            .any(|h| h == hook)
        {
            return Ok(Ok(None));
        }
        let invoked = extension
            .component
            .on_hook(
                hook,
                call.invocation(),
                &payload.to_string(),
                call.scope(&[]),
                self.host_services_for(&call.trace_id, effects),
            )
            .await?;
        Ok(invoked.value.and_then(|answer| {
            serde_json::from_str::<Value>(&answer)
                .map(Some)
                .map_err(|e| DriverError::Internal(format!("hook `{hook}` answered non-JSON: {e}")))
        }))
    }
}

/// Applies an `adapt-result` answer: its `result` replaces the base
/// action's, its `records` are added (or replace the base's of the same
/// key).
fn adapt_response(response: &mut Response, adapted: Value) {
    if let Some(result) = adapted.get("result").filter(|r| r.is_object()) {
        response.result = result.to_string();
    }
    if let Some(records) = adapted.get("records").and_then(Value::as_object) {
        for (key, value) in records {
            let Some(value) = value.as_str() else {
                continue;
            };
            match response.records.iter_mut().find(|(k, _)| k == key) {
                Some((_, existing)) => *existing = value.to_string(),
                None => response.records.push((key.clone(), value.to_string())),
            }
        }
    }
}

/// A run that ended in the driver's error before the base handler ran.
fn failed(error: DriverError) -> Invoked<Result<Response, DriverError>> {
    Invoked {
        value: Err(error),
        transcript: Vec::new(),
        elapsed: std::time::Duration::ZERO,
    }
}
