//! Extension actions that run a base driver's action.
//!
//! An extension driver (Odoo, VeriReel) declares an action with
//! `base_action`: its own route, authz action and input schema, and the
//! base driver's handler. The host then:
//!
//! 1. lets the extension adapt the request to the base action's input
//!    (hook `adapt-request`, when the extension implements it; the payload
//!    is the extension's validated request, the answer the base request).
//!    This is the extension's own step before the base one: it runs with
//!    the record kinds the extension action declares (a gate it captures
//!    first, say), and it may end the action there with an answer of its
//!    own, `{"$finish": {"result": {...}, "records": {...}, "replayable":
//!    bool}}` (a step that was blocked or failed: the base action does not
//!    run);
//! 2. validates the adapted request against the base action's schema;
//! 3. runs the base driver's handler with the base action's declared
//!    writes, on the product's lanes, with the product driver's hooks (so
//!    the base lifecycle calls `promotion-gate`, `post-deploy`, … of the
//!    extension);
//! 4. lets the extension adapt the answer (hook `adapt-result`, payload
//!    `{"request", "result", "records"}`, answer `{"result", "records"}`:
//!    its result object and `records` keys to add or replace, and
//!    `"replayable": false` when the answer must not be kept for
//!    idempotent replay). The payload also carries `base_request`, the
//!    request the base action ran with.
//! 5. when the base action failed, still calls `adapt-result`, with
//!    `"result": null` and `"error": {"kind", "message"}` (`kind` one of
//!    [`failure_kind`]'s): the original answered a failure after its
//!    records were written as a 202 with a failed status, so an answer
//!    with a `result` object becomes the action's answer (its `records`,
//!    replayable unless it says not); any other answer keeps the failure.
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
/// Key of an `adapt-request` answer that ends the action with the
/// extension's own answer: the base action does not run.
pub const FINISH: &str = "$finish";

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
        let prepared = self
            .prepare(
                extension,
                action,
                base,
                base_action_id,
                call,
                effects.clone(),
            )
            .await?;
        let (mut transcript, mut elapsed) = (prepared.transcript, prepared.elapsed);
        let request = match prepared.value {
            Prepared::Base(request) => request,
            Prepared::Done(value) => return Ok(ran(value, transcript, elapsed)),
        };
        let mut base_call = call.clone();
        base_call.action_id = base_action_id.to_string();
        base_call.extension = Some((call.action_id.clone(), call.request.payload.clone()));
        base_call.request.payload = request.clone();
        let mut run = self
            .run_component(
                &base.component,
                &base_action.writes_records,
                &base_call,
                effects.clone(),
            )
            .await?;
        transcript.append(&mut run.transcript);
        elapsed += run.elapsed;
        let payload = result_payload(&call.request.payload, &request, &run.value);
        let adapted = self
            .driver_hook(extension, ADAPT_RESULT, call, &payload, &[], effects)
            .await?;
        transcript.extend(adapted.transcript);
        elapsed += adapted.elapsed;
        let value = match (run.value, adapted.value) {
            (Ok(mut response), Ok(Some(adapted))) => {
                adapt_response(&mut response, adapted);
                Ok(response)
            }
            (Ok(response), Ok(None)) => Ok(response),
            (Ok(_), Err(error)) => Err(error),
            (Err(failure), Ok(Some(adapted))) => answered_failure(failure, &adapted),
            (Err(failure), Ok(None)) => Err(failure),
            (Err(failure), Err(hook)) => {
                tracing::warn!(trace_id = %call.trace_id, hook_error = %hook,
                    "adapt-result failed on a failed base action; the base failure is answered");
                Err(failure)
            }
        };
        Ok(ran(value, transcript, elapsed))
    }

    /// The extension's own step (`adapt-request`, with the writes its
    /// action declares): the base request, checked against the base
    /// action's schema, or the action's end (its `$finish` answer or a
    /// refusal).
    async fn prepare(
        &self,
        extension: &LoadedDriver,
        action: &ActionDescriptor,
        base: &LoadedDriver,
        base_action_id: &str,
        call: &ActionCall,
        effects: Option<Arc<dyn EffectFence>>,
    ) -> Result<Invoked<Prepared>, crate::runtime::InvokeError> {
        let adapted = self
            .driver_hook(
                extension,
                ADAPT_REQUEST,
                call,
                &call.request.payload,
                &action.writes_records,
                effects,
            )
            .await?;
        let (transcript, elapsed) = (adapted.transcript, adapted.elapsed);
        let request = match adapted.value {
            Ok(Some(adapted)) => adapted,
            Ok(None) => call.request.payload.clone(),
            Err(error) => return Ok(ran(Prepared::Done(Err(error)), transcript, elapsed)),
        };
        if let Some(answer) = request.get(FINISH) {
            return Ok(ran(Prepared::Done(finished(answer)), transcript, elapsed));
        }
        if let Some(validator) = base.validator(base_action_id) {
            let errors: Vec<String> = validator
                .iter_errors(&request)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            if !errors.is_empty() {
                let error = DriverError::InvalidRequest(format!(
                    "`{}` does not map onto `{}.{base_action_id}`: {}",
                    action.action_id,
                    base.descriptor.driver_id,
                    errors.join("; ")
                ));
                return Ok(ran(Prepared::Done(Err(error)), transcript, elapsed));
            }
        }
        Ok(ran(Prepared::Base(request), transcript, elapsed))
    }

    /// Calls `hook` of `extension` when it implements it, with `writes` in
    /// scope: `Ok(None)` when it does not.
    pub(super) async fn driver_hook(
        &self,
        extension: &LoadedDriver,
        hook: &str,
        call: &ActionCall,
        payload: &Value,
        writes: &[String],
        effects: Option<Arc<dyn EffectFence>>,
    ) -> Result<Invoked<Result<Option<Value>, DriverError>>, crate::runtime::InvokeError> {
        if !extension
            .descriptor
            .hooks_implemented
            .iter()
            .any(|h| h == hook)
        {
            return Ok(ran(Ok(None), Vec::new(), std::time::Duration::ZERO));
        }
        let invoked = extension
            .component
            .on_hook(
                hook,
                call.invocation(),
                &payload.to_string(),
                call.scope(writes),
                self.host_services_for(&call.trace_id, effects),
            )
            .await?;
        let value = invoked.value.and_then(|answer| {
            serde_json::from_str::<Value>(&answer)
                .map(Some)
                .map_err(|e| DriverError::Internal(format!("hook `{hook}` answered non-JSON: {e}")))
        });
        Ok(ran(value, invoked.transcript, invoked.elapsed))
    }
}

/// What the extension's own step left to do.
enum Prepared {
    /// Run the base action with this request.
    Base(Value),
    /// The action ends here with this answer.
    Done(Result<Response, DriverError>),
}

/// Applies an `adapt-result` answer: its `result` replaces the base
/// action's, its `records` are added (or replace the base's of the same
/// key), and `"replayable": false` keeps the answer from replay.
fn adapt_response(response: &mut Response, adapted: Value) {
    if adapted.get("replayable") == Some(&Value::Bool(false)) {
        response.replayable = false;
    }
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

/// The `adapt-result` payload: the extension's request, the base
/// request, and the base answer (its result and `records` keys) or its
/// failure.
fn result_payload(
    request: &Value,
    base_request: &Value,
    run: &Result<Response, DriverError>,
) -> Value {
    match run {
        Ok(response) => json!({
            "request": request,
            "base_request": base_request,
            "result": serde_json::from_str::<Value>(&response.result).unwrap_or(Value::Null),
            "records": response.records.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        }),
        Err(failure) => json!({
            "request": request,
            "base_request": base_request,
            "result": Value::Null,
            "records": {},
            "error": {"kind": failure_kind(failure), "message": failure_message(failure)},
        }),
    }
}

/// The name of a failure's kind in an `adapt-result` payload.
pub fn failure_kind(error: &DriverError) -> &'static str {
    match error {
        DriverError::InvalidRequest(_) => "invalid_request",
        DriverError::PreconditionFailed(_) => "precondition_failed",
        DriverError::NotFound(_) => "not_found",
        DriverError::NotImplemented(_) => "not_implemented",
        DriverError::ProviderFailed(_) => "provider_failed",
        DriverError::Internal(_) => "internal",
        DriverError::UnknownAction(_) => "unknown_action",
    }
}

/// The message any failure carries.
fn failure_message(error: &DriverError) -> &str {
    match error {
        DriverError::InvalidRequest(m)
        | DriverError::PreconditionFailed(m)
        | DriverError::NotFound(m)
        | DriverError::NotImplemented(m)
        | DriverError::ProviderFailed(m)
        | DriverError::Internal(m)
        | DriverError::UnknownAction(m) => m,
    }
}

/// A failed base action as the extension answered it: its answer when it
/// has a `result` object, else the failure.
fn answered_failure(failure: DriverError, adapted: &Value) -> Result<Response, DriverError> {
    if adapted.get("result").is_some_and(Value::is_object) {
        answer_of(adapted, "adapt-result")
    } else {
        Err(failure)
    }
}

/// The extension's `$finish` answer as the action's response.
fn finished(answer: &Value) -> Result<Response, DriverError> {
    answer_of(answer, &format!("adapt-request `{FINISH}`"))
}

/// An extension's own answer as the action's response: its `result`
/// object, its string `records`, replayable unless it says not.
fn answer_of(answer: &Value, what: &str) -> Result<Response, DriverError> {
    let result = answer
        .get("result")
        .filter(|r| r.is_object())
        .ok_or_else(|| DriverError::Internal(format!("an {what} answer needs a result object")))?;
    let records = answer
        .get("records")
        .and_then(Value::as_object)
        .map(|records| {
            records
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Response {
        records,
        result: result.to_string(),
        replayable: answer.get("replayable") != Some(&Value::Bool(false)),
    })
}

/// A run's value with the host calls of every step that led to it.
fn ran<T>(
    value: T,
    transcript: Vec<crate::runtime::HostCall>,
    elapsed: std::time::Duration,
) -> Invoked<T> {
    Invoked {
        value,
        transcript,
        elapsed,
    }
}
