//! The stable lanes' own actions: environment, runtime verification,
//! testing verification; and the preview inventory.

use launchplane_sdk::prelude::HostError;
use launchplane_sdk::testing::FakeHost;
use serde_json::json;

use super::maintenance::preview_app;
use super::*;

#[test]
fn stable_environment_is_the_lanes_target_and_urls() {
    let harness = harness().with_host(FakeHost::new().with_target(lane_target("testing")));
    let reply = harness
        .call(
            "stable_environment",
            "testing",
            json!({"instance": "testing"}),
        )
        .expect("environment");
    assert_eq!(
        reply.result,
        json!({
            "context": "verireel", "instance": "testing",
            "target_name": "ver-testing-app", "target_type": "application", "target_id": "",
            "base_urls": [BASE], "primary_base_url": BASE,
            "healthcheck_path": "/api/health", "health_urls": [format!("{BASE}/api/health")],
        })
    );
    let missing = harness
        .call("stable_environment", "prod", json!({"instance": "prod"}))
        .expect_err("no prod target");
    assert!(matches!(missing, DriverError::NotFound(_)), "{missing:?}");
}

#[test]
fn runtime_verification_reports_without_failing() {
    let harness = harness().with_host(live_host(json!({"ok": false})));
    let reply = harness
        .call(
            "runtime_verification",
            "testing",
            json!({"instance": "testing", "timeout_seconds": 1}),
        )
        .expect("verification answers");
    assert_eq!(reply.result["status"], "fail");
    assert!(
        reply.result["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("field `ok` is false")),
        "{}",
        reply.result
    );
    assert!(reply.records.is_empty());
}

#[test]
fn testing_verification_folds_the_workflow_checks_into_the_deployment() {
    let urls = json!([format!("{BASE}/api/health")]);
    let host = FakeHost::new().with_record("deployment", testing_deployment("pass", urls.clone()));
    let verified = harness().with_host(host);
    let reply = verified
        .call(
            "testing_verification",
            "testing",
            json!({"deployment_record_id": "deployment-1", "migration_status": "success",
                   "verification_status": "passed", "owner_routes_status": "pass"}),
        )
        .expect("verification");
    assert_eq!(
        reply.result,
        json!({"deployment_record_id": "deployment-1", "deployment_health_status": "pass", "post_deploy_status": "pass"})
    );
    assert!(
        reply
            .records
            .contains(&("inventory_record_id".into(), "verireel-testing".into()))
    );
    let record = verified.host.records("deployment").pop().expect("record");
    assert_eq!(
        record["post_deploy_update"],
        json!({"attempted": true, "status": "pass", "detail": "Prisma migrations completed on testing."})
    );
    assert_eq!(record["destination_health"]["urls"], urls);
    assert_eq!(record["destination_health"]["status"], "pass");

    // One failing check fails the health; the lane does not move.
    let host = FakeHost::new().with_record("deployment", testing_deployment("pass", urls));
    let failing = harness().with_host(host);
    let reply = failing
        .call(
            "testing_verification",
            "testing",
            valid_request("testing_verification"),
        )
        .expect("verification");
    assert_eq!(reply.result["deployment_health_status"], "fail");
    assert!(
        !reply
            .records
            .iter()
            .any(|(k, _)| k == "inventory_record_id")
    );
    assert_host_accepts_the_deployments(&verified);
}

#[test]
fn testing_verification_needs_the_testing_deployment() {
    let error = harness()
        .call(
            "testing_verification",
            "testing",
            valid_request("testing_verification"),
        )
        .expect_err("no record");
    assert!(matches!(error, DriverError::NotFound(_)), "{error:?}");
    let mut prod = testing_deployment("pass", json!([]));
    prod["instance"] = json!("prod");
    let on_prod = harness().with_host(FakeHost::new().with_record("deployment", prod));
    let error = on_prod
        .call(
            "testing_verification",
            "testing",
            valid_request("testing_verification"),
        )
        .expect_err("a prod record");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("deployment_record_id")),
        "{error:?}"
    );
}

#[test]
fn preview_inventory_lists_the_pull_request_previews_in_number_order() {
    let host = FakeHost::new()
        .with_preview_app(preview_app(10))
        .with_preview_app(preview_app(2))
        .with_preview_app(launchplane_sdk::prelude::PreviewApp {
            name: "ver-preview-janitor".into(),
            domains: Vec::new(),
            image_reference: String::new(),
        });
    let h = harness().with_host(host);
    let result = h
        .call("preview_inventory", "testing", json!({}))
        .expect("inventory")
        .result;
    assert_eq!(
        result,
        json!({"context": "verireel-testing", "previews": [
            {"applicationId": "ver-preview-pr-2-app", "applicationName": "ver-preview-pr-2-app", "previewSlug": "pr-2"},
            {"applicationId": "ver-preview-pr-10-app", "applicationName": "ver-preview-pr-10-app", "previewSlug": "pr-10"},
        ]})
    );
    assert_eq!(h.host.ops(), ["list_preview_apps"]);

    let failing = FakeHost::new().with_failure(
        "list_preview_apps",
        HostError::ProviderFailed(
            "list-preview-apps: the provider answered 502; see service logs".into(),
        ),
    );
    let error = harness()
        .with_host(failing)
        .call("preview_inventory", "testing", json!({}))
        .expect_err("listing failed");
    assert!(error.message().contains("answered 502"), "{error:?}");
}
