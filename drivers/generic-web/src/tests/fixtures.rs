//! A product `shop` with testing and prod lanes, previews enabled, and a
//! fake host that knows its targets.

use launchplane_sdk::host::{HealthResult, Target};
use launchplane_sdk::testing::{FakeHost, Harness};
use serde_json::{Value, json};

use crate::driver;

/// The fake host's clock (every record id carries it).
pub const NOW: &str = "2026-01-01T00:00:00Z";
pub const TS: &str = "20260101T000000Z";

/// `ghcr.io/acme/shop@sha256:<64 × c>`.
pub fn image(c: char) -> String {
    format!("ghcr.io/acme/shop@sha256:{}", c.to_string().repeat(64))
}

pub fn profile() -> Value {
    json!({
        "record_id": "shop",
        "schema_version": 1,
        "product": "shop",
        "display_name": "Shop",
        "repository": "acme/shop",
        "driver_id": "generic-web",
        "image": {"repository": "ghcr.io/acme/shop"},
        "runtime_port": 8080,
        "health_path": "/api/health",
        "lanes": [
            {"instance": "testing", "context": "shop-testing", "base_url": "https://testing.shop.example", "health_url": ""},
            {"instance": "prod", "context": "shop-prod", "base_url": "https://shop.example", "health_url": ""}
        ],
        "preview": {
            "enabled": true,
            "context": "shop-preview",
            "template_instance": "testing",
            "required_template_env_keys": ["DATABASE_URL"],
            "copied_env_keys": ["DATABASE_URL"],
            "override_env": {"PREVIEW": "1"},
            "preview_url_env_keys": ["PUBLIC_URL"],
            "preview_domain_env_keys": ["PUBLIC_HOST"]
        },
        "updated_at": NOW,
        "source": "test"
    })
}

pub fn target(context: &str, instance: &str, domain: &str) -> Target {
    Target {
        context: context.to_string(),
        instance: instance.to_string(),
        target_type: "application".to_string(),
        target_name: format!("{context}-app"),
        domains: vec![domain.to_string()],
        healthcheck_path: "/api/health".to_string(),
    }
}

/// The profile and both lane targets.
pub fn host() -> FakeHost {
    FakeHost::new()
        .with_record("product_profile", profile())
        .with_target(target("shop-testing", "testing", "testing.shop.example"))
        .with_target(target("shop-prod", "prod", "shop.example"))
}

pub const TESTING_HEALTH: &str = "https://testing.shop.example/api/health";
pub const PROD_HEALTH: &str = "https://shop.example/api/health";

/// A harness for product `shop` invoked in `context`.
pub fn harness(context: &str, host: FakeHost) -> Harness {
    Harness::new(driver())
        .for_product("shop", context)
        .with_host(host)
}

pub fn health(status: &str, url: &str, identity: &str) -> HealthResult {
    HealthResult {
        status: status.to_string(),
        url: url.to_string(),
        status_code: Some(if status == "pass" { 200 } else { 503 }),
        identity: identity.to_string(),
        detail: if status == "pass" {
            String::new()
        } else {
            "service unavailable".to_string()
        },
    }
}

/// Sorted top-level keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    list.sort();
    list
}

/// The fields of the host's `DeploymentRecord`: this driver writes every
/// one (`delegated_executor` at its only value, `resolved_target` null).
pub fn deployment_fields() -> Vec<String> {
    sorted(&[
        "schema_version",
        "record_id",
        "artifact_identity",
        "context",
        "instance",
        "source_git_ref",
        "wait_for_completion",
        "verify_destination_health",
        "no_cache",
        "delegated_executor",
        "resolved_target",
        "runtime_source",
        "deploy",
        "post_deploy_update",
        "destination_health",
    ])
}

/// The fields of the host's `PromotionRecord`.
pub fn promotion_fields() -> Vec<String> {
    sorted(&[
        "schema_version",
        "record_id",
        "artifact_identity",
        "deployment_record_id",
        "backup_record_id",
        "context",
        "from_instance",
        "to_instance",
        "source_health",
        "backup_gate",
        "deploy",
        "post_deploy_update",
        "destination_health",
        "rollback",
        "rollback_health",
    ])
}

/// A stored deployment of `shop-prod/prod`.
pub fn prod_deployment(id: &str, artifact: &str, deploy: &str, health: &str) -> Value {
    json!({
        "schema_version": 1,
        "record_id": id,
        "artifact_identity": {"artifact_id": artifact, "manifest_version": 1},
        "context": "shop-prod",
        "instance": "prod",
        "source_git_ref": format!("ref-{id}"),
        "wait_for_completion": true,
        "verify_destination_health": true,
        "no_cache": false,
        "resolved_target": null,
        "runtime_source": {"image_reference": artifact},
        "deploy": {"target_name": "shop-prod-app", "target_type": "application", "deploy_mode": "image-reference",
                   "deployment_id": "", "status": deploy, "started_at": NOW, "finished_at": NOW},
        "post_deploy_update": {"attempted": false, "status": "skipped", "detail": ""},
        "destination_health": {"verified": health != "skipped", "urls": if health == "skipped" { json!([]) } else { json!([PROD_HEALTH]) },
                               "timeout_seconds": 60, "status": health}
    })
}

pub fn inventory(context: &str, instance: &str, deployment: &str, artifact: &str) -> Value {
    json!({
        "record_id": format!("{context}-{instance}"),
        "schema_version": 1,
        "context": context,
        "instance": instance,
        "artifact_identity": {"artifact_id": artifact, "manifest_version": 1},
        "source_git_ref": "abc1234",
        "deploy": {"target_name": "x", "target_type": "application", "deploy_mode": "image-reference",
                   "status": "pass", "started_at": NOW, "finished_at": NOW},
        "updated_at": NOW,
        "deployment_record_id": deployment,
    })
}

/// The op names after the first `skip` calls.
pub fn ops_after(harness: &Harness, skip: usize) -> Vec<String> {
    harness.host.ops().into_iter().skip(skip).collect()
}

/// The hook names called, in order, with their payloads.
pub fn hook_calls(harness: &Harness) -> Vec<(String, Value)> {
    harness
        .host
        .calls()
        .into_iter()
        .filter(|c| c.op == "call_hook")
        .map(|c| {
            (
                c.args[0].clone(),
                serde_json::from_str(&c.args[1]).expect("hook payloads are JSON"),
            )
        })
        .collect()
}

/// The args of every call of `op`.
pub fn args_of(harness: &Harness, op: &str) -> Vec<Vec<String>> {
    harness
        .host
        .calls()
        .into_iter()
        .filter(|c| c.op == op)
        .map(|c| c.args)
        .collect()
}

/// Every stored record of the kinds this driver writes passes the host's
/// validating model of its kind (`lifecycle_records::check_host_rules`):
/// what the driver writes is what the host accepts. The fake host adds a
/// `record_id` to every record it stores; preview records have none, so it
/// is dropped before the check.
#[track_caller]
pub fn assert_host_accepts_the_records(harness: &Harness) {
    for kind in [
        "deployment",
        "promotion",
        "preview",
        "preview_generation",
        "preview_inventory_scan",
    ] {
        for mut record in harness.host.records(kind) {
            if matches!(kind, "preview" | "preview_generation")
                && let Value::Object(map) = &mut record
            {
                map.remove("record_id");
            }
            if let Err(e) = crate::records::check_host_rules(kind, &record) {
                panic!("the host refuses a {kind} record: {e}\n{record}");
            }
        }
    }
}
