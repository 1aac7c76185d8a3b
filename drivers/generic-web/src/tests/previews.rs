//! Preview readiness, refresh, inventory and destroy.

use launchplane_sdk::testing::Harness;
use launchplane_sdk::{DriverError, Host, HostError};
use serde_json::{Value, json};

use super::fixtures::*;

const PREVIEW_ID: &str = "preview-shop-preview-shop-pr-7";
const GENERATION_ID: &str = "preview-shop-preview-shop-pr-7-generation-0001";
const PREVIEW_URL: &str = "https://pr-7.preview.shop.example";
const PREVIEW_HEALTH: &str = "https://pr-7.preview.shop.example/api/health";

/// A harness in the preview context whose template lane carries
/// `DATABASE_URL`; the seeding call is the first host op.
fn preview_harness(host: launchplane_sdk::testing::FakeHost) -> Harness {
    let h = harness("shop-preview", host);
    h.host
        .update_env(
            "shop-testing",
            "testing",
            &[(
                "DATABASE_URL".to_string(),
                "postgres://template".to_string(),
            )],
            &[],
        )
        .expect("template env");
    h
}

fn refresh(image_ref: &str) -> Value {
    json!({"product": "shop", "preview_slug": "pr-7", "preview_url": PREVIEW_URL,
           "image_reference": image_ref, "anchor_head_sha": "0123456789abcdef"})
}

#[test]
fn readiness_passes_with_the_template_contract() {
    let h = preview_harness(host());
    let reply = h
        .call("preview_readiness", "", json!({"product": "shop"}))
        .expect("evaluates");
    assert_eq!(
        ops_after(&h, 1),
        ["record_get", "resolve_target", "env_keys"]
    );
    assert_eq!(reply.result["readiness_status"], json!("pass"));
    assert_eq!(reply.result["template_context"], json!("shop-testing"));
    assert_eq!(reply.result["template_instance"], json!("testing"));
    assert_eq!(
        reply.result["template_target_name"],
        json!("shop-testing-app")
    );
    let checks: Vec<(&str, &str)> = reply.result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check_id"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        checks,
        [
            ("template_lane", "pass"),
            ("template_target", "pass"),
            ("template_env", "pass"),
            ("template_provider_fields", "pass"),
            ("transport_policy", "pass")
        ]
    );
    assert_eq!(
        reply.result["transport"]["override_env_keys"],
        json!(["PREVIEW"])
    );
    assert!(reply.records.is_empty());
}

#[test]
fn readiness_blocks_missing_template_inputs() {
    let h = harness("shop-preview", host());
    let reply = h
        .call("preview_readiness", "", json!({"product": "shop"}))
        .expect("evaluates");
    assert_eq!(reply.result["readiness_status"], json!("blocked"));
    assert_eq!(
        reply.result["missing_template_env_keys"],
        json!(["DATABASE_URL"])
    );

    let mut disabled = profile();
    disabled["preview"]["enabled"] = json!(false);
    let h = harness(
        "shop-preview",
        launchplane_sdk::testing::FakeHost::new().with_record("product_profile", disabled),
    );
    let reply = h
        .call("preview_readiness", "", json!({"product": "shop"}))
        .expect("evaluates");
    assert_eq!(h.host.ops(), ["record_get"]);
    assert_eq!(
        reply.result["checks"][0]["check_id"],
        json!("template_lane")
    );
    assert_eq!(reply.result["checks"][0]["status"], json!("blocked"));
    assert_eq!(
        reply.result["checks"][0]["message"],
        json!("previews are not enabled in the product profile")
    );
}

#[test]
fn refresh_creates_the_app_from_the_template_and_records_the_generation() {
    let h = preview_harness(host().with_hook(
        "preview-env",
        Ok(r#"{"env": {"FEATURE_FLAGS": "preview"}}"#.into()),
    ));
    let reply = h
        .call("preview_refresh", "", refresh(&image('a')))
        .expect("refreshes");
    assert_eq!(
        ops_after(&h, 1),
        [
            "record_get",
            "resolve_target",
            "env_keys",
            "record_list",
            "record_list",
            "list_preview_apps",
            "call_hook",
            "create_preview_app",
            "health_check",
            "record_put",
            "record_put"
        ]
    );
    assert_eq!(
        args_of(&h, "create_preview_app"),
        [vec![
            "shop-preview".to_string(),
            "shop-preview-pr-7".to_string(),
            image('a')
        ]]
    );
    assert_eq!(
        args_of(&h, "health_check"),
        [vec![PREVIEW_HEALTH.to_string()]]
    );
    let (hook, payload) = &hook_calls(&h)[0];
    assert_eq!(hook, "preview-env");
    assert_eq!(payload["application_name"], json!("shop-preview-pr-7"));
    assert_eq!(payload["preview_host"], json!("pr-7.preview.shop.example"));
    assert_eq!(payload["anchor_pr_number"], json!(7));
    assert_eq!(
        payload["env_keys"],
        json!(["PREVIEW", "PUBLIC_HOST", "PUBLIC_URL"])
    );

    assert_eq!(reply.result["refresh_status"], json!("pass"));
    assert_eq!(reply.result["application_name"], json!("shop-preview-pr-7"));
    assert_eq!(reply.result["preview_url"], json!(PREVIEW_URL));
    assert_eq!(reply.result["smoke"]["smoke_status"], json!("pass"));
    assert_eq!(
        reply.records,
        [
            ("preview_id".to_string(), PREVIEW_ID.to_string()),
            ("generation_id".to_string(), GENERATION_ID.to_string())
        ]
    );

    let mut preview = h.host.records("preview")[0].clone();
    // The fake host keys documents by `record_id`; the driver writes none.
    preview.as_object_mut().unwrap().remove("record_id");
    assert_eq!(
        preview,
        json!({
            "schema_version": 1, "preview_id": PREVIEW_ID, "context": "shop-preview",
            "anchor_repo": "shop", "anchor_pr_number": 7,
            "anchor_pr_url": "https://github.com/acme/shop/pull/7",
            "preview_label": "shop-preview/shop/pr-7", "canonical_url": PREVIEW_URL,
            "state": "active", "created_at": NOW, "updated_at": NOW, "eligible_at": NOW,
            "paused_at": "", "destroy_after": "", "destroyed_at": "", "destroy_reason": "",
            "active_generation_id": GENERATION_ID, "serving_generation_id": GENERATION_ID,
            "latest_generation_id": GENERATION_ID,
            "latest_manifest_fingerprint": "shop-preview-manifest-pr-7-0123456"
        })
    );
    let mut generation = h.host.records("preview_generation")[0].clone();
    generation.as_object_mut().unwrap().remove("record_id");
    assert_eq!(
        generation,
        json!({
            "schema_version": 1, "generation_id": GENERATION_ID, "preview_id": PREVIEW_ID,
            "sequence": 1, "state": "ready", "requested_reason": "generic_web_preview_refresh",
            "requested_at": NOW, "started_at": NOW, "ready_at": NOW, "finished_at": NOW,
            "superseded_at": "", "failed_at": "", "expires_at": "",
            "resolved_manifest_fingerprint": "shop-preview-manifest-pr-7-0123456",
            "artifact_id": image('a'), "baseline_release_tuple_id": "", "source_map": [],
            "anchor_summary": {"repo": "shop", "pr_number": 7, "head_sha": "0123456789abcdef",
                               "pr_url": "https://github.com/acme/shop/pull/7"},
            "companion_summaries": [], "deploy_status": "pass", "verify_status": "skipped",
            "overall_health_status": "pass", "failure_stage": "", "failure_summary": ""
        })
    );

    // A second refresh is generation 2 of the same preview, on the same app.
    h.call("preview_refresh", "", refresh(&image('b')))
        .expect("refreshes again");
    let generations = h.host.records("preview_generation");
    assert_eq!(generations[1]["sequence"], json!(2));
    assert_eq!(
        h.host.records("preview").last().unwrap()["serving_generation_id"],
        json!(format!("{PREVIEW_ID}-generation-0002"))
    );
    assert_host_accepts_the_records(&h);
}

#[test]
fn refresh_is_blocked_before_any_provider_mutation() {
    let h = harness("shop-preview", host());
    let reply = h
        .call("preview_refresh", "", refresh(&image('a')))
        .expect("answers blocked");
    assert_eq!(reply.result["refresh_status"], json!("blocked"));
    assert!(
        !reply.replayable,
        "a blocked refresh is asked again, not replayed"
    );
    assert_eq!(
        reply.result["readiness"]["readiness_status"],
        json!("blocked")
    );
    assert!(
        reply.result["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("template_env")),
        "{}",
        reply.result
    );
    assert_eq!(h.host.ops(), ["record_get", "resolve_target", "env_keys"]);
    assert!(h.host.records("preview").is_empty());
    assert!(reply.records.is_empty());
}

#[test]
fn refresh_deletes_only_the_app_it_created_when_health_fails() {
    let h = preview_harness(host().with_health(PREVIEW_HEALTH, health("fail", PREVIEW_HEALTH, "")));
    let reply = h
        .call("preview_refresh", "", refresh(&image('a')))
        .expect("a failed refresh is a result");
    assert_eq!(
        ops_after(&h, 7),
        [
            "call_hook",
            "create_preview_app",
            "health_check",
            "delete_preview_app",
            "record_put",
            "record_put"
        ]
    );
    assert_eq!(
        args_of(&h, "delete_preview_app"),
        [vec![
            "shop-preview".to_string(),
            "shop-preview-pr-7".to_string()
        ]]
    );
    assert_eq!(reply.result["refresh_status"], json!("fail"));
    assert_eq!(reply.result["application_id"], json!(""));
    assert_eq!(reply.result["smoke"]["smoke_status"], json!("fail"));
    assert!(
        reply.result["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("was deleted")),
        "{}",
        reply.result
    );
    let generation = &h.host.records("preview_generation")[0];
    assert_eq!(generation["state"], json!("failed"));
    assert_eq!(generation["failure_stage"], json!("health"));
    assert_eq!(generation["failed_at"], json!(NOW));
    assert_eq!(generation["overall_health_status"], json!("fail"));
    let preview = &h.host.records("preview")[0];
    assert_eq!(preview["state"], json!("failed"));
    assert_eq!(preview["serving_generation_id"], json!(""));

    // An app that existed before the refresh is left in place.
    let h = preview_harness(host().with_health(PREVIEW_HEALTH, health("fail", PREVIEW_HEALTH, "")));
    h.host
        .create_preview_app("shop-preview", "shop-preview-pr-7", &image('z'), &[], &[])
        .expect("existing app");
    let reply = h
        .call("preview_refresh", "", refresh(&image('a')))
        .expect("a failed refresh is a result");
    assert!(args_of(&h, "delete_preview_app").is_empty());
    assert_eq!(reply.result["application_id"], json!("shop-preview-pr-7"));
    assert_host_accepts_the_records(&h);
}

#[test]
fn a_failing_preview_env_hook_fails_the_refresh_before_creating_anything() {
    let hook_error = DriverError::InvalidRequest("unknown feature flag".into());
    let h = preview_harness(host().with_hook("preview-env", Err(hook_error.clone())));
    let error = h
        .call("preview_refresh", "", refresh(&image('a')))
        .expect_err("hook failed");
    assert_eq!(error, hook_error);
    assert!(args_of(&h, "create_preview_app").is_empty());
    let generation = &h.host.records("preview_generation")[0];
    assert_eq!(generation["state"], json!("failed"));
    assert_eq!(generation["failure_stage"], json!("preview-env hook"));
    assert_eq!(generation["deploy_status"], json!("skipped"));
}

#[test]
fn refresh_needs_a_slug_of_the_template_and_an_immutable_image() {
    let h = harness("shop-preview", host());
    let mut req = refresh(&image('a'));
    req["preview_slug"] = json!("feature-x");
    let error = h.call("preview_refresh", "", req).expect_err("bad slug");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("preview_slug ")),
        "{error:?}"
    );
    let mut req = refresh(&image('a'));
    req["anchor_pr_number"] = json!(8);
    let error = h
        .call("preview_refresh", "", req)
        .expect_err("slug of another PR");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("preview_slug ")),
        "{error:?}"
    );
    let error = h
        .call("preview_refresh", "", refresh("ghcr.io/acme/shop:pr-7"))
        .expect_err("mutable");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("image_reference ")),
        "{error:?}"
    );
    assert!(h.host.ops().iter().all(|op| op == "record_get"));
}

#[test]
fn inventory_lists_apps_by_prefix_and_records_a_scan() {
    let h = harness("shop-preview", host());
    for name in ["shop-preview-pr-2", "shop-preview-pr-1", "other-app"] {
        h.host
            .create_preview_app(
                "shop-preview",
                name,
                &image('a'),
                &[format!("{name}.example")],
                &[],
            )
            .expect("seeded");
    }
    let reply = h
        .call("preview_inventory", "", json!({"product": "shop"}))
        .expect("scans");
    assert_eq!(
        ops_after(&h, 3),
        ["record_get", "list_preview_apps", "record_put"]
    );
    assert_eq!(
        args_of(&h, "list_preview_apps"),
        [vec![
            "shop-preview".to_string(),
            "shop-preview-".to_string()
        ]]
    );
    assert_eq!(reply.result["app_name_prefix"], json!("shop-preview"));
    assert_eq!(
        reply.result["previews"],
        json!([
            {"applicationId": "shop-preview-pr-1", "applicationName": "shop-preview-pr-1", "previewSlug": "pr-1",
             "providerType": "application", "domainId": "", "domainHost": "shop-preview-pr-1.example"},
            {"applicationId": "shop-preview-pr-2", "applicationName": "shop-preview-pr-2", "previewSlug": "pr-2",
             "providerType": "application", "domainId": "", "domainHost": "shop-preview-pr-2.example"}
        ])
    );
    let scan_id = format!("preview-inventory-scan-shop-preview-{TS}");
    assert_eq!(
        reply.records,
        [("preview_inventory_scan_id".to_string(), scan_id.clone())]
    );
    assert_eq!(
        h.host.records("preview_inventory_scan")[0],
        json!({"record_id": scan_id, "scan_id": scan_id, "context": "shop-preview", "scanned_at": NOW,
               "source": "generic-web-preview-inventory", "status": "pass", "preview_count": 2,
               "preview_slugs": ["pr-1", "pr-2"], "error_message": ""})
    );
    assert_host_accepts_the_records(&h);
}

#[test]
fn inventory_records_a_failed_scan_when_listing_fails() {
    let h = harness(
        "shop-preview",
        host().with_failure(
            "list_preview_apps",
            HostError::ProviderFailed("api down".into()),
        ),
    );
    let error = h
        .call("preview_inventory", "", json!({"product": "shop"}))
        .expect_err("listing failed");
    assert!(
        matches!(&error, DriverError::ProviderFailed(m) if m.contains("api down")),
        "{error:?}"
    );
    let scan = &h.host.records("preview_inventory_scan")[0];
    assert_eq!(scan["status"], json!("fail"));
    assert_eq!(
        scan["error_message"],
        json!("listing preview apps failed: api down")
    );
    assert_host_accepts_the_records(&h);
}

#[test]
fn destroy_deletes_the_app_and_records_the_destroyed_transition() {
    let h = preview_harness(host());
    h.call("preview_refresh", "", refresh(&image('a')))
        .expect("refreshes");
    let before = h.host.ops().len();
    let reply = h
        .call(
            "preview_destroy",
            "",
            json!({"product": "shop", "preview_slug": "pr-7", "destroy_reason": "pull request closed"}),
        )
        .expect("destroys");
    assert_eq!(
        ops_after(&h, before),
        [
            "record_get",
            "list_preview_apps",
            "delete_preview_app",
            "record_list",
            "record_put"
        ]
    );
    assert_eq!(reply.result["destroy_status"], json!("pass"));
    assert_eq!(reply.result["application_id"], json!("shop-preview-pr-7"));
    assert_eq!(
        reply.records,
        [
            ("preview_id".to_string(), PREVIEW_ID.to_string()),
            ("transition".to_string(), "destroyed".to_string())
        ]
    );
    let preview = h.host.records("preview").last().cloned().unwrap();
    assert_eq!(preview["state"], json!("destroyed"));
    assert_eq!(preview["destroyed_at"], json!(NOW));
    assert_eq!(preview["destroy_reason"], json!("pull request closed"));
    assert_eq!(preview["active_generation_id"], json!(""));
    assert_eq!(preview["serving_generation_id"], json!(""));
    assert_eq!(preview["latest_generation_id"], json!(GENERATION_ID));
    assert_host_accepts_the_records(&h);
}

#[test]
fn destroying_a_missing_preview_is_a_pass() {
    let h = harness("shop-preview", host());
    let reply = h
        .call(
            "preview_destroy",
            "",
            json!({"product": "shop", "preview_slug": "pr-9", "destroy_reason": "closed"}),
        )
        .expect("destroys");
    assert_eq!(
        h.host.ops(),
        ["record_get", "list_preview_apps", "record_list"]
    );
    assert_eq!(reply.result["destroy_status"], json!("pass"));
    assert_eq!(reply.result["application_id"], json!(""));
    assert_eq!(
        reply.records,
        [(
            "transition".to_string(),
            "destroyed_missing_preview".to_string()
        )]
    );
}

#[test]
fn a_failed_delete_is_a_fail_result_that_changes_no_record() {
    let failing = harness(
        "shop-preview",
        host().with_failure(
            "delete_preview_app",
            HostError::ProviderFailed("locked".into()),
        ),
    );
    failing
        .host
        .create_preview_app("shop-preview", "shop-preview-pr-7", &image('a'), &[], &[])
        .expect("seeded");
    let reply = failing
        .call(
            "preview_destroy",
            "",
            json!({"product": "shop", "preview_slug": "pr-7", "destroy_reason": "closed"}),
        )
        .expect("a failed destroy is a result");
    assert_eq!(reply.result["destroy_status"], json!("fail"));
    assert!(
        reply.result["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("locked")),
        "{}",
        reply.result
    );
    assert!(failing.host.records("preview").is_empty());
    assert!(reply.records.is_empty());
}
