//! Real `launchplane serve` processes for crash and replica tests: the
//! binary of this build, started on a test database with the test OIDC
//! issuer, killed with SIGKILL, restarted. Readiness is polled
//! (`GET /v1/health`), never waited for with a fixed sleep.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{AUDIENCE, root};

/// The `launchplane` binary of this build, built once if absent.
pub fn launchplane_binary() -> PathBuf {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    // target/<profile>/deps/all-<hash> → target/<profile>/launchplane
    let exe = std::env::current_exe().expect("test binary");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = profile_dir.join(format!("launchplane{}", std::env::consts::EXE_SUFFIX));
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "launchplane",
            "--bin",
            "launchplane",
        ])
        .current_dir(root())
        .status()
        .expect("cargo build");
    assert!(status.success(), "cargo build -p launchplane failed");
    assert!(path.exists(), "{} after the build", path.display());
    *built = Some(path.clone());
    path
}

/// The binary with none of the caller's `LAUNCHPLANE_*` settings.
pub fn launchplane_command() -> Command {
    let mut command = Command::new(launchplane_binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LAUNCHPLANE_") {
            command.env_remove(name);
        }
    }
    command.current_dir(root());
    command
}

/// What every host process of one test shares.
#[derive(Debug, Clone)]
pub struct HostSetup {
    pub database_url: String,
    pub registry: PathBuf,
    /// Precompiled components, shared so a restart is warm.
    pub cache_dir: PathBuf,
    pub issuer_url: String,
    /// `--lease-seconds`.
    pub lease_seconds: u64,
    /// More environment (`LAUNCHPLANE_PROVIDER`, the master key, …).
    pub env: Vec<(String, String)>,
    /// Where each process's standard error goes (`host-<n>.log`).
    pub log_dir: PathBuf,
}

/// One running `launchplane serve`; killed with SIGKILL when dropped.
pub struct HostProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its standard error.
    pub log: PathBuf,
}

/// A loopback port free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

impl HostProcess {
    /// Starts `launchplane serve` (no operation worker) and waits until it
    /// answers `GET /v1/health`, at most 120 s (a cold component cache on
    /// a busy machine).
    pub async fn start(setup: &HostSetup, name: &str) -> HostProcess {
        let port = free_port();
        let log = setup.log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = launchplane_command();
        command
            .arg("serve")
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .arg("--registry")
            .arg(&setup.registry)
            .arg("--cache-dir")
            .arg(&setup.cache_dir)
            .args(["--database-url", &setup.database_url])
            .args(["--oidc-issuer", &setup.issuer_url])
            .args(["--oidc-audience", AUDIENCE])
            .args(["--lease-seconds", &setup.lease_seconds.to_string()])
            .arg("--no-worker")
            .env("LAUNCHPLANE_LOG", "info")
            .envs(setup.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file);
        let child = command.spawn().expect("spawn launchplane serve");
        let mut host = HostProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        host.wait_ready().await;
        host
    }

    async fn wait_ready(&mut self) {
        let client = launchplane::tls::default_client();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "launchplane serve exited ({status}) before it was ready:\n{}",
                    self.log_text()
                );
            }
            let health = client
                .get(format!("{}/v1/health", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "launchplane serve was not ready within 120 s:\n{}",
            self.log_text()
        );
    }

    /// SIGKILL: no drain, no release, as a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the process wrote to standard error so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
