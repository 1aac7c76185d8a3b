//! `prod-promotion-run`: its own step (inputs, then the backup gate) and
//! its answer from generic-web's promotion, through the two adapters the
//! host calls.

use launchplane_sdk::DriverError;
use launchplane_sdk::host::{JobOutcome, Target};
use launchplane_sdk::testing::{FakeHost, Harness};
use serde_json::{Value, json};

use super::{harness, testing_tuple};

const GATE: &str = "backup-gate-cm-prod-release-42";

fn manifest() -> Value {
    json!({"artifact_id": "artifact-cm-1", "source_commit": "abc1234", "enterprise_base_digest": "sha256:base",
           "image": {"repository": "ghcr.io/o/cm", "digest": "sha256:1"}})
}

fn ready_host() -> FakeHost {
    FakeHost::new()
        .with_target(Target {
            context: "cm".into(),
            instance: "prod".into(),
            target_type: "compose".into(),
            target_name: "cm-prod".into(),
            domains: vec!["cm.example.com".into()],
            healthcheck_path: "/web/health".into(),
        })
        .with_setting("cm", "prod", "ODOO_DB_NAME", "cm")
        .with_setting("cm", "prod", "ODOO_BACKUP_ROOT", "/backups")
        .with_record("release_tuple", testing_tuple("artifact-cm-1"))
        .with_record("artifact_manifest", manifest())
}

fn request() -> Value {
    json!({"context": " CM ", "request_id": "Release 42", "from_instance": "testing", "to_instance": "prod",
           "wait": true, "verify_health": true, "no_cache": false, "schema_version": 1, "product": ""})
}

fn hook(h: &Harness, hook: &str, payload: Value) -> Result<Value, DriverError> {
    let answer = h.base_step("prod_promotion_run", hook, "prod", payload)?;
    Ok(serde_json::from_str(&answer).expect("json"))
}

#[test]
fn a_ready_run_captures_the_gate_then_asks_for_generic_webs_promotion() {
    let h = harness().with_host(ready_host());
    let base = hook(&h, "adapt-request", request()).expect("prepared");
    assert!(base.get("$finish").is_none(), "{base}");
    assert_eq!(base["artifact_id"], "artifact-cm-1");
    assert_eq!(base["backup_record_id"], GATE);
    assert_eq!(base["backup_required"], true);
    assert_eq!(base["source_git_ref"], "abc1234");
    let gates = h.host.records("backup_gate");
    let statuses: Vec<&str> = gates.iter().filter_map(|g| g["status"].as_str()).collect();
    assert_eq!(statuses, ["pending", "pass"]);
    assert_eq!(gates[1]["record_id"], GATE);
    let jobs = h
        .host
        .calls()
        .into_iter()
        .filter(|c| c.op == "run_job")
        .count();
    assert_eq!(jobs, 1);
}

#[test]
fn a_run_without_a_testing_release_is_blocked_before_any_capture() {
    let h = harness().with_host(FakeHost::new());
    let answer = hook(&h, "adapt-request", request()).expect("finished");
    let finish = &answer["$finish"];
    assert_eq!(finish["replayable"], false, "{answer}");
    let result = &finish["result"];
    assert_eq!(result["run_status"], "blocked");
    assert_eq!(result["input_status"], "blocked");
    assert_eq!(result["backup_status"], "skipped");
    assert_eq!(result["promotion_status"], "skipped");
    assert!(
        result["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("testing release tuple")),
        "{result}"
    );
    assert_eq!(finish["records"], json!({"request_id": "Release 42"}));
    assert!(h.host.records("backup_gate").is_empty());
    assert!(!h.host.ops().iter().any(|op| op == "run_job"));
}

#[test]
fn a_failed_gate_ends_the_run_as_fail_with_the_jobs_detail() {
    let failed = JobOutcome {
        status: "fail".into(),
        exit_code: Some(1),
        detail: "pg_dump: disk full".into(),
    };
    let h =
        harness().with_host(ready_host().with_job("platform-odoo-backup-gate", vec![Ok(failed)]));
    let answer = hook(&h, "adapt-request", request()).expect("finished");
    let finish = &answer["$finish"];
    assert_eq!(finish["replayable"], false);
    let result = &finish["result"];
    assert_eq!(result["run_status"], "fail", "{result}");
    assert_eq!(result["backup_status"], "fail");
    assert_eq!(result["promotion_status"], "skipped");
    assert!(
        result["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("disk full")),
        "{result}"
    );
    assert_eq!(finish["records"]["backup_record_id"], GATE);
    let last = h.host.records("backup_gate").pop().expect("gate");
    assert_eq!(last["status"], "fail");

    // The failed gate stays the failure's evidence: the same request id
    // cannot capture again under it, and nothing runs.
    let jobs = h.host.ops().iter().filter(|op| *op == "run_job").count();
    let error = hook(&h, "adapt-request", request()).expect_err("refused");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains(GATE) && m.contains("request_id")),
        "{error:?}"
    );
    assert_eq!(
        h.host.ops().iter().filter(|op| *op == "run_job").count(),
        jobs
    );
}

fn base_result(health: &str) -> Value {
    json!({"product": "odoo", "context": "cm", "from_instance": "testing", "to_instance": "prod",
           "artifact_id": "artifact-cm-1", "backup_record_id": GATE, "promotion_status": "pass",
           "promotion_record_id": "promotion-1", "deployment_record_id": "deployment-1",
           "deployment_status": "pass", "destination_health_status": health, "error_message": ""})
}

#[test]
fn the_runs_answer_is_the_promotions_with_every_id_and_only_a_verified_pass_is_kept() {
    let h = harness().with_host(ready_host());
    let payload = json!({"request": request(), "result": base_result("pass"),
                         "records": {"promotion_record_id": "promotion-1", "inventory_record_id": "cm-prod"}});
    let answer = hook(&h, "adapt-result", payload).expect("answer");
    let result = &answer["result"];
    assert_eq!(result["run_status"], "pass", "{answer}");
    assert_eq!(result["backup_status"], "pass");
    assert_eq!(result["promotion_status"], "pass");
    assert_eq!(result["release_tuple_id"], "cm-prod-artifact-cm-1");
    assert_eq!(result["image_repository"], "ghcr.io/o/cm");
    assert_eq!(answer["replayable"], true);
    let records = &answer["records"];
    for (key, value) in [
        ("artifact_id", "artifact-cm-1"),
        ("backup_record_id", GATE),
        ("promotion_record_id", "promotion-1"),
        ("deployment_record_id", "deployment-1"),
        ("release_tuple_id", "cm-prod-artifact-cm-1"),
        ("request_id", "Release 42"),
    ] {
        assert_eq!(records[key], value, "{records}");
    }

    // Health not verified passing: the run fails and is not kept.
    let payload = json!({"request": request(), "result": base_result("skipped"), "records": {}});
    let answer = hook(&h, "adapt-result", payload).expect("answer");
    assert_eq!(answer["result"]["run_status"], "fail");
    assert_eq!(answer["replayable"], false);
    assert!(
        answer["result"]["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("health")),
        "{answer}"
    );
}
