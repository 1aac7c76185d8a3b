//! The generic-web lifecycle end to end, on PostgreSQL, over HTTP with real
//! tokens, against the fake Dokploy API: deploy to testing → promote to prod
//! → roll back; a provider failure mid-promotion; a lane not on the
//! profile; an idempotent replay that makes no second provider call; one
//! mutation at a time per lane.
//!
//! A small health server plays the deployed application: it answers on the
//! lane's URL and echoes the runtime identity Dokploy holds in the app's
//! env, so identity verification is exercised for real.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use launchplane::providers::{ProviderTargetInput, ProviderTargets, TargetType};
use launchplane::records::RecordQuery;
use launchplane::runtime::capabilities::HttpProbe;
use launchplane_tests::fake_dokploy::{DeployScript, FakeDokploy};
use launchplane_tests::{Service, TestDatabase, assert_rejected};
use serde_json::{Value, json};

const KEY: &str = "dokploy-lifecycle-key-0123456789";
pub(crate) const IMAGE_1: &str = "ghcr.io/launchplane/demo@sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub(crate) const IMAGE_2: &str = "ghcr.io/launchplane/demo@sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// The "application": `/{instance}/healthz` echoes the identity JSON from
/// the fake Dokploy app's env; `/{instance}` and its logo are the website
/// Odoo's rebuild verification reads.
pub(crate) async fn health_server(fake: Arc<FakeDokploy>) -> String {
    async fn healthz(
        State(fake): State<Arc<FakeDokploy>>,
        Path(instance): Path<String>,
    ) -> axum::Json<Value> {
        let env = fake
            .application(&format!("app-{instance}"))
            .and_then(|app| app["env"].as_str().map(str::to_string))
            .unwrap_or_default();
        let identity = env
            .lines()
            .find_map(|line| line.strip_prefix("LAUNCHPLANE_RUNTIME_IDENTITY_JSON="))
            .and_then(|json| serde_json::from_str::<Value>(json).ok());
        axum::Json(json!({"status": "ok", "runtime_identity": identity}))
    }
    // The website an Odoo lane serves: its home page names its own base
    // URL as canonical, and its logo.
    async fn home(headers: axum::http::HeaderMap, Path(instance): Path<String>) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        format!(
            "<html><head><link rel=\"canonical\" href=\"http://{host}/{instance}\"/></head></html>"
        )
    }
    let app = axum::Router::new()
        .route("/{instance}/healthz", get(healthz))
        .route("/{instance}", get(home))
        .route(
            "/{instance}/web/image/website/1/logo",
            get(|| async { ([(axum::http::header::CONTENT_TYPE, "image/png")], "png") }),
        )
        .with_state(fake);
    format!("http://{}", launchplane_tests::serve_loopback(app).await)
}

pub(crate) struct Lifecycle {
    pub(crate) db: TestDatabase,
    pub(crate) fake: Arc<FakeDokploy>,
    pub(crate) service: Service,
}

pub(crate) async fn lifecycle() -> Lifecycle {
    lifecycle_configured(|_| {}).await
}

/// [`lifecycle`] with more service settings.
pub(crate) async fn lifecycle_configured(
    configure: impl FnOnce(&mut launchplane::ops::Service),
) -> Lifecycle {
    let db = TestDatabase::new("postgres").await;
    let fake = Arc::new(FakeDokploy::start(KEY).await);
    for instance in ["testing", "prod"] {
        fake.add_application(
            &format!("app-{instance}"),
            json!({"name": format!("demo-{instance}"), "env": "KEEP_ME=1\nAPP_MODE=web", "dockerImage": "ghcr.io/launchplane/demo:old"}),
        );
    }
    let health = health_server(fake.clone()).await;
    let mut profile = launchplane_tests::demo_profile("generic-web");
    profile["lanes"] = json!([
        {"instance": "testing", "context": "demo", "base_url": format!("{health}/testing")},
        {"instance": "prod", "context": "demo", "base_url": format!("{health}/prod")}
    ]);
    // As in service: the credentials are the global `dokploy` managed
    // secrets, read by the provider on each call.
    let service = Service::start_on_dokploy(&db, &fake.url(), KEY, |state| {
        state.services.probe = Some(HttpProbe::new().expect("probe"));
        configure(state);
    })
    .await;
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "{body}");
    put_application_targets(&db, "demo").await;
    Lifecycle { db, fake, service }
}

/// Binds product `demo`'s testing and prod lanes in `context` to the fake
/// Dokploy applications `app-<instance>` (named `<context>-<instance>`).
pub(crate) async fn put_application_targets(db: &TestDatabase, context: &str) {
    let targets: Vec<_> = ["testing", "prod"]
        .iter()
        .map(|instance| {
            ProviderTargetInput {
                provider_id: "dokploy".into(),
                context: context.into(),
                instance: instance.to_string(),
                target_type: TargetType::Application,
                target_id: format!("app-{instance}"),
                target_name: format!("{context}-{instance}"),
                domains: vec![],
                healthcheck_path: "/healthz".into(),
                deploy_timeout_seconds: Some(30),
            }
            .into_target("2026-11-01T00:00:00Z", "tests")
            .expect("target")
        })
        .collect();
    ProviderTargets::new(db.store.clone())
        .put("demo", &targets, "tests")
        .await
        .expect("targets");
}

pub(crate) fn deploy(image: &str) -> Value {
    json!({"product": "demo", "deploy": {"product": "demo", "instance": "testing", "artifact_id": image, "source_git_ref": "refs/heads/main"}})
}

fn promotion(image: &str) -> Value {
    json!({"product": "demo", "promotion": {"product": "demo", "artifact_id": image, "source_git_ref": "refs/heads/main"}})
}

async fn inventory(l: &Lifecycle, instance: &str) -> Value {
    let (status, body) = l
        .service
        .get(&format!("/v1/inventory/demo/{instance}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["record"].clone()
}

pub(crate) fn image_of(l: &Lifecycle, instance: &str) -> String {
    l.fake.application(&format!("app-{instance}")).expect("app")["dockerImage"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_promote_and_roll_back_through_dokploy() {
    let l = lifecycle().await;

    // Deploy IMAGE_1 to testing.
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(IMAGE_1),
            Some("deploy-1"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let deployment_id = body["records"]["deployment_record_id"]
        .as_str()
        .expect("deployment id")
        .to_string();
    assert_eq!(image_of(&l, "testing"), IMAGE_1);
    let env = l.fake.application("app-testing").expect("app")["env"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        env.contains("KEEP_ME=1"),
        "unrelated env keys are preserved: {env}"
    );
    assert!(
        env.contains(&format!("LAUNCHPLANE_DEPLOYMENT_RECORD_ID={deployment_id}")),
        "{env}"
    );
    assert!(
        env.contains(&format!("LAUNCHPLANE_ARTIFACT_ID={IMAGE_1}")),
        "{env}"
    );
    let paths: Vec<String> = l
        .fake
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    for expected in [
        "POST /api/application.saveEnvironment",
        "POST /api/application.saveDockerProvider",
        "POST /api/application.deploy",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} not in {paths:?}"
        );
    }
    assert!(
        l.fake.calls().iter().all(|c| c.authorized),
        "every Dokploy call carried the configured x-api-key"
    );
    let testing = inventory(&l, "testing").await;
    assert_eq!(testing["deployment_record_id"], deployment_id.as_str());
    assert_eq!(testing["destination_health"]["status"], "pass", "{testing}");

    // Promote to prod; replaying the same key makes no second provider call.
    let (status, promoted) = l
        .service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &promotion(IMAGE_1),
            Some("promote-1"),
        )
        .await;
    assert_eq!(status, 202, "{promoted}");
    let promotion_id = promoted["records"]["promotion_record_id"]
        .as_str()
        .expect("promotion id")
        .to_string();
    assert_eq!(image_of(&l, "prod"), IMAGE_1);
    let calls_after_promotion = l.fake.calls().len();
    let (status, replay) = l
        .service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &promotion(IMAGE_1),
            Some("promote-1"),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["records"], promoted["records"]);
    assert_eq!(
        l.fake.calls().len(),
        calls_after_promotion,
        "a replay makes no provider call"
    );
    let prod = inventory(&l, "prod").await;
    assert_eq!(prod["promotion_record_id"], promotion_id.as_str());
    assert_eq!(prod["promoted_from_instance"], "testing");
    let (_, record) = l
        .service
        .get(&format!("/v1/promotions/{promotion_id}"))
        .await;
    assert_eq!(
        record["record"]["deployment_record_id"],
        promoted["records"]["deployment_record_id"]
    );

    // A second release through both lanes.
    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &deploy(IMAGE_2), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &promotion(IMAGE_2),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(image_of(&l, "prod"), IMAGE_2);

    // Roll prod back: to the previous prod artifact.
    let rollback = json!({"product": "demo", "rollback": {"product": "demo", "instance": "prod"}});
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/prod-rollback",
            &rollback,
            Some("rollback-1"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        image_of(&l, "prod"),
        IMAGE_1,
        "prod runs the previous artifact again: {body}"
    );
    let prod = inventory(&l, "prod").await;
    assert_eq!(prod["artifact_identity"]["artifact_id"], IMAGE_1, "{prod}");
    let promotions =
        l.db.store
            .list_records("promotion", &RecordQuery::default())
            .await
            .expect("promotions");
    assert!(
        promotions
            .iter()
            .any(|p| p.document["rollback"]["attempted"] == true),
        "rollback evidence is on the promotion record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_failure_mid_promotion_leaves_prod_untouched() {
    let l = lifecycle().await;
    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &deploy(IMAGE_1), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &promotion(IMAGE_1),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let prod_before = inventory(&l, "prod").await;
    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &deploy(IMAGE_2), None)
        .await;
    assert_eq!(status, 202, "{body}");

    // The prod deploy ends in error.
    l.fake.script(DeployScript::ends("error"));
    let (status, failed) = l
        .service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &promotion(IMAGE_2),
            Some("promote-fail"),
        )
        .await;
    assert!(status == 502 || status == 409, "{status}: {failed}");
    assert!(
        failed["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(
        !failed.to_string().contains(KEY),
        "the provider key never reaches a response"
    );
    let promotions =
        l.db.store
            .list_records("promotion", &RecordQuery::default())
            .await
            .expect("promotions");
    assert_eq!(
        promotions[0].document["deploy"]["status"], "fail",
        "a failed promotion record is written"
    );
    let prod_after = inventory(&l, "prod").await;
    assert_eq!(
        prod_after["deployment_record_id"], prod_before["deployment_record_id"],
        "prod inventory unchanged"
    );
    assert_eq!(
        prod_after["artifact_identity"],
        prod_before["artifact_identity"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_not_on_the_profile_is_refused_before_any_provider_call() {
    let l = lifecycle().await;
    let mut staging = promotion(IMAGE_1);
    staging["promotion"]["to_instance"] = json!("staging");
    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/prod-promotion", &staging, None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(assert_rejected(&body), "product_driver_mismatch");
    assert!(l.fake.calls().is_empty(), "no Dokploy call was made");
}

/// A lifecycle whose deploys stay in flight at Dokploy for about a second.
pub(crate) async fn slow_lifecycle() -> Lifecycle {
    let l = lifecycle().await;
    l.fake.script(DeployScript {
        running_polls: 50,
        ..Default::default()
    });
    l
}

/// The live lease on demo's testing lane.
pub(crate) async fn testing_lease(l: &Lifecycle) -> Option<launchplane::records::LaneLease> {
    l.db.store
        .lane_lease("demo", "demo", "testing")
        .await
        .expect("read lease")
}

/// Waits until the fake Dokploy has seen `count` application deploys.
pub(crate) async fn deploys_seen(l: &Lifecycle, count: usize) {
    for _ in 0..1000 {
        if l.fake.calls_to("/api/application.deploy").len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("Dokploy never saw deploy number {count}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_mutation_on_a_busy_lane_is_refused_without_a_provider_call() {
    // The first deploy stays in flight at Dokploy for about a second.
    let l = slow_lifecycle().await;
    let first_request = deploy(IMAGE_1);
    let first = l.service.post(
        "/v1/drivers/generic-web/deploy",
        &first_request,
        Some("lane-1"),
    );
    let second = async {
        deploys_seen(&l, 1).await;
        let busy = l
            .service
            .post(
                "/v1/drivers/generic-web/deploy",
                &deploy(IMAGE_2),
                Some("lane-2"),
            )
            .await;
        let lease = testing_lease(&l).await;
        (busy, lease)
    };
    let ((status, body), ((busy_status, busy), lease)) = tokio::join!(first, second);
    assert_eq!(status, 202, "{body}");
    assert_eq!(busy_status, 409, "{busy}");
    assert_eq!(assert_rejected(&busy), "lane_busy");
    assert_eq!(
        busy["lane"],
        json!({"product": "demo", "context": "demo", "instance": "testing"})
    );
    assert_eq!(busy["lease"]["action_id"], "stable_deploy", "{busy}");
    assert_eq!(
        busy["lease"]["trace_id"], body["trace_id"],
        "the holder is named"
    );
    assert!(busy["lease"].get("owner").is_none(), "host ids stay inside");
    let lease = lease.expect("the lane was leased while the first deploy ran");
    assert_eq!(
        lease.trace_id,
        body["trace_id"].as_str().unwrap_or_default()
    );
    assert_eq!(
        l.fake.calls_to("/api/application.deploy").len(),
        1,
        "the refused deploy made no provider call"
    );
    assert_eq!(image_of(&l, "testing"), IMAGE_1);

    // The lease ended with the deploy: the same request, retried under its
    // own key (a refusal is not stored for replay), now runs.
    assert!(testing_lease(&l).await.is_none());
    l.fake.script(DeployScript::default());
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(IMAGE_2),
            Some("lane-2"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(image_of(&l, "testing"), IMAGE_2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_hangs_up_does_not_free_the_lane_before_the_driver_finishes() {
    let l = slow_lifecycle().await;
    // A client that gives up after 300 ms, while Dokploy still deploys.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let gave_up = client
        .post(l.service.server.url("/v1/drivers/generic-web/deploy"))
        .bearer_auth(l.service.issuer.token())
        .header("Idempotency-Key", "hang-up")
        .json(&deploy(IMAGE_1))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client timed out: {gave_up:?}");
    let held = testing_lease(&l).await;
    assert!(
        held.is_some(),
        "the driver still runs, so the lane stays held"
    );
    // Operators see who holds the lane in the context's recent view.
    let (status, recent) = l.service.get("/v1/contexts/demo/operations/recent").await;
    assert_eq!(status, 200, "{recent}");
    assert_eq!(recent["lane_leases"][0]["instance"], "testing", "{recent}");
    assert_eq!(recent["lane_leases"][0]["action_id"], "stable_deploy");
    assert!(
        recent["lane_leases"][0].get("owner").is_none(),
        "host ids stay inside"
    );
    assert_eq!(recent["active_operations"], json!([]));
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(IMAGE_2),
            Some("impatient"),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(assert_rejected(&body), "lane_busy");

    // The abandoned deploy finishes on its own and then frees the lane.
    let mut freed = false;
    for _ in 0..1000 {
        if testing_lease(&l).await.is_none() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(freed, "the lease ends when the driver does");
    let (_, recent) = l.service.get("/v1/contexts/demo/operations/recent").await;
    assert_eq!(recent["lane_leases"], json!([]), "{recent}");
    assert_eq!(
        image_of(&l, "testing"),
        IMAGE_1,
        "the abandoned deploy completed"
    );
    assert_eq!(l.fake.calls_to("/api/application.deploy").len(), 1);
}
