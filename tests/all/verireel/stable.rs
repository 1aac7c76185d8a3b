//! The stable lanes: deploys, the prod backup gate, promotion and rollback.

use super::*;

conformance!(
    testing_deploy_verification_gate_promotion_and_rollback,
    |db| async move { walk_the_stable_lifecycle(db).await }
);

async fn walk_the_stable_lifecycle(db: TestDatabase) {
    let v = verireel(db).await;
    let old = image("sha-old0000", OLD_DIGEST);
    let new = image("sha-abc1234", DIGEST);

    // prod runs the old release (what the rollback returns to).
    let (status, body) = v
        .deploy("/v1/drivers/verireel/prod-deploy", "prod", &old, REVISION)
        .await;
    assert_eq!(status, 202, "{body}");
    let first_prod = id_of(&body, "deployment_record_id");

    // Testing deploy: the image set before the deploy, the rollout verified
    // against the build the app reports, on the URL the profile names.
    v.fake.clear_calls();
    let body = v.deploy_testing(&new).await;
    let r = &body["result"];
    assert_eq!(r["deploy_status"], "pass", "{body}");
    assert_eq!(r["rollout_status"], "pass", "{body}");
    assert_eq!(r["rollout_base_url"], v.testing.as_str());
    assert_eq!(body["records"]["inventory_record_id"], "verireel-testing");
    let deployment = id_of(&body, "deployment_record_id");
    let paths: Vec<String> = v.fake.calls().into_iter().map(|c| c.path).collect();
    let set = paths
        .iter()
        .position(|p| p == "/api/application.saveDockerProvider");
    let deployed = paths.iter().position(|p| p == "/api/application.deploy");
    assert!(set.is_some() && set < deployed, "{paths:?}");
    assert_eq!(v.image("app-testing"), new);
    let record = v.record("deployment", &deployment).await;
    assert_eq!(record["deploy"]["status"], "pass");
    assert_eq!(record["destination_health"]["status"], "pass");
    assert_eq!(
        v.record("inventory", "verireel-testing").await["deployment_record_id"],
        deployment.as_str()
    );

    // The testing workflow's checks fold into that deployment.
    let body = v
        .post(
            "/v1/drivers/verireel/testing-verification",
            json!({"product": "demo", "verification": {
                "instance": "testing", "deployment_record_id": deployment,
                "migration_status": "success", "verification_status": "passed",
                "owner_routes_status": "passed",
            }}),
        )
        .await;
    assert_eq!(body["result"]["post_deploy_status"], "pass");
    assert_eq!(body["result"]["deployment_health_status"], "pass");
    let record = v.record("deployment", &deployment).await;
    assert_eq!(record["post_deploy_update"]["status"], "pass");

    // Prod backup gate: an operation of the prod lane, whose dump job
    // runs in the worker; the gate record pending then pass.
    let polled = v.gate("backup-verireel-1").await;
    assert_eq!(polled["operation"]["status"], "pass", "{polled}");
    let body = &polled["result"];
    assert_eq!(body["result"]["backup_status"], "pass", "{polled}");
    assert_eq!(
        body["records"]["backup_gate_record_id"], "backup-verireel-1",
        "{polled}"
    );
    let gate = v.record("backup_gate", "backup-verireel-1").await;
    assert_eq!(gate["status"], "pass");
    assert_eq!(gate["required"], true);
    assert_eq!(
        gate["evidence"]["database_dump_path"],
        "/volumes/backups/verireel/backup-verireel-1/verireel.dump"
    );
    let dump = v.schedule("ver-prod-backup-gate");
    assert_eq!(dump["applicationId"], "app-prod");
    assert!(
        dump["command"]
            .as_str()
            .is_some_and(|c| c.contains("pg_dump")),
        "{dump}"
    );
    assert!(!polled.to_string().contains("postgres://"), "{polled}");

    // Prod promotion: gate → deploy → migrations → rollout, under the
    // caller's promotion record id.
    let body = v
        .post(
            "/v1/drivers/verireel/prod-promotion",
            json!({"product": "demo", "promotion": {
                "artifact_id": new, "source_git_ref": REVISION,
                "backup_record_id": "backup-verireel-1", "promotion_record_id": "promotion-verireel-1",
                "source_health_status": "success", "rollout_timeout_seconds": 5,
                "rollout_interval_seconds": 1,
            }}),
        )
        .await;
    let r = &body["result"];
    assert_eq!(r["deploy_status"], "pass", "{body}");
    assert_eq!(r["migration_status"], "pass", "{body}");
    assert_eq!(r["health_status"], "pass", "{body}");
    assert_eq!(
        body["records"]["promotion_record_id"],
        "promotion-verireel-1"
    );
    let promoted = id_of(&body, "deployment_record_id");
    assert_eq!(v.image("app-prod"), new);
    let promotion = v.record("promotion", "promotion-verireel-1").await;
    assert_eq!(promotion["backup_record_id"], "backup-verireel-1");
    assert_eq!(promotion["backup_gate"]["status"], "pass");
    assert_eq!(promotion["deployment_record_id"], promoted.as_str());
    assert_eq!(promotion["destination_health"]["status"], "pass");
    assert_eq!(promotion["post_deploy_update"]["status"], "pass");
    let migrate = v.schedule("ver-apply-prisma-migrations");
    assert_eq!(migrate["applicationId"], "app-prod");
    assert_eq!(
        v.record("inventory", "verireel-prod").await["deployment_record_id"],
        promoted.as_str()
    );

    // Rollback: prod back to the earlier release, the gate's dump restored.
    let body = v
        .post(
            "/v1/drivers/verireel/prod-rollback",
            json!({"product": "demo", "rollback": {
                "promotion_record_id": "promotion-verireel-1", "backup_record_id": "backup-verireel-1",
            }}),
        )
        .await;
    let r = &body["result"];
    assert_eq!(r["rollback_status"], "pass", "{body}");
    assert_eq!(r["rollback_health_status"], "pass", "{body}");
    assert_eq!(r["snapshot_name"], "backup-verireel-1");
    assert_eq!(
        body["records"]["promotion_record_id"],
        "promotion-verireel-1"
    );
    assert_eq!(body["records"]["backup_record_id"], "backup-verireel-1");
    assert_eq!(v.image("app-prod"), old);
    let restore = v.schedule("ver-prod-restore");
    assert_eq!(restore["applicationId"], "app-prod");
    let promotion = v.record("promotion", "promotion-verireel-1").await;
    assert_eq!(promotion["rollback"]["status"], "pass", "{promotion}");
    let back = v.record("inventory", "verireel-prod").await;
    assert_ne!(back["deployment_record_id"], promoted.as_str());
    assert_ne!(back["deployment_record_id"], first_prod.as_str());
    assert_eq!(back["artifact_identity"]["artifact_id"], old.as_str());
}

conformance!(
    a_rollout_that_never_reports_the_build_fails_and_moves_nothing,
    |db| async move { a_rollout_that_never_reports_the_build(db).await }
);

async fn a_rollout_that_never_reports_the_build(db: TestDatabase) {
    let v = verireel(db).await;
    // The app reports revision abc1234; a deploy of another revision waits
    // for a build that never comes.
    let (status, body) = v
        .deploy(
            "/v1/drivers/verireel/testing-deploy",
            "testing",
            &image("sha-abc1234", DIGEST),
            "def5678",
        )
        .await;
    // Refused by the verify hook: an error today; the original's failed
    // result (202) once the host hands base failures to `adapt-result`.
    let message = match status {
        409 => body["error"]["message"].as_str().unwrap_or_default(),
        202 => {
            // The failed record is not visible to `adapt-result` yet, so
            // the answer says the deploy failed; the record below carries
            // the rollout's failure.
            assert_eq!(body["result"]["deploy_status"], "fail", "{body}");
            body["result"]["error_message"].as_str().unwrap_or_default()
        }
        other => panic!("{other}: {body}"),
    };
    assert!(message.contains("buildRevision"), "{message}");
    let deployments =
        walk::stored_all(&v.db, "deployment", Some("verireel"), Some("testing")).await;
    let record = deployments.first().expect("the failure is recorded");
    assert_eq!(record["destination_health"]["status"], "fail");
    assert_eq!(record["runtime_source"]["failure_stage"], "verify hook");
    let (status, _) = v.service.get("/v1/inventory/demo/testing").await;
    assert_eq!(status, 404, "the lane did not move");
}
