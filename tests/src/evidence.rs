//! Evidence request bodies and record history shared by the evidence,
//! one-transaction and input hygiene tests.

use launchplane::records::Store;
use serde_json::{Value, json};

/// A `POST /v1/evidence/deployments` body of product `demo`: artifact
/// `artifact-demo-1` deployed to `context`/`instance` by an image deploy
/// that ended in `status`.
pub fn deployment(record_id: &str, context: &str, instance: &str, status: &str) -> Value {
    json!({
        "product": "demo",
        "deployment": {
            "record_id": record_id,
            "artifact_identity": {"artifact_id": "artifact-demo-1"},
            "context": context,
            "instance": instance,
            "source_git_ref": "refs/heads/main",
            "deploy": {"target_name": "demo-testing", "target_type": "application", "deploy_mode": "image", "status": status},
        }
    })
}

/// How many versions of one record the store keeps.
pub async fn history_len(store: &Store, kind: &str, id: &str) -> usize {
    store.record_history(kind, id).await.expect("history").len()
}
