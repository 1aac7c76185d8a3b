//! `log`: structured log lines from drivers, tagged with the driver id and
//! the trace id (the invocation's span carries it too). Each message is
//! cut at the longest line and charged to the invocation's output budget
//! (shared with stdout and stderr, see `runtime/stdio.rs`).

use super::super::bindings::launchplane::driver::log;
use super::super::state::InvocationState;
use super::super::stdio::{MAX_LINE, cut_line};

impl log::Host for InvocationState {
    async fn emit(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => tracing::Level::TRACE,
            log::Level::Debug => tracing::Level::DEBUG,
            log::Level::Info => tracing::Level::INFO,
            log::Level::Warn => tracing::Level::WARN,
            log::Level::Error => tracing::Level::ERROR,
        };
        self.output.log(level, "log", cut_line(&message, MAX_LINE));
        Ok(())
    }
}
