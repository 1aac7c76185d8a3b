//! `log`: structured log lines from drivers, tagged with the driver id and
//! the trace id (the invocation's span carries it too).

use super::super::bindings::launchplane::driver::log;
use super::super::state::InvocationState;

impl log::Host for InvocationState {
    async fn emit(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let (driver_id, trace_id) = (&*self.driver_id, &*self.trace_id);
        match level {
            log::Level::Trace => tracing::trace!(driver_id, trace_id, "{message}"),
            log::Level::Debug => tracing::debug!(driver_id, trace_id, "{message}"),
            log::Level::Info => tracing::info!(driver_id, trace_id, "{message}"),
            log::Level::Warn => tracing::warn!(driver_id, trace_id, "{message}"),
            log::Level::Error => tracing::error!(driver_id, trace_id, "{message}"),
        }
        Ok(())
    }
}
