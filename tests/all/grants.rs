//! Policy grants and removals over HTTP: dry run, apply with a reason,
//! idempotent replay, compare-and-write under concurrency, and responses
//! that never carry the policy body or workflow refs.

use launchplane_tests::two_hosts::TwoHosts;
use launchplane_tests::{Service, TestDatabase, assert_message, assert_rejected};
use serde_json::{Value, json};

const NEW_REPO: &str = "launchplane/newcomer";

fn grant(mode: &str, repository: &str) -> Value {
    json!({
        "schema_version": 1,
        "product": "launchplane",
        "mode": mode,
        "reason": "onboard a new tenant",
        "grant": {
            "repository": repository,
            "repository_id": "42",
            "repository_owner_id": "7",
            "workflow_refs": [format!("{repository}/.github/workflows/deploy.yml@refs/heads/main")],
            "products": ["demo"],
            "actions": ["deployment.write"]
        }
    })
}

fn newcomer_deployment() -> Value {
    json!({
        "product": "demo",
        "deployment": {
            "record_id": "deployment-newcomer",
            "context": "demo",
            "instance": "testing",
            "source_git_ref": "refs/heads/main",
            "deploy": {"target_name": "demo-testing", "target_type": "application", "deploy_mode": "image", "status": "pass"}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_goes_dry_run_then_apply_and_replays_without_change() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let newcomer = service.issuer.token_with(|r| {
        r.repository = NEW_REPO.into();
        r.repository_id = Some("42".into());
        r.repository_owner_id = Some("7".into());
        r.workflow_ref = format!("{NEW_REPO}/.github/workflows/deploy.yml@refs/heads/main");
    });
    let (status, _) = service
        .post_as(
            &newcomer,
            "/v1/evidence/deployments",
            &newcomer_deployment(),
            None,
        )
        .await;
    assert_eq!(status, 403, "not granted yet");
    let before = db
        .store
        .active_policy()
        .await
        .expect("policy")
        .expect("active");

    let (status, dry) = service
        .post(
            "/v1/authz-policies/github-actions/grants",
            &grant("dry_run", NEW_REPO),
            None,
        )
        .await;
    assert_eq!(status, 202, "{dry}");
    assert_eq!(dry["result"]["changed"], true);
    assert_eq!(dry["result"]["mode"], "dry_run");
    assert_eq!(
        db.store
            .active_policy()
            .await
            .expect("policy")
            .expect("active")
            .revision,
        before.revision,
        "a dry run writes nothing"
    );

    let mut no_reason = grant("apply", NEW_REPO);
    no_reason.as_object_mut().expect("object").remove("reason");
    let (status, body) = service
        .post("/v1/authz-policies/github-actions/grants", &no_reason, None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_message(&body, "reason");

    let (status, applied) = service
        .post(
            "/v1/authz-policies/github-actions/grants",
            &grant("apply", NEW_REPO),
            Some("grant-1"),
        )
        .await;
    assert_eq!(status, 202, "{applied}");
    assert_eq!(applied["result"]["changed"], true);
    assert_eq!(
        applied["result"]["authz_policy"]["github_actions_rule_count"],
        2
    );
    let text = applied.to_string();
    assert!(
        !text.contains("/.github/workflows/"),
        "workflow refs leak into the response: {text}"
    );
    let after = db
        .store
        .active_policy()
        .await
        .expect("policy")
        .expect("active");
    assert_eq!(after.revision, before.revision + 1);
    assert_eq!(
        applied["records"]["authz_policy_record_id"],
        after.record_id.as_str()
    );

    let (status, replay) = service
        .post(
            "/v1/authz-policies/github-actions/grants",
            &grant("apply", NEW_REPO),
            Some("grant-1"),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(replay["replayed"], true);
    assert_eq!(
        db.store
            .active_policy()
            .await
            .expect("policy")
            .expect("active")
            .revision,
        after.revision,
        "a replay changes nothing"
    );

    // The same rule again (new key) is recognised as already present.
    let (status, again) = service
        .post(
            "/v1/authz-policies/github-actions/grants",
            &grant("apply", NEW_REPO),
            Some("grant-2"),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(again["result"]["changed"], false);

    // The grant is live on this host at once.
    let (status, body) = service
        .post_as(
            &newcomer,
            "/v1/evidence/deployments",
            &newcomer_deployment(),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");

    // Removal: dry run by default, then applied.
    let mut removal = grant("apply", NEW_REPO);
    let rule = removal
        .as_object_mut()
        .expect("object")
        .remove("grant")
        .expect("rule");
    removal["removal"] = rule;
    removal.as_object_mut().expect("object").remove("mode");
    let (status, dry) = service
        .post("/v1/authz-policies/github-actions/removals", &removal, None)
        .await;
    assert_eq!(status, 202, "{dry}");
    assert_eq!(dry["result"]["mode"], "dry_run");
    removal["mode"] = json!("apply");
    let (status, removed) = service
        .post("/v1/authz-policies/github-actions/removals", &removal, None)
        .await;
    assert_eq!(status, 202, "{removed}");
    assert_eq!(
        removed["result"]["authz_policy"]["github_actions_rule_count"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_are_refused_without_the_grant_action_or_ids() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let mut unpinned = grant("apply", NEW_REPO);
    unpinned["grant"]
        .as_object_mut()
        .expect("object")
        .remove("repository_id");
    let (status, body) = service
        .post("/v1/authz-policies/github-actions/grants", &unpinned, None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(assert_rejected(&body), "invalid_request");

    let mut cross_repo = grant("apply", NEW_REPO);
    cross_repo["grant"]["workflow_refs"] = json!(["*/.github/workflows/deploy.yml@*"]);
    let (status, body) = service
        .post(
            "/v1/authz-policies/github-actions/grants",
            &cross_repo,
            None,
        )
        .await;
    assert_eq!(status, 400, "a cross-repository glob is refused: {body}");

    let outsider = service.issuer.token_with(|r| {
        r.repository = "launchplane/outsider".into();
        r.workflow_ref = "launchplane/outsider/.github/workflows/deploy.yml@refs/heads/main".into();
    });
    let (status, body) = service
        .post_as(
            &outsider,
            "/v1/authz-policies/github-actions/grants",
            &grant("apply", NEW_REPO),
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_grants_never_lose_a_rule() {
    let db = TestDatabase::new("postgres").await;
    let hosts = TwoHosts::start(&db).await;
    let grants: Vec<Value> = (0..6)
        .map(|i| grant("apply", &format!("tenant/app-{i}")))
        .collect();
    let answers = hosts
        .race("/v1/authz-policies/github-actions/grants", None, &grants)
        .await;
    let mut granted = Vec::new();
    for (i, (status, body)) in answers.into_iter().enumerate() {
        match status {
            202 => granted.push(format!("tenant/app-{i}")),
            409 => assert_eq!(body["error"]["code"], "authz_policy_conflict", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!granted.is_empty());
    let active = db
        .store
        .active_policy()
        .await
        .expect("policy")
        .expect("active");
    let repositories: Vec<&str> = active.policy["github_actions"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["repository"].as_str())
        .collect();
    for repository in &granted {
        assert!(
            repositories.contains(&repository.as_str()),
            "granted rule for {repository} was lost"
        );
    }
    assert_eq!(repositories.len(), granted.len() + 1);
}
