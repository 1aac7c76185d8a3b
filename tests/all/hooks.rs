//! Extension hooks end to end: a product whose driver is the `hook-ext`
//! test component (extending generic-web) calls generic-web routes; the
//! host routes generic-web's `promotion-gate` and `verify` hooks to
//! hook-ext, which blocks or fails on request; hooks hook-ext does not
//! implement (`pre-deploy`, ...) are no-op successes.

use std::sync::Arc;

use launchplane::providers::SimulatedProvider;
use launchplane::records::RecordQuery;
use launchplane::runtime::capabilities::ProviderCapability;
use launchplane_tests::{
    RegistryFile, Service, TestDatabase, assert_message, assert_rejected, component,
};
use serde_json::{Value, json};

fn image(name: &str) -> String {
    format!("ghcr.io/launchplane/{name}@sha256:{}", "a".repeat(64))
}

fn deploy(image: &str) -> Value {
    json!({"product": "demo", "deploy": {
        "product": "demo", "instance": "testing", "artifact_id": image, "source_git_ref": "refs/heads/main", "verify_health": false
    }})
}

fn promotion(image: &str) -> Value {
    json!({"product": "demo", "promotion": {
        "product": "demo", "artifact_id": image, "source_git_ref": "refs/heads/main", "verify_health": false
    }})
}

async fn service(db: &TestDatabase) -> Service {
    let registry = RegistryFile::new()
        .driver("generic-web", &component("generic_web"))
        .driver("hook-ext", &component("hook_ext"))
        .load()
        .await
        .expect("registry with the test extension");
    let provider = Arc::new(SimulatedProvider::new(db.store.clone()).auto_targets(true));
    let service = Service::start_on_registry(db, registry, |state| {
        state.services.provider = Some(ProviderCapability::new(provider));
    })
    .await;
    service.seed_profile("hook-ext").await;
    service
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_reach_the_extension_and_can_block_or_fail_the_action() {
    let db = TestDatabase::new("postgres").await;
    let service = service(&db).await;

    // generic-web routes serve a hook-ext product; pre-deploy and
    // post-deploy are not implemented by hook-ext, so they are no-ops, and
    // its `verify` hook passes.
    let (status, body) = service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(&image("app")),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");

    // hook-ext's promotion-gate blocks artifacts containing "blocked".
    let (status, body) = service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(&image("blocked")),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &promotion(&image("blocked")),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(assert_rejected(&body), "precondition_failed");
    assert_message(&body, "hook-ext blocks");
    let promotions = db
        .store
        .list_records("promotion", &RecordQuery::default())
        .await
        .expect("promotions");
    assert_eq!(promotions.len(), 1, "the blocked promotion is evidenced");
    assert!(
        db.store
            .get_record("inventory", "demo-prod")
            .await
            .expect("get")
            .is_none(),
        "prod did not move"
    );

    // hook-ext's verify hook fails on request: the action fails with the
    // hook's error and the failed deployment is recorded.
    let (status, body) = service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(&image("verify-fail")),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_message(&body, "hook-ext verify failed");
    let deployments = db
        .store
        .list_records("deployment", &RecordQuery::default())
        .await
        .expect("deployments");
    assert_eq!(
        deployments[0].document["destination_health"]["status"], "fail",
        "{}",
        deployments[0].document
    );

    // A passing promotion goes through the gate.
    let (status, body) = service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(&image("app")),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &promotion(&image("app")),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
}
