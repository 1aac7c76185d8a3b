//! `stable-verification` and `preview-verification`.

use launchplane_sdk::{DriverError, Host};
use serde_json::{Value, json};

use super::fixtures::*;

/// d2 deployed `b` to prod; its promotion links it.
fn verification_host() -> launchplane_sdk::testing::FakeHost {
    let mut d2 = prod_deployment("d2", &image('b'), "pass", "skipped");
    d2["runtime_source"]["runtime_identity"] = json!(
        json!({"context": "shop-prod", "instance": "prod", "deployment_record_id": "d2",
               "artifact_id": image('b'), "source_git_ref": "ref-d2", "product": "shop"})
        .to_string()
    );
    host().with_record("deployment", d2).with_record(
        "promotion",
        json!({"record_id": "promotion-p2", "artifact_identity": {"artifact_id": image('b')},
               "deployment_record_id": "d2", "context": "shop-prod", "from_instance": "testing",
               "to_instance": "prod",
               "deploy": {"target_name": "shop-prod-app", "target_type": "application", "deploy_mode": "image-reference"}}),
    )
}

fn request(patch: Value) -> Value {
    let mut request = json!({"context": "shop-prod", "instance": "prod", "deployment_record_id": "d2",
                             "verification_status": "success", "verified_at": "2026-01-02T00:00:00Z",
                             "checked_urls": [PROD_HEALTH], "timeout_seconds": 30});
    if let (Value::Object(map), Value::Object(patch)) = (&mut request, patch) {
        map.extend(patch);
    }
    request
}

#[test]
fn stable_verification_updates_deployment_and_promotion_health() {
    let h = harness("shop-prod", verification_host());
    let payload = json!({"ok": true, "runtime_identity": {
        "context": "shop-prod", "instance": "prod", "deployment_record_id": "d2",
        "artifact_id": image('b'), "source_git_ref": "ref-d2", "product": "shop"}});
    let reply = h
        .call(
            "stable_verification",
            "prod",
            request(json!({"promotion_record_id": "promotion-p2", "health_payload": payload})),
        )
        .expect("verifies");
    assert_eq!(
        h.host.ops(),
        ["record_get", "record_get", "record_put", "record_put"]
    );
    let health =
        json!({"verified": true, "urls": [PROD_HEALTH], "timeout_seconds": 30, "status": "pass"});
    let deployment = h.host.records("deployment").last().cloned().unwrap();
    assert_eq!(keys(&deployment), deployment_fields());
    assert_eq!(deployment["destination_health"], health);
    let promotion = h.host.records("promotion").last().cloned().unwrap();
    assert_eq!(keys(&promotion), promotion_fields());
    assert_eq!(promotion["destination_health"], health);
    assert_eq!(reply.result["runtime_identity_status"], json!("match"));
    assert_eq!(reply.result["verification_status"], json!("pass"));
    assert_eq!(reply.result["inventory_record_id"], json!("shop-prod-prod"));
    assert!(reply.records.contains(&(
        "promotion_record_id".to_string(),
        "promotion-p2".to_string()
    )));
    assert_host_accepts_the_records(&h);
}

#[test]
fn a_mismatched_identity_fails_the_verification() {
    let h = harness("shop-prod", verification_host());
    let payload = json!({"LAUNCHPLANE_RUNTIME_IDENTITY_JSON":
        json!({"context": "shop-prod", "instance": "prod", "deployment_record_id": "d1",
               "artifact_id": image('a'), "source_git_ref": "ref-d1"}).to_string()});
    let reply = h
        .call(
            "stable_verification",
            "prod",
            request(json!({"health_payload": payload})),
        )
        .expect("records the failure");
    assert_eq!(reply.result["runtime_identity_status"], json!("mismatch"));
    assert_eq!(reply.result["verification_status"], json!("fail"));
    assert_eq!(reply.result["inventory_record_id"], json!(""));
    assert_eq!(
        h.host.records("deployment").last().unwrap()["destination_health"]["status"],
        json!("fail")
    );
}

#[test]
fn stable_verification_refuses_records_of_another_lane() {
    let h = harness("shop-prod", verification_host());
    let error = h
        .call(
            "stable_verification",
            "testing",
            request(json!({"instance": "testing", "context": "shop-testing"})),
        )
        .expect_err("other lane");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("deployment_record_id ")),
        "{error:?}"
    );
    let error = h
        .call(
            "stable_verification",
            "prod",
            request(json!({"deployment_record_id": "nope"})),
        )
        .expect_err("missing");
    assert!(matches!(error, DriverError::NotFound(_)));
    assert!(!h.host.ops().contains(&"record_put".to_string()));
}

#[test]
fn preview_verification_promotes_the_latest_generation() {
    let h = harness("shop-preview", host());
    h.host
        .update_env(
            "shop-testing",
            "testing",
            &[("DATABASE_URL".into(), "x".into())],
            &[],
        )
        .expect("template env");
    h.call(
        "preview_refresh",
        "",
        json!({"product": "shop", "preview_slug": "pr-7", "preview_url": "https://pr-7.preview.shop.example",
               "image_reference": image('a')}),
    )
    .expect("refreshes");
    let verification = |status: &str| {
        json!({"context": "shop-preview", "anchor_repo": "shop", "anchor_pr_number": 7,
               "verification_status": status, "verified_at": "2026-01-03T00:00:00Z"})
    };
    let reply = h
        .call("preview_verification", "", verification("failed"))
        .expect("records");
    let object = &reply.result["generic_web_preview_verification"];
    assert_eq!(object["generation_state"], json!("failed"));
    assert_eq!(object["preview_state"], json!("failed"));
    assert_eq!(
        object["failure_summary"],
        json!("Preview verification failed.")
    );
    let generation = h
        .host
        .records("preview_generation")
        .last()
        .cloned()
        .unwrap();
    assert_eq!(generation["failure_stage"], json!("verify"));
    assert_eq!(generation["failed_at"], json!("2026-01-03T00:00:00Z"));
    assert_eq!(
        h.host.records("preview").last().unwrap()["serving_generation_id"],
        json!("preview-shop-preview-shop-pr-7-generation-0001")
    );

    let reply = h
        .call("preview_verification", "", verification("pass"))
        .expect("records");
    let object = &reply.result["generic_web_preview_verification"];
    assert_eq!(object["generation_state"], json!("ready"));
    assert_eq!(object["preview_state"], json!("active"));
    assert_eq!(
        reply.records[1],
        (
            "generation_id".to_string(),
            "preview-shop-preview-shop-pr-7-generation-0001".to_string()
        )
    );
}
