//! Crash safety of in-request mutations, on PostgreSQL against the fake
//! Dokploy: a retry after its host died never repeats the provider action
//! once the dead attempt began changing things (409
//! `idempotency_outcome_unknown`, naming what it wrote), and runs normally
//! when it had not; a running attempt's holds are renewed by its
//! heartbeat; an operator frees a dead host's lane at once, audited.
//!
//! The "crash" is made in the database, as a dead host leaves it: the
//! reservation's owner is gone and its lease has run out, so a second host
//! (the retry) finds it as it would after kill -9.

use std::time::Duration;

use launchplane::records::{NewLaneLease, Store};
use launchplane_tests::assert_rejected;
use serde_json::json;

use crate::lifecycle::{
    IMAGE_1, IMAGE_2, deploy, deploys_seen, image_of, lifecycle, lifecycle_configured,
    slow_lifecycle, testing_lease,
};

/// What a dead host leaves behind: its reservation owned by nobody alive,
/// its lease run out.
async fn kill_reservation_owner(store: &Store, key: &str) {
    let Store::Postgres(pool) = store else {
        panic!("these tests run on PostgreSQL");
    };
    let updated = sqlx::query(
        "UPDATE lp_idempotency SET owner = 'host-killed', lease_expires_at = 0 WHERE idempotency_key = $1",
    )
    .bind(key)
    .execute(pool)
    .await
    .expect("kill")
    .rows_affected();
    assert_eq!(updated, 1, "the reservation of `{key}` exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_host_died_mid_deploy_never_deploys_again() {
    let l = slow_lifecycle().await;
    let request = deploy(IMAGE_1);
    let first = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("crash-1"));
    let crash_and_retry = async {
        // The dead attempt got as far as Dokploy's deploy call.
        deploys_seen(&l, 1).await;
        kill_reservation_owner(&l.db.store, "crash-1").await;
        let mut answers = Vec::new();
        for _ in 0..2 {
            answers.push(
                l.service
                    .post("/v1/drivers/generic-web/deploy", &request, Some("crash-1"))
                    .await,
            );
        }
        answers
    };
    let ((status, body), retries) = tokio::join!(first, crash_and_retry);
    // The "dead" attempt ran to its end in this process; it could not
    // store its answer under a reservation it no longer held.
    assert_eq!(status, 202, "{body}");
    for (status, retry) in &retries {
        assert_eq!(*status, 409, "{retry}");
        assert_eq!(assert_rejected(retry), "idempotency_outcome_unknown");
        assert_eq!(retry["attempt"]["trace_id"], body["trace_id"], "{retry}");
    }
    assert_eq!(
        l.fake.calls_to("/api/application.deploy").len(),
        1,
        "Dokploy deployed once"
    );
    // Once the attempt's records are committed, the answer names them.
    let (status, late) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("crash-1"))
        .await;
    assert_eq!(status, 409, "{late}");
    let deployment = body["records"]["deployment_record_id"]
        .as_str()
        .expect("id");
    let written: Vec<String> =
        serde_json::from_value(late["attempt"]["written"].clone()).expect("list");
    assert!(
        written.contains(&format!("deployment/{deployment}")),
        "{written:?}"
    );
    assert!(
        late["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(deployment),
        "{late}"
    );
    assert_eq!(l.fake.calls_to("/api/application.deploy").len(), 1);

    // A new key is a new decision, and runs.
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(IMAGE_2),
            Some("crash-2"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(image_of(&l, "testing"), IMAGE_2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_host_died_before_any_change_runs_once() {
    let l = lifecycle().await;
    let Store::Postgres(pool) = &l.db.store else {
        panic!("PostgreSQL");
    };
    // A reservation whose host died between reserving and its first effect.
    let request = deploy(IMAGE_1);
    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("early-1"))
        .await;
    assert_eq!(status, 202, "{body}");
    sqlx::query(
        "UPDATE lp_idempotency SET state = 'in_progress', owner = 'host-killed', lease_expires_at = 0, \
         effect_started_at = NULL, response_body = NULL, attempt_trace_id = 'launchplane_req_dead' \
         WHERE idempotency_key = 'early-1'",
    )
    .execute(pool)
    .await
    .expect("rewind");
    let calls = l.fake.calls_to("/api/application.deploy").len();
    let (status, retry) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("early-1"))
        .await;
    assert_eq!(status, 202, "{retry}");
    assert_eq!(l.fake.calls_to("/api/application.deploy").len(), calls + 1);
    let (status, replay) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("early-1"))
        .await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(replay["replayed"], true);
    assert_eq!(l.fake.calls_to("/api/application.deploy").len(), calls + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_deploy_keeps_its_short_lease_alive() {
    // Leases of 300 ms, renewed every 100 ms, under a deploy of about 1 s.
    let l = lifecycle_configured(|state| state.lease_ms = 300).await;
    l.fake
        .script(launchplane_tests::fake_dokploy::DeployScript {
            running_polls: 50,
            ..Default::default()
        });
    let request = deploy(IMAGE_1);
    let first = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("beat-1"));
    let watch = async {
        deploys_seen(&l, 1).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let busy = l
            .service
            .post(
                "/v1/drivers/generic-web/deploy",
                &deploy(IMAGE_2),
                Some("beat-2"),
            )
            .await;
        (testing_lease(&l).await, busy)
    };
    let ((status, body), (lease, (busy_status, busy))) = tokio::join!(first, watch);
    assert_eq!(status, 202, "{body}");
    let lease = lease.expect("still held after two lease lengths");
    assert_eq!(
        lease.trace_id,
        body["trace_id"].as_str().unwrap_or_default()
    );
    assert_eq!(busy_status, 409, "{busy}");
    assert_eq!(assert_rejected(&busy), "lane_busy");
    assert!(testing_lease(&l).await.is_none(), "released at the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_frees_a_dead_hosts_lane_at_once_and_it_is_audited() {
    let l = lifecycle().await;
    // A lease left by a host that died 1 s into a 10-minute lease.
    l.db.store
        .acquire_lane(
            &NewLaneLease {
                product: "demo".into(),
                context: "demo".into(),
                instance: "testing".into(),
                driver_id: "generic-web".into(),
                action_id: "stable_deploy".into(),
                trace_id: "launchplane_req_dead".into(),
                owner: "host-killed".into(),
            },
            600_000,
        )
        .await
        .expect("lease");
    let (status, busy) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &deploy(IMAGE_1), None)
        .await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(assert_rejected(&busy), "lane_busy");

    let release = json!({"product": "demo", "context": "demo", "instance": "testing"});
    let (status, refused) = l.service.post("/v1/lanes/release", &release, None).await;
    assert_eq!(status, 400, "a reason is required: {refused}");
    let mut release = release;
    release["reason"] = json!("host-killed died during the deploy");
    let (status, freed) = l.service.post("/v1/lanes/release", &release, None).await;
    assert_eq!(status, 202, "{freed}");
    assert_eq!(freed["result"]["released"], true);
    assert_eq!(freed["result"]["lease"]["trace_id"], "launchplane_req_dead");
    assert!(freed["result"]["lease"].get("owner").is_none());
    let (status, again) = l.service.post("/v1/lanes/release", &release, None).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["result"]["released"], false);

    let events =
        l.db.store
            .list_audit_events(freed["trace_id"].as_str(), 10)
            .await
            .expect("audit");
    let event = events
        .iter()
        .find(|e| e.action == "lane_lease.release")
        .expect("the release is audited");
    assert_eq!(event.detail["reason"], "host-killed died during the deploy");
    assert_eq!(event.detail["released_trace_id"], "launchplane_req_dead");

    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &deploy(IMAGE_1), None)
        .await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_deploy_commits_its_records_with_its_answer_and_audit() {
    let l = lifecycle().await;
    let Store::Postgres(pool) = &l.db.store else {
        panic!("PostgreSQL");
    };
    let (status, body) = l
        .service
        .post(
            "/v1/drivers/generic-web/deploy",
            &deploy(IMAGE_1),
            Some("one-commit"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let trace = body["trace_id"].as_str().expect("trace");
    let deployment = body["records"]["deployment_record_id"]
        .as_str()
        .expect("deployment");
    // Rows written by one transaction carry its id (`xmin`): the stored
    // answer, the deployment and the inventory it derives, their history
    // and the audit row all come from one commit.
    let xmin = |sql: &'static str, bind: String| async move {
        let found: Vec<String> = sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_all(pool)
            .await
            .expect("xmin");
        found
    };
    let answer = xmin(
        "SELECT xmin::text FROM lp_idempotency WHERE idempotency_key = $1 AND state = 'complete'",
        "one-commit".into(),
    )
    .await;
    assert_eq!(answer.len(), 1, "the answer is stored");
    let mut rows = Vec::new();
    rows.extend(
        xmin(
            "SELECT xmin::text FROM lp_records WHERE kind = 'deployment' AND record_id = $1",
            deployment.into(),
        )
        .await,
    );
    rows.extend(
        xmin(
            "SELECT xmin::text FROM lp_records WHERE kind = 'inventory' AND record_id = $1",
            "demo-testing".into(),
        )
        .await,
    );
    rows.extend(
        xmin(
            "SELECT xmin::text FROM lp_record_history WHERE trace_id = $1",
            trace.into(),
        )
        .await,
    );
    rows.extend(
        xmin(
            "SELECT xmin::text FROM lp_audit_events WHERE trace_id = $1",
            trace.into(),
        )
        .await,
    );
    assert!(
        rows.len() >= 5,
        "deployment, inventory, 2 history, audit: {rows:?}"
    );
    assert!(
        rows.iter().all(|x| *x == answer[0]),
        "one transaction: answer {answer:?}, rows {rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deploy_after_its_first_effect_is_never_run_again() {
    let l = lifecycle().await;
    // Dokploy refuses the deploy itself: the identity env was written
    // already, so the attempt had begun changing the lane.
    l.fake.fail("/api/application.deploy", 502, "{}", Some(1));
    let request = deploy(IMAGE_1);
    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("fail-1"))
        .await;
    assert!(status == 502 || status == 409, "{status}: {body}");
    let calls = l.fake.calls().len();
    // The key is kept: every retry answers outcome unknown and runs nothing.
    for _ in 0..2 {
        let (status, retry) = l
            .service
            .post("/v1/drivers/generic-web/deploy", &request, Some("fail-1"))
            .await;
        assert_eq!(status, 409, "{retry}");
        assert_eq!(assert_rejected(&retry), "idempotency_outcome_unknown");
        assert_eq!(retry["attempt"]["trace_id"], body["trace_id"], "{retry}");
    }
    assert_eq!(l.fake.calls().len(), calls, "no provider call on a retry");
    // A new key runs.
    let (status, body) = l
        .service
        .post("/v1/drivers/generic-web/deploy", &request, Some("fail-2"))
        .await;
    assert_eq!(status, 202, "{body}");
}
