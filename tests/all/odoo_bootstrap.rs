//! Seed 003 over HTTP, on SQLite and PostgreSQL, against the fake Dokploy
//! API: issue-backed prelaunch lane policies in product profiles, their read
//! model, the request-time proof of `stable-bootstrap` and
//! `target-replacement-apply` (refusals name the rule, before anything is
//! enqueued or any provider call), the operations they run on generic-web's
//! deploy lifecycle with Odoo's hooks, and the original's poll routes.
//! Also: products without a profile on extension routes (400/403, not 404).

use std::sync::Arc;

use launchplane::ops::{Worker, WorkerConfig};
use launchplane_tests::fake_dokploy::FakeDokploy;
use launchplane_tests::lanes::{
    INSTANCES, add_applications, health_server, probing_service, put_application_targets,
};
use launchplane_tests::{Service, TestDatabase, assert_message, assert_rejected};
use serde_json::{Value, json};

const KEY: &str = "dokploy-bootstrap-key-0123456789ab";
const ISSUE: &str = "https://github.com/cbusillo/launchplane/issues/573";
const ARTIFACT: &str = "artifact-cm-20261201-abc1234";
const SHA: &str = "abc1234abc1234abc1234abc1234abc1234abc12";
const DIGEST: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const BOOTSTRAP: &str = "/v1/drivers/odoo/stable-bootstrap";
const APPLY: &str = "/v1/drivers/odoo/target-replacement-apply";
const PLAN: &str = "/v1/drivers/odoo/target-replacement-plan";

pub(crate) struct Lanes {
    pub(crate) db: TestDatabase,
    pub(crate) fake: Arc<FakeDokploy>,
    pub(crate) service: Service,
}

/// The lane policy `field` of seed 003 for `instance`, allowing `mode`.
pub(crate) fn policy(instance: &str, mode: &str) -> Value {
    json!({"enabled": true, "approval_issue_url": ISSUE, "data_source_mode": mode,
           "confirmation": format!("Rebuild CM {instance}"),
           "expected_target_name": format!("cm-{instance}"),
           "expected_domains": [format!("https://{instance}.cm.example.com/")]})
}

/// Product `demo` on the odoo driver, lanes cm/testing and cm/prod as
/// Dokploy applications with domains, `policies` on its lanes, an artifact
/// published and shipped to testing.
pub(crate) async fn lanes(backend: &'static str, policies: &[(&str, &str, Value)]) -> Lanes {
    let db = TestDatabase::new(backend).await;
    let fake = Arc::new(FakeDokploy::start(KEY).await);
    add_applications(&fake, "cm", "ODOO_WORKERS=2", "ghcr.io/launchplane/odoo-cm");
    let health = health_server(fake.clone()).await;
    let service = probing_service(&db, &fake, KEY, |_| {}).await;
    let mut profile = launchplane_tests::demo_profile("odoo");
    profile["image"] = json!({"repository": "ghcr.io/launchplane/odoo-cm"});
    let mut lanes = Vec::new();
    for instance in INSTANCES {
        let mut lane = json!({"instance": instance, "context": "cm",
                              "base_url": format!("{health}/{instance}")});
        for (on, field, value) in policies {
            if *on == instance {
                lane[*field] = value.clone();
            }
        }
        lanes.push(lane);
    }
    profile["lanes"] = Value::Array(lanes);
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "{body}");
    put_application_targets(&db, "cm", true).await;
    let lanes = Lanes { db, fake, service };
    lanes.ship_testing().await;
    lanes
}

impl Lanes {
    async fn ship_testing(&self) {
        let manifest = json!({"artifact_id": ARTIFACT, "source_commit": SHA,
                              "enterprise_base_digest": "sha256:base",
                              "image": {"repository": "ghcr.io/launchplane/odoo-cm", "digest": DIGEST}});
        let (status, body) = self
            .service
            .post(
                "/v1/drivers/odoo/artifact-publish",
                &json!({"product": "demo", "publish": {"context": "cm", "instance": "testing", "manifest": manifest}}),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let (status, body) = self
            .service
            .post(
                "/v1/drivers/generic-web/deploy",
                &json!({"product": "demo", "deploy": {"product": "demo", "instance": "testing",
                        "artifact_id": ARTIFACT, "source_git_ref": SHA}}),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        self.fake.clear_calls();
    }

    fn mutations(&self) -> usize {
        self.fake
            .calls()
            .iter()
            .filter(|c| c.method == "POST")
            .count()
    }

    async fn record(&self, kind: &str, id: &str) -> Option<Value> {
        self.db
            .store
            .get_record(kind, id)
            .await
            .expect("read")
            .map(|r| r.document)
    }

    /// Runs queued operations until none is left.
    async fn work(&self) {
        let worker = Worker::new(self.service.server.state.clone(), WorkerConfig::default());
        while worker.run_once().await.expect("claim") {}
    }
}

fn bootstrap(instance: &str, confirmation: &str) -> Value {
    json!({"product": "demo", "bootstrap": {"product": "demo", "context": "cm",
           "instance": instance, "confirmation": confirmation}})
}

/// A replacement that asks for its data step explicitly
/// (`allow_empty_data`).
fn replacement(instance: &str, mode: &str, confirmation: &str) -> Value {
    json!({"product": "demo", "replacement": {"product": "demo", "instance": instance,
           "data_source_mode": mode, "confirmation": confirmation, "allow_empty_data": true}})
}

/// The refusal's rule, from its message.
fn refused(status: u16, body: &Value, rule: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(assert_rejected(body), "invalid_request");
    assert_message(body, &format!("Rule `{rule}`"));
}

const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// One lane policy, on the testing lane.
fn on_testing(field: &'static str, mode: &str) -> [(&'static str, &'static str, Value); 1] {
    [("testing", field, policy("testing", mode))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_accept_the_policies_and_read_models_show_prelaunch_lanes() {
    for backend in BACKENDS {
        let cm = [
            (
                "testing",
                "odoo_stable_bootstrap",
                policy("testing", "empty"),
            ),
            ("prod", "odoo_stable_bootstrap", policy("prod", "empty")),
            (
                "prod",
                "odoo_prelaunch_rebuild",
                policy("prod", "upstream_restore"),
            ),
        ];
        let lanes = lanes(backend, &cm).await;
        let (status, body) = lanes.service.get("/v1/product-profiles/demo").await;
        assert_eq!(status, 200, "{body}");
        let view = &body["lanes"];
        for (i, instance) in ["testing", "prod"].iter().enumerate() {
            assert_eq!(view[i]["instance"], *instance, "{view}");
            assert_eq!(view[i]["status"], "prelaunch", "{view}");
            assert_eq!(view[i]["provisional"], true);
            let first = &view[i]["policies"][0];
            assert_eq!(first["field"], "odoo_stable_bootstrap");
            assert_eq!(first["approval_issue_url"], ISSUE);
            assert_eq!(first["allowed_strategy"], "empty");
        }
        assert_eq!(
            view[1]["policies"][1]["allowed_strategy"],
            "upstream_restore"
        );
        // The stored profile keeps the policies as given.
        assert_eq!(
            body["profile"]["lanes"][0]["odoo_stable_bootstrap"]["confirmation"],
            "Rebuild CM testing"
        );
        // Odoo routes read such a profile (no 500).
        let (status, body) = lanes
            .service
            .post(
                "/v1/drivers/odoo/prod-promotion-inputs",
                &json!({"product": "demo", "inputs": {"context": "cm", "request_id": "r1"}}),
                None,
            )
            .await;
        assert_eq!(status, 202, "{backend}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_without_its_approval_issue_or_undeclared_is_refused_naming_the_field() {
    for backend in BACKENDS {
        let lanes = lanes(backend, &[]).await;
        let mut profile = launchplane_tests::demo_profile("odoo");
        let mut unbacked = policy("testing", "empty");
        unbacked["approval_issue_url"] = json!("");
        profile["lanes"][0]["odoo_stable_bootstrap"] = unbacked;
        let (status, body) = lanes
            .service
            .post("/v1/product-profiles", &profile, None)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_message(&body, "lanes[0].odoo_stable_bootstrap.approval_issue_url");
        // A mode the policy does not know.
        let mut profile = launchplane_tests::demo_profile("odoo");
        profile["lanes"][0]["odoo_stable_bootstrap"] = policy("testing", "upstream_restore");
        let (status, body) = lanes
            .service
            .post("/v1/product-profiles", &profile, None)
            .await;
        assert_eq!(status, 400, "{body}");
        // A generic-web product has no such lane field: its driver declares none.
        let mut profile = launchplane_tests::demo_profile("generic-web");
        profile["lanes"][0]["odoo_prelaunch_rebuild"] = policy("testing", "empty");
        let (status, body) = lanes
            .service
            .post("/v1/product-profiles", &profile, None)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_message(&body, "lanes[0].odoo_prelaunch_rebuild");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cm_bootstrap_is_accepted_only_with_the_policy_and_the_exact_confirmation() {
    for backend in BACKENDS {
        let lanes = lanes(backend, &on_testing("odoo_stable_bootstrap", "empty")).await;
        let service = &lanes.service;
        let (status, body) = service
            .post(BOOTSTRAP, &bootstrap("testing", "Rebuild CM testing"), None)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(assert_rejected(&body), "idempotency_key_required");
        let (status, body) = service
            .post(BOOTSTRAP, &bootstrap("testing", "rebuild"), Some("b-0"))
            .await;
        refused(status, &body, "odoo_stable_bootstrap.confirmation");
        assert_eq!(lanes.mutations(), 0, "{:?}", lanes.fake.call_lines());

        let request = bootstrap("testing", " rebuild cm TESTING ");
        let (status, body) = service.post(BOOTSTRAP, &request, Some("b-1")).await;
        assert_eq!(status, 202, "{body}");
        let id = body["records"]["odoo_stable_bootstrap_operation_id"]
            .as_str()
            .expect("id")
            .to_string();
        assert_eq!(body["records"]["operation_id"], id.as_str());
        let poll = format!("{BOOTSTRAP}/operations/{id}");
        assert_eq!(body["result"]["poll_url"], poll.as_str());
        assert_eq!(body["result"]["operation"]["poll_url"], poll.as_str());
        assert_eq!(lanes.mutations(), 0, "enqueued, nothing ran yet");

        // Same key and body: the same operation. Same key, other body: 409.
        let (status, replay) = service.post(BOOTSTRAP, &request, Some("b-1")).await;
        assert_eq!(status, 202, "{replay}");
        assert_eq!(
            replay["records"]["odoo_stable_bootstrap_operation_id"],
            id.as_str()
        );
        let (status, body) = service
            .post(
                BOOTSTRAP,
                &bootstrap("testing", "Rebuild CM testing"),
                Some("b-1"),
            )
            .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(assert_rejected(&body), "idempotency_key_reused");
        // Another key while it is pending: the lane is busy.
        let (status, busy) = service.post(BOOTSTRAP, &request, Some("b-2")).await;
        assert_eq!(status, 409, "{busy}");
        assert_eq!(
            assert_rejected(&busy),
            "odoo_stable_bootstrap_operation_active"
        );
        assert_eq!(busy["operation"]["operation_id"], id.as_str());

        lanes.work().await;
        for path in [poll.clone(), format!("/v1/operations/{id}")] {
            let (status, polled) = service.get(&path).await;
            assert_eq!(status, 200, "{polled}");
            assert_eq!(polled["operation"]["status"], "pass", "{polled}");
            assert_eq!(polled["operation"]["poll_url"], path.as_str());
            assert_eq!(
                polled["result"]["result"]["bootstrap_status"], "pass",
                "{polled}"
            );
        }
        let (_, polled) = service.get(&poll).await;
        let deployment_id = polled["result"]["result"]["deployment_record_id"]
            .as_str()
            .expect("deployment")
            .to_string();
        let deployment = lanes
            .record("deployment", &deployment_id)
            .await
            .expect("deployment");
        assert_eq!(deployment["artifact_identity"]["artifact_id"], ARTIFACT);
        let inventory = lanes
            .record("inventory", "cm-testing")
            .await
            .expect("inventory");
        assert_eq!(inventory["deployment_record_id"], deployment_id.as_str());
        let bootstrap_jobs = lanes
            .fake
            .schedules()
            .into_iter()
            .filter(|s| s["name"] == "odoo-bootstrap")
            .count();
        assert_eq!(bootstrap_jobs, 1, "{:?}", lanes.fake.schedules());
        // The poll route of the other action does not know this operation.
        let (status, _) = service
            .get(&format!(
                "/v1/drivers/odoo/target-replacement/operations/{id}"
            ))
            .await;
        assert_eq!(status, 404);
        let (status, _) = service
            .get(&format!("{BOOTSTRAP}/operations/odoo-none"))
            .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmarked_lanes_refuse_destructive_rebuilds_whatever_their_name() {
    for backend in BACKENDS {
        let lanes = lanes(backend, &[]).await;
        for instance in ["prod", "testing"] {
            let confirmation = format!("Rebuild CM {instance}");
            let (status, body) = lanes
                .service
                .post(
                    BOOTSTRAP,
                    &bootstrap(instance, &confirmation),
                    Some(&format!("b-{instance}")),
                )
                .await;
            refused(status, &body, "odoo_stable_bootstrap.enabled");
            for mode in ["existing", "empty", "upstream_restore"] {
                let key = format!("r-{instance}-{mode}");
                let (status, body) = lanes
                    .service
                    .post(
                        APPLY,
                        &replacement(instance, mode, &confirmation),
                        Some(&key),
                    )
                    .await;
                refused(status, &body, "odoo_prelaunch_rebuild.enabled");
            }
        }
        assert_eq!(lanes.mutations(), 0, "{:?}", lanes.fake.call_lines());
        let (_, recent) = lanes.service.get("/v1/contexts/cm/operations/recent").await;
        assert_eq!(recent["active_operations"], json!([]), "{recent}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opw_style_upstream_restore_replaces_the_target_as_an_operation() {
    for backend in BACKENDS {
        let lanes = lanes(
            backend,
            &on_testing("odoo_prelaunch_rebuild", "upstream_restore"),
        )
        .await;
        let service = &lanes.service;
        // The plan runs the same proof, read-only.
        let (status, body) = service
            .post(
                PLAN,
                &replacement("testing", "empty", "Rebuild CM testing"),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["result"]["plan_status"], "blocked", "{body}");
        let request = replacement("testing", "upstream_restore", "Rebuild CM testing");
        let (status, body) = service.post(PLAN, &request, None).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["result"]["plan_status"], "ready", "{body}");
        assert_eq!(body["result"]["approval_issue_url"], ISSUE);
        assert_eq!(lanes.mutations(), 0);

        let (status, body) = service
            .post(
                APPLY,
                &replacement("testing", "empty", "Rebuild CM testing"),
                Some("r-0"),
            )
            .await;
        refused(status, &body, "odoo_prelaunch_rebuild.data_source_mode");
        let (status, body) = service.post(APPLY, &request, Some("r-1")).await;
        assert_eq!(status, 202, "{body}");
        let id = body["records"]["odoo_stable_target_replacement_operation_id"]
            .as_str()
            .expect("id")
            .to_string();
        let (status, busy) = service.post(APPLY, &request, Some("r-2")).await;
        assert_eq!(status, 409, "{busy}");
        assert_eq!(
            assert_rejected(&busy),
            "odoo_stable_target_replacement_operation_active"
        );

        lanes.work().await;
        let (status, polled) = service
            .get(&format!(
                "/v1/drivers/odoo/target-replacement/operations/{id}"
            ))
            .await;
        assert_eq!(status, 200, "{polled}");
        assert_eq!(polled["operation"]["status"], "pass", "{polled}");
        assert_eq!(polled["result"]["result"]["strategy"], "recreate-in-place");
        assert_eq!(polled["result"]["result"]["artifact_id"], ARTIFACT);
        let restores = lanes
            .fake
            .schedules()
            .into_iter()
            .filter(|s| s["name"] == "odoo-restore")
            .count();
        assert_eq!(restores, 1, "{:?}", lanes.fake.schedules());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_that_fails_after_its_deploy_keeps_the_previous_inventory() {
    for backend in BACKENDS {
        let lanes = lanes(backend, &on_testing("odoo_stable_bootstrap", "empty")).await;
        let before = lanes
            .record("inventory", "cm-testing")
            .await
            .expect("inventory");
        lanes
            .fake
            .fail("/api/schedule.runManually", 500, "boom", None);
        let (status, body) = lanes
            .service
            .post(
                BOOTSTRAP,
                &bootstrap("testing", "rebuild cm testing"),
                Some("b-1"),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let id = body["records"]["operation_id"]
            .as_str()
            .expect("id")
            .to_string();
        lanes.work().await;
        let (_, polled) = lanes
            .service
            .get(&format!("{BOOTSTRAP}/operations/{id}"))
            .await;
        assert_eq!(polled["operation"]["status"], "fail", "{polled}");
        let after = lanes
            .record("inventory", "cm-testing")
            .await
            .expect("inventory");
        assert_eq!(
            after["deployment_record_id"],
            before["deployment_record_id"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_without_a_profile_are_400_or_403_not_404() {
    for backend in BACKENDS {
        let lanes = lanes(backend, &[]).await;
        let service = &lanes.service;
        let gate =
            |product: &str, payload: Value| json!({"product": product, "backup_gate": payload});
        // A bad request: 400, whoever calls.
        let (status, body) = service
            .post(
                "/v1/drivers/odoo/prod-backup-gate",
                &json!({"product": "ghost"}),
                None,
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = service
            .post(
                "/v1/drivers/odoo/prod-backup-gate",
                &gate(
                    "ghost",
                    json!({"instance": "prod", "backup_record_id": "b"}),
                ),
                None,
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_message(&body, "backup_gate.context");
        // A caller without a grant for the product: 403.
        let (status, body) = service
            .post(
                "/v1/drivers/odoo/prod-backup-gate",
                &gate(
                    "ghost",
                    json!({"context": "cm", "instance": "prod", "backup_record_id": "b"}),
                ),
                None,
            )
            .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(assert_rejected(&body), "authorization_denied");
        // A present profile naming another driver is still a mismatch.
        let (status, body) = service
            .post(
                "/v1/drivers/verireel/stable-environment",
                &json!({"product": "demo", "environment": {"context": "cm", "instance": "testing"}}),
                None,
            )
            .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(assert_rejected(&body), "product_driver_mismatch");
        assert_eq!(lanes.mutations(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_that_empties_a_lane_must_say_so() {
    for backend in BACKENDS {
        let lanes = lanes(
            backend,
            &[(
                "testing",
                "odoo_prelaunch_rebuild",
                policy("testing", "upstream_restore"),
            )],
        )
        .await;
        let service = &lanes.service;
        let unasked = |mode: &str| {
            let mut request = replacement("testing", mode, "Rebuild CM testing");
            request["replacement"]["allow_empty_data"] = json!(false);
            request
        };
        // A data step replaces the lane's data: refused unless asked for.
        let (status, body) = service
            .post(APPLY, &unasked("upstream_restore"), Some("e-1"))
            .await;
        refused(status, &body, "allow_empty_data");
        // Keeping the data needs the Odoo volume keys on the target, which
        // this one does not name; the plan says which.
        let (status, body) = service.post(APPLY, &unasked("existing"), Some("e-2")).await;
        refused(status, &body, "allow_empty_data");
        assert!(body.to_string().contains("ODOO_DATA_VOLUME"), "{body}");
        let (status, plan) = service.post(PLAN, &unasked("existing"), None).await;
        assert_eq!(status, 202, "{plan}");
        let result = &plan["result"];
        assert_eq!(result["plan_status"], "blocked", "{plan}");
        assert_eq!(
            result["current_target"]["required_volume_keys_missing"],
            json!(["ODOO_DATA_VOLUME", "ODOO_LOG_VOLUME", "ODOO_DB_VOLUME"]),
            "{plan}"
        );
        assert_eq!(lanes.mutations(), 0, "{:?}", lanes.fake.call_lines());

        // With the volumes named, keeping the data is admitted.
        lanes.fake.add_application(
            "app-testing",
            json!({"name": "cm-testing", "dockerImage": "ghcr.io/launchplane/odoo-cm:old",
                   "env": "ODOO_WORKERS=2\nODOO_DATA_VOLUME=cm-data\nODOO_LOG_VOLUME=cm-log\nODOO_DB_VOLUME=cm-db"}),
        );
        let (status, plan) = service.post(PLAN, &unasked("existing"), None).await;
        assert_eq!(status, 202, "{plan}");
        assert_eq!(plan["result"]["plan_status"], "ready", "{plan}");
        assert_eq!(
            plan["result"]["current_target"]["required_volume_keys_present"],
            json!(["ODOO_DATA_VOLUME", "ODOO_LOG_VOLUME", "ODOO_DB_VOLUME"])
        );
        let (status, body) = service.post(APPLY, &unasked("existing"), Some("e-3")).await;
        assert_eq!(status, 202, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_keeps_the_checks_its_policy_requires() {
    for backend in BACKENDS {
        let lanes = lanes(
            backend,
            &[(
                "testing",
                "odoo_stable_bootstrap",
                policy("testing", "empty"),
            )],
        )
        .await;
        for (field, flag) in [
            ("verify_health", "require_health_verification"),
            ("verify_canonical", "require_canonical_verification"),
            ("verify_logo", "require_logo_verification"),
        ] {
            let mut request = bootstrap("testing", "Rebuild CM testing");
            request["bootstrap"][field] = json!(false);
            let (status, body) = lanes
                .service
                .post(BOOTSTRAP, &request, Some(&format!("v-{field}")))
                .await;
            refused(status, &body, &format!("odoo_stable_bootstrap.{flag}"));
        }
        assert_eq!(lanes.mutations(), 0);
    }
}
