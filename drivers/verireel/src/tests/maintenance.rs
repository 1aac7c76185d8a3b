//! App maintenance: the original's variants, named jobs, retries.

use launchplane_sdk::DriverError;
use launchplane_sdk::prelude::{HostError, Target};
use launchplane_sdk::testing::{FakeHost, Harness};
use serde_json::{Value, json};

use super::{harness, lane_target};

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

pub(super) fn preview_app(pr: u32) -> launchplane_sdk::prelude::PreviewApp {
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
