//! `deploy`: the lane deploy pipeline and its evidence.

use launchplane_sdk::{DriverError, HostError};
use serde_json::{Value, json};

use super::fixtures::*;

fn request(artifact: &str) -> Value {
    json!({"product": "shop", "instance": "testing", "artifact_id": artifact, "source_git_ref": "abc1234"})
}

const DEPLOYMENT_ID: &str = "deployment-20260101T000000Z-shop-testing-testing";

fn identity(artifact: &str) -> String {
    format!(
        concat!(
            r#"{{"artifact_id":"{a}","context":"shop-testing","deployed_at":"2026-01-01T00:00:00Z","#,
            r#""deployment_record_id":"{id}","environment_kind":"stable","image_reference":"{a}","#,
            r#""instance":"testing","preview_generation_id":"","preview_id":"","product":"shop","#,
            r#""release_tuple_id":"","schema_version":1,"source_git_ref":"abc1234"}}"#
        ),
        a = artifact,
        id = DEPLOYMENT_ID
    )
}

#[test]
fn deploy_runs_the_lane_pipeline_and_records_it() {
    let h = harness("shop-testing", host());
    let artifact = image('a');
    let reply = h
        .call("stable_deploy", "testing", request(&artifact))
        .expect("deploys");
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "resolve_target",
            "update_env",
            "call_hook",
            "set_image",
            "deploy",
            "health_check",
            "call_hook",
            "call_hook",
            "record_put"
        ]
    );
    assert_eq!(
        args_of(&h, "update_env"),
        [vec![
            "shop-testing".to_string(),
            "testing".to_string(),
            "LAUNCHPLANE_RUNTIME_IDENTITY_JSON,LAUNCHPLANE_DEPLOYMENT_RECORD_ID,LAUNCHPLANE_ARTIFACT_ID,LAUNCHPLANE_SOURCE_GIT_REF".to_string()
        ]]
    );
    assert_eq!(
        args_of(&h, "health_check"),
        [vec![TESTING_HEALTH.to_string()]]
    );
    let hooks: Vec<String> = hook_calls(&h).into_iter().map(|(name, _)| name).collect();
    assert_eq!(hooks, ["pre-deploy", "post-deploy", "verify"]);
    let (_, verify) = &hook_calls(&h)[2];
    assert_eq!(verify["artifact_id"], json!(artifact));
    assert_eq!(verify["deployment_record_id"], json!(DEPLOYMENT_ID));
    assert_eq!(verify["health"]["status"], json!("pass"));
    assert_eq!(
        h.host.image("shop-testing", "testing"),
        Some(artifact.clone())
    );

    assert_eq!(
        reply.records,
        [(
            "deployment_record_id".to_string(),
            DEPLOYMENT_ID.to_string()
        )]
    );
    assert_eq!(reply.result["deploy_status"], json!("pass"));
    assert_eq!(reply.result["destination_health_status"], json!("pass"));
    assert_eq!(reply.result["target_name"], json!("shop-testing-app"));
    assert_eq!(reply.result["image_reference"], json!(artifact));

    let stored = h.host.records("deployment");
    assert_eq!(stored.len(), 1);
    let record = &stored[0];
    assert_eq!(keys(record), deployment_fields());
    assert_eq!(record["record_id"], json!(DEPLOYMENT_ID));
    assert_eq!(
        record["artifact_identity"],
        json!({"artifact_id": artifact, "manifest_version": 1})
    );
    assert_eq!(
        record["deploy"],
        json!({"target_name": "shop-testing-app", "target_type": "application",
               "deploy_mode": "image-reference", "deployment_id": "", "status": "pass",
               "started_at": NOW, "finished_at": NOW})
    );
    assert_eq!(
        record["destination_health"],
        json!({"verified": true, "urls": [TESTING_HEALTH], "timeout_seconds": 60, "status": "pass"})
    );
    assert_eq!(
        record["post_deploy_update"],
        json!({"attempted": false, "status": "skipped", "detail": ""})
    );
    assert_eq!(
        record["runtime_source"],
        json!({"image_reference": artifact, "runtime_identity": identity(&artifact)})
    );
    assert_host_accepts_the_records(&h);
}

#[test]
fn mutable_tags_are_refused_before_any_provider_call() {
    let h = harness("shop-testing", host());
    for artifact in ["ghcr.io/acme/shop:latest", "ghcr.io/acme/shop@sha256:abc"] {
        let error = h
            .call("stable_deploy", "testing", request(artifact))
            .expect_err("mutable");
        assert!(
            matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("artifact_id ")),
            "{error:?}"
        );
    }
    assert!(h.host.ops().iter().all(|op| op == "record_get"));
    assert!(h.host.records("deployment").is_empty());
}

#[test]
fn a_bare_digest_uses_the_profile_image_repository() {
    let h = harness("shop-testing", host());
    let digest = format!("sha256:{}", "b".repeat(64));
    let reply = h
        .call("stable_deploy", "testing", request(&digest))
        .expect("deploys");
    assert_eq!(h.host.image("shop-testing", "testing"), Some(image('b')));
    assert_eq!(
        h.host.records("deployment")[0]["artifact_identity"]["artifact_id"],
        json!(digest)
    );
    assert_eq!(reply.result["image_reference"], json!(image('b')));
}

#[test]
fn a_failed_deploy_is_recorded_then_reported_as_a_provider_failure() {
    let h = harness(
        "shop-testing",
        host().with_failure(
            "deploy",
            HostError::ProviderFailed("build queue down".into()),
        ),
    );
    let error = h
        .call("stable_deploy", "testing", request(&image('a')))
        .expect_err("provider failed");
    match &error {
        DriverError::ProviderFailed(m) => {
            assert!(
                m.contains("deploy failed for lane shop-testing/testing: build queue down"),
                "{m}"
            );
            assert!(m.contains(DEPLOYMENT_ID), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "resolve_target",
            "update_env",
            "call_hook",
            "set_image",
            "deploy",
            "record_put"
        ]
    );
    let record = &h.host.records("deployment")[0];
    assert_eq!(record["deploy"]["status"], json!("fail"));
    assert_eq!(record["deploy"]["finished_at"], json!(NOW));
    assert_eq!(record["destination_health"]["status"], json!("skipped"));
    assert_eq!(record["runtime_source"]["failure_stage"], json!("deploy"));
    assert_eq!(
        record["runtime_source"]["failure_detail"],
        json!("build queue down")
    );
    assert_host_accepts_the_records(&h);
}

#[test]
fn a_lane_without_target_records_a_failed_deploy() {
    let h = harness("shop-testing", launchplane_sdk::testing::FakeHost::new());
    let error = h
        .call("stable_deploy", "testing", request(&image('a')))
        .expect_err("no target");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("resolving the runtime target")),
        "{error:?}"
    );
    assert_eq!(h.host.ops(), ["record_get", "resolve_target", "record_put"]);
    let record = &h.host.records("deployment")[0];
    assert_eq!(record["deploy"]["status"], json!("fail"));
    assert_eq!(record["deploy"]["target_name"], json!("shop-testing"));
    assert_eq!(
        record["runtime_source"]["failure_stage"],
        json!("resolve-target")
    );
}

#[test]
fn failed_health_stops_before_the_post_deploy_hooks() {
    let h = harness(
        "shop-testing",
        host().with_health(TESTING_HEALTH, health("fail", TESTING_HEALTH, "")),
    );
    let error = h
        .call("stable_deploy", "testing", request(&image('a')))
        .expect_err("unhealthy");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("destination health failed") && m.contains("HTTP 503")),
        "{error:?}"
    );
    let hooks: Vec<String> = hook_calls(&h).into_iter().map(|(n, _)| n).collect();
    assert_eq!(hooks, ["pre-deploy"]);
    let record = &h.host.records("deployment")[0];
    assert_eq!(record["deploy"]["status"], json!("pass"));
    assert_eq!(
        record["destination_health"],
        json!({"verified": true, "urls": [TESTING_HEALTH], "timeout_seconds": 60, "status": "fail"})
    );
    assert_host_accepts_the_records(&h);
}

#[test]
fn a_mismatched_runtime_identity_fails_health() {
    let h = harness(
        "shop-testing",
        host().with_health(TESTING_HEALTH, health("pass", TESTING_HEALTH, "mismatch")),
    );
    let error = h
        .call("stable_deploy", "testing", request(&image('a')))
        .expect_err("identity mismatch");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("runtime identity mismatch")),
        "{error:?}"
    );
    assert_eq!(
        h.host.records("deployment")[0]["destination_health"]["status"],
        json!("fail")
    );
}

#[test]
fn health_can_be_skipped() {
    let h = harness("shop-testing", host());
    let mut req = request(&image('a'));
    req["verify_health"] = json!(false);
    h.call("stable_deploy", "testing", req).expect("deploys");
    assert!(!h.host.ops().contains(&"health_check".to_string()));
    let record = &h.host.records("deployment")[0];
    assert_eq!(
        record["destination_health"],
        json!({"verified": false, "urls": [], "timeout_seconds": null, "status": "skipped"})
    );
    assert_eq!(record["verify_destination_health"], json!(false));
}

#[test]
fn a_failing_pre_deploy_hook_stops_before_the_image_changes() {
    let hook_error = DriverError::PreconditionFailed("schema drift".into());
    let h = harness(
        "shop-testing",
        host().with_hook("pre-deploy", Err(hook_error.clone())),
    );
    let error = h
        .call("stable_deploy", "testing", request(&image('a')))
        .expect_err("hook failed");
    assert_eq!(error, hook_error);
    assert_eq!(
        h.host.ops(),
        [
            "record_get",
            "resolve_target",
            "update_env",
            "call_hook",
            "record_put"
        ]
    );
    assert_eq!(h.host.image("shop-testing", "testing"), None);
    let record = &h.host.records("deployment")[0];
    assert_eq!(record["deploy"]["status"], json!("fail"));
    assert_eq!(
        record["runtime_source"]["failure_stage"],
        json!("pre-deploy hook")
    );
    assert_eq!(
        record["runtime_source"]["failure_detail"],
        json!("schema drift")
    );
}

#[test]
fn post_deploy_and_verify_answers_become_evidence() {
    let h = harness(
        "shop-testing",
        host()
            .with_hook(
                "post-deploy",
                Ok(r#"{"attempted": true, "detail": "migrations ran"}"#.into()),
            )
            .with_hook("verify", Ok(r#"{"verified": true}"#.into())),
    );
    h.call("stable_deploy", "testing", request(&image('a')))
        .expect("deploys");
    assert_eq!(
        h.host.records("deployment")[0]["post_deploy_update"],
        json!({"attempted": true, "status": "pass", "detail": "migrations ran"})
    );
}

#[test]
fn a_rejecting_verify_hook_fails_health_so_inventory_stays() {
    let h = harness(
        "shop-testing",
        host().with_hook(
            "verify",
            Ok(r#"{"verified": false, "reason": "checkout broken"}"#.into()),
        ),
    );
    let error = h
        .call("stable_deploy", "testing", request(&image('a')))
        .expect_err("rejected");
    assert!(
        matches!(&error, DriverError::PreconditionFailed(m) if m.contains("checkout broken")),
        "{error:?}"
    );
    let record = &h.host.records("deployment")[0];
    assert_eq!(record["deploy"]["status"], json!("pass"));
    assert_eq!(record["destination_health"]["status"], json!("fail"));
    assert_eq!(
        record["runtime_source"]["failure_stage"],
        json!("verify hook")
    );
}

#[test]
fn a_failing_post_deploy_hook_is_recorded_as_a_failed_update() {
    let hook_error = DriverError::ProviderFailed("migration job crashed".into());
    let h = harness(
        "shop-testing",
        host().with_hook("post-deploy", Err(hook_error.clone())),
    );
    let error = h
        .call("stable_deploy", "testing", request(&image('a')))
        .expect_err("hook failed");
    assert_eq!(error, hook_error);
    assert_eq!(
        h.host.records("deployment")[0]["post_deploy_update"],
        json!({"attempted": true, "status": "fail", "detail": "post-deploy hook failed: migration job crashed"})
    );
}
