//! Support for the end-to-end tests: built components, registries written
//! into temporary folders, one shared component runtime per test binary, and
//! a real HTTP server on loopback.

pub mod evidence;
pub mod fake_dokploy;
pub mod fake_github;
pub mod host_process;
pub mod humans;
pub mod lanes;
pub mod statements;
pub mod two_hosts;
pub mod walk;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use launchplane::auth::{Authenticator, Closed};
use launchplane::cli::GuestArgs;
use launchplane::http::router;
use launchplane::ops::Service as AppState;
use launchplane::records::Store;
use launchplane::registry::{Registry, sha256_hex};
use launchplane::runtime::{DriverLimits, Runtime, RuntimeConfig};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A built component by file stem (`generic_web`, `sandbox_probe`, ...).
/// Fails loudly when the guests were not built.
pub fn component(stem: &str) -> PathBuf {
    let path = root()
        .join("target/guests/wasm32-wasip2/release")
        .join(format!("{stem}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask build-drivers` and `cargo xtask build-test-guests` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// One process-wide runtime with a shared precompiled-component cache, so
/// each component is compiled once per test binary. The guest threads
/// follow `LAUNCHPLANE_GUEST_THREADS` / `LAUNCHPLANE_GUEST_NICE` when set,
/// as `launchplane serve` does (the benchmark uses this runtime too).
pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<(Runtime, tempfile::TempDir)> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let cache = tempfile::tempdir().expect("cache dir");
            let guests = GuestArgs::from_env().expect("LAUNCHPLANE_GUEST_* settings");
            let runtime = Runtime::new(&RuntimeConfig {
                cache_dir: Some(cache.path().to_path_buf()),
                guests,
                ..Default::default()
            })
            .expect("runtime");
            (runtime, cache)
        })
        .0
        .clone()
}

/// A registry file under construction in its own temporary folder.
pub struct RegistryFile {
    pub dir: tempfile::TempDir,
    entries: Vec<String>,
}

impl Default for RegistryFile {
    fn default() -> Self {
        RegistryFile::new()
    }
}

impl RegistryFile {
    pub fn new() -> Self {
        RegistryFile {
            dir: tempfile::tempdir().expect("registry dir"),
            entries: Vec::new(),
        }
    }

    /// Adds a driver pinned to the real digest of `path`.
    pub fn driver(self, id: &str, path: &Path) -> Self {
        let digest = sha256_hex(&std::fs::read(path).expect("component"));
        self.pinned(id, path, &digest, DriverLimits::default())
    }

    pub fn driver_with_limits(self, id: &str, path: &Path, limits: DriverLimits) -> Self {
        let digest = sha256_hex(&std::fs::read(path).expect("component"));
        self.pinned(id, path, &digest, limits)
    }

    /// Adds a driver with an explicit digest.
    pub fn pinned(mut self, id: &str, path: &Path, sha256: &str, limits: DriverLimits) -> Self {
        self.entries.push(format!(
            "[[driver]]\nid = \"{id}\"\ncomponent = \"{}\"\nsha256 = \"{sha256}\"\nlimits = {{ memory_mib = {}, deadline_ms = {} }}\n",
            path.display(),
            limits.memory_mib,
            limits.deadline_ms
        ));
        self
    }

    /// The three product drivers, as `drivers/registry.toml` lists them.
    pub fn product_drivers(self) -> Self {
        self.driver("generic-web", &component("generic_web"))
            .driver("odoo", &component("odoo"))
            .driver("verireel", &component("verireel"))
    }

    /// Writes the file and returns its path.
    pub fn write(&self) -> PathBuf {
        let path = self.dir.path().join("registry.toml");
        std::fs::write(&path, self.entries.join("\n")).expect("write registry");
        path
    }

    /// Writes and loads the registry with the shared runtime.
    pub async fn load(&self) -> Result<Registry, launchplane::registry::RegistryError> {
        Registry::load(&self.write(), &runtime()).await
    }
}

/// A running service on an ephemeral loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    _db: tempfile::TempDir,
}

impl TestServer {
    /// Serves `registry` on embedded SQLite with the closed authenticator.
    pub async fn start(registry: Registry) -> TestServer {
        TestServer::start_with(registry, Arc::new(Closed)).await
    }

    pub async fn start_with(
        registry: Registry,
        authenticator: Arc<dyn Authenticator>,
    ) -> TestServer {
        let db = tempfile::tempdir().expect("db dir");
        let url = format!("sqlite://{}", db.path().join("test.sqlite").display());
        let store = Store::open(&url).await.expect("sqlite store");
        TestServer::serve(AppState::new(registry, store, authenticator), db).await
    }

    /// Serves `state` on a free loopback port; `dir` lives as long as the
    /// server.
    async fn serve(state: AppState, dir: tempfile::TempDir) -> TestServer {
        let addr = serve_loopback(router(state.clone())).await;
        TestServer {
            addr,
            state,
            client: launchplane::tls::default_client(),
            _db: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GETs a path and returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        status_and_json(response).await
    }

    /// POSTs a JSON body and returns status, headers and JSON body.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}

/// A response's status and JSON body (`null` when it has none).
async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Asserts that the error message of `body` contains `fragment` (a field
/// name, a rule, an upstream error's name).
pub fn assert_message(body: &serde_json::Value, fragment: &str) {
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(fragment),
        "`{fragment}` not in the message of {body}"
    );
}

/// Asserts the original's error envelope and returns the error code.
pub fn assert_rejected(body: &serde_json::Value) -> String {
    assert_eq!(body["status"], "rejected", "{body}");
    let trace = body["trace_id"].as_str().unwrap_or_default();
    assert!(
        trace.starts_with("launchplane_req_") && trace.len() == 48,
        "trace id {trace}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// An invocation of `action_id` on the `demo` product's `testing` lane.
pub fn invocation(
    driver_id: &str,
    action_id: &str,
    request: serde_json::Value,
) -> launchplane::runtime::Invocation {
    launchplane::runtime::Invocation {
        trace_id: launchplane::trace::TraceId::new().to_string(),
        driver_id: driver_id.to_string(),
        action_id: action_id.to_string(),
        product: "demo".to_string(),
        context: "demo".to_string(),
        instance: "testing".to_string(),
        request: request.to_string(),
        caller: launchplane::runtime::Caller {
            kind: "test".to_string(),
            subject: "tests|all".to_string(),
            claims: Vec::new(),
        },
        idempotency_key: None,
        dry_run: false,
        extension: None,
    }
}

/// The scope of the `demo` product: lanes `demo/testing` and `demo/prod`.
pub fn demo_scope(writes: &[&str]) -> launchplane::runtime::InvocationScope {
    use launchplane::runtime::{InvocationScope, Lane};
    InvocationScope {
        product: "demo".to_string(),
        context: "demo".to_string(),
        instance: "testing".to_string(),
        lanes: vec![
            Lane {
                context: "demo".to_string(),
                instance: "testing".to_string(),
            },
            Lane {
                context: "demo".to_string(),
                instance: "prod".to_string(),
            },
        ],
        writes_records: writes.iter().map(|w| w.to_string()).collect(),
    }
}

/// Writes a secret as `launchplane secrets put` does (source `cli`), with
/// the binding key equal to the name: global with an empty `context`,
/// else scoped to that context.
pub async fn put_secret(
    vault: &launchplane::secrets::Vault,
    integration: &str,
    name: &str,
    context: &str,
    value: &str,
) -> launchplane::secrets::SecretAction {
    use launchplane::secrets::{SecretScope, SecretTarget, WriteContext};
    let target = SecretTarget {
        scope: SecretScope::for_target(context, ""),
        integration: integration.to_string(),
        name: name.to_string(),
        context: context.to_string(),
        instance: String::new(),
    };
    let write = WriteContext {
        actor: "tests",
        source: "cli",
        description: "",
        binding_key: name,
    };
    vault
        .write(&target, value, &write, "tests")
        .await
        .expect("secret written")
        .action
}

/// A fresh, migrated database of one backend, dropped (PostgreSQL) or
/// deleted (SQLite) when the value goes away.
pub struct TestDatabase {
    pub store: Store,
    pub url: String,
    backend: &'static str,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL server tests use: `LAUNCHPLANE_TEST_DATABASE_URL`, by
/// default the local cluster's `test` database.
pub fn postgres_admin_url() -> String {
    std::env::var("LAUNCHPLANE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

impl TestDatabase {
    /// A new database of `backend` (`postgres` or `sqlite`). PostgreSQL
    /// tests never skip: an unreachable server fails the test loudly.
    pub async fn new(backend: &'static str) -> TestDatabase {
        let db = TestDatabase::empty(backend).await;
        db.store.migrate().await.expect("migrations apply");
        db
    }

    /// A new database with no schema at all.
    pub async fn empty(backend: &'static str) -> TestDatabase {
        let name = format!("lp_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            "postgres" => {
                let admin_url = postgres_admin_url();
                let admin = Store::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for this test ({admin_url}): {e}. Run `cargo xtask test`, which starts it.")
                });
                let Store::Postgres(pool) = &admin else {
                    panic!("admin URL must be postgres://")
                };
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(pool)
                    .await
                    .expect("create test database");
                pool.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin_url);
                let url = format!("{base}/{name}");
                let store = Store::connect(&url).await.expect("connect test database");
                TestDatabase {
                    store,
                    url,
                    backend,
                    name,
                    _dir: None,
                }
            }
            "sqlite" => {
                let dir = tempfile::tempdir().expect("dir");
                let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
                let store = Store::connect(&url).await.expect("sqlite");
                TestDatabase {
                    store,
                    url,
                    backend,
                    name,
                    _dir: Some(dir),
                }
            }
            other => panic!("unknown backend {other}"),
        }
    }

    /// A second, independent connection pool to the same database: what a
    /// second host process would have.
    pub async fn second_host(&self) -> Store {
        Store::connect(&self.url).await.expect("second pool")
    }

    /// Runs one statement of the test's own (a schema change, say) on
    /// either backend.
    pub async fn execute(&self, sql: &str) {
        let text = || sqlx::AssertSqlSafe(sql.to_string());
        match &self.store {
            Store::Postgres(pool) => sqlx::query(text()).execute(pool).await.map(drop),
            Store::Sqlite(pool) => sqlx::query(text()).execute(pool).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.backend != "postgres" {
            return;
        }
        let name = self.name.clone();
        let admin_url = postgres_admin_url();
        // Drop on a thread of its own: Drop may run inside a runtime.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(Store::Postgres(pool)) = Store::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Declares one test per backend from one body: `conformance!(name, |db| async move { … })`.
#[macro_export]
macro_rules! conformance {
    ($name:ident, |$db:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $db = $crate::TestDatabase::new("postgres").await;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = $crate::TestDatabase::new("sqlite").await;
                $body.await
            }
        }
    };
}

/// The audience the test services expect.
pub const AUDIENCE: &str = "launchplane-tests";

/// A local OIDC issuer on loopback, minting GitHub-Actions-shaped tokens.
/// Its JWKS lists every key published so far ([`TestIssuer::publish_key`]
/// adds one, as an issuer rotating its keys does) and counts its fetches.
pub struct TestIssuer {
    pub issuer: Arc<launchplane::auth::dev_issuer::DevIssuer>,
    pub url: String,
    published: Arc<Published>,
}

/// What a [`TestIssuer`] serves: its public keys, and how often the JWKS
/// was fetched.
#[derive(Default)]
struct Published {
    keys: std::sync::RwLock<Vec<serde_json::Value>>,
    jwks_fetches: std::sync::atomic::AtomicUsize,
}

impl TestIssuer {
    pub async fn start() -> TestIssuer {
        use launchplane::auth::dev_issuer::{DevIssuer, discovery_document, issuer_url_for};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind issuer");
        let url = issuer_url_for(listener.local_addr().expect("addr"));
        let issuer = Arc::new(DevIssuer::generate(url.clone()).expect("issuer key"));
        let published = Arc::new(Published::default());
        published
            .keys
            .write()
            .expect("keys")
            .push(issuer.public_jwk());
        let discovery = discovery_document(&url);
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(discovery) }),
            )
            .route(
                "/.well-known/jwks",
                axum::routing::get({
                    let published = published.clone();
                    move || async move {
                        published
                            .jwks_fetches
                            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let keys = published.keys.read().expect("keys").clone();
                        axum::Json(serde_json::json!({ "keys": keys }))
                    }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestIssuer {
            issuer,
            url,
            published,
        }
    }

    /// Generates a new signing key for this issuer and publishes it beside
    /// the others; tokens it signs carry its own `kid`.
    pub fn publish_key(&self) -> launchplane::auth::dev_issuer::DevIssuer {
        let key = launchplane::auth::dev_issuer::DevIssuer::generate(self.url.clone())
            .expect("issuer key");
        self.published
            .keys
            .write()
            .expect("keys")
            .push(key.public_jwk());
        key
    }

    /// How many times the JWKS was fetched so far.
    pub fn jwks_fetches(&self) -> usize {
        self.published
            .jwks_fetches
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A token with the dev defaults (`launchplane/demo`, deploy.yml on main).
    pub fn token(&self) -> String {
        self.token_with(|_| {})
    }

    pub fn token_with(
        &self,
        adjust: impl FnOnce(&mut launchplane::auth::dev_issuer::DevTokenRequest),
    ) -> String {
        let mut request = launchplane::auth::dev_issuer::DevTokenRequest::new(AUDIENCE);
        adjust(&mut request);
        self.issuer.mint(&request).expect("mint")
    }

    pub fn authenticator(&self) -> Arc<dyn Authenticator> {
        Arc::new(self.oidc())
    }

    pub fn oidc(&self) -> launchplane::auth::OidcAuthenticator {
        launchplane::auth::OidcAuthenticator::new(self.verifier(|config| config))
    }

    /// A verifier of this issuer's tokens, with `adjust`ed timings.
    pub fn verifier(
        &self,
        adjust: impl FnOnce(launchplane::auth::OidcConfig) -> launchplane::auth::OidcConfig,
    ) -> launchplane::auth::OidcVerifier {
        use launchplane::auth::{OidcConfig, OidcVerifier};
        let config = OidcConfig::new(AUDIENCE)
            .expect("config")
            .with_issuer(self.url.clone())
            .expect("issuer");
        OidcVerifier::new(adjust(config)).expect("verifier")
    }
}

/// The policy tests run under: `launchplane/demo` workflows may do anything
/// on product `demo` and read the `launchplane` surfaces.
pub const DEMO_POLICY: &str = r#"
schema_version = 1

[[github_actions]]
repository = "launchplane/demo"
workflow_refs = ["launchplane/demo/.github/workflows/*@refs/heads/main"]
products = ["demo", "launchplane"]
actions = [
  "deployment.write", "promotion.write", "backup_gate.write", "preview_generation.write", "preview_destroyed.write",
  "product_profile.read", "product_profile.write", "deployment.read", "promotion.read", "inventory.read",
  "preview.read", "operations.read", "driver.read",
  "generic_web_deploy.execute", "generic_web_prod_promotion.execute", "generic_web_prod_rollback.execute",
  "generic_web_prod_rollback.plan", "preview_refresh.execute", "preview_destroy.execute", "preview_inventory.read",
  "preview_readiness.evaluate", "odoo_stable_bootstrap.execute", "authz_policy_grant.write",
  "odoo_artifact_publish.write", "odoo_artifact_publish_inputs.read", "odoo_config_parameter_override.write",
  "odoo_website_bootstrap_override.write", "odoo_prod_backup_gate.execute", "odoo_prod_promotion.execute",
  "odoo_prod_rollback.execute", "lane_lease.release", "odoo_post_deploy.execute",
  "product_config.plan", "product_config.apply", "secret.list", "secret.read",
  "live_target_runtime.plan", "live_target_runtime.apply",
  "verireel_testing_deploy.execute", "verireel_prod_deploy.execute", "verireel_stable_environment.read",
  "verireel_app_maintenance.execute", "verireel_preview_inventory.read", "odoo_prod_promotion_inputs.read",
  "verireel_prod_backup_gate.execute", "verireel_prod_promotion.execute", "verireel_prod_rollback.execute",
  "verireel_preview_refresh.execute", "verireel_preview_destroy.execute",
  "odoo_prod_promotion_run.execute", "odoo_preview_apply_inputs.read", "odoo_preview_apply.execute",
  "odoo_target_replacement_plan.read", "odoo_target_replacement_apply.execute",
  "preview_desired_state.discover", "preview_lifecycle.plan", "preview_lifecycle.cleanup",
  "generic_web_prod_promotion.dispatch",
]
"#;

/// The `demo` product profile: driver `generic-web`, lanes testing and prod
/// in context `demo`.
pub fn demo_profile(driver_id: &str) -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1,
        "product": "demo",
        "display_name": "Demo",
        "repository": "launchplane/demo",
        "driver_id": driver_id,
        "image": {"repository": "ghcr.io/launchplane/demo"},
        "runtime_port": 8080,
        "health_path": "/healthz",
        "lanes": [
            {"instance": "testing", "context": "demo", "base_url": "https://testing.demo.example"},
            {"instance": "prod", "context": "demo", "base_url": "https://demo.example"}
        ],
        "preview": {"enabled": true, "context": "demo-preview"},
        "updated_at": "2026-11-01T00:00:00Z",
        "source": "tests"
    })
}

/// Serves `app` on a free loopback port for the rest of the test; answers
/// its address.
pub async fn serve_loopback(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A service on one database with real OIDC, the demo policy and profile.
pub struct Service {
    pub server: TestServer,
    pub issuer: TestIssuer,
}

impl Service {
    /// Starts a service on `db` (registry: the three product drivers).
    pub async fn start(db: &TestDatabase) -> Service {
        Service::start_on(
            db.store.clone(),
            RegistryFile::new()
                .product_drivers()
                .load()
                .await
                .expect("registry"),
        )
        .await
    }

    pub async fn start_on(store: Store, registry: Registry) -> Service {
        Service::start_serving(store, registry, |_| {}).await
    }

    /// The demo policy bootstrapped on `store`, a local issuer, and the
    /// service `configure` adjusted, serving.
    async fn start_serving(
        store: Store,
        registry: Registry,
        configure: impl FnOnce(&mut AppState),
    ) -> Service {
        Service::start_with_policy(store, registry, DEMO_POLICY, |_, state| configure(state)).await
    }

    /// POST with the default token (and an optional idempotency key).
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        key: Option<&str>,
    ) -> (u16, serde_json::Value) {
        self.post_as(&self.issuer.token(), path, body, key).await
    }

    pub async fn post_as(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
        key: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .server
            .client
            .post(self.server.url(path))
            .bearer_auth(token)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("request");
        status_and_json(response).await
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .server
            .client
            .get(self.server.url(path))
            .bearer_auth(self.issuer.token())
            .send()
            .await
            .expect("request");
        status_and_json(response).await
    }

    /// Seeds the demo profile for `driver_id`.
    pub async fn seed_profile(&self, driver_id: &str) {
        let (status, body) = self
            .post("/v1/product-profiles", &demo_profile(driver_id), None)
            .await;
        assert_eq!(status, 202, "profile seeded: {body}");
    }
}

impl TestServer {
    /// Serves `registry` on an existing store with `authenticator`.
    pub async fn start_on_store(
        registry: Registry,
        store: Store,
        authenticator: Arc<dyn Authenticator>,
    ) -> TestServer {
        let state = AppState::new(registry, store, authenticator);
        TestServer::serve(state, tempfile::tempdir().expect("dir")).await
    }
}

impl Service {
    /// Starts a service on `db` whose state `configure` adjusts before it
    /// serves (provider, probe, limits).
    pub async fn start_configured(
        db: &TestDatabase,
        configure: impl FnOnce(&mut AppState),
    ) -> Service {
        let registry = RegistryFile::new()
            .product_drivers()
            .load()
            .await
            .expect("registry");
        Service::start_on_registry(db, registry, configure).await
    }

    /// Starts a service whose provider is the Dokploy API at `dokploy_url`,
    /// reached as in production: a master key is set and the global
    /// `dokploy` managed secrets `DOKPLOY_HOST` (the URL) and
    /// `DOKPLOY_TOKEN` (`key`) are written, which the provider reads on
    /// every call (polling deployments every 20 ms). `configure` adjusts
    /// the state further (a probe, say).
    pub async fn start_on_dokploy(
        db: &TestDatabase,
        dokploy_url: &str,
        key: &str,
        configure: impl FnOnce(&mut AppState),
    ) -> Service {
        use launchplane::providers::{DokployConfig, DokployProvider};
        let master_key =
            launchplane::secrets::MasterKey::from_text("tests master key").map(Arc::new);
        let vault = launchplane::secrets::Vault::new(db.store.clone(), master_key.clone());
        put_secret(&vault, "dokploy", "DOKPLOY_HOST", "", dokploy_url).await;
        put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "", key).await;
        let config =
            DokployConfig::managed(vault).with_poll_interval(std::time::Duration::from_millis(20));
        let provider = DokployProvider::new(config, db.store.clone()).expect("provider");
        Service::start_configured(db, |state| {
            state.master_key = master_key;
            state.set_provider(Arc::new(provider));
            configure(state);
        })
        .await
    }

    /// Like [`Service::start_configured`] with a registry of the caller's.
    pub async fn start_on_registry(
        db: &TestDatabase,
        registry: Registry,
        configure: impl FnOnce(&mut AppState),
    ) -> Service {
        Service::start_with_policy(db.store.clone(), registry, DEMO_POLICY, |_, state| {
            configure(state)
        })
        .await
    }

    /// A service on `store` with `policy` (TOML) bootstrapped, a fresh
    /// issuer and the authenticator `serve` builds (operator tokens first,
    /// then OIDC); `configure` sees the address it will serve on (taken
    /// first) and adjusts the state before it serves.
    pub async fn start_with_policy(
        store: Store,
        registry: Registry,
        policy: &str,
        configure: impl FnOnce(SocketAddr, &mut AppState),
    ) -> Service {
        let issuer = TestIssuer::start().await;
        let policy = launchplane::auth::AuthzPolicy::from_toml_str(policy).expect("policy");
        launchplane::ops::access::bootstrap_policy(&store, &policy, "tests")
            .await
            .expect("policy bootstrap");
        let authenticator = Arc::new(launchplane::auth::operator::OperatorOr::new(
            store.clone(),
            issuer.oidc(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("addr");
        let mut state = AppState::new(registry, store, authenticator);
        configure(addr, &mut state);
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let server = TestServer {
            addr,
            state,
            client: launchplane::tls::default_client(),
            _db: tempfile::tempdir().expect("dir"),
        };
        Service { server, issuer }
    }
}
