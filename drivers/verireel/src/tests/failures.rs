//! The answers to a failed base action (the host passes its error to
//! `adapt-result`): the original's failed results, read from the records
//! generic-web wrote, HTTP 202; refusals stay refusals. And the `verify`
//! hook's reading of VeriReel's own request: the explicit expected build,
//! the poll interval, a rollback that is not to start the app.

use launchplane_sdk::DriverError;
use launchplane_sdk::context::ExtensionCall;
use launchplane_sdk::testing::{FakeHost, Harness};
use serde_json::{Value, json};

use super::lifecycle::{deploy_payload, promotion_record};
use super::{BASE, IMAGE, adapt, driver, harness, live_host};

fn failed(request: Value, result: Value, records: Value, code: &str, message: &str) -> Value {
    json!({"request": request, "result": result, "records": records,
           "error": {"code": code, "message": message}})
}

fn deployment(id: &str, deploy: &str, health: &str) -> Value {
    json!({"schema_version": 1, "record_id": id, "context": "verireel", "instance": "testing",
        "source_git_ref": "abc1234", "artifact_identity": {"artifact_id": IMAGE},
        "deploy": {"target_name": "ver-testing-app", "target_type": "application", "deploy_mode": "image-reference",
                   "deployment_id": "", "status": deploy, "started_at": "t0", "finished_at": "t1"},
        "destination_health": {"verified": true, "urls": [format!("{BASE}/api/health")], "timeout_seconds": 300, "status": health}})
}

#[test]
fn a_failed_deploy_answers_the_failed_statuses_of_its_record() {
    let host =
        FakeHost::new().with_record("deployment", deployment("deployment-1", "pass", "fail"));
    let h = harness().with_host(host);
    let payload = failed(
        json!({"artifact_id": IMAGE, "source_git_ref": "abc1234"}),
        Value::Null,
        json!({"deployment_record_id": "deployment-1"}),
        "precondition_failed",
        "VeriReel testing rollout verification timed out: buildRevision",
    );
    let answer = adapt(&h, "testing_deploy", "adapt-result", payload).expect("answered");
    let r = &answer["result"];
    assert_eq!(r["deployment_record_id"], "deployment-1", "{answer}");
    assert_eq!(r["deploy_status"], "pass");
    assert_eq!(r["rollout_status"], "fail");
    assert!(
        r["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("buildRevision"))
    );
    assert!(
        answer["records"].get("inventory_record_id").is_none(),
        "{answer}"
    );

    // No record at all: the deploy itself failed.
    let payload = failed(
        json!({}),
        json!({}),
        json!({}),
        "provider_failed",
        "deploy: the provider answered 502",
    );
    let answer = adapt(&harness(), "prod_deploy", "adapt-result", payload).expect("answered");
    assert_eq!(answer["result"]["deploy_status"], "fail", "{answer}");
    assert_eq!(answer["result"]["rollout_status"], "skipped");
}

#[test]
fn a_failed_promotion_answers_the_steps_of_its_record() {
    let mut record = promotion_record("promotion-1", "backup-1");
    record["post_deploy_update"] =
        json!({"attempted": true, "status": "fail", "detail": "migrations failed"});
    record["destination_health"] = json!({"status": "pass"});
    let h = harness().with_host(FakeHost::new().with_record("promotion", record));
    let request = json!({"promotion_record_id": "promotion-1", "backup_record_id": "backup-1",
                         "artifact_id": IMAGE, "source_git_ref": "abc1234"});
    let payload = failed(
        request,
        Value::Null,
        json!({}),
        "provider_failed",
        "Prisma migrations failed on verireel/prod",
    );
    let answer = adapt(&h, "prod_promotion", "adapt-result", payload).expect("answered");
    let r = &answer["result"];
    assert_eq!(r["promotion_record_id"], "promotion-1", "{answer}");
    assert_eq!(r["backup_record_id"], "backup-1");
    assert_eq!(r["deploy_status"], "pass");
    assert_eq!(r["migration_status"], "fail");
    assert_eq!(r["health_status"], "pass");
    assert_eq!(
        r["error_message"],
        "Prisma migrations failed on verireel/prod"
    );
    assert_eq!(answer["records"]["promotion_record_id"], "promotion-1");
}

#[test]
fn a_failed_rollback_and_preview_steps_answer_fail() {
    let h = harness();
    let request = json!({"promotion_record_id": "promotion-1", "backup_record_id": "backup-1"});
    let payload = failed(
        request,
        Value::Null,
        json!({}),
        "provider_failed",
        "restore failed",
    );
    let answer = adapt(&h, "prod_rollback", "adapt-result", payload).expect("answered");
    assert_eq!(answer["result"]["rollback_status"], "fail", "{answer}");
    assert_eq!(answer["result"]["error_message"], "restore failed");
    assert_eq!(answer["records"]["backup_record_id"], "backup-1");

    let payload = failed(
        json!({}),
        Value::Null,
        json!({"preview_id": "p", "generation_id": "g"}),
        "provider_failed",
        "creating preview app failed",
    );
    let answer = adapt(&h, "preview_refresh", "adapt-result", payload).expect("answered");
    assert_eq!(answer["result"]["refresh_status"], "fail", "{answer}");
    assert_eq!(answer["records"]["transition"], "failed");
    assert!(
        h.host.calls().iter().all(|c| c.op != "run_preview_job"),
        "no jobs after a failure"
    );

    // The error may come inside `result` too.
    let payload = json!({"request": {}, "result": {"error": {"code": "provider_failed", "message": "gone"}},
                         "records": {"preview_id": "p"}});
    let answer = adapt(&h, "preview_destroy", "adapt-result", payload).expect("answered");
    assert_eq!(answer["result"]["destroy_status"], "fail", "{answer}");
    assert_eq!(answer["result"]["error_message"], "gone");
    assert_eq!(answer["records"]["transition"], "destroy_failed");
}

#[test]
fn refusals_and_failed_verifications_stay_errors() {
    let payload = failed(
        json!({}),
        Value::Null,
        json!({}),
        "invalid_request",
        "artifact_id: must pin a digest",
    );
    let error = adapt(&harness(), "testing_deploy", "adapt-result", payload).expect_err("refused");
    assert_eq!(
        error,
        DriverError::InvalidRequest("artifact_id: must pin a digest".into())
    );
    let payload = failed(
        json!({}),
        Value::Null,
        json!({}),
        "not_found",
        "no generation",
    );
    let error =
        adapt(&harness(), "preview_verification", "adapt-result", payload).expect_err("error");
    assert_eq!(error, DriverError::NotFound("no generation".into()));
}

/// Calls `verify` as generic-web does while running VeriReel's `action`
/// with VeriReel request `request`.
fn verify_for(h: &Harness, action: &str, request: Value, payload: Value) -> Value {
    let mut invocation = h.invocation("stable_deploy", "testing", json!({}));
    invocation.extension = Some(ExtensionCall {
        action_id: action.to_string(),
        request: request.to_string(),
    });
    let answer = driver()
        .on_hook("verify", &invocation, &payload.to_string(), &h.host)
        .expect("answered");
    serde_json::from_str(&answer).expect("json")
}

#[test]
fn verify_checks_the_requests_expected_build_and_polls_at_its_interval() {
    // The app reports another build than the deploy's own: an explicit
    // expectation of that build passes (the original's rule)...
    let live = json!({"ok": true, "buildRevision": "def5678", "buildTag": "sha-other"});
    let h = harness().with_host(live_host(live.clone()));
    let request = json!({"expected_build_revision": "def5678", "expected_build_tag": "sha-other"});
    let answer = verify_for(
        &h,
        "testing_deploy",
        request,
        deploy_payload("stable_deploy", "testing"),
    );
    assert_eq!(answer["verified"], true, "{answer}");

    // ...and without one, the deploy's own build is expected, polled every
    // `rollout_interval_seconds` until the window closes.
    let h = harness().with_host(live_host(live));
    let request = json!({"rollout_interval_seconds": 7});
    let answer = verify_for(
        &h,
        "testing_deploy",
        request,
        deploy_payload("stable_deploy", "testing"),
    );
    assert_eq!(answer["verified"], false, "{answer}");
    let sleeps: Vec<String> = h
        .host
        .calls()
        .into_iter()
        .filter(|c| c.op == "sleep")
        .map(|c| c.args[0].clone())
        .collect();
    // A 30 s window: four pauses of 7 s, then the last 2 s.
    assert_eq!(sleeps, ["7000", "7000", "7000", "7000", "2000"], "{answer}");
}

#[test]
fn a_rollback_that_is_not_to_start_the_app_is_not_checked() {
    let h = harness().with_host(FakeHost::new());
    let request = json!({"start_after_rollback": false});
    let answer = verify_for(
        &h,
        "prod_rollback",
        request,
        deploy_payload("prod_rollback", "prod"),
    );
    assert_eq!(answer["verified"], true, "{answer}");
    assert!(h.host.calls().iter().all(|c| c.op != "content_check"));
}
