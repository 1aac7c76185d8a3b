//! The five measurements of issue 8. Each returns its figures; a figure
//! with a target carries the measured ratio and whether it is met.
//!
//! ## Where to start
//!
//! [`Plan`] (how long and how often) and [`Ctx`] (what every scenario
//! shares) live here; each measurement has its file, in the order of the
//! report:
//!
//! 1. `dispatch.rs`: the Wasm no-op against a native one, and the
//!    component step alone.
//! 2. `ingest.rs`: evidence ingest, and a driver action that writes records.
//! 3. `startup.rs`: cold and warm start of `launchplane serve`.
//! 4. `memory.rs`: idle and peak memory, the per-instance cost and cap.
//! 5. `isolation.rs`: other routes beside a runaway, and a native control.

mod dispatch;
mod ingest;
mod isolation;
mod memory;
mod startup;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::load::{MakeRequest, Sample, Spec, Target};
use crate::report::{Figure, Op};

pub use dispatch::dispatch;
pub use ingest::ingest;
pub use isolation::isolation;
pub use memory::memory;
pub use startup::startup;

/// Durations and counts of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    pub warmup: Duration,
    pub dispatch_phase: Duration,
    pub dispatch_rounds: usize,
    pub evidence_phase: Duration,
    pub deploy_phase: Duration,
    pub cold_runs: usize,
    pub warm_runs: usize,
    pub hold_ms: u32,
    pub isolation_phase: Duration,
    pub isolation_rounds: usize,
    /// Upper bound on requests in any one phase.
    pub max_requests: u64,
}

impl Plan {
    /// The recorded run's durations and counts.
    pub fn full() -> Plan {
        Plan {
            quick: false,
            warmup: Duration::from_secs(1),
            dispatch_phase: Duration::from_millis(1_500),
            dispatch_rounds: 4,
            evidence_phase: Duration::from_secs(4),
            deploy_phase: Duration::from_secs(4),
            cold_runs: 3,
            warm_runs: 7,
            hold_ms: 2_000,
            // Short phases, interleaved more often: drift on this shared
            // machine then lands on idle, runaway and control alike.
            isolation_phase: Duration::from_secs(2),
            isolation_rounds: 4,
            max_requests: 500_000,
        }
    }

    /// A smoke run: every figure, short phases, numbers not for the record.
    pub fn quick() -> Plan {
        Plan {
            quick: true,
            warmup: Duration::from_millis(300),
            dispatch_phase: Duration::from_secs(1),
            dispatch_rounds: 2,
            evidence_phase: Duration::from_secs(2),
            deploy_phase: Duration::from_secs(2),
            cold_runs: 1,
            warm_runs: 2,
            hold_ms: 1_000,
            isolation_phase: Duration::from_secs(2),
            isolation_rounds: 1,
            max_requests: 100_000,
        }
    }
}

/// What every scenario shares.
pub struct Ctx {
    pub plan: Plan,
    pub client: reqwest::Client,
    /// The service runtime (2 workers): in-process servers and their
    /// database work run there, never on the load generator's thread.
    pub server: tokio::runtime::Handle,
    pub issuer_url: String,
    /// One token per client task.
    pub tokens: Arc<Vec<String>>,
    /// Distinguishes this run's idempotency keys and record ids.
    pub run_id: String,
    /// The release `launchplane` binary.
    pub bin: PathBuf,
    pub work: PathBuf,
    /// Runaway invocations the in-process host stopped, as it logged them.
    pub stops: crate::stops::Stops,
    /// The in-process host's SQL statements, counted while on.
    pub statements: launchplane_tests::statements::StatementLog,
}

impl Ctx {
    /// A load spec: `concurrency` clients for `duration`, unpaced.
    fn spec(&self, concurrency: usize, duration: Duration) -> Spec {
        Spec {
            concurrency,
            duration,
            max_requests: self.plan.max_requests,
            pace: None,
        }
    }

    /// POSTs `body(seq, worker)` to `path` with a token per client task
    /// and, with `key`, an `Idempotency-Key` of `{key}-{seq}`.
    fn poster(
        &self,
        target: Target,
        path: &str,
        key: Option<String>,
        body: impl Fn(u64, usize) -> Value + Send + Sync + 'static,
    ) -> MakeRequest {
        let url = target.url(path);
        let tokens = self.tokens.clone();
        Arc::new(move |client, seq, worker| {
            let mut request = client
                .post(&url)
                .bearer_auth(&tokens[worker % tokens.len()])
                .json(&body(seq, worker));
            if let Some(key) = &key {
                request = request.header("Idempotency-Key", format!("{key}-{seq}"));
            }
            request
        })
    }
}

/// A figure counting `sample`'s failed requests, with a target of none.
fn errors_figure(section: &'static str, id: String, what: &str, sample: &Sample) -> Figure {
    let requests = sample.requests().max(1) as f64;
    Figure::new(
        section,
        id,
        format!("{what}: requests that failed"),
        sample.errors as f64,
        "count",
    )
    .target(
        "errors / requests",
        sample.errors as f64 / requests,
        Op::AtMost,
        0.0,
    )
    .detail(json!({"requests": sample.requests(), "first_error": sample.first_error}))
}

/// The median of `values`, in milliseconds (NaN for none).
fn median(values: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return f64::NAN;
    }
    let mid = ms.len() / 2;
    if ms.len() % 2 == 1 {
        ms[mid]
    } else {
        (ms[mid - 1] + ms[mid]) / 2.0
    }
}
