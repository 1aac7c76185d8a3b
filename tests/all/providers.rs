//! Providers end to end: the Dokploy adapter against the fake Dokploy API
//! (exact paths and payloads), the simulated provider, the provider
//! capability, the HTTP probe against a local server, and product
//! onboarding over HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use launchplane::providers::dokploy::DokployToken;
use launchplane::providers::live_env;
use launchplane::providers::targets::PROVIDER_TARGET_KIND;
use launchplane::providers::{
    DeployProvider, DeployStatus, DokployConfig, DokployProvider, ProviderError, ProviderTarget,
    ProviderTargetInput, ProviderTargets, RuntimeIdentity, SimFailure, SimOp, SimulatedProvider,
    TargetType,
};
use launchplane::records::models::runtime_environment::{
    EnvironmentScope, RuntimeEnvironmentRecord,
};
use launchplane::records::runtime_environment_write;
use launchplane::records::{RecordQuery, RecordWrite, Store, StoredRecord};
use launchplane::runtime::capabilities::{HttpProbe, ProviderCapability, provider_host_error};
use launchplane::runtime::probe::{ContentCheck, HealthCheck};
use launchplane::runtime::{HostError, Lane};
use launchplane::secrets::{MasterKey, SecretAction, Vault};
use launchplane_tests::fake_dokploy::{DeployScript, FakeDokploy};
use launchplane_tests::{
    DEMO_POLICY, Service, TestDatabase, assert_message, assert_rejected, demo_profile, put_secret,
};
use serde_json::{Value, json};

const KEY: &str = "dokploy-test-key-0123456789";

fn lane(instance: &str) -> Lane {
    Lane {
        context: "demo".to_string(),
        instance: instance.to_string(),
    }
}

fn target(
    provider_id: &str,
    context: &str,
    instance: &str,
    target_type: TargetType,
    target_id: &str,
    domains: &[&str],
) -> ProviderTarget {
    ProviderTargetInput {
        provider_id: provider_id.to_string(),
        context: context.to_string(),
        instance: instance.to_string(),
        target_type,
        target_id: target_id.to_string(),
        target_name: format!("{context}-{instance}"),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        healthcheck_path: String::new(),
        deploy_timeout_seconds: None,
    }
    .into_target("2026-11-01T00:00:00Z", "tests")
    .expect("valid target")
}

async fn seed_profile(store: &Store) {
    let mut record = StoredRecord::new(
        "product_profile",
        "demo",
        "demo",
        demo_profile("generic-web"),
    );
    record.context = String::new();
    store
        .write_records(&[RecordWrite::Replace { record }], "tests")
        .await
        .expect("profile");
}

fn dokploy(fake: &FakeDokploy, store: &Store, key: &str) -> DokployProvider {
    let config = DokployConfig::new(&fake.url(), DokployToken::new(key).expect("token"))
        .expect("config")
        .with_poll_interval(Duration::from_millis(10))
        .with_http_timeout(Duration::from_secs(5));
    DokployProvider::new(config, store.clone()).expect("provider")
}

struct Setup {
    db: TestDatabase,
    fake: FakeDokploy,
    provider: DokployProvider,
}

/// A fake with the demo testing application (the preview template) and the
/// demo prod compose, their targets and the demo profile.
async fn setup() -> Setup {
    let db = TestDatabase::new("sqlite").await;
    let fake = FakeDokploy::start(KEY).await;
    fake.add_application(
        "app-testing",
        json!({
            "name": "demo-testing",
            "appName": "demo-testing-x1y2",
            "env": "Z_FIRST=1\nDATABASE_URL=postgres://u:p@db/x\nAPP_MODE=testing\nOLD=x",
            "dockerImage": "ghcr.io/launchplane/demo:old",
            "username": "bot",
            "password": "registry-pass",
            "registryUrl": "ghcr.io",
            "createEnvFile": false,
            "buildArgs": "A=1",
            "dockerfile": "Dockerfile",
            "dockerContextPath": ".",
            "environmentId": "env-1",
            "serverId": "srv-1",
        }),
    );
    fake.add_compose(
        "cmp-prod",
        json!({
            "name": "demo-prod",
            "appName": "demo-prod-k9",
            "env": "DOCKER_IMAGE_REFERENCE=ghcr.io/launchplane/demo:old\nKEEP=me",
        }),
    );
    seed_profile(&db.store).await;
    ProviderTargets::new(db.store.clone())
        .put(
            "demo",
            &[
                target(
                    "dokploy",
                    "demo",
                    "testing",
                    TargetType::Application,
                    "app-testing",
                    &["testing.demo.example"],
                ),
                target(
                    "dokploy",
                    "demo",
                    "prod",
                    TargetType::Compose,
                    "cmp-prod",
                    &[],
                ),
            ],
            "tests",
        )
        .await
        .expect("targets");
    let provider = dokploy(&fake, &db.store, KEY);
    Setup { db, fake, provider }
}

fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// Dokploy: image, env
// ---------------------------------------------------------------------------

#[tokio::test]
async fn dokploy_set_image_on_an_application_copies_registry_fields() {
    let s = setup().await;
    let image = "ghcr.io/launchplane/demo@sha256:abc";
    s.provider
        .set_image(&lane("testing"), image)
        .await
        .expect("set image");
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/application.one",
            "POST /api/application.saveDockerProvider",
            "GET /api/application.one",
        ])
    );
    let calls = s.fake.calls();
    assert!(
        calls.iter().all(|c| c.authorized),
        "every call carries x-api-key"
    );
    assert_eq!(calls[0].query["applicationId"], "app-testing");
    assert_eq!(
        calls[1].body,
        json!({
            "applicationId": "app-testing",
            "dockerImage": image,
            "username": "bot",
            "password": "registry-pass",
            "registryUrl": "ghcr.io",
        })
    );
    assert_eq!(
        s.fake.application("app-testing").expect("app")["dockerImage"],
        image
    );
}

#[tokio::test]
async fn dokploy_set_image_on_a_compose_rewrites_docker_image_reference() {
    let s = setup().await;
    s.provider
        .set_image(&lane("prod"), "ghcr.io/launchplane/demo@sha256:new")
        .await
        .expect("set image");
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/compose.one",
            "POST /api/compose.update",
            "GET /api/compose.one"
        ])
    );
    assert_eq!(s.fake.calls()[0].query["composeId"], "cmp-prod");
    assert_eq!(
        s.fake.calls()[1].body,
        json!({
            "composeId": "cmp-prod",
            "env": "DOCKER_IMAGE_REFERENCE=ghcr.io/launchplane/demo@sha256:new\nKEEP=me",
        })
    );
}

#[tokio::test]
async fn dokploy_env_update_preserves_order_and_unrelated_keys() {
    let s = setup().await;
    let testing = lane("testing");
    s.provider
        .update_env(
            &testing,
            &[
                ("APP_MODE".to_string(), "preview".to_string()),
                ("NEW_KEY".to_string(), "n".to_string()),
            ],
            &["OLD".to_string()],
        )
        .await
        .expect("update env");
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/application.one",
            "POST /api/application.saveEnvironment",
            "GET /api/application.one",
        ])
    );
    assert_eq!(
        s.fake.calls()[1].body,
        json!({
            "applicationId": "app-testing",
            "env": "Z_FIRST=1\nDATABASE_URL=postgres://u:p@db/x\nAPP_MODE=preview\nNEW_KEY=n",
            "createEnvFile": false,
            "buildArgs": "A=1",
            "buildSecrets": "",
        })
    );
    assert_eq!(
        s.provider.env_keys(&testing).await.expect("keys"),
        lines(&["Z_FIRST", "DATABASE_URL", "APP_MODE", "NEW_KEY"])
    );
    let env = s.provider.read_env(&testing).await.expect("env");
    assert_eq!(env["APP_MODE"], "preview");

    // Nothing to change: no write.
    s.fake.clear_calls();
    s.provider
        .update_env(
            &testing,
            &[("APP_MODE".to_string(), "preview".to_string())],
            &[],
        )
        .await
        .expect("no-op");
    assert_eq!(s.fake.call_lines(), lines(&["GET /api/application.one"]));

    // Compose env goes through compose.update.
    s.fake.clear_calls();
    s.provider
        .update_env(
            &lane("prod"),
            &[("A_NEW".to_string(), "1".to_string())],
            &[],
        )
        .await
        .expect("compose env");
    assert_eq!(
        s.fake.calls_to("/api/compose.update")[0].body,
        json!({
            "composeId": "cmp-prod",
            "env": "DOCKER_IMAGE_REFERENCE=ghcr.io/launchplane/demo:old\nKEEP=me\nA_NEW=1",
        })
    );

    // Text that would corrupt the env is refused before any call.
    s.fake.clear_calls();
    let error = s
        .provider
        .update_env(&testing, &[("BAD=KEY".to_string(), "1".to_string())], &[])
        .await
        .expect_err("refused");
    assert!(matches!(error, ProviderError::Invalid(_)), "{error:?}");
    assert!(s.fake.calls().is_empty());
}

#[tokio::test]
async fn dokploy_env_update_that_is_not_retained_fails_naming_keys_only() {
    let s = setup().await;
    s.fake.drop_env_writes(true);
    let error = s
        .provider
        .update_env(
            &lane("testing"),
            &[("APP_MODE".to_string(), "v-secret-1".to_string())],
            &[],
        )
        .await
        .expect_err("not retained");
    let message = error.to_string();
    assert!(
        message.contains("did not retain") && message.contains("APP_MODE"),
        "{message}"
    );
    assert!(!message.contains("v-secret-1"), "{message}");
}

// ---------------------------------------------------------------------------
// Dokploy: deploy and wait
// ---------------------------------------------------------------------------

#[tokio::test]
async fn dokploy_deploy_polls_the_newest_deployment_until_it_passes() {
    let s = setup().await;
    let outcome = s
        .provider
        .deploy(&lane("testing"), None)
        .await
        .expect("deploy");
    assert_eq!(outcome.status, DeployStatus::Pass);
    assert_eq!(
        outcome.detail,
        format!("deployment={} status=done", outcome.deployment_id)
    );
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/deployment.all",
            "POST /api/application.deploy",
            "GET /api/deployment.all",
            "GET /api/deployment.all",
        ])
    );
    assert_eq!(s.fake.calls()[0].query["applicationId"], "app-testing");
    assert_eq!(
        s.fake.calls()[1].body,
        json!({"applicationId": "app-testing"})
    );

    s.fake.clear_calls();
    let outcome = s
        .provider
        .deploy(&lane("prod"), None)
        .await
        .expect("compose deploy");
    assert_eq!(outcome.status, DeployStatus::Pass);
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/compose.one",
            "POST /api/compose.deploy",
            "GET /api/compose.one",
            "GET /api/compose.one",
        ])
    );
    assert_eq!(s.fake.calls()[1].body, json!({"composeId": "cmp-prod"}));
}

#[tokio::test]
async fn dokploy_deploy_counts_only_a_deployment_newer_than_the_trigger() {
    let s = setup().await;
    let old = s.fake.add_finished_deployment("app-testing", "done");
    s.fake.script(DeployScript {
        invisible_polls: 3,
        running_polls: 0,
        final_status: "done".to_string(),
    });
    let outcome = s
        .provider
        .deploy(&lane("testing"), None)
        .await
        .expect("deploy");
    assert_eq!(outcome.status, DeployStatus::Pass);
    assert_ne!(
        outcome.deployment_id, old,
        "the pre-trigger deployment is never the answer"
    );
    assert_eq!(s.fake.calls_to("/api/deployment.all").len(), 5);
}

#[tokio::test]
async fn dokploy_deploy_failure_statuses_end_in_fail() {
    let s = setup().await;
    s.fake.script(DeployScript::ends("error"));
    let outcome = s
        .provider
        .deploy(&lane("testing"), None)
        .await
        .expect("outcome");
    assert_eq!(outcome.status, DeployStatus::Fail);
    assert_eq!(
        outcome.detail,
        format!(
            "Dokploy deployment failed: deployment={} status=error",
            outcome.deployment_id
        )
    );
    s.fake.script(DeployScript::ends("Cancelled"));
    let outcome = s
        .provider
        .deploy(&lane("prod"), None)
        .await
        .expect("outcome");
    assert_eq!(outcome.status, DeployStatus::Fail);
    assert!(
        outcome
            .detail
            .starts_with("Dokploy compose deployment failed: deployment=")
            && outcome.detail.ends_with("status=cancelled"),
        "{}",
        outcome.detail
    );
}

#[tokio::test]
async fn dokploy_deploy_times_out_on_running_and_unknown_statuses() {
    let s = setup().await;
    for script in [DeployScript::forever_running(), DeployScript::ends("weird")] {
        s.fake.script(script);
        let started = Instant::now();
        let error = s
            .provider
            .deploy(&lane("testing"), Some(Duration::from_millis(300)))
            .await
            .expect_err("timeout");
        assert_eq!(
            error,
            ProviderError::Timeout("Timed out waiting for Dokploy deployment status.".to_string())
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    // An empty status counts as done.
    s.fake.script(DeployScript::ends(""));
    let outcome = s
        .provider
        .deploy(&lane("testing"), None)
        .await
        .expect("done");
    assert_eq!(outcome.status, DeployStatus::Pass);
    assert!(
        outcome.detail.ends_with("status=unknown"),
        "{}",
        outcome.detail
    );
}

// ---------------------------------------------------------------------------
// Dokploy: errors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn dokploy_bad_key_is_a_clear_error_without_the_key() {
    let s = setup().await;
    let wrong = "wrong-key-abcdef123456";
    let provider = dokploy(&s.fake, &s.db.store, wrong);
    assert!(!format!("{provider:?}").contains(wrong));
    let error = provider
        .set_image(&lane("testing"), "ghcr.io/x@sha256:1")
        .await
        .expect_err("refused");
    let ProviderError::Unauthorized(message) = &error else {
        panic!("expected unauthorized: {error:?}");
    };
    assert!(
        message.starts_with("Dokploy API GET /api/application.one failed (401): "),
        "{message}"
    );
    assert!(!message.contains(wrong), "the key leaked: {message}");
    assert!(message.contains("[redacted]"), "{message}");
    assert!(!s.fake.calls()[0].authorized);
    let host = provider_host_error("set-image", "target for lane demo/testing", error);
    assert!(
        matches!(&host, HostError::ProviderFailed(m)
            if !m.contains(wrong) && !m.contains("Dokploy") && !m.contains("/api/")),
        "{host:?}"
    );
}

#[tokio::test]
async fn dokploy_credentials_are_the_global_managed_secrets_read_on_every_call() {
    let s = setup().await;
    let key = MasterKey::from_text("providers master key").map(Arc::new);
    let vault = Vault::new(s.db.store.clone(), key);
    let provider = DokployProvider::new(
        DokployConfig::managed(vault.clone())
            .with_poll_interval(Duration::from_millis(10))
            .with_http_timeout(Duration::from_secs(5)),
        s.db.store.clone(),
    )
    .expect("provider");

    // Nothing configured: the call fails closed, names both keys, and
    // never reaches Dokploy.
    let error = provider.env_keys(&lane("testing")).await.expect_err("none");
    let ProviderError::Config(message) = &error else {
        panic!("expected a configuration error: {error:?}");
    };
    assert!(
        message.starts_with("Missing DOKPLOY_HOST or DOKPLOY_TOKEN"),
        "{message}"
    );
    assert!(s.fake.calls().is_empty());

    // A URL alone is not enough; nor is a token scoped to a context (only
    // global `dokploy` secrets count).
    put_secret(&vault, "dokploy", "DOKPLOY_HOST", "", &s.fake.url()).await;
    put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "demo", KEY).await;
    let error = provider
        .env_keys(&lane("testing"))
        .await
        .expect_err("no token");
    assert!(
        error
            .to_string()
            .starts_with("Missing DOKPLOY_HOST or DOKPLOY_TOKEN")
    );
    assert!(s.fake.calls().is_empty());

    assert_eq!(
        put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "", KEY).await,
        SecretAction::Created
    );
    let keys = provider.env_keys(&lane("testing")).await.expect("keys");
    assert_eq!(keys.first().map(String::as_str), Some("Z_FIRST"));
    assert!(s.fake.calls().iter().all(|c| c.authorized));

    // A rotation applies to the next call, without a new provider: a key
    // Dokploy does not know is refused, and the message quotes neither.
    let wrong = "rotated-wrong-key-5c2e91";
    assert_eq!(
        put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "", wrong).await,
        SecretAction::Rotated
    );
    let error = provider
        .env_keys(&lane("testing"))
        .await
        .expect_err("refused");
    assert!(matches!(error, ProviderError::Unauthorized(_)), "{error:?}");
    assert!(!error.to_string().contains(wrong) && !error.to_string().contains(KEY));
    put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "", KEY).await;
    provider
        .env_keys(&lane("testing"))
        .await
        .expect("rotated back");

    // A master key that cannot decrypt the stored token fails closed too.
    let other = MasterKey::from_text("another master key").map(Arc::new);
    let stranger = DokployProvider::new(
        DokployConfig::managed(Vault::new(s.db.store.clone(), other)),
        s.db.store.clone(),
    )
    .expect("provider");
    let error = stranger
        .env_keys(&lane("testing"))
        .await
        .expect_err("undecryptable");
    assert!(matches!(error, ProviderError::Config(_)), "{error:?}");
    assert!(error.to_string().contains("could not decrypt"), "{error}");
}

#[tokio::test]
async fn a_disabled_dokploy_token_fails_every_call_closed_until_a_value_is_written() {
    let s = setup().await;
    let vault = Vault::new(
        s.db.store.clone(),
        MasterKey::from_text("disable master key").map(Arc::new),
    );
    let provider = DokployProvider::new(DokployConfig::managed(vault.clone()), s.db.store.clone())
        .expect("provider");
    put_secret(&vault, "dokploy", "DOKPLOY_HOST", "", &s.fake.url()).await;
    put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "", KEY).await;
    provider.env_keys(&lane("testing")).await.expect("keys");
    let calls = s.fake.calls().len();

    let done = vault
        .disable("secret-dokploy-dokploy-token", "key leaked", "ops", "tests")
        .await
        .expect("disabled");
    assert_eq!(done.action, "disabled");
    let error = provider
        .env_keys(&lane("testing"))
        .await
        .expect_err("withdrawn");
    assert!(matches!(error, ProviderError::Config(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("Missing DOKPLOY_HOST or DOKPLOY_TOKEN"),
        "{error}"
    );
    assert_eq!(s.fake.calls().len(), calls, "Dokploy was called");

    // A new key configures it again, for the next call.
    let rotated = "dokploy-rotated-key-7a6b5c";
    assert_eq!(
        put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "", rotated).await,
        SecretAction::Rotated
    );
    let error = provider
        .env_keys(&lane("testing"))
        .await
        .expect_err("Dokploy does not know it");
    assert!(matches!(error, ProviderError::Unauthorized(_)), "{error:?}");
    assert!(s.fake.calls().len() > calls);
}

#[tokio::test]
async fn a_lane_environment_is_pushed_to_its_dokploy_application_by_key() {
    let s = setup().await;
    let vault = Vault::new(
        s.db.store.clone(),
        MasterKey::from_text("live env master key").map(Arc::new),
    );
    let record = RuntimeEnvironmentRecord {
        schema_version: 1,
        scope: EnvironmentScope::Context,
        context: "demo".into(),
        instance: String::new(),
        env: [
            ("APP_MODE".to_string(), json!("web")),
            ("Z_FIRST".to_string(), json!(1)),
        ]
        .into_iter()
        .collect(),
        updated_at: "2026-11-24T00:00:00Z".into(),
        source_label: "tests".into(),
    };
    s.db.store
        .write_records(&[runtime_environment_write(None, &record, "demo")], "t")
        .await
        .expect("record");
    put_secret(
        &vault,
        "runtime_environment",
        "API_TOKEN",
        "demo",
        "api-token-71c0",
    )
    .await;

    let testing = lane("testing");
    let plan = live_env::plan(&s.db.store, &vault, &s.provider, &testing)
        .await
        .expect("plan");
    let summary = plan.summary();
    assert_eq!(summary["keys_to_set"], json!(["API_TOKEN", "APP_MODE"]));
    assert_eq!(summary["unchanged_keys"], json!(["Z_FIRST"]));
    assert_eq!(summary["unmanaged_keys"], json!(["DATABASE_URL", "OLD"]));
    assert!(!summary.to_string().contains("api-token-71c0"));
    assert!(
        s.fake
            .calls_to("/api/application.saveEnvironment")
            .is_empty()
    );

    live_env::apply(&s.provider, &plan).await.expect("applied");
    let saves = s.fake.calls_to("/api/application.saveEnvironment");
    assert_eq!(saves.len(), 1);
    let env = s.fake.application("app-testing").expect("app")["env"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        env,
        "Z_FIRST=1\nDATABASE_URL=postgres://u:p@db/x\nAPP_MODE=web\nOLD=x\nAPI_TOKEN=api-token-71c0"
    );
    let again = live_env::plan(&s.db.store, &vault, &s.provider, &testing)
        .await
        .expect("plan");
    assert!(again.keys_to_set().is_empty());
    live_env::apply(&s.provider, &again)
        .await
        .expect("nothing to do");
    assert_eq!(s.fake.calls_to("/api/application.saveEnvironment").len(), 1);
}

#[tokio::test]
async fn dokploy_unknown_ids_missing_targets_and_server_errors() {
    let s = setup().await;
    let targets = ProviderTargets::new(s.db.store.clone());
    targets
        .put(
            "other",
            &[target(
                "dokploy",
                "other",
                "testing",
                TargetType::Application,
                "app-missing",
                &[],
            )],
            "tests",
        )
        .await
        .expect("target");
    let other = Lane {
        context: "other".into(),
        instance: "testing".into(),
    };
    let error = s.provider.deploy(&other, None).await.expect_err("404");
    assert!(
        matches!(&error, ProviderError::NotFound(m) if m.starts_with("Dokploy API GET /api/deployment.all failed (404): ")),
        "{error:?}"
    );

    let nowhere = Lane {
        context: "nowhere".into(),
        instance: "testing".into(),
    };
    let error = s
        .provider
        .resolve_target(&nowhere)
        .await
        .expect_err("no target");
    assert!(
        matches!(&error, ProviderError::NotFound(m) if m.contains("nowhere/testing")),
        "{error:?}"
    );

    let body = format!(
        "{{\"message\":\"boom\",\"DB_PASSWORD\":\"hunter2\",\"detail\":\"postgres://lp:s3cr3t@db/x {KEY}\",\"pad\":\"{}\"}}",
        "y".repeat(5000)
    );
    s.fake.fail("/api/application.one", 500, &body, Some(1));
    let error = s
        .provider
        .set_image(&lane("testing"), "ghcr.io/x@sha256:1")
        .await
        .expect_err("500");
    let ProviderError::Failed { status, message } = &error else {
        panic!("expected failed: {error:?}");
    };
    assert_eq!(*status, Some(500));
    assert!(
        message.starts_with("Dokploy API GET /api/application.one failed (500): "),
        "{message}"
    );
    for secret in ["hunter2", "s3cr3t", KEY] {
        assert!(!message.contains(secret), "{secret} leaked: {message}");
    }
    assert!(message.chars().count() < 2100, "{}", message.len());

    // Transport failure: nothing listens.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let config = DokployConfig::new(
        &format!("http://{addr}"),
        DokployToken::new(KEY).expect("t"),
    )
    .expect("config");
    let unreachable = DokployProvider::new(config, s.db.store.clone()).expect("provider");
    let error = unreachable
        .env_keys(&lane("testing"))
        .await
        .expect_err("unreachable");
    let message = error.to_string();
    assert!(
        message.starts_with("Dokploy API GET /api/application.one request failed: "),
        "{message}"
    );
    assert!(!message.contains(KEY));
}

// ---------------------------------------------------------------------------
// Dokploy: previews, jobs, domains
// ---------------------------------------------------------------------------

#[tokio::test]
async fn dokploy_preview_apps_are_created_listed_refreshed_and_deleted() {
    let s = setup().await;
    let image = "ghcr.io/launchplane/demo@sha256:77";
    let env = vec![
        ("APP_MODE".to_string(), "preview".to_string()),
        (
            "PUBLIC_URL".to_string(),
            "https://pr-7.preview.example".to_string(),
        ),
    ];
    let app = s
        .provider
        .create_preview_app(
            "demo-preview",
            "demo-preview-pr-7",
            image,
            &["https://pr-7.preview.example/".to_string()],
            &env,
        )
        .await
        .expect("create");
    assert_eq!(app.name, "demo-preview-pr-7");
    assert_eq!(app.domains, lines(&["pr-7.preview.example"]));
    let id = app.provider_app_id.clone();
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/application.one",
            "GET /api/project.all",
            "POST /api/application.create",
            "POST /api/application.update",
            "POST /api/application.saveBuildType",
            "POST /api/application.saveDockerProvider",
            "POST /api/application.saveEnvironment",
            "GET /api/domain.byApplicationId",
            "POST /api/domain.create",
            "GET /api/deployment.all",
            "POST /api/application.deploy",
            "GET /api/deployment.all",
            "GET /api/deployment.all",
        ])
    );
    let calls = s.fake.calls();
    assert_eq!(
        calls[0].query["applicationId"], "app-testing",
        "the template lane's app"
    );
    let description = "Preview environment for demo demo-preview-pr-7";
    assert_eq!(
        calls[2].body,
        json!({"name": "demo-preview-pr-7", "appName": "demo-preview-pr-7", "description": description,
               "environmentId": "env-1", "serverId": "srv-1"})
    );
    assert_eq!(
        calls[3].body,
        json!({"applicationId": id, "description": description, "sourceType": "docker", "autoDeploy": true,
               "replicas": 1, "endpointSpecSwarm": {"Mode": "dnsrr"}, "createEnvFile": false,
               "triggerType": "push", "enabled": true})
    );
    assert_eq!(
        calls[4].body,
        json!({"applicationId": id, "buildType": "dockerfile", "dockerfile": "Dockerfile", "dockerContextPath": ".",
               "dockerBuildStage": null, "herokuVersion": null, "railpackVersion": null,
               "publishDirectory": null, "isStaticSpa": null})
    );
    assert_eq!(
        calls[5].body,
        json!({"applicationId": id, "dockerImage": image, "username": "bot", "password": "registry-pass",
               "registryUrl": "ghcr.io"})
    );
    assert_eq!(
        calls[6].body,
        json!({"applicationId": id, "env": "APP_MODE=preview\nPUBLIC_URL=https://pr-7.preview.example",
               "createEnvFile": false, "buildArgs": "A=1", "buildSecrets": ""})
    );
    assert_eq!(
        calls[8].body,
        json!({"host": "pr-7.preview.example", "path": "/", "internalPath": "/", "port": 8080, "https": true,
               "applicationId": id, "certificateType": "none", "customCertResolver": null, "composeId": null,
               "serviceName": null, "domainType": "application", "previewDeploymentId": null, "stripPath": false})
    );
    assert_eq!(calls[10].body, json!({"applicationId": id}));

    let listed = s
        .provider
        .list_preview_apps("demo-preview", "demo-preview-")
        .await
        .expect("list");
    assert_eq!(listed.len(), 1, "the template app is not a preview");
    assert_eq!(listed[0].name, "demo-preview-pr-7");
    assert_eq!(listed[0].domains, lines(&["pr-7.preview.example"]));
    assert_eq!(listed[0].image_reference, image);

    // Refresh: same app, new domain; the old domain goes after the deploy.
    s.fake.clear_calls();
    let old_domain = s.fake.domains()[0]["domainId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    s.provider
        .create_preview_app(
            "demo-preview",
            "demo-preview-pr-7",
            "ghcr.io/launchplane/demo@sha256:78",
            &["pr-7b.preview.example".to_string()],
            &env,
        )
        .await
        .expect("refresh");
    assert!(s.fake.calls_to("/api/application.create").is_empty());
    let deletes = s.fake.calls_to("/api/domain.delete");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body, json!({"domainId": old_domain}));
    let hosts: Vec<Value> = s.fake.domains().iter().map(|d| d["host"].clone()).collect();
    assert_eq!(hosts, vec![json!("pr-7b.preview.example")]);

    // Delete: domains, then the app; a second delete is a no-op.
    s.fake.clear_calls();
    s.provider
        .delete_preview_app("demo-preview", "demo-preview-pr-7")
        .await
        .expect("delete");
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/application.one",
            "GET /api/project.all",
            "GET /api/domain.byApplicationId",
            "POST /api/domain.delete",
            "POST /api/application.delete",
        ])
    );
    assert_eq!(
        s.fake.calls_to("/api/application.delete")[0].body,
        json!({"applicationId": id})
    );
    assert!(s.fake.application(&id).is_none());
    assert!(
        s.provider
            .list_preview_apps("demo-preview", "demo-preview-")
            .await
            .expect("list")
            .is_empty()
    );
    s.fake.clear_calls();
    s.provider
        .delete_preview_app("demo-preview", "demo-preview-pr-7")
        .await
        .expect("already gone");
    assert!(s.fake.calls_to("/api/application.delete").is_empty());
}

#[tokio::test]
async fn dokploy_failed_preview_deploy_rolls_back_what_it_created() {
    let s = setup().await;
    s.fake.script(DeployScript::ends("error"));
    let error = s
        .provider
        .create_preview_app(
            "demo-preview",
            "demo-preview-pr-9",
            "ghcr.io/launchplane/demo@sha256:99",
            &["pr-9.preview.example".to_string()],
            &[],
        )
        .await
        .expect_err("deploy failed");
    assert!(
        error.to_string().contains("Dokploy deployment failed"),
        "{error}"
    );
    assert_eq!(s.fake.calls_to("/api/application.delete").len(), 1);
    assert_eq!(s.fake.calls_to("/api/domain.delete").len(), 1);
    assert_eq!(s.fake.applications().len(), 1, "only the template is left");
    assert!(s.fake.domains().is_empty());

    let error = s
        .provider
        .create_preview_app("demo-preview", "Not A Name", "img", &[], &[])
        .await
        .expect_err("bad name");
    assert!(matches!(error, ProviderError::Invalid(_)));
}

#[tokio::test]
async fn dokploy_jobs_run_through_a_manual_schedule() {
    let s = setup().await;
    let command = lines(&["npx", "prisma", "migrate deploy"]);
    let outcome = s
        .provider
        .run_job(
            &lane("testing"),
            "launchplane-job",
            &command,
            Some(Duration::from_secs(5)),
        )
        .await
        .expect("job");
    assert_eq!(outcome.status, DeployStatus::Pass);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(
        s.fake.call_lines(),
        lines(&[
            "GET /api/schedule.list",
            "POST /api/schedule.create",
            "GET /api/schedule.list",
            "GET /api/deployment.allByType",
            "POST /api/schedule.runManually",
            "GET /api/deployment.allByType",
            "GET /api/deployment.allByType",
        ])
    );
    let calls = s.fake.calls();
    assert_eq!(calls[0].query["id"], "app-testing");
    assert_eq!(calls[0].query["scheduleType"], "application");
    assert_eq!(
        calls[1].body,
        json!({"name": "launchplane-job", "cronExpression": "0 0 31 2 *", "scheduleType": "application",
               "shellType": "sh", "command": "npx prisma 'migrate deploy'", "applicationId": "app-testing",
               "enabled": false, "timezone": "UTC"})
    );
    let schedule_id = s.fake.schedules()[0]["scheduleId"].clone();
    assert_eq!(calls[3].query["type"], "schedule");
    assert_eq!(calls[4].body, json!({"scheduleId": schedule_id}));

    // A second job of the same name updates the same schedule.
    s.fake.clear_calls();
    s.fake.script(DeployScript::ends("failed"));
    let outcome = s
        .provider
        .run_job(&lane("testing"), "launchplane-job", &lines(&["true"]), None)
        .await
        .expect("job");
    assert_eq!(outcome.status, DeployStatus::Fail);
    assert!(
        outcome
            .detail
            .starts_with("Dokploy schedule deployment failed"),
        "{}",
        outcome.detail
    );
    assert_eq!(
        s.fake.calls_to("/api/schedule.update")[0].body["scheduleId"],
        schedule_id
    );

    // A job of another name gets a schedule of its own, and the first
    // keeps its command; a name the provider could not use is refused
    // before any call.
    s.fake.clear_calls();
    s.fake.script(DeployScript::default());
    s.provider
        .run_job(
            &lane("testing"),
            "db-migrate",
            &lines(&["bin/migrate"]),
            None,
        )
        .await
        .expect("named job");
    let schedules = s.fake.schedules();
    assert_eq!(schedules.len(), 2, "{schedules:?}");
    assert_eq!(schedules[1]["name"], "db-migrate");
    assert_eq!(schedules[1]["command"], "bin/migrate");
    assert_eq!(schedules[0]["command"], "true");
    s.fake.clear_calls();
    for bad in ["", "Migrate", "-x", "a b", &"x".repeat(64)] {
        let error = s
            .provider
            .run_job(&lane("testing"), bad, &lines(&["true"]), None)
            .await
            .expect_err("bad name");
        assert!(
            matches!(error, ProviderError::Invalid(_)),
            "{bad}: {error:?}"
        );
    }
    assert!(s.fake.calls().is_empty());

    // Compose targets without a server run on the Dokploy host.
    s.fake.clear_calls();
    s.fake.script(DeployScript::default());
    let outcome = s
        .provider
        .run_job(
            &lane("prod"),
            "launchplane-job",
            &lines(&["bin/migrate"]),
            None,
        )
        .await
        .expect("compose job");
    assert_eq!(outcome.status, DeployStatus::Pass);
    assert_eq!(s.fake.calls_to("/api/user.session").len(), 1);
    let created = &s.fake.calls_to("/api/schedule.create")[0].body;
    assert_eq!(created["scheduleType"], "dokploy-server");
    assert_eq!(created["userId"], "user-1");
    assert_eq!(created["serverId"], Value::Null);
    assert_eq!(created["appName"], "launchplane-demo-prod-launchplane-job");
    assert_eq!(created["shellType"], "bash");
    assert!(
        created["script"]
            .as_str()
            .unwrap_or_default()
            .contains("docker exec \"$container\" bin/migrate"),
        "{created}"
    );
}

#[tokio::test]
async fn dokploy_domains_are_listed_per_target_type() {
    let s = setup().await;
    s.fake
        .add_domain(json!({"host": "testing.demo.example", "applicationId": "app-testing"}));
    s.fake
        .add_domain(json!({"host": "demo.example", "composeId": "cmp-prod"}));
    assert_eq!(
        s.provider
            .list_domains(&lane("testing"))
            .await
            .expect("app domains"),
        lines(&["testing.demo.example"])
    );
    assert_eq!(
        s.provider
            .list_domains(&lane("prod"))
            .await
            .expect("compose domains"),
        lines(&["demo.example"])
    );
    assert_eq!(s.fake.calls()[0].query["applicationId"], "app-testing");
    assert_eq!(s.fake.calls()[1].query["composeId"], "cmp-prod");
}

// ---------------------------------------------------------------------------
// The capability over Dokploy
// ---------------------------------------------------------------------------

#[tokio::test]
async fn provider_capability_maps_dokploy_to_the_wit_surface() {
    let s = setup().await;
    let capability = ProviderCapability::new(Arc::new(s.provider.clone()));
    let testing = lane("testing");
    let target = capability.resolve_target(&testing).await.expect("target");
    assert_eq!(target.target_type, "application");
    assert_eq!(target.target_name, "demo-testing");
    assert_eq!(target.domains, lines(&["testing.demo.example"]));
    assert_eq!(target.healthcheck_path, "/web/health");

    let identity = RuntimeIdentity::new(
        "demo",
        "testing",
        "deployment-9",
        "artifact-9",
        "refs/heads/main",
    );
    capability
        .update_env(
            &testing,
            &[(
                "LAUNCHPLANE_RUNTIME_IDENTITY_JSON".to_string(),
                serde_json::to_string(&identity).expect("json"),
            )],
            &[],
        )
        .await
        .expect("identity stamped");
    let written = s.fake.calls_to("/api/application.saveEnvironment")[0].body["env"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(written.starts_with("Z_FIRST=1\nDATABASE_URL="), "{written}");
    assert!(written.contains(&format!(
        "LAUNCHPLANE_RUNTIME_IDENTITY_JSON={}",
        identity.to_env_json()
    )));
    assert!(written.ends_with(
        "LAUNCHPLANE_DEPLOYMENT_RECORD_ID=deployment-9\nLAUNCHPLANE_ARTIFACT_ID=artifact-9\nLAUNCHPLANE_SOURCE_GIT_REF=refs/heads/main"
    ), "{written}");
    let keys = capability.env_keys(&testing).await.expect("keys");
    assert!(keys.contains(&"LAUNCHPLANE_ARTIFACT_ID".to_string()));

    let outcome = capability.deploy(&testing, 0).await.expect("deploy");
    assert_eq!(outcome.status, "pass");
    s.fake.script(DeployScript::ends("killed"));
    assert_eq!(
        capability.deploy(&testing, 0).await.expect("deploy").status,
        "fail"
    );
    s.fake.script(DeployScript::forever_running());
    let error = capability.deploy(&testing, 1).await.expect_err("timeout");
    assert!(matches!(error, HostError::Timeout(_)), "{error:?}");
    let error = capability
        .resolve_target(&Lane {
            context: "demo".into(),
            instance: "staging".into(),
        })
        .await
        .expect_err("none");
    assert!(matches!(error, HostError::NotFound(_)), "{error:?}");
}

// ---------------------------------------------------------------------------
// Simulated provider
// ---------------------------------------------------------------------------

#[tokio::test]
async fn simulated_provider_keeps_lanes_and_previews_in_memory() {
    let sim = SimulatedProvider::in_memory();
    let testing = lane("testing");
    let target = sim.resolve_target(&testing).await.expect("auto target");
    assert_eq!(target.provider_id, "simulated");
    assert_eq!(target.healthcheck_path, "/web/health");
    assert!(matches!(
        sim.resolve_target(&lane("dev")).await,
        Err(ProviderError::Invalid(_))
    ));
    sim.update_env(
        &testing,
        &[("B".into(), "2".into()), ("A".into(), "1".into())],
        &[],
    )
    .await
    .expect("env");
    sim.update_env(&testing, &[("B".into(), "two".into())], &["A".into()])
        .await
        .expect("env");
    assert_eq!(sim.env_keys(&testing).await.expect("keys"), lines(&["B"]));
    sim.set_image(&testing, "ghcr.io/x@sha256:1")
        .await
        .expect("image");
    let outcome = sim.deploy(&testing, None).await.expect("deploy");
    assert_eq!(
        outcome.status,
        DeployStatus::Pass,
        "deploys pass by default"
    );
    let state = sim.lane(&testing);
    assert_eq!(
        (state.deploy_count, state.deployed_image.as_str()),
        (1, "ghcr.io/x@sha256:1")
    );
    let job = sim
        .run_job(&testing, "seed", &lines(&["bin/seed", "--all"]), None)
        .await
        .expect("job");
    assert_eq!((job.status, job.exit_code), (DeployStatus::Pass, Some(0)));

    let app = sim
        .create_preview_app(
            "demo",
            "demo-preview-pr-1",
            "img:1",
            &["pr-1.example".into()],
            &[("K".into(), "v".into())],
        )
        .await
        .expect("preview");
    assert_eq!(app.domains, lines(&["pr-1.example"]));
    assert_eq!(
        sim.list_preview_apps("demo", "demo-preview-")
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        sim.preview_env("demo-preview-pr-1"),
        Some(vec![("K".into(), "v".into())])
    );
    let job = sim
        .run_preview_job(
            "demo",
            "demo-preview-pr-1",
            "seed",
            &lines(&["bin/seed"]),
            None,
        )
        .await
        .expect("preview job");
    assert_eq!(job.status, DeployStatus::Pass);
    assert!(
        sim.log()
            .iter()
            .any(|l| l == "run-preview-job demo/demo-preview-pr-1 seed: bin/seed"),
        "{:?}",
        sim.log()
    );
    sim.delete_preview_app("demo", "demo-preview-pr-1")
        .await
        .expect("delete");
    sim.delete_preview_app("demo", "demo-preview-pr-1")
        .await
        .expect("idempotent");
    let error = sim
        .run_preview_job(
            "demo",
            "demo-preview-pr-1",
            "seed",
            &lines(&["bin/seed"]),
            None,
        )
        .await
        .expect_err("gone");
    assert!(matches!(error, ProviderError::NotFound(_)), "{error:?}");
    assert!(
        sim.list_preview_apps("demo", "demo-preview-")
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        sim.log().iter().any(|l| l == "deploy demo/testing pass"),
        "{:?}",
        sim.log()
    );
}

#[tokio::test]
async fn simulated_provider_reads_records_and_injects_failures_and_latency() {
    let db = TestDatabase::new("sqlite").await;
    seed_profile(&db.store).await;
    let sim = SimulatedProvider::new(db.store.clone());
    let testing = lane("testing");
    let error = sim.deploy(&testing, None).await.expect_err("no target");
    assert!(
        matches!(&error, ProviderError::NotFound(m) if m.contains("demo/testing")),
        "{error:?}"
    );
    let targets = ProviderTargets::new(db.store.clone());
    targets
        .put(
            "demo",
            &[
                target("dokploy", "demo", "prod", TargetType::Compose, "cmp", &[]),
                target(
                    "simulated",
                    "demo",
                    "testing",
                    TargetType::Application,
                    "sim-1",
                    &["t.example"],
                ),
            ],
            "tests",
        )
        .await
        .expect("targets");
    assert_eq!(
        sim.resolve_target(&testing)
            .await
            .expect("record")
            .target_id,
        "sim-1"
    );
    assert!(
        matches!(
            sim.resolve_target(&lane("prod")).await,
            Err(ProviderError::NotFound(_))
        ),
        "a dokploy record is not a simulated target"
    );
    assert_eq!(
        sim.list_domains(&testing).await.expect("domains"),
        lines(&["t.example"])
    );

    sim.inject_failure(
        SimOp::Deploy,
        SimFailure::Fails("health check failed".into()),
        Some(1),
    );
    let outcome = sim.deploy(&testing, None).await.expect("outcome");
    assert_eq!(
        (outcome.status, outcome.detail.as_str()),
        (DeployStatus::Fail, "health check failed")
    );
    assert_eq!(
        sim.deploy(&testing, None).await.expect("outcome").status,
        DeployStatus::Pass
    );

    sim.inject_failure(
        SimOp::SetImage,
        SimFailure::Error("registry down".into()),
        None,
    );
    for _ in 0..2 {
        assert!(matches!(
            sim.set_image(&testing, "img").await,
            Err(ProviderError::Failed { message, .. }) if message == "registry down"
        ));
    }
    sim.inject_failure(SimOp::CreatePreviewApp, SimFailure::Timeout, Some(1));
    assert!(matches!(
        sim.create_preview_app("demo-preview", "p", "img", &[], &[])
            .await,
        Err(ProviderError::Timeout(_))
    ));
    sim.clear_failures();
    sim.set_image(&testing, "img").await.expect("recovered");

    sim.set_latency(SimOp::Deploy, Duration::from_millis(500));
    let started = Instant::now();
    let error = sim
        .deploy(&testing, Some(Duration::from_millis(50)))
        .await
        .expect_err("slow");
    assert!(matches!(error, ProviderError::Timeout(_)));
    assert!(started.elapsed() < Duration::from_millis(400));
    sim.set_latency(SimOp::Deploy, Duration::from_millis(20));
    assert_eq!(
        sim.deploy(&testing, None).await.expect("slow pass").status,
        DeployStatus::Pass
    );
}

// ---------------------------------------------------------------------------
// HTTP probe
// ---------------------------------------------------------------------------

fn expected_identity() -> RuntimeIdentity {
    RuntimeIdentity::new(
        "demo",
        "testing",
        "deployment-1",
        "artifact-1",
        "refs/heads/main",
    )
}

/// A small health server: fixed answers, a flaky path and identity echoes.
async fn health_server() -> String {
    use axum::Router;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;

    let flaky = Arc::new(AtomicU32::new(0));
    let rolling = Arc::new(AtomicU32::new(0));
    let identity = serde_json::to_value(expected_identity()).expect("identity");
    let mut mismatched = identity.clone();
    mismatched["artifact_id"] = json!("artifact-0");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let other_host = format!("http://localhost:{}/ok", addr.port());
    let app = Router::new()
        .route("/ok", get(|| async { axum::Json(json!({"ok": true})) }))
        .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "late"
            }),
        )
        .route(
            "/flaky",
            get(move || {
                let flaky = flaky.clone();
                async move {
                    if flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    } else {
                        axum::Json(json!({"ok": true})).into_response()
                    }
                }
            }),
        )
        .route(
            "/rolling",
            get(move || {
                // The old build answers twice, then the new one.
                let rolling = rolling.clone();
                async move {
                    let tag = if rolling.fetch_add(1, Ordering::SeqCst) < 2 {
                        "old"
                    } else {
                        "new"
                    };
                    axum::Json(json!({"ok": true, "buildTag": tag}))
                }
            }),
        )
        .route(
            "/identity/match",
            get(move || {
                let body = json!({"ok": true, "runtime_identity": identity.clone()});
                async move { axum::Json(body) }
            }),
        )
        .route(
            "/identity/mismatch",
            get(move || {
                let body = json!({"launchplane_runtime_identity": mismatched.clone()});
                async move { axum::Json(body) }
            }),
        )
        .route(
            "/identity/missing",
            get(|| async { axum::Json(json!({"ok": true})) }),
        )
        .route(
            "/identity/malformed",
            get(|| async { axum::Json(json!({"launchplaneRuntimeIdentity": "{broken"})) }),
        )
        .route("/identity/text", get(|| async { "OK" }))
        .route(
            "/big",
            get(|| async { axum::Json(json!({"pad": "x".repeat(64 * 1024)})) }),
        )
        .route(
            "/redirect-same",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/ok")]) }),
        )
        .route(
            "/redirect-other",
            get(move || {
                let location = other_host.clone();
                async move { (StatusCode::FOUND, [(header::LOCATION, location)]).into_response() }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn check(
    base: &str,
    paths: &[&str],
    timeout_ms: u32,
    poll_for_ms: u32,
    identity: bool,
) -> HealthCheck {
    HealthCheck {
        urls: paths.iter().map(|p| format!("{base}{p}")).collect(),
        timeout_ms,
        poll_for_ms,
        expected_identity: identity.then(|| expected_identity().to_env_json()),
    }
}

fn content(
    base: &str,
    paths: &[&str],
    poll_for_ms: u32,
    fields: &[(&str, &str)],
    contains: &str,
) -> ContentCheck {
    ContentCheck {
        urls: paths.iter().map(|p| format!("{base}{p}")).collect(),
        timeout_ms: 1000,
        poll_for_ms,
        json_fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        contains: contains.to_string(),
    }
}

#[tokio::test]
async fn content_checks_read_what_the_page_says_and_poll_until_it_says_it() {
    let base = health_server().await;
    let probe = probe();
    let new_build = [("ok", "true"), ("buildTag", "\"new\"")];

    // One round while the old build answers: a hard failure naming the field.
    let result = probe
        .check_content(&content(&base, &["/rolling"], 0, &new_build, ""))
        .await
        .expect("check");
    assert_eq!(
        (result.status.as_str(), result.status_code),
        ("fail", Some(200))
    );
    assert!(
        result
            .detail
            .contains(r#"field `buildTag` is "old", expected "new""#),
        "{}",
        result.detail
    );
    // Polling goes on until the new build answers.
    let result = probe
        .check_content(&content(&base, &["/rolling"], 3000, &new_build, ""))
        .await
        .expect("check");
    assert_eq!(result.status, "pass", "{}", result.detail);
    assert_eq!(result.url, format!("{base}/rolling"));
    assert_eq!(result.identity, "");

    for (paths, fields, contains, expected) in [
        (
            &["/ok"][..],
            &[("buildTag", "\"new\"")][..],
            "",
            "field `buildTag` is missing, expected \"new\"",
        ),
        (
            &["/identity/text"],
            &[("ok", "true")],
            "",
            "the body is not a JSON object",
        ),
        (
            &["/ok"],
            &[],
            "VeriReel",
            "the body does not contain `VeriReel`",
        ),
        (&["/down"], &[("ok", "true")], "", "answered 503"),
    ] {
        let result = probe
            .check_content(&content(&base, paths, 0, fields, contains))
            .await
            .expect("check");
        assert_eq!(result.status, "fail", "{paths:?}");
        assert!(
            result.detail.contains(expected),
            "{paths:?}: {}",
            result.detail
        );
    }
    // The first URL that satisfies the check wins; text alone is enough.
    let result = probe
        .check_content(&content(&base, &["/down", "/identity/text"], 0, &[], "OK"))
        .await
        .expect("check");
    assert_eq!(result.status, "pass", "{}", result.detail);
    assert_eq!(result.url, format!("{base}/identity/text"));

    // What cannot be checked is refused before any request.
    for (bad, field) in [
        (content(&base, &["/ok"], 0, &[("ok", "yes")], ""), "ok"),
        (
            content(&base, &["/ok"], 0, &[(" ", "true")], ""),
            "field name",
        ),
        (content(&base, &[], 0, &[], "x"), "at least one URL"),
        (
            content("ftp://example.com", &["/x"], 0, &[], "x"),
            "http or https",
        ),
    ] {
        match probe.check_content(&bad).await {
            Err(HostError::Invalid(message)) => {
                assert!(message.contains(field), "{message}");
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

fn probe() -> HttpProbe {
    HttpProbe::new()
        .expect("probe")
        .with_interval(Duration::from_millis(50))
}

#[tokio::test]
async fn probe_first_2xx_wins_and_polls_until_a_pass() {
    let base = health_server().await;
    let probe = probe();
    let result = probe
        .check(&check(&base, &["/down", "/ok"], 1000, 0, false))
        .await
        .expect("check");
    assert_eq!(
        (result.status.as_str(), result.status_code),
        ("pass", Some(200))
    );
    assert_eq!(result.url, format!("{base}/ok"));
    assert_eq!(result.identity, "");

    let result = probe
        .check(&check(&base, &["/down"], 1000, 0, false))
        .await
        .expect("check");
    assert_eq!(
        (result.status.as_str(), result.status_code),
        ("fail", Some(503))
    );

    let result = probe
        .check(&check(&base, &["/flaky"], 1000, 3000, false))
        .await
        .expect("check");
    assert_eq!(result.status, "pass", "{result:?}");

    let started = Instant::now();
    let result = probe
        .check(&check(&base, &["/down"], 1000, 300, false))
        .await
        .expect("check");
    assert_eq!(result.status, "fail");
    assert!(started.elapsed() >= Duration::from_millis(200), "it polled");
}

#[tokio::test]
async fn probe_per_request_timeout_applies() {
    let base = health_server().await;
    let started = Instant::now();
    let result = probe()
        .check(&check(&base, &["/slow", "/down"], 200, 0, false))
        .await
        .expect("check");
    assert_eq!(result.status, "fail");
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
    let result = probe()
        .check(&check(&base, &["/slow"], 200, 0, false))
        .await
        .expect("check");
    assert!(
        result.detail.contains("timed out after 200 ms"),
        "{}",
        result.detail
    );
}

#[tokio::test]
async fn probe_compares_the_echoed_runtime_identity() {
    let base = health_server().await;
    let probe = probe();
    let cases = [
        ("/identity/match", "pass", "match"),
        ("/identity/mismatch", "fail", "mismatch"),
        ("/identity/missing", "pass", "missing"),
        ("/identity/malformed", "fail", "malformed"),
        ("/identity/text", "pass", "unverifiable"),
    ];
    for (path, status, identity) in cases {
        let result = probe
            .check(&check(&base, &[path], 1000, 0, true))
            .await
            .expect("check");
        assert_eq!(
            (result.status.as_str(), result.identity.as_str()),
            (status, identity),
            "{path}: {result:?}"
        );
    }
    let result = probe
        .check(&check(&base, &["/identity/mismatch"], 1000, 0, true))
        .await
        .expect("check");
    assert!(result.detail.contains("artifact_id"), "{}", result.detail);
    // A hard identity failure keeps polling, then fails.
    let started = Instant::now();
    let result = probe
        .check(&check(&base, &["/identity/mismatch"], 1000, 300, true))
        .await
        .expect("check");
    assert_eq!(result.identity, "mismatch");
    assert!(started.elapsed() >= Duration::from_millis(200));
    // Bodies are capped.
    let small = HttpProbe::new().expect("probe").with_max_body_bytes(1024);
    let result = small
        .check(&check(&base, &["/big"], 1000, 0, true))
        .await
        .expect("check");
    assert_eq!(result.identity, "unverifiable");
    assert!(result.detail.contains("truncated"), "{}", result.detail);
}

#[tokio::test]
async fn probe_refuses_other_schemes_and_other_hosts() {
    let base = health_server().await;
    let probe = probe();
    for url in [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "not a url",
        "http://u:p@example.com/",
    ] {
        let error = probe
            .check(&HealthCheck {
                urls: vec![url.to_string()],
                timeout_ms: 100,
                poll_for_ms: 0,
                expected_identity: None,
            })
            .await
            .expect_err("refused");
        assert!(matches!(error, HostError::Invalid(_)), "{url}: {error:?}");
    }
    let mut bad_identity = check(&base, &["/ok"], 100, 0, false);
    bad_identity.expected_identity = Some("{\"context\": \"demo\"}".to_string());
    assert!(matches!(
        probe.check(&bad_identity).await,
        Err(HostError::Invalid(_))
    ));
    let skipped = probe
        .check(&HealthCheck {
            urls: vec![],
            timeout_ms: 100,
            poll_for_ms: 0,
            expected_identity: None,
        })
        .await
        .expect("skipped");
    assert_eq!(skipped.status, "skipped");

    let result = probe
        .check(&check(&base, &["/redirect-same"], 1000, 0, false))
        .await
        .expect("check");
    assert_eq!(result.status, "pass", "same-host redirects are followed");
    let result = probe
        .check(&check(&base, &["/redirect-other"], 1000, 0, false))
        .await
        .expect("check");
    assert_eq!(
        (result.status.as_str(), result.status_code),
        ("fail", Some(302)),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------
// Product onboarding over HTTP
// ---------------------------------------------------------------------------

const ONBOARDING: &str = "/v1/product-onboarding/apply";

/// The demo service with `product_onboarding.apply` granted and the demo
/// profile (lanes demo/testing, demo/prod).
async fn onboarding_service(db: &TestDatabase) -> Service {
    let policy_text = DEMO_POLICY.replacen(
        "\"driver.read\",",
        "\"driver.read\", \"product_onboarding.apply\",",
        1,
    );
    assert_ne!(policy_text, DEMO_POLICY);
    let policy = launchplane::auth::AuthzPolicy::from_toml_str(&policy_text).expect("policy");
    launchplane::ops::access::bootstrap_policy(&db.store, &policy, "tests")
        .await
        .expect("policy");
    let service = Service::start(db).await;
    service.seed_profile("generic-web").await;
    service
}

fn onboarding_target(instance: &str, target_id: &str) -> Value {
    json!({
        "provider_id": "dokploy",
        "context": "demo",
        "instance": instance,
        "target_type": "application",
        "target_id": target_id,
        "target_name": format!("demo-{instance}"),
        "domains": [format!("{instance}.demo.example")],
        "healthcheck_path": "/healthz",
        "deploy_timeout_seconds": 900,
    })
}

fn manifest(mode: &str, targets: Vec<Value>) -> Value {
    json!({"schema_version": 1, "product": "demo", "mode": mode, "provider_targets": targets})
}

async fn stored_targets(db: &TestDatabase) -> Vec<launchplane::records::StoredRecord> {
    db.store
        .list_records(PROVIDER_TARGET_KIND, &RecordQuery::default())
        .await
        .expect("records")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_dry_run_writes_nothing_and_apply_writes_once() {
    let db = TestDatabase::new("postgres").await;
    let service = onboarding_service(&db).await;
    let targets = vec![
        onboarding_target("testing", "app-testing"),
        onboarding_target("prod", "app-prod"),
    ];

    let (status, body) = service
        .post(
            ONBOARDING,
            &manifest("dry_run", targets.clone()),
            Some("dry-1"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["records"], json!({"provider_target_count": "2"}));
    assert_eq!(body["result"]["mode"], "dry_run");
    assert_eq!(body["result"]["applied"], false);
    let first = &body["result"]["provider_targets"][0];
    assert_eq!(first["action"], "created");
    assert_eq!(first["record_id"], "dokploy-demo-testing");
    assert_eq!(first["target_category"], "application");
    assert_eq!(first["provider_target_type"], "application");
    assert_eq!(first["provider_id"], "dokploy");
    assert!(
        stored_targets(&db).await.is_empty(),
        "dry_run writes nothing"
    );
    // A dry run is not stored for replay.
    let (_, again) = service
        .post(
            ONBOARDING,
            &manifest("dry_run", targets.clone()),
            Some("dry-1"),
        )
        .await;
    assert!(again.get("replayed").is_none(), "{again}");

    let (status, applied) = service
        .post(
            ONBOARDING,
            &manifest("apply", targets.clone()),
            Some("apply-1"),
        )
        .await;
    assert_eq!(status, 202, "{applied}");
    assert_eq!(applied["result"]["written_count"], 2);
    let rows = stored_targets(&db).await;
    assert_eq!(rows.len(), 2);
    let testing = rows
        .iter()
        .find(|r| r.record_id == "dokploy-demo-testing")
        .expect("testing row");
    assert_eq!(
        (
            testing.product.as_str(),
            testing.context.as_str(),
            testing.instance.as_str()
        ),
        ("demo", "demo", "testing")
    );
    assert_eq!(testing.document["healthcheck_path"], "/healthz");
    assert_eq!(testing.document["deploy_timeout_seconds"], 900);
    assert_eq!(testing.document["source"], "service:product-onboarding");
    let history = db
        .store
        .record_history(PROVIDER_TARGET_KIND, "dokploy-demo-testing")
        .await
        .expect("history");

    let (status, replay) = service
        .post(
            ONBOARDING,
            &manifest("apply", targets.clone()),
            Some("apply-1"),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["original_trace_id"], applied["trace_id"]);
    assert_eq!(
        db.store
            .record_history(PROVIDER_TARGET_KIND, "dokploy-demo-testing")
            .await
            .expect("history")
            .len(),
        history.len(),
        "the replay wrote nothing"
    );

    // The same manifest without a key is unchanged: nothing rewritten.
    let (status, unchanged) = service
        .post(ONBOARDING, &manifest("apply", targets), None)
        .await;
    assert_eq!(status, 202, "{unchanged}");
    assert_eq!(
        unchanged["result"]["provider_targets"][0]["action"],
        "unchanged"
    );
    assert_eq!(unchanged["result"]["written_count"], 0);
    assert_eq!(
        db.store
            .record_history(PROVIDER_TARGET_KIND, "dokploy-demo-testing")
            .await
            .expect("history")
            .len(),
        history.len()
    );

    // The stored rows drive the provider.
    let provider_targets = ProviderTargets::new(db.store.clone());
    let stored = provider_targets
        .require("dokploy", &lane("prod"))
        .await
        .expect("prod target");
    assert_eq!(stored.target_id, "app-prod");
    assert_eq!(
        stored.health_urls(),
        lines(&["https://prod.demo.example/healthz"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_refuses_bad_manifests_before_writing() {
    let db = TestDatabase::new("postgres").await;
    let service = onboarding_service(&db).await;
    let mut unknown_field = manifest("apply", vec![onboarding_target("testing", "a")]);
    unknown_field["provider_targets"][0]["colour"] = json!("blue");
    let mut legacy = manifest("apply", vec![]);
    legacy["dokploy_targets"] = json!([]);
    let mut foreign_context = onboarding_target("testing", "a");
    foreign_context["context"] = json!("elsewhere");
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            manifest("apply", vec![onboarding_target("dev", "a")]),
            400,
            "invalid_request",
            "stable lanes",
        ),
        (
            manifest("apply", vec![onboarding_target("pr-3", "a")]),
            400,
            "invalid_request",
            "stable lanes",
        ),
        (
            manifest(
                "apply",
                vec![
                    onboarding_target("testing", "a"),
                    onboarding_target("testing", "b"),
                ],
            ),
            400,
            "invalid_request",
            "duplicate",
        ),
        (
            manifest("apply", vec![foreign_context]),
            403,
            "product_driver_mismatch",
            "elsewhere/testing",
        ),
        (legacy, 400, "invalid_request", "dokploy_targets"),
        (unknown_field, 400, "invalid_request", "colour"),
        (
            manifest("maybe", vec![onboarding_target("testing", "a")]),
            400,
            "invalid_request",
            "mode",
        ),
        (
            manifest("apply", vec![]),
            400,
            "invalid_request",
            "at least one",
        ),
    ];
    for (body, status, code, needle) in cases {
        let (got, response) = service.post(ONBOARDING, &body, Some("bad-key")).await;
        assert_eq!(got, status, "{needle}: {response}");
        assert_eq!(assert_rejected(&response), code, "{needle}");
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{needle}: {response}"
        );
    }
    assert!(stored_targets(&db).await.is_empty());
    let (status, _) = service.get(ONBOARDING).await;
    assert_eq!(status, 405);

    // A target of another product is never overwritten.
    ProviderTargets::new(db.store.clone())
        .put(
            "someone-else",
            &[target(
                "dokploy",
                "demo",
                "testing",
                TargetType::Application,
                "theirs",
                &[],
            )],
            "tests",
        )
        .await
        .expect("seed");
    let (status, response) = service
        .post(
            ONBOARDING,
            &manifest("apply", vec![onboarding_target("testing", "a")]),
            None,
        )
        .await;
    assert_eq!(status, 409, "{response}");
    assert_eq!(assert_rejected(&response), "provider_target_conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_needs_its_grant() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("generic-web").await;
    let (status, response) = service
        .post(
            ONBOARDING,
            &manifest("dry_run", vec![onboarding_target("testing", "a")]),
            None,
        )
        .await;
    assert_eq!(status, 403, "{response}");
    assert_eq!(assert_rejected(&response), "authorization_denied");
}

// ---------------------------------------------------------------------------
// Live target runtime over HTTP
// ---------------------------------------------------------------------------

const LIVE_TARGET: &str = "/v1/live-target-runtime/apply";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_environment_is_applied_over_http_by_key_and_never_deployed() {
    let db = TestDatabase::new("postgres").await;
    let fake = FakeDokploy::start(KEY).await;
    fake.add_application(
        "app-testing",
        json!({"name": "demo-testing", "env": "KEEP=me", "dockerImage": "ghcr.io/launchplane/demo:old"}),
    );
    let service = Service::start_on_dokploy(&db, &fake.url(), KEY, |_| {}).await;
    service.seed_profile("generic-web").await;
    ProviderTargets::new(db.store.clone())
        .put(
            "demo",
            &[target(
                "dokploy",
                "demo",
                "testing",
                TargetType::Application,
                "app-testing",
                &[],
            )],
            "tests",
        )
        .await
        .expect("target");
    let config = json!({"mode": "apply", "product": "demo", "context": "demo", "instance": "testing",
                        "runtime_env": {"APP_MODE": "web"},
                        "secrets": [{"name": "API_TOKEN", "value": "live-api-token-5d1e"}]});
    let (status, body) = service
        .post("/v1/product-config/apply", &config, None)
        .await;
    assert_eq!(status, 202, "{body}");

    let request = |mode: &str| json!({"schema_version": 1, "mode": mode, "product": "demo", "context": "demo", "instance": "testing"});
    let (status, body) = service.post(LIVE_TARGET, &request("dry-run"), None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["result"]["keys_to_set"],
        json!(["API_TOKEN", "APP_MODE"])
    );
    assert_eq!(body["result"]["unmanaged_keys"], json!(["KEEP"]));
    assert!(fake.calls_to("/api/application.saveEnvironment").is_empty());

    let (status, body) = service
        .post(LIVE_TARGET, &request("apply"), Some("live-1"))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["deployed"], false);
    assert_eq!(body["result"]["change_count"], 2, "{body}");
    assert!(!body.to_string().contains("live-api-token-5d1e"));
    assert_eq!(
        fake.application("app-testing").expect("app")["env"],
        "KEEP=me\nAPI_TOKEN=live-api-token-5d1e\nAPP_MODE=web"
    );
    assert!(
        fake.calls_to("/api/application.deploy").is_empty(),
        "no deploy"
    );
    // The same key replays the stored answer without a provider call.
    let (status, replay) = service
        .post(LIVE_TARGET, &request("apply"), Some("live-1"))
        .await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(fake.calls_to("/api/application.saveEnvironment").len(), 1);

    // A lane outside the product, and a malformed mode, are refused.
    let mut outside = request("apply");
    outside["instance"] = json!("staging");
    let (status, body) = service.post(LIVE_TARGET, &outside, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("context_not_in_product_boundary")),
        "{body}"
    );
    let (status, body) = service.post(LIVE_TARGET, &request("plan"), None).await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "mode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_target_runtime_needs_a_provider() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("generic-web").await;
    let request =
        json!({"mode": "dry-run", "product": "demo", "context": "demo", "instance": "testing"});
    let (status, body) = service.post(LIVE_TARGET, &request, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("provider_unavailable")),
        "{body}"
    );
}
