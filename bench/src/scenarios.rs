//! The five measurements of issue 8. Each returns its figures; a figure
//! with a target carries the measured ratio and whether it is met.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use launchplane::records::Store;
use launchplane_tests::{RegistryFile, component};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::load::{self, MakeRequest, Sample, Spec, Target};
use crate::report::{Figure, Op};
use crate::service::{
    BENCH_DEADLINE_MS, BENCH_MEMORY_MIB, BENCH_POLICY, InProcess, ServeSpec, Spawned,
    proc_status_kib, seed_profiles,
};

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
}

impl Ctx {
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

fn ms(us: f64) -> f64 {
    us / 1000.0
}

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

/// Rows counted in the in-process service's database.
async fn count_records(ctx: &Ctx, store: &Store, kind: &'static str) -> anyhow::Result<i64> {
    let store = store.clone();
    ctx.server
        .spawn(async move {
            let Store::Postgres(pool) = &store else {
                bail!("the in-process service runs on PostgreSQL");
            };
            let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM lp_records WHERE kind = $1")
                .bind(kind)
                .fetch_one(pool)
                .await?;
            Ok(n)
        })
        .await?
}

// ---------------------------------------------------------------------------
// 1. Dispatch overhead

pub const WASM_NOOP: &str = "/v1/drivers/bench-noop/noop";
pub const NATIVE_NOOP: &str = "/v1/bench/native/bench-noop/noop";

pub async fn dispatch(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let body = json!({"product": "bench", "noop": {"instance": "testing"}});
    for path in [WASM_NOOP, NATIVE_NOOP] {
        let response = ctx
            .client
            .post(service.target.url(path))
            .bearer_auth(&ctx.tokens[0])
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status != StatusCode::ACCEPTED {
            bail!("{path} answered {status}: {text}");
        }
    }

    let variants = [("wasm", WASM_NOOP), ("native", NATIVE_NOOP)];
    let mut figures = Vec::new();
    for concurrency in [1usize, 16] {
        let request = |variant: usize, phase: &str| {
            let body = body.clone();
            ctx.poster(
                service.target,
                variants[variant].1,
                Some(format!(
                    "{}-dispatch-{}-c{concurrency}-{phase}",
                    ctx.run_id, variants[variant].0
                )),
                move |_, _| body.clone(),
            )
        };
        for variant in 0..2 {
            load::run(
                &ctx.client,
                ctx.spec(concurrency, ctx.plan.warmup),
                StatusCode::ACCEPTED,
                request(variant, "warmup"),
            )
            .await;
        }
        let mut samples = [Sample::default(), Sample::default()];
        for round in 0..ctx.plan.dispatch_rounds {
            // ABBA: each variant goes first in half the rounds.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for variant in order {
                let sample = load::run(
                    &ctx.client,
                    ctx.spec(concurrency, ctx.plan.dispatch_phase),
                    StatusCode::ACCEPTED,
                    request(variant, &format!("r{round}")),
                )
                .await;
                samples[variant].merge(sample);
            }
        }
        let [wasm, native] = &samples;
        let c = format!("c{concurrency}");
        let section = "1 dispatch";
        for (name, s) in [("wasm", wasm), ("native", native)] {
            let route = if name == "wasm" {
                "Wasm no-op driver action"
            } else {
                "native no-op handler"
            };
            figures.push(Figure::new(
                section,
                format!("dispatch.{c}.{name}.p50"),
                format!("{route}, concurrency {concurrency}: median latency"),
                s.percentile_us(50.0),
                "µs",
            ));
            figures.push(Figure::new(
                section,
                format!("dispatch.{c}.{name}.p99"),
                format!("{route}, concurrency {concurrency}: 99th percentile latency"),
                s.percentile_us(99.0),
                "µs",
            ));
            figures.push(
                Figure::new(
                    section,
                    format!("dispatch.{c}.{name}.throughput"),
                    format!("{route}, concurrency {concurrency}: requests per second"),
                    s.throughput(),
                    "req/s",
                )
                .detail(json!({"requests": s.requests(), "seconds": s.elapsed.as_secs_f64()})),
            );
        }
        let p50 = wasm.percentile_us(50.0) / native.percentile_us(50.0);
        figures.push(
            Figure::new(
                section,
                format!("dispatch.{c}.p50_ratio"),
                format!("concurrency {concurrency}: Wasm p50 over native p50"),
                p50,
                "×",
            )
            .target("wasm p50 / native p50", p50, Op::AtMost, 1.3),
        );
        let p99 = wasm.percentile_us(99.0) / native.percentile_us(99.0);
        figures.push(Figure::new(
            section,
            format!("dispatch.{c}.p99_ratio"),
            format!("concurrency {concurrency}: Wasm p99 over native p99 (no target)"),
            p99,
            "×",
        ));
        let throughput = wasm.throughput() / native.throughput();
        figures.push(
            Figure::new(
                section,
                format!("dispatch.{c}.throughput_ratio"),
                format!("concurrency {concurrency}: Wasm throughput over native throughput"),
                throughput,
                "×",
            )
            .target("wasm rps / native rps", throughput, Op::AtLeast, 0.75),
        );
        figures.push(Figure::new(
            section,
            format!("dispatch.{c}.p50_delta"),
            format!(
                "concurrency {concurrency}: Wasm p50 minus native p50 (what the component step adds)"
            ),
            wasm.percentile_us(50.0) - native.percentile_us(50.0),
            "µs",
        ));
        let mut both = wasm.clone();
        both.merge(native.clone());
        figures.push(errors_figure(
            section,
            format!("dispatch.{c}.errors"),
            &format!("dispatch, concurrency {concurrency}, both variants"),
            &both,
        ));
    }
    figures.extend(invoke_only(ctx, service).await?);
    Ok(figures)
}

/// The component step alone, without HTTP or the layers around it: one
/// `handle` call of the no-op (fresh store, instantiation, call, result)
/// after another, on the service runtime.
async fn invoke_only(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let count = if ctx.plan.quick { 1_000 } else { 5_000 };
    let registry = service.state.registry();
    let latencies = ctx
        .server
        .spawn(async move {
            let driver = registry
                .driver("bench-noop")
                .cloned()
                .context("bench-noop is not loaded")?;
            let mut latencies = Vec::with_capacity(count);
            for i in 0..(count + count / 10) {
                let invocation = launchplane_tests::invocation(
                    "bench-noop",
                    "noop",
                    json!({"instance": "testing"}),
                );
                let started = Instant::now();
                let invoked = driver
                    .component
                    .handle(
                        invocation,
                        launchplane_tests::demo_scope(&[]),
                        launchplane::runtime::HostServices::default(),
                    )
                    .await;
                let elapsed = started.elapsed().as_micros() as u64;
                match invoked {
                    Ok(invoked) if invoked.value.is_ok() => {}
                    other => bail!("the no-op invocation failed: {other:?}"),
                }
                // The first tenth warms up.
                if i >= count / 10 {
                    latencies.push(elapsed);
                }
            }
            anyhow::Ok(latencies)
        })
        .await??;
    let section = "1 dispatch";
    Ok(vec![
        Figure::new(
            section,
            "dispatch.invoke_only.p50",
            format!(
                "the no-op's component step alone (store, instantiate, call, result), {count} calls in sequence: median"
            ),
            load::percentile(&latencies, 50.0),
            "µs",
        ),
        Figure::new(
            section,
            "dispatch.invoke_only.p99",
            "the same: 99th percentile",
            load::percentile(&latencies, 99.0),
            "µs",
        ),
    ])
}

// ---------------------------------------------------------------------------
// 2. End-to-end evidence ingest, and a driver action that writes records

fn deployment_evidence(record_id: &str) -> Value {
    json!({
        "product": "demo",
        "deployment": {
            "record_id": record_id,
            "artifact_identity": {"artifact_id": "artifact-bench-1"},
            "context": "demo",
            "instance": "testing",
            "source_git_ref": "refs/heads/main",
            "deploy": {"target_name": "demo-testing", "target_type": "application", "deploy_mode": "image", "status": "pass"},
        }
    })
}

fn ingest_figures(
    figures: &mut Vec<Figure>,
    prefix: &str,
    what: &str,
    sample: &Sample,
    written: i64,
) {
    let section = "2 ingest";
    figures.push(
        Figure::new(
            section,
            format!("{prefix}.throughput"),
            format!("{what}: requests per second"),
            sample.throughput(),
            "req/s",
        )
        .detail(json!({
            "requests": sample.requests(),
            "seconds": sample.elapsed.as_secs_f64(),
            "deployment_records_written": written,
        })),
    );
    figures.push(Figure::new(
        section,
        format!("{prefix}.p50"),
        format!("{what}: median latency"),
        ms(sample.percentile_us(50.0)),
        "ms",
    ));
    figures.push(Figure::new(
        section,
        format!("{prefix}.p99"),
        format!("{what}: 99th percentile latency"),
        ms(sample.percentile_us(99.0)),
        "ms",
    ));
    // A 202 without its record is an error too.
    let mut counted = sample.clone();
    let missing = (sample.ok as i64 - written).max(0) as u64;
    counted.errors += missing;
    counted.ok -= missing.min(counted.ok);
    if missing > 0 && counted.first_error.is_none() {
        counted.first_error = Some(format!(
            "{missing} accepted requests wrote no deployment record"
        ));
    }
    figures.push(errors_figure(
        section,
        format!("{prefix}.errors"),
        what,
        &counted,
    ));
}

pub async fn ingest(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for concurrency in [1usize, 16, 64] {
        let before = count_records(ctx, &service.db.store, "deployment").await?;
        let prefix = format!("{}-evidence-c{concurrency}", ctx.run_id);
        let record_prefix = prefix.clone();
        let sample = load::run(
            &ctx.client,
            ctx.spec(concurrency, ctx.plan.evidence_phase),
            StatusCode::ACCEPTED,
            ctx.poster(
                service.target,
                "/v1/evidence/deployments",
                Some(prefix),
                move |seq, _| deployment_evidence(&format!("deployment-{record_prefix}-{seq}")),
            ),
        )
        .await;
        let written = count_records(ctx, &service.db.store, "deployment").await? - before;
        ingest_figures(
            &mut figures,
            &format!("evidence.c{concurrency}"),
            &format!("POST /v1/evidence/deployments, concurrency {concurrency}"),
            &sample,
            written,
        );
    }

    // generic-web `deploy` on the simulated provider: the driver writes the
    // deployment record through the host. A lane runs one mutation at a
    // time (a second is refused with 409 `lane_busy`), so each client task
    // deploys its own product's testing lane.
    let concurrency = crate::service::DEPLOY_PRODUCTS;
    let before = count_records(ctx, &service.db.store, "deployment").await?;
    let sample = load::run(
        &ctx.client,
        ctx.spec(concurrency, ctx.plan.deploy_phase),
        StatusCode::ACCEPTED,
        ctx.poster(
            service.target,
            "/v1/drivers/generic-web/deploy",
            Some(format!("{}-deploy", ctx.run_id)),
            |seq, worker| {
                let product = crate::service::deploy_product(worker);
                json!({"product": product, "deploy": {
                    "product": product, "instance": "testing",
                    "artifact_id": format!("ghcr.io/launchplane/{product}@sha256:{seq:064x}"),
                    "source_git_ref": "refs/heads/main", "verify_health": false
                }})
            },
        ),
    )
    .await;
    let written = count_records(ctx, &service.db.store, "deployment").await? - before;
    ingest_figures(
        &mut figures,
        "driver_deploy.c16",
        "generic-web deploy (driver writes records, simulated provider), 16 products' testing lanes, concurrency 16",
        &sample,
        written,
    );
    Ok(figures)
}

// ---------------------------------------------------------------------------
// 3. Start-up

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

fn millis(values: &[Duration]) -> Vec<f64> {
    values
        .iter()
        .map(|d| (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0)
        .collect()
}

/// Returns the figures and a cache folder holding the product drivers'
/// precompiled artifacts.
pub async fn startup(ctx: &Ctx) -> anyhow::Result<(Vec<Figure>, PathBuf)> {
    let registry = RegistryFile::new().product_drivers();
    let registry_path = registry.write();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let warm_cache = ctx.work.join("cache-0");
    for run in 0..ctx.plan.cold_runs.max(1) {
        let cache = ctx.work.join(format!("cache-{run}"));
        std::fs::create_dir_all(&cache)?;
        let spec = ServeSpec {
            bin: &ctx.bin,
            registry: &registry_path,
            cache_dir: &cache,
            dir: &ctx.work,
            issuer_url: &ctx.issuer_url,
            policy: None,
        };
        let (served, elapsed) = Spawned::start(&spec, &ctx.client).await?;
        served.stop().await;
        cold.push(elapsed);
    }
    let artifacts = std::fs::read_dir(&warm_cache)?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .count();
    if artifacts != 3 {
        bail!(
            "expected 3 precompiled components in {} after a cold start, found {artifacts}",
            warm_cache.display()
        );
    }
    for _ in 0..ctx.plan.warm_runs.max(1) {
        let spec = ServeSpec {
            bin: &ctx.bin,
            registry: &registry_path,
            cache_dir: &warm_cache,
            dir: &ctx.work,
            issuer_url: &ctx.issuer_url,
            policy: None,
        };
        let (served, elapsed) = Spawned::start(&spec, &ctx.client).await?;
        served.stop().await;
        warm.push(elapsed);
    }
    let (cold_ms, warm_ms) = (median(&cold), median(&warm));
    let section = "3 start-up";
    let figures = vec![
        Figure::new(
            section,
            "startup.cold",
            "spawn `launchplane serve` (3 product drivers, empty --cache-dir, fresh SQLite) to first 200 from /v1/health: median",
            cold_ms,
            "ms",
        )
        .detail(json!({"runs_ms": millis(&cold)})),
        Figure::new(
            section,
            "startup.warm",
            "the same with the precompiled cache of a cold start: median",
            warm_ms,
            "ms",
        )
        .target("warm ms / 300 ms", warm_ms / 300.0, Op::Below, 1.0)
        .detail(json!({"runs_ms": millis(&warm)})),
        Figure::new(
            section,
            "startup.cold_over_warm",
            "cold start over warm start (medians)",
            cold_ms / warm_ms,
            "×",
        )
        .target("cold ms / warm ms", cold_ms / warm_ms, Op::AtLeast, 10.0),
    ];
    Ok((figures, warm_cache))
}

// ---------------------------------------------------------------------------
// 4. Memory

pub const HOLD_INVOCATIONS: usize = 100;
/// MiB each instance allocates and touches in the second batch.
const HOLD_MIB: u32 = 4;

pub async fn memory(ctx: &Ctx, cache: &Path) -> anyhow::Result<Vec<Figure>> {
    let registry = RegistryFile::new().product_drivers().driver_with_limits(
        "bench-noop",
        &component("bench_noop"),
        launchplane::runtime::DriverLimits {
            memory_mib: BENCH_MEMORY_MIB,
            deadline_ms: 60_000,
        },
    );
    let registry_path = registry.write();
    let spec = ServeSpec {
        bin: &ctx.bin,
        registry: &registry_path,
        cache_dir: cache,
        dir: &ctx.work,
        issuer_url: &ctx.issuer_url,
        policy: Some(BENCH_POLICY),
    };
    // A first start puts bench-noop in the cache too, so the measured
    // process compiles nothing (compilation would raise its VmHWM).
    let (first, _) = Spawned::start(&spec, &ctx.client).await?;
    first.stop().await;
    let (served, _) = Spawned::start(&spec, &ctx.client).await?;
    let result = measure_memory(ctx, &served).await;
    let log = served.log.clone();
    served.stop().await;
    result.with_context(|| format!("service log: {}", log.display()))
}

/// One batch of concurrent `hold` invocations.
struct Batch {
    /// Linear memory size each instance reported.
    memories: Vec<u64>,
    failures: Vec<String>,
    wall: Duration,
    /// Largest VmRSS seen while the batch ran (sampled every 10 ms), KiB.
    sampled_peak_kib: u64,
    /// VmHWM after the batch, KiB.
    hwm_kib: u64,
}

async fn hold_batch(ctx: &Ctx, served: &Spawned, mib: u32) -> anyhow::Result<Batch> {
    let pid = served.pid;
    let url = served.target.url("/v1/drivers/bench-noop/hold");
    let body = json!({"product": "bench", "hold": {"instance": "testing", "mib": mib, "ms": ctx.plan.hold_ms}});
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..HOLD_INVOCATIONS {
        let request = ctx
            .client
            .post(&url)
            .bearer_auth(&ctx.tokens[i % ctx.tokens.len()])
            .json(&body);
        tasks.spawn(async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let value: Value = response.json().await.map_err(|e| e.to_string())?;
            if status != StatusCode::ACCEPTED {
                return Err(format!("{status}: {value}"));
            }
            Ok(value["result"]["memory_bytes"].as_u64().unwrap_or(0))
        });
    }
    let mut batch = Batch {
        memories: Vec::new(),
        failures: Vec::new(),
        wall: Duration::ZERO,
        sampled_peak_kib: 0,
        hwm_kib: 0,
    };
    loop {
        tokio::select! {
            done = tasks.join_next() => match done {
                None => break,
                Some(Ok(Ok(bytes))) => batch.memories.push(bytes),
                Some(Ok(Err(e))) => batch.failures.push(e),
                Some(Err(e)) => batch.failures.push(e.to_string()),
            },
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                if let Some(rss) = proc_status_kib(pid, "VmRSS") {
                    batch.sampled_peak_kib = batch.sampled_peak_kib.max(rss);
                }
            }
        }
    }
    batch.wall = started.elapsed();
    batch.hwm_kib = proc_status_kib(pid, "VmHWM").context("VmHWM")?;
    Ok(batch)
}

async fn measure_memory(ctx: &Ctx, served: &Spawned) -> anyhow::Result<Vec<Figure>> {
    let pid = served.pid;
    seed_profiles(
        &ctx.client,
        served.target,
        &ctx.tokens[0],
        &[("bench", "bench-noop")],
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = proc_status_kib(pid, "VmRSS").context("VmRSS")?;
    let hwm_idle = proc_status_kib(pid, "VmHWM").context("VmHWM")?;
    // First instances that allocate nothing beyond their start (the cost
    // of a live instance), then instances that touch HOLD_MIB each. VmHWM
    // only grows, so the smaller batch goes first.
    let empty = hold_batch(ctx, served, 0).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let between = proc_status_kib(pid, "VmRSS").context("VmRSS")?;
    let full = hold_batch(ctx, served, HOLD_MIB).await?;

    let cap_bytes = BENCH_MEMORY_MIB * 1024 * 1024;
    let largest = empty
        .memories
        .iter()
        .chain(&full.memories)
        .copied()
        .max()
        .unwrap_or(0);
    let failures: Vec<&String> = empty.failures.iter().chain(&full.failures).collect();
    let hold = Duration::from_millis(u64::from(ctx.plan.hold_ms));
    let slowest = empty.wall.max(full.wall);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let section = "4 memory";
    let n = HOLD_INVOCATIONS as f64;
    let total = (2 * HOLD_INVOCATIONS) as f64;
    let batch_detail = |b: &Batch| {
        json!({
            "vmhwm_kib": b.hwm_kib,
            "sampled_vmrss_peak_kib": b.sampled_peak_kib,
            "wall_ms": b.wall.as_millis() as u64,
            "largest_instance_bytes": b.memories.iter().max(),
            "failed": b.failures.len(),
        })
    };
    Ok(vec![
        Figure::new(
            section,
            "memory.idle_rss",
            "spawned `launchplane serve` (3 product drivers + bench-noop, warm cache, SQLite): VmRSS 1 s after start and profile seeding",
            mib(idle),
            "MiB",
        )
        .detail(json!({"vmhwm_kib": hwm_idle})),
        Figure::new(
            section,
            "memory.peak_rss_empty",
            format!("VmHWM after {HOLD_INVOCATIONS} concurrent `hold` invocations that allocate nothing ({} ms each)", ctx.plan.hold_ms),
            mib(empty.hwm_kib),
            "MiB",
        )
        .detail(batch_detail(&empty)),
        Figure::new(
            section,
            "memory.per_instance_empty",
            format!("(that peak − idle) / {HOLD_INVOCATIONS}: one live instance and its request"),
            empty.hwm_kib.saturating_sub(idle) as f64 / n,
            "KiB",
        ),
        Figure::new(
            section,
            "memory.peak_rss",
            format!("VmHWM after {HOLD_INVOCATIONS} concurrent `hold` invocations touching {HOLD_MIB} MiB each ({} ms each)", ctx.plan.hold_ms),
            mib(full.hwm_kib),
            "MiB",
        )
        .detail(batch_detail(&full).as_object().cloned().map(|mut m| {
            m.insert("vmrss_before_kib".into(), json!(between));
            Value::Object(m)
        }).unwrap_or_default()),
        Figure::new(
            section,
            "memory.per_instance",
            format!("(that peak − idle) / {HOLD_INVOCATIONS}"),
            full.hwm_kib.saturating_sub(idle) as f64 / n,
            "KiB",
        ),
        Figure::new(
            section,
            "memory.instance_max",
            "largest linear memory any instance reported (both batches)",
            largest as f64 / (1024.0 * 1024.0),
            "MiB",
        )
        .target(
            format!("largest instance / {BENCH_MEMORY_MIB} MiB cap"),
            largest as f64 / cap_bytes as f64,
            Op::AtMost,
            1.0,
        )
        .detail(json!({"instances_reporting": empty.memories.len() + full.memories.len()})),
        Figure::new(
            section,
            "memory.failed",
            format!("invocations of the {} that failed", 2 * HOLD_INVOCATIONS),
            failures.len() as f64,
            "count",
        )
        .target(
            "failed / invocations",
            failures.len() as f64 / total,
            Op::AtMost,
            0.0,
        )
        .detail(json!({"first_error": failures.first()})),
        Figure::new(
            section,
            "memory.batch_wall_over_hold",
            format!(
                "slower batch's wall time over one hold ({} ms); < 2 means all {HOLD_INVOCATIONS} were live at once",
                ctx.plan.hold_ms
            ),
            slowest.as_secs_f64() / hold.as_secs_f64(),
            "×",
        )
        .target(
            "batch wall / hold",
            slowest.as_secs_f64() / hold.as_secs_f64(),
            Op::Below,
            2.0,
        ),
    ])
}

// ---------------------------------------------------------------------------
// 5. Isolation

/// The other routes' offered load: paced, well below saturation, so their
/// p99 measures interference rather than queueing behind each other.
const HEALTH_INTERVAL: Duration = Duration::from_millis(5);
const NOOP_INTERVAL: Duration = Duration::from_millis(10);

/// Rows of the isolation samples.
const IDLE: usize = 0;
const WASM_RUNAWAY: usize = 1;
const NATIVE_SPIN: usize = 2;

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

pub async fn isolation(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let concurrency = 2;
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
        let runaway = {
            let (client, url, body, token, stop) = (
                ctx.client.clone(),
                spin_url.clone(),
                spin_body.clone(),
                ctx.tokens[0].clone(),
                stop.clone(),
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
        };
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
    // As the host measured them: admission to trap.
    let stops: Vec<Duration> = ctx
        .stops
        .take()
        .into_iter()
        .map(Duration::from_millis)
        .collect();

    let section = "5 isolation";
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
    let (worst_stop, stop_ratio) = over(&stops);
    let (worst_request, request_ratio) = over(&requests);
    let mut figures = vec![
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
            "median_ms": median(&stops),
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
            "median_ms": median(&requests),
        })),
    ];
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
        let p99 = |s: &Sample| s.percentile_us(99.0);
        // p99 of `busy` over p99 of `base`; NaN when either phase had
        // errors, so a failing phase can never look like a good ratio.
        let ratio = |busy: &Sample, base: &Sample| {
            if base.errors + busy.errors == 0 {
                p99(busy) / p99(base)
            } else {
                f64::NAN
            }
        };
        let detail = |s: &Sample| {
            json!({
                "requests": s.requests(),
                "errors": s.errors,
                "first_error": s.first_error,
                "p50_us": s.percentile_us(50.0),
                "p90_us": s.percentile_us(90.0),
                "max_us": s.percentile_us(100.0),
            })
        };
        let runaway_ratio = ratio(runaway, idle);
        let mut idle_detail = detail(idle);
        idle_detail["postgres_checkpoint_before"] = json!(checkpoint);
        idle_detail["settle_before"] = settled.clone();
        figures.extend([
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
        ]);
    }
    Ok(figures)
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
