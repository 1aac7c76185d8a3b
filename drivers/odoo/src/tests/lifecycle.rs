//! Odoo's part of generic-web's lifecycle: the backup gate it captures,
//! the promotion gate and rollback choice it imposes, and the mapping of
//! its own routes onto generic-web's actions.

use launchplane_sdk::host::{JobOutcome, Target};
use launchplane_sdk::testing::{FakeHost, Harness};
use launchplane_sdk::{DriverError, HostError};
use serde_json::{Value, json};

use super::{harness, testing_tuple};
use crate::driver;

fn prod_target() -> Target {
    Target {
        context: "cm".into(),
        instance: "prod".into(),
        target_type: "compose".into(),
        target_name: "cm-prod".into(),
        domains: vec!["cm.example.com".into()],
        healthcheck_path: "/web/health".into(),
    }
}

fn gate_host() -> FakeHost {
    FakeHost::new()
        .with_target(prod_target())
        .with_setting("cm", "prod", "ODOO_DB_NAME", "cm")
        .with_setting(
            "cm",
            "prod",
            "ODOO_BACKUP_ROOT",
            "/volumes/data/backups/launchplane/",
        )
}

fn gate_request() -> Value {
    json!({"context": " CM ", "instance": "Prod", "backup_record_id": "backup-gate-cm-prod-r1"})
}

// ------------------------------------------------------------ backup gate

#[test]
fn a_backup_gate_captures_database_and_filestore_then_records_pass() {
    let h = harness().with_host(gate_host());
    let reply = h
        .call("prod_backup_gate", "prod", gate_request())
        .expect("gate");
    let r = &reply.result;
    assert_eq!(r["backup_status"], "pass", "{r}");
    assert_eq!(r["context"], "cm");
    let dir = "/volumes/data/backups/launchplane/cm/backup-gate-cm-prod-r1";
    assert_eq!(r["database_dump_path"], format!("{dir}/cm.dump"));
    assert_eq!(
        r["filestore_archive_path"],
        format!("{dir}/cm-filestore.tar.gz")
    );
    assert_eq!(r["manifest_path"], format!("{dir}/manifest.json"));
    assert_eq!(
        reply.records,
        [(
            "backup_record_id".to_string(),
            "backup-gate-cm-prod-r1".to_string()
        )]
    );

    // pending first, then pass with the evidence: never pass before the job.
    let gates = h.host.records("backup_gate");
    let statuses: Vec<&str> = gates
        .iter()
        .map(|g| g["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["pending", "pass"]);
    assert_eq!(gates[1]["required"], true);
    assert_eq!(gates[1]["source"], "launchplane-odoo-prod-backup-gate");
    assert_eq!(
        gates[1]["evidence"]["filestore_path"],
        "/volumes/data/filestore"
    );
    let job = h
        .host
        .calls()
        .into_iter()
        .find(|c| c.op == "run_job")
        .expect("job ran");
    assert_eq!(job.args[..3], ["cm", "prod", "platform-odoo-backup-gate"]);
    assert!(
        job.args[3].contains("pg_dump --format=custom"),
        "{}",
        job.args[3]
    );
    assert!(job.args[3].contains("tar -czf"), "{}", job.args[3]);
}

#[test]
fn a_failed_capture_records_fail_and_never_pass() {
    let failed = JobOutcome {
        status: "fail".into(),
        exit_code: Some(1),
        detail: "pg_dump: no space".into(),
    };
    let h =
        harness().with_host(gate_host().with_job("platform-odoo-backup-gate", vec![Ok(failed)]));
    let r = h
        .call("prod_backup_gate", "prod", gate_request())
        .expect("answered")
        .result;
    assert_eq!(r["backup_status"], "fail");
    assert!(
        r["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("no space")),
        "{r}"
    );
    assert_eq!(r["database_dump_path"], "");
    let last = h.host.records("backup_gate").pop().expect("gate record");
    assert_eq!(last["status"], "fail");

    let unreachable = harness().with_host(gate_host().with_job(
        "platform-odoo-backup-gate",
        vec![Err(HostError::Unavailable("provider down".into()))],
    ));
    let r = unreachable
        .call("prod_backup_gate", "prod", gate_request())
        .expect("answered")
        .result;
    assert_eq!(r["backup_status"], "fail");
    assert_eq!(
        unreachable.host.records("backup_gate").pop().expect("gate")["status"],
        "fail"
    );
}

#[test]
fn a_backup_gate_needs_the_lane_database_and_backup_root() {
    for missing in ["ODOO_DB_NAME", "ODOO_BACKUP_ROOT"] {
        let mut host = FakeHost::new().with_target(prod_target());
        for key in ["ODOO_DB_NAME", "ODOO_BACKUP_ROOT"]
            .into_iter()
            .filter(|k| *k != missing)
        {
            host = host.with_setting("cm", "prod", key, "/x");
        }
        let h = harness().with_host(host);
        let error = h
            .call("prod_backup_gate", "prod", gate_request())
            .expect_err("refused");
        assert!(
            matches!(&error, DriverError::PreconditionFailed(m) if m.contains(missing)),
            "{missing}: {error:?}"
        );
        assert!(h.host.records("backup_gate").is_empty(), "nothing written");
        assert!(!h.host.ops().contains(&"run_job".to_string()));
    }
    let error = harness()
        .with_host(gate_host())
        .call(
            "prod_backup_gate",
            "testing",
            json!({"context": "cm", "instance": "testing", "backup_record_id": "b"}),
        )
        .expect_err("prod only");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("instance")),
        "{error:?}"
    );
}

#[test]
fn a_passed_gate_is_answered_again_without_a_second_capture() {
    let h = harness().with_host(gate_host());
    h.call("prod_backup_gate", "prod", gate_request())
        .expect("first");
    let again = h
        .call("prod_backup_gate", "prod", gate_request())
        .expect("again")
        .result;
    assert_eq!(again["backup_status"], "pass");
    let jobs = h.host.ops().iter().filter(|op| *op == "run_job").count();
    assert_eq!(jobs, 1, "the capture ran once");
}

// ------------------------------------------------------------ promotion gate

fn gate(status: &str, created_at: &str) -> Value {
    json!({"schema_version": 1, "record_id": "backup-gate-cm-prod-r1", "context": "cm", "instance": "prod",
           "created_at": created_at, "source": "launchplane-odoo-prod-backup-gate", "required": true,
           "status": status, "evidence": {}})
}

fn promotion_gate(host: FakeHost, backup_record_id: &str) -> Value {
    let h = harness().with_host(host);
    h.host.set_now("2026-01-01T12:00:00Z");
    let payload = json!({"product": "odoo", "context": "cm", "from_instance": "testing", "to_instance": "prod",
                         "artifact_id": "artifact-cm-1", "backup_record_id": backup_record_id});
    let answer = h
        .hook("promotion-gate", "prod", payload)
        .expect("gate answers");
    serde_json::from_str(&answer).expect("json")
}

#[test]
fn promotion_needs_a_fresh_passing_required_gate_of_the_destination_lane() {
    let allowed = promotion_gate(
        FakeHost::new().with_record("backup_gate", gate("pass", "2026-01-01T06:00:00Z")),
        "backup-gate-cm-prod-r1",
    );
    assert_eq!(allowed["allowed"], true, "{allowed}");

    let refused = |host: FakeHost, id: &str, needle: &str| {
        let answer = promotion_gate(host, id);
        assert_eq!(answer["allowed"], false, "{answer}");
        let reason = answer["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(needle), "{needle}: {reason}");
    };
    refused(FakeHost::new(), "", "prod-backup-gate");
    refused(FakeHost::new(), "backup-gate-cm-prod-r1", "does not exist");
    for status in ["pending", "fail"] {
        refused(
            FakeHost::new().with_record("backup_gate", gate(status, "2026-01-01T11:00:00Z")),
            "backup-gate-cm-prod-r1",
            "not pass",
        );
    }
    refused(
        FakeHost::new().with_record("backup_gate", gate("pass", "2026-01-01T05:59:00Z")),
        "backup-gate-cm-prod-r1",
        "6 h 1 min ago",
    );
    let mut other_lane = gate("pass", "2026-01-01T11:00:00Z");
    other_lane["instance"] = json!("testing");
    refused(
        FakeHost::new().with_record("backup_gate", other_lane),
        "backup-gate-cm-prod-r1",
        "cm/testing",
    );
    let mut optional = gate("pass", "2026-01-01T11:00:00Z");
    optional["required"] = json!(false);
    refused(
        FakeHost::new().with_record("backup_gate", optional),
        "backup-gate-cm-prod-r1",
        "not marked required",
    );
    refused(
        FakeHost::new().with_record("backup_gate", gate("pass", "yesterday")),
        "backup-gate-cm-prod-r1",
        "created_at",
    );
}

#[test]
fn gate_age_reads_rfc3339_to_the_second() {
    use crate::lifecycle::age_seconds;
    let hours = |then, now| age_seconds(then, now).map(|s| s / 3600);
    assert_eq!(
        hours("2026-01-01T00:00:00Z", "2026-01-01T05:59:59Z"),
        Some(5)
    );
    assert_eq!(
        hours("2025-12-31T23:00:00+00:00", "2026-01-01T01:00:00Z"),
        Some(2)
    );
    assert_eq!(
        hours("2024-02-28T12:00:00Z", "2024-03-01T12:00:00.5Z"),
        Some(48)
    );
    assert_eq!(
        age_seconds("2026-01-01T00:00:00Z", "2026-01-01T00:01:01Z"),
        Some(61)
    );
    assert_eq!(
        age_seconds("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"),
        Some(0)
    );
    assert_eq!(age_seconds("not a time", "2026-01-01T00:00:00Z"), None);
}

// ------------------------------------------------------------ adapters

fn stored_manifest() -> Value {
    json!({"artifact_id": "artifact-cm-1", "source_commit": "abc1234", "enterprise_base_digest": "sha256:base",
           "image": {"repository": "ghcr.io/o/cm", "digest": "sha256:1"}})
}

fn adapt(h: &Harness, action_id: &str, hook: &str, payload: Value) -> Result<Value, DriverError> {
    let invocation = h.invocation(action_id, "prod", json!({}));
    let answer = driver().on_hook(hook, &invocation, &payload.to_string(), &h.host)?;
    Ok(serde_json::from_str(&answer).expect("json"))
}

#[test]
fn odoo_promotion_becomes_generic_web_promotion_with_the_gate_required() {
    let h = harness().with_host(
        FakeHost::new()
            .with_record("release_tuple", testing_tuple("artifact-cm-1"))
            .with_record("artifact_manifest", stored_manifest())
            .with_record("backup_gate", gate("pass", "2026-01-01T11:00:00Z")),
    );
    h.host.set_now("2026-01-01T12:00:00Z");
    let request = json!({"context": " CM ", "artifact_id": "artifact-cm-1", "backup_record_id": "backup-gate-cm-prod-r1",
                         "from_instance": "testing", "to_instance": "prod", "wait": true, "verify_health": true,
                         "timeout_seconds": 600, "no_cache": false, "source_git_ref": "", "schema_version": 1});
    let base = adapt(&h, "prod_promotion", "adapt-request", request.clone()).expect("mapped");
    assert_eq!(base["product"], "odoo");
    assert_eq!(base["backup_required"], true);
    assert_eq!(base["backup_record_id"], "backup-gate-cm-prod-r1");
    assert_eq!(base["source_git_ref"], "abc1234", "the manifest's commit");
    assert_eq!(
        base["promotion_record_id"], "promotion-20260101T120000Z-cm-testing-to-prod",
        "named, so a failed promotion's record can be read back"
    );

    // The original refused an unusable gate (400) before writing anything.
    for (gate_id, needle) in [("backup-gate-cm-prod-r9", "does not exist"), ("", "blank")] {
        let mut ungated = request.clone();
        ungated["backup_record_id"] = json!(gate_id);
        let error = adapt(&h, "prod_promotion", "adapt-request", ungated).expect_err("no gate");
        assert!(
            matches!(&error, DriverError::InvalidRequest(m) if m.contains("backup_record_id") && m.contains(needle)),
            "{error:?}"
        );
    }
    let stale = harness().with_host(
        FakeHost::new()
            .with_record("release_tuple", testing_tuple("artifact-cm-1"))
            .with_record("artifact_manifest", stored_manifest())
            .with_record("backup_gate", gate("pass", "2026-01-01T05:00:00Z")),
    );
    stale.host.set_now("2026-01-01T12:00:00Z");
    let error =
        adapt(&stale, "prod_promotion", "adapt-request", request.clone()).expect_err("stale");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("7 h 0 min ago")),
        "{error:?}"
    );
    assert_eq!(
        (base["from_instance"].as_str(), base["to_instance"].as_str()),
        (Some("testing"), Some("prod"))
    );

    let mut other = request.clone();
    other["artifact_id"] = json!("artifact-cm-2");
    let error = adapt(&h, "prod_promotion", "adapt-request", other).expect_err("not testing's");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("artifact-cm-2")),
        "{error:?}"
    );
    let mut sideways = request.clone();
    sideways["from_instance"] = json!("dev");
    let error = adapt(&h, "prod_promotion", "adapt-request", sideways).expect_err("testing only");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("from_instance")),
        "{error:?}"
    );
    let mut unwaited = request;
    unwaited["wait"] = json!(false);
    let error =
        adapt(&h, "prod_promotion", "adapt-request", unwaited).expect_err("health needs wait");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("wait")),
        "{error:?}"
    );
}

#[test]
fn promotion_result_is_the_original_shape_with_the_prod_tuple() {
    let h = harness();
    let payload = json!({
        "request": {"context": "cm", "artifact_id": "artifact-cm-1"},
        "result": {"artifact_id": "artifact-cm-1", "from_instance": "testing", "to_instance": "prod",
                   "backup_record_id": "b1", "promotion_record_id": "p1", "deployment_record_id": "d1",
                   "promotion_status": "pass", "deployment_status": "pass", "destination_health_status": "pass",
                   "backup_status": "pass", "inventory_record_id": "cm-prod"},
        "records": {"promotion_record_id": "p1", "deployment_record_id": "d1"},
    });
    let answer = adapt(&h, "prod_promotion", "adapt-result", payload.clone()).expect("adapted");
    let r = &answer["result"];
    assert_eq!(r["release_tuple_id"], "cm-prod-artifact-cm-1");
    assert_eq!(r["promotion_status"], "pass");
    assert_eq!(r["post_deploy_status"], "pass");
    assert!(
        r.get("inventory_record_id").is_none(),
        "only the original's fields: {r}"
    );
    assert_eq!(
        answer["records"]["release_tuple_id"],
        "cm-prod-artifact-cm-1"
    );
    assert_eq!(answer["records"]["promotion_record_id"], "p1");

    let mut failed = payload;
    failed["result"]["destination_health_status"] = json!("fail");
    let answer = adapt(&h, "prod_promotion", "adapt-result", failed).expect("adapted");
    assert_eq!(answer["result"]["promotion_status"], "fail");
    assert_eq!(answer["result"]["release_tuple_id"], "");
    assert!(answer["records"].get("release_tuple_id").is_none());
}

fn prod_deployment(id: &str, artifact: &str, status: &str) -> Value {
    json!({"record_id": id, "context": "cm", "instance": "prod",
           "artifact_identity": {"artifact_id": artifact}, "deploy": {"status": status},
           "destination_health": {"status": "pass"}})
}

#[test]
fn odoo_rollback_returns_to_the_testing_artifact_or_an_explicit_stored_one() {
    let h = harness().with_host(
        FakeHost::new()
            .with_record("release_tuple", testing_tuple("artifact-cm-1"))
            .with_record("artifact_manifest", stored_manifest())
            .with_record(
                "deployment",
                prod_deployment("deploy-old", "artifact-cm-1", "pass"),
            )
            .with_record(
                "deployment",
                prod_deployment("deploy-new", "artifact-cm-2", "pass"),
            ),
    );
    let request = json!({"context": "cm", "instance": "prod", "wait": true, "verify_health": true});
    let base = adapt(&h, "prod_rollback", "adapt-request", request.clone()).expect("mapped");
    assert_eq!(base["rollback_deployment_record_id"], "deploy-old");
    assert_eq!(base["instance"], "prod");

    let mut unknown = request.clone();
    unknown["artifact_id"] = json!("artifact-cm-9");
    let error = adapt(&h, "prod_rollback", "adapt-request", unknown).expect_err("no manifest");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("artifact-cm-9")),
        "{error:?}"
    );
    let mut testing = request;
    testing["instance"] = json!("testing");
    let error = adapt(&h, "prod_rollback", "adapt-request", testing).expect_err("prod only");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("instance")),
        "{error:?}"
    );
}

#[test]
fn rollback_select_prefers_the_testing_tuple_artifact() {
    let h = harness()
        .with_host(FakeHost::new().with_record("release_tuple", testing_tuple("artifact-cm-1")));
    let candidates = json!([
        {"deployment_record_id": "deploy-2", "artifact_id": "artifact-cm-2"},
        {"deployment_record_id": "deploy-1", "artifact_id": "artifact-cm-1"},
    ]);
    let payload = json!({"product": "odoo", "context": "cm", "instance": "prod", "selection": "previous",
                         "candidates": candidates});
    let answer: Value = serde_json::from_str(
        &h.hook("rollback-select", "prod", payload.clone())
            .expect("answer"),
    )
    .expect("json");
    assert_eq!(answer["deployment_record_id"], "deploy-1");

    // An explicitly named deployment stands when its artifact is a
    // stored one with a manifest, and is refused when it is not.
    let mut named = payload.clone();
    named["selection"] = json!("request");
    named["selected"] = json!({"deployment_record_id": "deploy-2", "artifact_id": "artifact-cm-2"});
    let error = h
        .hook("rollback-select", "prod", named.clone())
        .expect_err("no manifest");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.contains("artifact-cm-2")),
        "{error:?}"
    );
    let mut manifest = stored_manifest();
    manifest["artifact_id"] = json!("artifact-cm-2");
    let h = harness().with_host(
        FakeHost::new()
            .with_record("release_tuple", testing_tuple("artifact-cm-1"))
            .with_record("artifact_manifest", manifest),
    );
    let kept: Value =
        serde_json::from_str(&h.hook("rollback-select", "prod", named).expect("answer"))
            .expect("json");
    assert_eq!(
        kept["deployment_record_id"], "",
        "the request's choice stands"
    );

    let mut none = payload;
    none["candidates"] =
        json!([{"deployment_record_id": "deploy-2", "artifact_id": "artifact-cm-2"}]);
    let error = h
        .hook("rollback-select", "prod", none)
        .expect_err("nothing to return to");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("artifact-cm-1")),
        "{error:?}"
    );
}

// ------------------------------------------------------------ base failures

const T: &str = "2026-01-01T12:00:00Z";

fn failed_promotion(id: &str, deploy_status: &str) -> Value {
    json!({"schema_version": 1, "record_id": id, "artifact_identity": {"artifact_id": "artifact-cm-1"},
           "deployment_record_id": "deployment-20260101T120000Z-cm-prod", "backup_record_id": "backup-gate-cm-prod-r1",
           "context": "cm", "from_instance": "testing", "to_instance": "prod",
           "deploy": {"target_name": "cm-prod", "target_type": "application", "deploy_mode": "image-reference",
                      "deployment_id": "", "status": deploy_status, "started_at": T, "finished_at": T}})
}

fn failure(request: Value, base_request: Value) -> Value {
    json!({"request": request, "base_request": base_request, "result": null, "records": {},
           "error": {"kind": "provider_failed", "message": "deploy failed: provider down"}})
}

#[test]
fn a_failed_promotion_that_was_recorded_answers_a_failed_promotion() {
    let h = harness().with_host(
        FakeHost::new().with_record("promotion", failed_promotion("promotion-1", "fail")),
    );
    let request = json!({"context": "cm", "artifact_id": "artifact-cm-1"});
    let answer = adapt(
        &h,
        "prod_promotion",
        "adapt-result",
        failure(
            request.clone(),
            json!({"promotion_record_id": "promotion-1"}),
        ),
    )
    .expect("answered");
    let r = &answer["result"];
    assert_eq!(r["promotion_status"], "fail", "{answer}");
    assert_eq!(r["deployment_status"], "fail");
    assert_eq!(r["promotion_record_id"], "promotion-1");
    assert_eq!(
        r["deployment_record_id"],
        "deployment-20260101T120000Z-cm-prod"
    );
    assert_eq!(r["release_tuple_id"], "");
    assert_eq!(r["error_message"], "deploy failed: provider down");
    assert!(answer["records"].get("release_tuple_id").is_none());

    // A failure that wrote no promotion stays the failure: no result.
    let answer = adapt(
        &h,
        "prod_promotion",
        "adapt-result",
        failure(request, json!({"promotion_record_id": "promotion-2"})),
    )
    .expect("answered");
    assert!(answer["result"].is_null(), "{answer}");
}

#[test]
fn a_failed_rollback_that_deployed_answers_a_failed_rollback() {
    let mut promotion = failed_promotion("promotion-1", "pass");
    promotion["rollback"] = json!({"attempted": true, "status": "fail", "detail": "failed",
                                   "snapshot_name": "", "started_at": T, "finished_at": T});
    let deployment = json!({"record_id": "deployment-20260101T120000Z-cm-prod", "context": "cm", "instance": "prod",
        "source_git_ref": "abc1234", "artifact_identity": {"artifact_id": "artifact-cm-1"},
        "deploy": {"target_name": "cm-prod", "target_type": "application", "deploy_mode": "image-reference",
                   "deployment_id": "", "status": "fail", "started_at": T, "finished_at": T}});
    let h = harness().with_host(
        FakeHost::new()
            .with_record("promotion", promotion)
            .with_record("deployment", deployment),
    );
    let request = json!({"context": "cm", "instance": "prod", "artifact_id": "artifact-cm-1"});
    let answer = adapt(
        &h,
        "prod_rollback",
        "adapt-result",
        failure(request.clone(), json!({"instance": "prod"})),
    )
    .expect("answered");
    let r = &answer["result"];
    assert_eq!(r["rollback_status"], "fail", "{answer}");
    assert_eq!(r["source_channel"], "artifact");
    assert_eq!(r["artifact_id"], "artifact-cm-1");
    assert_eq!(r["promotion_record_id"], "promotion-1");
    assert_eq!(
        r["deployment_record_id"],
        "deployment-20260101T120000Z-cm-prod"
    );
    assert_eq!(r["post_deploy_status"], "fail");
    assert_eq!(r["error_message"], "deploy failed: provider down");

    // A rollback that got no further than its plan stays the failure.
    let h = harness().with_host(
        FakeHost::new().with_record("promotion", failed_promotion("promotion-1", "pass")),
    );
    let answer = adapt(
        &h,
        "prod_rollback",
        "adapt-result",
        failure(request, json!({"instance": "prod"})),
    )
    .expect("answered");
    assert!(answer["result"].is_null(), "{answer}");
}
