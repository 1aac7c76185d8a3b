//! Issue 30: operating the service. `/metrics` after real requests
//! (request, driver, provider, idempotency and lease metrics), readiness
//! failing then passing on both stores, the access log (one line per
//! request, no token), and the command line run as a binary: exit codes,
//! a closed pipe, completions, and `serve` naming every missing setting.
//!
//! The metrics recorder is global to the test binary, so metric checks
//! compare a count before and after this test's own requests (other tests
//! can only add to it).

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use launchplane::providers::SimulatedProvider;
use launchplane_tests::{RegistryFile, Service, TestDatabase, TestIssuer, TestServer};
use serde_json::{Value, json};

// ---- metrics ---------------------------------------------------------

/// The value of the sample `name{labels}` whose labels include every pair
/// of `labels` (0 when absent).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            if !(rest.is_empty() || rest.starts_with('{')) {
                return None;
            }
            labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

async fn metrics(service: &Service) -> String {
    let response = service
        .server
        .client
        .get(service.server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("metrics text")
}

fn deploy(artifact: &str) -> Value {
    json!({"product": "demo", "deploy": {
        "product": "demo", "instance": "testing", "source_git_ref": "refs/heads/main",
        "artifact_id": format!("ghcr.io/launchplane/metrics-{artifact}@sha256:{}", "b".repeat(64)),
        "verify_health": false
    }})
}

const DRIVER_ROUTE: &str = "/v1/drivers/{driver_id}/{*action_path}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_drivers_provider_calls_and_idempotency() {
    let db = TestDatabase::new("sqlite").await;
    let provider = Arc::new(SimulatedProvider::new(db.store.clone()).auto_targets(true));
    let service = Service::start_configured(&db, |state| state.set_provider(provider)).await;
    service.seed_profile("generic-web").await;
    let before = metrics(&service).await;

    for _ in 0..3 {
        let (status, _) = service.server.get("/v1/health").await;
        assert_eq!(status, 200);
    }
    let (status, _) = service.server.get("/v1/no-such-route/42").await;
    assert_eq!(status, 404);
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &deploy("a"), Some("m-1"))
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &deploy("a"), Some("m-1"))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["replayed"], true, "{body}");
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &deploy("b"), Some("m-1"))
        .await;
    assert_eq!(status, 409, "{body}");

    let after = metrics(&service).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    let requests = "launchplane_http_request_duration_seconds_count";
    let health = [
        ("method", "GET"),
        ("route", "/v1/health"),
        ("status", "200"),
    ];
    assert!(delta(requests, &health) >= 3.0, "{after}");
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert!(delta(requests, &unmatched) >= 1.0, "{after}");
    assert!(
        !after.contains("no-such-route"),
        "paths never become labels"
    );
    let deploys = [
        ("method", "POST"),
        ("route", DRIVER_ROUTE),
        ("status", "202"),
    ];
    assert!(delta(requests, &deploys) >= 2.0, "{after}");
    let buckets = [("route", "/v1/health"), ("le", "+Inf")];
    assert!(
        sample(
            &after,
            "launchplane_http_request_duration_seconds_bucket",
            &buckets
        ) >= 3.0,
        "a histogram with buckets: {after}"
    );
    let invocations = [
        ("driver", "generic-web"),
        ("action", "stable_deploy"),
        ("outcome", "ok"),
    ];
    assert!(
        delta("launchplane_driver_invocations_total", &invocations) >= 1.0,
        "{after}"
    );
    let provider_deploys = [("operation", "provider.deploy"), ("outcome", "ok")];
    assert!(
        delta(
            "launchplane_provider_call_duration_seconds_count",
            &provider_deploys
        ) >= 1.0,
        "{after}"
    );
    for outcome in ["reserved", "replayed", "reused"] {
        assert!(
            delta(
                "launchplane_idempotency_reservations_total",
                &[("outcome", outcome)]
            ) >= 1.0,
            "{outcome}: {after}"
        );
    }
    let reused = [("status", "409"), ("code", "idempotency_key_reused")];
    assert!(
        delta("launchplane_http_errors_total", &reused) >= 1.0,
        "{after}"
    );
    assert!(
        after.contains("# TYPE launchplane_lane_leases_held gauge"),
        "the deploy took and gave back a lease: {after}"
    );
    assert!(
        sample(&after, "launchplane_lane_leases_held", &[]) >= 0.0,
        "never negative: {after}"
    );
    assert!(after.contains("launchplane_build_info{version="), "{after}");
}

// ---- readiness -------------------------------------------------------

async fn ready(server: &TestServer) -> (u16, Value) {
    server.get("/v1/ready").await
}

fn missing(body: &Value) -> Vec<&str> {
    body["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .filter_map(|m| m["check"].as_str())
        .collect()
}

async fn readiness_fails_then_passes(backend: &'static str) {
    let db = TestDatabase::new(backend).await;
    // No policy and no provider: not ready, both named; liveness is
    // unaffected.
    let registry = RegistryFile::new()
        .product_drivers()
        .load()
        .await
        .expect("registry");
    let issuer = TestIssuer::start().await;
    let bare = TestServer::start_on_store(registry, db.store.clone(), issuer.authenticator()).await;
    let (status, body) = ready(&bare).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(missing(&body), ["policy", "provider"], "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    assert_eq!(body["checks"]["registry"], "ok", "{body}");
    for check in ["policy", "provider"] {
        let reason = body["checks"][check].as_str().unwrap_or("ok");
        assert_ne!(reason, "ok", "{check}: {body}");
    }
    assert!(body["trace_id"].as_str().is_some(), "{body}");
    let (status, body) = bare.get("/v1/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));

    // With the policy (bootstrapped by the fixture) and a provider: ready.
    let configured = Service::start_configured(&db, |state| {
        state.set_provider(Arc::new(SimulatedProvider::new(state.store.clone())));
    })
    .await;
    let (status, body) = ready(&configured.server).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["missing"], json!([]), "{body}");
    for check in ["database", "registry", "policy", "provider"] {
        assert_eq!(body["checks"][check], "ok", "{check}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_what_is_missing_on_sqlite() {
    readiness_fails_then_passes("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_what_is_missing_on_postgres() {
    readiness_fails_then_passes("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_an_unreachable_database() {
    let db = TestDatabase::new("postgres").await;
    let provider = Arc::new(SimulatedProvider::new(db.store.clone()));
    let service = Service::start_configured(&db, |state| state.set_provider(provider)).await;
    let (status, body) = ready(&service.server).await;
    assert_eq!(status, 200, "{body}");
    // The database goes away under the running service.
    let launchplane::records::Store::Postgres(pool) = &db.store else {
        panic!("postgres store")
    };
    pool.close().await;
    let (status, body) = ready(&service.server).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(missing(&body), ["database", "policy"], "{body}");
    let (status, _) = service.server.get("/v1/health").await;
    assert_eq!(status, 200, "liveness stays up");
}

// ---- access log ------------------------------------------------------

/// A writer into a shared buffer, for a scoped subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// One thread, so the scoped subscriber sees the server's tasks too.
#[tokio::test(flavor = "current_thread")]
async fn every_request_leaves_one_access_line_without_its_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDatabase::new("sqlite").await;
    let service = Service::start(&db).await;
    let token = service.issuer.token();
    let (status, body) = service.get("/v1/drivers").await;
    assert_eq!(status, 200, "{body}");
    let forged = "lp-forged-token-value-7c1e";
    let response = service
        .server
        .client
        .get(service.server.url("/v1/drivers/generic-web"))
        .bearer_auth(forged)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);
    let (status, _) = service.server.get("/v1/deployments/dep-1").await;
    assert_eq!(status, 401);

    let log = captured.text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request served"))
        .collect();
    assert_eq!(lines.len(), 3, "one access line per request:\n{log}");
    let first = lines[0];
    for part in [
        " INFO ",
        "trace_id=launchplane_req_",
        "method=GET",
        "route=\"/v1/drivers\"",
        "status=200",
        "duration_ms=",
        "caller=\"launchplane/demo\"",
    ] {
        assert!(first.contains(part), "{part} in {first}");
    }
    assert!(
        lines[1].contains("route=\"/v1/drivers/{driver_id}\""),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("status=401"), "{}", lines[1]);
    assert!(
        lines[2].contains("route=\"/v1/deployments/{record_id}\""),
        "the template, not the id: {}",
        lines[2]
    );
    assert!(!log.contains(forged), "a token in the log:\n{log}");
    assert!(!log.contains(&token), "a token in the log:\n{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes:\n{log}");
}

// ---- the command line ------------------------------------------------

/// The binary with none of the service's settings in its environment.
fn launchplane() -> Command {
    launchplane_tests::host_process::launchplane_command()
}

#[test]
fn a_closed_pipe_ends_a_listing_with_success() {
    // The reader is gone before the command writes its first byte, as
    // with `launchplane drivers list --json | head -c 100` once head is
    // done.
    let mut child = launchplane()
        .args([
            "drivers",
            "list",
            "--json",
            "--registry",
            "drivers/registry.toml",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // With a reader, the same command prints the registry.
    let output = launchplane()
        .args([
            "drivers",
            "list",
            "--json",
            "--registry",
            "drivers/registry.toml",
        ])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    let listed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(listed.as_array().is_some_and(|a| !a.is_empty()), "{listed}");
}

#[test]
fn serve_names_every_missing_setting_and_exits_2() {
    let output = launchplane().arg("serve").output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for name in [
        "LAUNCHPLANE_DRIVER_REGISTRY",
        "LAUNCHPLANE_DATABASE_URL",
        "LAUNCHPLANE_SERVICE_AUDIENCE",
    ] {
        assert!(stderr.contains(name), "{name} in {stderr}");
    }
    assert!(!stderr.contains('\u{1b}'), "no colour codes off a terminal");
}

#[test]
fn exit_codes_follow_the_one_table() {
    // Usage: a missing required flag.
    let output = launchplane().args(["lanes", "list"]).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    // Unreachable: nothing listens on port 1.
    let output = launchplane()
        .args(["lanes", "list", "--context", "demo", "--database-url"])
        .arg("postgres://postgres@127.0.0.1:1/none")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    // Done: an empty listing.
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("lanes.sqlite").display());
    let output = launchplane()
        .args(["lanes", "list", "--context", "demo", "--database-url", &url])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_launchplane()"),
        ("zsh", "#compdef launchplane"),
        ("fish", "complete -c launchplane"),
    ] {
        let output = launchplane()
            .args(["completion", shell])
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains(marker), "{shell}: {marker}");
        assert!(script.contains("lanes"), "{shell} completes subcommands");
    }
}
