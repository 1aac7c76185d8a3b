//! `cargo xtask …`: the project's own build and test automation, so a fresh
//! machine needs nothing installed by hand beyond the Rust toolchain.
//!
//! - `build-drivers`: build the driver components (wasm32-wasip2) and pin
//!   their digests in `drivers/registry.toml`.
//! - `build-test-guests`: build the test components under `tests/guests`.
//! - `test`: everything the README's test command promises (drivers, test
//!   guests, PostgreSQL up, the whole test suite).
//! - `ci`: format check, the layering check, lint, then `test`.
//! - `layers`: the host module layering check (`layers.rs`).
//! - `dev`: build the drivers and run a loopback dev instance.
//! - `bench [--quick]`: the benchmark (issue 8, docs/performance.md): builds
//!   the components and the release binaries, runs `launchplane-bench`,
//!   prints the table and writes `target/bench/summary.json`.
//!   `bench --build-only` only compiles (and lints) the bench code; `ci`
//!   runs it so the benchmark cannot rot.
//! - `dist [--target TRIPLE]`: the release asset the GitHub Action installs
//!   (`target/dist/launchplane-<triple>.tar.gz` and its `.sha256`).

mod dist;
mod layers;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the driver components and rewrite registry digests.
    BuildDrivers,
    /// Build the test components in tests/guests.
    BuildTestGuests,
    /// Run every test (drivers, SDK, host, end-to-end).
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// Format check, clippy with -D warnings, then the tests.
    Ci,
    /// Check the host's module layering: no import cycle between its
    /// top-level modules, `crate::http` only in http/, cli/ and main.
    Layers,
    /// Build the drivers and run `launchplane dev`.
    Dev {
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// Run the benchmark in release; print the table, write
    /// target/bench/summary.json.
    Bench {
        /// Short phases: a smoke run of every figure, not numbers to record.
        #[arg(long)]
        quick: bool,
        /// Only compile and lint the bench code (what CI runs).
        #[arg(long)]
        build_only: bool,
        /// Extra arguments for the bench binary (e.g. `--only dispatch`).
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// Build `launchplane` in release and package it as the release asset
    /// the GitHub Action installs, in target/dist.
    Dist {
        /// Target triple (default: the host's).
        #[arg(long)]
        target: Option<String>,
    },
}

/// (crate directory under drivers/, component file stem, registry id)
const DRIVERS: &[(&str, &str)] = &[
    ("generic-web", "generic_web"),
    ("odoo", "odoo"),
    ("verireel", "verireel"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut command: Command) -> Result<()> {
    eprintln!("xtask: running {command:?}");
    let status = command
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn guest_target_dir() -> PathBuf {
    root().join("target/guests")
}

/// `rustup target add` is idempotent and fast when the target is present.
fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip2") =>
        {
            Ok(())
        }
        Ok(_) => {
            let mut add = Command::new("rustup");
            add.args(["target", "add", "wasm32-wasip2"]);
            run(add)
        }
        Err(_) => {
            eprintln!("xtask: rustup not found; assuming the wasm32-wasip2 target is installed");
            Ok(())
        }
    }
}

fn build_guest_workspace(manifest: &str) -> Result<()> {
    ensure_wasm_target()?;
    let mut build = cargo();
    build
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
            manifest,
            "--target-dir",
        ])
        .arg(guest_target_dir())
        .env("CARGO_ENCODED_RUSTFLAGS", guest_rustflags());
    run(build)
}

/// Rust flags for the component builds: the caller's own, then path
/// remapping so a component's bytes, and so its pinned digest, do not depend
/// on where the repository is checked out or where Cargo keeps its sources.
///
/// Panic locations keep source paths in the binary even when it is stripped,
/// and Cargo passes absolute paths for crates outside the guest workspace
/// (the SDK, every registry dependency). Without this, `build-drivers` in a
/// second clone rewrites `drivers/registry.toml` with different digests.
fn guest_rustflags() -> String {
    let mut flags: Vec<String> = match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) if !encoded.is_empty() => encoded.split('\u{1f}').map(str::to_string).collect(),
        _ => std::env::var("RUSTFLAGS")
            .map(|plain| plain.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    };
    flags.push(format!(
        "--remap-path-prefix={}=/launchplane",
        root().display()
    ));
    // When several prefixes match, rustc applies the last one given.
    if let Some(home) = cargo_home() {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    flags.join("\u{1f}")
}

/// Where Cargo keeps registry and git sources: `CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

fn component_path(stem: &str) -> PathBuf {
    guest_target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{stem}.wasm"))
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Rewrites `drivers/registry.toml`, keeping each driver's limits.
fn write_registry() -> Result<()> {
    let path = root().join("drivers/registry.toml");
    let existing: toml::Table = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_default();
    let limits_of = |id: &str| -> String {
        existing
            .get("driver")
            .and_then(|d| d.as_array())
            .and_then(|drivers| {
                drivers
                    .iter()
                    .find(|d| d.get("id").and_then(|v| v.as_str()) == Some(id))
            })
            .and_then(|d| d.get("limits"))
            .and_then(|l| l.as_table())
            .map(|l| {
                let memory = l
                    .get("memory_mib")
                    .and_then(|v| v.as_integer())
                    .unwrap_or(64);
                let deadline = l
                    .get("deadline_ms")
                    .and_then(|v| v.as_integer())
                    .unwrap_or(30_000);
                format!("{{ memory_mib = {memory}, deadline_ms = {deadline} }}")
            })
            .unwrap_or_else(|| "{ memory_mib = 64, deadline_ms = 30000 }".to_string())
    };
    let mut out = String::from(
        "# The driver components Launchplane loads, pinned by sha256.\n\
         # Written by `cargo xtask build-drivers`; component paths are relative to this file.\n\
         # The host refuses to start if a file is missing or its digest differs.\n",
    );
    for (id, stem) in DRIVERS {
        let component = component_path(stem);
        let digest = sha256_file(&component)?;
        out.push_str(&format!(
            "\n[[driver]]\nid = \"{id}\"\ncomponent = \"../target/guests/wasm32-wasip2/release/{stem}.wasm\"\nsha256 = \"{digest}\"\nlimits = {}\n",
            limits_of(id)
        ));
        eprintln!(
            "xtask: {id}: sha256:{} ({} bytes)",
            &digest[..16],
            std::fs::metadata(&component)?.len()
        );
    }
    std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))
}

fn build_drivers() -> Result<()> {
    build_guest_workspace("drivers/Cargo.toml")?;
    write_registry()
}

fn build_test_guests() -> Result<()> {
    build_guest_workspace("tests/guests/Cargo.toml")
}

/// Tests need PostgreSQL on 127.0.0.1:5432; start the local cluster when it
/// is installed but down. Idempotent.
fn ensure_postgres() -> Result<()> {
    let ready = || {
        Command::new("pg_isready")
            .args(["-h", "127.0.0.1", "-p", "5432"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if ready() {
        return Ok(());
    }
    eprintln!("xtask: PostgreSQL is not answering on 127.0.0.1:5432; trying to start it");
    if let Ok(versions) = std::fs::read_dir("/etc/postgresql") {
        for version in versions.flatten() {
            let _ = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect"])
                .arg(version.file_name())
                .args(["main", "start"])
                .status();
        }
    }
    for _ in 0..30 {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        bail!("PostgreSQL is required for the tests and could not be started on 127.0.0.1:5432");
    }
    eprintln!("xtask: warning: PostgreSQL is not available; PostgreSQL tests will fail");
    Ok(())
}

fn test(args: &[String]) -> Result<()> {
    build_drivers()?;
    build_test_guests()?;
    ensure_postgres()?;
    let mut drivers = cargo();
    drivers
        .args([
            "test",
            "--manifest-path",
            "drivers/Cargo.toml",
            "--target-dir",
        ])
        .arg(root().join("target/guests-native"));
    run(drivers)?;
    let mut host = cargo();
    host.args(["test", "--workspace"]).args(args);
    run(host)
}

/// Whether `paths` match the last commit (no modified or untracked files);
/// `None` when git cannot tell (not a checkout, no git).
fn unchanged_since_commit(paths: &[&str]) -> Option<bool> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--"])
        .args(paths)
        .current_dir(root())
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout.is_empty())
}

fn ci() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run(fmt)?;
    let mut fmt_guests = cargo();
    fmt_guests.args([
        "fmt",
        "--all",
        "--check",
        "--manifest-path",
        "drivers/Cargo.toml",
    ]);
    run(fmt_guests)?;
    layers::check(&root())?;
    let sources_committed = unchanged_since_commit(&["drivers", "sdk", "wit"]);
    build_drivers()?;
    if sources_committed == Some(true)
        && unchanged_since_commit(&["drivers/registry.toml"]) != Some(true)
    {
        bail!(
            "building the committed driver sources gave components whose digests differ from the ones pinned in drivers/registry.toml \
             (see `git diff drivers/registry.toml`): either the pins were not updated with the sources, or the toolchain differs from \
             the one that produced them"
        );
    }
    build_test_guests()?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    let mut clippy_guests = cargo();
    clippy_guests
        .args([
            "clippy",
            "--manifest-path",
            "drivers/Cargo.toml",
            "--all-targets",
            "--target-dir",
        ])
        .arg(root().join("target/guests-native"))
        .args(["--", "-D", "warnings"]);
    run(clippy_guests)?;
    bench(false, true, &[])?;
    test(&[])
}

fn dev(args: &[String]) -> Result<()> {
    build_drivers()?;
    let mut serve = cargo();
    serve
        .args(["run", "--package", "launchplane", "--", "dev"])
        .args(args);
    run(serve)
}

/// The Cargo profile the benchmark is built with (see the root Cargo.toml).
const BENCH_PROFILE: &str = "perf";

/// The production binary (start-up and memory spawn it) and the benchmark
/// (whose native no-op route lives in its own crate), built in one cargo
/// invocation so the host library is compiled once.
const BENCH_BUILD: [&str; 8] = [
    "-p",
    "launchplane",
    "-p",
    "launchplane-bench",
    "--bin",
    "launchplane",
    "--bin",
    "launchplane-bench",
];

fn bench(quick: bool, build_only: bool, args: &[String]) -> Result<()> {
    if build_only {
        let mut clippy = cargo();
        clippy.args(["clippy", "-p", "launchplane-bench"]).args([
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        run(clippy)?;
        let mut build = cargo();
        build.arg("build").args(BENCH_BUILD);
        return run(build);
    }
    let started = std::time::Instant::now();
    let bench_bin = root()
        .join("target")
        .join(BENCH_PROFILE)
        .join("launchplane-bench");
    let cold = !bench_bin.exists();
    // The host build and the component builds share nothing (the components
    // go to target/guests), and the components' LTO link is single-threaded,
    // so on a 2-core machine they overlap well: start the long host build
    // first and build the components beside it.
    let mut build = cargo();
    build
        .args(["build", "--profile", BENCH_PROFILE])
        .args(BENCH_BUILD)
        .current_dir(root());
    eprintln!("xtask: starting {build:?}");
    let mut host_build = build
        .spawn()
        .with_context(|| format!("cannot run {build:?}"))?;
    let components = build_drivers()
        .and_then(|()| build_test_guests())
        .and_then(|()| ensure_postgres());
    if components.is_err() {
        // Nothing to measure without them; do not wait minutes to say so.
        let _ = host_build.kill();
    }
    let host_built = host_build
        .wait()
        .with_context(|| format!("cannot wait for {build:?}"))?;
    components?;
    if !host_built.success() {
        bail!("{build:?} failed with {host_built}");
    }
    let builds = started.elapsed().as_secs_f64();
    eprintln!(
        "xtask: builds took {builds:.0} s ({})",
        if cold { "cold" } else { "incremental" }
    );
    let mut bench = Command::new(bench_bin);
    if quick {
        bench.arg("--quick");
    }
    bench.args(["--build-seconds", &format!("{builds:.1}")]);
    if cold {
        bench.arg("--build-cold");
    }
    bench.args(args);
    let ran = std::time::Instant::now();
    run(bench)?;
    eprintln!(
        "xtask: the benchmark ran in {:.0} s ({:.0} s with the builds); summary.json and table.md are in target/bench (or --out)",
        ran.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Task::BuildDrivers => build_drivers(),
        Task::BuildTestGuests => build_test_guests(),
        Task::Test { args } => test(&args),
        Task::Ci => ci(),
        Task::Layers => layers::check(&root()),
        Task::Dev { args } => dev(&args),
        Task::Bench {
            quick,
            build_only,
            args,
        } => bench(quick, build_only, &args),
        Task::Dist { target } => dist::dist(target.as_deref()),
    }
}
