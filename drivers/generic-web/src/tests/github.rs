//! What reaches GitHub through the host: desired state from labelled pull
//! requests, the promotion workflow dispatch, and the preview URL derived
//! from the context's base URL.

use launchplane_sdk::host::PullRequest;
use launchplane_sdk::{DriverError, Host, HostError};
use serde_json::json;

use super::fixtures::*;

fn pull(number: u64, labels: &[&str]) -> PullRequest {
    PullRequest {
        number,
        html_url: format!("https://github.com/acme/shop/pull/{number}"),
        head_sha: format!("{number:0>40}"),
        labels: labels.iter().map(|l| l.to_string()).collect(),
    }
}

#[test]
fn desired_state_lists_labelled_pull_requests_of_the_profile_repository() {
    let host = host()
        .with_repository("acme/shop")
        .with_pull_request(pull(12, &["preview"]))
        .with_pull_request(pull(3, &["preview", "docs"]))
        .with_pull_request(pull(5, &["docs"]));
    let h = harness("shop-preview", host);
    let reply = h
        .call("preview_desired_state", "", json!({"product": "shop"}))
        .expect("discovers");
    let record = &reply.result;
    assert_eq!(record["status"], json!("pass"));
    assert_eq!(record["repository"], json!("acme/shop"));
    assert_eq!(record["desired_count"], json!(2));
    assert_eq!(record["desired_previews"][0]["preview_slug"], json!("pr-3"));
    assert_eq!(
        record["desired_previews"][1]["preview_slug"],
        json!("pr-12")
    );
    assert_eq!(record["desired_previews"][1]["anchor_repo"], json!("shop"));
    assert_eq!(
        record["desired_state_id"],
        json!(format!("preview-desired-state-shop-preview-{TS}"))
    );
    let call = h
        .host
        .calls()
        .into_iter()
        .find(|c| c.op == "github_open_pull_requests")
        .expect("asked GitHub");
    assert_eq!(call.args, ["shop-preview", "acme/shop", "preview", "10"]);
    assert_eq!(h.host.records("preview_desired_state").len(), 1);
}

#[test]
fn a_github_failure_is_a_failed_desired_state_record() {
    let host = host().with_failure(
        "github_open_pull_requests",
        HostError::ProviderFailed(
            "github_unauthorized: GitHub refused Launchplane's token (401)".into(),
        ),
    );
    let h = harness("shop-preview", host);
    let reply = h
        .call("preview_desired_state", "", json!({"product": "shop"}))
        .expect("a record, not an error");
    assert_eq!(reply.result["status"], json!("fail"));
    assert_eq!(reply.result["desired_count"], json!(0));
    assert!(
        reply.result["error_message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("github_unauthorized:")
    );
    assert_eq!(h.host.records("preview_desired_state").len(), 1);
}

#[test]
fn the_promotion_workflow_is_dispatched_with_the_profile_inputs() {
    let h = harness("shop-prod", host().with_repository("acme/shop"));
    let reply = h
        .call(
            "prod_promotion_workflow",
            "prod",
            json!({"product": "shop", "context": "shop-prod", "instance": "prod", "dry_run": false, "bump": "major"}),
        )
        .expect("dispatched");
    assert_eq!(reply.result["dispatch_status"], json!("dispatched"));
    assert_eq!(reply.result["workflow_id"], json!("promote-prod.yml"));
    let call = h
        .host
        .calls()
        .into_iter()
        .find(|c| c.op == "github_dispatch_workflow")
        .expect("dispatched");
    assert_eq!(
        call.args,
        [
            "shop-prod",
            "acme/shop",
            "promote-prod.yml",
            "main",
            "dry_run=false,bump=major"
        ]
    );
    let refused = harness(
        "shop-prod",
        host().with_repository("acme/shop").with_failure(
            "github_dispatch_workflow",
            HostError::NotFound("github_not_found: GitHub has no workflow (404)".into()),
        ),
    )
    .call(
        "prod_promotion_workflow",
        "prod",
        json!({"product": "shop", "context": "shop-prod"}),
    )
    .expect_err("refused");
    assert!(matches!(refused, DriverError::NotFound(m) if m.contains("github_not_found")));
}

#[test]
fn the_preview_url_derives_from_the_context_base_url() {
    let host = host().with_setting(
        "shop-preview",
        "",
        "LAUNCHPLANE_PREVIEW_BASE_URL",
        "https://previews.shop.example/ignored/path",
    );
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
    let reply = h
        .call(
            "preview_refresh",
            "",
            json!({"product": "shop", "preview_slug": "pr-7", "image_reference": image('a')}),
        )
        .expect("refreshes");
    assert_eq!(
        reply.result["preview_url"],
        json!("https://pr-7.previews.shop.example")
    );
}
