//! Product read models over HTTP (reference §3.2, `product_environment.read`)
//! on both stores: the product list and overview with lanes, activity,
//! environments, one environment with values redacted, configuration
//! status, 404 before 403, and 403 for a caller without the grant.

use launchplane::records::{RecordWrite, StoredRecord};
use launchplane_tests::{DEMO_POLICY, RegistryFile, Service, TestDatabase, demo_profile};
use serde_json::{Value, json};

const RUNTIME_VALUE: &str = "https://runtime-value.example";
const SECRET_VALUE: &str = "s3cr3t-product-read-value";

/// The demo policy plus the product read action.
pub fn policy_with(actions: &[&str]) -> String {
    let extra: String = actions.iter().map(|a| format!("\"{a}\", ")).collect();
    DEMO_POLICY.replace(
        "\"generic_web_prod_promotion.dispatch\",",
        &format!("\"generic_web_prod_promotion.dispatch\", {extra}"),
    )
}

/// A service on `db` under `policy`, with a master key (for the secret).
pub async fn start(db: &TestDatabase, policy: &str) -> Service {
    let policy = launchplane::auth::AuthzPolicy::from_toml_str(policy).expect("policy");
    launchplane::ops::access::bootstrap_policy(&db.store, &policy, "tests")
        .await
        .expect("policy bootstrap");
    let registry = RegistryFile::new()
        .product_drivers()
        .load()
        .await
        .expect("registry");
    Service::start_on(db.store.clone(), registry).await
}

/// GET with another caller's token.
pub async fn get_as(service: &Service, token: &str, path: &str) -> (u16, Value) {
    let response = service
        .server
        .client
        .get(service.server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A token of a repository no rule names.
pub fn stranger(service: &Service) -> String {
    service.issuer.token_with(|r| {
        r.repository = "launchplane/stranger".into();
        r.workflow_ref = "launchplane/stranger/.github/workflows/x.yml@refs/heads/main".into();
    })
}

async fn seed(service: &Service, db: &TestDatabase) {
    let mut profile = demo_profile("generic-web");
    profile["expected_config"] = json!({
        "runtime_environment_keys": [{"key": "PUBLIC_URL"}, {"key": "NOT_SET_ANYWHERE"}],
        "managed_secret_bindings": [{"binding_key": "API_TOKEN", "context": "demo"}]
    });
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "{body}");
    let deployment = json!({
        "product": "demo",
        "deployment": {
            "record_id": "deployment-products-1",
            "context": "demo",
            "instance": "testing",
            "source_git_ref": "refs/heads/main",
            "deploy": {"target_name": "demo-testing", "target_type": "application", "deploy_mode": "image", "status": "pass", "started_at": "2026-11-30T10:00:00Z", "finished_at": "2026-11-30T10:01:00Z"}
        }
    });
    let (status, body) = service
        .post("/v1/evidence/deployments", &deployment, None)
        .await;
    assert_eq!(status, 202, "{body}");
    let runtime = json!({
        "schema_version": 1, "scope": "context", "context": "demo", "instance": "",
        "env": {"PUBLIC_URL": RUNTIME_VALUE}, "updated_at": "2026-11-30T09:00:00Z", "source_label": "tests"
    });
    let record = StoredRecord::new(
        "runtime_environment",
        "runtime-environment:context:demo",
        "demo",
        runtime,
    );
    db.store
        .write_records(&[RecordWrite::Replace { record }], "tests")
        .await
        .expect("runtime record");
    let key =
        launchplane::secrets::MasterKey::from_text("tests master key").map(std::sync::Arc::new);
    let vault = launchplane::secrets::Vault::new(db.store.clone(), key);
    launchplane_tests::put_secret(
        &vault,
        "runtime_environment",
        "API_TOKEN",
        "demo",
        SECRET_VALUE,
    )
    .await;
}

fn action<'a>(actions: &'a Value, id: &str) -> &'a Value {
    actions
        .as_array()
        .and_then(|a| a.iter().find(|x| x["action_id"] == id))
        .unwrap_or_else(|| panic!("action {id} in {actions}"))
}

async fn product_reads(backend: &'static str) {
    let db = TestDatabase::new(backend).await;
    let service = start(&db, &policy_with(&["product_environment.read"])).await;
    seed(&service, &db).await;

    let (status, body) = service.get("/v1/products").await;
    assert_eq!(status, 200, "{body}");
    let products = body["products"].as_array().expect("products");
    assert_eq!(products.len(), 1, "{body}");
    let demo = &products[0];
    assert_eq!(demo["product"], "demo");
    assert_eq!(demo["driver_id"], "generic-web");
    let lanes = demo["environments"].as_array().expect("lanes");
    assert_eq!(lanes.len(), 2);
    assert_eq!(lanes[0]["environment"], "testing");
    assert_eq!(
        lanes[0]["provenance"]["source_record_id"],
        "deployment-products-1"
    );
    assert_eq!(lanes[1]["trust_state"], "missing", "prod has no evidence");
    assert_eq!(demo["trust_state"], "missing", "the most cautious lane");
    assert_eq!(demo["preview"]["enabled"], true);
    assert_eq!(demo["preview"]["active_count"], 0);
    let deploy = action(&demo["available_actions"], "stable_deploy");
    assert_eq!(deploy["authz_action"], "generic_web_deploy.execute");
    assert_eq!(deploy["enabled"], true, "{deploy}");
    let unsupported = action(&demo["available_actions"], "prod_backup_gate");
    assert_eq!(unsupported["enabled"], false);
    assert_eq!(unsupported["trust_state"], "unsupported");

    let (status, body) = service.get("/v1/products/demo").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["product"]["display_name"], "Demo");

    let (status, body) = service.get("/v1/products/demo/environments").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["environments"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["trust_state"], "missing");

    let (status, body) = service.get("/v1/products/demo/environments/testing").await;
    assert_eq!(status, 200, "{body}");
    let env = &body["environment"];
    assert_eq!(env["context"], "demo");
    assert_eq!(
        env["runtime_settings"][0]["env_keys"],
        json!(["PUBLIC_URL"])
    );
    assert_eq!(env["runtime_settings"][0]["env_value_count"], 1);
    assert_eq!(env["managed_secrets"][0]["binding_key"], "API_TOKEN");
    assert_eq!(env["managed_secrets"][0]["trust_state"], "recorded");
    assert_eq!(env["target"]["target_id_recorded"], false);
    let text = body.to_string();
    assert!(
        !text.contains(RUNTIME_VALUE),
        "runtime value leaked: {text}"
    );
    assert!(!text.contains(SECRET_VALUE), "secret value leaked");

    let (status, body) = service
        .get("/v1/products/demo/environments/testing/config-status")
        .await;
    assert_eq!(status, 200, "{body}");
    let config = &body["config_status"];
    assert_eq!(config["runtime_settings"][0]["status"], "configured");
    assert_eq!(config["runtime_settings"][0]["source_label"], "tests");
    assert_eq!(config["runtime_settings"][1]["status"], "missing");
    assert_eq!(config["managed_secrets"][0]["status"], "configured");
    assert_eq!(config["trust_state"], "missing", "a key is missing");
    assert!(
        !body.to_string().contains("secret-runtime"),
        "no secret ids"
    );

    let (status, body) = service.get("/v1/products/demo/activity").await;
    assert_eq!(status, 200, "{body}");
    let events = body["activity"]["events"].as_array().expect("events");
    let deployment = events
        .iter()
        .find(|e| e["event_type"] == "deployment")
        .expect("deployment event");
    assert_eq!(deployment["event_id"], "deployment:deployment-products-1");
    assert_eq!(deployment["occurred_at"], "2026-11-30T10:01:00Z");
    assert_eq!(
        deployment["records"],
        json!([{"record_type": "deployment", "record_id": "deployment-products-1"}])
    );
    assert!(
        events.iter().any(|e| e["event_type"] == "authz_policy"),
        "the policy names the product: {body}"
    );
    let (status, body) = service.get("/v1/products/demo/activity?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(body["activity"]["events"].as_array().map(Vec::len), Some(1));
    let (status, body) = service.get("/v1/products/demo/activity?limit=0").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");

    for path in [
        "/v1/products/nope",
        "/v1/products/nope/activity",
        "/v1/products/demo/environments/staging",
        "/v1/products/demo/environments/staging/config-status",
    ] {
        let (status, body) = service.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }

    // A caller without the grant: 404 for what does not exist (read
    // first), 403 for the rest.
    let stranger = stranger(&service);
    let (status, _) = get_as(&service, &stranger, "/v1/products/nope").await;
    assert_eq!(status, 404);
    for path in [
        "/v1/products",
        "/v1/products/demo",
        "/v1/products/demo/activity",
        "/v1/products/demo/environments",
        "/v1/products/demo/environments/testing",
        "/v1/products/demo/environments/testing/config-status",
    ] {
        let (status, body) = get_as(&service, &stranger, path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], "authorization_denied");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_reads_on_sqlite() {
    product_reads("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_reads_on_postgres() {
    product_reads("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_the_caller_lacks_is_shown_disabled() {
    let db = TestDatabase::new("sqlite").await;
    let policy =
        policy_with(&["product_environment.read"]).replace("\"generic_web_deploy.execute\", ", "");
    let service = start(&db, &policy).await;
    seed(&service, &db).await;
    let (status, body) = service.get("/v1/products/demo").await;
    assert_eq!(status, 200, "{body}");
    let deploy = action(&body["product"]["available_actions"], "stable_deploy");
    assert_eq!(deploy["enabled"], false);
    assert_eq!(
        deploy["disabled_reasons"],
        json!(["Caller is not authorized for this action."])
    );
}

async fn service_runtime(backend: &'static str) {
    let db = TestDatabase::new(backend).await;
    let policy =
        launchplane::auth::AuthzPolicy::from_toml_str(&policy_with(&["launchplane_service.read"]))
            .expect("policy");
    launchplane::ops::access::bootstrap_policy(&db.store, &policy, "tests")
        .await
        .expect("policy bootstrap");
    let sha = policy.sha256();
    let facts = launchplane::ops::service_runtime::RuntimeFacts {
        service_audience: launchplane_tests::AUDIENCE.to_string(),
        docker_image_reference: "ghcr.io/launchplane/launchplane@sha256:abcd".to_string(),
        bootstrap_authz_policy_sha256: sha.clone(),
    };
    let service = Service::start_configured(&db, |state| {
        state.runtime_facts = std::sync::Arc::new(facts);
    })
    .await;
    let (status, body) = service.get("/v1/service/runtime").await;
    assert_eq!(status, 200, "{body}");
    let runtime = &body["runtime"];
    assert_eq!(runtime["authz_policy_sha256"], sha.as_str());
    assert_eq!(runtime["bootstrap_authz_policy_sha256"], sha.as_str());
    assert_eq!(runtime["authz_policy_source"], "tests");
    assert_eq!(runtime["storage_backend"], backend);
    assert_eq!(runtime["service_audience"], launchplane_tests::AUDIENCE);
    assert_eq!(
        runtime["docker_image_reference"],
        "ghcr.io/launchplane/launchplane@sha256:abcd"
    );
    let drivers = runtime["drivers"].as_array().expect("drivers");
    let generic = drivers
        .iter()
        .find(|d| d["driver_id"] == "generic-web")
        .expect("generic-web loaded");
    assert!(
        generic["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{generic}"
    );
    let (status, body) = get_as(&service, &stranger(&service), "/v1/service/runtime").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "authorization_denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_runtime_on_sqlite() {
    service_runtime("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_runtime_on_postgres() {
    service_runtime("postgres").await;
}
