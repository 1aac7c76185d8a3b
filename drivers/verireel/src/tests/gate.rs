//! The gates: the promotion gate (the hook, and VeriReel's own route
//! refusing a promotion with the original's failed record) and the prod
//! backup gate (its dump job, its record, its admission as an operation).

use launchplane_sdk::DriverError;
use launchplane_sdk::testing::{FakeHost, Harness};
use serde_json::{Value, json};

use super::lifecycle::{failed_job, gate_record, hook, job_runs};
use super::{IMAGE, adapt, driver, harness, lane_target};

// ------------------------------------------------------------ promotion gate

fn gate_payload(backup: &str) -> Value {
    json!({"product": "verireel", "context": "verireel", "source_context": "verireel",
           "from_instance": "testing", "to_instance": "prod", "artifact_id": IMAGE,
           "backup_record_id": backup, "source_health_status": "pass"})
}

#[test]
fn the_promotion_gate_needs_a_fresh_passing_prod_gate() {
    let host = FakeHost::new()
        .with_record("backup_gate", gate_record("backup-1", "pass"))
        .with_record("backup_gate", gate_record("backup-failed", "fail"));
    host.set_now("2026-01-01T05:00:00Z");
    let h = harness().with_host(host);
    let allowed = hook(&h, "promotion-gate", gate_payload("backup-1")).expect("answered");
    assert_eq!(allowed["allowed"], true, "{allowed}");
    for (backup, reason) in [
        ("", "need a passing prod backup gate"),
        ("backup-missing", "does not exist"),
        ("backup-failed", "is fail, not pass"),
    ] {
        let answer = hook(&h, "promotion-gate", gate_payload(backup)).expect("answered");
        assert_eq!(answer["allowed"], false, "{backup}");
        assert!(
            answer["reason"]
                .as_str()
                .is_some_and(|r| r.contains(reason)),
            "{backup}: {answer}"
        );
    }
    h.host.set_now("2026-01-01T07:00:00Z");
    let stale = hook(&h, "promotion-gate", gate_payload("backup-1")).expect("answered");
    assert_eq!(stale["allowed"], false);
    assert!(
        stale["reason"]
            .as_str()
            .is_some_and(|r| r.contains("7 h 0 min ago")),
        "{stale}"
    );
}

// ------------------------------------------------------------ backup gate

fn gate_host() -> FakeHost {
    FakeHost::new()
        .with_target(lane_target("prod"))
        .with_setting("verireel", "prod", "VERIREEL_BACKUP_ROOT", "/backups/")
}

#[test]
fn the_backup_gate_dumps_the_database_then_records_pass() {
    let h = harness().with_host(gate_host());
    let reply = h
        .call(
            "prod_backup_gate",
            "prod",
            json!({"backup_record_id": "backup-1"}),
        )
        .expect("gate");
    assert_eq!(reply.result["backup_status"], "pass", "{}", reply.result);
    assert_eq!(reply.result["snapshot_name"], "backup-1");
    assert_eq!(
        reply.records,
        [("backup_gate_record_id".to_string(), "backup-1".to_string())]
    );
    let gates = h.host.records("backup_gate");
    let statuses: Vec<&str> = gates.iter().filter_map(|g| g["status"].as_str()).collect();
    assert_eq!(statuses, ["pending", "pass"], "never pass before the job");
    assert_eq!(gates[1]["required"], true);
    assert_eq!(gates[1]["source"], "launchplane-verireel-prod-backup-gate");
    assert_eq!(
        gates[1]["evidence"]["database_dump_path"],
        "/backups/backup-1/verireel.dump"
    );
    for gate in &gates {
        lifecycle_records::check_host_rules("backup_gate", gate).expect("the host accepts it");
    }
    let runs = job_runs(&h.host);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][..3], ["verireel", "prod", "ver-prod-backup-gate"]);
    assert!(runs[0][3].contains("pg_dump --format=custom"), "{runs:?}");
    assert!(
        runs[0][3].contains("\"$DATABASE_URL\""),
        "the URL stays in the container"
    );

    // The same id again answers from its record: no second dump.
    let again = h
        .call(
            "prod_backup_gate",
            "prod",
            json!({"backup_record_id": "backup-1"}),
        )
        .expect("gate");
    assert_eq!(again.result["backup_status"], "pass");
    assert_eq!(job_runs(&h.host).len(), 1);
}

#[test]
fn a_failed_dump_is_recorded_as_a_failed_gate() {
    let h = harness().with_host(gate_host().with_job("ver-prod-backup-gate", vec![failed_job()]));
    let reply = h
        .call(
            "prod_backup_gate",
            "prod",
            json!({"backup_record_id": "backup-2"}),
        )
        .expect("answered");
    assert_eq!(reply.result["backup_status"], "fail");
    assert!(
        reply.result["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("boom")),
        "{}",
        reply.result
    );
    let gates = h.host.records("backup_gate");
    assert_eq!(gates.last().expect("written")["status"], "fail");
    assert!(
        gates.last().expect("written")["evidence"]
            .get("database_dump_path")
            .is_none()
    );
}

#[test]
fn a_gate_without_a_backup_root_fails_closed_before_anything_is_written() {
    let h = harness().with_host(FakeHost::new().with_target(lane_target("prod")));
    let error = h
        .call(
            "prod_backup_gate",
            "prod",
            json!({"backup_record_id": "backup-3"}),
        )
        .expect_err("no root");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("VERIREEL_BACKUP_ROOT")),
        "{error:?}"
    );
    assert!(h.host.records("backup_gate").is_empty());
    assert!(job_runs(&h.host).is_empty());
}

// ------------------------------------------------------------ promotion, rollback

fn promotion_request() -> Value {
    json!({"artifact_id": IMAGE, "source_git_ref": "abc1234", "backup_record_id": "backup-1",
           "promotion_record_id": "promotion-1", "source_health_status": "success",
           "rollout_timeout_seconds": 60})
}

/// A prod lane with a passing gate `backup-1` captured an hour ago.
fn gated() -> Harness {
    let host = FakeHost::new()
        .with_target(lane_target("prod"))
        .with_record("backup_gate", gate_record("backup-1", "pass"))
        .with_record("backup_gate", gate_record("backup-failed", "fail"));
    host.set_now("2026-01-01T01:00:00Z");
    harness().with_host(host)
}

#[test]
fn a_promotion_requires_the_gate_and_keeps_the_callers_record_id() {
    let h = gated();
    let base = adapt(&h, "prod_promotion", "adapt-request", promotion_request()).expect("mapped");
    assert_eq!(base["backup_required"], true);
    assert_eq!(base["backup_record_id"], "backup-1");
    assert_eq!(base["promotion_record_id"], "promotion-1");
    assert_eq!(base["from_instance"], "testing");
    assert_eq!(base["to_instance"], "prod");
    assert_eq!(base["health_timeout_seconds"], 60);
    assert_eq!(base["wait"], true);
    assert!(
        h.host.records("promotion").is_empty(),
        "nothing recorded yet"
    );

    let payload = json!({"request": promotion_request(),
        "result": {"promotion_record_id": "promotion-1", "deployment_record_id": "deployment-2",
                   "backup_record_id": "backup-1", "promotion_status": "pass", "deployment_status": "pass",
                   "destination_health_status": "pass", "target_name": "ver-prod-app", "target_type": "application"},
        "records": {"promotion_record_id": "promotion-1", "deployment_record_id": "deployment-2"}});
    let answer = adapt(&h, "prod_promotion", "adapt-result", payload).expect("adapted");
    let r = &answer["result"];
    assert_eq!(r["deploy_status"], "pass");
    assert_eq!(r["rollout_status"], "pass");
    assert_eq!(r["health_status"], "pass");
    assert_eq!(r["backup_record_id"], "backup-1");
    assert_eq!(answer["records"]["promotion_record_id"], "promotion-1");
}

#[test]
fn a_refused_gate_is_the_originals_failed_promotion_record_and_ends_the_action() {
    for (backup, reason) in [
        ("backup-missing", "does not exist"),
        ("backup-failed", "is fail, not pass"),
    ] {
        let h = gated();
        let mut request = promotion_request();
        request["backup_record_id"] = json!(backup);
        let answer = adapt(&h, "prod_promotion", "adapt-request", request).expect("finished");
        let finish = &answer["$finish"];
        assert_eq!(finish["replayable"], true, "{answer}");
        assert_eq!(
            finish["records"],
            json!({"promotion_record_id": "promotion-1"})
        );
        let r = &finish["result"];
        assert_eq!(r["deploy_status"], "fail", "{answer}");
        for step in ["rollout_status", "migration_status", "health_status"] {
            assert_eq!(r[step], "skipped", "{step}");
        }
        assert_eq!(r["deployment_record_id"], "");
        assert_eq!(r["backup_record_id"], backup);
        assert_eq!(r["target_name"], "ver-prod-app");
        assert_eq!(r["target_type"], "application");
        let message = r["error_message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{message}");

        let records = h.host.records("promotion");
        assert_eq!(records.len(), 1, "{records:?}");
        let record = &records[0];
        assert_eq!(record["record_id"], "promotion-1");
        assert_eq!(record["deploy"]["status"], "fail");
        assert_eq!(record["deploy"]["deploy_mode"], "dokploy-application-api");
        assert_eq!(record["backup_gate"]["status"], "fail");
        assert_eq!(record["backup_gate"]["required"], true);
        assert_eq!(
            record["backup_gate"]["evidence"]["backup_record_id"],
            backup
        );
        assert_eq!(record["source_health"]["status"], "pass");
        assert_eq!(record["post_deploy_update"]["attempted"], false);
        assert_eq!(record["post_deploy_update"]["detail"], message);
        assert_eq!(record["destination_health"]["status"], "skipped");
        if let Err(e) = lifecycle_records::check_host_rules("promotion", record) {
            panic!("the host refuses the record: {e}\n{record}");
        }
        assert!(job_runs(&h.host).is_empty());
        assert!(!h.host.ops().iter().any(|o| o == "deploy"));
    }

    // A gate older than six hours is refused the same way.
    let h = gated();
    h.host.set_now("2026-01-01T07:30:00Z");
    let answer =
        adapt(&h, "prod_promotion", "adapt-request", promotion_request()).expect("finished");
    let message = answer["$finish"]["result"]["error_message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("7 h 30 min ago"), "{answer}");
}

#[test]
fn the_backup_gate_is_an_operation_admitted_only_when_it_can_run() {
    let descriptor = driver().describe();
    let gate = descriptor
        .actions
        .iter()
        .find(|a| a.action_id == "prod_backup_gate")
        .expect("declared");
    assert_eq!(gate.execution, launchplane_sdk::Execution::Async);
    assert!(
        descriptor
            .hooks_implemented
            .iter()
            .any(|h| h == "admit-operation")
    );

    let h = harness().with_host(gate_host());
    let admitted = adapt(
        &h,
        "prod_backup_gate",
        "admit-operation",
        json!({"backup_record_id": "backup-1"}),
    )
    .expect("admitted");
    assert_eq!(admitted, json!({}));
    assert!(
        h.host.records("backup_gate").is_empty(),
        "admission writes nothing"
    );
    assert!(job_runs(&h.host).is_empty());

    let h = harness().with_host(FakeHost::new().with_target(lane_target("prod")));
    let error = adapt(
        &h,
        "prod_backup_gate",
        "admit-operation",
        json!({"backup_record_id": "backup-1"}),
    )
    .expect_err("no root");
    assert!(
        error.message().contains("VERIREEL_BACKUP_ROOT"),
        "{error:?}"
    );
    let error = adapt(
        &harness().with_host(gate_host()),
        "prod_backup_gate",
        "admit-operation",
        json!({"backup_record_id": " "}),
    )
    .expect_err("blank id");
    assert!(error.message().starts_with("backup_record_id"), "{error:?}");
    // Other actions are not this hook's business.
    let other =
        adapt(&harness(), "testing_deploy", "admit-operation", json!({})).expect("admitted");
    assert_eq!(other, json!({}));
}
