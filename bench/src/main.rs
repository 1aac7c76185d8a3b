//! `cargo xtask bench`: Launchplane's benchmark (issue 8).
//!
//! Every figure is measured in one run on this machine, and every target is
//! a ratio of two figures measured side by side in that run:
//!
//! 1. dispatch overhead: a Wasm no-op driver action against a native no-op
//!    handler behind the same layers, alternating (ABBA), at concurrency 1
//!    and 16;
//! 2. evidence ingest on PostgreSQL at concurrency 1, 16 and 64, and a
//!    driver action that writes records (generic-web `deploy`);
//! 3. start-up of the release binary, cold and warm;
//! 4. memory of the release binary, idle and with 100 live instances;
//! 5. isolation: a runaway loop against the p99 of other routes.
//!
//! The in-process service (1, 2, 5) runs on a 2-worker runtime of its own;
//! the load generator runs on the main thread. Traffic goes only to
//! 127.0.0.1. Results: `summary.json` and `table.md` in `--out`.

mod load;
mod native;
mod report;
mod scenarios;
mod service;
mod stops;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use serde_json::{Value, json};

use report::Figure;
use scenarios::{Ctx, Plan};

#[derive(Debug, Parser)]
#[command(name = "launchplane-bench")]
struct Args {
    /// Short phases: every figure, but not numbers to record.
    #[arg(long)]
    quick: bool,
    /// Where `summary.json` and `table.md` go.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The `launchplane` binary (start-up and memory); by default the one
    /// built beside this benchmark.
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Run only these sections (comma-separated: dispatch, ingest,
    /// startup, memory, isolation); for working on the benchmark itself.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Seconds `cargo xtask bench` spent building before it started this
    /// binary; with it the summary has the whole run's wall time.
    #[arg(long, hide = true)]
    build_seconds: Option<f64>,
    /// Set by `cargo xtask bench` when `target/perf` held no benchmark
    /// binary before its build (a cold run, as from a fresh clone).
    #[arg(long, hide = true)]
    build_cold: bool,
}

/// The budget for all of `cargo xtask bench` on a 2-core machine.
const RUN_BUDGET_SECONDS: f64 = 600.0;

const SECTIONS: &[&str] = &["startup", "memory", "dispatch", "ingest", "isolation"];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let statements = launchplane_tests::statements::StatementLog::default();
    let stops = stops::Stops::install(&statements);
    for section in &args.only {
        anyhow::ensure!(
            SECTIONS.contains(&section.as_str()),
            "unknown section `{section}` (one of {SECTIONS:?})"
        );
    }
    // The service side: two workers, as on the 2-core machine it is sized
    // for. The load generator: the main thread.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-service")
        .enable_all()
        .build()?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = client.block_on(run(args, server.handle().clone(), stops, statements));
    drop(client);
    server.shutdown_timeout(Duration::from_secs(5));
    outcome
}

fn wanted(args: &Args, section: &str) -> bool {
    args.only.is_empty() || args.only.iter().any(|s| s == section)
}

/// Runs the wanted sections, then writes `summary.json` and `table.md`.
async fn run(
    args: Args,
    server: tokio::runtime::Handle,
    stops: stops::Stops,
    statements: launchplane_tests::statements::StatementLog,
) -> anyhow::Result<()> {
    let root = launchplane_tests::root();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/bench"));
    let bin = find_binary(&args, &root)?;
    // Fail early, before anything is measured, when a component is missing.
    for stem in ["generic_web", "odoo", "verireel", "bench_noop"] {
        launchplane_tests::component(stem);
    }
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    let work = tempfile::tempdir()?;
    let issuer = server.spawn(launchplane_tests::TestIssuer::start()).await?;
    let ctx = Ctx {
        plan,
        client: load::client()?,
        server: server.clone(),
        issuer_url: issuer.url.clone(),
        tokens: service::tokens(&issuer, 64),
        run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
        bin,
        work: work.path().to_path_buf(),
        stops,
        statements,
    };
    let load_at_start = loadavg();
    eprintln!(
        "bench: load average at start: {}",
        load_at_start.as_deref().unwrap_or("?")
    );
    let started = Instant::now();
    let mut timings = serde_json::Map::new();

    // The spawned-binary measurements first, while nothing else runs.
    let mut figures = spawned_sections(&args, &ctx, &mut timings).await?;
    if ["dispatch", "ingest", "isolation"]
        .iter()
        .any(|s| wanted(&args, s))
    {
        figures.extend(in_process_sections(&args, &ctx, &issuer, &mut timings).await?);
    }

    let total = started.elapsed();
    if let Some(builds) = args.build_seconds {
        push_run_figures(&args, builds, total, &mut figures);
    }
    let measured = Measured {
        figures,
        timings,
        total,
        load_at_start,
    };
    write_report(&args, ctx.plan.quick, &root, &out, measured)?;
    drop(work);
    Ok(())
}

/// The `launchplane` binary to measure: `--bin`, else the one beside this
/// benchmark, else `target/perf`. It must exist.
fn find_binary(args: &Args, root: &Path) -> anyhow::Result<PathBuf> {
    let bin = args
        .bin
        .clone()
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.join("launchplane"))
        })
        .unwrap_or_else(|| root.join("target/perf/launchplane"));
    anyhow::ensure!(
        bin.is_file(),
        "{} is missing: build it with `cargo build --profile perf -p launchplane` (cargo xtask bench does)",
        bin.display()
    );
    Ok(bin)
}

/// Notes how long a section took, on stderr and in `timings`.
fn timed(timings: &mut serde_json::Map<String, Value>, name: &str, since: Instant) {
    let secs = since.elapsed().as_secs_f64();
    eprintln!("bench: {name} took {secs:.1} s");
    timings.insert(name.to_string(), json!((secs * 10.0).round() / 10.0));
}

/// The sections that spawn the binary: start-up, then memory (on the
/// start-up's warm cache when it ran).
async fn spawned_sections(
    args: &Args,
    ctx: &Ctx,
    timings: &mut serde_json::Map<String, Value>,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures: Vec<Figure> = Vec::new();
    let mut warm_cache: Option<PathBuf> = None;
    if wanted(args, "startup") {
        eprintln!("bench: 3. start-up");
        let t = Instant::now();
        let (found, cache) = scenarios::startup(ctx).await?;
        figures.extend(found);
        warm_cache = Some(cache);
        timed(timings, "startup", t);
    }
    if wanted(args, "memory") {
        eprintln!("bench: 4. memory");
        let t = Instant::now();
        let cache = match &warm_cache {
            Some(cache) => cache.clone(),
            None => {
                let cache = ctx.work.join("cache-memory");
                std::fs::create_dir_all(&cache)?;
                cache
            }
        };
        figures.extend(scenarios::memory(ctx, &cache).await?);
        timed(timings, "memory", t);
    }
    Ok(figures)
}

/// The sections against one in-process service: dispatch, ingest and
/// isolation. The service and its database are dropped at the end.
async fn in_process_sections(
    args: &Args,
    ctx: &Ctx,
    issuer: &launchplane_tests::TestIssuer,
    timings: &mut serde_json::Map<String, Value>,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures: Vec<Figure> = Vec::new();
    let t = Instant::now();
    let oidc = issuer.oidc();
    let service = ctx
        .server
        .spawn(service::InProcess::start(oidc))
        .await?
        .context("starting the in-process service")?;
    let deploy_products: Vec<String> = (0..service::DEPLOY_PRODUCTS)
        .map(service::deploy_product)
        .collect();
    let mut profiles = vec![("bench", "bench-noop"), ("demo", "generic-web")];
    profiles.extend(deploy_products.iter().map(|p| (p.as_str(), "generic-web")));
    service::seed_profiles(&ctx.client, service.target, &ctx.tokens[0], &profiles).await?;
    timed(timings, "in-process setup", t);
    if wanted(args, "dispatch") {
        eprintln!("bench: 1. dispatch overhead");
        let t = Instant::now();
        figures.extend(scenarios::dispatch(ctx, &service).await?);
        timed(timings, "dispatch", t);
    }
    if wanted(args, "ingest") {
        eprintln!("bench: 2. ingest");
        let t = Instant::now();
        figures.extend(scenarios::ingest(ctx, &service).await?);
        timed(timings, "ingest", t);
    }
    if wanted(args, "isolation") {
        eprintln!("bench: 5. isolation");
        let t = Instant::now();
        figures.extend(scenarios::isolation(ctx, &service).await?);
        timed(timings, "isolation", t);
    }
    // Drops the database on a thread of its own.
    drop(service);
    Ok(figures)
}

/// Adds the whole run's figures when `cargo xtask bench` passed its build
/// time: the wall time against the budget and, after a cold build, the
/// build's cost in units of this machine's speed.
fn push_run_figures(args: &Args, builds: f64, total: Duration, figures: &mut Vec<Figure>) {
    let measuring = total.as_secs_f64();
    let wall = builds + measuring;
    figures.push(
        Figure::new(
            "0 run",
            "run.wall",
            format!(
                "`cargo xtask bench`: builds ({}) and measuring, in seconds",
                if args.build_cold {
                    "cold: no earlier perf build"
                } else {
                    "incremental"
                }
            ),
            wall,
            "s",
        )
        .target(
            "wall / 600 s budget",
            wall / RUN_BUDGET_SECONDS,
            report::Op::AtMost,
            1.0,
        )
        .detail(json!({
            "build_seconds": builds,
            "measuring_seconds": measuring,
            "build_was_cold": args.build_cold,
        })),
    );
    // The build's wall time follows the day's machine speed, which
    // moves it by a factor of two here. The cold component compile of
    // the start-up section is the same kind of work (code generation on
    // both cores) timed on the same day, so their ratio is the build's
    // cost in units of this machine's speed: what a change to the build
    // moves, whatever the day.
    let cold_compile = figures
        .iter()
        .find(|f| f.id == "startup.cold")
        .map(|f| f.value / 1000.0);
    if args.build_cold
        && let Some(cold_compile) = cold_compile
    {
        figures.push(
            Figure::new(
                "0 run",
                "run.build_over_cold_start",
                "cold build seconds per second of `startup.cold` (compiling the three \
                 components): the build's cost in this machine's own speed, comparable across days",
                builds / cold_compile,
                "×",
            )
            .detail(json!({
                "build_seconds": builds,
                "startup_cold_seconds": cold_compile,
            })),
        );
    }
}

/// What the measuring produced, for the report.
struct Measured {
    figures: Vec<Figure>,
    /// Seconds per section, rounded to a tenth.
    timings: serde_json::Map<String, Value>,
    /// The measuring's wall time.
    total: Duration,
    load_at_start: Option<String>,
}

/// Writes `summary.json` and `table.md` under `out` and prints the table
/// and a one-line verdict.
fn write_report(
    args: &Args,
    quick: bool,
    root: &Path,
    out: &Path,
    measured: Measured,
) -> anyhow::Result<()> {
    let Measured {
        mut figures,
        timings,
        total,
        load_at_start,
    } = measured;
    figures.sort_by_key(|f| f.section);
    let table = report::table(&figures);
    let targets: Vec<&Figure> = figures.iter().filter(|f| f.target.is_some()).collect();
    let met = targets
        .iter()
        .filter(|f| f.target.as_ref().is_some_and(|t| t.met))
        .count();
    let summary = json!({
        "schema_version": 1,
        "mode": if quick { "quick" } else { "full" },
        "sections": if args.only.is_empty() { json!(SECTIONS) } else { json!(args.only) },
        "machine": machine(),
        "load_average_at_start": load_at_start,
        "commit": commit(root),
        "seconds": (total.as_secs_f64() * 10.0).round() / 10.0,
        "build_seconds": args.build_seconds,
        "section_seconds": Value::Object(timings),
        "targets": {"total": targets.len(), "met": met},
        "figures": figures,
    });
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    std::fs::write(out.join("table.md"), &table)?;
    println!("{table}");
    println!(
        "{met} of {} targets met; {} figures in {:.0} s ({} mode). Wrote {}",
        targets.len(),
        figures.len(),
        total.as_secs_f64(),
        if quick { "quick" } else { "full" },
        out.join("summary.json").display()
    );
    Ok(())
}

/// Cores, memory and CPU model of this machine.
fn machine() -> Value {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: Option<u64> = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .ok();
    json!({
        "load_average_at_end": loadavg(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "memory_gib": mem_kib.map(|k| (k as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "cpu": model,
        "kernel": kernel,
    })
}

/// `/proc/loadavg`: 1, 5 and 15 minute load averages (other work on the
/// machine distorts every figure).
fn loadavg() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// `git rev-parse HEAD` and whether the work tree differs from it (read
/// only: no index refresh).
fn commit(root: &Path) -> Value {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("--no-optional-locks")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"]);
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    json!({"head": head, "uncommitted_changes": dirty})
}
