//! `prod-rollback-plan` and `prod-rollback`.

use launchplane_sdk::DriverError;
use launchplane_sdk::testing::FakeHost;
use serde_json::{Value, json};

use super::fixtures::*;

const ROLLBACK_DEPLOYMENT_ID: &str = "deployment-20260101T000000Z-shop-prod-prod";

/// Prod history, oldest first: d0 (`z`), d1 (`a`), d2 (`b`, current), d3
/// (`c`, failed deploy). The latest promotion deployed d2.
fn rollback_host() -> FakeHost {
    let promotion = json!({
        "schema_version": 1, "record_id": "promotion-p1", "artifact_identity": {"artifact_id": image('b'), "manifest_version": 1},
        "deployment_record_id": "d2", "backup_record_id": "", "context": "shop-prod",
        "from_instance": "testing", "to_instance": "prod",
        "source_health": {"verified": false, "urls": [], "timeout_seconds": null, "status": "skipped"},
        "backup_gate": {"required": false, "status": "skipped", "evidence": {}},
        "deploy": {"target_name": "shop-prod-app", "target_type": "application", "deploy_mode": "image-reference",
                   "deployment_id": "", "status": "pass", "started_at": NOW, "finished_at": NOW},
        "post_deploy_update": {"attempted": false, "status": "skipped", "detail": ""},
        "destination_health": {"verified": false, "urls": [], "timeout_seconds": null, "status": "skipped"},
        "rollback": {"attempted": false, "status": "skipped", "detail": "", "snapshot_name": "", "started_at": "", "finished_at": ""},
        "rollback_health": {"verified": false, "urls": [], "timeout_seconds": null, "status": "skipped"}
    });
    host()
        .with_record(
            "deployment",
            prod_deployment("d0", &image('e'), "pass", "pass"),
        )
        .with_record(
            "deployment",
            prod_deployment("d1", &image('a'), "pass", "skipped"),
        )
        .with_record(
            "deployment",
            prod_deployment("d2", &image('b'), "pass", "pass"),
        )
        .with_record(
            "deployment",
            prod_deployment("d3", &image('c'), "fail", "skipped"),
        )
        .with_record(
            "inventory",
            inventory("shop-prod", "prod", "d2", &image('b')),
        )
        .with_record("promotion", promotion)
}

fn request() -> Value {
    json!({"product": "shop", "instance": "prod"})
}

#[test]
fn the_plan_returns_to_the_previous_passing_deployment() {
    let h = harness("shop-prod", rollback_host());
    let reply = h
        .call("prod_rollback_plan", "prod", request())
        .expect("plans");
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "record_get",
            "record_list",
            "call_hook",
            "record_put"
        ]
    );
    let (hook, payload) = &hook_calls(&h)[0];
    assert_eq!(hook, "rollback-select");
    assert_eq!(payload["selection"], json!("previous_deployment"));
    assert_eq!(payload["current_deployment_record_id"], json!("d2"));
    assert_eq!(payload["selected"]["deployment_record_id"], json!("d1"));
    let candidates: Vec<&str> = payload["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["deployment_record_id"].as_str().unwrap())
        .collect();
    assert_eq!(candidates, ["d1", "d0"]);

    let plan_id = "generic-web-rollback-plan-shop-prod-prod-d1";
    assert_eq!(
        reply.records,
        [(
            "generic_web_rollback_plan_id".to_string(),
            plan_id.to_string()
        )]
    );
    let plan = &h.host.records("generic_web_rollback_plan")[0];
    assert_eq!(plan["record_id"], json!(plan_id));
    assert_eq!(plan["status"], json!("ready"));
    assert_eq!(plan["selection"], json!("previous_deployment"));
    assert_eq!(plan["rollback_deployment_record_id"], json!("d1"));
    assert_eq!(plan["current_artifact_id"], json!(image('b')));
    assert_eq!(plan["planned_deploy"]["artifact_id"], json!(image('a')));
    assert_eq!(
        plan["planned_deploy"]["deploy_reference"],
        json!(image('a'))
    );
    assert_eq!(plan["planned_deploy"]["source_git_ref"], json!("ref-d1"));
    assert_eq!(plan["blockers"], json!([]));
    assert_eq!(reply.result, *plan);
}

#[test]
fn the_rollback_deploys_the_previous_artifact_and_annotates_the_promotion() {
    let h = harness("shop-prod", rollback_host());
    let reply = h
        .call("prod_rollback", "prod", request())
        .expect("rolls back");
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "record_get",
            "record_list",
            "call_hook",
            "record_put",
            "resolve_target",
            "update_env",
            "call_hook",
            "set_image",
            "deploy",
            "health_check",
            "call_hook",
            "call_hook",
            "record_list",
            "record_put",
            "record_put"
        ]
    );
    assert_eq!(
        args_of(&h, "record_put"),
        [
            vec!["generic_web_rollback_plan".to_string()],
            vec!["promotion".to_string()],
            vec!["deployment".to_string()]
        ]
    );
    assert_eq!(h.host.image("shop-prod", "prod"), Some(image('a')));
    let deployments = h.host.records("deployment");
    let rollback = deployments.last().unwrap();
    assert_eq!(keys(rollback), deployment_fields());
    assert_eq!(rollback["record_id"], json!(ROLLBACK_DEPLOYMENT_ID));
    assert_eq!(
        rollback["artifact_identity"]["artifact_id"],
        json!(image('a'))
    );
    assert_eq!(rollback["source_git_ref"], json!("ref-d1"));
    assert_eq!(rollback["deploy"]["status"], json!("pass"));

    let promotions = h.host.records("promotion");
    assert_eq!(promotions.len(), 2);
    let annotated = promotions.last().unwrap();
    assert_eq!(keys(annotated), promotion_fields());
    assert_eq!(annotated["record_id"], json!("promotion-p1"));
    assert_eq!(annotated["deployment_record_id"], json!("d2"));
    assert_eq!(annotated["rollback"]["attempted"], json!(true));
    assert_eq!(annotated["rollback"]["status"], json!("pass"));
    assert_eq!(
        annotated["rollback"]["detail"],
        json!(format!(
            "rolled back to `{}` (deployment d1) by deployment {ROLLBACK_DEPLOYMENT_ID}",
            image('a')
        ))
    );
    assert_eq!(annotated["rollback_health"]["status"], json!("pass"));

    assert_eq!(reply.result["rollback_status"], json!("pass"));
    assert_eq!(reply.result["deploy_status"], json!("pass"));
    assert_eq!(reply.result["rollback_deployment_record_id"], json!("d1"));
    assert_eq!(reply.result["promotion_record_id"], json!("promotion-p1"));
    assert_eq!(
        reply.records,
        [
            (
                "generic_web_rollback_plan_id".to_string(),
                "generic-web-rollback-plan-shop-prod-prod-d1".to_string()
            ),
            (
                "deployment_record_id".to_string(),
                ROLLBACK_DEPLOYMENT_ID.to_string()
            ),
            (
                "inventory_record_id".to_string(),
                "shop-prod-prod".to_string()
            ),
            (
                "promotion_record_id".to_string(),
                "promotion-p1".to_string()
            ),
        ]
    );
    assert_host_accepts_the_records(&h);
}

#[test]
fn the_rollback_select_hook_may_choose_another_deployment() {
    let h = harness(
        "shop-prod",
        rollback_host().with_hook(
            "rollback-select",
            Ok(r#"{"deployment_record_id": "d0", "reason": "d1 had a data bug"}"#.into()),
        ),
    );
    let reply = h
        .call("prod_rollback", "prod", request())
        .expect("rolls back");
    assert_eq!(h.host.image("shop-prod", "prod"), Some(image('e')));
    let plan = &h.host.records("generic_web_rollback_plan")[0];
    assert_eq!(plan["selection"], json!("hook"));
    assert_eq!(plan["rollback_deployment_record_id"], json!("d0"));
    assert_eq!(
        plan["summary"],
        json!("generic web rollback plan is ready (rollback-select hook: d1 had a data bug)")
    );
    assert_eq!(reply.result["artifact_id"], json!(image('e')));
}

#[test]
fn an_explicit_failed_deployment_blocks_the_rollback() {
    let h = harness("shop-prod", rollback_host());
    let mut req = request();
    req["rollback_deployment_record_id"] = json!("d3");
    let reply = h
        .call("prod_rollback", "prod", req)
        .expect("answers blocked");
    assert_eq!(reply.result["rollback_status"], json!("blocked"));
    assert!(
        !reply.replayable,
        "a blocked rollback is asked again, not replayed"
    );
    assert_eq!(reply.result["deploy_status"], json!("skipped"));
    assert_eq!(
        reply.result["blockers"][0]["code"],
        json!("target_deploy_not_passed")
    );
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "record_get",
            "record_get",
            "call_hook",
            "record_put"
        ]
    );
    assert_eq!(h.host.image("shop-prod", "prod"), None);
    let plan = &h.host.records("generic_web_rollback_plan")[0];
    assert_eq!(plan["status"], json!("blocked"));
    assert_eq!(plan["selection"], json!("request"));
    assert_eq!(plan["planned_deploy"], json!(null));
}

#[test]
fn no_earlier_deployment_blocks_the_plan() {
    let h = harness(
        "shop-prod",
        host()
            .with_record(
                "deployment",
                prod_deployment("d2", &image('b'), "pass", "pass"),
            )
            .with_record(
                "inventory",
                inventory("shop-prod", "prod", "d2", &image('b')),
            ),
    );
    let reply = h
        .call("prod_rollback_plan", "prod", request())
        .expect("blocked plan");
    assert_eq!(reply.result["status"], json!("blocked"));
    assert!(
        !reply.replayable,
        "a blocked plan is asked again, not replayed"
    );
    assert_eq!(
        reply.result["blockers"][0]["code"],
        json!("missing_rollback_target")
    );
    assert_eq!(
        reply.result["plan_id"],
        json!("generic-web-rollback-plan-shop-prod-prod-none")
    );
}

#[test]
fn a_failing_rollback_select_hook_is_recorded_as_a_blocker() {
    let hook_error = DriverError::PreconditionFailed("selector offline".into());
    let h = harness(
        "shop-prod",
        rollback_host().with_hook("rollback-select", Err(hook_error.clone())),
    );
    let error = h
        .call("prod_rollback", "prod", request())
        .expect_err("hook failed");
    assert_eq!(error, hook_error);
    let plan = &h.host.records("generic_web_rollback_plan")[0];
    assert_eq!(plan["status"], json!("blocked"));
    assert_eq!(plan["blockers"][0]["code"], json!("rollback_select_failed"));
    assert!(!h.host.ops().contains(&"set_image".to_string()));
}

#[test]
fn a_failed_rollback_deploy_is_recorded_on_the_promotion_too() {
    let h = harness(
        "shop-prod",
        rollback_host().with_failure(
            "set_image",
            launchplane_sdk::HostError::ProviderFailed("registry unreachable".into()),
        ),
    );
    let error = h
        .call("prod_rollback", "prod", request())
        .expect_err("provider failed");
    assert!(
        matches!(&error, DriverError::ProviderFailed(m) if m.contains("registry unreachable")),
        "{error:?}"
    );
    let annotated = h.host.records("promotion").last().cloned().unwrap();
    assert_eq!(annotated["rollback"]["status"], json!("fail"));
    assert_eq!(annotated["rollback_health"]["status"], json!("skipped"));
    let rollback = h.host.records("deployment").last().cloned().unwrap();
    assert_eq!(rollback["record_id"], json!(ROLLBACK_DEPLOYMENT_ID));
    assert_eq!(rollback["deploy"]["status"], json!("fail"));
}
