//! Prometheus metrics: the names, their help text, and the one recorder.
//!
//! Code anywhere in the host records through the `metrics` facade with the
//! helpers below (so a name is spelled once); [`install`] makes the
//! Prometheus recorder the process's global one, and `GET /metrics`
//! renders it ([`render`]). Recording before [`install`], or in a process
//! that never installs it (the CLI's client commands), costs nothing and
//! records nothing.
//!
//! Labels are bounded: route templates (never paths with ids), driver and
//! action ids from the registry, provider operations from the WIT, outcome
//! words. No product, lane, caller or token ever becomes a label.
//!
//! This module names no other host module, so every layer may use it
//! (`cargo xtask layers`).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests served, by method, route template and status (histogram of
/// seconds; its `_count` is the request count).
pub const HTTP_REQUEST_SECONDS: &str = "launchplane_http_request_duration_seconds";
/// Error answers by status and error code (`authentication_required`,
/// `forbidden`, `lane_busy`, `idempotency_key_reused`, …).
pub const HTTP_ERRORS: &str = "launchplane_http_errors_total";
/// Driver invocations by driver, action (`describe` for the descriptor
/// call) and outcome (`ok`, `deadline`, `memory`, `trap`, `closed`); a
/// driver's own error answer is `ok`.
pub const DRIVER_INVOCATIONS: &str = "launchplane_driver_invocations_total";
/// Driver invocation time by driver and action.
pub const DRIVER_SECONDS: &str = "launchplane_driver_invocation_duration_seconds";
/// Provider calls made for drivers, by operation and outcome (histogram of
/// seconds).
pub const PROVIDER_CALL_SECONDS: &str = "launchplane_provider_call_duration_seconds";
/// `Idempotency-Key` reservations by outcome (`reserved`, `replayed`,
/// `reused`, `in_progress`, `outcome_unknown`).
pub const IDEMPOTENCY: &str = "launchplane_idempotency_reservations_total";
/// Lane leases this host's running attempts hold now.
pub const LANE_LEASES_HELD: &str = "launchplane_lane_leases_held";
/// OIDC signing key fetches by outcome (`ok`, `failed`).
pub const JWKS_FETCHES: &str = "launchplane_jwks_fetches_total";
/// Always 1, labelled with the version.
pub const BUILD_INFO: &str = "launchplane_build_info";

/// Histogram buckets, in seconds: 1 ms to 10 minutes (a sync deploy).
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder as the global recorder (once; later
/// calls return the same handle). `None` when another recorder was
/// installed first, in which case `/metrics` answers 503.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .and_then(|builder| builder.install_recorder());
            match recorder {
                Ok(handle) => {
                    describe();
                    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed: /metrics answers 503");
                    None
                }
            }
        })
        .as_ref()
}

/// The metrics in Prometheus text format; `None` when the recorder is not
/// installed.
pub fn render() -> Option<String> {
    let handle = HANDLE.get()?.as_ref()?;
    // Folds recorded histogram samples into their buckets.
    handle.run_upkeep();
    Some(handle.render())
}

fn describe() {
    describe_histogram!(
        HTTP_REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Requests served, by method, route template and status."
    );
    describe_counter!(HTTP_ERRORS, "Error answers, by status and error code.");
    describe_counter!(
        DRIVER_INVOCATIONS,
        "Driver invocations, by driver, action and outcome."
    );
    describe_histogram!(
        DRIVER_SECONDS,
        metrics::Unit::Seconds,
        "Driver invocation time, by driver and action."
    );
    describe_histogram!(
        PROVIDER_CALL_SECONDS,
        metrics::Unit::Seconds,
        "Provider calls made for drivers, by operation and outcome."
    );
    describe_counter!(IDEMPOTENCY, "Idempotency-Key reservations, by outcome.");
    describe_gauge!(
        LANE_LEASES_HELD,
        "Lane leases held by this host's running attempts."
    );
    describe_counter!(JWKS_FETCHES, "OIDC signing key fetches, by outcome.");
    describe_gauge!(BUILD_INFO, "Always 1, labelled with the version.");
}

/// One request served. `route` is the matched template, or `unmatched`.
pub fn request(method: &str, route: &str, status: u16, elapsed: Duration) {
    histogram!(
        HTTP_REQUEST_SECONDS,
        "method" => method.to_string(),
        "route" => route.to_string(),
        "status" => status.to_string(),
    )
    .record(elapsed.as_secs_f64());
}

/// One error answer.
pub fn error(status: u16, code: &str) {
    counter!(HTTP_ERRORS, "status" => status.to_string(), "code" => code.to_string()).increment(1);
}

/// One driver invocation.
pub fn driver_invocation(driver: &str, action: &str, outcome: &'static str, elapsed: Duration) {
    counter!(
        DRIVER_INVOCATIONS,
        "driver" => driver.to_string(),
        "action" => action.to_string(),
        "outcome" => outcome,
    )
    .increment(1);
    histogram!(
        DRIVER_SECONDS,
        "driver" => driver.to_string(),
        "action" => action.to_string(),
    )
    .record(elapsed.as_secs_f64());
}

/// One provider call made for a driver.
pub fn provider_call(operation: &'static str, outcome: &'static str, elapsed: Duration) {
    histogram!(PROVIDER_CALL_SECONDS, "operation" => operation, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// One `Idempotency-Key` reservation outcome.
pub fn idempotency(outcome: &'static str) {
    counter!(IDEMPOTENCY, "outcome" => outcome).increment(1);
}

/// A lane lease taken (`+1`) or given up (`-1`) by this host.
pub fn lane_leases_held(delta: f64) {
    gauge!(LANE_LEASES_HELD).increment(delta);
}

/// One OIDC signing key fetch.
pub fn jwks_fetch(ok: bool) {
    counter!(JWKS_FETCHES, "outcome" => if ok { "ok" } else { "failed" }).increment(1);
}
