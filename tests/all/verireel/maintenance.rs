//! The stable environment, app maintenance and the preview inventory.

use super::*;

conformance!(
    stable_environment_reads_the_lane_from_records_and_the_profile,
    |db| async move { stable_environment(db).await }
);

async fn stable_environment(db: TestDatabase) {
    let v = verireel(db).await;
    let (status, body) = v
        .service
        .post(
            "/v1/drivers/verireel/stable-environment",
            &json!({"product": "demo", "environment": {"instance": "testing"}}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let result = &body["result"];
    // The testing target names no domain: the profile's lane URL is used.
    assert_eq!(result["primary_base_url"], v.testing.as_str());
    assert_eq!(result["target_name"], "ver-testing-app");
    assert_eq!(
        result["health_urls"],
        json!([format!("{}/api/health", v.testing)])
    );
    assert!(!body.to_string().contains("app-testing"), "{body}");
    assert!(v.fake.calls().is_empty(), "read from records only");
    let (status, body) = v
        .service
        .post(
            "/v1/drivers/verireel/stable-environment",
            &json!({"product": "demo", "environment": {"instance": "prod"}}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"]["primary_base_url"], v.prod.as_str());
}

fn maintenance(action: &str, email: &str) -> Value {
    json!({"product": "demo", "maintenance": {
        "context": "verireel", "instance": "testing", "action": action, "email": email,
    }})
}

conformance!(
    app_maintenance_runs_named_jobs_on_the_testing_application_and_retries,
    |db| async move { app_maintenance(db).await }
);

async fn app_maintenance(db: TestDatabase) {
    let v = verireel(db).await;
    // No intent: the original accepted action-only payloads.
    let body = v
        .post(
            "/v1/drivers/verireel/app-maintenance",
            maintenance("migrate", ""),
        )
        .await;
    let result = &body["result"];
    assert_eq!(result["maintenance_status"], "pass", "{body}");
    assert_eq!(result["schedule_name"], "ver-apply-prisma-migrations");
    assert_eq!(result["application_name"], "ver-testing-app");
    assert!(!body.to_string().contains("app-testing"), "{body}");
    let schedule = v.schedule("ver-apply-prisma-migrations");
    assert_eq!(schedule["applicationId"], "app-testing");
    assert_eq!(schedule["scheduleType"], "application");
    assert_eq!(
        schedule["command"],
        "npx prisma migrate deploy --config prisma.config.ts"
    );

    // An owner-admin command gets a job of its own, its email one quoted
    // argument; Dokploy failing the first run is retried five seconds on.
    v.fake.clear_calls();
    v.fake
        .fail("/api/schedule.runManually", 502, "bad gateway", Some(1));
    let started = std::time::Instant::now();
    let mut request = maintenance("promote-owner", "o'neil+e2e@example.com");
    request["maintenance"]["intent"] = json!("owner-route-promote-owner");
    let body = v
        .post("/v1/drivers/verireel/app-maintenance", request)
        .await;
    assert_eq!(body["result"]["maintenance_status"], "pass", "{body}");
    assert!(started.elapsed() >= Duration::from_secs(5), "no pause");
    assert_eq!(v.fake.calls_to("/api/schedule.runManually").len(), 2);
    assert_eq!(
        v.schedule("ver-owner-route-promote-owner")["command"],
        r"node scripts/ops/remote-owner-admin.mjs --action promote-owner --email 'o'\''neil+e2e@example.com'"
    );

    // A preview's maintenance runs on the preview application the slug
    // names; a preview that does not exist is a failed maintenance.
    v.fake.add_application(
        "app-pr-5",
        json!({"name": "ver-preview-pr-5-app", "appName": "ver-preview-pr-5", "dockerImage": "ghcr.io/o/verireel:pr-5",
               "environmentId": "env-1"}),
    );
    let preview = |slug: &str| {
        json!({"product": "demo", "maintenance": {
            "context": "verireel-testing", "instance": "preview", "preview_slug": slug,
            "action": "delete-user", "intent": "remote-e2e-delete-user", "email": "e2e@example.com",
        }})
    };
    let body = v
        .post("/v1/drivers/verireel/app-maintenance", preview("pr-5"))
        .await;
    assert_eq!(body["result"]["maintenance_status"], "pass", "{body}");
    assert_eq!(
        v.schedule("ver-remote-e2e-delete-user")["applicationId"],
        "app-pr-5"
    );
    let body = v
        .post("/v1/drivers/verireel/app-maintenance", preview("pr-6"))
        .await;
    assert_eq!(body["result"]["maintenance_status"], "fail", "{body}");
}

conformance!(
    preview_inventory_lists_the_preview_applications_dokploy_has,
    |db| async move { preview_inventory(db).await }
);

async fn preview_inventory(db: TestDatabase) {
    let v = verireel(db).await;
    for (id, name) in [
        ("app-pr-12", "ver-preview-pr-12-app"),
        ("app-pr-3", "ver-preview-pr-3"),
    ] {
        v.fake.add_application(
            id,
            json!({"name": name, "appName": name, "environmentId": "env-1"}),
        );
    }
    let body = v
        .post(
            "/v1/drivers/verireel/preview-inventory",
            json!({"product": "demo", "inventory": {"context": "verireel-testing"}}),
        )
        .await;
    let slugs: Vec<&str> = body["result"]["previews"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["previewSlug"].as_str())
        .collect();
    assert_eq!(slugs, ["pr-3", "pr-12"], "{body}");
    assert!(!body.to_string().contains("app-pr-"), "{body}");
}
