//! `prod-promotion`: source health, the gate, the destination deploy and
//! the linked records.

use launchplane_sdk::testing::FakeHost;
use launchplane_sdk::{DriverError, HostError};
use serde_json::{Value, json};

use super::fixtures::*;

const PROMOTION_ID: &str = "promotion-20260101T000000Z-shop-prod-testing-to-prod";
const DEPLOYMENT_ID: &str = "deployment-20260101T000000Z-shop-prod-prod";

fn request(artifact: &str) -> Value {
    json!({"product": "shop", "artifact_id": artifact, "source_git_ref": "abc1234", "to_instance": "prod"})
}

/// Testing runs `image('a')`.
fn promotion_host() -> FakeHost {
    host().with_record(
        "inventory",
        inventory("shop-testing", "testing", "deployment-t1", &image('a')),
    )
}

#[test]
fn promotion_checks_testing_deploys_prod_and_links_the_records() {
    let h = harness("shop-prod", promotion_host());
    let reply = h
        .call("prod_promotion", "prod", request(&image('a')))
        .expect("promotes");
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "record_get",
            "resolve_target",
            "health_check",
            "call_hook",
            "resolve_target",
            "update_env",
            "call_hook",
            "set_image",
            "deploy",
            "health_check",
            "call_hook",
            "call_hook",
            "record_put",
            "record_put"
        ]
    );
    assert_eq!(
        args_of(&h, "record_get"),
        [
            vec!["product_profile".to_string(), "shop".to_string()],
            vec!["inventory".to_string(), "shop-testing-testing".to_string()]
        ]
    );
    assert_eq!(
        args_of(&h, "health_check"),
        [
            vec![TESTING_HEALTH.to_string()],
            vec![PROD_HEALTH.to_string()]
        ]
    );
    let hooks = hook_calls(&h);
    let names: Vec<&str> = hooks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["promotion-gate", "pre-deploy", "post-deploy", "verify"]
    );
    assert_eq!(
        hooks[0].1,
        json!({
            "product": "shop", "context": "shop-prod", "source_context": "shop-testing",
            "from_instance": "testing", "to_instance": "prod", "artifact_id": image('a'),
            "image_reference": image('a'), "source_git_ref": "abc1234",
            "promotion_record_id": PROMOTION_ID, "deployment_record_id": DEPLOYMENT_ID,
            "backup_record_id": "", "source_health_status": "pass"
        })
    );
    assert_eq!(h.host.image("shop-prod", "prod"), Some(image('a')));
    assert_eq!(
        args_of(&h, "record_put"),
        [
            vec!["deployment".to_string()],
            vec!["promotion".to_string()]
        ]
    );

    let deployment = &h.host.records("deployment")[0];
    assert_eq!(keys(deployment), deployment_fields());
    assert_eq!(deployment["record_id"], json!(DEPLOYMENT_ID));
    assert_eq!(deployment["context"], json!("shop-prod"));
    assert_eq!(deployment["instance"], json!("prod"));
    let promotion = &h.host.records("promotion")[0];
    assert_eq!(keys(promotion), promotion_fields());
    assert_eq!(promotion["record_id"], json!(PROMOTION_ID));
    assert_eq!(promotion["deployment_record_id"], json!(DEPLOYMENT_ID));
    assert_eq!(promotion["context"], json!("shop-prod"));
    assert_eq!(promotion["from_instance"], json!("testing"));
    assert_eq!(promotion["to_instance"], json!("prod"));
    assert_eq!(
        promotion["artifact_identity"],
        json!({"artifact_id": image('a'), "manifest_version": 1})
    );
    assert_eq!(
        promotion["source_health"],
        json!({"verified": true, "urls": [TESTING_HEALTH], "timeout_seconds": 60, "status": "pass"})
    );
    assert_eq!(promotion["deploy"], deployment["deploy"]);
    assert_eq!(
        promotion["destination_health"],
        deployment["destination_health"]
    );
    assert_eq!(
        promotion["backup_gate"],
        json!({"required": false, "status": "skipped", "evidence": {}})
    );
    assert_eq!(
        promotion["rollback"],
        json!({"attempted": false, "status": "skipped", "detail": "", "snapshot_name": "", "started_at": "", "finished_at": ""})
    );

    assert_eq!(
        reply.records,
        [
            ("promotion_record_id".to_string(), PROMOTION_ID.to_string()),
            (
                "deployment_record_id".to_string(),
                DEPLOYMENT_ID.to_string()
            ),
            (
                "inventory_record_id".to_string(),
                "shop-prod-prod".to_string()
            ),
        ]
    );
    assert_eq!(reply.result["promotion_status"], json!("pass"));
    assert_eq!(reply.result["deployment_status"], json!("pass"));
    assert_eq!(reply.result["source_health_status"], json!("pass"));
    assert_eq!(reply.result["destination_health_status"], json!("pass"));
    assert_eq!(reply.result["dry_run"], json!(false));
    assert_host_accepts_the_records(&h);
}

#[test]
fn a_dry_run_plans_without_provider_calls_or_writes() {
    let h = harness("shop-prod", promotion_host());
    let mut req = request(&image('a'));
    req["dry_run"] = json!(true);
    let reply = h.call("prod_promotion", "prod", req).expect("plans");
    assert_eq!(h.host.ops(), ["record_get", "record_get"]);
    assert!(h.host.records("deployment").is_empty());
    assert!(h.host.records("promotion").is_empty());
    assert!(reply.records.is_empty());
    assert_eq!(reply.result["promotion_status"], json!("pending"));
    assert_eq!(reply.result["promotion_record_id"], json!(PROMOTION_ID));
    assert_eq!(reply.result["deployment_record_id"], json!(DEPLOYMENT_ID));
    assert_eq!(reply.result["inventory_record_id"], json!("shop-prod-prod"));
    assert_eq!(reply.result["dry_run"], json!(true));
}

#[test]
fn a_provider_failure_mid_promotion_records_both_and_fails_clearly() {
    let h = harness(
        "shop-prod",
        promotion_host().with_failure(
            "deploy",
            HostError::Timeout("deploy timed out after 600s".into()),
        ),
    );
    let error = h
        .call("prod_promotion", "prod", request(&image('a')))
        .expect_err("deploy failed");
    match &error {
        DriverError::ProviderFailed(m) => {
            assert!(
                m.contains("deploy failed for lane shop-prod/prod: deploy timed out after 600s"),
                "{m}"
            );
            assert!(m.contains(DEPLOYMENT_ID), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ops_after(&h, 5),
        [
            "resolve_target",
            "update_env",
            "call_hook",
            "set_image",
            "deploy",
            "record_put",
            "record_put"
        ]
    );
    let deployment = &h.host.records("deployment")[0];
    assert_eq!(deployment["deploy"]["status"], json!("fail"));
    assert_eq!(
        deployment["runtime_source"]["failure_stage"],
        json!("deploy")
    );
    let promotion = &h.host.records("promotion")[0];
    assert_eq!(promotion["deployment_record_id"], json!(DEPLOYMENT_ID));
    assert_eq!(promotion["deploy"]["status"], json!("fail"));
    assert_eq!(promotion["source_health"]["status"], json!("pass"));
    assert_eq!(
        promotion["destination_health"],
        json!({"verified": false, "urls": [], "timeout_seconds": null, "status": "skipped"})
    );
    assert!(
        promotion["post_deploy_update"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("deploy timed out")),
        "{promotion}"
    );
}

#[test]
fn a_blocking_promotion_gate_records_the_block_and_deploys_nothing() {
    let h = harness(
        "shop-prod",
        promotion_host().with_hook(
            "promotion-gate",
            Ok(r#"{"allowed": false, "reason": "release freeze until Monday"}"#.into()),
        ),
    );
    let error = h
        .call("prod_promotion", "prod", request(&image('a')))
        .expect_err("blocked");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("release freeze until Monday") && m.contains(PROMOTION_ID)),
        "{error:?}"
    );
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "record_get",
            "resolve_target",
            "health_check",
            "call_hook",
            "record_put"
        ]
    );
    assert_eq!(h.host.image("shop-prod", "prod"), None);
    assert!(h.host.records("deployment").is_empty());
    let promotion = &h.host.records("promotion")[0];
    assert_eq!(keys(promotion), promotion_fields());
    assert_eq!(promotion["deployment_record_id"], json!(""));
    assert_eq!(promotion["deploy"]["status"], json!("skipped"));
    assert_eq!(promotion["source_health"]["status"], json!("pass"));
    assert_eq!(promotion["destination_health"]["status"], json!("skipped"));
    assert_eq!(
        promotion["post_deploy_update"],
        json!({"attempted": false, "status": "skipped",
               "detail": "blocked by the promotion-gate hook: release freeze until Monday"})
    );
}

#[test]
fn a_failing_promotion_gate_fails_with_its_own_error_after_recording() {
    let hook_error = DriverError::Internal("gate service unreachable".into());
    let h = harness(
        "shop-prod",
        promotion_host().with_hook("promotion-gate", Err(hook_error.clone())),
    );
    let error = h
        .call("prod_promotion", "prod", request(&image('a')))
        .expect_err("hook failed");
    assert_eq!(error, hook_error);
    let promotion = &h.host.records("promotion")[0];
    assert_eq!(
        promotion["post_deploy_update"]["detail"],
        json!("promotion-gate hook failed: gate service unreachable")
    );
}

#[test]
fn failed_source_health_records_a_failed_promotion_without_deploying() {
    let h = harness(
        "shop-prod",
        promotion_host().with_health(TESTING_HEALTH, health("fail", TESTING_HEALTH, "")),
    );
    let error = h
        .call("prod_promotion", "prod", request(&image('a')))
        .expect_err("source unhealthy");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("source lane shop-testing/testing health failed")),
        "{error:?}"
    );
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "record_get",
            "resolve_target",
            "health_check",
            "record_put"
        ]
    );
    let promotion = &h.host.records("promotion")[0];
    assert_eq!(promotion["source_health"]["status"], json!("fail"));
    assert_eq!(promotion["deploy"]["status"], json!("skipped"));
    assert_eq!(promotion["destination_health"]["status"], json!("skipped"));
}

#[test]
fn the_promoted_artifact_must_be_what_testing_runs() {
    let h = harness("shop-prod", promotion_host());
    let error = h
        .call("prod_promotion", "prod", request(&image('b')))
        .expect_err("mismatch");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("runs")),
        "{error:?}"
    );
    assert_eq!(h.host.ops(), ["record_get", "record_get"]);
}

#[test]
fn a_backup_gate_must_exist_and_pass_when_named() {
    let mut req = request(&image('a'));
    req["backup_record_id"] = json!("backup-1");
    req["backup_required"] = json!(true);
    let h = harness("shop-prod", promotion_host());
    let error = h
        .call("prod_promotion", "prod", req.clone())
        .expect_err("missing gate");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("backup-1")),
        "{error:?}"
    );

    let gate = json!({"record_id": "backup-1", "context": "shop-prod", "instance": "prod", "created_at": NOW,
                      "source": "test", "required": true, "status": "pass", "evidence": {"snapshot": "snap-1"}});
    let h = harness(
        "shop-prod",
        promotion_host().with_record("backup_gate", gate),
    );
    let reply = h.call("prod_promotion", "prod", req).expect("promotes");
    assert_eq!(
        h.host.records("promotion")[0]["backup_gate"],
        json!({"required": true, "status": "pass", "evidence": {"snapshot": "snap-1"}})
    );
    assert_eq!(
        h.host.records("promotion")[0]["backup_record_id"],
        json!("backup-1")
    );
    assert!(
        reply
            .records
            .contains(&("backup_record_id".to_string(), "backup-1".to_string()))
    );
    assert_eq!(reply.result["backup_status"], json!("pass"));
    assert_host_accepts_the_records(&h);
}

#[test]
fn failed_destination_health_keeps_prod_inventory() {
    let h = harness(
        "shop-prod",
        promotion_host().with_health(PROD_HEALTH, health("fail", PROD_HEALTH, "")),
    );
    let error = h
        .call("prod_promotion", "prod", request(&image('a')))
        .expect_err("unhealthy prod");
    assert!(matches!(error, DriverError::PreconditionFailed(_)));
    let promotion = &h.host.records("promotion")[0];
    assert_eq!(promotion["deploy"]["status"], json!("pass"));
    assert_eq!(promotion["destination_health"]["status"], json!("fail"));
    assert_eq!(promotion["deployment_record_id"], json!(DEPLOYMENT_ID));
}
