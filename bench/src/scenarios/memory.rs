//! Section 4, memory: a spawned service's idle VmRSS, and its VmHWM
//! after batches of concurrent `hold` invocations (the per-instance cost,
//! the cap).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use launchplane_tests::{RegistryFile, component};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Ctx;
use crate::report::{Figure, Op};
use crate::service::{
    BENCH_MEMORY_MIB, BENCH_POLICY, ServeSpec, Spawned, proc_status_kib, seed_profiles,
};

/// Concurrent `hold` invocations per batch.
pub const HOLD_INVOCATIONS: usize = 100;
/// MiB each instance allocates and touches in the second batch.
const HOLD_MIB: u32 = 4;

/// The memory figures, measured on a second start of the service (the
/// first fills the cache with bench-noop).
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

/// Seeds the profile, then measures idle memory and the two batches.
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

    let mut figures = rss_figures(ctx, idle, hwm_idle, between, &empty, &full);
    figures.extend(bound_figures(ctx, &empty, &full));
    Ok(figures)
}

/// Resident memory: idle, and each batch's peak and per-instance cost.
fn rss_figures(
    ctx: &Ctx,
    idle: u64,
    hwm_idle: u64,
    between: u64,
    empty: &Batch,
    full: &Batch,
) -> Vec<Figure> {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let section = "4 memory";
    let n = HOLD_INVOCATIONS as f64;
    vec![
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
        .detail(batch_detail(empty)),
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
        .detail(batch_detail(full).as_object().cloned().map(|mut m| {
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
    ]
}

/// The bounds: the largest instance against the cap, failed invocations,
/// and whether each batch's instances were live at once.
fn bound_figures(ctx: &Ctx, empty: &Batch, full: &Batch) -> Vec<Figure> {
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
    let section = "4 memory";
    let total = (2 * HOLD_INVOCATIONS) as f64;
    vec![
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
    ]
}

/// A batch's figures, for a figure's detail.
fn batch_detail(b: &Batch) -> Value {
    json!({
        "vmhwm_kib": b.hwm_kib,
        "sampled_vmrss_peak_kib": b.sampled_peak_kib,
        "wall_ms": b.wall.as_millis() as u64,
        "largest_instance_bytes": b.memories.iter().max(),
        "failed": b.failures.len(),
    })
}
