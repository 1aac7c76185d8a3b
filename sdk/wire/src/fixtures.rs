//! JSON fixtures of every record family and the helpers to bend them
//! (`set`, `insert`, `remove`) and check them (`parse`, `reject`,
//! `round_trip`): the models' unit tests here, and through the `fixtures`
//! feature the host's own model tests, start from these.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::validation::{Validate, ValidationError, parse_record};

/// Parses and validates `value` as `T`, panicking with the error.
pub fn parse<T: DeserializeOwned + Validate>(value: Value) -> T {
    parse_record(&value, "").unwrap_or_else(|e| panic!("{e}"))
}

/// The error of parsing and validating `value` as `T`.
pub fn reject<T: DeserializeOwned + Validate + std::fmt::Debug>(value: Value) -> ValidationError {
    parse_record::<T>(&value, "").expect_err("expected a validation error")
}

/// Asserts `value` is rejected at `field`.
#[track_caller]
pub fn assert_rejected_at<T: DeserializeOwned + Validate + std::fmt::Debug>(
    value: Value,
    field: &str,
) {
    let error = reject::<T>(value);
    assert_eq!(error.field, field, "{error}");
}

/// Serialises and deserialises `record`, asserting equality, and returns the
/// serialised JSON.
#[track_caller]
pub fn round_trip<T>(record: &T) -> Value
where
    T: serde::Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let value = serde_json::to_value(record).expect("serialise");
    let back: T = serde_json::from_value(value.clone()).expect("deserialise");
    assert_eq!(&back, record);
    let text = serde_json::to_string(record).expect("serialise to text");
    let back: T = serde_json::from_str(&text).expect("deserialise from text");
    assert_eq!(&back, record);
    value
}

/// Sets `pointer` (JSON pointer) in `value` to `new`; a missing last key
/// of an object is added.
#[track_caller]
pub fn set(mut value: Value, pointer: &str, new: Value) -> Value {
    if let Some(slot) = value.pointer_mut(pointer) {
        *slot = new;
        return value;
    }
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    insert(value, parent, key, new)
}

/// Adds key `key` = `new` to the object at `pointer`.
#[track_caller]
pub fn insert(mut value: Value, pointer: &str, key: &str, new: Value) -> Value {
    value
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {pointer}"))
        .insert(key.to_string(), new);
    value
}

/// Removes key `key` from the object at `pointer`.
#[track_caller]
pub fn remove(mut value: Value, pointer: &str, key: &str) -> Value {
    value
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {pointer}"))
        .remove(key);
    value
}

/// A passed compose deploy of `cm-testing`.
pub fn deploy_evidence() -> Value {
    json!({
        "target_name": "cm-testing",
        "target_type": "compose",
        "deploy_mode": "dokploy-compose-api",
        "deployment_id": "dep-1",
        "status": "pass",
        "started_at": "2026-04-29T19:58:38Z",
        "finished_at": "2026-04-29T20:01:00Z"
    })
}

/// A minimal deployment record (only required fields).
pub fn deployment_minimal() -> Value {
    json!({
        "record_id": "deployment-20260429T195838Z-cm-testing",
        "context": "cm",
        "instance": "testing",
        "source_git_ref": "0123456789abcdef0123456789abcdef01234567",
        "deploy": {"target_name": "cm-testing", "target_type": "compose", "deploy_mode": "dokploy-compose-api"}
    })
}

/// A deployment record with every field set.
pub fn deployment_full() -> Value {
    json!({
        "schema_version": 1,
        "record_id": "deployment-20260429T195838Z-cm-testing",
        "artifact_identity": {"artifact_id": "artifact-cm-0123456", "manifest_version": 1},
        "context": "cm",
        "instance": "testing",
        "source_git_ref": "0123456789abcdef0123456789abcdef01234567",
        "wait_for_completion": true,
        "verify_destination_health": true,
        "no_cache": false,
        "delegated_executor": "control-plane.dokploy",
        "resolved_target": {"target_type": "compose", "target_id": "cmp-1", "target_name": "cm-testing"},
        "runtime_source": {"ODOO_DB_NAME": "runtime-record"},
        "deploy": deploy_evidence(),
        "post_deploy_update": {"attempted": true, "status": "pass", "detail": "ok"},
        "destination_health": {
            "verified": true,
            "urls": ["https://cm-testing.example.com/web/health"],
            "timeout_seconds": 60,
            "status": "pass"
        }
    })
}

/// A promotion record with only its required fields.
pub fn promotion_minimal() -> Value {
    json!({
        "record_id": "promotion-20260429T195838Z-cm-testing-to-prod",
        "artifact_identity": {"artifact_id": "artifact-cm-0123456"},
        "context": "cm",
        "from_instance": "testing",
        "to_instance": "prod",
        "deploy": {"target_name": "cm-prod", "target_type": "compose", "deploy_mode": "dokploy-compose-api"}
    })
}

/// A promotion linked to a prod deployment with a passing backup gate.
pub fn promotion_full() -> Value {
    json!({
        "schema_version": 1,
        "record_id": "promotion-20260429T195838Z-cm-testing-to-prod",
        "artifact_identity": {"artifact_id": "artifact-cm-0123456", "manifest_version": 1},
        "deployment_record_id": "deployment-20260429T200000Z-cm-prod",
        "backup_record_id": "backup-gate-cm-prod-1",
        "context": "cm",
        "from_instance": "testing",
        "to_instance": "prod",
        "source_health": {"verified": true, "urls": ["https://cm-testing.example.com/web/health"], "timeout_seconds": 30, "status": "pass"},
        "backup_gate": {"required": true, "status": "pass", "evidence": {"snapshot": "vzdump-1"}},
        "deploy": {"target_name": "cm-prod", "target_type": "compose", "deploy_mode": "dokploy-compose-api", "status": "pass"},
        "post_deploy_update": {"attempted": false, "status": "skipped", "detail": ""},
        "destination_health": {"verified": true, "urls": ["https://cm.example.com/web/health"], "timeout_seconds": 30, "status": "pass"},
        "rollback": {"attempted": false, "status": "skipped"},
        "rollback_health": {}
    })
}

/// A passing backup gate of `cm/prod`.
pub fn backup_gate() -> Value {
    json!({
        "record_id": "backup-gate-cm-prod-1",
        "context": "cm",
        "instance": "prod",
        "created_at": "2026-04-29T19:58:38Z",
        "source": "odoo-prod-backup-gate",
        "status": "pass",
        "evidence": {"database_dump": "/backups/cm.dump"}
    })
}

/// The ship tuple of `cm/testing`.
pub fn release_tuple() -> Value {
    json!({
        "tuple_id": "cm-testing-artifact-cm-0123456",
        "context": "cm",
        "channel": "testing",
        "artifact_id": "artifact-cm-0123456",
        "repo_shas": {"tenant-cm": "0123456789abcdef0123456789abcdef01234567", "shared-addons": "abcdef1"},
        "image_repository": "ghcr.io/acme/cm",
        "image_digest": "sha256:aaaa",
        "deployment_record_id": "deployment-20260429T195838Z-cm-testing",
        "provenance": "ship",
        "minted_at": "2026-04-29T20:00:00Z"
    })
}

/// The manifest of `artifact-cm-0123456`, with two addon sources.
pub fn artifact_manifest() -> Value {
    json!({
        "artifact_id": "artifact-cm-0123456",
        "source_commit": "0123456789abcdef0123456789abcdef01234567",
        "enterprise_base_digest": "sha256:bbbb",
        "addon_sources": [
            {"repository": "https://github.com/acme/odoo-shared-addons.git", "ref": "abcdef1234567"},
            {"repository": "acme/tools", "ref": "1234567"}
        ],
        "addon_selectors": [{"repository": "acme/tools", "selector": "main", "resolved_ref": "1234567"}],
        "image": {"repository": "ghcr.io/acme/cm", "digest": "sha256:aaaa", "tags": ["v1"]}
    })
}

/// The `preview` of generation evidence for PR 42.
pub fn preview_request() -> Value {
    json!({
        "context": "cm",
        "anchor_repo": "acme/tenant-cm",
        "anchor_pr_number": 42,
        "anchor_pr_url": "https://github.com/acme/tenant-cm/pull/42",
        "canonical_url": "",
        "state": "pending",
        "created_at": "2026-04-29T19:00:00Z"
    })
}

/// The `generation` of generation evidence for PR 42, in `state`.
pub fn generation_request(state: &str) -> Value {
    json!({
        "context": "cm",
        "anchor_repo": "acme/tenant-cm",
        "anchor_pr_number": 42,
        "anchor_pr_url": "https://github.com/acme/tenant-cm/pull/42",
        "anchor_head_sha": "abcdef1234567",
        "state": state,
        "requested_reason": "github_pr_event_synchronize",
        "requested_at": "2026-04-29T19:10:00Z",
        "resolved_manifest_fingerprint": "launchplane-manifest-0123456789abcdef",
        "source_map": [{"repo": "acme/tenant-cm", "git_sha": "abcdef1234567", "selection": "anchor"}],
        "companion_summaries": [{"repo": "acme/shared-addons", "pr_number": 7, "head_sha": "1234567", "pr_url": "https://github.com/acme/shared-addons/pull/7"}]
    })
}

/// The `destroy` of destroyed evidence for PR 42.
pub fn destroy_request() -> Value {
    json!({
        "context": "cm",
        "anchor_repo": "acme/tenant-cm",
        "anchor_pr_number": 42,
        "destroyed_at": "2026-04-30T08:00:00Z",
        "destroy_reason": "pull_request_closed"
    })
}

/// A minimal [S] product profile.
pub fn product_profile() -> Value {
    json!({
        "product": "sellyouroutboard",
        "display_name": "Sell Your Outboard",
        "repository": "acme/sellyouroutboard",
        "driver_id": "generic-web",
        "image": {"repository": "ghcr.io/acme/sellyouroutboard"},
        "runtime_port": 3000,
        "health_path": "/api/health",
        "lanes": [
            {"instance": "testing", "context": "syo-testing", "base_url": "https://testing.syo.example"},
            {"instance": "prod", "context": "syo", "base_url": "https://syo.example"}
        ],
        "preview": {"enabled": true, "context": "syo-preview"},
        "updated_at": "2026-04-29T19:00:00Z",
        "source": "operator:test"
    })
}

/// A passing scan of a preview context that found two previews.
pub fn preview_inventory_scan() -> Value {
    json!({
        "record_id": "preview-inventory-scan-cm-preview-20260429T190000Z",
        "scan_id": "preview-inventory-scan-cm-preview-20260429T190000Z",
        "context": "cm-preview",
        "scanned_at": "2026-04-29T19:00:00Z",
        "source": "nightly-sweep",
        "status": "pass",
        "preview_count": 2,
        "preview_slugs": ["pr-7", "pr-9"],
        "error_message": ""
    })
}

/// The inventory of `cm/testing` after [`deployment_full`].
pub fn inventory() -> Value {
    json!({
        "context": "cm",
        "instance": "testing",
        "artifact_identity": {"artifact_id": "artifact-cm-0123456", "manifest_version": 1},
        "source_git_ref": "0123456789abcdef0123456789abcdef01234567",
        "deploy": deploy_evidence(),
        "post_deploy_update": {"attempted": true, "status": "pass", "detail": "ok"},
        "destination_health": {
            "verified": true,
            "urls": ["https://cm-testing.example.com/web/health"],
            "timeout_seconds": 60,
            "status": "pass"
        },
        "updated_at": "2026-04-29T20:02:00Z",
        "deployment_record_id": "deployment-20260429T195838Z-cm-testing"
    })
}

/// The active preview of PR 42 of `acme/tenant-cm` in `cm`.
pub fn preview() -> Value {
    json!({
        "preview_id": "preview-cm-acme-tenant-cm-pr-42",
        "context": "cm",
        "anchor_repo": "acme/tenant-cm",
        "anchor_pr_number": 42,
        "anchor_pr_url": "https://github.com/acme/tenant-cm/pull/42",
        "preview_label": "cm/acme/tenant-cm/pr-42",
        "canonical_url": "https://previews.example.com/previews/cm/acme/tenant-cm/pr-42",
        "state": "active",
        "created_at": "2026-04-29T19:00:00Z",
        "updated_at": "2026-04-29T19:20:00Z",
        "eligible_at": "2026-04-29T19:00:00Z",
        "active_generation_id": "preview-cm-acme-tenant-cm-pr-42-generation-0001",
        "serving_generation_id": "preview-cm-acme-tenant-cm-pr-42-generation-0001",
        "latest_generation_id": "preview-cm-acme-tenant-cm-pr-42-generation-0001",
        "latest_manifest_fingerprint": "launchplane-manifest-0123456789abcdef"
    })
}

/// The ready first generation of [`preview`].
pub fn preview_generation() -> Value {
    json!({
        "generation_id": "preview-cm-acme-tenant-cm-pr-42-generation-0001",
        "preview_id": "preview-cm-acme-tenant-cm-pr-42",
        "sequence": 1,
        "state": "ready",
        "requested_reason": "github_pr_event_synchronize",
        "requested_at": "2026-04-29T19:10:00Z",
        "ready_at": "2026-04-29T19:20:00Z",
        "resolved_manifest_fingerprint": "launchplane-manifest-0123456789abcdef",
        "source_map": [{"repo": "acme/tenant-cm", "git_sha": "abcdef1234567", "selection": "anchor"}],
        "anchor_summary": {"repo": "acme/tenant-cm", "pr_number": 42, "head_sha": "abcdef1234567", "pr_url": "https://github.com/acme/tenant-cm/pull/42"},
        "companion_summaries": [{"repo": "acme/shared-addons", "pr_number": 7, "head_sha": "1234567", "pr_url": "https://github.com/acme/shared-addons/pull/7"}],
        "deploy_status": "pass",
        "verify_status": "pass",
        "overall_health_status": "pass"
    })
}
