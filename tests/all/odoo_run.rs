//! Odoo's one-call routes over HTTP with test-issuer tokens, against the
//! fake Dokploy API, on both stores: `prod-promotion-run` (inputs, backup
//! gate and generic-web's promotion in one call; blocked and failed runs
//! not kept for replay; a foreign caller refused before anything runs),
//! and `preview-apply-inputs` / `preview-apply` (an Odoo preview on
//! generic-web's refresh, its secrets copied by the host from the template
//! lane and never answered or logged).

use launchplane_tests::assert_rejected;
use serde_json::{Value, json};

use crate::odoo::{
    ADMIN_SECRET, DB_SECRET, DIGEST_1 as DIGEST, MASTER_SECRET, Odoo, REPOSITORY, SHA_1 as SHA,
    odoo,
};
use crate::secrets::Capturing;

const RUN: &str = "/v1/drivers/odoo/prod-promotion-run";
const GATE: &str = "backup-gate-cm-prod-release-1";

/// Posts a `prod-promotion-run` for `release-1` under idempotency `key`.
async fn run(o: &Odoo, key: &str) -> (u16, Value) {
    let body = json!({"product": "demo", "run": {"context": "cm", "request_id": "release-1"}});
    o.service.post(RUN, &body, Some(key)).await
}

launchplane_tests::conformance!(
    a_run_promotes_testing_to_prod_with_a_fresh_gate_in_one_call,
    |db| async move {
        let o = odoo(db).await;
        o.ship_testing().await;

        let (status, body) = run(&o, "opp:cm:release-1").await;
        assert_eq!(status, 202, "{body}");
        let result = &body["result"];
        assert_eq!(result["run_status"], "pass", "{body}");
        assert_eq!(result["input_status"], "ready");
        assert_eq!(result["backup_status"], "pass");
        assert_eq!(result["promotion_status"], "pass");
        assert_eq!(result["destination_health_status"], "pass");
        assert_eq!(result["image_digest"], DIGEST);
        assert_eq!(o.image("prod"), format!("{REPOSITORY}@{DIGEST}"));

        // The six ids of the original's records, each naming a stored record.
        let records = &body["records"];
        assert_eq!(records["artifact_id"], "artifact-cm-1");
        assert_eq!(records["backup_record_id"], GATE);
        assert_eq!(records["request_id"], "release-1");
        assert_eq!(records["release_tuple_id"], "cm-prod-artifact-cm-1");
        let gate = o.record("backup_gate", GATE).await;
        assert_eq!(gate["status"], "pass");
        let promotion_id = records["promotion_record_id"]
            .as_str()
            .expect("promotion id");
        let promotion = o.record("promotion", promotion_id).await;
        assert_eq!(promotion["backup_record_id"], GATE);
        assert_eq!(promotion["backup_gate"]["status"], "pass", "{promotion}");
        let deployment_id = records["deployment_record_id"]
            .as_str()
            .expect("deployment id");
        let deployment = o.record("deployment", deployment_id).await;
        assert_eq!(deployment["deploy"]["status"], "pass");
        let tuple = o.record("release_tuple", "cm-prod").await;
        assert_eq!(tuple["artifact_id"], "artifact-cm-1");
        assert_eq!(tuple["promotion_record_id"], promotion_id);
        assert_eq!(o.fake.schedules().len(), 1, "one capture");

        // A passed run is kept: the same key replays it, nothing runs again.
        let before = o.mutations();
        let (status, again) = run(&o, "opp:cm:release-1").await;
        assert_eq!(status, 202, "{again}");
        assert_eq!(again["replayed"], true, "{again}");
        assert_eq!(again["result"], body["result"]);
        assert_eq!(o.mutations(), before);
    }
);

launchplane_tests::conformance!(
    a_blocked_run_changes_nothing_and_is_asked_again,
    |db| async move {
        let o = odoo(db).await;
        let before = o.mutations();
        let (status, body) = run(&o, "opp:cm:early").await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["result"]["run_status"], "blocked", "{body}");
        assert_eq!(body["result"]["backup_status"], "skipped");
        assert_eq!(body["records"]["request_id"], "release-1");
        assert_eq!(o.mutations(), before, "no provider mutation");
        assert_eq!(o.count("backup_gate").await, 0);
        assert_eq!(o.count("promotion").await, 0);

        // Not kept: once testing is shipped, the same key runs the promotion.
        o.ship_testing().await;
        let (status, body) = run(&o, "opp:cm:early").await;
        assert_eq!(status, 202, "{body}");
        assert!(body.get("replayed").is_none(), "{body}");
        assert_eq!(body["result"]["run_status"], "pass", "{body}");
    }
);

launchplane_tests::conformance!(
    a_failed_gate_is_recorded_and_stops_the_run_before_prod,
    |db| async move {
        let o = odoo(db).await;
        o.ship_testing().await;
        let prod_image = o.image("prod");
        o.fake.fail(
            "/api/schedule.runManually",
            500,
            "{\"message\":\"boom\"}",
            None,
        );

        let (status, body) = run(&o, "opp:cm:gate-fails").await;
        assert_eq!(status, 202, "{body}");
        let result = &body["result"];
        assert_eq!(result["run_status"], "fail", "{body}");
        assert_eq!(result["backup_status"], "fail");
        assert_eq!(result["promotion_status"], "skipped");
        assert!(
            result["error_message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        // The failure is evidence: the gate is recorded as failed, and prod
        // did not change.
        let gate = o.record("backup_gate", GATE).await;
        assert_eq!(gate["status"], "fail", "{gate}");
        assert_eq!(o.count("promotion").await, 0);
        assert_eq!(o.image("prod"), prod_image);

        // Not kept: the same key runs again, and the failed gate (evidence,
        // never overwritten) refuses a second capture under its id before
        // any provider call; a new request id captures a new gate and ships.
        o.fake.clear_failures();
        let before = o.mutations();
        let (status, body) = run(&o, "opp:cm:gate-fails").await;
        assert_eq!(status, 409, "{body}");
        assert!(body.to_string().contains(GATE), "{body}");
        assert_eq!(o.mutations(), before);
        let retry =
            json!({"product": "demo", "run": {"context": "cm", "request_id": "release-1b"}});
        let (status, body) = o.service.post(RUN, &retry, Some("opp:cm:retry")).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["result"]["run_status"], "pass", "{body}");
        assert_eq!(
            body["records"]["backup_record_id"],
            "backup-gate-cm-prod-release-1b"
        );
        assert_eq!(o.image("prod"), format!("{REPOSITORY}@{DIGEST}"));
    }
);

launchplane_tests::conformance!(
    a_foreign_caller_cannot_run_a_promotion_or_apply_a_preview,
    |db| async move {
        let o = odoo(db).await;
        o.ship_testing().await;
        let before = o.mutations();
        let evil = o.service.issuer.token_with(|r| {
            r.repository = "launchplane/other".into();
            r.workflow_ref =
                "launchplane/other/.github/workflows/deploy.yml@refs/heads/main".into();
        });
        let calls = [
            (
                RUN,
                json!({"product": "demo", "run": {"context": "cm", "request_id": "release-1"}}),
            ),
            (
                "/v1/drivers/odoo/preview-apply",
                json!({"product": "demo", "apply": {"product": "demo", "pr_number": 42,
                   "preview_url": "http://127.0.0.1:9/", "image_reference": format!("{REPOSITORY}@{DIGEST}")}}),
            ),
            (
                "/v1/drivers/odoo/preview-apply-inputs",
                json!({"product": "demo", "inputs": {"product": "demo", "pr_number": 42,
                   "preview_url": "http://127.0.0.1:9/", "image_reference": format!("{REPOSITORY}@{DIGEST}")}}),
            ),
        ];
        for (route, body) in calls {
            let (status, answer) = o.service.post_as(&evil, route, &body, None).await;
            assert_eq!(status, 403, "{route}: {answer}");
            assert_eq!(assert_rejected(&answer), "authorization_denied");
        }
        assert_eq!(o.mutations(), before, "no provider mutation");
        assert_eq!(o.count("backup_gate").await, 0);
    }
);

/// A loopback server answering `/healthz`, the preview's health URL.
async fn preview_health() -> String {
    let app = axum::Router::new().route(
        "/healthz",
        axum::routing::get(|| async { axum::Json(json!({"status": "ok"})) }),
    );
    format!("http://{}", launchplane_tests::serve_loopback(app).await)
}

fn apply_body(preview_url: &str) -> Value {
    json!({"product": "demo", "apply": {"product": "demo", "pr_number": 42, "preview_url": preview_url,
           "image_reference": format!("{REPOSITORY}@{DIGEST}"), "source_git_ref": SHA}})
}

launchplane_tests::conformance!(
    an_odoo_preview_is_planned_then_applied_without_showing_a_secret,
    |db| async move {
        let o = odoo(db).await;
        let url = preview_health().await;
        let logs = Capturing::start();

        let (status, plan) = o
        .service
        .post(
            "/v1/drivers/odoo/preview-apply-inputs",
            &json!({"product": "demo", "inputs": {"product": "demo", "pr_number": 42, "preview_url": url,
                    "image_reference": format!("{REPOSITORY}@{DIGEST}")}}),
            None,
        )
        .await;
        assert_eq!(status, 202, "{plan}");
        let r = &plan["result"];
        assert_eq!(r["status"], "ready", "{plan}");
        assert_eq!(r["application_name"], "demo-preview-pr-42");
        assert_eq!(r["environment"]["ODOO_DB_NAME"], "demo_preview_pr_42_db");
        assert_eq!(r["missing_keys"], json!([]));

        let before = o.fake.applications().len();
        let (status, applied) = o
            .service
            .post("/v1/drivers/odoo/preview-apply", &apply_body(&url), None)
            .await;
        assert_eq!(status, 202, "{applied}");
        let r = &applied["result"];
        assert_eq!(r["status"], "pass", "{applied}");
        assert_eq!(r["application_name"], "demo-preview-pr-42");
        let steps: Vec<&str> = r["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["step"].as_str())
            .collect();
        assert_eq!(steps, ["readiness", "provision", "health"], "{applied}");
        assert!(applied["records"]["preview_id"].is_string(), "{applied}");

        // The preview app runs with its own database and the template's
        // secrets, which the host copied: no driver ever held them.
        let apps = o.fake.applications();
        assert_eq!(apps.len(), before + 1);
        let app = apps
            .iter()
            .find(|a| a["name"] == "demo-preview-pr-42")
            .expect("preview app");
        let env = app["env"].as_str().unwrap_or_default();
        assert!(env.contains("ODOO_DB_NAME=demo_preview_pr_42_db"), "{env}");
        assert!(env.contains("ODOO_STACK_NAME=demo-preview-pr-42"), "{env}");
        assert!(
            env.contains(&format!("ODOO_DB_PASSWORD={DB_SECRET}")),
            "{env}"
        );
        assert!(
            env.contains(&format!("ODOO_MASTER_PASSWORD={MASTER_SECRET}")),
            "{env}"
        );

        let answered = format!("{plan}{applied}");
        let logged = logs.text();
        for secret in [DB_SECRET, MASTER_SECRET, ADMIN_SECRET] {
            assert!(!answered.contains(secret), "answered {secret}");
            assert!(!logged.contains(secret), "logged {secret}");
        }
    }
);

launchplane_tests::conformance!(
    an_apply_without_the_runtime_keys_is_refused_naming_them,
    |db| async move {
        let o = odoo(db).await;
        // The template loses two of the keys an Odoo preview needs.
        o.fake.add_application(
        "app-testing",
        json!({"name": "cm-testing", "env": format!("ODOO_DB_PASSWORD={DB_SECRET}"),
               "dockerImage": "ghcr.io/launchplane/odoo-cm:old", "environmentId": "env-cm", "serverId": "srv-1"}),
    );
        let before = o.mutations();
        let (status, body) = o
            .service
            .post(
                "/v1/drivers/odoo/preview-apply",
                &apply_body("http://127.0.0.1:9"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            assert_rejected(&body),
            "odoo_preview_runtime_config_incomplete"
        );
        assert_eq!(body["details"]["context"], "cm");
        assert_eq!(body["details"]["instance"], "testing");
        assert_eq!(
            body["details"]["missing_keys"],
            json!(["ODOO_ADMIN_PASSWORD", "ODOO_MASTER_PASSWORD"])
        );
        assert!(!body.to_string().contains(DB_SECRET));
        assert_eq!(o.mutations(), before, "refused before any provider change");
        assert_eq!(o.count("preview").await, 0);

        // The plan says the same, as a blocked answer.
        let (status, plan) = o
        .service
        .post(
            "/v1/drivers/odoo/preview-apply-inputs",
            &json!({"product": "demo", "inputs": {"product": "demo", "pr_number": 42,
                    "preview_url": "http://127.0.0.1:9", "image_reference": format!("{REPOSITORY}@{DIGEST}")}}),
            None,
        )
        .await;
        assert_eq!(status, 202, "{plan}");
        assert_eq!(plan["result"]["status"], "blocked");
        assert_eq!(
            plan["result"]["missing_keys"],
            body["details"]["missing_keys"]
        );
    }
);
