//! The services under test: one in this process (on a runtime of its own,
//! PostgreSQL, real OIDC), and the real `launchplane serve` binary spawned
//! as a child process (start-up and memory).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use launchplane::auth::AuthzPolicy;
use launchplane::auth::operator::OperatorOr;
use launchplane::ops::Service as AppState;
use launchplane::providers::SimulatedProvider;
use launchplane::runtime::DriverLimits;
use launchplane::runtime::capabilities::ProviderCapability;
use launchplane_tests::{AUDIENCE, RegistryFile, TestDatabase, TestIssuer, component};
use serde_json::{Value, json};

use crate::load::Target;

/// The policy every benchmark service runs under: the dev issuer's default
/// workflow may do what the benchmark asks, on products `demo`, `demo-NN`
/// and `bench`.
pub const BENCH_POLICY: &str = r#"
schema_version = 1

[[github_actions]]
repository = "launchplane/demo"
workflow_refs = ["launchplane/demo/.github/workflows/*@refs/heads/main"]
products = ["demo", "demo-*", "bench"]
actions = [
  "deployment.write", "product_profile.read", "product_profile.write", "deployment.read",
  "inventory.read", "driver.read", "generic_web_deploy.execute",
  "bench_noop.execute", "bench_hold.execute", "bench_spin.execute",
]
"#;

/// The `bench-noop` driver's limits in the in-process service: a short
/// deadline for the runaway loop (the no-op finishes in microseconds).
pub const BENCH_DEADLINE_MS: u64 = 300;
/// The `bench-noop` driver's memory cap, everywhere.
pub const BENCH_MEMORY_MIB: u64 = 16;

/// Products of the deploy figure, one per client task: a lane runs one
/// mutation at a time, so sixteen concurrent deploys are sixteen products
/// deploying to their testing lanes, as sixteen tenants' workflows would.
pub const DEPLOY_PRODUCTS: usize = 16;

/// The product client task `worker` deploys.
pub fn deploy_product(worker: usize) -> String {
    format!("demo-{:02}", worker % DEPLOY_PRODUCTS)
}

/// A product profile: `product` on `driver_id`, lanes testing and prod in
/// context `product`.
pub fn profile(product: &str, driver_id: &str) -> Value {
    json!({
        "schema_version": 1,
        "product": product,
        "display_name": product,
        "repository": "launchplane/demo",
        "driver_id": driver_id,
        "image": {"repository": format!("ghcr.io/launchplane/{product}")},
        "runtime_port": 8080,
        "health_path": "/healthz",
        "lanes": [
            {"instance": "testing", "context": product, "base_url": format!("https://testing.{product}.example")},
            {"instance": "prod", "context": product, "base_url": format!("https://{product}.example")}
        ],
        "preview": {"enabled": false, "context": ""},
        "updated_at": "2026-11-01T00:00:00Z",
        "source": "bench"
    })
}

/// Tokens for `count` client tasks, valid for two hours.
pub fn tokens(issuer: &TestIssuer, count: usize) -> Arc<Vec<String>> {
    Arc::new(
        (0..count)
            .map(|_| issuer.token_with(|r| r.ttl = Duration::from_secs(2 * 3600)))
            .collect(),
    )
}

/// Posts the profiles the benchmark uses.
pub async fn seed_profiles(
    client: &reqwest::Client,
    target: Target,
    token: &str,
    profiles: &[(&str, &str)],
) -> anyhow::Result<()> {
    for (product, driver_id) in profiles {
        let response = client
            .post(target.url("/v1/product-profiles"))
            .bearer_auth(token)
            .json(&profile(product, driver_id))
            .send()
            .await?;
        let status = response.status();
        if status.as_u16() != 202 {
            bail!(
                "seeding profile {product}: {status} {}",
                response.text().await.unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// A service in this process: generic-web (with the simulated provider)
/// and bench-noop, on a fresh PostgreSQL database, with OIDC from
/// `issuer`.
pub struct InProcess {
    pub target: Target,
    pub db: TestDatabase,
    pub state: AppState,
}

impl InProcess {
    /// Must run on the service's runtime: the server task is spawned there.
    pub async fn start(issuer_oidc: launchplane::auth::OidcAuthenticator) -> anyhow::Result<Self> {
        let db = TestDatabase::new("postgres").await;
        let registry = RegistryFile::new()
            .driver("generic-web", &component("generic_web"))
            .driver_with_limits(
                "bench-noop",
                &component("bench_noop"),
                DriverLimits {
                    memory_mib: BENCH_MEMORY_MIB,
                    deadline_ms: BENCH_DEADLINE_MS,
                },
            )
            .load()
            .await
            .context("loading the in-process registry")?;
        let policy = AuthzPolicy::from_toml_str(BENCH_POLICY)?;
        launchplane::ops::access::bootstrap_policy(&db.store, &policy, "bench").await?;
        let authenticator = Arc::new(OperatorOr::new(db.store.clone(), issuer_oidc));
        let mut state = AppState::new(registry, db.store.clone(), authenticator);
        let provider = Arc::new(SimulatedProvider::new(db.store.clone()).auto_targets(true));
        state.services.provider = Some(ProviderCapability::new(provider));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let target = Target::loopback(listener.local_addr()?)?;
        let app = crate::native::router_with_native(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(InProcess { target, db, state })
    }
}

/// A spawned `launchplane serve`.
pub struct Spawned {
    child: tokio::process::Child,
    pub pid: u32,
    pub target: Target,
    pub log: PathBuf,
}

/// How to start `launchplane serve`.
pub struct ServeSpec<'a> {
    pub bin: &'a Path,
    pub registry: &'a Path,
    pub cache_dir: &'a Path,
    /// A folder for the SQLite file and the log.
    pub dir: &'a Path,
    pub issuer_url: &'a str,
    pub policy: Option<&'a str>,
}

/// An unused loopback port (bound and released).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

impl Spawned {
    /// Spawns the binary and waits for the first `200` from `/v1/health`;
    /// returns the service and the time from spawn to that answer.
    pub async fn start(
        spec: &ServeSpec<'_>,
        client: &reqwest::Client,
    ) -> anyhow::Result<(Spawned, Duration)> {
        let addr = free_port()?;
        let target = Target::loopback(addr)?;
        let db = spec
            .dir
            .join(format!("serve-{}.sqlite", uuid::Uuid::new_v4().simple()));
        let log = spec.dir.join(format!("serve-{}.log", addr.port()));
        let log_file = std::fs::File::create(&log)?;
        let mut command = tokio::process::Command::new(spec.bin);
        command
            .arg("serve")
            .arg("--bind")
            .arg(addr.to_string())
            .arg("--registry")
            .arg(spec.registry)
            .arg("--cache-dir")
            .arg(spec.cache_dir)
            .arg("--database-url")
            .arg(format!("sqlite://{}", db.display()))
            .arg("--oidc-issuer")
            .arg(spec.issuer_url)
            .arg("--oidc-audience")
            .arg(AUDIENCE)
            // Nothing from this environment leaks in (no provider, no
            // proxies, no stray LAUNCHPLANE_*).
            .env_clear()
            .env("LAUNCHPLANE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true);
        if let Some(policy) = spec.policy {
            command.env("LAUNCHPLANE_POLICY_TOML", policy);
        }
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot run {}", spec.bin.display()))?;
        let pid = child.id().context("child pid")?;
        let health = target.url("/v1/health");
        loop {
            if let Ok(response) = client.get(&health).send().await
                && response.status().as_u16() == 200
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "launchplane serve exited with {status} before answering; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("launchplane serve did not answer /v1/health within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = started.elapsed();
        Ok((
            Spawned {
                child,
                pid,
                target,
                log,
            },
            elapsed,
        ))
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// `VmRSS` / `VmHWM` (etc.) of a process, in KiB, from `/proc/<pid>/status`.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
