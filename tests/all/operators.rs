//! Local operator tokens: stored hashed, read-only unless a
//! `[[local_operators]]` rule grants more, revocable.

use launchplane::auth::AuthzPolicy;
use launchplane::auth::operator::{new_token, token_hash};
use launchplane::ops::access::policy_record;
use launchplane_tests::{DEMO_POLICY, Service, TestDatabase};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_tokens_read_by_default_write_by_rule_and_can_be_revoked() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let (token, token_id) = new_token();
    db.store
        .insert_operator_token(&token_id, "alice-laptop", &token_hash(&token))
        .await
        .expect("insert");
    let stored = db.store.list_operator_tokens().await.expect("list");
    assert_eq!(stored.len(), 1);
    assert!(
        !format!("{stored:?}").contains(&token),
        "the token itself is never stored"
    );

    let get = |path: &str| {
        service
            .server
            .client
            .get(service.server.url(path))
            .bearer_auth(&token)
            .send()
    };
    let response = get("/v1/drivers").await.expect("request");
    assert_eq!(
        response.status().as_u16(),
        200,
        "operators may read the catalogue"
    );

    let deployment = json!({
        "product": "demo",
        "deployment": {
            "record_id": "deployment-op", "context": "demo", "instance": "testing", "source_git_ref": "refs/heads/main",
            "deploy": {"target_name": "t", "target_type": "application", "deploy_mode": "image", "status": "pass"}
        }
    });
    let (status, body) = service
        .post_as(&token, "/v1/evidence/deployments", &deployment, None)
        .await;
    assert_eq!(status, 403, "read-only without a rule: {body}");

    // A rule for this label grants the write.
    let policy = AuthzPolicy::from_toml_str(&format!(
        "{DEMO_POLICY}\n[[local_operators]]\ntoken_labels = [\"alice-*\"]\nproducts = [\"demo\"]\nactions = [\"deployment.write\"]\n"
    ))
    .expect("policy");
    let current = db
        .store
        .active_policy()
        .await
        .expect("policy")
        .expect("active");
    db.store
        .replace_policy(current.revision, &policy_record(&policy, "tests"))
        .await
        .expect("replace");
    service.server.state.policy_cache.invalidate();
    let (status, body) = service
        .post_as(&token, "/v1/evidence/deployments", &deployment, None)
        .await;
    assert_eq!(status, 202, "{body}");

    assert!(
        db.store
            .revoke_operator_token(&token_id)
            .await
            .expect("revoke")
    );
    let response = get("/v1/drivers").await.expect("request");
    assert_eq!(
        response.status().as_u16(),
        401,
        "a revoked token is refused"
    );
    let (status, _) = service
        .post_as(
            "lpo_not-a-real-token",
            "/v1/evidence/deployments",
            &deployment,
            None,
        )
        .await;
    assert_eq!(status, 401);
}
