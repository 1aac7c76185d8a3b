//! How long the host took to stop each runaway invocation, as the host
//! itself reports it: the in-process service logs every failed invocation
//! with its `elapsed_ms` (from admission to the trap), and this layer
//! keeps the ones that ended at their deadline.

use std::sync::{Arc, Mutex};

use launchplane_tests::statements::StatementLog;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Elapsed milliseconds of invocations stopped at their deadline.
#[derive(Debug, Clone, Default)]
pub struct Stops(Arc<Mutex<Vec<u64>>>);

impl Stops {
    /// Installs the process-wide subscriber: this layer, the statement
    /// log (on only while the ingest section counts), plus log output on
    /// stderr when `LAUNCHPLANE_BENCH_LOG` names a filter.
    pub fn install(statements: &StatementLog) -> Stops {
        use tracing_subscriber::prelude::*;
        let stops = Stops::default();
        let filter = std::env::var("LAUNCHPLANE_BENCH_LOG").unwrap_or_else(|_| "off".into());
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(tracing_subscriber::EnvFilter::new(filter));
        // Each layer filters for itself: callsites neither wants stay
        // disabled, as with no subscriber at all.
        let own = tracing_subscriber::filter::filter_fn(|m| m.target() == TARGET);
        let _ = tracing_subscriber::registry()
            .with(stops.clone().with_filter(own))
            .with(statements.clone().with_filter(statements.filter()))
            .with(fmt)
            .try_init();
        stops
    }

    /// Takes what was recorded so far.
    pub fn take(&self) -> Vec<u64> {
        match self.0.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

#[derive(Default)]
struct Fields {
    elapsed_ms: Option<u64>,
    deadline: bool,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "elapsed_ms" {
            self.elapsed_ms = Some(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "error" && format!("{value:?}").contains("exceeded its deadline") {
            self.deadline = true;
        }
    }
}

/// Where the host logs a failed invocation.
const TARGET: &str = "launchplane::runtime::component";

impl<S: Subscriber> Layer<S> for Stops {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let (Some(ms), true) = (fields.elapsed_ms, fields.deadline) {
            match self.0.lock() {
                Ok(mut guard) => guard.push(ms),
                Err(poisoned) => poisoned.into_inner().push(ms),
            }
        }
    }
}
