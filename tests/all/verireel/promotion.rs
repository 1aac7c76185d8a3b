//! Promotions without a passing gate: VeriReel's route records the
//! original's failed promotion and answers it (202); generic-web's own
//! route, for a VeriReel product, is refused by the promotion-gate hook.
//! Neither touches the provider.

use super::*;

conformance!(
    no_route_promotes_a_verireel_product_without_a_passing_gate,
    |db| async move { no_passing_gate(db).await }
);

async fn no_passing_gate(db: TestDatabase) {
    let v = verireel(db).await;
    let new = image("sha-abc1234", DIGEST);
    v.deploy_testing(&new).await;
    let before = v.mutations();
    let prod_image = v.image("app-prod");

    let (status, body) = v
        .service
        .post(
            "/v1/drivers/generic-web/prod-promotion",
            &json!({"product": "demo", "promotion": {"product": "demo", "artifact_id": new,
                    "source_git_ref": REVISION}}),
            None,
        )
        .await;
    assert!([409, 202].contains(&status), "{status}: {body}");
    assert!(body.to_string().contains("prod-backup-gate"), "{body}");

    // VeriReel's route: the original's failed promotion record under the
    // caller's id, and its statuses answered.
    let request = json!({"product": "demo", "promotion": {"artifact_id": new,
        "source_git_ref": REVISION, "backup_record_id": "backup-never",
        "promotion_record_id": "promotion-never", "source_health_status": "passed"}});
    let (status, body) = v
        .service
        .post("/v1/drivers/verireel/prod-promotion", &request, Some("p-1"))
        .await;
    assert_eq!(status, 202, "{body}");
    let r = &body["result"];
    assert_eq!(r["deploy_status"], "fail", "{body}");
    assert_eq!(r["rollout_status"], "skipped");
    assert_eq!(r["migration_status"], "skipped");
    assert_eq!(r["health_status"], "skipped");
    assert_eq!(r["deployment_record_id"], "");
    assert_eq!(r["target_name"], "ver-prod-app");
    assert!(
        r["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("backup-never")),
        "{body}"
    );
    assert_eq!(body["records"]["promotion_record_id"], "promotion-never");
    let record = v.record("promotion", "promotion-never").await;
    assert_eq!(record["deploy"]["status"], "fail", "{record}");
    assert_eq!(record["backup_gate"]["status"], "fail");
    assert_eq!(record["backup_gate"]["required"], true);
    assert_eq!(
        record["backup_gate"]["evidence"]["backup_record_id"],
        "backup-never"
    );
    assert_eq!(record["source_health"]["status"], "pass");
    assert_eq!(record["post_deploy_update"]["attempted"], false);
    assert_eq!(record["destination_health"]["status"], "skipped");
    assert_eq!(record["deployment_record_id"], "");

    // The original kept the answer for replay: the same key answers it
    // again without a second record.
    let (status, replay) = v
        .service
        .post("/v1/drivers/verireel/prod-promotion", &request, Some("p-1"))
        .await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(replay["result"], body["result"]);

    // A gate that exists but failed is refused the same way.
    let gate = json!({"schema_version": 1, "record_id": "backup-failed", "context": "verireel",
        "instance": "prod", "created_at": launchplane::time::now_rfc3339(),
        "source": "tests", "required": true, "status": "fail", "evidence": {}});
    let record =
        launchplane::records::StoredRecord::new("backup_gate", "backup-failed", "demo", gate);
    v.db.store
        .write_records(
            &[launchplane::records::RecordWrite::Replace { record }],
            "tests",
        )
        .await
        .expect("gate");
    let mut failed = request.clone();
    failed["promotion"]["backup_record_id"] = json!("backup-failed");
    failed["promotion"]["promotion_record_id"] = json!("promotion-failed");
    let body = v.post("/v1/drivers/verireel/prod-promotion", failed).await;
    assert_eq!(body["result"]["deploy_status"], "fail", "{body}");
    assert!(
        body["result"]["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("is fail, not pass")),
        "{body}"
    );

    assert_eq!(v.mutations(), before, "no provider mutation");
    assert_eq!(v.image("app-prod"), prod_image);
    let (status, _) = v.service.get("/v1/inventory/demo/prod").await;
    assert_eq!(status, 404, "prod inventory untouched");
}
