//! Seed 003's issue-backed prelaunch policies, at the driver: the request-
//! time proof of `stable-bootstrap` and `target-replacement-apply` (hook
//! `admit-operation`), the generic-web deploy request they run, the data
//! step their `post-deploy` runs, and the read-only plan.

use launchplane_sdk::host::{JobOutcome, Target};
use launchplane_sdk::testing::{FakeHost, Harness};
use launchplane_sdk::{DriverError, ExtensionCall, Invocation};
use serde_json::{Value, json};

use super::{harness, testing_tuple};
use crate::driver;

const ISSUE: &str = "https://github.com/cbusillo/launchplane/issues/573";

fn target(instance: &str) -> Target {
    Target {
        context: "cm".into(),
        instance: instance.into(),
        target_type: "compose".into(),
        target_name: format!("cm-{instance}"),
        domains: vec![format!("{instance}.cm.example.com")],
        healthcheck_path: "/web/health".into(),
    }
}

fn policy(instance: &str, mode: &str) -> Value {
    json!({"enabled": true, "approval_issue_url": ISSUE, "data_source_mode": mode,
           "confirmation": format!("rebuild cm {instance}"),
           "expected_target_name": format!("cm-{instance}"),
           "expected_domains": [format!("https://{instance}.cm.example.com/")]})
}

/// The product profile with `field` set on each lane of `lanes`.
fn profile(field: &str, lanes: &[(&str, Value)]) -> Value {
    let lanes: Vec<Value> = ["testing", "prod"]
        .iter()
        .map(|instance| {
            let mut lane = json!({"instance": instance, "context": "cm"});
            if let Some((_, value)) = lanes.iter().find(|(i, _)| i == instance) {
                lane[field] = value.clone();
            }
            lane
        })
        .collect();
    json!({"record_id": "odoo", "product": "odoo", "driver_id": "odoo", "lanes": lanes})
}

fn manifest() -> Value {
    json!({"artifact_id": "artifact-cm-1", "source_commit": "abc1234",
           "enterprise_base_digest": "sha256:base",
           "image": {"repository": "ghcr.io/o/odoo-cm", "digest": "sha256:1"}})
}

fn host(profile: Value) -> FakeHost {
    FakeHost::new()
        .with_target(target("testing"))
        .with_target(target("prod"))
        .with_record("product_profile", profile)
        .with_record("release_tuple", testing_tuple("artifact-cm-1"))
        .with_record("artifact_manifest", manifest())
}

fn hook(
    h: &Harness,
    invocation: &Invocation,
    name: &str,
    payload: &Value,
) -> Result<String, DriverError> {
    driver().on_hook(name, invocation, &payload.to_string(), &h.host)
}

fn admit(
    h: &Harness,
    action_id: &str,
    instance: &str,
    request: Value,
) -> Result<String, DriverError> {
    let invocation = h.invocation(action_id, instance, json!({}));
    hook(h, &invocation, "admit-operation", &request)
}

fn bootstrap(instance: &str, confirmation: &str) -> Value {
    json!({"product": "odoo", "instance": instance, "confirmation": confirmation})
}

fn refused_by(result: Result<String, DriverError>, rule: &str) {
    match result {
        Err(DriverError::InvalidRequest(message)) => {
            assert!(message.contains(&format!("Rule `{rule}`")), "{message}")
        }
        other => panic!("expected the {rule} refusal, got {other:?}"),
    }
}

#[test]
fn cm_empty_bootstrap_is_admitted_on_testing_and_prod_with_the_issue_backed_policy() {
    let lanes = [
        ("testing", policy("testing", "empty")),
        ("prod", policy("prod", "empty")),
    ];
    let h = harness().with_host(host(profile("odoo_stable_bootstrap", &lanes)));
    for instance in ["testing", "prod"] {
        let answer = admit(
            &h,
            "stable_bootstrap",
            instance,
            bootstrap(instance, &format!(" Rebuild CM {instance} ")),
        )
        .expect("admitted");
        assert_eq!(answer, "{}");
    }
    // The proof only reads: no provider mutation, no record written.
    let ops = h.host.ops();
    assert!(
        ops.iter()
            .all(|op| ["record_get", "resolve_target", "env_keys"].contains(&op.as_str())),
        "{ops:?}"
    );
}

#[test]
fn a_bootstrap_is_refused_naming_the_rule_it_breaks() {
    let lane = |patch: Value| {
        let mut value = policy("testing", "empty");
        if let (Some(into), Some(from)) = (value.as_object_mut(), patch.as_object()) {
            into.extend(from.clone());
        }
        profile("odoo_stable_bootstrap", &[("testing", value)])
    };
    let cases = [
        (
            lane(json!({"enabled": false})),
            "rebuild cm testing",
            "odoo_stable_bootstrap.enabled",
        ),
        (
            lane(json!({"approval_issue_url": " "})),
            "rebuild cm testing",
            "odoo_stable_bootstrap.approval_issue_url",
        ),
        (
            lane(json!({"data_source_mode": "upstream_restore"})),
            "rebuild cm testing",
            "odoo_stable_bootstrap.data_source_mode",
        ),
        (lane(json!({})), "x", "odoo_stable_bootstrap.confirmation"),
        (
            lane(json!({"expected_target_name": "cm-old"})),
            "rebuild cm testing",
            "odoo_stable_bootstrap.expected_target_name",
        ),
        (
            lane(json!({"expected_domains": ["other.example.com"]})),
            "rebuild cm testing",
            "odoo_stable_bootstrap.expected_domains",
        ),
    ];
    for (profile, confirmation, rule) in cases {
        let h = harness().with_host(host(profile));
        refused_by(
            admit(
                &h,
                "stable_bootstrap",
                "testing",
                bootstrap("testing", confirmation),
            ),
            rule,
        );
        assert!(
            !h.host
                .ops()
                .iter()
                .any(|op| op == "run_job" || op == "deploy")
        );
    }
}

#[test]
fn unmarked_lanes_refuse_destructive_rebuilds_whatever_their_name() {
    // No policy on either lane: neither `prod` nor `testing` is authority.
    let h = harness().with_host(host(profile("odoo_stable_bootstrap", &[])));
    for instance in ["testing", "prod"] {
        refused_by(
            admit(
                &h,
                "stable_bootstrap",
                instance,
                bootstrap(instance, &format!("rebuild cm {instance}")),
            ),
            "odoo_stable_bootstrap.enabled",
        );
        for mode in ["existing", "empty", "upstream_restore"] {
            let request = json!({"product": "odoo", "instance": instance, "data_source_mode": mode,
                                 "confirmation": format!("rebuild cm {instance}")});
            refused_by(
                admit(&h, "target_replacement_apply", instance, request),
                "odoo_prelaunch_rebuild.enabled",
            );
        }
    }
}

#[test]
fn opw_style_upstream_restore_is_admitted_and_other_modes_are_not() {
    let lanes = [
        ("testing", policy("testing", "upstream_restore")),
        ("prod", policy("prod", "upstream_restore")),
    ];
    let h = harness().with_host(host(profile("odoo_prelaunch_rebuild", &lanes)));
    for instance in ["testing", "prod"] {
        let request = json!({"product": "odoo", "instance": instance, "data_source_mode": "upstream_restore",
                             "confirmation": format!("rebuild cm {instance}"), "allow_empty_data": true});
        admit(&h, "target_replacement_apply", instance, request).expect("admitted");
    }
    let empty = json!({"product": "odoo", "instance": "testing", "data_source_mode": "empty",
                       "confirmation": "rebuild cm testing"});
    refused_by(
        admit(&h, "target_replacement_apply", "testing", empty),
        "odoo_prelaunch_rebuild.data_source_mode",
    );
}

#[test]
fn a_policy_without_its_approval_issue_is_no_authority() {
    let mut unbacked = policy("testing", "upstream_restore");
    unbacked["approval_issue_url"] = json!("");
    let h = harness().with_host(host(profile(
        "odoo_prelaunch_rebuild",
        &[("testing", unbacked)],
    )));
    let request = json!({"product": "odoo", "instance": "testing", "data_source_mode": "upstream_restore",
                         "confirmation": "rebuild cm testing"});
    refused_by(
        admit(&h, "target_replacement_apply", "testing", request),
        "odoo_prelaunch_rebuild.approval_issue_url",
    );
    // The host refuses to store such a policy at all: the declared schema
    // requires the issue when enabled.
    let descriptor = driver().describe();
    let declared = descriptor
        .lane_policies
        .iter()
        .find(|p| p.field == "odoo_prelaunch_rebuild")
        .expect("declared");
    assert_eq!(declared.lane_status, "prelaunch");
    let required = &declared.schema["then"]["required"];
    assert!(
        required
            .as_array()
            .is_some_and(|r| r.contains(&json!("approval_issue_url"))),
        "{required}"
    );
}

#[test]
fn a_named_artifact_must_match_its_stored_manifest() {
    let h = harness().with_host(host(profile(
        "odoo_prelaunch_rebuild",
        &[("testing", policy("testing", "empty"))],
    )));
    let request = |artifact_id: &str, source_git_ref: &str| {
        json!({"product": "odoo", "instance": "testing", "data_source_mode": "empty",
               "confirmation": "rebuild cm testing", "artifact_id": artifact_id, "source_git_ref": source_git_ref,
               "allow_empty_data": true})
    };
    refused_by(
        admit(
            &h,
            "target_replacement_apply",
            "testing",
            request("artifact-cm-1", "fff9999"),
        ),
        "source_git_ref",
    );
    refused_by(
        admit(
            &h,
            "target_replacement_apply",
            "testing",
            request("artifact-cm-9", "abc1234"),
        ),
        "artifact_id",
    );
    admit(
        &h,
        "target_replacement_apply",
        "testing",
        request("artifact-cm-1", "abc1234"),
    )
    .expect("matches");
    // Half a pair is a bad request, before any proof.
    let half = json!({"product": "odoo", "instance": "testing", "artifact_id": "artifact-cm-1"});
    let error = admit(&h, "target_replacement_apply", "testing", half).expect_err("half");
    assert!(
        matches!(error, DriverError::InvalidRequest(ref m) if m.starts_with("source_git_ref")),
        "{error:?}"
    );
}

#[test]
fn a_bootstrap_runs_generic_webs_deploy_of_the_proven_artifact() {
    let h = harness().with_host(host(profile(
        "odoo_stable_bootstrap",
        &[("testing", policy("testing", "empty"))],
    )));
    let invocation = h.invocation("stable_bootstrap", "testing", json!({}));
    let adapted = hook(
        &h,
        &invocation,
        "adapt-request",
        &bootstrap("testing", "rebuild cm testing"),
    )
    .expect("adapted");
    let adapted: Value = serde_json::from_str(&adapted).expect("json");
    assert_eq!(
        adapted,
        json!({"product": "odoo", "instance": "testing", "artifact_id": "artifact-cm-1",
               "source_git_ref": "abc1234", "timeout_seconds": null, "no_cache": false,
               "verify_health": true, "health_timeout_seconds": 60})
    );
    // Without the policy the operation's run refuses too (fail closed).
    let h = harness().with_host(host(profile("odoo_stable_bootstrap", &[])));
    let invocation = h.invocation("stable_bootstrap", "testing", json!({}));
    refused_by(
        hook(
            &h,
            &invocation,
            "adapt-request",
            &bootstrap("testing", "rebuild cm testing"),
        ),
        "odoo_stable_bootstrap.enabled",
    );
}

fn post_deploy(h: &Harness, action_id: &str, request: Value) -> Result<String, DriverError> {
    let mut invocation = h.invocation("stable_deploy", "testing", json!({}));
    invocation.extension = Some(ExtensionCall {
        action_id: action_id.into(),
        request: request.to_string(),
    });
    let payload = json!({"hook": "post-deploy", "action": "stable_deploy", "product": "odoo", "context": "cm",
                         "instance": "testing", "deployment_record_id": "deployment-1",
                         "artifact_id": "artifact-cm-1", "image_reference": "ghcr.io/o/odoo-cm@sha256:1",
                         "source_git_ref": "abc1234", "target_name": "cm-testing"});
    hook(h, &invocation, "post-deploy", &payload)
}

#[test]
fn post_deploy_runs_the_requested_data_step_as_its_own_job() {
    let h = harness().with_host(host(profile("odoo_stable_bootstrap", &[])));
    post_deploy(&h, "stable_bootstrap", bootstrap("testing", "x")).expect("bootstrapped");
    let restore =
        json!({"product": "odoo", "instance": "testing", "data_source_mode": "upstream_restore"});
    post_deploy(&h, "target_replacement_apply", restore).expect("restored");
    let existing = json!({"product": "odoo", "instance": "testing"});
    post_deploy(&h, "target_replacement_apply", existing).expect("kept");
    let jobs: Vec<String> = h
        .host
        .calls()
        .into_iter()
        .filter(|c| c.op == "run_job")
        .map(|c| format!("{} {}", c.args[2], c.args[3]))
        .collect();
    assert_eq!(
        jobs,
        [
            "odoo-bootstrap odoo-devkit data bootstrap --empty",
            "odoo-restore odoo-devkit data restore --from-upstream"
        ]
    );
}

#[test]
fn a_failed_data_step_fails_post_deploy() {
    let failed = JobOutcome {
        status: "fail".into(),
        exit_code: Some(1),
        detail: "no database".into(),
    };
    let h = harness().with_host(
        host(profile("odoo_stable_bootstrap", &[])).with_job("odoo-bootstrap", vec![Ok(failed)]),
    );
    let error = post_deploy(&h, "stable_bootstrap", bootstrap("testing", "x")).expect_err("failed");
    assert!(
        matches!(error, DriverError::ProviderFailed(ref m) if m.contains("odoo-bootstrap")),
        "{error:?}"
    );
}

#[test]
fn the_plan_runs_the_same_proof_and_reports_what_blocks() {
    let request = json!({"product": "odoo", "instance": "testing", "data_source_mode": "upstream_restore",
                         "confirmation": "rebuild cm testing", "allow_empty_data": true});
    let h = harness().with_host(host(profile("odoo_prelaunch_rebuild", &[])));
    let plan = h
        .call("target_replacement_plan", "testing", request.clone())
        .expect("plan")
        .result;
    assert_eq!(plan["plan_status"], "blocked", "{plan}");
    let blocker = plan["blockers"][0]["message"].as_str().unwrap_or_default();
    assert!(
        blocker.contains("odoo_prelaunch_rebuild.enabled"),
        "{blocker}"
    );

    let lanes = [("testing", policy("testing", "upstream_restore"))];
    let h = harness().with_host(host(profile("odoo_prelaunch_rebuild", &lanes)));
    let plan = h
        .call("target_replacement_plan", "testing", request)
        .expect("plan")
        .result;
    assert_eq!(plan["plan_status"], "ready", "{plan}");
    assert_eq!(plan["approval_issue_url"], ISSUE);
    assert_eq!(plan["expected_artifact_id"], "artifact-cm-1");
    assert_eq!(
        plan["expected_domain_hosts"],
        json!(["testing.cm.example.com"])
    );
    let ops = h.host.ops();
    assert!(
        ops.iter()
            .all(|op| ["record_get", "resolve_target", "env_keys"].contains(&op.as_str())),
        "{ops:?}"
    );
}

fn verify(h: &Harness, request: Value) -> Value {
    let mut invocation = h.invocation("stable_deploy", "testing", json!({}));
    invocation.extension = Some(ExtensionCall {
        action_id: "stable_bootstrap".into(),
        request: request.to_string(),
    });
    let payload = json!({"hook": "verify", "action": "stable_deploy", "product": "odoo", "context": "cm",
                         "instance": "testing", "target_name": "cm-testing", "health_timeout_seconds": 5});
    serde_json::from_str(&hook(h, &invocation, "verify", &payload).expect("answered"))
        .expect("json")
}

#[test]
fn verify_checks_the_canonical_url_and_logo_a_rebuild_asks_for() {
    const BASE: &str = "https://testing.cm.example.com";
    let site = |canonical: &str| {
        host(profile("odoo_stable_bootstrap", &[]))
            .with_page(
                BASE,
                200,
                &format!("<link rel=\"canonical\" href=\"{canonical}\"/>"),
            )
            .with_page(&format!("{BASE}/web/image/website/1/logo"), 200, "png")
    };
    let h = harness().with_host(site(BASE));
    let answer = verify(&h, bootstrap("testing", "x"));
    assert_eq!(answer["verified"], true, "{answer}");

    // A page that names another canonical URL rejects the deploy; so does
    // a missing logo.
    let h = harness().with_host(site("https://cm-preview.example.com"));
    let answer = verify(&h, bootstrap("testing", "x"));
    assert_eq!(answer["verified"], false, "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("canonical")
    );
    let h = harness().with_host(host(profile("odoo_stable_bootstrap", &[])).with_page(
        BASE,
        200,
        &format!("<link rel='canonical' href='{BASE}'/>"),
    ));
    let answer = verify(&h, bootstrap("testing", "x"));
    assert_eq!(answer["verified"], false, "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("logo")
    );

    // Nothing asked, nothing probed.
    let mut quiet = bootstrap("testing", "x");
    quiet["verify_canonical"] = json!(false);
    quiet["verify_logo"] = json!(false);
    let h = harness().with_host(host(profile("odoo_stable_bootstrap", &[])));
    assert_eq!(verify(&h, quiet), json!({"verified": null, "reason": ""}));
    assert!(h.host.calls().iter().all(|c| c.op != "content_check"));
}

#[test]
fn a_policy_requires_the_checks_it_names() {
    let mut lenient = policy("testing", "empty");
    lenient["require_logo_verification"] = json!(false);
    let h = harness().with_host(host(profile(
        "odoo_stable_bootstrap",
        &[("testing", lenient)],
    )));
    let invocation = h.invocation("stable_bootstrap", "testing", json!({}));
    let mut request = bootstrap("testing", "rebuild cm testing");
    request["verify_logo"] = json!(false);
    hook(&h, &invocation, "admit-operation", &request).expect("not required");
    request["verify_canonical"] = json!(false);
    refused_by(
        hook(&h, &invocation, "admit-operation", &request),
        "odoo_stable_bootstrap.require_canonical_verification",
    );
}
