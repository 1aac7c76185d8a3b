//! Driver routes end to end over HTTP: authentication, product profile and
//! lane checks, authorization, schema validation, dispatch into the
//! component, and async operations with lane reservations.

use launchplane::ops::{Worker, WorkerConfig};
use launchplane_tests::{Service, TestDatabase, assert_rejected};
use serde_json::{Value, json};

const IMAGE: &str = "ghcr.io/launchplane/demo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn deploy(instance: &str) -> Value {
    json!({
        "product": "demo",
        "deploy": {"product": "demo", "instance": instance, "artifact_id": IMAGE, "source_git_ref": "refs/heads/main"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_call_reaches_the_driver_and_bad_ones_stop_before_it() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;

    // No profile yet: 404 before any driver code.
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &deploy("testing"), None)
        .await;
    assert_eq!(status, 404, "{body}");
    service.seed_profile("generic-web").await;

    // Past authentication, profile, lane, authorization and schema, the
    // component runs. This host has no provider configured, so the deploy
    // cannot resolve its target: a clear 409, a failed deployment record,
    // and no inventory movement.
    let (status, body) = service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy("testing"),
            Some("d-1"),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(assert_rejected(&body), "precondition_failed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("provider"),
        "{body}"
    );
    let deployments = db
        .store
        .list_records("deployment", &launchplane::records::RecordQuery::default())
        .await
        .expect("list");
    assert_eq!(deployments.len(), 1, "the failure is recorded");
    assert_eq!(deployments[0].document["deploy"]["status"], "fail");
    assert!(
        db.store
            .get_record("inventory", "demo-testing")
            .await
            .expect("get")
            .is_none()
    );
    // The driver's own validation runs too: a mutable tag is refused.
    let mut tag = deploy("testing");
    tag["deploy"]["artifact_id"] = json!("ghcr.io/launchplane/demo:latest");
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &tag, None)
        .await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &deploy("staging"), None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(assert_rejected(&body), "product_driver_mismatch");

    let mut schema = deploy("testing");
    schema["deploy"]["timeout_seconds"] = json!("soon");
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &schema, None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("/deploy/timeout_seconds"),
        "{body}"
    );

    let mut other_product = deploy("testing");
    other_product["deploy"]["product"] = json!("other");
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &other_product, None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("deploy.product"),
        "{body}"
    );

    // A generic-web product may not call odoo routes.
    let (status, body) = service
        .post(
            "/v1/drivers/odoo/prod-promotion",
            &json!({"product": "demo", "promotion": {"instance": "prod"}}),
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(assert_rejected(&body), "product_driver_mismatch");

    // Another repository's token: 403 with diagnostics, before the driver.
    let evil = service.issuer.token_with(|r| {
        r.repository = "launchplane/other".into();
        r.workflow_ref = "launchplane/other/.github/workflows/deploy.yml@refs/heads/main".into();
    });
    let (status, body) = service
        .post_as(
            &evil,
            "/v1/drivers/generic-web/deploy",
            &deploy("testing"),
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(assert_rejected(&body), "authorization_denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_actions_reserve_their_lane_and_run_as_operations() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("odoo").await;
    let bootstrap = json!({
        "product": "demo",
        "bootstrap": {"product": "demo", "context": "demo", "instance": "testing", "confirmation": "bootstrap demo testing"}
    });

    let (status, body) = service
        .post("/v1/drivers/odoo/stable-bootstrap", &bootstrap, None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(assert_rejected(&body), "idempotency_key_required");

    let (status, body) = service
        .post(
            "/v1/drivers/odoo/stable-bootstrap",
            &bootstrap,
            Some("boot-1"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let operation_id = body["records"]["operation_id"]
        .as_str()
        .expect("operation id")
        .to_string();
    assert_eq!(body["result"]["operation"]["status"], "pending");
    assert_eq!(
        body["result"]["poll_url"],
        format!("/v1/operations/{operation_id}")
    );

    // One active operation per lane.
    let (status, busy) = service
        .post(
            "/v1/drivers/odoo/stable-bootstrap",
            &bootstrap,
            Some("boot-2"),
        )
        .await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(
        assert_rejected(&busy),
        "odoo_stable_bootstrap_operation_active"
    );
    assert_eq!(busy["operation"]["operation_id"], operation_id.as_str());

    // The replay of the first request is the same operation.
    let (status, replay) = service
        .post(
            "/v1/drivers/odoo/stable-bootstrap",
            &bootstrap,
            Some("boot-1"),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(replay["records"]["operation_id"], operation_id.as_str());

    let (status, polled) = service.get(&format!("/v1/operations/{operation_id}")).await;
    assert_eq!(status, 200, "{polled}");
    assert_eq!(polled["operation"]["status"], "pending");

    // The context's recent view names the operation holding the lane, and
    // leaves its request and caller to the poll route.
    let (status, recent) = service.get("/v1/contexts/demo/operations/recent").await;
    assert_eq!(status, 200, "{recent}");
    let active = &recent["active_operations"];
    assert_eq!(active.as_array().map(Vec::len), Some(1), "{recent}");
    assert_eq!(active[0]["operation_id"], operation_id.as_str());
    assert_eq!(active[0]["instance"], "testing");
    assert_eq!(active[0]["status"], "pending");
    assert!(active[0].get("request").is_none() && active[0].get("caller").is_none());
    assert_eq!(recent["lane_leases"], json!([]));

    // A worker runs it; the driver does not implement bootstrap yet, so the
    // operation fails with that reason, and the lane is free again.
    let worker = Worker::new(service.server.state.clone(), WorkerConfig::default());
    assert!(worker.run_once().await.expect("claim"));
    let (_, polled) = service.get(&format!("/v1/operations/{operation_id}")).await;
    assert_eq!(polled["operation"]["status"], "fail", "{polled}");
    assert_eq!(polled["operation"]["error_code"], "not_implemented");
    let (_, recent) = service.get("/v1/contexts/demo/operations/recent").await;
    assert_eq!(recent["active_operations"], json!([]), "{recent}");
    let (status, body) = service
        .post(
            "/v1/drivers/odoo/stable-bootstrap",
            &bootstrap,
            Some("boot-3"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}
