//! The preview lifecycle over HTTP against the fake GitHub and the fake
//! Dokploy, on both stores: a labelled PR opens → desired state lists it →
//! plan → refresh creates the preview (copying the template's
//! `copied_env_keys`) → one PR comment with its URL → a second push
//! updates that same comment → the PR closes → cleanup destroys the
//! preview and the comment says so. Also: the generic-web
//! `preview-desired-state` and `prod-promotion-workflow` actions, each
//! GitHub failure as a named error, and the token in no answer and no log.

use std::sync::Arc;

use launchplane::runtime::capabilities::GitHubCapability;
use launchplane::runtime::capabilities::HttpProbe;
use launchplane::runtime::capabilities::github::{GitHubClient, GitHubCredentials};
use launchplane::secrets::{MasterKey, Vault};
use launchplane_tests::fake_dokploy::FakeDokploy;
use launchplane_tests::fake_github::{Failure, FakeGitHub};
use launchplane_tests::{
    Service, TestDatabase, assert_message, assert_rejected, put_secret, serve_loopback,
};
use serde_json::{Value, json};

use crate::secrets::Capturing;

const DOKPLOY_KEY: &str = "dokploy-previews-key-0123456789";
const GH_TOKEN: &str = "ghs_previewsTokenValue0123456789";
const REPO: &str = "launchplane/demo";
const CONTEXT: &str = "demo-preview";
const SHA_1: &str = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_2: &str = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const IMAGE_1: &str = "ghcr.io/launchplane/demo@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const IMAGE_2: &str = "ghcr.io/launchplane/demo@sha256:2222222222222222222222222222222222222222222222222222222222222222";

struct Previews {
    _db: TestDatabase,
    dokploy: FakeDokploy,
    github: FakeGitHub,
    service: Service,
    /// The "preview app": answers `/healthz`.
    app_url: String,
    /// Every answer body seen, to check for the token.
    seen: std::sync::Mutex<Vec<String>>,
}

impl Previews {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, answer) = self.service.post(path, &body, None).await;
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(answer.to_string());
        }
        (status, answer)
    }

    async fn accepted(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, body).await;
        assert_eq!(status, 202, "{path}: {answer}");
        answer
    }

    fn answers(&self) -> String {
        self.seen.lock().map(|s| s.join("\n")).unwrap_or_default()
    }
}

async fn setup(backend: &'static str) -> Previews {
    let db = TestDatabase::new(backend).await;
    let dokploy = FakeDokploy::start(DOKPLOY_KEY).await;
    dokploy.add_application(
        "app-testing",
        json!({"name": "demo-testing", "appName": "demo-testing-x1",
               "env": "DATABASE_URL=postgres://u:p@db/demo\nAPP_MODE=testing",
               "dockerImage": "ghcr.io/launchplane/demo:old",
               "environmentId": "env-1", "serverId": "srv-1"}),
    );
    let github = FakeGitHub::start(REPO, GH_TOKEN).await;
    let app = axum::Router::new().route(
        "/healthz",
        axum::routing::get(|| async { axum::Json(json!({"ok": true})) }),
    );
    let app_url = format!("http://{}", serve_loopback(app).await);
    let store = db.store.clone();
    let api = github.url();
    let service = Service::start_on_dokploy(&db, &dokploy.url(), DOKPLOY_KEY, |state| {
        state.services.probe = Some(HttpProbe::new().expect("probe"));
        let vault = Vault::new(store.clone(), state.master_key.clone());
        state.services.github = Some(GitHubCapability::new(
            GitHubClient::new(&api, GitHubCredentials::ManagedSecrets(vault)),
            store.clone(),
        ));
        state.preview_base_url = Some("https://previews.example".to_string());
    })
    .await;
    let master_key = MasterKey::from_text("tests master key").map(Arc::new);
    let vault = Vault::new(db.store.clone(), master_key);
    put_secret(&vault, "github", "GITHUB_TOKEN", CONTEXT, GH_TOKEN).await;
    put_secret(&vault, "github", "GITHUB_TOKEN", "demo", GH_TOKEN).await;
    let mut profile = launchplane_tests::demo_profile("generic-web");
    profile["preview"] = json!({"enabled": true, "context": CONTEXT,
                                "copied_env_keys": ["DATABASE_URL"]});
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "{body}");
    crate::lifecycle::put_application_targets(&db, "demo").await;
    Previews {
        _db: db,
        dokploy,
        github,
        service,
        app_url,
        seen: std::sync::Mutex::new(Vec::new()),
    }
}

fn desired_state() -> Value {
    json!({"product": "demo", "context": CONTEXT, "repository": REPO,
           "label": "preview", "anchor_repo": "demo"})
}

fn feedback(status: &str, preview_url: &str, image: &str) -> Value {
    json!({"product": "demo", "context": CONTEXT, "repository": REPO, "anchor_repo": "demo",
           "anchor_pr_number": 7, "anchor_pr_url": "https://github.com/launchplane/demo/pull/7",
           "status": status, "preview_url": preview_url, "immutable_image_reference": image})
}

async fn inventory(p: &Previews) -> Value {
    p.accepted(
        "/v1/drivers/generic-web/preview-inventory",
        json!({"product": "demo", "inventory": {"product": "demo"}}),
    )
    .await
}

async fn plan(p: &Previews, desired: &Value) -> Value {
    inventory(p).await;
    let body = p
        .accepted(
            "/v1/previews/lifecycle-plan",
            json!({"product": "demo", "context": CONTEXT,
                   "desired_previews": desired["result"]["desired_previews"],
                   "desired_state_id": desired["records"]["preview_desired_state_id"]}),
        )
        .await;
    assert!(
        body["records"]["preview_lifecycle_plan_id"].is_string(),
        "{body}"
    );
    body["result"].clone()
}

async fn refresh(p: &Previews, image: &str, sha: &str) -> Value {
    let body = p
        .accepted(
            "/v1/drivers/generic-web/preview-refresh",
            json!({"product": "demo", "refresh": {"product": "demo", "preview_slug": "pr-7",
                   "image_reference": image, "anchor_pr_number": 7, "anchor_head_sha": sha,
                   "preview_url": p.app_url, "timeout_seconds": 20}}),
        )
        .await;
    assert_eq!(body["result"]["refresh_status"], "pass", "{body}");
    body
}

async fn a_labelled_pr_gets_a_preview_one_comment_and_a_cleanup(backend: &'static str) {
    let p = setup(backend).await;
    let logs = Capturing::start();
    p.github.open_pull(7, SHA_1, &["preview"]);
    p.github.open_pull(8, SHA_1, &["docs"]);

    // Desired state: only the labelled PR, with its head and URL.
    let desired = p
        .accepted("/v1/previews/desired-state", desired_state())
        .await;
    let id = desired["records"]["preview_desired_state_id"]
        .as_str()
        .expect("id");
    assert!(
        id.starts_with("preview-desired-state-demo-preview-"),
        "{id}"
    );
    let result = &desired["result"];
    assert_eq!(result["status"], "pass", "{result}");
    assert_eq!(result["desired_count"], 1);
    assert_eq!(
        result["desired_previews"],
        json!([{"preview_slug": "pr-7", "anchor_repo": "demo", "anchor_pr_number": 7,
                "anchor_pr_url": "https://github.com/launchplane/demo/pull/7", "head_sha": SHA_1}])
    );

    // The plan wants pr-7, which does not exist yet.
    let planned = plan(&p, &desired).await;
    assert_eq!(planned["status"], "pass", "{planned}");
    assert_eq!(planned["missing_slugs"], json!(["pr-7"]));
    assert_eq!(planned["orphaned_slugs"], json!([]));

    // The refresh creates it, with the template's copied key.
    refresh(&p, IMAGE_1, SHA_1).await;
    let app = p
        .dokploy
        .applications()
        .into_iter()
        .find(|a| a["name"] == "demo-preview-pr-7")
        .expect("preview app");
    let env = p
        .dokploy
        .application(app["applicationId"].as_str().unwrap_or_default())
        .and_then(|a| a["env"].as_str().map(str::to_string))
        .unwrap_or_default();
    assert!(env.contains("DATABASE_URL=postgres://u:p@db/demo"), "{env}");
    assert!(!env.contains("APP_MODE=testing"), "only copied keys: {env}");

    // One comment with the URL; a second push updates the same comment.
    let first = p
        .accepted(
            "/v1/previews/pr-feedback",
            feedback("ready", &p.app_url, IMAGE_1),
        )
        .await;
    assert_eq!(first["result"]["delivery_status"], "delivered", "{first}");
    assert_eq!(first["result"]["delivery_action"], "created_comment");
    let comment_id = first["result"]["comment_id"].clone();
    p.github.open_pull(7, SHA_2, &["preview"]);
    refresh(&p, IMAGE_2, SHA_2).await;
    let second = p
        .accepted(
            "/v1/previews/pr-feedback",
            feedback("ready", &p.app_url, IMAGE_2),
        )
        .await;
    assert_eq!(
        second["result"]["delivery_action"], "updated_comment",
        "{second}"
    );
    assert_eq!(second["result"]["comment_id"], comment_id);
    let comments = p.github.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .1
            .starts_with("<!-- verireel-preview-control -->")
    );
    assert!(comments[0].1.contains(&p.app_url) && comments[0].1.contains(IMAGE_2));
    assert!(!comments[0].1.contains(IMAGE_1), "updated in place");

    // The PR closes: nothing is desired, so the plan orphans pr-7.
    p.github.close_pull(7);
    let desired = p
        .accepted("/v1/previews/desired-state", desired_state())
        .await;
    assert_eq!(desired["result"]["desired_count"], 0, "{desired}");
    let planned = plan(&p, &desired).await;
    assert_eq!(planned["orphaned_slugs"], json!(["pr-7"]), "{planned}");
    let plan_id = planned["plan_id"].as_str().expect("plan id").to_string();
    let cleanup = |apply: bool| json!({"product": "demo", "context": CONTEXT, "plan_id": plan_id, "apply": apply});
    let report = p
        .accepted("/v1/previews/lifecycle-cleanup", cleanup(false))
        .await;
    assert_eq!(report["result"]["status"], "report_only", "{report}");
    assert!(
        p.dokploy
            .applications()
            .iter()
            .any(|a| a["name"] == "demo-preview-pr-7")
    );
    let applied = p
        .accepted("/v1/previews/lifecycle-cleanup", cleanup(true))
        .await;
    assert!(applied["records"]["preview_lifecycle_cleanup_id"].is_string());
    assert_eq!(applied["result"]["status"], "pass", "{applied}");
    assert_eq!(applied["result"]["destroyed_slugs"], json!(["pr-7"]));
    assert!(
        !p.dokploy
            .applications()
            .iter()
            .any(|a| a["name"] == "demo-preview-pr-7"),
        "the preview app is gone"
    );
    let (status, preview) = p
        .service
        .get("/v1/previews/preview-demo-preview-demo-pr-7")
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["record"]["state"], "destroyed", "{preview}");
    assert_eq!(
        preview["record"]["destroy_reason"],
        "preview_lifecycle_cleanup"
    );

    // The comment says so (fallback grant: preview_destroy.execute).
    let retired = p
        .accepted("/v1/previews/pr-feedback", feedback("destroyed", "", ""))
        .await;
    assert_eq!(
        retired["result"]["delivery_action"], "updated_comment",
        "{retired}"
    );
    let comments = p.github.comments(7);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].1.contains("retired the preview for PR #7"),
        "{comments:?}"
    );

    // The token went to GitHub only, in the Authorization header.
    let calls = p.github.calls();
    assert!(!calls.is_empty());
    assert!(
        calls
            .iter()
            .all(|c| c.authorization == format!("Bearer {GH_TOKEN}"))
    );
    assert!(!p.answers().contains(GH_TOKEN), "token in an answer");
    assert!(!logs.text().contains(GH_TOKEN), "token in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_pr_gets_a_preview_one_comment_and_a_cleanup_on_sqlite() {
    a_labelled_pr_gets_a_preview_one_comment_and_a_cleanup("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_pr_gets_a_preview_one_comment_and_a_cleanup_on_postgres() {
    a_labelled_pr_gets_a_preview_one_comment_and_a_cleanup("postgres").await;
}

async fn github_failures_are_named(backend: &'static str) {
    let p = setup(backend).await;
    p.github.open_pull(7, SHA_1, &["preview"]);
    let cases = [
        (
            Failure::Status(401, "Bad credentials".into()),
            "github_unauthorized",
        ),
        (Failure::Status(404, "Not Found".into()), "github_not_found"),
        (
            Failure::Status(422, "Validation Failed".into()),
            "github_unprocessable",
        ),
        (
            Failure::RateLimited { retry_after: 42 },
            "github_rate_limited",
        ),
    ];
    for (failure, code) in cases {
        p.github.clear_failures();
        p.github.fail("/repos/", failure);
        let desired = p
            .accepted("/v1/previews/desired-state", desired_state())
            .await;
        let result = &desired["result"];
        assert_eq!(result["status"], "fail", "{result}");
        assert_eq!(result["desired_count"], 0);
        let message = result["error_message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{code}:")),
            "{code}: {message}"
        );
        let sent = p
            .accepted("/v1/previews/pr-feedback", feedback("pending", "", ""))
            .await;
        assert_eq!(sent["result"]["delivery_status"], "failed", "{sent}");
        let message = sent["result"]["error_message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{code}:")),
            "{code}: {message}"
        );
        if code == "github_rate_limited" {
            assert!(message.contains("42 seconds"), "{message}");
        }
    }
    p.github.clear_failures();
    assert!(p.github.comments(7).is_empty(), "no comment was written");

    // A generic-web dispatch that GitHub refuses fails the action.
    p.github.fail(
        "/repos/launchplane/demo/actions/",
        Failure::Status(404, "Not Found".into()),
    );
    let (status, body) = p
        .post(
            "/v1/drivers/generic-web/prod-promotion-workflow",
            json!({"product": "demo", "workflow": {"product": "demo", "context": "demo"}}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_message(&body, "github_not_found");
    assert!(!p.answers().contains(GH_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_failures_are_named_on_sqlite() {
    github_failures_are_named("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_failures_are_named_on_postgres() {
    github_failures_are_named("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_web_discovers_dispatches_and_derives_the_preview_url() {
    let p = setup("sqlite").await;
    p.github.open_pull(12, SHA_2, &["preview"]);
    p.github.open_pull(3, SHA_1, &["preview", "docs"]);
    let body = p
        .accepted(
            "/v1/drivers/generic-web/preview-desired-state",
            json!({"product": "demo", "desired_state": {"product": "demo"}}),
        )
        .await;
    let result = &body["result"];
    assert_eq!(result["status"], "pass", "{body}");
    assert_eq!(result["repository"], REPO);
    let slugs: Vec<&str> = result["desired_previews"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["preview_slug"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(slugs, ["pr-3", "pr-12"]);
    assert_eq!(
        body["records"]["preview_desired_state_id"],
        result["desired_state_id"]
    );

    // The workflow: the profile's workflow on its ref, instance accepted.
    let body = p
        .accepted(
            "/v1/drivers/generic-web/prod-promotion-workflow",
            json!({"product": "demo", "workflow": {"product": "demo", "context": "demo",
                   "instance": "prod", "dry_run": false, "bump": "minor"}}),
        )
        .await;
    assert_eq!(body["result"]["dispatch_status"], "dispatched", "{body}");
    assert_eq!(
        p.github.dispatches(),
        vec![
            json!({"ref": "main", "inputs": {"dry_run": "false", "bump": "minor"},
                    "workflow": "promote-prod.yml"})
        ]
    );

    // Without `preview_url`, the URL derives from the base URL.
    let (status, body) = p
        .post(
            "/v1/drivers/generic-web/preview-refresh",
            json!({"product": "demo", "refresh": {"product": "demo", "preview_slug": "pr-3",
                   "image_reference": IMAGE_1, "timeout_seconds": 1}}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["result"]["preview_url"],
        "https://pr-3.previews.example"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_refuse_other_repositories_missing_plans_and_ungranted_statuses() {
    let p = setup("sqlite").await;
    let mut other = desired_state();
    other["repository"] = json!("launchplane/other");
    let (status, body) = p.post("/v1/previews/desired-state", other).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(assert_rejected(&body), "repository_not_in_product_boundary");
    let mut unknown = desired_state();
    unknown["surprise"] = json!(1);
    let (status, body) = p.post("/v1/previews/desired-state", unknown).await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "surprise");
    let (status, body) = p
        .post(
            "/v1/previews/lifecycle-cleanup",
            json!({"product": "demo", "context": CONTEXT, "plan_id": "preview-lifecycle-plan-x"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    // `unsupported` needs the explicit feedback grant, which tests lack.
    let (status, body) = p
        .post("/v1/previews/pr-feedback", feedback("unsupported", "", ""))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(assert_rejected(&body), "authorization_denied");
    // GET on a write route is 405, not a preview read.
    let (status, _) = p.service.get("/v1/previews/desired-state").await;
    assert_eq!(status, 405);
}
