//! The operation worker: claims pending operations (or ones whose lease
//! expired), runs the driver action with a heartbeat, and records the
//! outcome. Several hosts may run workers against one database; the store's
//! claim decides who runs what.

use std::time::Duration;

use serde_json::Value;

use crate::http::AppState;
use crate::records::{Operation, OperationStatus};
use crate::runtime::{self, InvocationScope, Lane};

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
    state: AppState,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(state: AppState, config: WorkerConfig) -> Self {
        Worker { state, config }
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
        let state = &self.state;
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
                let every = Duration::from_millis(u64::try_from(lease / 3).unwrap_or(1000).max(50));
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
        let (status, result, error) = self.execute(&operation).await;
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
        let registry = self.state.registry();
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
        let request = &operation.request;
        let lanes = request
            .get("lanes")
            .and_then(Value::as_array)
            .map(|lanes| {
                lanes
                    .iter()
                    .map(|l| Lane {
                        context: l
                            .get("context")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        instance: l
                            .get("instance")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let scope = InvocationScope {
            product: operation.product.clone(),
            context: operation.context.clone(),
            instance: operation.instance.clone(),
            lanes,
            writes_records: action.writes_records.clone(),
        };
        let claims = operation
            .caller
            .get("claims")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let invocation = runtime::Invocation {
            trace_id: operation.trace_id.clone(),
            driver_id: operation.driver_id.clone(),
            action_id: operation.action_id.clone(),
            product: operation.product.clone(),
            context: operation.context.clone(),
            instance: operation.instance.clone(),
            request: request
                .get("payload")
                .cloned()
                .unwrap_or(Value::Null)
                .to_string(),
            caller: runtime::Caller {
                kind: operation
                    .caller
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                subject: operation
                    .caller
                    .get("subject")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                claims,
            },
            idempotency_key: Some(operation.idempotency_key.clone()).filter(|k| !k.is_empty()),
            dry_run: request
                .get("dry_run")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        match driver
            .component
            .handle(
                invocation,
                scope,
                self.state.host_services_for(&operation.trace_id),
            )
            .await
        {
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
                    let api = crate::http::driver_error(&operation.driver_id, error);
                    fail(api.code, api.message)
                }
            },
        }
    }
}
