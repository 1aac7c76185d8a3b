//! Section 5, isolation: the p99 of other routes (health, the Wasm no-op)
//! at a paced load, idle, beside a runaway Wasm invocation, and beside a
//! native spinning thread (the control); and how fast the runaway is
//! stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::dispatch::WASM_NOOP;
use super::{Ctx, median};
use crate::load::{self, MakeRequest, Sample, Spec};
use crate::report::{Figure, Op};
use crate::service::{BENCH_DEADLINE_MS, InProcess};

/// The other routes' offered load: paced, well below saturation, so their
/// p99 measures interference rather than queueing behind each other.
const HEALTH_INTERVAL: Duration = Duration::from_millis(5);
/// The paced interval of the Wasm no-op.
const NOOP_INTERVAL: Duration = Duration::from_millis(10);

/// Rows of the isolation samples.
const IDLE: usize = 0;
const WASM_RUNAWAY: usize = 1;
const NATIVE_SPIN: usize = 2;

/// Adds one phase's [health, noop] samples to a row.
fn merge(into: &mut [Sample; 2], phase: [Sample; 2]) {
    for (into, sample) in into.iter_mut().zip(phase) {
        into.merge(sample);
    }
}

/// A thread that keeps one core busy until stopped: the isolation
/// section's control for what a spinning runaway costs without Wasm.
struct NativeSpinner {
    stop: Arc<AtomicBool>,
}

impl NativeSpinner {
    fn start() -> anyhow::Result<NativeSpinner> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("bench-native-spin".into())
            .spawn(move || {
                let mut n: u64 = 0;
                while !flag.load(Ordering::Relaxed) {
                    for _ in 0..10_000 {
                        n = std::hint::black_box(n.wrapping_add(1));
                    }
                }
            })
            .context("cannot start the native spinning thread")?;
        Ok(NativeSpinner { stop })
    }
}

impl Drop for NativeSpinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the isolation rounds measured.
struct Phases {
    /// [idle, Wasm runaway, native spinning thread] x [health, noop].
    samples: [[Sample; 2]; 3],
    /// How long each runaway request took to its deadline answer.
    requests: Vec<Duration>,
    /// The runaway requests that got another answer.
    not_stopped: Vec<String>,
    /// The PostgreSQL checkpoint before the rounds, for the record.
    checkpoint: String,
    /// How the machine settled before the rounds, for the record.
    settled: Value,
}

/// The isolation figures: the runaway's stop times, then each other
/// route's p99 idle, beside the runaway and beside the native control.
pub async fn isolation(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let concurrency = 2;
    let Phases {
        samples,
        requests,
        not_stopped,
        checkpoint,
        settled,
    } = run_phases(ctx, service, concurrency).await?;
    // As the host measured them: admission to trap.
    let stops: Vec<Duration> = ctx
        .stops
        .take()
        .into_iter()
        .map(Duration::from_millis)
        .collect();

    let section = "5 isolation";
    let mut figures = runaway_figures(section, &stops, &requests, &not_stopped);
    for (i, (name, route, interval)) in [
        ("health", "GET /v1/health", HEALTH_INTERVAL),
        ("noop", "POST Wasm no-op", NOOP_INTERVAL),
    ]
    .into_iter()
    .enumerate()
    {
        let rate = concurrency as f64 / interval.as_secs_f64();
        let [idle, runaway, spin] = [
            &samples[IDLE][i],
            &samples[WASM_RUNAWAY][i],
            &samples[NATIVE_SPIN][i],
        ];
        figures.extend(route_figures(
            section,
            name,
            route,
            rate,
            [idle, runaway, spin],
            &checkpoint,
            &settled,
        ));
    }
    Ok(figures)
}

/// The rounds: each runs the other routes idle, beside the runaway, and
/// beside the native spinning thread.
async fn run_phases(ctx: &Ctx, service: &InProcess, concurrency: usize) -> anyhow::Result<Phases> {
    let health = {
        let url = service.target.url("/v1/health");
        Arc::new(move |client: &reqwest::Client, _seq: u64, _worker: usize| client.get(&url))
            as MakeRequest
    };
    let noop = |phase: &str| {
        ctx.poster(
            service.target,
            WASM_NOOP,
            Some(format!("{}-isolation-{phase}", ctx.run_id)),
            |_, _| json!({"product": "bench", "noop": {"instance": "testing"}}),
        )
    };
    let health_spec = Spec {
        pace: Some(HEALTH_INTERVAL),
        ..ctx.spec(concurrency, ctx.plan.isolation_phase)
    };
    let noop_spec = Spec {
        pace: Some(NOOP_INTERVAL),
        ..ctx.spec(concurrency, ctx.plan.isolation_phase)
    };
    // Both routes' paced load for one phase: [health, noop].
    let other_routes = |phase: String| {
        let (health, noop) = (health.clone(), noop(&phase));
        async move {
            let (h, n) = tokio::join!(
                load::run(&ctx.client, health_spec, StatusCode::OK, health),
                load::run(&ctx.client, noop_spec, StatusCode::ACCEPTED, noop),
            );
            [h, n]
        }
    };
    // [idle, Wasm runaway, native spinning thread] x [health, noop].
    let mut samples: [[Sample; 2]; 3] = Default::default();
    let mut requests: Vec<Duration> = Vec::new();
    let mut not_stopped: Vec<String> = Vec::new();
    let spin_url = service.target.url("/v1/drivers/bench-noop/spin");
    let spin_body = json!({"product": "bench", "spin": {"instance": "testing"}});
    let checkpoint = checkpoint(&service.db.url).await;
    let settled = settle().await;
    ctx.stops.take();
    for round in 0..ctx.plan.isolation_rounds {
        let phase = other_routes(format!("idle{round}")).await;
        merge(&mut samples[IDLE], phase);

        // The runaway: one client invoking the infinite loop back to back.
        let stop = Arc::new(AtomicBool::new(false));
        let runaway = spawn_runaway(ctx, &spin_url, &spin_body, stop.clone());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let phase = other_routes(format!("runaway{round}")).await;
        stop.store(true, Ordering::Relaxed);
        merge(&mut samples[WASM_RUNAWAY], phase);
        for (elapsed, text) in runaway.await? {
            if text.starts_with("500") && text.contains("exceeded its deadline") {
                requests.push(elapsed);
            } else {
                not_stopped.push(text);
            }
        }

        // The control: the same core kept busy by a native thread of this
        // process, outside the host and outside Wasm. What this costs the
        // other routes is the machine's share, not the runtime's.
        let spinner = NativeSpinner::start()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let phase = other_routes(format!("spin{round}")).await;
        drop(spinner);
        merge(&mut samples[NATIVE_SPIN], phase);
    }
    Ok(Phases {
        samples,
        requests,
        not_stopped,
        checkpoint,
        settled,
    })
}

/// One client invoking the runaway back to back until `stop` (or two
/// phases' time): each request's duration and answer.
fn spawn_runaway(
    ctx: &Ctx,
    spin_url: &str,
    spin_body: &Value,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(Duration, String)>> {
    let (client, url, body, token, stop) = (
        ctx.client.clone(),
        spin_url.to_string(),
        spin_body.clone(),
        ctx.tokens[0].clone(),
        stop,
    );
    let limit = ctx.plan.isolation_phase * 2;
    tokio::spawn(async move {
        let started = Instant::now();
        let mut results = Vec::new();
        while !stop.load(Ordering::Relaxed) && started.elapsed() < limit {
            let sent = Instant::now();
            let outcome = client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
            let text = match outcome {
                Ok(r) => {
                    let status = r.status();
                    format!("{status} {}", r.text().await.unwrap_or_default())
                }
                Err(e) => format!("send: {e}"),
            };
            results.push((sent.elapsed(), text));
        }
        results
    })
}

/// The runaway's figures: its slowest stop as the host logged it (with
/// its target) and its slowest request as the client saw it.
fn runaway_figures(
    section: &'static str,
    stops: &[Duration],
    requests: &[Duration],
    not_stopped: &[String],
) -> Vec<Figure> {
    let deadline = Duration::from_millis(BENCH_DEADLINE_MS);
    let over = |values: &[Duration]| {
        let worst = values.iter().max().copied().unwrap_or_default();
        let ratio = if values.is_empty() || !not_stopped.is_empty() {
            f64::NAN
        } else {
            worst.as_secs_f64() / deadline.as_secs_f64()
        };
        (worst.as_secs_f64() * 1000.0, ratio)
    };
    let (worst_stop, stop_ratio) = over(stops);
    let (worst_request, request_ratio) = over(requests);
    vec![
        Figure::new(
            section,
            "isolation.runaway_stop",
            format!(
                "runaway `spin` (infinite loop, deadline {BENCH_DEADLINE_MS} ms) invoked back to back over HTTP: slowest invocation, admission to trap, as the host logs it"
            ),
            worst_stop,
            "ms",
        )
        .target("slowest stop / deadline", stop_ratio, Op::AtMost, 1.1)
        .detail(json!({
            "invocations_stopped": stops.len(),
            "median_ms": median(stops),
            "requests_answered_deadline_exceeded": requests.len(),
            "requests_with_another_outcome": not_stopped.len(),
            "first_other_outcome": not_stopped.first(),
        })),
        Figure::new(
            section,
            "isolation.runaway_request",
            "the same, seen by the client: slowest whole request (authentication, profile, policy and audit included) to its 500 deadline answer",
            worst_request,
            "ms",
        )
        .detail(json!({
            "over_deadline": request_ratio,
            "median_ms": median(requests),
        })),
    ]
}

/// One route's figures: its p99 idle, beside the runaway (and the ratio,
/// with its target) and beside the native control (and its ratios).
fn route_figures(
    section: &'static str,
    name: &str,
    route: &str,
    rate: f64,
    [idle, runaway, spin]: [&Sample; 3],
    checkpoint: &str,
    settled: &Value,
) -> [Figure; 6] {
    let p99 = |s: &Sample| s.percentile_us(99.0);
    let runaway_ratio = ratio(runaway, idle);
    let mut idle_detail = detail(idle);
    idle_detail["postgres_checkpoint_before"] = json!(checkpoint);
    idle_detail["settle_before"] = settled.clone();
    [
        Figure::new(
            section,
            format!("isolation.{name}.p99_idle"),
            format!("{route} at {rate:.0} req/s offered, nothing else running: p99"),
            p99(idle),
            "µs",
        )
        .detail(idle_detail),
        Figure::new(
            section,
            format!("isolation.{name}.p99_runaway"),
            format!("{route} at {rate:.0} req/s offered, while the runaway loops: p99"),
            p99(runaway),
            "µs",
        )
        .detail(detail(runaway)),
        Figure::new(
            section,
            format!("isolation.{name}.p99_ratio"),
            format!("{route}: p99 with the runaway over idle p99"),
            runaway_ratio,
            "×",
        )
        .target("runaway p99 / idle p99", runaway_ratio, Op::AtMost, 2.0),
        Figure::new(
            section,
            format!("isolation.{name}.p99_native_spin"),
            format!(
                "control, {route} at {rate:.0} req/s offered, while a native thread of the benchmark process spins instead of the runaway: p99"
            ),
            p99(spin),
            "µs",
        )
        .detail(detail(spin)),
        Figure::new(
            section,
            format!("isolation.{name}.p99_ratio_native_spin"),
            format!(
                "control, {route}: p99 with a native spinning thread over idle p99 (no target: what one busy core costs on this machine)"
            ),
            ratio(spin, idle),
            "×",
        ),
        Figure::new(
            section,
            format!("isolation.{name}.p99_runaway_over_native_spin"),
            format!(
                "{route}: p99 with the runaway over p99 with the native spinning thread (no target: above 1 is what the Wasm runaway costs beyond one busy core)"
            ),
            ratio(runaway, spin),
            "×",
        ),
    ]
}

/// p99 of `busy` over p99 of `base`; NaN when either phase had errors, so
/// a failing phase can never look like a good ratio.
fn ratio(busy: &Sample, base: &Sample) -> f64 {
    if base.errors + busy.errors == 0 {
        busy.percentile_us(99.0) / base.percentile_us(99.0)
    } else {
        f64::NAN
    }
}

/// A sample's counts and percentiles, for a figure's detail.
fn detail(s: &Sample) -> Value {
    json!({
        "requests": s.requests(),
        "errors": s.errors,
        "first_error": s.first_error,
        "p50_us": s.percentile_us(50.0),
        "p90_us": s.percentile_us(90.0),
        "max_us": s.percentile_us(100.0),
    })
}

/// The machine's CPU time so far, as (busy, total) jiffies over all CPUs,
/// from `/proc/stat`; `None` off Linux.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already
    // counted in user and nice).
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// Earlier sections leave work behind for a while (the server's and
/// PostgreSQL's after ingest, the kernel reclaiming the memory section's
/// child), and a burst of it inside a phase lands in that phase's p99.
/// Waits until the whole machine has been mostly idle (under 10% busy over
/// half a second) or 20 s have passed, and says which, for the record.
async fn settle() -> Value {
    const WINDOW: Duration = Duration::from_millis(500);
    const QUIET: f64 = 0.10;
    const LIMIT: Duration = Duration::from_secs(20);
    let started = Instant::now();
    let Some(mut last) = cpu_jiffies() else {
        return json!({"skipped": "no /proc/stat"});
    };
    loop {
        tokio::time::sleep(WINDOW).await;
        let Some(now) = cpu_jiffies() else {
            return json!({"skipped": "no /proc/stat"});
        };
        let busy = (now.0 - last.0) as f64 / (now.1 - last.1).max(1) as f64;
        last = now;
        if busy < QUIET || started.elapsed() >= LIMIT {
            return json!({
                "waited_s": started.elapsed().as_secs_f64(),
                "busy_fraction_last_window": busy,
                "quiet": busy < QUIET,
            });
        }
    }
}

/// Flushes what earlier sections wrote (ingest writes thousands of rows) so
/// a checkpoint does not land inside an isolation phase. Returns what
/// happened, for the record; a failure (a role without the right to
/// checkpoint) is reported, not fatal.
async fn checkpoint(url: &str) -> String {
    use sqlx::Connection as _;
    let outcome = async {
        let mut connection = sqlx::PgConnection::connect(url).await?;
        sqlx::query("CHECKPOINT").execute(&mut connection).await?;
        connection.close().await
    };
    match outcome.await {
        Ok(()) => "done".to_string(),
        Err(error) => format!("failed: {error}"),
    }
}
