//! The descriptor must match the original registry row for row, and every
//! handler must refuse what the original refused before doing anything.
//! Behaviour tests live in the submodules.

mod fixtures;
mod github;
mod previews;
mod promotion;
mod rollback;
mod stable;
mod verification;

use launchplane_sdk::testing::Harness;
use launchplane_sdk::{Idempotency, Safety};
use serde_json::{Value, json};

use super::driver;

use launchplane_sdk::testing::{ExpectedAction as Row, expected as row};

/// Reference §5.2 (generic-web table) with the envelope keys of §3.6, except
/// that `prod_rollback` also annotates the lane's promotion and
/// `preview_refresh` records its preview and generation (as [L] did).
#[rustfmt::skip]
const REGISTRY: &[Row] = &[
    row("stable_deploy", "deploy", "generic_web_deploy.execute", Safety::Mutation, &["deployment"], true, "deploy", Idempotency::Optional),
    row("prod_promotion", "prod-promotion", "generic_web_prod_promotion.execute", Safety::Mutation, &["deployment", "promotion", "inventory"], true, "promotion", Idempotency::Optional),
    row("prod_promotion_workflow", "prod-promotion-workflow", "generic_web_prod_promotion.dispatch", Safety::Mutation, &[], true, "workflow", Idempotency::Optional),
    row("prod_rollback_plan", "prod-rollback-plan", "generic_web_prod_rollback.plan", Safety::SafeWrite, &["generic_web_rollback_plan"], true, "rollback_plan", Idempotency::Optional),
    row("prod_rollback", "prod-rollback", "generic_web_prod_rollback.execute", Safety::Destructive, &["generic_web_rollback_plan", "deployment", "promotion", "inventory"], true, "rollback", Idempotency::Optional),
    row("stable_verification", "stable-verification", "deployment.write", Safety::SafeWrite, &["deployment", "promotion", "inventory"], false, "verification", Idempotency::Optional),
    row("preview_desired_state", "preview-desired-state", "preview_desired_state.discover", Safety::SafeWrite, &["preview_desired_state"], true, "desired_state", Idempotency::Optional),
    row("preview_refresh", "preview-refresh", "preview_refresh.execute", Safety::Mutation, &["preview", "preview_generation"], true, "refresh", Idempotency::Optional),
    row("preview_inventory", "preview-inventory", "preview_inventory.read", Safety::SafeWrite, &["preview_inventory_scan"], true, "inventory", Idempotency::None),
    row("preview_readiness", "preview-readiness", "preview_readiness.evaluate", Safety::Read, &[], true, "readiness", Idempotency::None),
    row("preview_destroy", "preview-destroy", "preview_destroy.execute", Safety::Destructive, &["preview"], true, "destroy", Idempotency::Optional),
    row("preview_verification", "preview-verification", "preview_generation.write", Safety::SafeWrite, &["preview", "preview_generation"], false, "verification", Idempotency::Optional),
];

fn harness() -> Harness {
    Harness::new(driver()).for_product("shop", "shop-testing")
}

#[test]
fn descriptor_lists_exactly_the_registry_actions() {
    launchplane_sdk::testing::assert_catalogue(&driver(), REGISTRY, &[]);
}

#[test]
fn descriptor_identity_and_hooks() {
    let descriptor = driver().describe();
    assert_eq!(descriptor.driver_id, "generic-web");
    assert_eq!(descriptor.product, "generic-web");
    assert_eq!(descriptor.base_driver_id, None);
    assert!(descriptor.context_patterns.is_empty());
    assert_eq!(
        descriptor.hooks_called,
        [
            "pre-deploy",
            "post-deploy",
            "promotion-gate",
            "rollback-select",
            "preview-env",
            "verify"
        ]
    );
    assert!(descriptor.hooks_implemented.is_empty());
    let capability_ids: Vec<&str> = descriptor
        .capabilities
        .iter()
        .map(|c| c.capability_id.as_str())
        .collect();
    assert_eq!(
        capability_ids,
        [
            "image_deployable",
            "health_checked",
            "previewable",
            "preview_inventory_managed",
            "pr_feedback"
        ]
    );
    for capability in &descriptor.capabilities {
        for action in &capability.actions {
            assert!(
                descriptor.actions.iter().any(|a| &a.action_id == action),
                "{action}"
            );
        }
    }
    assert_eq!(descriptor.setting_groups.len(), 1);
}

#[test]
fn every_input_schema_refuses_unknown_fields() {
    launchplane_sdk::testing::assert_input_schemas_closed(&driver());
}

fn valid_request(action_id: &str) -> Value {
    match action_id {
        "stable_deploy" => {
            json!({"product": "shop", "instance": "testing", "artifact_id": fixtures::image('a'), "source_git_ref": "abc1234"})
        }
        "prod_promotion" => {
            json!({"product": "shop", "artifact_id": fixtures::image('a'), "source_git_ref": "abc1234"})
        }
        "prod_promotion_workflow" => json!({"product": "shop", "context": "shop-testing"}),
        "prod_rollback_plan" | "prod_rollback" => {
            json!({"product": "shop", "rollback_deployment_record_id": "deployment-1"})
        }
        "stable_verification" => {
            json!({"context": "shop-prod", "instance": "prod", "deployment_record_id": "deployment-1", "verification_status": "success", "verified_at": "2026-05-03T10:00:00Z"})
        }
        "preview_desired_state" | "preview_inventory" | "preview_readiness" => {
            json!({"product": "shop"})
        }
        "preview_refresh" => {
            json!({"product": "shop", "preview_slug": "pr-7", "preview_url": "https://pr-7.preview.shop.example", "image_reference": fixtures::image('a')})
        }
        "preview_destroy" => {
            json!({"product": "shop", "preview_slug": "pr-7", "destroy_reason": "closed"})
        }
        "preview_verification" => {
            json!({"context": "shop-preview", "anchor_repo": "shop", "anchor_pr_number": 7, "verification_status": "pass", "verified_at": "2026-05-03T10:00:00Z"})
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

#[test]
fn every_action_is_built() {
    for row in REGISTRY.iter() {
        let harness = harness();
        let result = harness.call(row.action_id, "testing", valid_request(row.action_id));
        assert!(
            !matches!(result, Err(launchplane_sdk::DriverError::NotImplemented(_))),
            "{}: {result:?}",
            row.action_id
        );
    }
}

#[test]
fn bad_requests_are_refused_naming_the_field() {
    let cases = [
        ("stable_deploy", json!({"product": "other"}), "product"),
        ("stable_deploy", json!({"product": "  "}), "product"),
        ("stable_deploy", json!({"instance": " "}), "instance"),
        ("stable_deploy", json!({"artifact_id": ""}), "artifact_id"),
        (
            "stable_deploy",
            json!({"source_git_ref": " "}),
            "source_git_ref",
        ),
        (
            "stable_deploy",
            json!({"timeout_seconds": 0}),
            "timeout_seconds",
        ),
        (
            "prod_promotion",
            json!({"from_instance": "prod", "to_instance": "PROD"}),
            "to_instance",
        ),
        (
            "prod_promotion",
            json!({"from_instance": "dev"}),
            "from_instance",
        ),
        (
            "prod_promotion",
            json!({"to_instance": "staging"}),
            "to_instance",
        ),
        (
            "prod_promotion",
            json!({"backup_required": true}),
            "backup_record_id",
        ),
        ("prod_promotion", json!({"wait": false}), "wait"),
        ("prod_promotion", json!({"product": "other"}), "product"),
        ("prod_promotion_workflow", json!({"context": ""}), "context"),
        (
            "prod_promotion_workflow",
            json!({"observe_timeout_seconds": 61}),
            "observe_timeout_seconds",
        ),
        (
            "prod_rollback_plan",
            json!({"rollback_deployment_record_id": " "}),
            "rollback_deployment_record_id",
        ),
        (
            "prod_rollback",
            json!({"backup_required": true, "backup_record_id": " "}),
            "backup_record_id",
        ),
        ("prod_rollback", json!({"instance": ""}), "instance"),
        (
            "stable_verification",
            json!({"verification_status": "pending"}),
            "verification_status",
        ),
        (
            "stable_verification",
            json!({"verification_status": "maybe"}),
            "verification_status",
        ),
        (
            "stable_verification",
            json!({"checked_urls": ["https://shop.example/api/health"]}),
            "timeout_seconds",
        ),
        (
            "stable_verification",
            json!({"deployment_record_id": ""}),
            "deployment_record_id",
        ),
        (
            "stable_verification",
            json!({"verified_at": " "}),
            "verified_at",
        ),
        (
            "preview_verification",
            json!({"anchor_pr_number": 0}),
            "anchor_pr_number",
        ),
        (
            "preview_verification",
            json!({"verification_status": ""}),
            "verification_status",
        ),
        (
            "preview_desired_state",
            json!({"max_pages": 21}),
            "max_pages",
        ),
        ("preview_desired_state", json!({"label": " "}), "label"),
        ("preview_inventory", json!({"source": ""}), "source"),
        ("preview_readiness", json!({"product": "other"}), "product"),
        (
            "preview_refresh",
            json!({"preview_url": "pr-7.example.com"}),
            "preview_url",
        ),
        (
            "preview_refresh",
            json!({"anchor_pr_url": "ftp://github.com/o/r/pull/7"}),
            "anchor_pr_url",
        ),
        (
            "preview_refresh",
            json!({"image_reference": ""}),
            "image_reference",
        ),
        (
            "preview_refresh",
            json!({"preview_slug": ""}),
            "preview_slug",
        ),
        (
            "preview_destroy",
            json!({"destroy_reason": " "}),
            "destroy_reason",
        ),
        (
            "stable_deploy",
            json!({"artifact_id": "ghcr.io/o/shop:latest"}),
            "artifact_id",
        ),
        (
            "prod_promotion",
            json!({"artifact_id": "ghcr.io/o/shop:1.2"}),
            "artifact_id",
        ),
        (
            "stable_deploy",
            json!({"health_timeout_seconds": 0}),
            "health_timeout_seconds",
        ),
        ("preview_refresh", json!({"preview_url": ""}), "preview_url"),
    ];
    let harness = harness();
    for (action_id, patch, field) in cases {
        let request = with(action_id, patch);
        let error = harness
            .call(action_id, "testing", request.clone())
            .expect_err("refused");
        match error {
            launchplane_sdk::DriverError::InvalidRequest(message) => {
                assert!(
                    message.starts_with(field),
                    "{action_id} {request}: {message}"
                )
            }
            other => panic!("{action_id} {request}: {other:?}"),
        }
    }
}

#[test]
fn unknown_fields_are_refused() {
    let error = harness()
        .call(
            "stable_deploy",
            "testing",
            with("stable_deploy", json!({"image_reference": "x"})),
        )
        .expect_err("unknown field");
    assert!(
        matches!(error, launchplane_sdk::DriverError::InvalidRequest(ref m) if m.contains("image_reference"))
    );
}

#[test]
fn release_status_spellings_reach_the_schema() {
    let descriptor = driver().describe();
    let action = descriptor
        .actions
        .iter()
        .find(|a| a.action_id == "stable_verification")
        .expect("declared");
    let spellings = &action.input_schema["properties"]["verification_status"]["enum"];
    assert!(
        spellings
            .as_array()
            .is_some_and(|s| s.contains(&json!("success"))),
        "{spellings}"
    );
}
