//! VeriReel's part of generic-web's lifecycle: the adapters of its routes
//! onto generic-web's actions and its hooks (rollout check, migrations,
//! restore, preview env). The gates are in `gate`.

use launchplane_sdk::host::JobOutcome;
use launchplane_sdk::testing::{FakeHost, Harness};
use launchplane_sdk::{DriverError, HostError};
use serde_json::{Value, json};

use super::{BASE, IMAGE, adapt, harness, lane_target, live_host};

pub(super) fn gate_record(id: &str, status: &str) -> Value {
    json!({"schema_version": 1, "record_id": id, "context": "verireel", "instance": "prod",
           "created_at": "2026-01-01T00:00:00Z", "source": "launchplane-verireel-prod-backup-gate",
           "required": true, "status": status,
           "evidence": {"snapshot_name": id, "database_dump_path": format!("/backups/{id}/verireel.dump")}})
}

pub(super) fn promotion_record(id: &str, backup: &str) -> Value {
    json!({"schema_version": 1, "record_id": id, "artifact_identity": {"artifact_id": IMAGE},
           "deployment_record_id": "deployment-prod-2", "backup_record_id": backup,
           "context": "verireel", "from_instance": "testing", "to_instance": "prod",
           "deploy": {"target_name": "ver-prod-app", "target_type": "application", "deploy_mode": "image-reference",
                      "deployment_id": "", "status": "pass", "started_at": "2026-01-01T00:00:00Z",
                      "finished_at": "2026-01-01T00:01:00Z"}})
}

pub(super) fn hook(h: &Harness, name: &str, payload: Value) -> Result<Value, DriverError> {
    h.hook(name, "prod", payload)
        .map(|answer| serde_json::from_str(&answer).expect("json"))
}

pub(super) fn job_runs(host: &FakeHost) -> Vec<Vec<String>> {
    host.calls()
        .into_iter()
        .filter(|c| c.op == "run_job")
        .map(|c| c.args)
        .collect()
}

pub(super) fn failed_job() -> Result<JobOutcome, HostError> {
    Ok(JobOutcome {
        status: "fail".into(),
        exit_code: Some(1),
        detail: "boom".into(),
    })
}

// ------------------------------------------------------------ stable deploy

#[test]
fn a_testing_deploy_becomes_a_generic_web_deploy_of_the_testing_lane() {
    let h = harness();
    let request = json!({"artifact_id": IMAGE, "source_git_ref": " abc1234 ", "rollout_timeout_seconds": 90,
                         "timeout_seconds": 120, "expected_build_tag": "sha-abc1234"});
    let base = adapt(&h, "testing_deploy", "adapt-request", request).expect("mapped");
    assert_eq!(
        base,
        json!({"product": "verireel", "instance": "testing", "artifact_id": IMAGE,
               "source_git_ref": "abc1234", "timeout_seconds": 120, "no_cache": false,
               "verify_health": true, "health_timeout_seconds": 90})
    );
    // prod-deploy keeps its lane, and refuses the other one.
    let prod = adapt(
        &h,
        "prod_deploy",
        "adapt-request",
        json!({"instance": "prod", "artifact_id": IMAGE, "source_git_ref": "abc1234"}),
    )
    .expect("mapped");
    assert_eq!(prod["instance"], "prod");
    assert_eq!(prod["health_timeout_seconds"], 300);
    assert!(h.host.ops().is_empty(), "adapting calls nothing");
}

#[test]
fn an_explicit_expected_build_is_accepted_and_passed_on_unchanged() {
    let h = harness();
    let request = json!({"artifact_id": IMAGE, "source_git_ref": "abc1234",
                         "expected_build_revision": "def5678", "expected_build_tag": "sha-other",
                         "rollout_interval_seconds": 2});
    let base = adapt(&h, "testing_deploy", "adapt-request", request).expect("accepted");
    // generic-web never sees VeriReel's rollout fields: the verify hook
    // reads them from the extension request.
    assert!(base.get("expected_build_revision").is_none(), "{base}");
    assert_eq!(base["source_git_ref"], "abc1234");
}

#[test]
fn the_deploy_result_keeps_the_original_shape_and_names_the_inventory() {
    let record = json!({"schema_version": 1, "record_id": "deployment-1", "context": "verireel", "instance": "testing",
        "source_git_ref": "abc1234", "artifact_identity": {"artifact_id": IMAGE},
        "deploy": {"target_name": "ver-testing-app", "target_type": "application", "deploy_mode": "image-reference",
                   "deployment_id": "", "status": "pass", "started_at": "t0", "finished_at": "t1"},
        "destination_health": {"verified": true, "urls": [format!("{BASE}/api/health")], "timeout_seconds": 300, "status": "pass"}});
    let h = harness().with_host(FakeHost::new().with_record("deployment", record));
    let payload = json!({
        "request": {"artifact_id": IMAGE},
        "result": {"deployment_record_id": "deployment-1", "deploy_status": "pass", "deploy_started_at": "t0",
                   "deploy_finished_at": "t1", "product": "verireel", "context": "verireel", "instance": "testing",
                   "target_name": "ver-testing-app", "target_category": "application",
                   "destination_health_status": "pass"},
        "records": {"deployment_record_id": "deployment-1"}});
    let answer = adapt(&h, "testing_deploy", "adapt-result", payload).expect("adapted");
    let r = &answer["result"];
    assert_eq!(r["deploy_status"], "pass");
    assert_eq!(r["rollout_status"], "pass");
    assert_eq!(r["rollout_base_url"], BASE);
    assert_eq!(
        r["rollout_health_urls"],
        json!([format!("{BASE}/api/health")])
    );
    assert_eq!(r["target_type"], "application");
    assert_eq!(
        answer["records"],
        json!({"deployment_record_id": "deployment-1", "inventory_record_id": "verireel-testing"})
    );
}

// ------------------------------------------------------------ verify hook

pub(super) fn deploy_payload(action: &str, instance: &str) -> Value {
    json!({"hook": "verify", "action": action, "product": "verireel", "context": "verireel",
           "instance": instance, "deployment_record_id": "deployment-1", "artifact_id": IMAGE,
           "image_reference": IMAGE, "source_git_ref": "abc1234", "target_name": "ver-testing-app",
           "health": {"status": "pass", "url": format!("{BASE}/api/health"),
                      "urls": [format!("{BASE}/api/health")], "identity": "missing", "detail": ""},
           "health_timeout_seconds": 30})
}

#[test]
fn verify_accepts_the_build_the_app_reports_and_rejects_another() {
    let live = json!({"ok": true, "buildRevision": "abc1234", "buildTag": "sha-abc1234"});
    let h = harness().with_host(live_host(live));
    let answer = hook(&h, "verify", deploy_payload("stable_deploy", "testing")).expect("verified");
    assert_eq!(answer["verified"], true, "{answer}");
    let checks = h
        .host
        .ops()
        .iter()
        .filter(|o| *o == "content_check")
        .count();
    assert_eq!(checks, 3, "health, then the two pages");

    let stale = json!({"ok": true, "buildRevision": "abc1234", "buildTag": "sha-old0000"});
    let h = harness().with_host(live_host(stale));
    let answer = hook(&h, "verify", deploy_payload("prod_promotion", "prod")).expect("answered");
    assert_eq!(answer["verified"], false);
    let reason = answer["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("VeriReel prod rollout"), "{reason}");
    assert!(reason.contains("buildTag"), "{reason}");
}

#[test]
fn verify_without_any_base_url_rejects_the_deploy() {
    let h = harness().with_host(FakeHost::new());
    let mut payload = deploy_payload("stable_deploy", "testing");
    payload["health"] = Value::Null;
    let answer = hook(&h, "verify", payload).expect("answered");
    assert_eq!(answer["verified"], false);
    assert!(
        answer["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no rollout base URL")),
        "{answer}"
    );
}

// ------------------------------------------------------------ post-deploy

#[test]
fn a_promotion_applies_the_prisma_migrations_on_prod() {
    let h = harness().with_host(FakeHost::new().with_target(lane_target("prod")));
    let answer = hook(&h, "post-deploy", deploy_payload("prod_promotion", "prod")).expect("ran");
    assert_eq!(answer["attempted"], true);
    let runs = job_runs(&h.host);
    assert_eq!(
        runs,
        [vec![
            "verireel".to_string(),
            "prod".to_string(),
            "ver-apply-prisma-migrations".to_string(),
            "npx prisma migrate deploy --config prisma.config.ts".to_string(),
        ]]
    );

    // A plain deploy runs nothing after it.
    let h = harness().with_host(FakeHost::new().with_target(lane_target("testing")));
    let answer = hook(
        &h,
        "post-deploy",
        deploy_payload("stable_deploy", "testing"),
    )
    .expect("ok");
    assert_eq!(answer["attempted"], false);
    assert!(h.host.ops().is_empty(), "{:?}", h.host.ops());
}

#[test]
fn failed_migrations_fail_the_promotion_after_four_attempts() {
    let h = harness().with_host(
        FakeHost::new()
            .with_target(lane_target("prod"))
            .with_job("ver-apply-prisma-migrations", vec![failed_job(); 4]),
    );
    let error =
        hook(&h, "post-deploy", deploy_payload("prod_promotion", "prod")).expect_err("failed");
    assert!(
        matches!(&error, DriverError::ProviderFailed(m) if m.contains("Prisma migrations failed") && m.contains("4 attempts")),
        "{error:?}"
    );
    assert_eq!(job_runs(&h.host).len(), 4);
}

#[test]
fn a_rollback_restores_the_promotions_backup_gate() {
    let h = harness().with_host(
        FakeHost::new()
            .with_target(lane_target("prod"))
            .with_record("backup_gate", gate_record("backup-1", "pass"))
            .with_record("promotion", promotion_record("promotion-1", "backup-1")),
    );
    let answer =
        hook(&h, "post-deploy", deploy_payload("prod_rollback", "prod")).expect("restored");
    assert_eq!(answer["attempted"], true);
    let runs = job_runs(&h.host);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][2], "ver-prod-restore");
    assert!(
        runs[0][3].contains("pg_restore")
            && runs[0][3].contains("'/backups/backup-1/verireel.dump'"),
        "{runs:?}"
    );

    // A gate that did not pass has nothing to restore: no job runs.
    let h = harness().with_host(
        FakeHost::new()
            .with_target(lane_target("prod"))
            .with_record("backup_gate", gate_record("backup-1", "fail"))
            .with_record("promotion", promotion_record("promotion-1", "backup-1")),
    );
    let error = hook(&h, "post-deploy", deploy_payload("prod_rollback", "prod")).expect_err("none");
    assert!(
        matches!(error, DriverError::PreconditionFailed(_)),
        "{error:?}"
    );
    assert!(job_runs(&h.host).is_empty());
}

fn rollback_host() -> FakeHost {
    FakeHost::new()
        .with_record("backup_gate", gate_record("backup-1", "pass"))
        .with_record("promotion", promotion_record("promotion-0", "backup-0"))
        .with_record("promotion", promotion_record("promotion-1", "backup-1"))
}

#[test]
fn a_rollback_undoes_the_latest_promotion_from_its_gate() {
    let h = harness().with_host(rollback_host());
    let request = json!({"promotion_record_id": "promotion-1", "backup_record_id": "backup-1", "snapshot_name": "backup-1"});
    let base = adapt(&h, "prod_rollback", "adapt-request", request.clone()).expect("mapped");
    assert_eq!(
        base,
        json!({"product": "verireel", "instance": "prod", "backup_record_id": "backup-1",
               "backup_required": true, "verify_health": true, "timeout_seconds": null, "no_cache": false})
    );
    let refusals = [
        (
            json!({"promotion_record_id": "promotion-0", "backup_record_id": "backup-0"}),
            "not the latest",
        ),
        (
            json!({"promotion_record_id": "promotion-1", "backup_record_id": "backup-0"}),
            "backup_record_id",
        ),
        (
            json!({"promotion_record_id": "promotion-1", "backup_record_id": "backup-1", "snapshot_name": "other"}),
            "snapshot_name",
        ),
    ];
    for (request, said) in refusals {
        let error =
            adapt(&h, "prod_rollback", "adapt-request", request.clone()).expect_err("refused");
        assert!(error.message().contains(said), "{request}: {error:?}");
    }

    let payload = json!({"request": request,
        "result": {"rollback_status": "pass", "deployment_record_id": "deployment-3",
                   "destination_health_status": "pass", "promotion_record_id": "promotion-1"},
        "records": {"deployment_record_id": "deployment-3"}});
    let answer = adapt(&h, "prod_rollback", "adapt-result", payload).expect("adapted");
    assert_eq!(answer["result"]["rollback_status"], "pass");
    assert_eq!(answer["result"]["rollback_health_status"], "pass");
    assert_eq!(answer["result"]["snapshot_name"], "backup-1");
    assert_eq!(answer["records"]["promotion_record_id"], "promotion-1");
    assert_eq!(answer["records"]["backup_record_id"], "backup-1");

    // Asked not to start the app, the rollback does not wait for its health.
    let mut quiet = json!({"promotion_record_id": "promotion-1", "backup_record_id": "backup-1"});
    quiet["start_after_rollback"] = json!(false);
    let base = adapt(&h, "prod_rollback", "adapt-request", quiet).expect("accepted");
    assert_eq!(base["verify_health"], false, "{base}");
}

// ------------------------------------------------------------ previews

fn preview_host() -> FakeHost {
    FakeHost::new().with_preview_app(launchplane_sdk::prelude::PreviewApp {
        name: "ver-preview-pr-7".into(),
        domains: vec!["pr-7.preview.example.com".into()],
        image_reference: IMAGE.into(),
    })
}

fn preview_jobs(host: &FakeHost) -> Vec<Vec<String>> {
    host.calls()
        .into_iter()
        .filter(|c| c.op == "run_preview_job")
        .map(|c| c.args)
        .collect()
}

#[test]
fn preview_requests_map_onto_generic_webs_and_results_back() {
    let h = harness().with_host(preview_host());
    let refresh = json!({"anchor_pr_number": 7, "anchor_pr_url": "https://github.com/o/verireel/pull/7",
        "anchor_head_sha": "abc1234", "preview_slug": "pr-7", "image_reference": IMAGE,
        "preview_url": "https://pr-7.preview.example.com"});
    let base = adapt(&h, "preview_refresh", "adapt-request", refresh.clone()).expect("mapped");
    assert_eq!(base["preview_slug"], "pr-7");
    assert_eq!(base["anchor_pr_number"], 7);
    assert_eq!(base["source"], "verireel-preview-refresh");
    let mut other_repo = refresh.clone();
    other_repo["anchor_repo"] = json!("shop");
    let error = adapt(&h, "preview_refresh", "adapt-request", other_repo).expect_err("not ours");
    assert!(error.message().starts_with("anchor_repo"), "{error:?}");

    let result = json!({"request": refresh,
        "result": {"refresh_status": "pass", "application_name": "ver-preview-pr-7", "application_id": "ver-preview-pr-7",
                   "preview_url": "https://pr-7.preview.example.com"},
        "records": {"preview_id": "p", "generation_id": "g"}});
    let answer = adapt(&h, "preview_refresh", "adapt-result", result.clone()).expect("adapted");
    assert_eq!(answer["result"]["refresh_status"], "pass", "{answer}");
    assert_eq!(answer["records"]["transition"], "ready");
    // The original's database jobs, on the preview application, in order.
    assert_eq!(
        preview_jobs(&h.host),
        [
            [
                "verireel-testing",
                "ver-preview-pr-7",
                "ver-preview-pr-7-migrate",
                "npx prisma migrate deploy --config prisma.config.ts"
            ],
            [
                "verireel-testing",
                "ver-preview-pr-7",
                "ver-preview-pr-7-seed",
                "node prisma/seed.mjs"
            ]
        ]
    );

    let destroy = json!({"anchor_pr_number": 7, "preview_slug": "pr-7", "destroy_reason": "external_preview_cleanup_completed"});
    let base = adapt(&h, "preview_destroy", "adapt-request", destroy.clone()).expect("mapped");
    assert_eq!(base["destroy_reason"], "external_preview_cleanup_completed");
    let failed = json!({"request": destroy, "result": {"destroy_status": "fail", "error_message": "no"}, "records": {}});
    let answer = adapt(&h, "preview_destroy", "adapt-result", failed).expect("adapted");
    assert_eq!(answer["result"]["destroy_status"], "fail");
    assert_eq!(answer["records"]["transition"], "destroy_failed");

    let verification = json!({"anchor_pr_number": 7, "verification_status": "fail", "verified_at": "2026-01-01T00:00:00Z"});
    let base = adapt(
        &h,
        "preview_verification",
        "adapt-request",
        verification.clone(),
    )
    .expect("mapped");
    assert_eq!(base["verification_status"], "fail");
    assert_eq!(base["anchor_repo"], "verireel");
    let verified = json!({"request": verification,
        "result": {"generic_web_preview_verification": {"preview_id": "p", "generation_id": "g", "verification_status": "fail"}},
        "records": {"preview_id": "p", "generation_id": "g"}});
    let answer = adapt(&h, "preview_verification", "adapt-result", verified).expect("adapted");
    assert_eq!(answer["records"]["transition"], "failed");
    assert_eq!(answer["result"]["generation_id"], "g");
}

#[test]
fn the_preview_env_hook_names_the_preview_url_and_host() {
    let answer = hook(
        &harness(),
        "preview-env",
        json!({"preview_url": "https://pr-7.preview.example.com/", "preview_host": "pr-7.preview.example.com"}),
    )
    .expect("env");
    assert_eq!(
        answer["env"],
        json!({"BETTER_AUTH_URL": "https://pr-7.preview.example.com",
               "DOKPLOY_PREVIEW_DOMAIN": "pr-7.preview.example.com",
               "NEXT_PUBLIC_DOKPLOY_PREVIEW_DOMAIN": "pr-7.preview.example.com",
               "VERIREEL_APP_URL": "https://pr-7.preview.example.com"})
    );
}
