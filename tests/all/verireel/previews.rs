//! Previews: refresh (with the migration and seed jobs), verification,
//! inventory and destroy.

use super::*;

conformance!(preview_refresh_verification_and_destroy, |db| async move {
    preview_walk(db).await
});

async fn preview_walk(db: TestDatabase) {
    let v = verireel(db).await;
    let refresh = json!({"product": "demo", "refresh": {
        "anchor_pr_number": 7, "anchor_pr_url": "https://github.com/o/verireel/pull/7",
        "anchor_head_sha": "abc1234def", "preview_slug": "pr-7",
        "image_reference": image("pr-7", DIGEST), "preview_url": v.testing,
        "timeout_seconds": 30,
    }});
    let body = v
        .post("/v1/drivers/verireel/preview-refresh", refresh)
        .await;
    let r = &body["result"];
    assert_eq!(r["refresh_status"], "pass", "{body}");
    assert_eq!(r["application_name"], "ver-preview-pr-7");
    assert_eq!(body["records"]["transition"], "ready");
    let preview_id = id_of(&body, "preview_id");
    let generation_id = id_of(&body, "generation_id");
    let app = v
        .fake
        .applications()
        .into_iter()
        .find(|a| a["name"] == "ver-preview-pr-7")
        .expect("the preview application");
    let env = app["env"].as_str().unwrap_or_default();
    assert!(
        env.contains(&format!("VERIREEL_APP_URL={}", v.testing)),
        "{env}"
    );
    let preview = v.record("preview", &preview_id).await;
    assert_eq!(preview["state"], "active", "{preview}");
    let generation = v.record("preview_generation", &generation_id).await;
    assert_eq!(generation["state"], "ready");
    // The original's database jobs ran on the preview application, in order.
    let app_id = app["applicationId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for job in ["ver-preview-pr-7-migrate", "ver-preview-pr-7-seed"] {
        assert_eq!(v.schedule(job)["applicationId"], app_id.as_str(), "{job}");
    }
    assert_eq!(
        v.schedule("ver-preview-pr-7-migrate")["command"],
        "npx prisma migrate deploy --config prisma.config.ts"
    );

    // The product's end-to-end run fails the generation.
    let body = v
        .post(
            "/v1/drivers/verireel/preview-verification",
            json!({"product": "demo", "verification": {
                "anchor_pr_number": 7, "verification_status": "fail",
                "verified_at": "2026-11-02T10:00:00Z", "failure_summary": "sign-in broke",
            }}),
        )
        .await;
    assert_eq!(body["records"]["transition"], "failed", "{body}");
    assert_eq!(body["records"]["generation_id"], generation_id.as_str());
    let generation = v.record("preview_generation", &generation_id).await;
    assert_eq!(generation["state"], "failed");
    assert_eq!(generation["failure_summary"], "sign-in broke");

    // The inventory sees the preview under generic-web's name.
    let body = v
        .post(
            "/v1/drivers/verireel/preview-inventory",
            json!({"product": "demo", "inventory": {}}),
        )
        .await;
    assert_eq!(
        body["result"]["previews"][0]["previewSlug"], "pr-7",
        "{body}"
    );

    let body = v
        .post(
            "/v1/drivers/verireel/preview-destroy",
            json!({"product": "demo", "destroy": {
                "anchor_pr_number": 7, "preview_slug": "pr-7",
                "destroy_reason": "external_preview_cleanup_completed",
            }}),
        )
        .await;
    assert_eq!(body["result"]["destroy_status"], "pass", "{body}");
    assert_eq!(body["records"]["transition"], "destroyed");
    assert!(
        !v.fake
            .applications()
            .iter()
            .any(|a| a["name"] == "ver-preview-pr-7"),
        "the application is gone"
    );
    let preview = v.record("preview", &preview_id).await;
    assert_eq!(preview["state"], "destroyed");
    assert_eq!(
        preview["destroy_reason"],
        "external_preview_cleanup_completed"
    );

    // Another PR's slug is refused naming the field, before anything runs.
    let before = v.mutations();
    let (status, body) = v
        .service
        .post(
            "/v1/drivers/verireel/preview-destroy",
            &json!({"product": "demo", "destroy": {"anchor_pr_number": 7, "preview_slug": "pr-8",
                    "destroy_reason": "x"}}),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("preview_slug")),
        "{body}"
    );
    assert_eq!(v.mutations(), before);
}
