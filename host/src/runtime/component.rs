//! One loaded driver component and its invocations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::{Store, UpdateDeadline};

use super::bindings::{Descriptor, Driver, DriverError, DriverPre, Invocation, Response};
use super::capabilities::{HostServices, InvocationScope};
use super::limits::{DeadlineExceeded, DriverLimits, MemoryCapExceeded};
use super::state::{HostCall, InvocationState};
use super::{InvokeError, Runtime};

/// How long past its deadline a guest parked outside Wasm code (where no
/// epoch check can stop it) may stay before it is dropped: two epoch ticks.
const PARKED_GUEST_MARGIN: Duration = Duration::from_millis(20);

/// A result of a guest call together with what the guest did on the way.
#[derive(Debug)]
pub struct Invoked<T> {
    pub value: T,
    /// Every host call the driver made, in order.
    pub transcript: Vec<HostCall>,
    pub elapsed: Duration,
}

/// A driver component ready to serve: compiled once, pre-linked once, and
/// instantiated into a fresh store for every call.
#[derive(Clone)]
pub struct DriverComponent {
    driver_id: Arc<str>,
    pre: DriverPre<InvocationState>,
    limits: DriverLimits,
    runtime: Runtime,
}

impl std::fmt::Debug for DriverComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverComponent")
            .field("driver_id", &self.driver_id)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A boxed guest call over a fresh instance.
type GuestCall<R> = Box<
    dyn for<'a> FnOnce(
            &'a Driver,
            &'a mut Store<InvocationState>,
        )
            -> std::pin::Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>
        + Send,
>;

impl DriverComponent {
    pub(crate) fn new(
        driver_id: &str,
        pre: DriverPre<InvocationState>,
        limits: DriverLimits,
        runtime: Runtime,
    ) -> Self {
        DriverComponent {
            driver_id: Arc::from(driver_id),
            pre,
            limits,
            runtime,
        }
    }

    pub fn driver_id(&self) -> &str {
        &self.driver_id
    }

    pub fn limits(&self) -> DriverLimits {
        self.limits
    }

    pub fn component(&self) -> &Component {
        self.pre.instance_pre().component()
    }

    /// Calls `describe()` in a throwaway sandbox (no scope: host calls are
    /// denied).
    pub async fn describe(&self) -> Result<Descriptor, InvokeError> {
        let call: GuestCall<Descriptor> =
            Box::new(|driver, store| Box::pin(driver.call_describe(store)));
        let invoked = self
            .run("describe", None, None, HostServices::default(), call)
            .await?;
        Ok(invoked.value)
    }

    /// Serves one action.
    pub async fn handle(
        &self,
        invocation: Invocation,
        scope: InvocationScope,
        services: HostServices,
    ) -> Result<Invoked<Result<Response, DriverError>>, InvokeError> {
        let call_with = invocation.clone();
        let call: GuestCall<Result<Response, DriverError>> = Box::new(move |driver, store| {
            Box::pin(async move { driver.call_handle(store, &call_with).await })
        });
        self.run(
            &invocation.trace_id.clone(),
            Some(scope),
            Some(invocation),
            services,
            call,
        )
        .await
    }

    /// Serves one hook for a base driver.
    pub async fn on_hook(
        &self,
        hook: &str,
        invocation: Invocation,
        payload: &str,
        scope: InvocationScope,
        services: HostServices,
    ) -> Result<Invoked<Result<String, DriverError>>, InvokeError> {
        let (hook, payload, call_with) =
            (hook.to_string(), payload.to_string(), invocation.clone());
        let call: GuestCall<Result<String, DriverError>> = Box::new(move |driver, store| {
            Box::pin(async move {
                driver
                    .call_on_hook(store, &hook, &call_with, &payload)
                    .await
            })
        });
        self.run(
            &invocation.trace_id.clone(),
            Some(scope),
            Some(invocation),
            services,
            call,
        )
        .await
    }

    /// Admits the invocation, then executes it on the guest pool: the
    /// guest's CPU never runs on the worker that serves this request, and
    /// its host calls come back to this runtime (see `guest_pool`).
    async fn run<R: Send + 'static>(
        &self,
        trace_id: &str,
        scope: Option<InvocationScope>,
        invocation: Option<Invocation>,
        services: HostServices,
        call: GuestCall<R>,
    ) -> Result<Invoked<R>, InvokeError> {
        let permit = self.runtime.admit().await?;
        let host = tokio::runtime::Handle::try_current().ok();
        let component = self.clone();
        let trace_id = trace_id.to_string();
        let span = tracing::Span::current();
        let task = self
            .runtime
            .inner
            .guests
            .spawn(tracing::Instrument::instrument(
                async move {
                    let _permit = permit;
                    component
                        .execute(&trace_id, host, scope, invocation, services, call)
                        .await
                },
                span,
            ));
        match task.await {
            Ok(outcome) => outcome,
            Err(error) if error.is_panic() => {
                tracing::error!(driver_id = %self.driver_id, %error, "driver invocation panicked in the host");
                Err(InvokeError::Trap {
                    driver_id: self.driver_id.to_string(),
                    message: "the host failed while running this invocation".to_string(),
                })
            }
            Err(_) => Err(InvokeError::Closed),
        }
    }

    /// One invocation in a fresh store, on the current (guest) thread.
    async fn execute<R: Send + 'static>(
        &self,
        trace_id: &str,
        host: Option<tokio::runtime::Handle>,
        scope: Option<InvocationScope>,
        invocation: Option<Invocation>,
        services: HostServices,
        call: GuestCall<R>,
    ) -> Result<Invoked<R>, InvokeError> {
        let started = Instant::now();
        let action = invocation
            .as_ref()
            .map_or_else(|| "describe".to_string(), |i| i.action_id.clone());
        let mut state = InvocationState::new(
            self.driver_id.clone(),
            Arc::from(trace_id),
            self.limits,
            services,
        );
        state.scope = scope;
        state.invocation = invocation;
        state.host = host;
        let mut store = Store::new(self.runtime.engine(), state);
        store.limiter(|state| &mut state.limiter);
        let deadline = self.limits.deadline();
        let deadline_ms = self.limits.deadline_ms;
        // Yield to the async runtime on every epoch tick so a spinning guest
        // shares its thread; trap once the budget is spent.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if started.elapsed() >= deadline {
                Err(DeadlineExceeded { deadline_ms }.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });

        let pre = self.pre.clone();
        let guest = async {
            let driver = pre.instantiate_async(&mut store).await?;
            call(&driver, &mut store).await
        };
        // The epoch callback covers guest execution; this covers a guest
        // parked where no epoch check runs: a WASI clock or stream wait, or
        // a host call that ignores its budget. The margin lets the epoch
        // trap win when the guest is running; either way the answer is
        // the same deadline error, and a host call still in flight is
        // aborted with the guest (its transaction rolls back).
        let outcome = match tokio::time::timeout(deadline + PARKED_GUEST_MARGIN, guest).await {
            Ok(result) => result,
            Err(_) => Err(DeadlineExceeded { deadline_ms }.into()),
        };
        let elapsed = started.elapsed();
        let memory_exceeded = store.data().limiter.exceeded();
        let transcript = std::mem::take(&mut store.data_mut().transcript);
        let outcome = outcome.map_err(|error| self.classify(error, memory_exceeded));
        crate::metrics::driver_invocation(
            &self.driver_id,
            &action,
            metric_outcome(&outcome),
            elapsed,
        );
        match outcome {
            Ok(value) => Ok(Invoked {
                value,
                transcript,
                elapsed,
            }),
            Err(error) => {
                tracing::error!(driver_id = %self.driver_id, trace_id, elapsed_ms = elapsed.as_millis() as u64,
                    error = %error, "driver invocation failed");
                Err(error)
            }
        }
    }

    fn classify(&self, error: wasmtime::Error, memory_exceeded: bool) -> InvokeError {
        let driver_id = self.driver_id.to_string();
        if error.chain().any(|e| e.is::<DeadlineExceeded>()) {
            return InvokeError::DeadlineExceeded {
                driver_id,
                deadline_ms: self.limits.deadline_ms,
            };
        }
        if memory_exceeded || error.chain().any(|e| e.is::<MemoryCapExceeded>()) {
            return InvokeError::MemoryExceeded {
                driver_id,
                memory_mib: self.limits.memory_mib,
            };
        }
        InvokeError::Trap {
            driver_id,
            message: format!("{error:#}"),
        }
    }
}

/// The metrics' word for how an invocation ended (a driver's own error
/// result counts as `ok`: the sandbox did its job).
fn metric_outcome<T>(outcome: &Result<T, InvokeError>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(InvokeError::DeadlineExceeded { .. }) => "deadline",
        Err(InvokeError::MemoryExceeded { .. }) => "memory",
        Err(InvokeError::Trap { .. }) => "trap",
        Err(InvokeError::Closed) => "closed",
    }
}
