//! VeriReel's stable lane end to end, on PostgreSQL, over HTTP with real
//! tokens, against the fake Dokploy API with credentials from managed
//! secrets: the stable environment, a testing deploy whose rollout is
//! verified against the build the app reports, a deploy whose app never
//! reports the expected build, the testing workflow's verification, and app
//! maintenance (named jobs on the stable testing application, retried).
//!
//! A small server plays VeriReel: `/api/health` reports `ok` and the build
//! (its tag read from the image the fake Dokploy app holds, so the report
//! changes only when the deploy really changed the image), and `/` and
//! `/sign-in` render a page naming the product.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use launchplane::providers::{ProviderTargetInput, ProviderTargets, TargetType};
use launchplane::runtime::capabilities::HttpProbe;
use launchplane_tests::fake_dokploy::FakeDokploy;
use launchplane_tests::{Service, TestDatabase, demo_profile};
use serde_json::{Value, json};

const KEY: &str = "dokploy-verireel-key-0123456789";
const REVISION: &str = "abc1234";

/// The app: health reports the tag of the image Dokploy runs.
async fn app_server(fake: Arc<FakeDokploy>) -> String {
    async fn health(State(fake): State<Arc<FakeDokploy>>) -> axum::Json<Value> {
        let image = fake
            .application("app-testing")
            .and_then(|app| app["dockerImage"].as_str().map(str::to_string))
            .unwrap_or_default();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or_default();
        axum::Json(json!({"ok": true, "buildRevision": REVISION, "buildTag": tag}))
    }
    async fn page() -> axum::response::Html<&'static str> {
        axum::response::Html("<html><title>VeriReel</title></html>")
    }
    let app = axum::Router::new()
        .route("/api/health", get(health))
        .route("/", get(page))
        .route("/sign-in", get(page))
        .with_state(fake);
    format!("http://{}", launchplane_tests::serve_loopback(app).await)
}

struct Lane {
    _db: TestDatabase,
    fake: Arc<FakeDokploy>,
    service: Service,
    app: String,
}

async fn lane() -> Lane {
    lane_in("demo").await
}

/// The lane (`context`, testing) of product `demo`, its VeriReel app on
/// the fake Dokploy as application `app-testing`.
async fn lane_in(context: &str) -> Lane {
    let db = TestDatabase::new("postgres").await;
    let fake = Arc::new(FakeDokploy::start(KEY).await);
    fake.add_application(
        "app-testing",
        json!({"name": "ver-testing-app", "env": "APP_MODE=web", "dockerImage": "ghcr.io/o/verireel:sha-old0000"}),
    );
    let app = app_server(fake.clone()).await;
    let service = Service::start_on_dokploy(&db, &fake.url(), KEY, |state| {
        state.services.probe = Some(
            HttpProbe::new()
                .expect("probe")
                .with_interval(Duration::from_millis(100)),
        );
    })
    .await;
    let mut profile = demo_profile("verireel");
    for lane in profile["lanes"].as_array_mut().into_iter().flatten() {
        lane["context"] = json!(context);
    }
    if context == "verireel" {
        // VeriReel's previews live in their own context.
        profile["preview"]["context"] = json!("verireel-testing");
    }
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "profile: {body}");
    let target = ProviderTargetInput {
        provider_id: "dokploy".into(),
        context: context.into(),
        instance: "testing".into(),
        target_type: TargetType::Application,
        target_id: "app-testing".into(),
        target_name: "ver-testing-app".into(),
        domains: vec![format!("{app}/")],
        healthcheck_path: "/api/health".into(),
        deploy_timeout_seconds: Some(30),
    }
    .into_target("2026-11-01T00:00:00Z", "tests")
    .expect("target");
    ProviderTargets::new(db.store.clone())
        .put(context, &[target], "tests")
        .await
        .expect("targets");
    Lane {
        _db: db,
        fake,
        service,
        app,
    }
}

fn deploy(image: &str, rollout_timeout_seconds: u32) -> Value {
    json!({"product": "demo", "deploy": {
        "context": "demo", "instance": "testing", "artifact_id": image,
        "source_git_ref": REVISION, "rollout_timeout_seconds": rollout_timeout_seconds,
    }})
}

#[tokio::test]
async fn stable_environment_reads_the_lane_from_records() {
    let l = lane().await;
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/stable-environment",
            &json!({"product": "demo", "environment": {"context": "demo", "instance": "testing"}}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let result = &body["result"];
    assert_eq!(result["primary_base_url"], l.app.as_str());
    assert_eq!(result["target_name"], "ver-testing-app");
    assert_eq!(
        result["health_urls"],
        json!([format!("{}/api/health", l.app)])
    );
    // The provider's own id never reaches the answer.
    assert!(!body.to_string().contains("app-testing"), "{body}");
    assert!(l.fake.calls().is_empty(), "read from records only");

    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/stable-environment",
            &json!({"product": "demo", "environment": {"context": "demo", "instance": "prod"}}),
            None,
        )
        .await;
    assert_eq!(status, 404, "no prod target: {body}");
}

#[tokio::test]
async fn a_testing_deploy_is_verified_against_the_build_the_app_reports() {
    let l = lane().await;
    let image = "ghcr.io/o/verireel:sha-abc1234";
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/testing-deploy",
            &deploy(image, 30),
            Some("ver-deploy-1"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let result = &body["result"];
    assert_eq!(result["deploy_status"], "pass", "{body}");
    assert_eq!(result["rollout_status"], "pass", "{body}");
    assert_eq!(result["rollout_base_url"], l.app.as_str());
    let record_id = body["records"]["deployment_record_id"]
        .as_str()
        .expect("record id")
        .to_string();
    assert_eq!(body["records"]["inventory_record_id"], "demo-testing");

    // The image was set on the application before the deploy was asked for.
    let paths: Vec<String> = l.fake.calls().into_iter().map(|c| c.path).collect();
    let set = paths
        .iter()
        .position(|p| p == "/api/application.saveDockerProvider")
        .expect("image set");
    let deployed = paths
        .iter()
        .position(|p| p == "/api/application.deploy")
        .expect("deployed");
    assert!(set < deployed, "{paths:?}");
    assert_eq!(
        l.fake.application("app-testing").expect("app")["dockerImage"],
        image
    );

    let (status, record) = l.service.get(&format!("/v1/deployments/{record_id}")).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["record"]["destination_health"]["status"], "pass");
    let (status, inventory) = l.service.get("/v1/inventory/demo/testing").await;
    assert_eq!(status, 200, "{inventory}");
    assert_eq!(
        inventory["record"]["deployment_record_id"],
        record_id.as_str()
    );

    // The testing workflow's checks fold into that deployment.
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/testing-verification",
            &json!({"product": "demo", "verification": {
                "context": "demo", "instance": "testing", "deployment_record_id": record_id,
                "migration_status": "success", "verification_status": "passed",
                "owner_routes_status": "skipped",
            }}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["post_deploy_status"], "pass");
    assert_eq!(body["result"]["deployment_health_status"], "skipped");
    let (_, record) = l.service.get(&format!("/v1/deployments/{record_id}")).await;
    assert_eq!(record["record"]["post_deploy_update"]["status"], "pass");
}

#[tokio::test]
async fn a_rollout_that_never_reports_the_build_is_recorded_as_failed() {
    let l = lane().await;
    // The app reports the tag of what Dokploy runs; asking for another tag
    // than the image's makes the rollout wait for a build that never comes.
    let mut request = deploy("ghcr.io/o/verireel:sha-abc1234", 1);
    request["deploy"]["expected_build_tag"] = json!("sha-never");
    let (status, body) = l
        .service
        .post("/v1/drivers/verireel/testing-deploy", &request, None)
        .await;
    assert_eq!(status, 202, "{body}");
    let result = &body["result"];
    assert_eq!(result["deploy_status"], "pass", "{body}");
    assert_eq!(result["rollout_status"], "fail", "{body}");
    let message = result["error_message"].as_str().unwrap_or_default();
    assert!(
        message.contains("field `buildTag` is \"sha-abc1234\", expected \"sha-never\""),
        "{message}"
    );
    assert!(
        body["records"].get("inventory_record_id").is_none(),
        "{body}"
    );
    let (status, _) = l.service.get("/v1/inventory/demo/testing").await;
    assert_eq!(status, 404, "the lane did not move");
}

fn maintenance(action: &str, intent: &str, email: &str) -> Value {
    json!({"product": "demo", "maintenance": {
        "context": "verireel", "instance": "testing", "action": action, "intent": intent, "email": email,
    }})
}

#[tokio::test]
async fn app_maintenance_runs_named_jobs_on_the_testing_application_and_retries() {
    let l = lane_in("verireel").await;
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/app-maintenance",
            &maintenance("migrate", "stable-testing-migration", ""),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let result = &body["result"];
    assert_eq!(result["maintenance_status"], "pass", "{body}");
    assert_eq!(result["schedule_name"], "ver-apply-prisma-migrations");
    assert_eq!(result["application_name"], "ver-testing-app");
    assert!(!body.to_string().contains("app-testing"), "{body}");
    let schedules = l.fake.schedules();
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    assert_eq!(schedules[0]["name"], "ver-apply-prisma-migrations");
    assert_eq!(schedules[0]["applicationId"], "app-testing");
    assert_eq!(schedules[0]["scheduleType"], "application");
    assert_eq!(
        schedules[0]["command"],
        "npx prisma migrate deploy --config prisma.config.ts"
    );
    assert_eq!(l.fake.calls_to("/api/schedule.runManually").len(), 1);

    // An owner-admin command gets a job of its own, its email one quoted
    // argument; Dokploy failing the first run is retried five seconds on
    // (the component really waits: a WASI clock, not a busy loop).
    l.fake.clear_calls();
    l.fake
        .fail("/api/schedule.runManually", 502, "bad gateway", Some(1));
    let started = std::time::Instant::now();
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/app-maintenance",
            &maintenance(
                "promote-owner",
                "owner-route-promote-owner",
                "o'neil+e2e@example.com",
            ),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["maintenance_status"], "pass", "{body}");
    assert!(started.elapsed() >= Duration::from_secs(5), "no pause");
    assert_eq!(l.fake.calls_to("/api/schedule.runManually").len(), 2);
    let schedules = l.fake.schedules();
    assert_eq!(schedules.len(), 2, "{schedules:?}");
    assert_eq!(schedules[1]["name"], "ver-owner-route-promote-owner");
    assert_eq!(
        schedules[1]["command"],
        r"node scripts/ops/remote-owner-admin.mjs --action promote-owner --email 'o'\''neil+e2e@example.com'"
    );
    assert_eq!(
        schedules[0]["command"], "npx prisma migrate deploy --config prisma.config.ts",
        "the migration job keeps its command"
    );

    // A preview's maintenance runs on the preview application the slug
    // names, found among the template's environment's applications.
    l.fake.add_application(
        "app-pr-5",
        json!({"name": "ver-preview-pr-5-app", "appName": "ver-preview-pr-5", "dockerImage": "ghcr.io/o/verireel:pr-5"}),
    );
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/app-maintenance",
            &json!({"product": "demo", "maintenance": {
                "context": "verireel-testing", "instance": "preview", "preview_slug": "pr-5",
                "action": "delete-user", "intent": "remote-e2e-delete-user", "email": "e2e@example.com",
            }}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["maintenance_status"], "pass", "{body}");
    assert_eq!(body["result"]["application_name"], "ver-preview-pr-5-app");
    let schedules = l.fake.schedules();
    let preview_job = schedules
        .iter()
        .find(|s| s["name"] == "ver-remote-e2e-delete-user")
        .expect("the preview's job");
    assert_eq!(preview_job["applicationId"], "app-pr-5");

    // A preview that does not exist is a failed maintenance, at once.
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/app-maintenance",
            &json!({"product": "demo", "maintenance": {
                "context": "verireel-testing", "instance": "preview", "preview_slug": "pr-6",
                "action": "delete-user", "intent": "remote-e2e-delete-user", "email": "e2e@example.com",
            }}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["maintenance_status"], "fail", "{body}");
    let message = body["result"]["error_message"].as_str().unwrap_or_default();
    assert!(message.contains("ver-preview-pr-6-app"), "{message}");
}

#[tokio::test]
async fn preview_inventory_lists_the_preview_applications_dokploy_has() {
    let l = lane_in("verireel").await;
    for (id, pr) in [("app-pr-12", 12), ("app-pr-3", 3)] {
        l.fake.add_application(
            id,
            json!({"name": format!("ver-preview-pr-{pr}-app"), "appName": format!("ver-preview-pr-{pr}")}),
        );
    }
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/verireel/preview-inventory",
            &json!({"product": "demo", "inventory": {"context": "verireel-testing"}}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let slugs: Vec<&str> = body["result"]["previews"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["previewSlug"].as_str())
        .collect();
    assert_eq!(slugs, ["pr-3", "pr-12"], "{body}");
    assert!(!body.to_string().contains("app-pr-"), "{body}");
}
