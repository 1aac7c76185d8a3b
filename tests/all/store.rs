//! The store conformance suite: every test runs unchanged against
//! PostgreSQL (its own database) and SQLite (its own file).

use std::sync::Arc;
use std::time::Duration;

use launchplane::records::{
    IdempotencyKey, NewLaneLease, NewOperation, OperationStatus, RecordQuery, RecordWrite,
    Reservation, Store, StoreError, StoredRecord, StoredResponse,
};
use launchplane_tests::{TestDatabase, conformance};
use serde_json::json;

fn deployment(id: &str, context: &str, instance: &str, status: &str) -> StoredRecord {
    StoredRecord::new(
        "deployment",
        id,
        "demo",
        json!({"record_id": id, "context": context, "instance": instance, "deploy": {"status": status}}),
    )
}

/// Record `env-1` of kind `runtime_environment` holding `A = value`.
fn env_state(value: &str) -> StoredRecord {
    StoredRecord::new(
        "runtime_environment",
        "env-1",
        "demo",
        json!({"context": "demo", "env": {"A": value}}),
    )
}

fn expect_conflict(result: Result<Vec<String>, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "expected a conflict, got {result:?}"
    )
}

fn append(record: StoredRecord) -> RecordWrite {
    RecordWrite::Append {
        record,
        allow_transition: false,
    }
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey {
        scope: "org/app|wf|sub".into(),
        route_path: "/v1/evidence/deployments".into(),
        key: k.into(),
    }
}

fn operation(id: &str, instance: &str) -> NewOperation {
    NewOperation {
        operation_id: id.into(),
        product: "demo".into(),
        context: "demo".into(),
        instance: instance.into(),
        driver_id: "odoo".into(),
        action_id: "stable_bootstrap".into(),
        request: json!({"instance": instance}),
        idempotency_key: String::new(),
        trace_id: "launchplane_req_x".into(),
        caller: json!({"kind": "test"}),
    }
}

conformance!(
    migrations_apply_fresh_upgrade_and_roll_back,
    |db| async move {
        // `db` is already at the latest revision. Build one at the previous
        // revision, put data in it, then upgrade.
        let old = TestDatabase::empty(if matches!(db.store, Store::Postgres(_)) {
            "postgres"
        } else {
            "sqlite"
        })
        .await;
        old.store.migrate_to(1).await.expect("revision 1");
        old.store
            .write_records(&[append(deployment("d-1", "demo", "testing", "pass"))], "t")
            .await
            .expect("write at rev 1");
        old.store.migrate().await.expect("upgrade to latest");
        assert!(
            old.store
                .get_record("deployment", "d-1")
                .await
                .expect("read")
                .is_some(),
            "upgrade keeps data"
        );
        old.store
            .rollback_to(1)
            .await
            .expect("roll back to revision 1");
        assert!(
            old.store
                .get_record("deployment", "d-1")
                .await
                .expect("read")
                .is_some(),
            "rollback keeps revision-1 data"
        );
        old.store.migrate().await.expect("upgrade again");
        old.store
            .rollback_to(0)
            .await
            .expect("roll back everything");
        old.store.migrate().await.expect("and forward from nothing");
        db.store
            .migrate()
            .await
            .expect("migrating twice is a no-op");
    }
);

conformance!(
    records_round_trip_newest_first_with_filters,
    |db| async move {
        let store = &db.store;
        for (i, instance) in ["testing", "prod", "testing"].iter().enumerate() {
            store
                .write_records(
                    &[append(deployment(
                        &format!("d-{i}"),
                        "demo",
                        instance,
                        "pass",
                    ))],
                    "t",
                )
                .await
                .expect("write");
        }
        store
            .write_records(
                &[append(deployment("other", "elsewhere", "prod", "pass"))],
                "t",
            )
            .await
            .expect("write");
        let got = store
            .get_record("deployment", "d-1")
            .await
            .expect("get")
            .expect("present");
        assert_eq!(got.document["instance"], "prod");
        assert_eq!(
            (
                got.context.as_str(),
                got.instance.as_str(),
                got.product.as_str()
            ),
            ("demo", "prod", "demo")
        );
        assert!(
            store
                .get_record("deployment", "nope")
                .await
                .expect("get")
                .is_none()
        );
        assert!(
            store
                .get_record("promotion", "d-1")
                .await
                .expect("get")
                .is_none(),
            "kinds are separate"
        );

        let ids = |records: Vec<StoredRecord>| {
            records.into_iter().map(|r| r.record_id).collect::<Vec<_>>()
        };
        let all = store
            .list_records("deployment", &RecordQuery::default())
            .await
            .expect("list");
        assert_eq!(ids(all), ["other", "d-2", "d-1", "d-0"]);
        let testing = RecordQuery {
            context: Some("demo".into()),
            instance: Some("testing".into()),
            ..Default::default()
        };
        assert_eq!(
            ids(store
                .list_records("deployment", &testing)
                .await
                .expect("list")),
            ["d-2", "d-0"]
        );
        let limited = RecordQuery {
            context: Some("demo".into()),
            limit: 1,
            ..Default::default()
        };
        assert_eq!(
            ids(store
                .list_records("deployment", &limited)
                .await
                .expect("list")),
            ["d-2"]
        );
    }
);

conformance!(
    evidence_is_append_only_and_state_is_replaced_with_history,
    |db| async move {
        let store = &db.store;
        store
            .write_records(
                &[append(deployment("d-1", "demo", "testing", "pending"))],
                "t1",
            )
            .await
            .expect("first");
        // The same document again is a no-op, not an error.
        store
            .write_records(
                &[append(deployment("d-1", "demo", "testing", "pending"))],
                "t2",
            )
            .await
            .expect("same again");
        // Different content under the same id is refused...
        let error = store
            .write_records(
                &[append(deployment("d-1", "demo", "testing", "pass"))],
                "t3",
            )
            .await
            .expect_err("conflict");
        assert!(matches!(error, StoreError::Conflict { .. }), "{error}");
        // ...unless it is a declared status transition.
        store
            .write_records(
                &[RecordWrite::Append {
                    record: deployment("d-1", "demo", "testing", "pass"),
                    allow_transition: true,
                }],
                "t4",
            )
            .await
            .expect("transition");
        let history = store
            .record_history("deployment", "d-1")
            .await
            .expect("history");
        let statuses: Vec<&str> = history
            .iter()
            .map(|d| d["deploy"]["status"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(statuses, ["pending", "pass"]);

        let inventory = |artifact: &str| {
            StoredRecord::new(
                "inventory",
                "demo-testing",
                "demo",
                json!({"context": "demo", "instance": "testing", "artifact": artifact}),
            )
        };
        store
            .write_records(
                &[RecordWrite::Replace {
                    record: inventory("a1"),
                }],
                "t",
            )
            .await
            .expect("state");
        store
            .write_records(
                &[RecordWrite::Replace {
                    record: inventory("a2"),
                }],
                "t",
            )
            .await
            .expect("state");
        let current = store
            .get_record("inventory", "demo-testing")
            .await
            .expect("get")
            .expect("present");
        assert_eq!(current.document["artifact"], "a2");
        assert_eq!(
            store
                .record_history("inventory", "demo-testing")
                .await
                .expect("history")
                .len(),
            2
        );
    }
);

conformance!(
    a_conditional_replace_loses_no_concurrent_change,
    |db| async move {
        let store = &db.store;
        let conditional =
            |value: &str, expected: Option<serde_json::Value>| RecordWrite::ReplaceIf {
                record: env_state(value),
                expected,
            };
        // "Did not exist" holds once.
        store
            .write_records(&[conditional("1", None)], "t")
            .await
            .expect("created");
        expect_conflict(store.write_records(&[conditional("2", None)], "t").await);
        let one = env_state("1").document;
        // A stale expectation is refused; the current one is accepted.
        expect_conflict(
            store
                .write_records(&[conditional("3", Some(env_state("0").document))], "t")
                .await,
        );
        store
            .write_records(&[conditional("2", Some(one.clone()))], "t")
            .await
            .expect("replaced");
        let current = store
            .get_record("runtime_environment", "env-1")
            .await
            .expect("get");
        assert_eq!(current.expect("present").document, env_state("2").document);
        // A record that vanished is not recreated by a writer that read it.
        expect_conflict(
            store
                .write_records(&[conditional("9", Some(json!({"other": true})))], "t")
                .await,
        );

        // Many writers, two hosts, all having read "2": exactly one wins,
        // every other gets a conflict, and the loser's batch (with an
        // append beside the replace) leaves nothing behind.
        let two = env_state("2").document;
        let second = db.second_host().await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                second.clone()
            };
            let expected = two.clone();
            tasks.push(tokio::spawn(async move {
                let marker = StoredRecord::new(
                    "secret_audit_event",
                    &format!("event-{i}"),
                    "x",
                    json!({"i": i}),
                );
                store
                    .write_records(
                        &[
                            append(marker),
                            RecordWrite::ReplaceIf {
                                record: StoredRecord::new(
                                    "runtime_environment",
                                    "env-1",
                                    "demo",
                                    json!({"context": "demo", "env": {"A": format!("w{i}")}}),
                                ),
                                expected: Some(expected),
                            },
                        ],
                        "t",
                    )
                    .await
            }));
        }
        let results = futures_results(tasks).await;
        let winners: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "one writer wins: {results:?}");
        for (i, result) in results.into_iter().enumerate() {
            if !winners.contains(&i) {
                expect_conflict(result);
            }
        }
        let events = store
            .list_records(
                "secret_audit_event",
                &RecordQuery {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        assert_eq!(events.len(), 1, "losers' appends rolled back");
        let current = store
            .get_record("runtime_environment", "env-1")
            .await
            .expect("get")
            .expect("present");
        assert_eq!(
            current.document["env"]["A"],
            json!(format!("w{}", winners[0]))
        );
    }
);

conformance!(
    a_conditional_delete_removes_only_what_was_read,
    |db| async move {
        let store = &db.store;
        let delete = |expected: serde_json::Value| RecordWrite::DeleteIf {
            kind: "runtime_environment".into(),
            record_id: "env-1".into(),
            expected,
        };
        let present = || async {
            store
                .get_record("runtime_environment", "env-1")
                .await
                .expect("get")
                .is_some()
        };
        store
            .write_records(
                &[RecordWrite::Replace {
                    record: env_state("1"),
                }],
                "t",
            )
            .await
            .expect("seed");
        // A stale read deletes nothing, and neither does its batch's append.
        let marker = StoredRecord::new("secret_audit_event", "event-d", "x", json!({"d": 1}));
        expect_conflict(
            store
                .write_records(
                    &[append(marker.clone()), delete(env_state("0").document)],
                    "t",
                )
                .await,
        );
        assert!(present().await);
        let events = RecordQuery {
            limit: 10,
            ..Default::default()
        };
        assert!(
            store
                .list_records("secret_audit_event", &events)
                .await
                .expect("list")
                .is_empty()
        );
        // The document as read goes, with its batch; a second delete conflicts.
        store
            .write_records(&[append(marker), delete(env_state("1").document)], "t")
            .await
            .expect("deleted");
        assert!(!present().await);
        assert_eq!(
            store
                .list_records("secret_audit_event", &events)
                .await
                .expect("list")
                .len(),
            1
        );
        expect_conflict(
            store
                .write_records(&[delete(env_state("1").document)], "t")
                .await,
        );
        // History stays.
        assert_eq!(
            store
                .record_history("runtime_environment", "env-1")
                .await
                .expect("history")
                .len(),
            1
        );
    }
);

conformance!(a_batch_commits_whole_or_not_at_all, |db| async move {
    let store = &db.store;
    store
        .write_records(&[append(deployment("d-1", "demo", "testing", "pass"))], "t")
        .await
        .expect("seed");
    let batch = [
        append(deployment("d-2", "demo", "testing", "pass")),
        RecordWrite::Replace {
            record: StoredRecord::new(
                "inventory",
                "demo-testing",
                "demo",
                json!({"context": "demo", "instance": "testing"}),
            ),
        },
        append(deployment("d-1", "demo", "testing", "fail")),
    ];
    store
        .write_records(&batch, "t")
        .await
        .expect_err("third write conflicts");
    assert!(
        store
            .get_record("deployment", "d-2")
            .await
            .expect("get")
            .is_none(),
        "first write rolled back"
    );
    assert!(
        store
            .get_record("inventory", "demo-testing")
            .await
            .expect("get")
            .is_none(),
        "second write rolled back"
    );
    assert!(
        store
            .record_history("deployment", "d-2")
            .await
            .expect("history")
            .is_empty()
    );
});

conformance!(
    idempotency_keys_reserve_replay_conflict_and_release,
    |db| async move {
        let store = &db.store;
        let hour = 3_600_000;
        assert_eq!(
            store
                .reserve_idempotency_key(&key("k"), "fp1", "host-a", "host-a-trace", 60_000, hour)
                .await
                .expect("reserve"),
            Reservation::Reserved
        );
        assert_eq!(
            store
                .reserve_idempotency_key(&key("k"), "fp1", "host-b", "host-b-trace", 60_000, hour)
                .await
                .expect("again"),
            Reservation::InProgress
        );
        assert_eq!(
            store
                .reserve_idempotency_key(&key("k"), "fp2", "host-b", "host-b-trace", 60_000, hour)
                .await
                .expect("other body"),
            Reservation::Reused
        );
        let response = StoredResponse {
            status: 202,
            body: json!({"status": "accepted", "records": {"deployment_record_id": "d-1"}}),
            trace_id: "launchplane_req_1".into(),
        };
        assert!(
            !store
                .complete_idempotency_key(&key("k"), "host-b", &response)
                .await
                .expect("not the owner")
        );
        assert!(
            store
                .complete_idempotency_key(&key("k"), "host-a", &response)
                .await
                .expect("owner completes")
        );
        assert_eq!(
            store
                .reserve_idempotency_key(&key("k"), "fp1", "host-b", "host-b-trace", 60_000, hour)
                .await
                .expect("replay"),
            Reservation::Replay(response)
        );
        assert_eq!(
            store
                .reserve_idempotency_key(&key("k"), "fp2", "host-b", "host-b-trace", 60_000, hour)
                .await
                .expect("reused"),
            Reservation::Reused
        );
        // Other routes and scopes are other keys.
        let mut other = key("k");
        other.route_path = "/v1/evidence/promotions".into();
        assert_eq!(
            store
                .reserve_idempotency_key(&other, "fp2", "host-a", "host-a-trace", 60_000, hour)
                .await
                .expect("other route"),
            Reservation::Reserved
        );
        // A released key can be used again.
        store
            .release_idempotency_key(&other, "host-a")
            .await
            .expect("release");
        assert_eq!(
            store
                .reserve_idempotency_key(&other, "fp3", "host-a", "host-a-trace", 60_000, hour)
                .await
                .expect("after release"),
            Reservation::Reserved
        );
    }
);

conformance!(
    abandoned_reservations_recover_and_keys_expire,
    |db| async move {
        let store = &db.store;
        // host-a reserves with a tiny lease and "crashes".
        assert_eq!(
            store
                .reserve_idempotency_key(
                    &key("crash"),
                    "fp",
                    "host-a",
                    "host-a-trace",
                    1,
                    3_600_000
                )
                .await
                .expect("reserve"),
            Reservation::Reserved
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            store
                .reserve_idempotency_key(
                    &key("crash"),
                    "fp",
                    "host-b",
                    "host-b-trace",
                    60_000,
                    3_600_000
                )
                .await
                .expect("take over"),
            Reservation::Reserved
        );
        let response = StoredResponse {
            status: 202,
            body: json!({}),
            trace_id: "t".into(),
        };
        assert!(
            !store
                .complete_idempotency_key(&key("crash"), "host-a", &response)
                .await
                .expect("old owner lost it")
        );
        assert!(
            store
                .complete_idempotency_key(&key("crash"), "host-b", &response)
                .await
                .expect("new owner")
        );
        // A key past its TTL is forgotten.
        assert_eq!(
            store
                .reserve_idempotency_key(&key("ttl"), "fp", "host-a", "host-a-trace", 60_000, 1)
                .await
                .expect("reserve"),
            Reservation::Reserved
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            store
                .reserve_idempotency_key(
                    &key("ttl"),
                    "other",
                    "host-b",
                    "host-b-trace",
                    60_000,
                    3_600_000
                )
                .await
                .expect("expired"),
            Reservation::Reserved
        );
        assert!(store.purge_expired_idempotency_keys().await.is_ok());
    }
);

conformance!(
    an_attempt_that_died_after_its_first_effect_is_never_run_again,
    |db| async move {
        let store = &db.store;
        let hour = 3_600_000;
        let dead = key("after-effect");
        let early = key("before-effect");
        let reserve = |owner: &'static str, trace: &'static str| {
            let key = dead.clone();
            async move {
                store
                    .reserve_idempotency_key(&key, "fp", owner, trace, 1, hour)
                    .await
                    .expect("reserve")
            }
        };
        assert_eq!(reserve("host-a", "trace-a").await, Reservation::Reserved);
        // A renewal by the owner extends the lease; another host's does not.
        assert!(
            !store
                .renew_idempotency_key(&dead, "host-b", 60_000)
                .await
                .expect("renew")
        );
        // The attempt starts changing things, writes a record, and dies.
        assert!(
            !store
                .begin_idempotent_effect(&dead, "host-a", "trace-other")
                .await
                .expect("effect"),
            "only the reserving attempt may begin an effect"
        );
        assert!(
            store
                .begin_idempotent_effect(&dead, "host-a", "trace-a")
                .await
                .expect("effect")
        );
        store
            .write_records(
                &[launchplane::records::RecordWrite::Replace {
                    record: launchplane::records::StoredRecord::new(
                        "inventory",
                        "demo-testing",
                        "demo",
                        json!({"context": "demo", "instance": "testing"}),
                    ),
                }],
                "trace-a",
            )
            .await
            .expect("write");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let expected = Reservation::Interrupted(launchplane::records::InterruptedAttempt {
            trace_id: "trace-a".into(),
            written: vec!["inventory/demo-testing".into()],
        });
        assert_eq!(reserve("host-b", "trace-b").await, expected);
        assert_eq!(
            reserve("host-c", "trace-c").await,
            expected,
            "and for every later retry"
        );
        // The dead attempt's host can neither complete nor release it.
        let response = StoredResponse {
            status: 202,
            body: json!({}),
            trace_id: "trace-a".into(),
        };
        assert!(
            !store
                .complete_idempotency_key(&dead, "host-a", &response)
                .await
                .expect("complete")
        );
        store
            .release_idempotency_key(&dead, "host-a")
            .await
            .expect("release");
        assert_eq!(
            reserve("host-d", "trace-d").await,
            expected,
            "never deleted"
        );

        // Before its first effect, a dead attempt is simply taken over, and
        // the old attempt may no longer begin one.
        let first = store
            .reserve_idempotency_key(&early, "fp", "host-a", "trace-a", 1, hour)
            .await
            .expect("reserve");
        assert_eq!(first, Reservation::Reserved);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = store
            .reserve_idempotency_key(&early, "fp", "host-b", "trace-b", 60_000, hour)
            .await
            .expect("take over");
        assert_eq!(second, Reservation::Reserved);
        assert!(
            !store
                .begin_idempotent_effect(&early, "host-a", "trace-a")
                .await
                .expect("fenced"),
            "the old attempt is fenced off"
        );
        assert!(
            store
                .begin_idempotent_effect(&early, "host-b", "trace-b")
                .await
                .expect("effect")
        );
    }
);

conformance!(one_active_operation_per_lane_with_leases, |db| async move {
    let store = &db.store;
    let first = store
        .create_operation(&operation("op-1", "testing"))
        .await
        .expect("create");
    assert_eq!(first.status, OperationStatus::Pending);
    let busy = store
        .create_operation(&operation("op-2", "testing"))
        .await
        .expect_err("lane busy");
    assert!(
        matches!(busy, StoreError::LaneBusy { ref operation_id, .. } if operation_id == "op-1"),
        "{busy}"
    );
    store
        .create_operation(&operation("op-3", "prod"))
        .await
        .expect("another lane is free");

    let claimed = store
        .claim_operation("host-a", 60_000, 3)
        .await
        .expect("claim")
        .expect("work");
    assert_eq!(
        (
            claimed.operation_id.as_str(),
            claimed.status,
            claimed.attempt
        ),
        ("op-1", OperationStatus::Running, 1)
    );
    assert_eq!(claimed.lease_owner, "host-a");
    let next = store
        .claim_operation("host-b", 60_000, 3)
        .await
        .expect("claim")
        .expect("work");
    assert_eq!(
        next.operation_id, "op-3",
        "a claimed operation is not claimed twice"
    );
    assert!(
        store
            .claim_operation("host-b", 60_000, 3)
            .await
            .expect("claim")
            .is_none()
    );

    assert!(
        store
            .heartbeat_operation("op-1", "host-a", 60_000, "bootstrap")
            .await
            .expect("heartbeat")
    );
    assert!(
        !store
            .heartbeat_operation("op-1", "host-b", 60_000, "bootstrap")
            .await
            .expect("not the owner")
    );
    assert!(
        store
            .finish_operation(
                "op-1",
                "host-a",
                OperationStatus::Pass,
                Some(&json!({"ok": true})),
                None
            )
            .await
            .expect("finish")
    );
    let done = store
        .get_operation("op-1")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        (done.status, done.phase.as_str()),
        (OperationStatus::Pass, "completed")
    );
    assert_eq!(done.result, Some(json!({"ok": true})));
    assert!(!done.finished_at.is_empty());
    store
        .create_operation(&operation("op-4", "testing"))
        .await
        .expect("the lane is free again");
});

conformance!(
    expired_operation_leases_are_reclaimed_then_failed,
    |db| async move {
        let store = &db.store;
        store
            .create_operation(&operation("op-1", "testing"))
            .await
            .expect("create");
        let first = store
            .claim_operation("host-a", 1, 2)
            .await
            .expect("claim")
            .expect("work");
        assert_eq!(first.attempt, 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        // host-a crashed; host-b reclaims for a second attempt.
        let second = store
            .claim_operation("host-b", 1, 2)
            .await
            .expect("claim")
            .expect("reclaimed");
        assert_eq!(
            (
                second.operation_id.as_str(),
                second.attempt,
                second.lease_owner.as_str()
            ),
            ("op-1", 2, "host-b")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        // host-b crashed too: attempts are spent, so the operation fails with a reason.
        assert!(
            store
                .claim_operation("host-c", 60_000, 2)
                .await
                .expect("claim")
                .is_none()
        );
        let failed = store
            .get_operation("op-1")
            .await
            .expect("get")
            .expect("present");
        assert_eq!(failed.status, OperationStatus::Fail);
        assert_eq!(failed.error_code, "operation_lease_expired");
        assert!(!failed.error_message.is_empty());
        assert!(
            !store
                .finish_operation("op-1", "host-b", OperationStatus::Pass, None, None)
                .await
                .expect("finish"),
            "a lost lease cannot finish"
        );
    }
);

conformance!(
    concurrent_duplicates_execute_exactly_once_across_hosts,
    |db| async move {
        let hosts = [db.store.clone(), db.second_host().await];
        for round in 0..20 {
            // Same key from eight requests spread over two "hosts".
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let store = hosts[i % 2].clone();
                    let owner = format!("host-{i}");
                    tokio::spawn(async move {
                        store
                            .reserve_idempotency_key(
                                &key(&format!("race-{round}")),
                                "fp",
                                &owner,
                                &owner,
                                60_000,
                                3_600_000,
                            )
                            .await
                    })
                })
                .collect();
            let mut reserved = 0;
            for task in tasks {
                match task.await.expect("task").expect("reserve") {
                    Reservation::Reserved => reserved += 1,
                    Reservation::InProgress => {}
                    other => panic!("round {round}: unexpected {other:?}"),
                }
            }
            assert_eq!(
                reserved, 1,
                "round {round}: exactly one request may execute"
            );

            // Conflicting operations on one lane.
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let store = hosts[i % 2].clone();
                    let op = operation(&format!("op-{round}-{i}"), &format!("lane-{round}"));
                    tokio::spawn(async move { store.create_operation(&op).await })
                })
                .collect();
            let results: Vec<_> = futures_results(tasks).await;
            let created = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(created, 1, "round {round}: exactly one operation per lane");
            assert!(
                results
                    .iter()
                    .all(|r| r.is_ok() || matches!(r, Err(StoreError::LaneBusy { .. })))
            );
        }
    }
);

fn lane_lease(instance: &str, trace: &str) -> NewLaneLease {
    NewLaneLease {
        product: "demo".into(),
        context: "demo".into(),
        instance: instance.into(),
        driver_id: "generic-web".into(),
        action_id: "stable_deploy".into(),
        trace_id: trace.into(),
        owner: "host-a".into(),
    }
}

conformance!(
    lane_leases_exclude_each_other_and_operations,
    |db| async move {
        let store = &db.store;
        let held = store
            .acquire_lane(&lane_lease("testing", "req-1"), 60_000)
            .await
            .expect("a free lane is leased");
        let refused = store
            .acquire_lane(&lane_lease("testing", "req-2"), 60_000)
            .await
            .expect_err("one lease per lane");
        assert!(
            matches!(&refused, StoreError::LaneLeased { holder } if holder.trace_id == "req-1" && holder.lease_id == held.lease_id),
            "{refused}"
        );
        store
            .acquire_lane(&lane_lease("prod", "req-3"), 60_000)
            .await
            .expect("another lane is free");
        // A durable operation cannot be queued behind a live lease...
        let queued = store
            .create_operation(&operation("op-1", "testing"))
            .await
            .expect_err("the lane is leased");
        assert!(
            matches!(&queued, StoreError::LaneLeased { holder } if holder.trace_id == "req-1"),
            "{queued}"
        );
        assert!(
            store.get_operation("op-1").await.expect("read").is_none(),
            "the refused operation left no row"
        );
        assert_eq!(
            store
                .lane_lease("demo", "demo", "testing")
                .await
                .expect("read")
                .map(|l| l.trace_id),
            Some("req-1".to_string())
        );
        assert!(store.release_lane(&held).await.expect("release"));
        assert!(
            !store.release_lane(&held).await.expect("release again"),
            "a lease ends once"
        );
        // ...and a lease cannot be taken beside a queued operation.
        store
            .create_operation(&operation("op-1", "testing"))
            .await
            .expect("the lane is free again");
        let busy = store
            .acquire_lane(&lane_lease("testing", "req-4"), 60_000)
            .await
            .expect_err("an operation holds the lane");
        assert!(
            matches!(&busy, StoreError::LaneBusy { operation_id, .. } if operation_id == "op-1"),
            "{busy}"
        );

        // An expired lease (its host died) is taken over; the late release
        // of the old one does not free the new holder's lane.
        let stale = store
            .acquire_lane(&lane_lease("staging", "req-5"), -1)
            .await
            .expect("lease");
        assert!(
            store
                .lane_lease("demo", "demo", "staging")
                .await
                .expect("read")
                .is_none(),
            "an expired lease is not live"
        );
        let fresh = store
            .acquire_lane(&lane_lease("staging", "req-6"), 60_000)
            .await
            .expect("an expired lease is taken over");
        assert!(!store.release_lane(&stale).await.expect("late release"));
        assert_eq!(
            store
                .lane_lease("demo", "demo", "staging")
                .await
                .expect("read")
                .map(|l| l.lease_id),
            Some(fresh.lease_id)
        );
    }
);

/// The trace ids of a context's live lane leases and the ids of its
/// active operations.
async fn lane_holders(store: &Store, context: &str) -> (Vec<String>, Vec<String>) {
    let leases = store.live_lane_leases(context).await.expect("list leases");
    let operations = store
        .active_operations_in(context)
        .await
        .expect("list operations");
    (
        leases.into_iter().map(|l| l.trace_id).collect(),
        operations.into_iter().map(|o| o.operation_id).collect(),
    )
}

conformance!(
    a_context_lists_the_mutations_holding_its_lanes,
    |db| async move {
        let store = &db.store;
        let none = (Vec::<String>::new(), Vec::<String>::new());
        assert_eq!(lane_holders(store, "demo").await, none);

        let held = store
            .acquire_lane(&lane_lease("testing", "req-1"), 60_000)
            .await
            .expect("lease");
        store
            .acquire_lane(&lane_lease("staging", "req-expired"), -1)
            .await
            .expect("lease");
        let elsewhere = NewLaneLease {
            context: "other".into(),
            ..lane_lease("testing", "req-other")
        };
        store.acquire_lane(&elsewhere, 60_000).await.expect("lease");
        store
            .create_operation(&operation("op-1", "prod"))
            .await
            .expect("queue");
        store
            .create_operation(&NewOperation {
                context: "other".into(),
                ..operation("op-other", "prod")
            })
            .await
            .expect("queue");
        assert_eq!(
            lane_holders(store, "demo").await,
            (vec!["req-1".to_string()], vec!["op-1".to_string()]),
            "this context's only; the expired lease is not live"
        );

        // A released lease and a finished operation leave the lists.
        assert!(store.release_lane(&held).await.expect("release"));
        let claimed = store
            .claim_operation("host-a", 60_000, 3)
            .await
            .expect("claim")
            .expect("an operation was pending");
        assert!(
            store
                .finish_operation(
                    &claimed.operation_id,
                    "host-a",
                    OperationStatus::Pass,
                    None,
                    None
                )
                .await
                .expect("finish")
        );
        let unfinished = if claimed.context == "demo" {
            "other"
        } else {
            "demo"
        };
        assert!(lane_holders(store, "demo").await.0.is_empty());
        assert!(lane_holders(store, &claimed.context).await.1.is_empty());
        assert_eq!(lane_holders(store, unfinished).await.1.len(), 1);
    }
);

conformance!(
    concurrent_lane_claims_admit_exactly_one_across_hosts,
    |db| async move {
        let hosts = [db.store.clone(), db.second_host().await];
        for round in 0..20 {
            // In-request leases and queued operations race for one lane
            // from two "hosts".
            let lane = format!("lane-{round}");
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let store = hosts[i % 2].clone();
                    let (lane, op) = (lane.clone(), operation(&format!("op-{round}-{i}"), &lane));
                    tokio::spawn(async move {
                        if i % 4 < 2 {
                            store
                                .acquire_lane(&lane_lease(&lane, &format!("req-{i}")), 60_000)
                                .await
                                .map(|_| ())
                        } else {
                            store.create_operation(&op).await.map(|_| ())
                        }
                    })
                })
                .collect();
            let results: Vec<_> = futures_results(tasks).await;
            let won = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(
                won, 1,
                "round {round}: exactly one mutation holds a lane: {results:?}"
            );
            assert!(
                results.iter().all(|r| r.is_ok()
                    || matches!(
                        r,
                        Err(StoreError::LaneBusy { .. } | StoreError::LaneLeased { .. })
                    )),
                "round {round}: {results:?}"
            );
        }
    }
);

async fn futures_results<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

conformance!(
    audit_events_are_stored_without_credentials,
    |db| async move {
        let mut event = launchplane::records::AuditEvent::new(
            "launchplane_req_1",
            "POST",
            "/v1/evidence/deployments",
            "deployment.write",
            "accepted",
            202,
        );
        event.caller_kind = "github_actions".into();
        event.caller_subject = "org/app|wf|sub".into();
        event.caller_claims = json!({"repository": "org/app"});
        event.record_ids = vec!["d-1".into()];
        db.store.append_audit_event(&event).await.expect("append");
        let events = db
            .store
            .list_audit_events(Some("launchplane_req_1"), 10)
            .await
            .expect("list");
        assert_eq!(events, vec![event]);
        let _unused: Option<Arc<()>> = None;
    }
);

conformance!(
    concurrent_inserts_of_one_id_are_a_conflict_not_a_failure,
    |db| async move {
        let hosts = [db.store.clone(), db.second_host().await];
        for round in 0..10 {
            let id = format!("race-{round}");
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let store = hosts[i % 2].clone();
                    let record =
                        deployment(&id, "demo", "testing", if i == 0 { "pass" } else { "fail" });
                    tokio::spawn(async move { store.write_records(&[append(record)], "t").await })
                })
                .collect();
            let results = futures_results(tasks).await;
            for result in &results {
                assert!(
                    result.is_ok() || matches!(result, Err(StoreError::Conflict { .. })),
                    "round {round}: {result:?}"
                );
            }
            assert!(
                results.iter().any(|r| r.is_ok()),
                "round {round}: one write lands"
            );
            assert!(
                !db.store
                    .record_history("deployment", &id)
                    .await
                    .expect("history")
                    .is_empty()
            );
        }
    }
);
