//! The operation worker: claims pending operations (or ones whose lease
//! expired), runs the driver action with a heartbeat, and records the
//! outcome. Several hosts may run workers against one database; the store's
//! claim decides who runs what.

use std::time::Duration;

use serde_json::Value;

use super::driver_error;
use super::invocation::{ActionCall, OperationRequest};
use crate::auth::CallerIdentity;
use crate::ops::Service;
use crate::records::{Operation, OperationStatus};

/// Worker tuning.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How often an idle worker looks for work.
    pub poll_interval: Duration,
    /// Attempts before an operation whose host keeps dying is failed.
    pub max_attempts: i64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll_interval: Duration::from_millis(500),
            max_attempts: 3,
        }
    }
}

/// Runs operations for one host.
pub struct Worker {
    service: Service,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(service: Service, config: WorkerConfig) -> Self {
        Worker { service, config }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(true) => continue,
                Ok(false) => tokio::time::sleep(self.config.poll_interval).await,
                Err(error) => {
                    tracing::error!(%error, "operation worker failed to claim work");
                    tokio::time::sleep(self.config.poll_interval).await;
                }
            }
        }
    }

    /// Claims and runs at most one operation; `Ok(true)` when it ran one.
    pub async fn run_once(&self) -> Result<bool, crate::records::StoreError> {
        let state = &self.service;
        let Some(operation) = state
            .store
            .claim_operation(&state.host_id, state.lease_ms, self.config.max_attempts)
            .await?
        else {
            return Ok(false);
        };
        let heartbeat = {
            let (store, id, owner, lease) = (
                state.store.clone(),
                operation.operation_id.clone(),
                state.host_id.clone(),
                state.lease_ms,
            );
            tokio::spawn(async move {
                let every = crate::ops::attempt::renew_every(lease);
                loop {
                    tokio::time::sleep(every).await;
                    match store
                        .heartbeat_operation(&id, &owner, lease, "running")
                        .await
                    {
                        Ok(true) => {}
                        _ => break,
                    }
                }
            })
        };
        // The operation's log lines carry the trace id of the request that
        // enqueued it, as that request's lines do.
        let span = tracing::info_span!(
            "operation",
            trace_id = %operation.trace_id,
            operation_id = %operation.operation_id,
        );
        let (status, result, error) =
            tracing::Instrument::instrument(self.execute(&operation), span).await;
        heartbeat.abort();
        let error_ref = error.as_ref().map(|(c, m)| (c.as_str(), m.as_str()));
        if !state
            .store
            .finish_operation(
                &operation.operation_id,
                &state.host_id,
                status,
                result.as_ref(),
                error_ref,
            )
            .await?
        {
            tracing::warn!(operation_id = %operation.operation_id, "lost the lease before finishing; another host owns it now");
        }
        Ok(true)
    }

    async fn execute(
        &self,
        operation: &Operation,
    ) -> (OperationStatus, Option<Value>, Option<(String, String)>) {
        let fail = |code: &str, message: String| {
            (
                OperationStatus::Fail,
                None,
                Some((code.to_string(), message)),
            )
        };
        let registry = self.service.registry();
        let Some(driver) = registry.driver(&operation.driver_id) else {
            return fail(
                "driver_not_loaded",
                format!("driver `{}` is not loaded", operation.driver_id),
            );
        };
        let Some(action) = driver.descriptor.action(&operation.action_id) else {
            return fail(
                "action_not_declared",
                format!("action `{}` is not declared", operation.action_id),
            );
        };
        let call = match stored_call(operation) {
            Ok(call) => call,
            Err(message) => {
                tracing::error!(operation_id = %operation.operation_id, %message, "stored operation does not decode");
                return fail("operation_request_malformed", message);
            }
        };
        match self.service.run_action(driver, action, &call, None).await {
            Err(error) => fail("driver_failed", error.to_string()),
            Ok(invoked) => match invoked.value {
                Ok(response) => {
                    let result =
                        serde_json::from_str::<Value>(&response.result).unwrap_or(Value::Null);
                    let records: serde_json::Map<String, Value> = response
                        .records
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect();
                    (
                        OperationStatus::Pass,
                        Some(serde_json::json!({"result": result, "records": records})),
                        None,
                    )
                }
                Err(error) => {
                    let api = driver_error(&operation.driver_id, error);
                    fail(&api.code, api.message)
                }
            },
        }
    }
}

/// The typed invocation an operation was enqueued with. A stored request
/// or caller that does not decode is an error naming the field, never an
/// empty scope.
fn stored_call(operation: &Operation) -> Result<ActionCall, String> {
    let request: OperationRequest = serde_json::from_value(operation.request.clone())
        .map_err(|e| format!("operation `{}` request: {e}", operation.operation_id))?;
    let caller: CallerIdentity = serde_json::from_value(operation.caller.clone())
        .map_err(|e| format!("operation `{}` caller: {e}", operation.operation_id))?;
    Ok(ActionCall {
        trace_id: operation.trace_id.clone(),
        driver_id: operation.driver_id.clone(),
        action_id: operation.action_id.clone(),
        product: operation.product.clone(),
        context: operation.context.clone(),
        instance: operation.instance.clone(),
        caller,
        idempotency_key: Some(operation.idempotency_key.clone()).filter(|k| !k.is_empty()),
        extension: None,
        request,
    })
}
