//! The descriptor must match the original registry row for row, and every
//! handler must refuse what the original refused before doing anything.

use launchplane_sdk::prelude::{HostError, Target};
use launchplane_sdk::testing::{FakeHost, Harness};
use launchplane_sdk::{DriverError, Idempotency, Safety};
use serde_json::{Value, json};

use super::driver;

mod lifecycle;

/// A digest-pinned image whose tag is `sha-abc1234`.
pub(super) const IMAGE: &str = "ghcr.io/o/verireel:sha-abc1234@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

use launchplane_sdk::testing::{ExpectedAction as Row, expected as row};

const NONE: &[&str] = &[];
/// An action that runs a generic-web action writes what that one declares
/// (the host refuses a descriptor that declares more).
const BASE_WRITES: &[&str] = &[];

/// Reference §5.2 (verireel table) with the routes and envelope keys of §3.8.
#[rustfmt::skip]
const REGISTRY: &[Row] = &[
    row("testing_deploy", "testing-deploy", "verireel_testing_deploy.execute", Safety::Mutation, BASE_WRITES, true, "deploy", Idempotency::Optional),
    row("testing_verification", "testing-verification", "deployment.write", Safety::SafeWrite, &["deployment"], false, "verification", Idempotency::Optional),
    row("stable_environment", "stable-environment", "verireel_stable_environment.read", Safety::Read, NONE, true, "environment", Idempotency::None),
    row("runtime_verification", "runtime-verification", "verireel_stable_environment.read", Safety::Read, NONE, true, "verification", Idempotency::None),
    row("app_maintenance", "app-maintenance", "verireel_app_maintenance.execute", Safety::Mutation, NONE, true, "maintenance", Idempotency::Optional),
    row("prod_deploy", "prod-deploy", "verireel_prod_deploy.execute", Safety::Mutation, BASE_WRITES, true, "deploy", Idempotency::Optional),
    row("prod_backup_gate", "prod-backup-gate", "verireel_prod_backup_gate.execute", Safety::SafeWrite, &["backup_gate"], true, "backup_gate", Idempotency::Optional),
    row("prod_promotion", "prod-promotion", "verireel_prod_promotion.execute", Safety::Mutation, BASE_WRITES, true, "promotion", Idempotency::Optional),
    row("prod_rollback", "prod-rollback", "verireel_prod_rollback.execute", Safety::Destructive, BASE_WRITES, true, "rollback", Idempotency::Optional),
    row("preview_refresh", "preview-refresh", "verireel_preview_refresh.execute", Safety::Mutation, BASE_WRITES, true, "refresh", Idempotency::Optional),
    row("preview_inventory", "preview-inventory", "verireel_preview_inventory.read", Safety::Read, NONE, true, "inventory", Idempotency::None),
    row("preview_destroy", "preview-destroy", "verireel_preview_destroy.execute", Safety::Destructive, BASE_WRITES, true, "destroy", Idempotency::Optional),
    row("preview_verification", "preview-verification", "preview_generation.write", Safety::SafeWrite, BASE_WRITES, false, "verification", Idempotency::Optional),
];

pub(super) fn harness() -> Harness {
    Harness::new(driver()).for_product("verireel", "verireel")
}

#[test]
fn descriptor_lists_exactly_the_registry_actions() {
    launchplane_sdk::testing::assert_catalogue(&driver(), REGISTRY, &[]);
}

#[test]
fn descriptor_identity() {
    let descriptor = driver().describe();
    assert_eq!(descriptor.driver_id, "verireel");
    assert_eq!(descriptor.product, "verireel");
    assert_eq!(descriptor.base_driver_id.as_deref(), Some("generic-web"));
    assert_eq!(
        descriptor.context_patterns,
        ["verireel", "verireel-testing"]
    );
    assert!(descriptor.hooks_called.is_empty());
    assert_eq!(
        descriptor.hooks_implemented,
        [
            "promotion-gate",
            "post-deploy",
            "verify",
            "preview-env",
            "adapt-request",
            "adapt-result"
        ]
    );
    let capability_ids: Vec<&str> = descriptor
        .capabilities
        .iter()
        .map(|c| c.capability_id.as_str())
        .collect();
    assert_eq!(
        capability_ids,
        ["stable_deploy", "stable_promotion", "preview_lifecycle"]
    );
    for capability in &descriptor.capabilities {
        for action in &capability.actions {
            assert!(
                descriptor.actions.iter().any(|a| &a.action_id == action),
                "{action}"
            );
        }
    }
    let groups: Vec<&str> = descriptor
        .setting_groups
        .iter()
        .map(|g| g.group_id.as_str())
        .collect();
    assert_eq!(groups, ["runtime_environment", "managed_secrets"]);
}

#[test]
fn every_input_schema_refuses_unknown_fields() {
    launchplane_sdk::testing::assert_input_schemas_closed(&driver());
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
    let invocation = h.invocation(action_id, "testing", json!({}));
    let answer = driver().on_hook(hook, &invocation, &payload.to_string(), &h.host)?;
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

#[test]
fn no_action_answers_not_implemented() {
    let h = harness().with_host(
        FakeHost::new()
            .with_target(lane_target("testing"))
            .with_setting("verireel", "prod", "VERIREEL_BACKUP_ROOT", "/backups")
            .with_record("deployment", testing_deployment("pass", json!([])))
            .with_record(
                "promotion",
                lifecycle::promotion_record("promotion-1", "backup-1"),
            )
            .with_record("backup_gate", lifecycle::gate_record("backup-1", "pass")),
    );
    for row in REGISTRY {
        let outcome = answer(&h, row.action_id, valid_request(row.action_id));
        assert!(
            !matches!(outcome, Err(DriverError::NotImplemented(_))),
            "{}: {outcome:?}",
            row.action_id
        );
    }
}

#[test]
fn maintenance_variants_the_original_accepted() {
    let h = harness().with_host(FakeHost::new().with_target(lane_target("testing")));
    let stable = [
        json!({"action": "reset-testing", "intent": "stable-testing-reset"}),
        json!({"action": "grant-sponsored", "intent": "stable-testing-remote-e2e-grant-sponsored", "email": "a@example.com"}),
        json!({"action": "promote-owner", "intent": "owner-route-promote-owner", "email": "a@example.com"}),
    ];
    for request in stable {
        let reply = h
            .call("app_maintenance", "testing", request.clone())
            .expect("runs");
        assert_eq!(reply.result["maintenance_status"], "pass", "{request}");
    }
    let preview = [
        json!({"context": "verireel-testing", "instance": "preview", "preview_slug": "pr-3", "action": "delete-user", "intent": "remote-e2e-delete-user", "email": "a@example.com"}),
        json!({"context": "verireel-testing", "instance": "preview", "application_name": "ver-preview-pr-3-app", "action": "grant-sponsored", "intent": "remote-e2e-grant-sponsored", "email": "a@example.com"}),
    ];
    let h = harness().with_host(FakeHost::new().with_preview_app(preview_app(3)));
    for request in preview {
        let reply = h
            .call("app_maintenance", "testing", request.clone())
            .expect("runs");
        assert_eq!(reply.result["maintenance_status"], "pass", "{request}");
    }
}

fn preview_app(pr: u32) -> launchplane_sdk::prelude::PreviewApp {
    launchplane_sdk::prelude::PreviewApp {
        name: format!("ver-preview-pr-{pr}-app"),
        domains: vec![format!("pr-{pr}.preview.example.com")],
        image_reference: "ghcr.io/o/verireel:pr".into(),
    }
}

#[test]
fn preview_maintenance_runs_on_the_named_preview_application() {
    let harness = harness().with_host(FakeHost::new().with_preview_app(preview_app(7)));
    let result = maintenance(
        &harness,
        json!({"context": "verireel-testing", "instance": "preview", "preview_slug": "pr-7",
               "action": "delete-user", "intent": "remote-e2e-delete-user", "email": "e2e@example.com"}),
    );
    assert_eq!(result["maintenance_status"], "pass", "{result}");
    assert_eq!(result["schedule_name"], "ver-remote-e2e-delete-user");
    assert_eq!(result["application_name"], "ver-preview-pr-7-app");
    assert_eq!(
        (result["context"].as_str(), result["instance"].as_str()),
        (Some("verireel-testing"), Some("preview"))
    );
    let runs: Vec<_> = harness
        .host
        .calls()
        .into_iter()
        .filter(|c| c.op == "run_preview_job")
        .map(|c| c.args)
        .collect();
    assert_eq!(
        runs,
        [[
            "verireel-testing",
            "ver-preview-pr-7-app",
            "ver-remote-e2e-delete-user",
            "node scripts/ops/remote-owner-admin.mjs --action delete-user --email e2e@example.com"
        ]]
    );

    // A preview that does not exist fails at once, without retries.
    let result = maintenance(
        &harness,
        json!({"context": "verireel-testing", "instance": "preview", "application_name": "ver-preview-pr-8-app",
               "action": "grant-sponsored", "intent": "remote-e2e-grant-sponsored", "email": "e2e@example.com"}),
    );
    assert_eq!(result["maintenance_status"], "fail");
    let message = result["error_message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no preview application `ver-preview-pr-8-app`"),
        "{message}"
    );
    assert!(!harness.host.ops().contains(&"sleep".to_string()));
}

fn maintenance(harness: &Harness, request: Value) -> Value {
    harness
        .call("app_maintenance", "testing", request)
        .expect("maintenance answers")
        .result
}

fn job_runs(host: &FakeHost) -> Vec<Vec<String>> {
    host.calls()
        .into_iter()
        .filter(|c| c.op == "run_job")
        .map(|c| c.args)
        .collect()
}

const MIGRATE: &str = r#"{"action": "migrate", "intent": "stable-testing-migration"}"#;

fn migrate() -> Value {
    serde_json::from_str(MIGRATE).expect("json")
}

#[test]
fn migrate_runs_the_prisma_migrations_as_their_own_job_on_stable_testing() {
    let harness = harness().with_host(FakeHost::new().with_target(lane_target("testing")));
    let result = maintenance(&harness, migrate());
    assert_eq!(result["maintenance_status"], "pass", "{result}");
    assert_eq!(result["schedule_name"], "ver-apply-prisma-migrations");
    assert_eq!(result["application_name"], "ver-testing-app");
    assert_eq!(result["application_id"], "");
    assert_eq!(result["intent"], "stable-testing-migration");
    assert_eq!(
        (result["context"].as_str(), result["instance"].as_str()),
        (Some("verireel"), Some("testing"))
    );
    assert_eq!(result["error_message"], "");
    assert_eq!(harness.host.ops(), ["resolve_target", "run_job"]);
    assert_eq!(
        job_runs(&harness.host),
        [[
            "verireel",
            "testing",
            "ver-apply-prisma-migrations",
            "npx prisma migrate deploy --config prisma.config.ts"
        ]]
    );
}

#[test]
fn owner_admin_commands_carry_the_email_as_one_argument() {
    let harness = harness().with_host(FakeHost::new().with_target(lane_target("testing")));
    let result = maintenance(
        &harness,
        json!({"action": "delete-user", "intent": "owner-route-delete-user", "email": "o'neil+e2e@example.com"}),
    );
    assert_eq!(result["maintenance_status"], "pass", "{result}");
    assert_eq!(result["schedule_name"], "ver-owner-route-delete-user");
    let command = crate::maintenance::job(
        crate::models::MaintenanceAction::DeleteUser,
        crate::models::MaintenanceContext::Stable,
        "o'neil+e2e@example.com",
    )
    .1;
    assert_eq!(
        command,
        [
            "node",
            "scripts/ops/remote-owner-admin.mjs",
            "--action",
            "delete-user",
            "--email",
            "o'neil+e2e@example.com"
        ]
    );
    for email in ["a@b@example.com", "a @example.com", "nobody"] {
        let error = harness
            .call(
                "app_maintenance",
                "testing",
                json!({"action": "promote-owner", "intent": "owner-route-promote-owner", "email": email}),
            )
            .expect_err("refused");
        assert!(
            matches!(&error, DriverError::InvalidRequest(m) if m.contains("email")),
            "{email}: {error:?}"
        );
    }
}

fn failed_job(detail: &str) -> Result<launchplane_sdk::prelude::JobOutcome, HostError> {
    Ok(launchplane_sdk::prelude::JobOutcome {
        status: "fail".into(),
        exit_code: Some(1),
        detail: detail.into(),
    })
}

#[test]
fn a_failing_job_is_retried_four_times_five_seconds_apart_then_reported() {
    let flaky = FakeHost::new()
        .with_target(lane_target("testing"))
        .with_job(
            "ver-apply-prisma-migrations",
            vec![
                failed_job("P1001: cannot reach the database"),
                Err(HostError::ProviderFailed(
                    "run-named-job: the provider answered 502; see service logs".into(),
                )),
            ],
        );
    let h = harness().with_host(flaky);
    let result = maintenance(&h, migrate());
    assert_eq!(result["maintenance_status"], "pass", "{result}");
    assert_eq!(
        h.host.ops(),
        [
            "resolve_target",
            "run_job",
            "sleep",
            "run_job",
            "sleep",
            "run_job"
        ]
    );
    let sleeps: Vec<_> = h
        .host
        .calls()
        .into_iter()
        .filter(|c| c.op == "sleep")
        .collect();
    assert!(sleeps.iter().all(|c| c.args == ["5000"]), "{sleeps:?}");

    let broken = FakeHost::new()
        .with_target(lane_target("testing"))
        .with_job(
            "ver-apply-prisma-migrations",
            (0..4)
                .map(|_| failed_job("P3009: failed migrations"))
                .collect(),
        );
    let h = harness().with_host(broken);
    let result = maintenance(&h, migrate());
    assert_eq!(result["maintenance_status"], "fail", "{result}");
    let message = result["error_message"].as_str().unwrap_or_default();
    assert!(
        message.contains("after 4 attempts") && message.contains("P3009"),
        "{message}"
    );
    assert_eq!(job_runs(&h.host).len(), 4);
    assert_eq!(h.host.ops().iter().filter(|op| *op == "sleep").count(), 3);
}

#[test]
fn a_refused_job_a_missing_or_compose_target_fail_at_once() {
    let refused = FakeHost::new()
        .with_target(lane_target("testing"))
        .with_failure(
            "run_job",
            HostError::Denied("provider.run-named-job is outside the scope".into()),
        );
    let h = harness().with_host(refused);
    let result = maintenance(&h, migrate());
    assert_eq!(result["maintenance_status"], "fail");
    assert!(
        result["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("could not run"),
        "{result}"
    );
    assert_eq!(h.host.ops(), ["resolve_target", "run_job"]);

    let h = harness().with_host(FakeHost::new());
    let result = maintenance(&h, migrate());
    assert_eq!(result["maintenance_status"], "fail");
    assert!(
        result["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot resolve the runtime target of verireel/testing"),
        "{result}"
    );

    let compose = Target {
        target_type: "compose".into(),
        ..lane_target("testing")
    };
    let h = harness().with_host(FakeHost::new().with_target(compose));
    let result = maintenance(&h, migrate());
    assert_eq!(result["maintenance_status"], "fail");
    assert!(
        result["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("application target"),
        "{result}"
    );
    assert_eq!(h.host.ops(), ["resolve_target"]);
}

#[test]
fn reset_testing_redeploys_after_the_reset_and_reports_a_failed_redeploy() {
    let reset = json!({"action": "reset-testing", "intent": "stable-testing-reset"});
    let h = harness().with_host(FakeHost::new().with_target(lane_target("testing")));
    let result = maintenance(&h, reset.clone());
    assert_eq!(result["maintenance_status"], "pass", "{result}");
    assert_eq!(result["schedule_name"], "ver-testing-reset");
    assert_eq!(h.host.ops(), ["resolve_target", "run_job", "deploy"]);
    let runs = job_runs(&h.host);
    assert!(
        runs[0][3].starts_with("sh -c node prisma/reset-testing-job.mjs && "),
        "{runs:?}"
    );

    let failing = FakeHost::new()
        .with_target(lane_target("testing"))
        .with_failure(
            "deploy",
            HostError::ProviderFailed("deploy: the provider failed; see service logs".into()),
        );
    let h = harness().with_host(failing);
    let result = maintenance(&h, reset);
    assert_eq!(result["maintenance_status"], "fail");
    let message = result["error_message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("redeploy after the testing reset failed"),
        "{message}"
    );
}

#[test]
fn bad_requests_are_refused_naming_the_field() {
    let preview = json!({"context": "verireel-testing", "instance": "preview", "preview_slug": "pr-3", "action": "delete-user", "intent": "remote-e2e-delete-user", "email": "a@example.com"});
    let preview_with = |patch: Value| {
        let mut request = preview.clone();
        if let (Value::Object(map), Value::Object(patch)) = (&mut request, patch) {
            map.extend(patch);
        }
        request
    };
    let cases = [
        (
            "testing_deploy",
            with("testing_deploy", json!({"instance": "prod"})),
            "instance",
        ),
        (
            "testing_deploy",
            with("testing_deploy", json!({"context": " "})),
            "context",
        ),
        (
            "testing_deploy",
            with("testing_deploy", json!({"artifact_id": ""})),
            "artifact_id",
        ),
        (
            "testing_deploy",
            with("testing_deploy", json!({"rollout_interval_seconds": 0})),
            "rollout_interval_seconds",
        ),
        (
            "prod_deploy",
            with("prod_deploy", json!({"instance": "testing"})),
            "instance",
        ),
        (
            "prod_deploy",
            with("prod_deploy", json!({"source_git_ref": " "})),
            "source_git_ref",
        ),
        (
            "testing_verification",
            with("testing_verification", json!({"instance": "prod"})),
            "instance",
        ),
        (
            "testing_verification",
            with("testing_verification", json!({"migration_status": "maybe"})),
            "migration_status",
        ),
        (
            "testing_verification",
            with(
                "testing_verification",
                json!({"owner_routes_status": "unknown"}),
            ),
            "owner_routes_status",
        ),
        (
            "testing_verification",
            with("testing_verification", json!({"deployment_record_id": ""})),
            "deployment_record_id",
        ),
        (
            "stable_environment",
            with("stable_environment", json!({"context": ""})),
            "context",
        ),
        (
            "runtime_verification",
            with("runtime_verification", json!({"timeout_seconds": 0})),
            "timeout_seconds",
        ),
        (
            "app_maintenance",
            json!({"instance": "preview", "action": "migrate", "intent": "stable-testing-migration"}),
            "instance",
        ),
        (
            "app_maintenance",
            json!({"action": "migrate", "intent": "stable-testing-migration", "preview_slug": "pr-1"}),
            "preview_slug",
        ),
        (
            "app_maintenance",
            json!({"action": "migrate", "intent": "stable-testing-migration", "application_name": "ver-testing-app"}),
            "application_name",
        ),
        (
            "app_maintenance",
            json!({"action": "migrate", "intent": "stable-testing-migration", "email": "a@example.com"}),
            "email",
        ),
        (
            "app_maintenance",
            json!({"action": "promote-owner", "intent": "owner-route-promote-owner"}),
            "email",
        ),
        (
            "app_maintenance",
            json!({"action": "migrate", "intent": "stable-testing-reset"}),
            "intent",
        ),
        (
            "app_maintenance",
            json!({"action": "delete-user", "intent": "remote-e2e-delete-user", "email": "a@example.com"}),
            "intent",
        ),
        (
            "app_maintenance",
            preview_with(json!({"instance": "testing"})),
            "instance",
        ),
        (
            "app_maintenance",
            preview_with(json!({"preview_slug": "pr-03"})),
            "preview_slug",
        ),
        (
            "app_maintenance",
            preview_with(json!({"preview_slug": ""})),
            "preview_slug",
        ),
        (
            "app_maintenance",
            preview_with(json!({"application_name": "ver-preview-pr-3-app"})),
            "application_name",
        ),
        (
            "app_maintenance",
            preview_with(json!({"preview_slug": "", "application_name": "ver-testing-app"})),
            "application_name",
        ),
        (
            "app_maintenance",
            preview_with(
                json!({"action": "reset-testing", "intent": "stable-testing-reset", "email": ""}),
            ),
            "action",
        ),
        (
            "prod_backup_gate",
            with("prod_backup_gate", json!({"instance": "testing"})),
            "instance",
        ),
        (
            "prod_backup_gate",
            with("prod_backup_gate", json!({"backup_record_id": " "})),
            "backup_record_id",
        ),
        (
            "prod_promotion",
            with("prod_promotion", json!({"from_instance": "prod"})),
            "from_instance",
        ),
        (
            "prod_promotion",
            with("prod_promotion", json!({"to_instance": "testing"})),
            "to_instance",
        ),
        (
            "prod_promotion",
            with("prod_promotion", json!({"promotion_record_id": ""})),
            "promotion_record_id",
        ),
        (
            "prod_promotion",
            with("prod_promotion", json!({"backup_record_id": ""})),
            "backup_record_id",
        ),
        (
            "prod_promotion",
            with("prod_promotion", json!({"source_health_status": "green"})),
            "source_health_status",
        ),
        (
            "prod_rollback",
            with("prod_rollback", json!({"instance": "testing"})),
            "instance",
        ),
        (
            "prod_rollback",
            with("prod_rollback", json!({"backup_record_id": " "})),
            "backup_record_id",
        ),
        (
            "preview_refresh",
            with("preview_refresh", json!({"preview_slug": "pr-8"})),
            "preview_slug",
        ),
        (
            "preview_refresh",
            with(
                "preview_refresh",
                json!({"anchor_pr_number": 0, "preview_slug": "pr-0"}),
            ),
            "anchor_pr_number",
        ),
        (
            "preview_refresh",
            with(
                "preview_refresh",
                json!({"preview_url": "mailto:x@example.com"}),
            ),
            "preview_url",
        ),
        (
            "preview_refresh",
            with("preview_refresh", json!({"anchor_head_sha": " "})),
            "anchor_head_sha",
        ),
        (
            "preview_refresh",
            with("preview_refresh", json!({"anchor_pr_url": ""})),
            "anchor_pr_url",
        ),
        (
            "preview_refresh",
            with("preview_refresh", json!({"image_reference": ""})),
            "image_reference",
        ),
        ("preview_inventory", json!({"context": " "}), "context"),
        (
            "preview_destroy",
            with("preview_destroy", json!({"preview_slug": "pr-70"})),
            "preview_slug",
        ),
        (
            "preview_destroy",
            with("preview_destroy", json!({"destroy_reason": ""})),
            "destroy_reason",
        ),
        (
            "preview_verification",
            with("preview_verification", json!({"verified_at": " "})),
            "verified_at",
        ),
        (
            "preview_verification",
            with("preview_verification", json!({"anchor_repo": ""})),
            "anchor_repo",
        ),
    ];
    let harness = harness();
    for (action_id, request, field) in cases {
        let error = answer(&harness, action_id, request.clone()).expect_err("refused");
        match error {
            DriverError::InvalidRequest(message) => assert!(
                message.starts_with(field),
                "{action_id} {request}: {message}"
            ),
            other => panic!("{action_id} {request}: {other:?}"),
        }
    }
}

#[test]
fn preview_verification_takes_exact_outcomes_only() {
    let error = answer(
        &harness(),
        "preview_verification",
        with(
            "preview_verification",
            json!({"verification_status": "success"}),
        ),
    )
    .expect_err("not a verification outcome");
    assert!(
        matches!(error, DriverError::InvalidRequest(ref m) if m.contains("success")),
        "{error:?}"
    );
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
