//! Evidence ingest, read models and idempotency over HTTP, with real OIDC
//! tokens from a local issuer, on PostgreSQL.

use launchplane_tests::two_hosts::TwoHosts;
use launchplane_tests::{Service, TestDatabase, assert_rejected, evidence};
use serde_json::{Value, json};

fn deployment(record_id: &str, instance: &str, status: &str) -> Value {
    evidence::deployment(record_id, "demo", instance, status)
}

async fn history_len(db: &TestDatabase, kind: &str, id: &str) -> usize {
    evidence::history_len(&db.store, kind, id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_evidence_builds_inventory_and_replays_without_writing() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;

    let (status, first) = service
        .post(
            "/v1/evidence/deployments",
            &deployment("deployment-1", "testing", "pass"),
            Some("key-1"),
        )
        .await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["status"], "accepted");
    assert_eq!(
        first["records"],
        json!({"deployment_record_id": "deployment-1", "inventory_record_id": "demo-testing"})
    );

    let (status, replay) = service
        .post(
            "/v1/evidence/deployments",
            &deployment("deployment-1", "testing", "pass"),
            Some("key-1"),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["original_trace_id"], first["trace_id"]);
    assert_ne!(
        replay["trace_id"], first["trace_id"],
        "a replay has a fresh trace id"
    );
    assert_eq!(replay["records"], first["records"]);
    assert_eq!(
        history_len(&db, "deployment", "deployment-1").await,
        1,
        "the replay wrote nothing"
    );
    assert_eq!(history_len(&db, "inventory", "demo-testing").await, 1);

    let (status, reused) = service
        .post(
            "/v1/evidence/deployments",
            &deployment("deployment-2", "testing", "pass"),
            Some("key-1"),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(assert_rejected(&reused), "idempotency_key_reused");

    let (status, body) = service.get("/v1/deployments/deployment-1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["record"]["record_id"], "deployment-1");
    let (status, body) = service.get("/v1/inventory/demo/testing").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["record"]["deployment_record_id"], "deployment-1");
    assert_eq!(
        body["record"]["artifact_identity"]["artifact_id"],
        "artifact-demo-1"
    );
    let (status, body) = service.get("/v1/contexts/demo/operations/recent").await;
    assert_eq!(status, 200);
    assert_eq!(body["storage_backend"], "postgres");
    assert_eq!(body["recent_deployments"][0]["record_id"], "deployment-1");
    let (status, _) = service.get("/v1/deployments/deployment-missing").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_by_field_and_writes_nothing() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let mut unknown = deployment("deployment-1", "testing", "pass");
    unknown["deployment"]["deploy"]["colour"] = json!("blue");
    let mut wrong_enum = deployment("deployment-1", "testing", "pass");
    wrong_enum["deployment"]["deploy"]["status"] = json!("great");
    let mut missing = deployment("deployment-1", "testing", "pass");
    missing["deployment"]
        .as_object_mut()
        .expect("object")
        .remove("source_git_ref");
    let mut blank = deployment("deployment-1", "testing", "pass");
    blank["deployment"]["context"] = json!("  ");
    let cases = [
        (unknown, "deployment.deploy.colour"),
        (wrong_enum, "deployment.deploy.status"),
        (missing, "deployment.source_git_ref"),
        (blank, "deployment.context"),
        (
            {
                let mut b = deployment("deployment-1", "testing", "pass");
                b["extra"] = json!(1);
                b
            },
            "extra",
        ),
        (json!([1, 2]), "JSON object"),
    ];
    for (body, field) in cases {
        let (status, response) = service
            .post("/v1/evidence/deployments", &body, Some("bad"))
            .await;
        assert_eq!(status, 400, "{field}: {response}");
        assert_eq!(assert_rejected(&response), "invalid_request");
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{field}: {response}"
        );
    }
    assert!(
        db.store
            .get_record("deployment", "deployment-1")
            .await
            .expect("get")
            .is_none()
    );
    // A 400 never consumed the key: the same key works for a valid body.
    let (status, body) = service
        .post(
            "/v1/evidence/deployments",
            &deployment("deployment-1", "testing", "pass"),
            Some("bad"),
        )
        .await;
    assert_eq!(status, 202, "{body}");

    let oversized =
        json!({"product": "demo", "deployment": {"record_id": "x".repeat(2 * 1024 * 1024)}});
    let (status, response) = service
        .post("/v1/evidence/deployments", &oversized, None)
        .await;
    assert_eq!(status, 413, "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_evidence_links_the_deployment_and_rebuilds_prod_inventory() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let (status, _) = service
        .post(
            "/v1/evidence/deployments",
            &deployment("deployment-prod-1", "prod", "pass"),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let promotion = |deployment_id: &str, artifact: &str| {
        json!({
            "product": "demo",
            "promotion": {
                "record_id": "promotion-1",
                "artifact_identity": {"artifact_id": artifact},
                "deployment_record_id": deployment_id,
                "context": "demo",
                "from_instance": "testing",
                "to_instance": "prod",
                "backup_gate": {"required": false, "status": "skipped"},
                "deploy": {"target_name": "demo-prod", "target_type": "application", "deploy_mode": "image", "status": "pass"},
            }
        })
    };
    let (status, body) = service
        .post(
            "/v1/evidence/promotions",
            &promotion("deployment-prod-1", "artifact-other"),
            None,
        )
        .await;
    assert_eq!(status, 400, "artifact mismatch: {body}");
    assert!(
        db.store
            .get_record("promotion", "promotion-1")
            .await
            .expect("get")
            .is_none(),
        "rolled back"
    );
    let (status, body) = service
        .post(
            "/v1/evidence/promotions",
            &promotion("deployment-missing", "artifact-demo-1"),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");

    let (status, body) = service
        .post(
            "/v1/evidence/promotions",
            &promotion("deployment-prod-1", "artifact-demo-1"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["records"]["promotion_record_id"], "promotion-1");
    assert_eq!(body["records"]["inventory_record_id"], "demo-prod");
    let (_, inventory) = service.get("/v1/inventory/demo/prod").await;
    assert_eq!(inventory["record"]["promotion_record_id"], "promotion-1");
    assert_eq!(inventory["record"]["promoted_from_instance"], "testing");
    let (status, body) = service.get("/v1/promotions/promotion-1").await;
    assert_eq!(status, 200);
    assert_eq!(body["record"]["to_instance"], "prod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_generation_then_destroy_transitions_the_preview() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let anchor = json!({"context": "demo-preview", "anchor_repo": "demo", "anchor_pr_number": 7, "anchor_pr_url": "https://github.com/launchplane/demo/pull/7"});
    let mut preview = anchor.clone();
    preview["canonical_url"] = json!("https://pr-7.preview.demo.example");
    preview["created_at"] = json!("2026-11-01T00:00:00Z");
    let mut generation = anchor.clone();
    for (k, v) in [
        ("anchor_head_sha", json!("abcdef1")),
        ("state", json!("ready")),
        ("requested_reason", json!("pr_synchronize")),
        ("requested_at", json!("2026-11-01T00:00:00Z")),
        ("ready_at", json!("2026-11-01T00:05:00Z")),
        ("resolved_manifest_fingerprint", json!("fp-1")),
    ] {
        generation[k] = v;
    }
    let (status, body) = service
        .post(
            "/v1/evidence/previews/generations",
            &json!({"product": "demo", "preview": preview, "generation": generation}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let preview_id = body["records"]["preview_id"]
        .as_str()
        .expect("preview id")
        .to_string();
    assert_eq!(preview_id, "preview-demo-preview-demo-pr-7");
    assert_eq!(body["records"]["transition"], "ready");
    let (_, shown) = service.get(&format!("/v1/previews/{preview_id}")).await;
    assert_eq!(shown["record"]["state"], "active");
    let (_, history) = service
        .get(&format!("/v1/previews/{preview_id}/history"))
        .await;
    assert_eq!(history["generations"].as_array().map(Vec::len), Some(1));

    let mut destroy = anchor.clone();
    destroy
        .as_object_mut()
        .expect("object")
        .remove("anchor_pr_url");
    destroy["destroyed_at"] = json!("2026-11-02T00:00:00Z");
    destroy["destroy_reason"] = json!("external_preview_cleanup_completed");
    let (status, body) = service
        .post(
            "/v1/evidence/previews/destroyed",
            &json!({"product": "demo", "destroy": destroy}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["records"]["transition"], "destroyed");
    let (_, shown) = service.get(&format!("/v1/previews/{preview_id}")).await;
    assert_eq!(shown["record"]["state"], "destroyed");

    let mut unknown = anchor;
    unknown
        .as_object_mut()
        .expect("object")
        .remove("anchor_pr_url");
    unknown["anchor_pr_number"] = json!(8);
    unknown["destroyed_at"] = json!("2026-11-02T00:00:00Z");
    unknown["destroy_reason"] = json!("x");
    let (status, _) = service
        .post(
            "/v1/evidence/previews/destroyed",
            &json!({"product": "demo", "destroy": unknown}),
            None,
        )
        .await;
    assert_eq!(status, 400, "destroy evidence never creates a preview");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_database_execute_a_duplicate_once() {
    let db = TestDatabase::new("postgres").await;
    let hosts = TwoHosts::start(&db).await;
    for round in 0..20 {
        let key = format!("race-{round}");
        let body = deployment(&format!("deployment-race-{round}"), "testing", "pass");
        let answers = hosts
            .race("/v1/evidence/deployments", Some(&key), &vec![body; 6])
            .await;
        let mut executed = 0;
        for (status, body) in answers {
            match (status, body["replayed"].as_bool()) {
                (202, None) => executed += 1,
                (202, Some(true)) => {}
                (409, _) => assert_eq!(
                    body["error"]["code"], "idempotency_request_in_progress",
                    "{body}"
                ),
                other => panic!("round {round}: unexpected {other:?} {body}"),
            }
        }
        assert_eq!(executed, 1, "round {round}: exactly one request executed");
        assert_eq!(
            history_len(&db, "deployment", &format!("deployment-race-{round}")).await,
            1,
            "round {round}: no duplicate record"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_and_unauthorized_callers_are_refused_without_echoing_tokens() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let body = deployment("deployment-1", "testing", "pass");
    let response = service
        .server
        .client
        .post(service.server.url("/v1/evidence/deployments"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);

    let evil = service.issuer.token_with(|r| {
        r.repository = "launchplane/demo-evil".into();
        r.workflow_ref =
            "launchplane/demo-evil/.github/workflows/deploy.yml@refs/heads/main".into();
    });
    let (status, denied) = service
        .post_as(&evil, "/v1/evidence/deployments", &body, Some("k"))
        .await;
    assert_eq!(status, 403, "{denied}");
    assert_eq!(assert_rejected(&denied), "authorization_denied");
    assert_eq!(
        denied["authz"]["identity"]["repository"],
        "launchplane/demo-evil"
    );
    assert_eq!(denied["authz"]["policy_source"], "tests");
    assert!(!denied.to_string().contains(&evil), "the token is echoed");
    let signature = evil.rsplit('.').next().unwrap_or_default();
    assert!(!denied.to_string().contains(signature));
    // The denial is audited, with claims and without the token.
    let events = db
        .store
        .list_audit_events(denied["trace_id"].as_str(), 10)
        .await
        .expect("audit");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, "denied");
    assert!(
        !serde_json::to_string(&events[0])
            .expect("json")
            .contains(signature)
    );
    // A 403 did not consume the key: the right caller can use it.
    let (status, _) = service
        .post("/v1/evidence/deployments", &body, Some("k"))
        .await;
    assert_eq!(status, 202);
}
