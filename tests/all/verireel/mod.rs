//! VeriReel on generic-web's lifecycle, end to end, on PostgreSQL, over
//! HTTP with real tokens, against the fake Dokploy API with credentials
//! from managed secrets:
//!
//! * testing deploy → testing verification → prod backup gate → prod
//!   promotion → prod rollback, every record checked;
//! * preview refresh → preview verification → preview destroy;
//! * a rollout that never reports the deployed build, and promotions
//!   without a passing gate (VeriReel's route and generic-web's own),
//!   refused before any provider mutation;
//! * the stable environment, app maintenance (named jobs, retried) and the
//!   preview inventory.
//!
//! Two small servers play VeriReel's testing and prod apps: `/api/health`
//! reports `ok` and the build (its tag read from the image the fake Dokploy
//! application holds, so the report changes only when a deploy really
//! changed the image), and `/` and `/sign-in` render a page naming the
//! product.

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
const DIGEST: &str = "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OLD_DIGEST: &str = "@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A digest-pinned VeriReel image with tag `tag`.
fn image(tag: &str, digest: &str) -> String {
    format!("ghcr.io/o/verireel:{tag}{digest}")
}

/// The tag of an image reference (`repo:tag@digest`).
fn tag_of(image: &str) -> String {
    let name = image.split('@').next().unwrap_or_default();
    let last = name.rsplit('/').next().unwrap_or_default();
    last.rsplit_once(':')
        .map(|(_, t)| t.to_string())
        .unwrap_or_default()
}

/// The app of Dokploy application `application_id`.
async fn app_server(fake: Arc<FakeDokploy>, application_id: &'static str) -> String {
    #[derive(Clone)]
    struct App {
        fake: Arc<FakeDokploy>,
        id: &'static str,
    }
    async fn health(State(app): State<App>) -> axum::Json<Value> {
        let image = app
            .fake
            .application(app.id)
            .and_then(|a| a["dockerImage"].as_str().map(str::to_string))
            .unwrap_or_default();
        axum::Json(json!({"ok": true, "buildRevision": REVISION, "buildTag": tag_of(&image)}))
    }
    async fn page() -> axum::response::Html<&'static str> {
        axum::response::Html("<html><title>VeriReel</title></html>")
    }
    let router = axum::Router::new()
        .route("/api/health", get(health))
        .route("/", get(page))
        .route("/sign-in", get(page))
        .with_state(App {
            fake,
            id: application_id,
        });
    format!("http://{}", launchplane_tests::serve_loopback(router).await)
}

struct VeriReel {
    db: TestDatabase,
    fake: Arc<FakeDokploy>,
    service: Service,
    testing: String,
    prod: String,
}

/// Product `demo` on the verireel driver: lanes `verireel/testing` and
/// `verireel/prod` (Dokploy applications `app-testing`, `app-prod`), the
/// testing lane's URL only in the profile (its target names no domain),
/// previews in `verireel-testing` from the testing application.
async fn verireel() -> VeriReel {
    let db = TestDatabase::new("postgres").await;
    let fake = Arc::new(FakeDokploy::start(KEY).await);
    for (id, name) in [
        ("app-testing", "ver-testing-app"),
        ("app-prod", "ver-prod-app"),
    ] {
        fake.add_application(
            id,
            json!({"name": name, "env": "APP_MODE=web\nDATABASE_URL=postgres://u:p@db/ver",
                   "dockerImage": image("sha-old0000", OLD_DIGEST),
                   "environmentId": "env-1", "serverId": "srv-1"}),
        );
    }
    let testing = app_server(fake.clone(), "app-testing").await;
    let prod = app_server(fake.clone(), "app-prod").await;
    let service = Service::start_on_dokploy(&db, &fake.url(), KEY, |state| {
        state.services.probe = Some(
            HttpProbe::new()
                .expect("probe")
                .with_interval(Duration::from_millis(100)),
        );
    })
    .await;
    let mut profile = demo_profile("verireel");
    profile["repository"] = json!("o/verireel");
    profile["image"] = json!({"repository": "ghcr.io/o/verireel"});
    profile["health_path"] = json!("/api/health");
    profile["lanes"] = json!([
        {"instance": "testing", "context": "verireel", "base_url": testing},
        {"instance": "prod", "context": "verireel", "base_url": prod}
    ]);
    profile["preview"] = json!({"enabled": true, "context": "verireel-testing",
        "template_instance": "testing", "app_name_prefix": "ver-preview",
        "slug_template": "pr-{number}"});
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "profile: {body}");
    let targets: Vec<_> = [("testing", Vec::new()), ("prod", vec![format!("{prod}/")])]
        .into_iter()
        .map(|(instance, domains)| {
            ProviderTargetInput {
                provider_id: "dokploy".into(),
                context: "verireel".into(),
                instance: instance.into(),
                target_type: TargetType::Application,
                target_id: format!("app-{instance}"),
                target_name: format!("ver-{instance}-app"),
                domains,
                healthcheck_path: "/api/health".into(),
                deploy_timeout_seconds: Some(30),
            }
            .into_target("2026-11-01T00:00:00Z", "tests")
            .expect("target")
        })
        .collect();
    ProviderTargets::new(db.store.clone())
        .put("verireel", &targets, "tests")
        .await
        .expect("targets");
    let settings = json!({"mode": "apply", "product": "demo", "context": "verireel", "instance": "prod",
                          "runtime_env": {"VERIREEL_BACKUP_ROOT": "/volumes/backups/verireel"}});
    let (status, body) = service
        .post("/v1/product-config/apply", &settings, None)
        .await;
    assert_eq!(status, 202, "{body}");
    VeriReel {
        db,
        fake,
        service,
        testing,
        prod,
    }
}

impl VeriReel {
    async fn post(&self, route: &str, body: Value) -> Value {
        let (status, body) = self.service.post(route, &body, None).await;
        assert_eq!(status, 202, "{route}: {body}");
        body
    }

    async fn record(&self, kind: &str, id: &str) -> Value {
        self.db
            .store
            .get_record(kind, id)
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("no {kind} `{id}`"))
            .document
    }

    fn image(&self, application_id: &str) -> String {
        self.fake.application(application_id).expect("app")["dockerImage"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn mutations(&self) -> usize {
        self.fake
            .calls()
            .iter()
            .filter(|c| c.method == "POST")
            .count()
    }

    fn schedule(&self, name: &str) -> Value {
        self.fake
            .schedules()
            .into_iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no schedule `{name}`"))
    }

    async fn deploy(
        &self,
        route: &str,
        instance: &str,
        image: &str,
        git_ref: &str,
    ) -> (u16, Value) {
        let body = json!({"product": "demo", "deploy": {
            "instance": instance, "artifact_id": image, "source_git_ref": git_ref,
            "rollout_timeout_seconds": 5,
        }});
        self.service.post(route, &body, None).await
    }
}

fn id(body: &Value, key: &str) -> String {
    body["records"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no records.{key}: {body}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testing_deploy_verification_gate_promotion_and_rollback() {
    let v = verireel().await;
    let old = image("sha-old0000", OLD_DIGEST);
    let new = image("sha-abc1234", DIGEST);

    // prod runs the old release (what the rollback returns to).
    let (status, body) = v
        .deploy("/v1/drivers/verireel/prod-deploy", "prod", &old, REVISION)
        .await;
    assert_eq!(status, 202, "{body}");
    let first_prod = id(&body, "deployment_record_id");

    // Testing deploy: the image set before the deploy, the rollout verified
    // against the build the app reports, on the URL the profile names.
    v.fake.clear_calls();
    let (status, body) = v
        .deploy(
            "/v1/drivers/verireel/testing-deploy",
            "testing",
            &new,
            REVISION,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let r = &body["result"];
    assert_eq!(r["deploy_status"], "pass", "{body}");
    assert_eq!(r["rollout_status"], "pass", "{body}");
    assert_eq!(r["rollout_base_url"], v.testing.as_str());
    assert_eq!(body["records"]["inventory_record_id"], "verireel-testing");
    let deployment = id(&body, "deployment_record_id");
    let paths: Vec<String> = v.fake.calls().into_iter().map(|c| c.path).collect();
    let set = paths
        .iter()
        .position(|p| p == "/api/application.saveDockerProvider");
    let deployed = paths.iter().position(|p| p == "/api/application.deploy");
    assert!(set.is_some() && set < deployed, "{paths:?}");
    assert_eq!(v.image("app-testing"), new);
    let record = v.record("deployment", &deployment).await;
    assert_eq!(record["deploy"]["status"], "pass");
    assert_eq!(record["destination_health"]["status"], "pass");
    assert_eq!(
        v.record("inventory", "verireel-testing").await["deployment_record_id"],
        deployment.as_str()
    );

    // The testing workflow's checks fold into that deployment.
    let body = v
        .post(
            "/v1/drivers/verireel/testing-verification",
            json!({"product": "demo", "verification": {
                "instance": "testing", "deployment_record_id": deployment,
                "migration_status": "success", "verification_status": "passed",
                "owner_routes_status": "passed",
            }}),
        )
        .await;
    assert_eq!(body["result"]["post_deploy_status"], "pass");
    assert_eq!(body["result"]["deployment_health_status"], "pass");
    let record = v.record("deployment", &deployment).await;
    assert_eq!(record["post_deploy_update"]["status"], "pass");

    // Prod backup gate: a dump job on prod, the gate pending then pass.
    let body = v
        .post(
            "/v1/drivers/verireel/prod-backup-gate",
            json!({"product": "demo", "backup_gate": {"backup_record_id": "backup-verireel-1"}}),
        )
        .await;
    assert_eq!(body["result"]["backup_status"], "pass", "{body}");
    assert_eq!(
        body["records"]["backup_gate_record_id"],
        "backup-verireel-1"
    );
    let gate = v.record("backup_gate", "backup-verireel-1").await;
    assert_eq!(gate["status"], "pass");
    assert_eq!(gate["required"], true);
    assert_eq!(
        gate["evidence"]["database_dump_path"],
        "/volumes/backups/verireel/backup-verireel-1/verireel.dump"
    );
    let dump = v.schedule("ver-prod-backup-gate");
    assert_eq!(dump["applicationId"], "app-prod");
    assert!(
        dump["command"]
            .as_str()
            .is_some_and(|c| c.contains("pg_dump")),
        "{dump}"
    );
    assert!(!body.to_string().contains("postgres://"), "{body}");

    // Prod promotion: gate → deploy → migrations → rollout, under the
    // caller's promotion record id.
    let body = v
        .post(
            "/v1/drivers/verireel/prod-promotion",
            json!({"product": "demo", "promotion": {
                "artifact_id": new, "source_git_ref": REVISION,
                "backup_record_id": "backup-verireel-1", "promotion_record_id": "promotion-verireel-1",
                "source_health_status": "success", "rollout_timeout_seconds": 5,
            }}),
        )
        .await;
    let r = &body["result"];
    assert_eq!(r["deploy_status"], "pass", "{body}");
    assert_eq!(r["migration_status"], "pass", "{body}");
    assert_eq!(r["health_status"], "pass", "{body}");
    assert_eq!(
        body["records"]["promotion_record_id"],
        "promotion-verireel-1"
    );
    let promoted = id(&body, "deployment_record_id");
    assert_eq!(v.image("app-prod"), new);
    let promotion = v.record("promotion", "promotion-verireel-1").await;
    assert_eq!(promotion["backup_record_id"], "backup-verireel-1");
    assert_eq!(promotion["backup_gate"]["status"], "pass");
    assert_eq!(promotion["deployment_record_id"], promoted.as_str());
    assert_eq!(promotion["destination_health"]["status"], "pass");
    assert_eq!(promotion["post_deploy_update"]["status"], "pass");
    let migrate = v.schedule("ver-apply-prisma-migrations");
    assert_eq!(migrate["applicationId"], "app-prod");
    assert_eq!(
        v.record("inventory", "verireel-prod").await["deployment_record_id"],
        promoted.as_str()
    );

    // Rollback: prod back to the earlier release, the gate's dump restored.
    let body = v
        .post(
            "/v1/drivers/verireel/prod-rollback",
            json!({"product": "demo", "rollback": {
                "promotion_record_id": "promotion-verireel-1", "backup_record_id": "backup-verireel-1",
            }}),
        )
        .await;
    let r = &body["result"];
    assert_eq!(r["rollback_status"], "pass", "{body}");
    assert_eq!(r["rollback_health_status"], "pass", "{body}");
    assert_eq!(r["snapshot_name"], "backup-verireel-1");
    assert_eq!(
        body["records"]["promotion_record_id"],
        "promotion-verireel-1"
    );
    assert_eq!(body["records"]["backup_record_id"], "backup-verireel-1");
    assert_eq!(v.image("app-prod"), old);
    let restore = v.schedule("ver-prod-restore");
    assert_eq!(restore["applicationId"], "app-prod");
    let promotion = v.record("promotion", "promotion-verireel-1").await;
    assert_eq!(promotion["rollback"]["status"], "pass", "{promotion}");
    let back = v.record("inventory", "verireel-prod").await;
    assert_ne!(back["deployment_record_id"], promoted.as_str());
    assert_ne!(back["deployment_record_id"], first_prod.as_str());
    assert_eq!(back["artifact_identity"]["artifact_id"], old.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_that_never_reports_the_build_fails_and_moves_nothing() {
    let v = verireel().await;
    // The app reports revision abc1234; a deploy of another revision waits
    // for a build that never comes.
    let (status, body) = v
        .deploy(
            "/v1/drivers/verireel/testing-deploy",
            "testing",
            &image("sha-abc1234", DIGEST),
            "def5678",
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("buildRevision"), "{message}");
    let deployments =
        v.db.store
            .list_records(
                "deployment",
                &launchplane::records::RecordQuery {
                    context: Some("verireel".into()),
                    instance: Some("testing".into()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .expect("list");
    let record = &deployments
        .first()
        .expect("the failure is recorded")
        .document;
    assert_eq!(record["destination_health"]["status"], "fail");
    assert_eq!(record["runtime_source"]["failure_stage"], "verify hook");
    let (status, _) = v.service.get("/v1/inventory/demo/testing").await;
    assert_eq!(status, 404, "the lane did not move");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_promotes_a_verireel_product_without_a_passing_gate() {
    let v = verireel().await;
    let new = image("sha-abc1234", DIGEST);
    let (status, body) = v
        .deploy(
            "/v1/drivers/verireel/testing-deploy",
            "testing",
            &new,
            REVISION,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let before = v.mutations();
    let prod_image = v.image("app-prod");

    let (status, body) = v
        .service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &json!({"product": "demo", "promotion": {"product": "demo", "artifact_id": new,
                    "source_git_ref": REVISION}}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("prod-backup-gate"), "{body}");

    let (status, body) = v
        .service
        .post(
            "/v1/drivers/verireel/prod-promotion",
            &json!({"product": "demo", "promotion": {"artifact_id": new, "source_git_ref": REVISION,
                    "backup_record_id": "backup-never", "promotion_record_id": "promotion-never"}}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("backup-never"), "{body}");
    assert_eq!(v.mutations(), before, "no provider mutation");
    assert_eq!(v.image("app-prod"), prod_image);
    // The promotion the gate hook blocked is evidence: recorded, nothing
    // deployed. A gate named but missing is refused before any record.
    let promotions =
        v.db.store
            .list_records("promotion", &launchplane::records::RecordQuery::default())
            .await
            .expect("promotions");
    assert_eq!(promotions.len(), 1, "{promotions:?}");
    let blocked = &promotions[0].document;
    assert_eq!(blocked["deploy"]["status"], "skipped");
    assert!(
        blocked["post_deploy_update"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("promotion-gate")),
        "{blocked}"
    );
    let (status, _) = v.service.get("/v1/inventory/demo/prod").await;
    assert_eq!(status, 404, "prod inventory untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_refresh_verification_and_destroy() {
    let v = verireel().await;
    let refresh = json!({"product": "demo", "refresh": {
        "anchor_pr_number": 7, "anchor_pr_url": "https://github.com/o/verireel/pull/7",
        "anchor_head_sha": "abc1234def", "preview_slug": "pr-7",
        "image_reference": image("pr-7", DIGEST), "preview_url": v.testing,
        "timeout_seconds": 30,
    }});
    let body = v
        .post("/v1/drivers/verireel/preview-refresh", refresh)
        .await;
    let r = &body["result"];
    assert_eq!(r["refresh_status"], "pass", "{body}");
    assert_eq!(r["application_name"], "ver-preview-pr-7");
    assert_eq!(body["records"]["transition"], "ready");
    let preview_id = id(&body, "preview_id");
    let generation_id = id(&body, "generation_id");
    let app = v
        .fake
        .applications()
        .into_iter()
        .find(|a| a["name"] == "ver-preview-pr-7")
        .expect("the preview application");
    let env = app["env"].as_str().unwrap_or_default();
    assert!(
        env.contains(&format!("VERIREEL_APP_URL={}", v.testing)),
        "{env}"
    );
    let preview = v.record("preview", &preview_id).await;
    assert_eq!(preview["state"], "active", "{preview}");
    let generation = v.record("preview_generation", &generation_id).await;
    assert_eq!(generation["state"], "ready");

    // The product's end-to-end run fails the generation.
    let body = v
        .post(
            "/v1/drivers/verireel/preview-verification",
            json!({"product": "demo", "verification": {
                "anchor_pr_number": 7, "verification_status": "fail",
                "verified_at": "2026-11-02T10:00:00Z", "failure_summary": "sign-in broke",
            }}),
        )
        .await;
    assert_eq!(body["records"]["transition"], "failed", "{body}");
    assert_eq!(body["records"]["generation_id"], generation_id.as_str());
    let generation = v.record("preview_generation", &generation_id).await;
    assert_eq!(generation["state"], "failed");
    assert_eq!(generation["failure_summary"], "sign-in broke");

    // The inventory sees the preview under generic-web's name.
    let body = v
        .post(
            "/v1/drivers/verireel/preview-inventory",
            json!({"product": "demo", "inventory": {}}),
        )
        .await;
    assert_eq!(
        body["result"]["previews"][0]["previewSlug"], "pr-7",
        "{body}"
    );

    let body = v
        .post(
            "/v1/drivers/verireel/preview-destroy",
            json!({"product": "demo", "destroy": {
                "anchor_pr_number": 7, "preview_slug": "pr-7",
                "destroy_reason": "external_preview_cleanup_completed",
            }}),
        )
        .await;
    assert_eq!(body["result"]["destroy_status"], "pass", "{body}");
    assert_eq!(body["records"]["transition"], "destroyed");
    assert!(
        !v.fake
            .applications()
            .iter()
            .any(|a| a["name"] == "ver-preview-pr-7"),
        "the application is gone"
    );
    let preview = v.record("preview", &preview_id).await;
    assert_eq!(preview["state"], "destroyed");
    assert_eq!(
        preview["destroy_reason"],
        "external_preview_cleanup_completed"
    );

    // Another PR's slug is refused naming the field, before anything runs.
    let before = v.mutations();
    let (status, body) = v
        .service
        .post(
            "/v1/drivers/verireel/preview-destroy",
            &json!({"product": "demo", "destroy": {"anchor_pr_number": 7, "preview_slug": "pr-8",
                    "destroy_reason": "x"}}),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("preview_slug")),
        "{body}"
    );
    assert_eq!(v.mutations(), before);
}

#[tokio::test]
async fn stable_environment_reads_the_lane_from_records_and_the_profile() {
    let v = verireel().await;
    let (status, body) = v
        .service
        .post(
            "/v1/drivers/verireel/stable-environment",
            &json!({"product": "demo", "environment": {"instance": "testing"}}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let result = &body["result"];
    // The testing target names no domain: the profile's lane URL is used.
    assert_eq!(result["primary_base_url"], v.testing.as_str());
    assert_eq!(result["target_name"], "ver-testing-app");
    assert_eq!(
        result["health_urls"],
        json!([format!("{}/api/health", v.testing)])
    );
    assert!(!body.to_string().contains("app-testing"), "{body}");
    assert!(v.fake.calls().is_empty(), "read from records only");
    let (status, body) = v
        .service
        .post(
            "/v1/drivers/verireel/stable-environment",
            &json!({"product": "demo", "environment": {"instance": "prod"}}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["primary_base_url"], v.prod.as_str());
}

fn maintenance(action: &str, email: &str) -> Value {
    json!({"product": "demo", "maintenance": {
        "context": "verireel", "instance": "testing", "action": action, "email": email,
    }})
}

#[tokio::test]
async fn app_maintenance_runs_named_jobs_on_the_testing_application_and_retries() {
    let v = verireel().await;
    // No intent: the original accepted action-only payloads.
    let body = v
        .post(
            "/v1/drivers/verireel/app-maintenance",
            maintenance("migrate", ""),
        )
        .await;
    let result = &body["result"];
    assert_eq!(result["maintenance_status"], "pass", "{body}");
    assert_eq!(result["schedule_name"], "ver-apply-prisma-migrations");
    assert_eq!(result["application_name"], "ver-testing-app");
    assert!(!body.to_string().contains("app-testing"), "{body}");
    let schedule = v.schedule("ver-apply-prisma-migrations");
    assert_eq!(schedule["applicationId"], "app-testing");
    assert_eq!(schedule["scheduleType"], "application");
    assert_eq!(
        schedule["command"],
        "npx prisma migrate deploy --config prisma.config.ts"
    );

    // An owner-admin command gets a job of its own, its email one quoted
    // argument; Dokploy failing the first run is retried five seconds on.
    v.fake.clear_calls();
    v.fake
        .fail("/api/schedule.runManually", 502, "bad gateway", Some(1));
    let started = std::time::Instant::now();
    let mut request = maintenance("promote-owner", "o'neil+e2e@example.com");
    request["maintenance"]["intent"] = json!("owner-route-promote-owner");
    let body = v
        .post("/v1/drivers/verireel/app-maintenance", request)
        .await;
    assert_eq!(body["result"]["maintenance_status"], "pass", "{body}");
    assert!(started.elapsed() >= Duration::from_secs(5), "no pause");
    assert_eq!(v.fake.calls_to("/api/schedule.runManually").len(), 2);
    assert_eq!(
        v.schedule("ver-owner-route-promote-owner")["command"],
        r"node scripts/ops/remote-owner-admin.mjs --action promote-owner --email 'o'\''neil+e2e@example.com'"
    );

    // A preview's maintenance runs on the preview application the slug
    // names; a preview that does not exist is a failed maintenance.
    v.fake.add_application(
        "app-pr-5",
        json!({"name": "ver-preview-pr-5-app", "appName": "ver-preview-pr-5", "dockerImage": "ghcr.io/o/verireel:pr-5",
               "environmentId": "env-1"}),
    );
    let preview = |slug: &str| {
        json!({"product": "demo", "maintenance": {
            "context": "verireel-testing", "instance": "preview", "preview_slug": slug,
            "action": "delete-user", "intent": "remote-e2e-delete-user", "email": "e2e@example.com",
        }})
    };
    let body = v
        .post("/v1/drivers/verireel/app-maintenance", preview("pr-5"))
        .await;
    assert_eq!(body["result"]["maintenance_status"], "pass", "{body}");
    assert_eq!(
        v.schedule("ver-remote-e2e-delete-user")["applicationId"],
        "app-pr-5"
    );
    let body = v
        .post("/v1/drivers/verireel/app-maintenance", preview("pr-6"))
        .await;
    assert_eq!(body["result"]["maintenance_status"], "fail", "{body}");
}

#[tokio::test]
async fn preview_inventory_lists_the_preview_applications_dokploy_has() {
    let v = verireel().await;
    for (id, name) in [
        ("app-pr-12", "ver-preview-pr-12-app"),
        ("app-pr-3", "ver-preview-pr-3"),
    ] {
        v.fake.add_application(
            id,
            json!({"name": name, "appName": name, "environmentId": "env-1"}),
        );
    }
    let body = v
        .post(
            "/v1/drivers/verireel/preview-inventory",
            json!({"product": "demo", "inventory": {"context": "verireel-testing"}}),
        )
        .await;
    let slugs: Vec<&str> = body["result"]["previews"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["previewSlug"].as_str())
        .collect();
    assert_eq!(slugs, ["pr-3", "pr-12"], "{body}");
    assert!(!body.to_string().contains("app-pr-"), "{body}");
}

/// Each route VeriReel gained, with a body it accepts.
fn new_routes() -> Vec<(&'static str, Value)> {
    let new = image("sha-abc1234", DIGEST);
    vec![
        (
            "prod-backup-gate",
            json!({"backup_gate": {"backup_record_id": "backup-x"}}),
        ),
        (
            "prod-promotion",
            json!({"promotion": {"artifact_id": new, "source_git_ref": REVISION,
                   "backup_record_id": "backup-x", "promotion_record_id": "promotion-x"}}),
        ),
        (
            "prod-rollback",
            json!({"rollback": {"promotion_record_id": "promotion-x", "backup_record_id": "backup-x"}}),
        ),
        (
            "preview-refresh",
            json!({"refresh": {"anchor_pr_number": 7, "anchor_pr_url": "https://github.com/o/verireel/pull/7",
                   "anchor_head_sha": "abc1234", "preview_slug": "pr-7", "image_reference": new,
                   "preview_url": "https://pr-7.preview.example"}}),
        ),
        (
            "preview-destroy",
            json!({"destroy": {"anchor_pr_number": 7, "preview_slug": "pr-7", "destroy_reason": "x"}}),
        ),
        (
            "preview-verification",
            json!({"verification": {"anchor_pr_number": 7, "verification_status": "pass",
                   "verified_at": "2026-11-02T10:00:00Z"}}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_routes_refuse_strangers_and_unknown_fields_before_anything_runs() {
    let v = verireel().await;
    let stranger = v.service.issuer.token_with(|r| {
        r.repository = "someone/else".into();
        r.workflow_ref = "someone/else/.github/workflows/deploy.yml@refs/heads/main".into();
    });
    for (route, payload) in new_routes() {
        let path = format!("/v1/drivers/verireel/{route}");
        let mut body = payload.clone();
        body["product"] = json!("demo");
        let (status, answer) = v.service.post_as(&stranger, &path, &body, None).await;
        assert_eq!(status, 403, "{route}: {answer}");
        assert_eq!(answer["error"]["code"], "authorization_denied", "{route}");

        let key = body
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "product").cloned())
            .expect("payload key");
        body[&key]["surprise"] = json!(true);
        let (status, answer) = v.service.post(&path, &body, None).await;
        assert_eq!(status, 400, "{route}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("surprise")),
            "{route}: {answer}"
        );
    }
    assert!(v.fake.calls().is_empty(), "{:?}", v.fake.call_lines());
    for kind in ["backup_gate", "promotion", "preview", "preview_generation"] {
        let stored =
            v.db.store
                .list_records(kind, &launchplane::records::RecordQuery::default())
                .await
                .expect("list");
        assert!(stored.is_empty(), "{kind}: {stored:?}");
    }
}
