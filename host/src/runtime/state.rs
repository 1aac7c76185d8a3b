//! The data of one invocation's `Store`.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::Invocation;
use super::capabilities::{HostServices, InvocationScope};
use super::limits::{DriverLimits, InvocationLimiter};
use super::stdio::{LogStream, OutputBudget, OutputLimits, Stream};

/// One host call a driver made, kept as the invocation's transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCall {
    /// `records.put`, `provider.deploy`, `hooks.call`, ...
    pub function: String,
    /// A short, secret-free summary of the arguments.
    pub summary: String,
    /// `ok`, `denied`, or the error case name.
    pub outcome: String,
}

/// Per-invocation store data. Built fresh for every call: nothing leaks
/// between invocations.
pub struct InvocationState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: InvocationLimiter,
    pub(crate) driver_id: Arc<str>,
    pub(crate) trace_id: Arc<str>,
    pub(crate) started: Instant,
    pub(crate) limits: DriverLimits,
    pub(crate) scope: Option<InvocationScope>,
    pub(crate) invocation: Option<Invocation>,
    pub(crate) services: HostServices,
    pub(crate) transcript: Vec<HostCall>,
    /// What the guest may still log (stdout, stderr and `log::emit`).
    pub(crate) output: OutputBudget,
    /// The runtime that admitted the invocation: host calls run there, not
    /// on the guest thread (see `guest_pool`). `None` runs them in place.
    pub(crate) host: Option<tokio::runtime::Handle>,
}

impl InvocationState {
    /// A sandbox with no preopened directories, no environment variables, no
    /// arguments and no network; stdout/stderr go to the log, within the
    /// invocation's output budget.
    pub(crate) fn new(
        driver_id: Arc<str>,
        trace_id: Arc<str>,
        limits: DriverLimits,
        services: HostServices,
    ) -> Self {
        let output =
            OutputBudget::new(OutputLimits::default(), driver_id.clone(), trace_id.clone());
        let wasi = WasiCtx::builder()
            .stdout(LogStream::new(output.clone(), Stream::Stdout))
            .stderr(LogStream::new(output.clone(), Stream::Stderr))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        InvocationState {
            wasi,
            table: ResourceTable::new(),
            limiter: limits.limiter(),
            driver_id,
            trace_id,
            started: Instant::now(),
            limits,
            scope: None,
            invocation: None,
            services,
            transcript: Vec::new(),
            output,
            host: None,
        }
    }

    pub(crate) fn note(&mut self, function: &str, summary: String, outcome: &str) {
        self.transcript.push(HostCall {
            function: function.to_string(),
            summary,
            outcome: outcome.to_string(),
        });
    }
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_io::IoView for InvocationState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}
