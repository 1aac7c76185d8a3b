//! Odoo post-deploy: the `post-deploy` hook generic-web calls after a
//! deploy, and the `/v1/drivers/odoo/post-deploy` route, both applying the
//! lane's override record through `post_deploy::apply`.

use launchplane_sdk::host::{JobOutcome, Target};
use launchplane_sdk::testing::{FakeHost, Harness};
use launchplane_sdk::{DriverError, HostError};
use serde_json::{Value, json};

use super::{harness, manifest};
use crate::post_deploy::{
    self, APPLY_COMMAND, INSTALL_MODULES_ENV_KEY, JOB_NAME, PAYLOAD_ENV_KEY, base64, merge_modules,
};

const ARTIFACT: &str = "artifact-cm-20260503-abc1234";
const SECRET_ENV: &str = "ODOO_OVERRIDE_SECRET__ADDON__SHOPIFY__API_TOKEN";
const SECRET_VALUE: &str = "shpat-plaintext-never-leaves-the-container";

fn testing_target() -> Target {
    Target {
        context: "cm".into(),
        instance: "testing".into(),
        target_type: "compose".into(),
        target_name: "cm-testing".into(),
        domains: vec!["cm-testing.example.com".into()],
        healthcheck_path: "/web/health".into(),
    }
}

/// An override record with a literal parameter and a secret-bound setting.
fn override_record(apply_on: Value) -> Value {
    json!({
        "schema_version": 1,
        "record_id": "cm-testing",
        "context": "cm",
        "instance": "testing",
        "apply_on": apply_on,
        "config_parameters": [
            {"key": "web.base.url", "value": {"source": "literal", "value": "https://cm-testing.example.com"}},
            {"key": "mail.catchall.domain", "value": {"source": "literal", "value": "cm.example.com"}}
        ],
        "addon_settings": [
            {"addon": "shopify", "setting": "api_token", "value": {"source": "secret_binding", "secret_binding_id": "secret-cm-shopify"}}
        ],
        "website_bootstrap": null,
        "last_apply": {"attempted": false, "status": "skipped", "applied_at": "", "detail": ""},
        "updated_at": "2026-05-01T00:00:00Z",
        "source_label": "operator"
    })
}

fn artifact_manifest() -> Value {
    let mut manifest = manifest();
    manifest["odoo_install_modules"] = json!(["sale", "launchplane_settings", "website"]);
    manifest
}

/// A testing lane with the manifest stored, the secret bound in the lane's
/// env, and an operator-set module list.
fn lane_host(apply_on: Value) -> FakeHost {
    FakeHost::new()
        .with_target(testing_target())
        .with_record("artifact_manifest", artifact_manifest())
        .with_record("odoo_instance_override", override_record(apply_on))
        .with_env("cm", "testing", SECRET_ENV, SECRET_VALUE)
        .with_setting("cm", "testing", INSTALL_MODULES_ENV_KEY, "website, sale")
        .with_setting("cm", "testing", "ODOO_DB_NAME", "cm")
}

fn hook_payload(action: &str) -> Value {
    json!({
        "hook": "post-deploy", "action": action, "product": "odoo", "context": "cm",
        "instance": "testing", "deployment_record_id": "deployment-1", "artifact_id": ARTIFACT,
        "image_reference": "ghcr.io/o/odoo-cm@sha256:img", "source_git_ref": "abc1234",
        "target_name": "cm-testing", "health": {"status": "pass", "url": "", "urls": [], "identity": "", "detail": ""}
    })
}

fn run_hook(h: &Harness, action: &str) -> Result<Value, DriverError> {
    h.hook("post-deploy", "testing", hook_payload(action))
        .map(|answer| serde_json::from_str(&answer).expect("JSON answer"))
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        other => panic!("not base64: {other}"),
    };
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let digits: Vec<u32> = chunk
            .iter()
            .filter(|c| **c != b'=')
            .map(|c| u32::from(value(*c)))
            .collect();
        let n = digits
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (d << (18 - 6 * i)));
        for i in 0..digits.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn persisted_payload(h: &Harness) -> (String, Value) {
    let encoded = h.host.env("cm", "testing")[PAYLOAD_ENV_KEY].clone();
    let json = String::from_utf8(decode_base64(&encoded)).expect("utf-8");
    let value = serde_json::from_str(&json).expect("payload JSON");
    (json, value)
}

fn job_command(h: &Harness) -> String {
    h.host
        .calls()
        .into_iter()
        .find(|c| c.op == "run_job")
        .map(|c| {
            assert_eq!(c.args[..3], ["cm", "testing", JOB_NAME]);
            c.args[3].clone()
        })
        .expect("the job ran")
}

#[test]
fn base64_is_the_standard_padded_alphabet() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"M"), "TQ==");
    assert_eq!(base64(b"Ma"), "TWE=");
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"{\"a\":[1]}?>"), "eyJhIjpbMV19Pz4=");
    assert_eq!(
        decode_base64(&base64(b"any bytes \xff\x00")),
        b"any bytes \xff\x00"
    );
}

#[test]
fn secret_env_keys_are_named_as_the_original_names_them() {
    assert_eq!(
        post_deploy::config_parameter_env_key("Mail.SMTP-pass"),
        "ODOO_OVERRIDE_SECRET__CONFIG_PARAM__MAIL__SMTP-PASS"
    );
    assert_eq!(
        post_deploy::addon_setting_env_key("shopify-sync", "api.token"),
        "ODOO_OVERRIDE_SECRET__ADDON__SHOPIFY_SYNC__API__TOKEN"
    );
    assert!(post_deploy::secret_shaped("smtp.password"));
    assert!(post_deploy::secret_shaped("api-key"));
    assert!(!post_deploy::secret_shaped("keycloak.url"));
}

#[test]
fn modules_are_merged_once_each_in_first_appearance_order() {
    let artifact = ["sale".to_string(), "disable_odoo_online".to_string()];
    assert_eq!(
        merge_modules(" website,sale  crm,, ", &artifact),
        "website,sale,crm,launchplane_settings,disable_odoo_online"
    );
    assert_eq!(
        merge_modules("", &[]),
        "launchplane_settings,disable_odoo_online"
    );
}

#[test]
fn a_deploy_persists_one_payload_reads_it_back_and_runs_the_job() {
    let h = harness().with_host(lane_host(json!(["deploy", "promotion"])));
    let answer = run_hook(&h, "stable_deploy").expect("applied");
    assert_eq!(answer["attempted"], true, "{answer}");
    let detail = answer["detail"].as_str().expect("detail");
    assert!(detail.contains("phase deploy"), "{detail}");
    assert!(
        detail.contains("2 config parameter(s), 1 addon setting(s)"),
        "{detail}"
    );

    let (json_text, payload) = persisted_payload(&h);
    assert_eq!(
        payload,
        json!({
            "schema_version": 1, "context": "cm", "instance": "testing",
            "config_parameters": [
                {"key": "web.base.url", "value": {"source": "literal", "value": "https://cm-testing.example.com"}},
                {"key": "mail.catchall.domain", "value": {"source": "literal", "value": "cm.example.com"}}
            ],
            "addon_settings": [
                {"addon": "shopify", "setting": "api_token", "value": {
                    "source": "secret_binding", "secret_binding_id": "secret-cm-shopify",
                    "environment_variable": SECRET_ENV}}
            ]
        })
    );
    // Compact, keys sorted at every level.
    assert!(
        json_text.starts_with(r#"{"addon_settings":[{"addon":"shopify","setting":"api_token","value":{"environment_variable":"#),
        "{json_text}"
    );
    assert!(!json_text.contains(' '), "{json_text}");
    assert_eq!(
        h.host.env("cm", "testing")[INSTALL_MODULES_ENV_KEY],
        "website,sale,launchplane_settings,disable_odoo_online"
    );

    // Checks before change, the update, the read-back, then the job with
    // the payload in its env (the running container predates the update).
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "record_get",
            "settings",
            "env_keys",
            "update_env",
            "env_keys",
            "run_job"
        ]
    );
    let command = job_command(&h);
    let encoded = &h.host.env("cm", "testing")[PAYLOAD_ENV_KEY];
    assert!(
        command.starts_with(&format!("env {PAYLOAD_ENV_KEY}={encoded} ")),
        "{command}"
    );
    assert!(command.contains("ODOO_DB_NAME=cm"), "{command}");
    assert!(command.ends_with(&APPLY_COMMAND.join(" ")), "{command}");
    assert!(
        h.host.records("odoo_instance_override").len() == 1,
        "a hook writes nothing"
    );
}

#[test]
fn the_payload_is_built_only_for_the_phases_the_record_names() {
    let h = harness().with_host(lane_host(json!(["promotion"])));
    assert_eq!(run_hook(&h, "stable_deploy").expect("nothing"), json!({}));
    assert_eq!(run_hook(&h, "prod_rollback").expect("nothing"), json!({}));
    assert!(
        !h.host
            .ops()
            .iter()
            .any(|op| op == "update_env" || op == "run_job")
    );
    let answer = run_hook(&h, "prod_promotion").expect("applied");
    assert_eq!(answer["attempted"], true, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("phase promotion")
    );
    assert!(h.host.env("cm", "testing").contains_key(PAYLOAD_ENV_KEY));
}

#[test]
fn secret_bound_values_travel_by_env_key_name_only() {
    let h = harness().with_host(lane_host(json!(["deploy"])));
    let answer = run_hook(&h, "stable_deploy").expect("applied");
    for call in h.host.calls() {
        for arg in &call.args {
            assert!(!arg.contains(SECRET_VALUE), "{} leaked it: {arg}", call.op);
        }
    }
    assert!(!answer.to_string().contains(SECRET_VALUE));
    let (json_text, _) = persisted_payload(&h);
    assert!(json_text.contains(SECRET_ENV), "{json_text}");
    assert!(!json_text.contains(SECRET_VALUE), "{json_text}");
    for (key, value) in h.host.env("cm", "testing") {
        assert!(
            key == SECRET_ENV || !value.contains(SECRET_VALUE),
            "{key} holds the secret"
        );
    }
    // The driver never asked for the secret's value: only key names.
    assert!(
        h.host
            .calls()
            .iter()
            .filter(|c| c.op == "settings")
            .all(|c| !c.args[2].contains(SECRET_ENV))
    );
}

#[test]
fn a_secret_shaped_literal_is_refused_before_any_change() {
    let mut record = override_record(json!(["deploy"]));
    record["config_parameters"][1] =
        json!({"key": "mail.smtp.password", "value": {"source": "literal", "value": "plain"}});
    let host = lane_host(json!(["deploy"])).with_record("odoo_instance_override", record);
    let h = harness().with_host(host);
    let error = run_hook(&h, "stable_deploy").expect_err("refused");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("mail.smtp.password") && m.contains("secret binding") && !m.contains("plain")),
        "{error:?}"
    );
    assert!(
        !h.host
            .ops()
            .iter()
            .any(|op| op == "update_env" || op == "run_job")
    );
}

#[test]
fn a_missing_secret_binding_env_fails_before_any_change() {
    let host = FakeHost::new()
        .with_target(testing_target())
        .with_record("artifact_manifest", artifact_manifest())
        .with_record("odoo_instance_override", override_record(json!(["deploy"])));
    let h = harness().with_host(host);
    let error = run_hook(&h, "stable_deploy").expect_err("refused");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains(SECRET_ENV)),
        "{error:?}"
    );
    assert!(
        !h.host
            .ops()
            .iter()
            .any(|op| op == "update_env" || op == "run_job")
    );
}

#[test]
fn a_payload_the_lane_did_not_keep_fails_closed_before_the_job() {
    let h = harness().with_host(lane_host(json!(["deploy"])).dropping_env_writes());
    let error = run_hook(&h, "stable_deploy").expect_err("not kept");
    assert!(
        matches!(&error, DriverError::ProviderFailed(m) if m.contains(PAYLOAD_ENV_KEY) && m.contains("did not keep")),
        "{error:?}"
    );
    assert!(!h.host.ops().iter().any(|op| op == "run_job"));

    let failing = lane_host(json!(["deploy"])).with_failure(
        "update_env",
        HostError::ProviderFailed("Dokploy did not retain the environment update".into()),
    );
    let h = harness().with_host(failing);
    let error = run_hook(&h, "stable_deploy").expect_err("not persisted");
    assert!(
        matches!(&error, DriverError::ProviderFailed(m) if m.contains("not persisted")),
        "{error:?}"
    );
    assert!(!h.host.ops().iter().any(|op| op == "run_job"));
}

#[test]
fn a_job_that_fails_or_cannot_run_fails_the_hook() {
    let failed = JobOutcome {
        status: "fail".into(),
        exit_code: Some(1),
        detail: "module launchplane_settings not found".into(),
    };
    let h = harness().with_host(lane_host(json!(["deploy"])).with_job(JOB_NAME, vec![Ok(failed)]));
    let error = run_hook(&h, "stable_deploy").expect_err("job failed");
    assert!(
        matches!(&error, DriverError::ProviderFailed(m) if m.contains("ended fail") && m.contains("launchplane_settings")),
        "{error:?}"
    );
    let unavailable = HostError::Unavailable("no provider".into());
    let h = harness()
        .with_host(lane_host(json!(["deploy"])).with_job(JOB_NAME, vec![Err(unavailable)]));
    let error = run_hook(&h, "stable_deploy").expect_err("job could not run");
    assert!(
        matches!(&error, DriverError::ProviderFailed(m) if m.contains("could not run")),
        "{error:?}"
    );
}

#[test]
fn a_deployed_artifact_without_a_manifest_fails_closed() {
    let host = FakeHost::new()
        .with_target(testing_target())
        .with_record("odoo_instance_override", override_record(json!(["deploy"])))
        .with_env("cm", "testing", SECRET_ENV, SECRET_VALUE);
    let h = harness().with_host(host);
    let error = run_hook(&h, "stable_deploy").expect_err("no manifest");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains(ARTIFACT) && m.contains("manifest")),
        "{error:?}"
    );
    assert!(
        !h.host
            .ops()
            .iter()
            .any(|op| op == "update_env" || op == "run_job")
    );
}

#[test]
fn without_an_override_record_nothing_is_attempted() {
    let h = harness().with_host(FakeHost::new().with_target(testing_target()));
    assert_eq!(run_hook(&h, "stable_deploy").expect("nothing"), json!({}));
    assert_eq!(h.host.ops(), ["record_get"]);
}

#[test]
fn an_override_record_the_driver_cannot_read_fails_the_hook() {
    let mut record = override_record(json!(["deploy"]));
    record["future_field"] = json!(true);
    let h = harness().with_host(
        FakeHost::new()
            .with_target(testing_target())
            .with_record("odoo_instance_override", record),
    );
    let error = run_hook(&h, "stable_deploy").expect_err("unreadable");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("cm-testing")),
        "{error:?}"
    );
}

// ------------------------------------------------------------ route

fn inventory() -> Value {
    json!({"record_id": "cm-testing", "context": "cm", "instance": "testing",
           "artifact_identity": {"artifact_id": ARTIFACT}})
}

fn route_request(phase: &str) -> Value {
    json!({"context": " CM ", "instance": "Testing", "phase": phase})
}

#[test]
fn the_route_applies_the_phase_and_records_last_apply() {
    let h = harness().with_host(lane_host(json!(["deploy"])).with_record("inventory", inventory()));
    h.host.set_now("2026-05-03T10:00:00Z");
    let reply = h
        .call("post_deploy", "testing", route_request("deploy"))
        .expect("applied");
    assert_eq!(
        reply.result,
        json!({
            "context": "cm", "instance": "testing", "phase": "deploy",
            "post_deploy_status": "pass", "override_status": "pass",
            "override_record_found": true, "override_payload_rendered": true,
            "required_container_environment_keys": [SECRET_ENV],
            "applied_at": "2026-05-03T10:00:00Z", "error_message": "",
            "website_bootstrap_included": false
        })
    );
    assert!(reply.replayable);
    let stored = h.host.records("odoo_instance_override");
    let last = stored.last().expect("record");
    assert_eq!(last["last_apply"]["status"], "pass");
    assert_eq!(last["last_apply"]["attempted"], true);
    assert_eq!(last["last_apply"]["applied_at"], "2026-05-03T10:00:00Z");
    assert_eq!(last["source_label"], "odoo-post-deploy-driver");
    assert_eq!(
        last["config_parameters"],
        override_record(json!([]))["config_parameters"]
    );
    assert!(h.host.env("cm", "testing").contains_key(PAYLOAD_ENV_KEY));
}

#[test]
fn the_route_reports_a_failed_apply_as_a_fail_result_and_records_it() {
    let failed = JobOutcome {
        status: "fail".into(),
        exit_code: Some(2),
        detail: "odoo exited".into(),
    };
    let host = lane_host(json!(["deploy"]))
        .with_record("inventory", inventory())
        .with_job(JOB_NAME, vec![Ok(failed)]);
    let h = harness().with_host(host);
    let reply = h
        .call("post_deploy", "testing", route_request("deploy"))
        .expect("a result");
    let r = &reply.result;
    assert_eq!(r["post_deploy_status"], "fail", "{r}");
    assert_eq!(r["override_status"], "fail");
    assert!(
        r["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("odoo exited")
    );
    assert!(!reply.replayable, "a failed apply is retried, not replayed");
    let stored = h.host.records("odoo_instance_override");
    assert_eq!(
        stored.last().expect("record")["last_apply"]["status"],
        "fail"
    );
}

#[test]
fn the_route_needs_the_lanes_deployed_artifact() {
    let h = harness().with_host(lane_host(json!(["deploy"])));
    let reply = h
        .call("post_deploy", "testing", route_request("deploy"))
        .expect("a result");
    assert_eq!(reply.result["post_deploy_status"], "fail");
    assert!(
        reply.result["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("no deployed artifact"),
        "{}",
        reply.result
    );
    assert!(
        !h.host
            .ops()
            .iter()
            .any(|op| op == "update_env" || op == "run_job")
    );
}

#[test]
fn the_route_skips_what_does_not_apply() {
    let h = harness().with_host(lane_host(json!(["deploy"])));
    let reply = h
        .call("post_deploy", "testing", route_request("restore"))
        .expect("skipped");
    let r = &reply.result;
    assert_eq!(r["post_deploy_status"], "pass");
    assert_eq!(r["override_status"], "skipped");
    assert_eq!(r["override_record_found"], true);
    assert_eq!(r["override_payload_rendered"], false);
    assert_eq!(h.host.ops(), ["record_get"]);

    let h = harness().with_host(FakeHost::new().with_target(testing_target()));
    let reply = h
        .call(
            "post_deploy",
            "testing",
            json!({"context": "cm", "instance": "testing"}),
        )
        .expect("skipped");
    assert_eq!(reply.result["phase"], "deploy");
    assert_eq!(reply.result["override_status"], "skipped");
    assert_eq!(reply.result["override_record_found"], false);
    assert!(h.host.records("odoo_instance_override").is_empty());
}

#[test]
fn the_route_refuses_another_lane() {
    let h = harness().with_host(lane_host(json!(["deploy"])));
    let error = h
        .call(
            "post_deploy",
            "testing",
            json!({"context": "opw", "instance": "testing"}),
        )
        .expect_err("other context");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("context")),
        "{error:?}"
    );
    let error = h
        .call(
            "post_deploy",
            "testing",
            json!({"context": "cm", "instance": "prod"}),
        )
        .expect_err("other instance");
    assert!(
        matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("instance")),
        "{error:?}"
    );
    assert!(h.host.ops().is_empty());
}
