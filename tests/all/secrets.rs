//! Managed secrets and runtime settings over HTTP on PostgreSQL:
//! `POST /v1/product-config/apply`, the secret metadata reads, resolution,
//! and the rule that no value is ever answered, stored in clear or shown
//! to a driver.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use launchplane::records::Store;
use launchplane::runtime::HostError;
use launchplane::runtime::capabilities::StoreRecords;
use launchplane::secrets::MasterKey;
use launchplane_tests::{Service, TestDatabase, assert_message, demo_scope};
use serde_json::{Value, json};

const ROUTE: &str = "/v1/product-config/apply";
const FIRST: &str = "first-value-7f3a9c";
const SECOND: &str = "second-value-b81d2e";
const SECRET_ID: &str = "secret-runtime-environment-api-token-demo-testing";

/// Everything the process logs while a capture is open: the service under
/// test, and whatever other tests running beside it log (a superset, which
/// is what "no value in the logs" needs).
///
/// One process-wide subscriber, installed once, keeps events only while a
/// capture is open. A thread-local default subscriber lost every service
/// event after the first request in most runs with other tests running
/// beside it (the cause was not pinned down; tracing caches per callsite
/// whether anyone listens), which this sanity check caught.
/// The one capture of the test binary's log. Tests that capture run one
/// at a time (the guard), so one test's end cannot stop another's capture.
pub(crate) struct Capturing {
    buffer: Arc<Mutex<Vec<u8>>>,
    _serial: std::sync::MutexGuard<'static, ()>,
}

static SERIAL: Mutex<()> = Mutex::new(());
static CAPTURE: Mutex<Option<Arc<Mutex<Vec<u8>>>>> = Mutex::new(None);
static CAPTURING: AtomicBool = AtomicBool::new(false);

impl Capturing {
    pub(crate) fn start() -> Capturing {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::{Layer as _, filter::filter_fn};
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(|| CaptureWriter)
                .with_filter(filter_fn(|_| CAPTURING.load(Ordering::Relaxed)));
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("the only global subscriber of the test binary");
        });
        let serial = SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let buffer = Arc::new(Mutex::new(Vec::new()));
        if let Ok(mut capture) = CAPTURE.lock() {
            *capture = Some(buffer.clone());
        }
        CAPTURING.store(true, Ordering::Relaxed);
        Capturing {
            buffer,
            _serial: serial,
        }
    }

    pub(crate) fn text(&self) -> String {
        self.buffer
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURING.store(false, Ordering::Relaxed);
        if let Ok(mut capture) = CAPTURE.lock() {
            *capture = None;
        }
    }
}

/// Appends to the open capture, if any.
struct CaptureWriter;

impl std::io::Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(capture) = CAPTURE.lock()
            && let Some(Ok(mut buffer)) = capture.as_ref().map(|b| b.lock())
        {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn service(db: &TestDatabase, master_key: bool) -> Service {
    let service = Service::start_configured(db, |state| {
        state.master_key = master_key
            .then(|| MasterKey::from_text("tests master key").map(Arc::new))
            .flatten();
    })
    .await;
    service.seed_profile("generic-web").await;
    service
}

fn config(mode: &str, secret_value: &str) -> Value {
    json!({
        "schema_version": 1,
        "mode": mode,
        "product": "demo",
        "context": "demo",
        "instance": "testing",
        "source_label": "tests",
        "runtime_env": {"PUBLIC_URL": "https://testing.demo.example", "WORKERS": 2},
        "secrets": [{"name": "API_TOKEN", "value": secret_value, "description": "upstream API"}]
    })
}

/// Every text the database holds for the service, for "no value in clear".
async fn everything_stored(store: &Store) -> String {
    let Store::Postgres(pool) = store else {
        panic!("PostgreSQL test")
    };
    let mut all = String::new();
    for query in [
        "SELECT document FROM lp_records",
        "SELECT document FROM lp_record_history",
        "SELECT request_fingerprint || coalesce(response_body, '') FROM lp_idempotency",
        "SELECT caller_claims || detail || record_ids FROM lp_audit_events",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(query)
            .fetch_all(pool)
            .await
            .expect("read back");
        all.push_str(&rows.join("\n"));
    }
    all
}

fn assert_no_value(text: &str, context: &str) {
    for value in [FIRST, SECOND] {
        assert!(!text.contains(value), "{context} holds a secret value");
    }
}

#[tokio::test]
async fn product_config_plans_applies_rotates_and_never_shows_a_value() {
    let logs = Capturing::start();
    let db = TestDatabase::new("postgres").await;
    let service = service(&db, true).await;

    // A dry run plans and writes nothing.
    let (status, body) = service.post(ROUTE, &config("dry-run", FIRST), None).await;
    assert_eq!(status, 202, "{body}");
    let result = &body["result"];
    assert_eq!(result["mode"], "dry-run");
    assert_eq!(result["runtime_environment"]["action"], "created");
    assert!(
        result.get("next_actions").is_none(),
        "a plan changes no target"
    );
    assert_eq!(
        result["runtime_environment"]["changed_keys"],
        json!(["PUBLIC_URL", "WORKERS"])
    );
    assert_eq!(result["secrets"][0]["action"], "created");
    assert_eq!(result["secrets"][0]["secret_id"], SECRET_ID);
    assert_eq!(
        result["actor"],
        "github-actions:launchplane/demo:launchplane/demo/.github/workflows/deploy.yml@refs/heads/main"
    );
    let (_, listed) = service
        .get("/v1/contexts/demo/instances/testing/secrets")
        .await;
    assert_eq!(listed["secrets"], json!([]), "a dry run writes nothing");

    // Apply writes the runtime record and the secret in one go.
    let (status, body) = service.post(ROUTE, &config("apply", FIRST), None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["records"]["runtime_environment_record_count"], "1");
    assert_eq!(body["records"]["secret_binding_count"], "1");
    assert_eq!(body["result"]["summary"]["secret_change_count"], 1);
    assert_eq!(
        body["result"]["runtime_environment"]["record"]["env_keys"],
        json!(["PUBLIC_URL", "WORKERS"])
    );

    let (status, shown) = service.get(&format!("/v1/secrets/{SECRET_ID}")).await;
    assert_eq!(status, 200, "{shown}");
    let secret = &shown["secret"];
    assert_eq!(secret["scope"], "context_instance");
    assert_eq!(secret["integration"], "runtime_environment");
    assert_eq!(secret["policy"], "write_only");
    assert_eq!(secret["status"], "configured");
    assert_eq!(secret["description"], "upstream API");
    assert_eq!(secret["version_count"], 1);
    assert_eq!(secret["binding"]["binding_key"], "API_TOKEN");
    assert_eq!(secret["recent_audit_events"][0]["event_type"], "created");
    assert_eq!(
        secret["recent_audit_events"][0]["metadata"],
        json!({"binding_key": "API_TOKEN", "source": "tests"})
    );
    assert!(secret.get("ciphertext").is_none());

    // The same request again changes nothing.
    let (_, body) = service.post(ROUTE, &config("apply", FIRST), None).await;
    assert_eq!(body["result"]["runtime_environment"]["action"], "unchanged");
    assert_eq!(body["result"]["secrets"][0]["action"], "unchanged");
    assert_eq!(body["records"]["runtime_environment_record_count"], "0");
    assert!(
        body["result"].get("next_actions").is_none(),
        "nothing changed"
    );

    // A new value rotates: a second version, the newest event first.
    let (_, body) = service.post(ROUTE, &config("apply", SECOND), None).await;
    assert_eq!(body["result"]["secrets"][0]["action"], "rotated");
    let (_, listed) = service
        .get("/v1/contexts/demo/instances/testing/secrets")
        .await;
    assert_eq!(listed["instance"], "testing");
    let secrets = listed["secrets"].as_array().expect("list");
    assert_eq!(secrets.len(), 1, "{listed}");
    assert_eq!(secrets[0]["version_count"], 2);
    let events: Vec<&str> = secrets[0]["recent_audit_events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    assert_eq!(events, ["rotated", "created"]);
    // An instance secret does not apply to the context as a whole.
    let (_, context_list) = service.get("/v1/contexts/demo/secrets").await;
    assert_eq!(context_list["secrets"], json!([]));

    // Resolution decrypts the current version for the lane only.
    let vault = service.server.state.vault();
    let values = vault
        .resolve("runtime_environment", "demo", "testing")
        .await
        .expect("resolve");
    assert_eq!(values.get("API_TOKEN").map(|v| v.as_str()), Some(SECOND));
    let prod = vault
        .resolve("runtime_environment", "demo", "prod")
        .await
        .expect("resolve");
    assert!(prod.is_empty());

    // A driver never reaches the host's kinds, even for its own product.
    let records = StoreRecords::new(db.store.clone(), "t", Default::default());
    for kind in ["secret", "secret_version", "runtime_environment"] {
        let denied = records.get(&demo_scope(&[]), kind, SECRET_ID).await;
        assert!(matches!(denied, Err(HostError::Denied(_))), "{kind}");
    }

    let stored = everything_stored(&db.store).await;
    assert_no_value(&stored, "the database");
    assert!(stored.contains("\"cipher_alg\":\"fernet-v1\""));
    let logged = logs.text();
    // The capture saw the service at work (its access lines; the store's
    // statement lines depend on which other tests' subscribers are alive,
    // through tracing's shared level hint, so they are not required).
    assert!(
        logged.contains("request served") && logged.contains(ROUTE),
        "the capture sees the service at work: {} bytes",
        logged.len()
    );
    assert_no_value(&logged, "the service's logs");
}

#[tokio::test]
async fn product_config_refusals_name_the_rule_and_write_nothing() {
    let db = TestDatabase::new("postgres").await;
    let service = service(&db, true).await;
    let refused = |body: &Value| body["error"]["code"].as_str().unwrap_or("").to_string();

    let mut secret_shaped = config("apply", FIRST);
    secret_shaped["runtime_env"]["DB_PASSWORD"] = json!(SECOND);
    let (status, body) = service.post(ROUTE, &secret_shaped, None).await;
    assert_eq!((status, refused(&body).as_str()), (400, "invalid_request"));
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("runtime_env.DB_PASSWORD") && message.contains("managed secret"),
        "{message}"
    );

    let mut other_integration = config("apply", FIRST);
    other_integration["secrets"][0]["integration"] = json!("dokploy");
    let (status, body) = service.post(ROUTE, &other_integration, None).await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "secrets[0].integration");

    let mut wrong_scope = config("apply", FIRST);
    wrong_scope["secrets"][0]["scope"] = json!("global");
    let (status, body) = service.post(ROUTE, &wrong_scope, None).await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "secrets[0].scope");

    let mut numeric = config("apply", FIRST);
    numeric["secrets"][0]["value"] = json!(12345);
    let (status, body) = service.post(ROUTE, &numeric, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        !body.to_string().contains("12345"),
        "values are never echoed"
    );

    let mut unknown = config("apply", FIRST);
    unknown["secrets"][0]["valeu"] = json!("typo");
    let (status, body) = service.post(ROUTE, &unknown, None).await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "secrets[0].valeu");

    let mut outside = config("apply", FIRST);
    outside["context"] = json!("elsewhere");
    outside["secrets"][0]["context"] = json!("elsewhere");
    let (status, body) = service.post(ROUTE, &outside, None).await;
    assert_eq!(
        (status, refused(&body).as_str()),
        (403, "context_not_in_product_boundary")
    );

    let global = json!({"mode": "apply", "product": "demo", "runtime_env": {"REGION": "eu"}});
    let (status, body) = service.post(ROUTE, &global, None).await;
    assert_eq!(
        (status, refused(&body).as_str()),
        (403, "context_not_in_product_boundary")
    );

    let (status, body) = service
        .post(ROUTE, &json!({"mode": "plan", "product": "demo"}), None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "mode");

    let (_, listed) = service
        .get("/v1/contexts/demo/instances/testing/secrets")
        .await;
    assert_eq!(listed["secrets"], json!([]), "nothing was written");
    assert_no_value(&everything_stored(&db.store).await, "the database");
}

#[tokio::test]
async fn idempotent_replays_compare_values_without_storing_them() {
    let db = TestDatabase::new("postgres").await;
    let service = service(&db, true).await;
    let (status, first) = service
        .post(ROUTE, &config("apply", FIRST), Some("config-1"))
        .await;
    assert_eq!(status, 202, "{first}");
    let (status, replay) = service
        .post(ROUTE, &config("apply", FIRST), Some("config-1"))
        .await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["result"], first["result"]);
    // Same key, another value: a different request.
    let (status, body) = service
        .post(ROUTE, &config("apply", SECOND), Some("config-1"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    assert_no_value(
        &everything_stored(&db.store).await,
        "the idempotency records",
    );
}

#[tokio::test]
async fn without_a_master_key_secrets_fail_closed_and_settings_still_apply() {
    let db = TestDatabase::new("postgres").await;
    let service = service(&db, false).await;
    let (status, body) = service.post(ROUTE, &config("dry-run", FIRST), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("secret_configuration_required")),
        "{body}"
    );
    let plain = json!({"mode": "apply", "product": "demo", "context": "demo",
                       "runtime_env": {"env": {"REGION": "eu"}}});
    let (status, body) = service.post(ROUTE, &plain, None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["runtime_environment"]["scope"], "context");
    assert_eq!(body["records"]["runtime_environment_record_count"], "1");
    let stored = db
        .store
        .get_record("runtime_environment", "runtime-environment:context:demo")
        .await
        .expect("get")
        .expect("written");
    assert_eq!(stored.document["env"], json!({"REGION": "eu"}));
    assert_eq!(stored.document["source_label"], "product-config-api");
}

#[tokio::test]
async fn drivers_read_lane_settings_but_never_a_secret() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start_configured(&db, |state| {
        state.master_key = MasterKey::from_text("tests master key").map(Arc::new);
    })
    .await;
    service.seed_profile("odoo").await;
    let apply = |instance: &str, env: Value, secrets: Value| {
        json!({"mode": "apply", "product": "demo", "context": "demo", "instance": instance,
               "runtime_env": env, "secrets": secrets})
    };
    for body in [
        apply(
            "",
            json!({"ODOO_VERSION": "18.0", "ODOO_BASE_RUNTIME_IMAGE": "ghcr.io/o/odoo-base:18"}),
            json!([]),
        ),
        // The narrower record wins; a managed secret bound to a build key
        // stays with the host.
        apply(
            "prod",
            json!({"ODOO_VERSION": "19.0", "ODOO_PYTHON_SYNC_SKIP_ADDONS": ""}),
            json!([{"name": "ODOO_ADDON_REPOSITORIES", "value": FIRST}]),
        ),
    ] {
        let (status, answer) = service.post(ROUTE, &body, None).await;
        assert_eq!(status, 202, "{answer}");
    }

    let route = "/v1/drivers/odoo/artifact-publish-inputs";
    let request = json!({"product": "demo", "inputs": {"context": "demo", "instance": "prod"}});
    let (status, body) = service.post(route, &request, None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["result"],
        json!({
            "context": "demo",
            "instance": "prod",
            "environment": {
                "ODOO_BASE_RUNTIME_IMAGE": "ghcr.io/o/odoo-base:18",
                "ODOO_VERSION": "19.0"
            }
        }),
        "{body}"
    );
    assert!(!body.to_string().contains(FIRST));

    let request = json!({"product": "demo", "inputs": {"context": "demo", "instance": "testing"}});
    let (_, body) = service.post(route, &request, None).await;
    assert_eq!(
        body["result"]["environment"]["ODOO_VERSION"], "18.0",
        "{body}"
    );

    // Another context's settings are refused before the driver runs.
    let request = json!({"product": "demo", "inputs": {"context": "opw", "instance": "prod"}});
    let (status, body) = service.post(route, &request, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("product_driver_mismatch")),
        "{body}"
    );
}
