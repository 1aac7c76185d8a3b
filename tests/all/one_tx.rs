//! Host-route mutations in one transaction (`host/src/ops/one_tx.rs`):
//! how many statements and commits an evidence request costs, counted
//! from the statements sqlx sends; duplicates and new-lane bursts; and
//! an audit row that cannot be written rolls the mutation back.

use launchplane_tests::evidence::{self, history_len};
use launchplane_tests::statements::{StatementLog, Tally};
use launchplane_tests::{Service, TestDatabase, assert_rejected, conformance};
use serde_json::Value;

const EVIDENCE: &str = "/v1/evidence/deployments";

fn deployment(record_id: &str, instance: &str) -> Value {
    evidence::deployment(record_id, "demo", instance, "pass")
}

/// The statements of one request, less the authorization policy cache's
/// refresh (one read at most every few seconds, shared by all requests).
fn request_statements(log: &StatementLog) -> Vec<String> {
    log.take()
        .into_iter()
        .filter(|s| !s.contains("FROM lp_authz_policies"))
        .collect()
}

// A current-thread runtime: the service, its PostgreSQL connections and
// the client all run on this test's thread, so the thread's log sees this
// test's statements and no other's.
#[tokio::test(flavor = "current_thread")]
async fn evidence_ingest_is_one_transaction_of_at_most_six_statements() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    // Warm up: signing keys, the policy cache, prepared statements.
    let (status, body) = service
        .post(
            "/v1/evidence/deployments",
            &deployment("warm", "testing"),
            Some("warm"),
        )
        .await;
    assert_eq!(status, 202, "{body}");

    let (log, _guard) = StatementLog::scoped();
    for n in 0..3 {
        let id = format!("deployment-keyed-{n}");
        let (status, body) = service
            .post(
                "/v1/evidence/deployments",
                &deployment(&id, "testing"),
                Some(&id),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let statements = request_statements(&log);
        println!("keyed evidence request: {statements:#?}");
        assert_eq!(
            StatementLog::tally(&statements),
            Tally {
                statements: 6,
                commits: 1
            },
            "{statements:#?}"
        );
        assert_eq!(statements.first().map(String::as_str), Some("BEGIN"));
        assert_eq!(statements.last().map(String::as_str), Some("COMMIT"));
    }
    for n in 0..3 {
        let id = format!("deployment-keyless-{n}");
        let (status, body) = service
            .post(
                "/v1/evidence/deployments",
                &deployment(&id, "testing"),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let statements = request_statements(&log);
        assert_eq!(
            StatementLog::tally(&statements),
            Tally {
                statements: 5,
                commits: 1
            },
            "{statements:#?}"
        );
    }
    // A replay: the work is rolled back, the stored answer read.
    let (status, body) = service
        .post(
            "/v1/evidence/deployments",
            &deployment("deployment-keyed-0", "testing"),
            Some("deployment-keyed-0"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["replayed"], true);
    println!("replayed evidence request: {:#?}", request_statements(&log));
    assert_eq!(
        history_len(&db.store, "deployment", "deployment-keyed-0").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_deployments_to_a_new_lane_all_succeed() {
    let db = TestDatabase::new("postgres").await;
    let service = std::sync::Arc::new(Service::start(&db).await);
    let mut tasks = Vec::new();
    for n in 0..8 {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("deployment-burst-{n}");
            service
                .post(
                    "/v1/evidence/deployments",
                    &deployment(&id, "brand-new"),
                    Some(&id),
                )
                .await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(
        history_len(&db.store, "inventory", "demo-brand-new").await,
        8
    );
    let (status, body) = service.get("/v1/inventory/demo/brand-new").await;
    assert_eq!(status, 200, "{body}");
}

conformance!(
    duplicates_with_one_key_write_once_and_replay,
    |db| async move {
        let service = std::sync::Arc::new(Service::start(&db).await);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let service = service.clone();
            tasks.push(tokio::spawn(async move {
                service
                    .post(
                        "/v1/evidence/deployments",
                        &deployment("deployment-dup", "testing"),
                        Some("dup"),
                    )
                    .await
            }));
        }
        let mut originals = 0;
        for task in tasks {
            let (status, body) = task.await.expect("task");
            assert_eq!(status, 202, "{body}");
            if body.get("replayed").is_none() {
                originals += 1;
            }
        }
        assert_eq!(originals, 1, "exactly one request ran");
        assert_eq!(
            history_len(&db.store, "deployment", "deployment-dup").await,
            1
        );
        assert_eq!(history_len(&db.store, "inventory", "demo-testing").await, 1);
        let (status, body) = service
            .post(
                "/v1/evidence/deployments",
                &deployment("deployment-other", "testing"),
                Some("dup"),
            )
            .await;
        assert_eq!(status, 409);
        assert_eq!(assert_rejected(&body), "idempotency_key_reused");
    }
);

async fn rename_audit_table(db: &TestDatabase, from: &str, to: &str) {
    db.execute(&format!("ALTER TABLE {from} RENAME TO {to}"))
        .await;
}

conformance!(a_mutation_whose_audit_fails_rolls_back, |db| async move {
    let service = Service::start(&db).await;
    let request = deployment("deployment-unaudited", "testing");
    rename_audit_table(&db, "lp_audit_events", "lp_audit_events_away").await;
    let (status, body) = service.post(EVIDENCE, &request, Some("k")).await;
    assert_eq!(status, 500, "{body}");
    for (kind, id) in [
        ("deployment", "deployment-unaudited"),
        ("inventory", "demo-testing"),
    ] {
        let stored = db.store.get_record(kind, id).await.expect("read");
        assert!(stored.is_none(), "nothing was written: {kind}/{id}");
    }
    rename_audit_table(&db, "lp_audit_events_away", "lp_audit_events").await;
    // The key was never stored: the retry runs.
    let (status, body) = service.post(EVIDENCE, &request, Some("k")).await;
    assert_eq!(status, 202, "{body}");
    assert!(body.get("replayed").is_none(), "{body}");
    let events = db
        .store
        .list_audit_events(Some(body["trace_id"].as_str().unwrap_or_default()), 10)
        .await
        .expect("audit");
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].record_ids,
        vec![
            "deployment-unaudited".to_string(),
            "demo-testing".to_string()
        ]
    );
});
