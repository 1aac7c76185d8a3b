//! The descriptor must match the original registry row for row.

use launchplane_sdk::testing::{ExpectedAction as Row, FakeHost, expected as row};
use launchplane_sdk::{DriverError, Idempotency, Safety};
use serde_json::json;

use super::super::driver;
use super::{answer, harness, lane_target, lifecycle, testing_deployment, valid_request};

const NONE: &[&str] = &[];
/// An action that runs a generic-web action declares only what its own
/// step (`adapt-request`) writes: the base handler runs with the base
/// action's writes.
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
    row("prod_promotion", "prod-promotion", "verireel_prod_promotion.execute", Safety::Mutation, &["promotion"], true, "promotion", Idempotency::Optional),
    row("prod_rollback", "prod-rollback", "verireel_prod_rollback.execute", Safety::Destructive, BASE_WRITES, true, "rollback", Idempotency::Optional),
    row("preview_refresh", "preview-refresh", "verireel_preview_refresh.execute", Safety::Mutation, BASE_WRITES, true, "refresh", Idempotency::Optional),
    row("preview_inventory", "preview-inventory", "verireel_preview_inventory.read", Safety::Read, NONE, true, "inventory", Idempotency::None),
    row("preview_destroy", "preview-destroy", "verireel_preview_destroy.execute", Safety::Destructive, BASE_WRITES, true, "destroy", Idempotency::Optional),
    row("preview_verification", "preview-verification", "preview_generation.write", Safety::SafeWrite, BASE_WRITES, false, "verification", Idempotency::Optional),
];

#[test]
fn descriptor_lists_exactly_the_registry_actions() {
    // The prod backup gate is a durable operation, as the original ran it
    // in the background.
    launchplane_sdk::testing::assert_catalogue(&driver(), REGISTRY, &["prod_backup_gate"]);
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
            "adapt-result",
            "admit-operation"
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
