//! VeriReel on generic-web's lifecycle, end to end, on PostgreSQL and
//! SQLite, over HTTP with real tokens, against the fake Dokploy API with
//! credentials from managed secrets. One file per topic:
//!
//! * `stable`: testing deploy → testing verification → prod backup gate
//!   (an operation) → prod promotion → prod rollback, every record
//!   checked; a rollout that never reports the deployed build;
//! * `promotion`: promotions without a passing gate (VeriReel's route
//!   writes the original's failed record and answers 202; generic-web's
//!   own route refuses), before any provider mutation;
//! * `previews`: preview refresh (with its migration and seed jobs) →
//!   preview verification → preview destroy;
//! * `maintenance`: the stable environment, app maintenance (named jobs,
//!   retried) and the preview inventory;
//! * `routes`: the routes refuse strangers and unknown fields.
//!
//! Two small servers play VeriReel's testing and prod apps: `/api/health`
//! reports `ok` and the build (its tag read from the image the fake Dokploy
//! application holds, so the report changes only when a deploy really
//! changed the image), and `/` and `/sign-in` render a page naming the
//! product.

mod maintenance;
mod previews;
mod promotion;
mod routes;
mod stable;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use launchplane::providers::{ProviderTargetInput, ProviderTargets, TargetType};
use launchplane::runtime::capabilities::HttpProbe;
use launchplane_tests::fake_dokploy::FakeDokploy;
use launchplane_tests::walk;
use launchplane_tests::{Service, TestDatabase, conformance, demo_profile};
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
async fn verireel(db: TestDatabase) -> VeriReel {
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
        walk::stored(&self.db, kind, id)
            .await
            .unwrap_or_else(|| panic!("no {kind} `{id}`"))
    }

    fn image(&self, application_id: &str) -> String {
        walk::app_image(&self.fake, application_id)
    }

    fn mutations(&self) -> usize {
        walk::provider_mutations(&self.fake)
    }

    fn schedule(&self, name: &str) -> Value {
        walk::schedule(&self.fake, name)
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
            "rollout_timeout_seconds": 5, "rollout_interval_seconds": 1,
        }});
        self.service.post(route, &body, None).await
    }

    /// Deploys `image` of revision [`REVISION`] to testing; answers the
    /// accepted body.
    async fn deploy_testing(&self, image: &str) -> Value {
        let (status, body) = self
            .deploy(
                "/v1/drivers/verireel/testing-deploy",
                "testing",
                image,
                REVISION,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        body
    }

    /// Captures prod backup gate `id`: the request queues an operation,
    /// which the worker then runs; answers the finished operation.
    async fn gate(&self, id: &str) -> Value {
        let body = self
            .post(
                "/v1/drivers/verireel/prod-backup-gate",
                json!({"product": "demo", "backup_gate": {"backup_record_id": id}}),
            )
            .await;
        let operation = id_of(&body, "operation_id");
        walk::run_operations(&self.service).await;
        let (status, body) = self
            .service
            .get(&format!("/v1/operations/{operation}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn id_of(body: &Value, key: &str) -> String {
    walk::records_id(body, key)
}
