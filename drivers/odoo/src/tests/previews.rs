//! Odoo previews: the dry-run plan, the apply's refusal of an incomplete
//! runtime and its mapping onto generic-web's refresh, the `preview-env`
//! hook, and no secret value anywhere.

use launchplane_sdk::DriverError;
use launchplane_sdk::host::Target;
use launchplane_sdk::testing::{FakeHost, Harness};
use serde_json::{Value, json};

use crate::driver;

const SECRET: &str = "s3cret-template-value";
const IMAGE: &str = "ghcr.io/o/cm@sha256:abc";

fn profile(copied: &[&str]) -> Value {
    json!({"record_id": "odoo", "product": "odoo", "display_name": "Odoo", "repository": "o/odoo-cm", "driver_id": "odoo",
           "image": {"repository": "ghcr.io/o/cm"}, "updated_at": "2026-11-20T00:00:00Z", "source": "test",
           "lanes": [{"instance": "testing", "context": "cm", "base_url": "https://cm-testing.example.test"}],
           "preview": {"enabled": true, "context": "cm", "template_instance": "testing",
                       "copied_env_keys": copied}})
}

fn host(keys: &[&str], copied: &[&str]) -> FakeHost {
    let mut host = FakeHost::new()
        .with_target(Target {
            context: "cm".into(),
            instance: "testing".into(),
            target_type: "application".into(),
            target_name: "cm-testing".into(),
            domains: vec![],
            healthcheck_path: "/web/health".into(),
        })
        .with_record("product_profile", profile(copied))
        .with_setting(
            "cm",
            "testing",
            "LAUNCHPLANE_PREVIEW_BASE_URL",
            "https://cm-preview.example.test",
        );
    for key in keys {
        host = host.with_env("cm", "testing", key, SECRET);
    }
    host
}

const ALL: [&str; 3] = [
    "ODOO_ADMIN_PASSWORD",
    "ODOO_DB_PASSWORD",
    "ODOO_MASTER_PASSWORD",
];

fn harness(host: FakeHost) -> Harness {
    Harness::new(driver())
        .for_product("odoo", "cm")
        .with_host(host)
}

fn hook(h: &Harness, action: &str, hook: &str, payload: Value) -> Result<Value, DriverError> {
    let answer = h.base_step(action, hook, "", payload)?;
    Ok(serde_json::from_str(&answer).expect("json"))
}

#[test]
fn the_plan_names_the_preview_its_template_and_runtime_keys_without_values() {
    let h = harness(host(&ALL, &ALL));
    let reply = h
        .call(
            "preview_apply_inputs",
            "",
            json!({"product": "odoo", "pr_number": 42, "image_reference": IMAGE}),
        )
        .expect("plan");
    let r = &reply.result;
    assert_eq!(r["status"], "ready", "{r}");
    assert_eq!(r["preview_slug"], "pr-42");
    assert_eq!(r["preview_url"], "https://pr-42.cm-preview.example.test");
    assert_eq!(r["domain_host"], "pr-42.cm-preview.example.test");
    assert_eq!(r["application_name"], "odoo-preview-pr-42");
    assert_eq!(r["environment"]["ODOO_DB_NAME"], "odoo_preview_pr_42_db");
    assert_eq!(
        r["environment"]["ODOO_DATA_VOLUME"],
        "odoo_preview_pr_42_data"
    );
    assert_eq!(r["environment"]["ODOO_STACK_NAME"], "odoo-preview-pr-42");
    assert_eq!(
        (
            r["template_context"].as_str(),
            r["template_instance"].as_str()
        ),
        (Some("cm"), Some("testing"))
    );
    assert_eq!(r["missing_keys"], json!([]));
    assert!(reply.replayable);
    assert!(!r.to_string().contains(SECRET), "{r}");
    // Only provider-neutral reads: no provider change.
    for op in h.host.ops() {
        assert!(
            ["record_get", "settings", "env_keys"].contains(&op.as_str()),
            "{op}"
        );
    }
}

#[test]
fn a_plan_without_the_runtime_keys_is_blocked_naming_them() {
    // ODOO_DB_PASSWORD is on the template but not copied; the others are not set.
    let h = harness(host(&["ODOO_DB_PASSWORD"], &[]));
    let reply = h
        .call(
            "preview_apply_inputs",
            "",
            json!({"product": "odoo", "pr_number": 42, "image_reference": IMAGE}),
        )
        .expect("plan");
    assert_eq!(reply.result["status"], "blocked");
    assert_eq!(reply.result["missing_keys"], json!(ALL));
    assert!(!reply.replayable, "a blocked plan is asked again");
}

#[test]
fn an_apply_with_missing_runtime_keys_is_refused_with_the_originals_code() {
    let h = harness(host(&["ODOO_DB_PASSWORD"], &["ODOO_DB_PASSWORD"]));
    let error = hook(
        &h,
        "preview_apply",
        "adapt-request",
        json!({"product": "odoo", "pr_number": 42, "image_reference": IMAGE}),
    )
    .expect_err("refused");
    let DriverError::InvalidRequest(message) = error else {
        panic!("{error:?}");
    };
    let coded: Value = serde_json::from_str(&message).expect("coded refusal");
    assert_eq!(coded["code"], "odoo_preview_runtime_config_incomplete");
    assert_eq!(coded["details"]["context"], "cm");
    assert_eq!(coded["details"]["instance"], "testing");
    assert_eq!(
        coded["details"]["missing_keys"],
        json!(["ODOO_ADMIN_PASSWORD", "ODOO_MASTER_PASSWORD"])
    );
    assert!(!message.contains(SECRET));
}

#[test]
fn a_ready_apply_runs_generic_webs_refresh_and_answers_step_evidence() {
    let h = harness(host(&ALL, &ALL));
    let base = hook(
        &h,
        "preview_apply",
        "adapt-request",
        json!({"product": "odoo", "pr_number": 42, "image_reference": IMAGE, "source_git_ref": "abc1234"}),
    )
    .expect("mapped");
    assert_eq!(base["preview_slug"], "pr-42");
    assert_eq!(base["anchor_pr_number"], 42);
    assert_eq!(base["image_reference"], IMAGE);
    assert_eq!(base["preview_url"], "https://pr-42.cm-preview.example.test");
    assert_eq!(base["anchor_head_sha"], "abc1234");

    let refreshed = json!({"refresh_status": "pass", "product": "odoo", "context": "cm", "preview_slug": "pr-42",
                           "application_name": "odoo-preview-pr-42", "application_id": "odoo-preview-pr-42",
                           "preview_url": "https://pr-42.cm-preview.example.test",
                           "readiness": {"readiness_status": "pass"},
                           "smoke": {"smoke_status": "pass", "failure_summary": ""}, "error_message": ""});
    let answer = hook(
        &h,
        "preview_apply",
        "adapt-result",
        json!({"request": {}, "result": refreshed, "records": {"preview_id": "p-1"}}),
    )
    .expect("answer");
    let result = &answer["result"];
    assert_eq!(result["status"], "pass");
    assert_eq!(result["domain_host"], "pr-42.cm-preview.example.test");
    let steps: Vec<&str> = result["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(steps, ["readiness", "provision", "health"]);
    assert_eq!(answer["records"]["preview_id"], "p-1");
}

#[test]
fn the_preview_env_hook_gives_each_preview_its_own_database_and_stack() {
    let payload = json!({"product": "odoo", "context": "cm", "preview_slug": "pr-7",
                         "application_name": "cm-preview-pr-7", "template_context": "cm",
                         "template_instance": "testing"});
    let h = harness(host(&ALL, &ALL));
    let answer = hook(&h, "preview_refresh", "preview-env", payload.clone()).expect("env");
    assert_eq!(
        answer["env"],
        json!({"ODOO_DB_NAME": "cm_preview_pr_7_db", "ODOO_DATA_VOLUME": "cm_preview_pr_7_data",
               "ODOO_PROJECT_NAME": "cm-preview-pr-7", "ODOO_STACK_NAME": "cm-preview-pr-7"})
    );
    let h = harness(host(&[], &ALL));
    let error = hook(&h, "preview_refresh", "preview-env", payload).expect_err("incomplete");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("ODOO_DB_PASSWORD")),
        "{error:?}"
    );
}
