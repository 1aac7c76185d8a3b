//! Driver routes end to end over HTTP: authentication, product profile and
//! lane checks, authorization, schema validation, dispatch into the
//! component, and async operations with lane reservations.

use launchplane_tests::{Service, TestDatabase, assert_message, assert_rejected};
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
    assert_message(&body, "provider");
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
    assert_message(&body, "/deploy/timeout_seconds");

    let mut other_product = deploy("testing");
    other_product["deploy"]["product"] = json!("other");
    let (status, body) = service
        .post("/v1/drivers/generic-web/deploy", &other_product, None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "deploy.product");

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

// Async operations (lane reservation, busy lane, replay, poll routes) are
// covered with a proven stable bootstrap in `odoo_bootstrap.rs`.

const ARTIFACT_ID: &str = "artifact-demo-20261123-abc1234";

fn odoo_manifest(artifact_id: &str, digest: &str) -> Value {
    json!({
        "artifact_id": artifact_id,
        "source_commit": "abc1234def",
        "enterprise_base_digest": "sha256:base",
        "addon_sources": [{"repository": "github.com/launchplane/odoo-shared-addons", "ref": "def5678"}],
        "image": {"repository": "ghcr.io/launchplane/demo-odoo", "digest": digest}
    })
}

/// The error message of a rejected answer ("" when there is none).
fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// The Odoo routes the test calls, as product `demo`, and its store.
struct OdooCalls<'a>(&'a Service, &'a TestDatabase);

impl OdooCalls<'_> {
    async fn publish(&self, artifact_id: &str, digest: &str) -> (u16, Value) {
        let body = json!({"product": "demo", "publish": {
            "context": "demo", "instance": "testing", "manifest": odoo_manifest(artifact_id, digest)
        }});
        self.0
            .post("/v1/drivers/odoo/artifact-publish", &body, None)
            .await
    }

    /// Sets `web.base.url` on a lane of context `demo`.
    async fn base_url(&self, instance: &str, url: &str) -> (u16, Value) {
        let body = json!({"product": "demo", "override": {
            "product": "demo", "context": "demo", "instance": instance, "key": "web.base.url", "value": url
        }});
        self.0
            .post("/v1/drivers/odoo/config-parameter-override", &body, None)
            .await
    }

    async fn stored(
        &self,
        kind: &str,
        record_id: &str,
    ) -> Option<launchplane::records::StoredRecord> {
        self.1.store.get_record(kind, record_id).await.expect("get")
    }
}

#[tokio::test]
async fn odoo_promotion_inputs_are_blocked_until_testing_ships_and_blocked_answers_are_not_replayed()
 {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("odoo").await;
    let odoo = OdooCalls(&service, &db);
    let request =
        json!({"product": "demo", "inputs": {"context": "demo", "request_id": "release-42"}});
    let route = "/v1/drivers/odoo/prod-promotion-inputs";

    let (status, body) = service.post(route, &request, Some("promote-42")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["input_status"], "blocked", "{body}");
    assert!(
        body["result"]["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("require a current testing release tuple"),
        "{body}"
    );

    // Testing ships: its artifact is published and the lane's tuple minted.
    let (status, body) = odoo.publish(ARTIFACT_ID, "sha256:one").await;
    assert_eq!(status, 202, "{body}");
    let tuple = json!({
        "schema_version": 1, "tuple_id": "demo-testing-abc1234", "context": "demo", "channel": "testing",
        "artifact_id": ARTIFACT_ID, "repo_shas": {"tenant-demo": "abc1234def"},
        "provenance": "ship", "minted_at": "2026-11-24T00:00:00Z",
    });
    let record =
        launchplane::records::StoredRecord::new("release_tuple", "demo-testing", "demo", tuple);
    db.store
        .write_records(
            &[launchplane::records::RecordWrite::Replace { record }],
            "tests",
        )
        .await
        .expect("tuple");

    // The same key asks again: the blocked answer was not kept.
    let (status, body) = service.post(route, &request, Some("promote-42")).await;
    assert_eq!(status, 202, "{body}");
    assert_ne!(body["replayed"], true, "{body}");
    let result = &body["result"];
    assert_eq!(result["input_status"], "ready", "{body}");
    assert_eq!(result["artifact_id"], ARTIFACT_ID);
    assert_eq!(result["source_git_ref"], "abc1234def");
    assert_eq!(result["release_tuple_id"], "demo-testing-abc1234");
    assert_eq!(result["image_repository"], "ghcr.io/launchplane/demo-odoo");
    assert_eq!(result["image_digest"], "sha256:one");
    assert_eq!(
        result["backup_record_id"],
        "backup-gate-demo-prod-release-42"
    );

    // A ready answer is kept: the key now replays it.
    let (status, body) = service.post(route, &request, Some("promote-42")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["replayed"], true, "{body}");
    assert_eq!(body["result"]["input_status"], "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_artifacts_and_overrides_are_records_written_by_the_driver() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("odoo").await;
    let odoo = OdooCalls(&service, &db);

    let (status, body) = odoo.publish(ARTIFACT_ID, "sha256:one").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["records"]["artifact_id"], ARTIFACT_ID);
    assert_eq!(body["result"]["status"], "pass");
    assert_eq!(body["result"]["image_digest"], "sha256:one");
    let stored = odoo
        .stored("artifact_manifest", ARTIFACT_ID)
        .await
        .expect("the manifest is stored under its artifact id");
    assert_eq!(
        (stored.product.as_str(), stored.context.as_str()),
        ("demo", "demo")
    );
    assert_eq!(stored.document["image"]["digest"], "sha256:one");

    // The same manifest again changes nothing; another image under the same
    // id is refused and the first one stays.
    let (status, body) = odoo.publish(ARTIFACT_ID, "sha256:one").await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = odoo.publish(ARTIFACT_ID, "sha256:two").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        message(&body).contains("already exists with different content"),
        "{body}"
    );
    let stored = odoo
        .stored("artifact_manifest", ARTIFACT_ID)
        .await
        .expect("still stored");
    assert_eq!(stored.document["image"]["digest"], "sha256:one");
    // An artifact of another context is refused by the driver.
    let (status, body) = odoo
        .publish("artifact-cm-20261123-abc1234", "sha256:one")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("manifest.artifact_id"), "{body}");

    // Overrides: one record per lane, each route changing only its part.
    let (status, body) = odoo.base_url("prod", "https://demo.example").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["result"],
        json!({"context": "demo", "instance": "prod", "config_parameter_keys": ["web.base.url"]})
    );
    let (status, body) = service
        .post(
            "/v1/drivers/odoo/website-bootstrap-override",
            &json!({"product": "demo", "override": {"product": "demo", "context": "demo", "instance": "prod", "website_bootstrap": {"tenant": "demo", "name": "Demo", "homepage_url": "/"}}}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["website_bootstrap"], true);
    let record = odoo
        .stored("odoo_instance_override", "demo-prod")
        .await
        .expect("the lane's override record");
    assert_eq!(record.instance, "prod");
    assert_eq!(
        record.document["config_parameters"],
        json!([{"key": "web.base.url", "value": {"source": "literal", "value": "https://demo.example"}}])
    );
    assert_eq!(record.document["website_bootstrap"]["name"], "Demo");
    assert_eq!(record.document["apply_on"], json!(["deploy", "promotion"]));

    // An override write is a read-merge-write of lane state, so it holds
    // the lane: while something else does (a deploy, another override
    // write), it is refused with `lane_busy` and writes nothing. Appending
    // a manifest takes no lease.
    let lease = db
        .store
        .acquire_lane(
            &launchplane::records::NewLaneLease {
                product: "demo".into(),
                context: "demo".into(),
                instance: "prod".into(),
                driver_id: "generic-web".into(),
                action_id: "deploy".into(),
                trace_id: "launchplane_req_deploy".into(),
                owner: "another-host".into(),
            },
            60_000,
        )
        .await
        .expect("lease");
    let (status, body) = odoo.base_url("prod", "https://other.example").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(assert_rejected(&body), "lane_busy");
    let (status, body) = odoo.publish(ARTIFACT_ID, "sha256:one").await;
    assert_eq!(status, 202, "{body}");
    db.store.release_lane(&lease).await.expect("release");
    let unchanged = odoo
        .stored("odoo_instance_override", "demo-prod")
        .await
        .expect("record");
    assert_eq!(unchanged.document, record.document);

    // A lane the profile does not have is refused before the driver.
    let (status, body) = odoo.base_url("staging", "https://x.example").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(assert_rejected(&body), "product_driver_mismatch");
    assert!(
        odoo.stored("odoo_instance_override", "demo-staging")
            .await
            .is_none()
    );
}
