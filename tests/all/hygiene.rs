//! Input hygiene, bounded tables and secret binding (issue 26, items 4, 5
//! and 7), on both stores wherever the behaviour is the store's.

use std::sync::Arc;
use std::time::Duration;

use launchplane::ops::maintenance::{self, Retention};
use launchplane::records::{AuditEvent, RecordWrite, StoreError, StoredRecord};
use launchplane::secrets::{MasterKey, SecretError, Vault};
use launchplane_tests::{
    Service, TestDatabase, assert_message, assert_rejected, conformance, evidence, put_secret,
};
use serde_json::{Value, json};

fn deployment(record_id: &str, context: &str) -> Value {
    evidence::deployment(record_id, context, "testing", "pass")
}

/// Asserts a 400 `invalid_request` whose message names `field`.
fn assert_names(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{field}: {body}");
    assert_eq!(assert_rejected(body), "invalid_request", "{body}");
    assert_message(body, field);
}

conformance!(
    hostile_ids_and_text_are_400_naming_the_field,
    |db| async move {
        let service = Service::start(&db).await;
        service.seed_profile("generic-web").await;

        // The issue's probes: a NUL in `context` (PostgreSQL answered 500,
        // SQLite 202), a path as a record id, a right-to-left override and
        // a 5,000-character product name.
        let (status, body) = service
            .post(
                "/v1/evidence/deployments",
                &deployment("deployment-1", "demo\u{0}"),
                None,
            )
            .await;
        assert_names(status, &body, "deployment.context");
        let (status, body) = service
            .post(
                "/v1/evidence/deployments",
                &deployment("../../../../etc/passwd", "demo"),
                None,
            )
            .await;
        assert_names(status, &body, "deployment.record_id");
        let (status, body) = service
            .get("/v1/deployments/..%2F..%2F..%2F..%2Fetc%2Fpasswd")
            .await;
        assert_names(status, &body, "record_id");
        let (status, body) = service.get("/v1/inventory/demo%00/testing").await;
        assert_names(status, &body, "context");
        for product in ["shop\u{202E}gnp".to_string(), "p".repeat(5000)] {
            let mut profile = launchplane_tests::demo_profile("generic-web");
            profile["product"] = json!(product);
            let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
            assert_names(status, &body, "product");
        }
        let mut profile = launchplane_tests::demo_profile("generic-web");
        profile["lanes"][1]["instance"] = json!("prod/../x");
        let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
        assert_names(status, &body, "lanes[1].instance");

        // Driver envelopes and grants follow the same rule.
        let deploy = json!({"product": "demo", "deploy": {"product": "demo", "instance": "testing\u{0}",
        "artifact_id": "ghcr.io/launchplane/demo:1", "source_git_ref": "refs/heads/main"}});
        let (status, body) = service
            .post("/v1/drivers/generic-web/deploy", &deploy, None)
            .await;
        assert_names(status, &body, "deploy.instance");
        let grant = json!({"product": "launchplane", "mode": "dry_run", "grant": {
        "repository": "launchplane/new", "repository_id": "1", "repository_owner_id": "2",
        "workflow_refs": ["launchplane/new/.github/workflows/x.yml@refs/heads/main"],
        "products": ["demo"], "contexts": ["../*"], "actions": ["deployment.write"]}});
        let (status, body) = service
            .post("/v1/authz-policies/github-actions/grants", &grant, None)
            .await;
        assert_names(status, &body, "grant.contexts[0]");
        // A control character anywhere in a body, not only in ids.
        let mut nested = deployment("deployment-2", "demo");
        nested["deployment"]["deploy"]["target_name"] = json!("demo\u{1b}[31m");
        let (status, body) = service
            .post("/v1/evidence/deployments", &nested, None)
            .await;
        assert_names(status, &body, "deployment.deploy.target_name");

        // Nothing of the above was stored.
        assert!(
            db.store
                .get_record("deployment", "../../../../etc/passwd")
                .await
                .expect("read")
                .is_none()
        );

        // Ids the original generates are accepted.
        for id in [
            "deployment-20261205T215112.574545Z-demo-testing",
            "deployment-20260429T195838Z-demo-testing",
        ] {
            let (status, body) = service
                .post("/v1/evidence/deployments", &deployment(id, "demo"), None)
                .await;
            assert_eq!(status, 202, "{id}: {body}");
            let (status, body) = service.get(&format!("/v1/deployments/{id}")).await;
            assert_eq!(status, 200, "{id}: {body}");
        }
    }
);

conformance!(
    the_store_refuses_control_characters_the_same_on_both_backends,
    |db| async move {
        let store = &db.store;
        let write = |record: StoredRecord| vec![RecordWrite::Replace { record }];
        let mut record =
            StoredRecord::new("deployment", "d-1", "demo", json!({"context": "demo\u{0}"}));
        let error = store
            .write_records(&write(record.clone()), "t")
            .await
            .expect_err("NUL column");
        match error {
            StoreError::Invalid(input) => assert_eq!(input.field, "deployment.context"),
            other => panic!("expected Invalid, got {other}"),
        }
        record.context = "demo".into();
        record.document = json!({"context": "demo", "notes": ["ok", "bidi \u{202E} override"]});
        let error = store
            .write_records(&write(record.clone()), "t")
            .await
            .expect_err("bidi text");
        assert!(error.to_string().contains("deployment.notes[1]"), "{error}");
        // Tab, line feed and carriage return are text, not control.
        record.document = json!({"context": "demo", "notes": ["line one\nline two\ttab\r"]});
        store
            .write_records(&write(record), "t")
            .await
            .expect("multi-line text is stored");
        // A lookup by an unstorable id finds nothing (PostgreSQL errored).
        assert!(
            store
                .get_record("deployment", "d-1\u{0}")
                .await
                .expect("read")
                .is_none()
        );
    }
);

/// A denied caller: the demo workflow of another repository.
fn foreign(service: &Service, subject: Option<&str>) -> String {
    service.issuer.token_with(|r| {
        r.repository = "launchplane/foreign".into();
        r.subject = subject.map(str::to_string);
    })
}

conformance!(
    denial_audit_rows_are_never_dropped_for_hostile_text,
    |db| async move {
        let service = Service::start(&db).await;
        service.seed_profile("generic-web").await;
        // The caller's own claims carry a NUL: the audit row escapes it.
        let token = foreign(&service, Some("repo:launchplane/foreign:ref:x\u{0}y"));
        let (status, body) = service
            .post_as(
                &token,
                "/v1/evidence/deployments",
                &deployment("deployment-9", "demo"),
                None,
            )
            .await;
        assert_eq!(status, 403, "{body}");
        let events = db
            .store
            .list_audit_events(body["trace_id"].as_str(), 10)
            .await
            .expect("audit");
        assert_eq!(events.len(), 1, "the denial is audited: {events:?}");
        assert_eq!(events[0].outcome, "denied");
        assert!(
            events[0].caller_subject.ends_with("x\\u{0}y"),
            "{}",
            events[0].caller_subject
        );

        // Written directly with hostile text in every column: still a row.
        let mut event = AuditEvent::new("trace\u{0}", "POST", "/v1/x", "a.write", "rejected", 400);
        event.context = "demo\u{0}\u{202E}".into();
        db.store
            .append_audit_event(&event)
            .await
            .expect("escaped, not refused");
        let events = db
            .store
            .list_audit_events(Some("trace\\u{0}"), 10)
            .await
            .expect("audit");
        assert_eq!(events[0].context, "demo\\u{0}\\u{202e}");
    }
);

conformance!(
    short_windows_keep_keys_and_denials_bounded,
    |db| async move {
        let service = Service::start_configured(&db, |state| state.idempotency_ttl_ms = 300).await;
        service.seed_profile("generic-web").await;
        let keys = 30;
        for i in 0..keys {
            let (status, body) = service
                .post(
                    "/v1/evidence/deployments",
                    &deployment(&format!("deployment-{i}"), "demo"),
                    Some(&format!("bounded-{i}")),
                )
                .await;
            assert_eq!(status, 202, "{body}");
        }
        let token = foreign(&service, None);
        let denials = 100;
        for i in 0..denials {
            let (status, _) = service
                .post_as(
                    &token,
                    "/v1/evidence/deployments",
                    &deployment(&format!("d-{i}"), "demo"),
                    None,
                )
                .await;
            assert_eq!(status, 403);
        }
        let before = db.store.table_sizes().await.expect("sizes");
        assert_eq!(before.idempotency_keys, keys);
        // One row per identity and minute (two if the minute turned).
        assert!((1..=2).contains(&before.denial_audit_events), "{before:?}");
        let events = db.store.list_audit_events(None, 1000).await.expect("audit");
        let counted: u64 = events
            .iter()
            .filter(|e| e.outcome == "denied")
            .map(|e| e.occurrences)
            .sum();
        assert_eq!(counted, denials as u64, "every denial is counted");

        // The background sweep, with short windows: keys expire after 300 ms,
        // denials are kept 300 ms, a sweep every 100 ms.
        let sweeper = maintenance::spawn(
            db.store.clone(),
            Retention {
                interval: Duration::from_millis(100),
                denial_audit: Duration::from_millis(300),
            },
        );
        let mut after = before;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            after = db.store.table_sizes().await.expect("sizes");
            if after.idempotency_keys == 0 && after.denial_audit_events == 0 {
                break;
            }
        }
        sweeper.abort();
        eprintln!("table sizes before the sweep {before:?}, after {after:?}");
        // Accepted mutations stay audited: every non-denial row seen before
        // the sweep is still there (compared by row, not by count, so a
        // late row from another writer cannot mask a deleted one).
        let later = db.store.list_audit_events(None, 1000).await.expect("audit");
        let kept = |e: &&launchplane::records::AuditEvent| e.outcome != "denied";
        for event in events.iter().filter(kept) {
            assert!(
                later
                    .iter()
                    .any(|l| l.trace_id == event.trace_id && l.action == event.action),
                "the sweep deleted an accepted audit row: {event:?}"
            );
        }
        assert!(
            later.iter().filter(kept).count() >= events.iter().filter(kept).count(),
            "{after:?}"
        );
    }
);

const KEY: &str = "tests master key";

fn vault(db: &TestDatabase, key: &str) -> Vault {
    Vault::new(db.store.clone(), MasterKey::from_text(key).map(Arc::new))
}

/// The current version row of `secret_id`.
async fn version_row(db: &TestDatabase, secret_id: &str) -> StoredRecord {
    let secret = db
        .store
        .get_record("secret", secret_id)
        .await
        .expect("read")
        .expect("secret");
    let version_id = secret.document["current_version_id"]
        .as_str()
        .expect("version id");
    db.store
        .get_record("secret_version", version_id)
        .await
        .expect("read")
        .expect("version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_ciphertext_fails_closed_and_legacy_rows_get_a_tag() {
    let db = TestDatabase::new("sqlite").await;
    let vault = vault(&db, KEY);
    put_secret(
        &vault,
        "runtime_environment",
        "API_TOKEN",
        "demo",
        "token-a-1f2e",
    )
    .await;
    put_secret(
        &vault,
        "runtime_environment",
        "DB_PASSWORD",
        "demo",
        "token-b-9c8d",
    )
    .await;
    let a = version_row(&db, "secret-runtime-environment-api-token-demo").await;
    let b = version_row(&db, "secret-runtime-environment-db-password-demo").await;
    assert!(
        a.document["binding_tag"]
            .as_str()
            .is_some_and(|t| t.starts_with("hmac-sha256-v1:"))
    );

    // A's token (with A's tag) copied into B's version row.
    let mut moved = b.clone();
    moved.document["ciphertext"] = a.document["ciphertext"].clone();
    moved.document["binding_tag"] = a.document["binding_tag"].clone();
    db.store
        .write_records(&[RecordWrite::Replace { record: moved }], "t")
        .await
        .expect("tamper");
    let error = vault
        .resolve("runtime_environment", "demo", "")
        .await
        .expect_err("moved");
    assert!(
        matches!(error, SecretError::BindingMismatch { .. }),
        "{error}"
    );
    assert!(!error.to_string().contains("token-a-1f2e"), "{error}");

    // A legacy row (no tag, as the original wrote it) stays readable...
    db.store
        .write_records(&[RecordWrite::Replace { record: b.clone() }], "t")
        .await
        .expect("restore");
    let mut legacy = a.clone();
    legacy
        .document
        .as_object_mut()
        .expect("object")
        .remove("binding_tag");
    db.store
        .write_records(&[RecordWrite::Replace { record: legacy }], "t")
        .await
        .expect("legacy");
    let values = vault
        .resolve("runtime_environment", "demo", "")
        .await
        .expect("legacy reads");
    assert_eq!(
        values.get("API_TOKEN").map(|v| v.as_str()),
        Some("token-a-1f2e")
    );
    // ...and the next write of the secret (same value) adds the tag.
    put_secret(
        &vault,
        "runtime_environment",
        "API_TOKEN",
        "demo",
        "token-a-1f2e",
    )
    .await;
    let tagged = version_row(&db, "secret-runtime-environment-api-token-demo").await;
    assert_eq!(tagged.document["binding_tag"], a.document["binding_tag"]);
    assert_eq!(
        tagged.record_id, a.record_id,
        "same version, tagged in place"
    );

    // A wrong master key is named, not a generic failure.
    let error = vault_wrong(&db)
        .resolve("runtime_environment", "demo", "")
        .await
        .expect_err("wrong key");
    assert!(
        matches!(error, SecretError::MasterKeyMismatch { .. }),
        "{error}"
    );
}

fn vault_wrong(db: &TestDatabase) -> Vault {
    vault(db, "another master key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_master_key_is_a_named_503() {
    let db = TestDatabase::new("postgres").await;
    put_secret(
        &vault(&db, KEY),
        "runtime_environment",
        "API_TOKEN",
        "demo",
        "first-value-7f3a",
    )
    .await;
    let service = Service::start_configured(&db, |state| {
        state.master_key =
            MasterKey::from_text("not the key the store was written with").map(Arc::new);
    })
    .await;
    service.seed_profile("generic-web").await;
    let config = json!({"mode": "dry-run", "product": "demo", "context": "demo",
        "secrets": [{"name": "API_TOKEN", "value": "second-value-b81d"}]});
    let (status, body) = service
        .post("/v1/product-config/apply", &config, None)
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(assert_rejected(&body), "secrets_master_key_mismatch");
    let text = body.to_string();
    assert!(
        !text.contains("first-value") && !text.contains("second-value"),
        "{text}"
    );
}
