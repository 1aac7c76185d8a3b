//! What the product drivers' HTTP walks against the fake Dokploy read back:
//! a stored record, an id from an answer's `records`, the provider
//! mutations made, an application's image, a schedule by name, and the
//! queued operations run to the end. Shared by the walks (VeriReel's
//! today) instead of each copying them.

use launchplane::ops::{Worker, WorkerConfig};
use launchplane::records::RecordQuery;
use serde_json::Value;

use crate::fake_dokploy::FakeDokploy;
use crate::{Service, TestDatabase};

/// The stored document of record `kind`/`id`, if any.
pub async fn stored(db: &TestDatabase, kind: &str, id: &str) -> Option<Value> {
    db.store
        .get_record(kind, id)
        .await
        .expect("read a record")
        .map(|r| r.document)
}

/// The stored documents of `kind`, newest first, of `context` (and
/// `instance`) when given.
pub async fn stored_all(
    db: &TestDatabase,
    kind: &str,
    context: Option<&str>,
    instance: Option<&str>,
) -> Vec<Value> {
    let query = RecordQuery {
        context: context.map(str::to_string),
        instance: instance.map(str::to_string),
        limit: 100,
        ..Default::default()
    };
    db.store
        .list_records(kind, &query)
        .await
        .expect("list records")
        .into_iter()
        .map(|r| r.document)
        .collect()
}

/// `records.<key>` of an accepted answer.
#[track_caller]
pub fn records_id(body: &Value, key: &str) -> String {
    body["records"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no records.{key}: {body}"))
        .to_string()
}

/// How many mutating (`POST`) calls the fake Dokploy received.
pub fn provider_mutations(fake: &FakeDokploy) -> usize {
    fake.calls().iter().filter(|c| c.method == "POST").count()
}

/// The image Dokploy application `application_id` holds.
#[track_caller]
pub fn app_image(fake: &FakeDokploy, application_id: &str) -> String {
    fake.application(application_id)
        .unwrap_or_else(|| panic!("no application `{application_id}`"))["dockerImage"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The fake Dokploy's schedule named `name`.
#[track_caller]
pub fn schedule(fake: &FakeDokploy, name: &str) -> Value {
    fake.schedules()
        .into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no schedule `{name}`"))
}

/// Runs the queued operations until none is left.
pub async fn run_operations(service: &Service) {
    let worker = Worker::new(service.server.state.clone(), WorkerConfig::default());
    while worker.run_once().await.expect("claim an operation") {}
}
