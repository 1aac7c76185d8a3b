//! Every handler and adapter refuses what the original refused, naming
//! the field, before doing anything.

use launchplane_sdk::DriverError;
use serde_json::{Value, json};

use super::{answer, harness, with};

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
