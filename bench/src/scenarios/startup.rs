//! Section 3, start-up: spawned `launchplane serve` to its first healthy
//! answer, cold (empty cache) and warm (the cache a cold start left).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use launchplane_tests::RegistryFile;
use serde_json::json;

use super::{Ctx, median};
use crate::report::{Figure, Op};
use crate::service::{ServeSpec, Spawned};

/// Each duration in milliseconds, to a tenth.
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
