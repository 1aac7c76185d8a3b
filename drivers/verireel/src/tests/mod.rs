//! The driver's unit tests, one file per topic: the descriptor
//! (`descriptor`), refused requests (`requests`), app maintenance
//! (`maintenance`), the stable lanes' own actions (`stable`), the
//! lifecycle adapters and hooks (`lifecycle`, `gate`), and the answers to
//! a failed base action (`failures`). Shared helpers are here.

use launchplane_sdk::DriverError;
use launchplane_sdk::prelude::Target;
use launchplane_sdk::testing::{FakeHost, Harness};
use serde_json::{Value, json};

use super::driver;

mod descriptor;
mod failures;
mod gate;
mod lifecycle;
mod maintenance;
mod requests;
mod stable;

/// A digest-pinned image whose tag is `sha-abc1234`.
pub(super) const IMAGE: &str = "ghcr.io/o/verireel:sha-abc1234@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

pub(super) fn harness() -> Harness {
    Harness::new(driver()).for_product("verireel", "verireel")
}

fn valid_request(action_id: &str) -> Value {
    match action_id {
        "testing_deploy" => {
            json!({"artifact_id": IMAGE, "source_git_ref": "abc1234"})
        }
        "prod_deploy" => {
            json!({"instance": "prod", "artifact_id": IMAGE, "source_git_ref": "abc1234"})
        }
        "testing_verification" => {
            json!({"deployment_record_id": "deployment-1", "migration_status": "success", "verification_status": "failure", "owner_routes_status": "not-run"})
        }
        "stable_environment" => json!({"instance": "testing"}),
        "runtime_verification" => json!({"instance": "prod"}),
        "app_maintenance" => json!({"action": "migrate", "intent": "stable-testing-migration"}),
        "prod_backup_gate" => json!({"backup_record_id": "backup-1"}),
        "prod_promotion" => {
            json!({"artifact_id": IMAGE, "source_git_ref": "abc1234", "backup_record_id": "backup-1", "promotion_record_id": "promotion-1", "source_health_status": "passed"})
        }
        "prod_rollback" => {
            json!({"promotion_record_id": "promotion-1", "backup_record_id": "backup-1"})
        }
        "preview_refresh" => {
            json!({"anchor_pr_number": 7, "anchor_pr_url": "https://github.com/o/verireel/pull/7", "anchor_head_sha": "abc1234", "preview_slug": "pr-7", "image_reference": IMAGE})
        }
        "preview_inventory" => json!({}),
        "preview_destroy" => {
            json!({"anchor_pr_number": 7, "preview_slug": "pr-7", "destroy_reason": "external_preview_cleanup_completed"})
        }
        "preview_verification" => {
            json!({"anchor_pr_number": 7, "verification_status": "pass", "verified_at": "2026-05-03T10:00:00Z"})
        }
        other => panic!("no valid request for {other}"),
    }
}

fn with(action_id: &str, patch: Value) -> Value {
    let mut request = valid_request(action_id);
    if let (Value::Object(map), Value::Object(patch)) = (&mut request, patch) {
        map.extend(patch);
    }
    request
}

/// The actions that run a generic-web action: their checks are in the
/// `adapt-request` hook, which the host calls before the base action.
pub(super) const RUNS_BASE: &[&str] = &[
    "testing_deploy",
    "prod_deploy",
    "prod_promotion",
    "prod_rollback",
    "preview_refresh",
    "preview_destroy",
    "preview_verification",
];

/// Calls hook `hook` as the host does for `action_id`.
pub(super) fn adapt(
    h: &Harness,
    action_id: &str,
    hook: &str,
    payload: Value,
) -> Result<Value, DriverError> {
    // As the host: `adapt-request` with the writes the action declares.
    let answer = h.base_step(action_id, hook, "testing", payload)?;
    Ok(serde_json::from_str(&answer).expect("json"))
}

/// What the harness answers for `action_id`: its handler's reply, or for
/// an action that runs generic-web's, the adapted request.
fn answer(h: &Harness, action_id: &str, request: Value) -> Result<Value, DriverError> {
    if RUNS_BASE.contains(&action_id) {
        adapt(h, action_id, "adapt-request", request)
    } else {
        h.call(action_id, "testing", request).map(|r| r.result)
    }
}

// ------------------------------------------------------------ stable lanes

pub(super) const BASE: &str = "https://ver-testing.example.com";

pub(super) fn lane_target(instance: &str) -> Target {
    Target {
        context: "verireel".into(),
        instance: instance.into(),
        target_type: "application".into(),
        target_name: format!("ver-{instance}-app"),
        domains: vec!["ver-testing.example.com".into(), format!("{BASE}/")],
        healthcheck_path: "/api/health".into(),
    }
}

/// A lane whose app reports `health` and renders its pages.
pub(super) fn live_host(health: Value) -> FakeHost {
    FakeHost::new()
        .with_target(lane_target("testing"))
        .with_page(&format!("{BASE}/api/health"), 200, &health.to_string())
        .with_page(&format!("{BASE}/"), 200, "<title>VeriReel</title>")
        .with_page(&format!("{BASE}/sign-in"), 200, "Sign in to VeriReel")
}

/// Every stored deployment passes the host's validating model
/// (`lifecycle_records::check_host_rules`): what VeriReel writes is what the
/// host accepts.
#[track_caller]
fn assert_host_accepts_the_deployments(harness: &Harness) {
    for record in harness.host.records("deployment") {
        if let Err(e) = lifecycle_records::check_host_rules("deployment", &record) {
            panic!("the host refuses a deployment record: {e}\n{record}");
        }
    }
}

pub(super) fn testing_deployment(health: &str, urls: Value) -> Value {
    json!({
        "schema_version": 1, "record_id": "deployment-1",
        "artifact_identity": {"artifact_id": IMAGE, "manifest_version": 1},
        "context": "verireel", "instance": "testing", "source_git_ref": "abc1234",
        "wait_for_completion": true, "verify_destination_health": true, "no_cache": false,
        "resolved_target": null, "runtime_source": {},
        "deploy": {"target_name": "ver-testing-app", "target_type": "application", "deploy_mode": "image-reference",
                   "deployment_id": "", "status": "pass", "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:01:00Z"},
        "post_deploy_update": {"attempted": false, "status": "skipped", "detail": ""},
        "destination_health": {"verified": true, "urls": urls, "timeout_seconds": 300, "status": health},
    })
}
