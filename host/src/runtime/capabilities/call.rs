//! How a host call runs: within what is left of the invocation's budget,
//! on the runtime that admitted the invocation, inside the invocation's
//! scope, leaving a line in its transcript. Every capability's binding
//! goes through these.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::Handle;

use super::super::bindings::HostError;
use super::super::guest_pool;
use super::super::limits::DeadlineExceeded;
use super::super::state::InvocationState;
use super::{InvocationScope, Lane};

/// What a binding returns: a trap (`Err`) ends the invocation; the inner
/// result is the driver's to handle.
pub(super) type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

/// The transcript's name for a call's outcome.
pub(super) fn outcome<T>(result: &Result<T, HostError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(HostError::Denied(_)) => "denied",
        Err(HostError::NotFound(_)) => "not-found",
        Err(HostError::Invalid(_)) => "invalid",
        Err(HostError::Unavailable(_)) => "unavailable",
        Err(HostError::ProviderFailed(_)) => "provider-failed",
        Err(HostError::Timeout(_)) => "timeout",
    }
}

/// Where and for how long a host call may run: what is left of the
/// invocation's budget, on the runtime that admitted it.
pub(super) struct HostCallSite {
    remaining: Duration,
    deadline_ms: u64,
    host: Option<Handle>,
}

impl HostCallSite {
    /// Runs a host-side future on the admitting runtime, not on the guest
    /// thread (see `guest_pool`); a call that outlives the budget ends the
    /// invocation, and is cancelled.
    pub(super) async fn run<T: Send + 'static>(
        self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> wasmtime::Result<T> {
        let call = guest_pool::on_host(self.host.as_ref(), future);
        match tokio::time::timeout(self.remaining, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(wasmtime::Error::msg(message)),
            Err(_) => Err(DeadlineExceeded {
                deadline_ms: self.deadline_ms,
            }
            .into()),
        }
    }
}

/// Passes the invocation's effect fence, if it has one.
pub(super) async fn fenced(
    fence: Option<std::sync::Arc<dyn super::EffectFence>>,
) -> Result<(), HostError> {
    match fence {
        Some(fence) => fence.before_effect().await,
        None => Ok(()),
    }
}

impl InvocationState {
    /// What is left of the invocation's budget, and where host calls run;
    /// no budget left ends the invocation.
    pub(super) fn call_site(&self) -> wasmtime::Result<HostCallSite> {
        let deadline = self.limits.deadline();
        let spent = self.started.elapsed();
        let deadline_ms = self.limits.deadline_ms;
        if spent >= deadline {
            return Err(DeadlineExceeded { deadline_ms }.into());
        }
        Ok(HostCallSite {
            remaining: deadline - spent,
            deadline_ms,
            host: self.host.clone(),
        })
    }

    pub(super) fn scope_for(&mut self, function: &str) -> Result<InvocationScope, HostError> {
        match &self.scope {
            Some(scope) => Ok(scope.clone()),
            None => {
                self.note(function, String::new(), "denied");
                Err(HostError::Denied(format!(
                    "`{function}` is not available outside an action invocation"
                )))
            }
        }
    }

    pub(super) fn lane_for(
        &mut self,
        function: &str,
        context: &str,
        instance: &str,
    ) -> Result<Lane, HostError> {
        let scope = self.scope_for(function)?;
        if !scope.allows_lane(context, instance) {
            self.note(function, format!("{context}/{instance}"), "denied");
            tracing::warn!(driver_id = %self.driver_id, trace_id = %self.trace_id, function, context, instance,
                "driver reached for a lane outside its product");
            return Err(HostError::Denied(format!(
                "lane {context}/{instance} is not a lane of product `{}`",
                scope.product
            )));
        }
        Ok(Lane {
            context: context.to_string(),
            instance: instance.to_string(),
        })
    }

    pub(super) fn context_for(&mut self, function: &str, context: &str) -> Result<(), HostError> {
        let scope = self.scope_for(function)?;
        if !scope.allows_context(context) {
            self.note(function, context.to_string(), "denied");
            return Err(HostError::Denied(format!(
                "context `{context}` is not a context of product `{}`",
                scope.product
            )));
        }
        Ok(())
    }

    pub(super) fn unavailable(&mut self, function: &str, capability: &str) -> HostError {
        self.note(function, String::new(), "unavailable");
        HostError::Unavailable(format!(
            "the {capability} capability is not configured on this host"
        ))
    }
}
