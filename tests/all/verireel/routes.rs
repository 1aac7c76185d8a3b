//! What every route VeriReel gained refuses before anything runs.

use super::*;

/// Each route VeriReel gained, with a body it accepts.
fn new_routes() -> Vec<(&'static str, Value)> {
    let new = image("sha-abc1234", DIGEST);
    vec![
        (
            "prod-backup-gate",
            json!({"backup_gate": {"backup_record_id": "backup-x"}}),
        ),
        (
            "prod-promotion",
            json!({"promotion": {"artifact_id": new, "source_git_ref": REVISION,
                   "backup_record_id": "backup-x", "promotion_record_id": "promotion-x"}}),
        ),
        (
            "prod-rollback",
            json!({"rollback": {"promotion_record_id": "promotion-x", "backup_record_id": "backup-x"}}),
        ),
        (
            "preview-refresh",
            json!({"refresh": {"anchor_pr_number": 7, "anchor_pr_url": "https://github.com/o/verireel/pull/7",
                   "anchor_head_sha": "abc1234", "preview_slug": "pr-7", "image_reference": new,
                   "preview_url": "https://pr-7.preview.example"}}),
        ),
        (
            "preview-destroy",
            json!({"destroy": {"anchor_pr_number": 7, "preview_slug": "pr-7", "destroy_reason": "x"}}),
        ),
        (
            "preview-verification",
            json!({"verification": {"anchor_pr_number": 7, "verification_status": "pass",
                   "verified_at": "2026-11-02T10:00:00Z"}}),
        ),
    ]
}

conformance!(
    the_new_routes_refuse_strangers_and_unknown_fields_before_anything_runs,
    |db| async move { refusals(db).await }
);

async fn refusals(db: TestDatabase) {
    let v = verireel(db).await;
    let stranger = v.service.issuer.token_with(|r| {
        r.repository = "someone/else".into();
        r.workflow_ref = "someone/else/.github/workflows/deploy.yml@refs/heads/main".into();
    });
    for (route, payload) in new_routes() {
        let path = format!("/v1/drivers/verireel/{route}");
        let mut body = payload.clone();
        body["product"] = json!("demo");
        let (status, answer) = v.service.post_as(&stranger, &path, &body, None).await;
        assert_eq!(status, 403, "{route}: {answer}");
        assert_eq!(answer["error"]["code"], "authorization_denied", "{route}");

        let key = body
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "product").cloned())
            .expect("payload key");
        body[&key]["surprise"] = json!(true);
        let (status, answer) = v.service.post(&path, &body, None).await;
        assert_eq!(status, 400, "{route}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("surprise")),
            "{route}: {answer}"
        );
    }
    assert!(v.fake.calls().is_empty(), "{:?}", v.fake.call_lines());
    for kind in ["backup_gate", "promotion", "preview", "preview_generation"] {
        let stored = walk::stored_all(&v.db, kind, None, None).await;
        assert!(stored.is_empty(), "{kind}: {stored:?}");
    }
}
