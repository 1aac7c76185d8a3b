//! `GET /v1/artifacts/protected` ([L] §3.2) on both stores: the current
//! inventory, the lane's earlier artifacts within the retention window
//! (rollback targets), manifest image references in the deny list, a
//! warning for a live artifact without a manifest, 400 `invalid_query`
//! before authorization, and the whole-product read needing context `*`.

use launchplane::records::{RecordWrite, StoredRecord};
use launchplane_tests::{Service, TestDatabase, demo_profile};
use serde_json::{Value, json};

use crate::products::{get_as, policy_with, start, stranger};

const CLEANUP_REPO: &str = "launchplane/cleanup";

/// The demo policy plus a cleanup workflow granted one context only.
fn policy() -> String {
    format!(
        "{}\n[[github_actions]]\nrepository = \"{CLEANUP_REPO}\"\nproducts = [\"demo\"]\ncontexts = [\"demo\"]\nactions = [\"artifact_protection.read\"]\n",
        policy_with(&["artifact_protection.read"])
    )
}

fn deployment(record_id: &str, artifact_id: &str) -> Value {
    json!({
        "product": "demo",
        "deployment": {
            "record_id": record_id,
            "artifact_identity": {"artifact_id": artifact_id},
            "context": "demo",
            "instance": "prod",
            "source_git_ref": "refs/heads/main",
            "deploy": {"target_name": "demo-prod", "target_type": "application", "deploy_mode": "image", "status": "pass"}
        }
    })
}

async fn seed(service: &Service, db: &TestDatabase) {
    let (status, body) = service
        .post("/v1/product-profiles", &demo_profile("generic-web"), None)
        .await;
    assert_eq!(status, 202, "{body}");
    let manifest = json!({
        "schema_version": 1, "artifact_id": "artifact-demo-1", "source_commit": "a".repeat(40),
        "enterprise_base_digest": "", "addon_sources": [], "addon_selectors": [],
        "image": {"repository": "ghcr.io/launchplane/demo", "digest": "sha256:1111", "tags": ["v1"]}
    });
    let record = StoredRecord::new("artifact_manifest", "artifact-demo-1", "demo", manifest);
    db.store
        .write_records(&[RecordWrite::Replace { record }], "tests")
        .await
        .expect("manifest");
    for (id, artifact) in [
        ("deployment-protected-1", "artifact-demo-1"),
        ("deployment-protected-2", "artifact-demo-2"),
    ] {
        let (status, body) = service
            .post("/v1/evidence/deployments", &deployment(id, artifact), None)
            .await;
        assert_eq!(status, 202, "{body}");
    }
}

fn reasons(set: &Value) -> Vec<(String, String)> {
    set["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or("").to_string(),
                e["artifact_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn protected_set(backend: &'static str) {
    let db = TestDatabase::new(backend).await;
    let service = start(&db, &policy()).await;
    seed(&service, &db).await;

    let (status, body) = service.get("/v1/artifacts/protected?product=demo").await;
    assert_eq!(status, 200, "{body}");
    let set = &body["protected_artifacts"];
    assert_eq!(set["product"], "demo");
    assert_eq!(set["retention_days"], 30);
    let reasons = reasons(set);
    assert!(
        reasons.contains(&("stable-inventory".into(), "artifact-demo-2".into())),
        "{set}"
    );
    assert!(
        reasons.contains(&("rollback-target".into(), "artifact-demo-1".into())),
        "{set}"
    );
    assert_eq!(
        set["artifact_ids"],
        json!(["artifact-demo-1", "artifact-demo-2"])
    );
    assert_eq!(
        set["image_references"],
        json!([
            "ghcr.io/launchplane/demo:v1",
            "ghcr.io/launchplane/demo@sha256:1111"
        ])
    );
    assert_eq!(set["image_digests"], json!(["sha256:1111"]));
    let warnings = set["warnings"].to_string();
    assert!(warnings.contains("artifact-demo-2"), "{warnings}");
    assert!(!warnings.contains("artifact-demo-1"), "{warnings}");

    // Without a window only what serves now is kept.
    let (status, body) = service
        .get("/v1/artifacts/protected?product=demo&retention_days=0")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["protected_artifacts"]["artifact_ids"],
        json!(["artifact-demo-2"])
    );
    // Another context of the product has nothing.
    let (status, body) = service
        .get("/v1/artifacts/protected?product=demo&context=demo-preview")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["protected_artifacts"]["entries"], json!([]));

    // `product` first, then authorization, then the profile.
    let stranger = stranger(&service);
    let (status, body) = get_as(&service, &stranger, "/v1/artifacts/protected").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");
    let (status, body) = get_as(&service, &stranger, "/v1/artifacts/protected?product=demo").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = service
        .get("/v1/artifacts/protected?product=demo&retention_days=-1")
        .await;
    assert_eq!(status, 400, "{body}");
    // Granted, but no such profile: 404 after authorization.
    let (status, body) = service
        .get("/v1/artifacts/protected?product=launchplane")
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = service.get("/v1/artifacts/protected?product=nope").await;
    assert_eq!(status, 403, "not granted: {body}");

    // A cleanup job granted one context reads that context, not the whole
    // product (context `*`).
    let cleanup = service.issuer.token_with(|r| {
        r.repository = CLEANUP_REPO.into();
        r.workflow_ref = format!("{CLEANUP_REPO}/.github/workflows/cleanup.yml@refs/heads/main");
    });
    let (status, body) = get_as(&service, &cleanup, "/v1/artifacts/protected?product=demo").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = get_as(
        &service,
        &cleanup,
        "/v1/artifacts/protected?product=demo&context=demo",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["protected_artifacts"]["artifact_ids"],
        json!(["artifact-demo-1", "artifact-demo-2"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_set_on_sqlite() {
    protected_set("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_set_on_postgres() {
    protected_set("postgres").await;
}
