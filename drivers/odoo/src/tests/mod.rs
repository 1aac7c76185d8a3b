//! The descriptor must match the original registry row for row, and every
//! handler must refuse what the original refused before doing anything.

use launchplane_sdk::testing::{FakeHost, Harness};
use launchplane_sdk::{DriverError, Idempotency, Safety};
use serde_json::{Value, json};

use super::driver;

use launchplane_sdk::testing::{ExpectedAction as Row, expected as row};

const NONE: &[&str] = &[];
const OVERRIDE: &[&str] = &["odoo_instance_override"];
/// An action that runs a generic-web action writes what that one declares;
/// writes of its own are its `adapt-request` step's (the promotion run's
/// backup gate).
const BASE_WRITES: &[&str] = &[];

/// Reference §5.2 (odoo table) with the routes and envelope keys of §3.7.
#[rustfmt::skip]
const REGISTRY: &[Row] = &[
    row("artifact_publish_inputs", "artifact-publish-inputs", "odoo_artifact_publish_inputs.read", Safety::Read, NONE, true, "inputs", Idempotency::Optional),
    row("artifact_publish", "artifact-publish", "odoo_artifact_publish.write", Safety::SafeWrite, &["artifact_manifest"], true, "publish", Idempotency::Optional),
    row("post_deploy", "post-deploy", "odoo_post_deploy.execute", Safety::Mutation, OVERRIDE, true, "post_deploy", Idempotency::Optional),
    row("config_parameter_override", "config-parameter-override", "odoo_config_parameter_override.write", Safety::SafeWrite, OVERRIDE, true, "override", Idempotency::Optional),
    row("website_bootstrap_override", "website-bootstrap-override", "odoo_website_bootstrap_override.write", Safety::SafeWrite, OVERRIDE, true, "override", Idempotency::Optional),
    row("stable_bootstrap", "stable-bootstrap", "odoo_stable_bootstrap.execute", Safety::Destructive, BASE_WRITES, true, "bootstrap", Idempotency::Required),
    row("preview_apply_inputs", "preview-apply-inputs", "odoo_preview_apply_inputs.read", Safety::Read, NONE, true, "inputs", Idempotency::Optional),
    row("preview_apply", "preview-apply", "odoo_preview_apply.execute", Safety::Destructive, NONE, true, "apply", Idempotency::Optional),
    row("prod_backup_gate", "prod-backup-gate", "odoo_prod_backup_gate.execute", Safety::SafeWrite, &["backup_gate"], true, "backup_gate", Idempotency::Optional),
    row("prod_promotion", "prod-promotion", "odoo_prod_promotion.execute", Safety::Mutation, BASE_WRITES, true, "promotion", Idempotency::Optional),
    row("prod_rollback", "prod-rollback", "odoo_prod_rollback.execute", Safety::Destructive, BASE_WRITES, true, "rollback", Idempotency::Optional),
    row("target_replacement_plan", "target-replacement-plan", "odoo_target_replacement_plan.read", Safety::Read, NONE, true, "replacement", Idempotency::Optional),
    row("target_replacement_apply", "target-replacement-apply", "odoo_target_replacement_apply.execute", Safety::Mutation, BASE_WRITES, true, "replacement", Idempotency::Required),
    row("prod_promotion_inputs", "prod-promotion-inputs", "odoo_prod_promotion_inputs.read", Safety::Read, NONE, true, "inputs", Idempotency::Optional),
    row("prod_promotion_run", "prod-promotion-run", "odoo_prod_promotion_run.execute", Safety::Mutation, &["backup_gate", "deployment", "promotion", "inventory", "release_tuple"], true, "run", Idempotency::Optional),
];

/// The two actions the original runs as durable operations.
const ASYNC: &[&str] = &["stable_bootstrap", "target_replacement_apply"];

pub(super) fn harness() -> Harness {
    Harness::new(driver()).for_product("odoo", "cm")
}

#[test]
fn descriptor_lists_exactly_the_registry_actions() {
    launchplane_sdk::testing::assert_catalogue(&driver(), REGISTRY, ASYNC);
}

#[test]
fn descriptor_identity() {
    let descriptor = driver().describe();
    assert_eq!(descriptor.driver_id, "odoo");
    assert_eq!(descriptor.product, "odoo");
    assert_eq!(descriptor.base_driver_id.as_deref(), Some("generic-web"));
    assert_eq!(descriptor.context_patterns, ["cm", "opw"]);
    assert!(descriptor.hooks_called.is_empty());
    assert_eq!(
        descriptor.hooks_implemented,
        [
            "post-deploy",
            "promotion-gate",
            "rollback-select",
            "preview-env",
            "verify",
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
        [
            "artifact_publish",
            "post_deploy_settings",
            "stable_promotion",
            "previewable",
            "preview_inventory_managed"
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
    let groups: Vec<&str> = descriptor
        .setting_groups
        .iter()
        .map(|g| g.group_id.as_str())
        .collect();
    assert_eq!(groups, ["runtime_environment", "odoo_instance_overrides"]);
}

#[test]
fn every_input_schema_refuses_unknown_fields() {
    launchplane_sdk::testing::assert_input_schemas_closed(&driver());
}

fn manifest() -> Value {
    json!({
        "artifact_id": "artifact-cm-20260503-abc1234",
        "source_commit": "abc1234",
        "enterprise_base_digest": "sha256:base",
        "addon_sources": [{"repository": "github.com/o/odoo-shared-addons", "ref": "def5678"}],
        "image": {"repository": "ghcr.io/o/odoo-cm", "digest": "sha256:img"}
    })
}

fn valid_request(action_id: &str) -> Value {
    match action_id {
        "artifact_publish_inputs" => json!({"context": "CM"}),
        "artifact_publish" => {
            json!({"context": "cm", "instance": "Testing", "manifest": manifest()})
        }
        "post_deploy" => json!({"context": "cm", "instance": "testing", "phase": "promotion"}),
        "config_parameter_override" => {
            json!({"product": "odoo", "context": "cm", "instance": "testing", "key": " WEB.BASE.URL ", "value": "https://cm.example.com"})
        }
        "website_bootstrap_override" => {
            json!({"product": "odoo", "context": "cm", "instance": "testing", "website_bootstrap": {"tenant": "cm", "homepage_url": "/", "routes": [{"url": "/shop"}], "pages_source": {"home": 1}}})
        }
        "stable_bootstrap" => {
            json!({"product": "odoo", "instance": "testing", "confirmation": "rebuild cm testing"})
        }
        "preview_apply_inputs" => {
            json!({"product": "odoo", "pr_number": 12, "manifest": manifest()})
        }
        "preview_apply" => json!({"product": "odoo", "pr_number": 12, "manifest": manifest()}),
        "prod_backup_gate" => {
            json!({"context": "cm", "instance": "PROD", "backup_record_id": "backup-gate-cm-prod-1"})
        }
        "prod_promotion" => {
            json!({"context": "cm", "artifact_id": "artifact-cm-1", "backup_record_id": "backup-gate-cm-prod-1"})
        }
        "prod_rollback" => {
            json!({"context": "cm", "artifact_id": "artifact-cm-1", "reason": "bad release"})
        }
        "target_replacement_plan" => {
            json!({"product": "odoo", "instance": "testing", "data_source_mode": "upstream_restore", "allow_empty_data": true})
        }
        "target_replacement_apply" => {
            json!({"product": "odoo", "instance": "testing", "artifact_id": "artifact-cm-1", "source_git_ref": "abc1234"})
        }
        "prod_promotion_inputs" => json!({"context": "cm", "request_id": "release-42"}),
        "prod_promotion_run" => json!({"context": "cm", "request_id": "release-42"}),
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

/// The actions whose behaviour is built; every other one answers 501.
const BUILT: &[&str] = &[
    "artifact_publish_inputs",
    "artifact_publish",
    "prod_promotion_inputs",
    "config_parameter_override",
    "website_bootstrap_override",
    "prod_backup_gate",
    "post_deploy",
    "preview_apply_inputs",
    "target_replacement_plan",
];

/// Actions that run generic-web's handler: the host runs them, the driver
/// has no handler to call natively (see tests/lifecycle.rs).
const BASE: &[&str] = &[
    "prod_promotion",
    "prod_rollback",
    "prod_promotion_run",
    "preview_apply",
    "stable_bootstrap",
    "target_replacement_apply",
];

#[test]
fn every_action_is_built_or_runs_generic_web() {
    for row in REGISTRY {
        assert!(
            BUILT.contains(&row.action_id) || BASE.contains(&row.action_id),
            "{} is declared but neither built nor run on generic-web",
            row.action_id
        );
    }
}

#[test]
fn publish_inputs_are_the_lanes_non_empty_build_settings() {
    let host = FakeHost::new()
        .with_setting("cm", "prod", "ODOO_VERSION", "18.0")
        .with_setting(
            "cm",
            "prod",
            "ODOO_BASE_RUNTIME_IMAGE",
            "ghcr.io/o/odoo-base:18",
        )
        .with_setting("cm", "prod", "ODOO_ADDON_REPOSITORIES", " ")
        .with_setting("cm", "prod", "ODOO_DB_NAME", "cm")
        .with_setting("cm", "testing", "ODOO_VERSION", "19.0");
    let harness = harness().with_host(host);
    let reply = harness
        .call(
            "artifact_publish_inputs",
            "prod",
            json!({"context": " CM ", "instance": "Prod"}),
        )
        .expect("inputs");
    assert_eq!(
        reply.result,
        json!({
            "context": "cm",
            "instance": "prod",
            "environment": {
                "ODOO_BASE_RUNTIME_IMAGE": "ghcr.io/o/odoo-base:18",
                "ODOO_VERSION": "18.0"
            }
        })
    );
    // Exactly the seven build keys are asked for, of the named lane.
    let calls = harness.host.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].op, "settings");
    assert_eq!(calls[0].args[..2], ["cm".to_string(), "prod".to_string()]);
    assert_eq!(
        calls[0].args[2],
        crate::actions::PUBLISH_INPUT_KEYS.join(",")
    );

    // Another context's settings are not the caller's to read.
    let error = harness
        .call(
            "artifact_publish_inputs",
            "prod",
            json!({"context": "opw", "instance": "prod"}),
        )
        .expect_err("other context");
    assert!(
        matches!(error, DriverError::InvalidRequest(ref m) if m.starts_with("context")),
        "{error:?}"
    );
}

#[test]
fn extension_products_use_their_own_name() {
    let harness = Harness::new(driver()).for_product("cm-site", "cm");
    let admit = |request: Value| {
        let invocation = harness.invocation("stable_bootstrap", "testing", json!({}));
        driver().on_hook(
            "admit-operation",
            &invocation,
            &request.to_string(),
            &harness.host,
        )
    };
    // Its own product name passes the request checks and reaches the
    // prelaunch proof (no profile here, so no policy).
    let request = with("stable_bootstrap", json!({"product": "cm-site"}));
    let error = admit(request).expect_err("no policy");
    assert!(
        matches!(error, DriverError::InvalidRequest(ref m) if m.contains("odoo_stable_bootstrap.enabled")),
        "{error:?}"
    );
    let error = admit(valid_request("stable_bootstrap")).expect_err("mismatch");
    assert!(
        matches!(error, DriverError::InvalidRequest(ref m) if m.starts_with("product")),
        "{error:?}"
    );
}

#[test]
fn bad_requests_are_refused_naming_the_field() {
    let mut wrong_context = manifest();
    wrong_context["artifact_id"] = json!("artifact-opw-20260503-abc1234");
    let cases = [
        (
            "artifact_publish_inputs",
            json!({"context": " "}),
            "context",
        ),
        (
            "artifact_publish_inputs",
            json!({"instance": "dev"}),
            "instance",
        ),
        (
            "artifact_publish",
            json!({"manifest": wrong_context}),
            "manifest.artifact_id",
        ),
        (
            "artifact_publish",
            json!({"instance": "preview"}),
            "instance",
        ),
        ("post_deploy", json!({"instance": " "}), "instance"),
        ("post_deploy", json!({"context": ""}), "context"),
        (
            "config_parameter_override",
            json!({"key": "mail.catchall.domain"}),
            "key",
        ),
        ("config_parameter_override", json!({"value": " "}), "value"),
        (
            "config_parameter_override",
            json!({"product": "opw"}),
            "product",
        ),
        (
            "config_parameter_override",
            json!({"instance": ""}),
            "instance",
        ),
        (
            "website_bootstrap_override",
            json!({"website_bootstrap": {"tenant": "cm"}}),
            "website_bootstrap",
        ),
        (
            "website_bootstrap_override",
            json!({"website_bootstrap": {"homepage_url": "home"}}),
            "website_bootstrap.homepage_url",
        ),
        (
            "website_bootstrap_override",
            json!({"website_bootstrap": {"routes": [{"url": "/a"}, {"url": "b"}]}}),
            "website_bootstrap.routes[1].url",
        ),
        (
            "website_bootstrap_override",
            json!({"product": " "}),
            "product",
        ),
        ("stable_bootstrap", json!({"product": "other"}), "product"),
        ("stable_bootstrap", json!({"instance": " "}), "instance"),
        ("stable_bootstrap", json!({"context": ""}), "context"),
        (
            "stable_bootstrap",
            json!({"timeout_seconds": 0}),
            "timeout_seconds",
        ),
        ("preview_apply_inputs", json!({"pr_number": 0}), "pr_number"),
        ("preview_apply_inputs", json!({"source": " "}), "source"),
        (
            "preview_apply_inputs",
            json!({"product": "other"}),
            "product",
        ),
        ("preview_apply", json!({"pr_number": 0}), "pr_number"),
        ("preview_apply", json!({"product": "other"}), "product"),
        (
            "prod_backup_gate",
            json!({"instance": "testing"}),
            "instance",
        ),
        (
            "prod_backup_gate",
            json!({"backup_record_id": ""}),
            "backup_record_id",
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
        ("prod_promotion", json!({"artifact_id": " "}), "artifact_id"),
        (
            "prod_promotion",
            json!({"backup_record_id": ""}),
            "backup_record_id",
        ),
        ("prod_promotion", json!({"wait": false}), "wait"),
        ("prod_rollback", json!({"instance": "testing"}), "instance"),
        ("prod_rollback", json!({"wait": false}), "wait"),
        (
            "target_replacement_plan",
            json!({"artifact_id": "artifact-cm-1"}),
            "source_git_ref",
        ),
        (
            "target_replacement_plan",
            json!({"source_git_ref": "abc1234"}),
            "artifact_id",
        ),
        (
            "target_replacement_plan",
            json!({"product": "other"}),
            "product",
        ),
        (
            "target_replacement_plan",
            json!({"instance": ""}),
            "instance",
        ),
        (
            "target_replacement_apply",
            json!({"strategy": "replace-and-cutover"}),
            "strategy",
        ),
        (
            "target_replacement_apply",
            json!({"source_git_ref": " "}),
            "source_git_ref",
        ),
        (
            "prod_promotion_inputs",
            json!({"from_instance": "prod"}),
            "to_instance",
        ),
        (
            "prod_promotion_inputs",
            json!({"to_instance": "staging"}),
            "to_instance",
        ),
        (
            "prod_promotion_inputs",
            json!({"request_id": " "}),
            "request_id",
        ),
        ("prod_promotion_inputs", json!({"context": ""}), "context"),
        (
            "prod_promotion_run",
            json!({"request_id": ""}),
            "request_id",
        ),
        ("prod_promotion_run", json!({"wait": false}), "wait"),
        (
            "prod_promotion_run",
            json!({"to_instance": "testing"}),
            "to_instance",
        ),
        (
            "prod_promotion_run",
            json!({"backup_timeout_seconds": 0}),
            "backup_timeout_seconds",
        ),
    ];
    let harness = harness();
    for (action_id, patch, field) in cases {
        let request = with(action_id, patch);
        let error = if BASE.contains(&action_id) {
            // The host asks the driver to adapt the request before the
            // base action runs; that is where Odoo's checks live.
            let invocation = harness.invocation(action_id, "prod", json!({}));
            driver()
                .on_hook(
                    "adapt-request",
                    &invocation,
                    &request.to_string(),
                    &harness.host,
                )
                .expect_err("refused")
        } else {
            harness
                .call(action_id, "testing", request.clone())
                .expect_err("refused")
        };
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
fn unknown_fields_are_refused_at_every_level() {
    let mut manifest = manifest();
    manifest["image"]["platform"] = json!("linux/amd64");
    let error = harness()
        .call(
            "artifact_publish",
            "testing",
            with("artifact_publish", json!({"manifest": manifest})),
        )
        .expect_err("unknown nested field");
    assert!(
        matches!(error, DriverError::InvalidRequest(ref m) if m.contains("platform")),
        "{error:?}"
    );
}

#[test]
fn artifact_publish_stores_the_manifest_under_its_artifact_id() {
    let harness = harness();
    let mut with_modules = manifest();
    with_modules["odoo_install_modules"] = json!(["sale"]);
    let request = with("artifact_publish", json!({"manifest": with_modules}));
    let reply = harness
        .call("artifact_publish", "testing", request)
        .expect("published");
    assert_eq!(
        reply.records,
        [(
            "artifact_id".to_string(),
            "artifact-cm-20260503-abc1234".to_string()
        )]
    );
    assert_eq!(
        reply.result,
        json!({
            "status": "pass", "context": "cm", "instance": "testing",
            "artifact_id": "artifact-cm-20260503-abc1234",
            "image_repository": "ghcr.io/o/odoo-cm", "image_digest": "sha256:img",
            "source_commit": "abc1234", "output_file": "", "error_message": ""
        })
    );
    let stored = harness.host.records("artifact_manifest");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["artifact_id"], "artifact-cm-20260503-abc1234");
    assert_eq!(stored[0]["image"]["digest"], "sha256:img");
    assert_eq!(stored[0]["odoo_install_modules"], json!(["sale"]));
    assert!(stored[0].get("record_id").is_none(), "{}", stored[0]);
    assert_eq!(harness.host.ops(), ["record_put"]);
}

#[test]
fn artifact_publish_needs_a_deployable_image() {
    let harness = harness();
    for (field, path) in [
        ("repository", "manifest.image.repository"),
        ("digest", "manifest.image.digest"),
    ] {
        let mut manifest = manifest();
        manifest["image"][field] = json!(" ");
        let error = harness
            .call(
                "artifact_publish",
                "testing",
                with("artifact_publish", json!({"manifest": manifest})),
            )
            .expect_err("refused");
        assert!(
            matches!(&error, DriverError::InvalidRequest(m) if m.starts_with(path)),
            "{error:?}"
        );
    }
    assert!(harness.host.records("artifact_manifest").is_empty());
}

fn stored_override(harness: &Harness) -> Value {
    let records = harness.host.records("odoo_instance_override");
    records.last().cloned().expect("an override record")
}

#[test]
fn config_parameter_override_creates_the_lane_record() {
    let harness = harness();
    harness.host.set_now("2026-05-03T10:00:00Z");
    let reply = harness
        .call(
            "config_parameter_override",
            "testing",
            valid_request("config_parameter_override"),
        )
        .expect("written");
    assert_eq!(
        reply.result,
        json!({"context": "cm", "instance": "testing", "config_parameter_keys": ["web.base.url"]})
    );
    let record = stored_override(&harness);
    assert_eq!(record["record_id"], "cm-testing");
    assert_eq!(record["apply_on"], json!(["deploy", "promotion"]));
    assert_eq!(
        record["config_parameters"],
        json!([{"key": "web.base.url", "value": {"source": "literal", "value": "https://cm.example.com"}}])
    );
    assert_eq!(record["updated_at"], "2026-05-03T10:00:00Z");
    assert_eq!(record["source_label"], "launchplane-service");
    assert_eq!(record["last_apply"]["status"], "skipped");
}

/// What an administrator put on the lane before the service touched it.
fn administered_override() -> Value {
    json!({
        "schema_version": 1,
        "record_id": "cm-testing",
        "context": "cm",
        "instance": "testing",
        "apply_on": ["restore"],
        "config_parameters": [
            {"key": "mail.catchall.domain", "value": {"source": "literal", "value": "cm.example.com"}},
            {"key": "web.base.url", "value": {"source": "literal", "value": "https://old.example.com"}}
        ],
        "addon_settings": [
            {"addon": "shopify", "setting": "api_token", "value": {"source": "secret_binding", "secret_binding_id": "secret-cm-shopify"}}
        ],
        "website_bootstrap": null,
        "last_apply": {"attempted": true, "status": "pass", "applied_at": "2026-05-01T00:00:00Z", "detail": "applied"},
        "updated_at": "2026-05-01T00:00:00Z",
        "source_label": "operator"
    })
}

#[test]
fn overrides_change_only_their_own_part_of_the_record() {
    let harness = harness()
        .with_host(FakeHost::new().with_record("odoo_instance_override", administered_override()));
    let reply = harness
        .call(
            "config_parameter_override",
            "Testing",
            with(
                "config_parameter_override",
                json!({"instance": "Testing", "value": " https://cm.example.com "}),
            ),
        )
        .expect("written");
    assert_eq!(
        reply.result["config_parameter_keys"],
        json!(["mail.catchall.domain", "web.base.url"])
    );
    let record = stored_override(&harness);
    let mut expected = administered_override();
    expected["apply_on"] = json!(["restore", "deploy", "promotion"]);
    expected["config_parameters"][1]["value"]["value"] = json!("https://cm.example.com");
    expected["updated_at"] = json!("2026-01-01T00:00:00Z");
    expected["source_label"] = json!("launchplane-service");
    assert_eq!(record, expected);

    let reply = harness
        .call(
            "website_bootstrap_override",
            "testing",
            with(
                "website_bootstrap_override",
                json!({"source_label": "cm-site-ci"}),
            ),
        )
        .expect("written");
    assert_eq!(
        reply.result,
        json!({"context": "cm", "instance": "testing", "website_bootstrap": true})
    );
    let record = stored_override(&harness);
    assert_eq!(record["website_bootstrap"]["routes"][0]["url"], "/shop");
    assert_eq!(
        record["website_bootstrap"]["pages_source"],
        json!({"home": 1})
    );
    assert_eq!(record["config_parameters"], expected["config_parameters"]);
    assert_eq!(record["addon_settings"], expected["addon_settings"]);
    assert_eq!(record["last_apply"], expected["last_apply"]);
    assert_eq!(record["source_label"], "cm-site-ci");
}

#[test]
fn a_stored_override_the_driver_cannot_read_is_not_rewritten() {
    let mut unreadable = administered_override();
    unreadable["future_field"] = json!(true);
    let harness =
        harness().with_host(FakeHost::new().with_record("odoo_instance_override", unreadable));
    let error = harness
        .call(
            "config_parameter_override",
            "testing",
            valid_request("config_parameter_override"),
        )
        .expect_err("refused");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("cm-testing") && m.contains("repair")),
        "{error:?}"
    );
    assert_eq!(harness.host.records("odoo_instance_override").len(), 1);
    assert_eq!(harness.host.ops(), ["record_get"]);
}

pub(super) fn testing_tuple(artifact_id: &str) -> Value {
    json!({"record_id": "cm-testing", "tuple_id": "cm-testing-1", "context": "cm", "channel": "testing",
           "artifact_id": artifact_id, "repo_shas": {}, "image_repository": "", "image_digest": "",
           "provenance": "ship", "minted_at": "2026-11-20T00:00:00Z"})
}

fn inputs(host: FakeHost) -> Value {
    let reply = harness()
        .with_host(host)
        .call(
            "prod_promotion_inputs",
            "prod",
            json!({"context": " CM ", "request_id": "Release 42"}),
        )
        .expect("inputs answer");
    // Blocked inputs are asked again under the same key; ready ones are
    // kept for replay.
    assert_eq!(
        reply.replayable,
        reply.result["input_status"] == "ready",
        "{}",
        reply.result
    );
    reply.result
}

#[test]
fn promotion_inputs_name_the_testing_tuple_artifact_and_the_gate_to_capture() {
    let manifest = json!({"artifact_id": "artifact-cm-1", "source_commit": "abc1234",
                          "enterprise_base_digest": "sha256:base",
                          "image": {"repository": "ghcr.io/o/cm", "digest": "sha256:1"}});
    let result = inputs(
        FakeHost::new()
            .with_record("release_tuple", testing_tuple("artifact-cm-1"))
            .with_record("artifact_manifest", manifest),
    );
    assert_eq!(result["input_status"], "ready", "{result}");
    assert_eq!(result["context"], "cm");
    assert_eq!(result["artifact_id"], "artifact-cm-1");
    assert_eq!(result["source_git_ref"], "abc1234");
    assert_eq!(result["release_tuple_id"], "cm-testing-1");
    assert_eq!(result["image_repository"], "ghcr.io/o/cm");
    assert_eq!(result["image_digest"], "sha256:1");
    assert_eq!(result["backup_record_id"], "backup-gate-cm-prod-release-42");
    assert_eq!(result["error_message"], "");
}

#[test]
fn promotion_inputs_are_blocked_with_the_reason_until_testing_is_shipped() {
    let blocked = |host: FakeHost, needle: &str| {
        let result = inputs(host);
        assert_eq!(result["input_status"], "blocked", "{result}");
        assert_eq!(result["backup_record_id"], "", "{result}");
        let message = result["error_message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{message}");
        result
    };
    blocked(FakeHost::new(), "require a current testing release tuple");
    let mut elsewhere = testing_tuple("artifact-cm-1");
    elsewhere["channel"] = json!("prod");
    blocked(
        FakeHost::new().with_record("release_tuple", elsewhere),
        "Tuple=cm/prod request=cm/testing",
    );
    let result = blocked(
        FakeHost::new().with_record("release_tuple", testing_tuple("artifact-cm-1")),
        "Missing artifact manifest `artifact-cm-1`",
    );
    assert_eq!(result["release_tuple_id"], "cm-testing-1");
    let uncommitted = json!({"artifact_id": "artifact-cm-1", "source_commit": " ",
                             "enterprise_base_digest": "sha256:base",
                             "image": {"repository": "ghcr.io/o/cm", "digest": "sha256:1"}});
    blocked(
        FakeHost::new()
            .with_record("release_tuple", testing_tuple("artifact-cm-1"))
            .with_record("artifact_manifest", uncommitted),
        "require artifact source_commit",
    );
}

mod bootstrap;
mod lifecycle;
mod post_deploy;
mod previews;
mod promotion_run;
