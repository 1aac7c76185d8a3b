//! Odoo on generic-web's lifecycle, end to end over HTTP with test-issuer
//! tokens, on PostgreSQL, against the fake Dokploy API: publish → testing
//! deploy → prod backup gate → Odoo prod promotion → a second release →
//! rollback, with every record checked; and generic-web's own promotion
//! route refused for an Odoo product that has no backup gate, before any
//! provider call.

use std::sync::Arc;

use launchplane::records::RecordQuery;
use launchplane::runtime::capabilities::HttpProbe;
use launchplane_tests::fake_dokploy::{DeployScript, FakeDokploy};
use launchplane_tests::{Service, TestDatabase, assert_rejected};
use serde_json::{Value, json};

use crate::lifecycle::{health_server, put_application_targets};

const KEY: &str = "dokploy-odoo-key-0123456789abcdef";
pub(crate) const SHA_1: &str = "1111111111111111111111111111111111111111";
const SHA_2: &str = "2222222222222222222222222222222222222222";
pub(crate) const DIGEST_1: &str =
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_2: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
pub(crate) const REPOSITORY: &str = "ghcr.io/launchplane/odoo-cm";
/// Secret values on the testing lane, the preview template.
pub(crate) const DB_SECRET: &str = "db-pw-5e1f0a77c2";
pub(crate) const MASTER_SECRET: &str = "master-pw-93b2d4e6aa";
pub(crate) const ADMIN_SECRET: &str = "admin-pw-0c7d8e9f12";

/// One Odoo product on the fake Dokploy API (the harness of the `odoo*`
/// modules).
pub(crate) struct Odoo {
    pub(crate) db: TestDatabase,
    pub(crate) fake: Arc<FakeDokploy>,
    pub(crate) service: Service,
}

/// Product `demo` on the odoo driver, lanes `cm/testing` and `cm/prod` as
/// Dokploy applications (testing also the preview template, holding the
/// Odoo runtime secrets), prod with the backup settings.
pub(crate) async fn odoo(db: TestDatabase) -> Odoo {
    let fake = Arc::new(FakeDokploy::start(KEY).await);
    let template_env = format!(
        "ODOO_WORKERS=2\nODOO_DB_PASSWORD={DB_SECRET}\nODOO_MASTER_PASSWORD={MASTER_SECRET}\nODOO_ADMIN_PASSWORD={ADMIN_SECRET}"
    );
    fake.add_application(
        "app-testing",
        json!({"name": "cm-testing", "env": template_env, "dockerImage": "ghcr.io/launchplane/odoo-cm:old",
               "environmentId": "env-cm", "serverId": "srv-1"}),
    );
    fake.add_application(
        "app-prod",
        json!({"name": "cm-prod", "env": "ODOO_WORKERS=2", "dockerImage": "ghcr.io/launchplane/odoo-cm:old"}),
    );
    let health = health_server(fake.clone()).await;
    let mut profile = launchplane_tests::demo_profile("odoo");
    profile["image"] = json!({"repository": REPOSITORY});
    profile["lanes"] = json!([
        {"instance": "testing", "context": "cm", "base_url": format!("{health}/testing")},
        {"instance": "prod", "context": "cm", "base_url": format!("{health}/prod")}
    ]);
    profile["preview"] = json!({"enabled": true, "context": "cm", "template_instance": "testing",
        "copied_env_keys": ["ODOO_ADMIN_PASSWORD", "ODOO_DB_PASSWORD", "ODOO_MASTER_PASSWORD"]});
    let service = Service::start_on_dokploy(&db, &fake.url(), KEY, |state| {
        state.services.probe = Some(HttpProbe::new().expect("probe"));
    })
    .await;
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "{body}");
    put_application_targets(&db, "cm").await;
    let settings = json!({"mode": "apply", "product": "demo", "context": "cm", "instance": "prod",
                          "runtime_env": {"ODOO_DB_NAME": "cm", "ODOO_BACKUP_ROOT": "/volumes/data/backups/launchplane"}});
    let (status, body) = service
        .post("/v1/product-config/apply", &settings, None)
        .await;
    assert_eq!(status, 202, "{body}");
    Odoo { db, fake, service }
}

impl Odoo {
    /// Posts `body`; it must be accepted.
    pub(crate) async fn post(&self, route: &str, body: Value) -> Value {
        let (status, body) = self.service.post(route, &body, None).await;
        assert_eq!(status, 202, "{route}: {body}");
        body
    }

    pub(crate) async fn publish(&self, artifact_id: &str, sha: &str, digest: &str) {
        let manifest = json!({"artifact_id": artifact_id, "source_commit": sha,
                              "enterprise_base_digest": "sha256:base",
                              "image": {"repository": REPOSITORY, "digest": digest}});
        self.post(
            "/v1/drivers/odoo/artifact-publish",
            json!({"product": "demo", "publish": {"context": "cm", "instance": "testing", "manifest": manifest}}),
        )
        .await;
    }

    pub(crate) async fn deploy_testing(&self, artifact_id: &str, sha: &str) -> Value {
        self.post(
            "/v1/drivers/generic-web/deploy",
            json!({"product": "demo", "deploy": {"product": "demo", "instance": "testing",
                   "artifact_id": artifact_id, "source_git_ref": sha}}),
        )
        .await
    }

    /// Publishes `artifact-cm-1` and deploys it to testing.
    pub(crate) async fn ship_testing(&self) {
        self.publish("artifact-cm-1", SHA_1, DIGEST_1).await;
        self.deploy_testing("artifact-cm-1", SHA_1).await;
    }

    /// The backup gate id `prod-promotion-inputs` names for `request_id`,
    /// once testing is shipped.
    async fn inputs(&self, request_id: &str) -> Value {
        let body = self
            .post(
                "/v1/drivers/odoo/prod-promotion-inputs",
                json!({"product": "demo", "inputs": {"context": "cm", "request_id": request_id}}),
            )
            .await;
        body["result"].clone()
    }

    async fn gate(&self, backup_record_id: &str) -> Value {
        let body = self
            .post(
                "/v1/drivers/odoo/prod-backup-gate",
                json!({"product": "demo", "backup_gate": {"context": "cm", "instance": "prod",
                       "backup_record_id": backup_record_id}}),
            )
            .await;
        body["result"].clone()
    }

    async fn promote(&self, artifact_id: &str, backup_record_id: &str) -> Value {
        self.post(
            "/v1/drivers/odoo/prod-promotion",
            json!({"product": "demo", "promotion": {"context": "cm", "artifact_id": artifact_id,
                   "backup_record_id": backup_record_id}}),
        )
        .await
    }

    pub(crate) fn image(&self, instance: &str) -> String {
        self.fake
            .application(&format!("app-{instance}"))
            .expect("app")["dockerImage"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A stored record's document; it must exist.
    pub(crate) async fn record(&self, kind: &str, id: &str) -> Value {
        self.find(kind, id)
            .await
            .unwrap_or_else(|| panic!("no {kind} `{id}`"))
    }

    pub(crate) async fn find(&self, kind: &str, id: &str) -> Option<Value> {
        self.db
            .store
            .get_record(kind, id)
            .await
            .expect("read")
            .map(|r| r.document)
    }

    pub(crate) async fn count(&self, kind: &str) -> usize {
        self.db
            .store
            .list_records(kind, &RecordQuery::default())
            .await
            .expect("list")
            .len()
    }

    /// Provider mutations so far.
    pub(crate) fn mutations(&self) -> usize {
        self.fake
            .calls()
            .iter()
            .filter(|c| c.method == "POST")
            .count()
    }
}

launchplane_tests::conformance!(
    publish_deploy_gate_promote_release_again_and_roll_back,
    |db| async move {
        let o = odoo(db).await;

        // Publish, deploy testing: the deploy ships the testing release tuple.
        o.publish("artifact-cm-1", SHA_1, DIGEST_1).await;
        let deployed = o.deploy_testing("artifact-cm-1", SHA_1).await;
        assert_eq!(o.image("testing"), format!("{REPOSITORY}@{DIGEST_1}"));
        let tuple = o.record("release_tuple", "cm-testing").await;
        assert_eq!(tuple["tuple_id"], "cm-testing-artifact-cm-1");
        assert_eq!(tuple["artifact_id"], "artifact-cm-1");
        assert_eq!(tuple["provenance"], "ship");
        assert_eq!(
            tuple["deployment_record_id"],
            deployed["records"]["deployment_record_id"]
        );

        // Inputs are ready now and name the gate to capture.
        let inputs = o.inputs("release-1").await;
        assert_eq!(inputs["input_status"], "ready", "{inputs}");
        assert_eq!(inputs["artifact_id"], "artifact-cm-1");
        let gate_id = inputs["backup_record_id"].as_str().expect("gate id");
        assert_eq!(gate_id, "backup-gate-cm-prod-release-1");

        // The gate runs as a Dokploy schedule on the prod lane.
        let gate = o.gate(gate_id).await;
        assert_eq!(gate["backup_status"], "pass", "{gate}");
        let schedules = o.fake.schedules();
        assert_eq!(schedules.len(), 1, "{schedules:?}");
        assert!(
            schedules[0].to_string().contains("pg_dump"),
            "{}",
            schedules[0]
        );
        let stored = o.record("backup_gate", gate_id).await;
        assert_eq!(stored["status"], "pass");
        assert_eq!(stored["required"], true);

        // Odoo's promotion runs generic-web's, with Odoo's gate and shape.
        let promoted = o.promote("artifact-cm-1", gate_id).await;
        let result = &promoted["result"];
        assert_eq!(result["promotion_status"], "pass", "{promoted}");
        assert_eq!(result["release_tuple_id"], "cm-prod-artifact-cm-1");
        assert!(result.get("inventory_record_id").is_none(), "{result}");
        assert_eq!(o.image("prod"), format!("{REPOSITORY}@{DIGEST_1}"));
        let records = &promoted["records"];
        assert_eq!(records["backup_record_id"], gate_id);
        assert_eq!(records["release_tuple_id"], "cm-prod-artifact-cm-1");
        let promotion_id = records["promotion_record_id"].as_str().expect("promotion");
        let promotion = o.record("promotion", promotion_id).await;
        assert_eq!(promotion["backup_record_id"], gate_id);
        assert_eq!(promotion["backup_gate"]["status"], "pass", "{promotion}");
        let prod_tuple = o.record("release_tuple", "cm-prod").await;
        assert_eq!(prod_tuple["artifact_id"], "artifact-cm-1");
        assert_eq!(prod_tuple["promotion_record_id"], promotion_id);
        let prod = o.record("inventory", "cm-prod").await;
        assert_eq!(prod["promotion_record_id"], promotion_id);

        // A second release through both lanes, behind its own gate.
        o.publish("artifact-cm-2", SHA_2, DIGEST_2).await;
        o.deploy_testing("artifact-cm-2", SHA_2).await;
        let inputs = o.inputs("release-2").await;
        assert_eq!(inputs["artifact_id"], "artifact-cm-2", "{inputs}");
        let gate_2 = inputs["backup_record_id"].as_str().expect("gate id");
        assert_eq!(o.gate(gate_2).await["backup_status"], "pass");
        let promoted = o.promote("artifact-cm-2", gate_2).await;
        assert_eq!(promoted["result"]["promotion_status"], "pass", "{promoted}");
        assert_eq!(o.image("prod"), format!("{REPOSITORY}@{DIGEST_2}"));

        // Roll prod back to the first artifact, named explicitly.
        let rolled = o
            .post(
                "/v1/drivers/odoo/prod-rollback",
                json!({"product": "demo", "rollback": {"context": "cm", "instance": "prod",
                       "artifact_id": "artifact-cm-1", "reason": "release 2 broke checkout"}}),
            )
            .await;
        let result = &rolled["result"];
        assert_eq!(result["rollback_status"], "pass", "{rolled}");
        assert_eq!(result["source_channel"], "artifact");
        assert_eq!(result["artifact_id"], "artifact-cm-1");
        assert_eq!(o.image("prod"), format!("{REPOSITORY}@{DIGEST_1}"));
        let prod = o.record("inventory", "cm-prod").await;
        assert_eq!(prod["artifact_identity"]["artifact_id"], "artifact-cm-1");
        let promotions =
            o.db.store
                .list_records("promotion", &RecordQuery::default())
                .await
                .expect("promotions");
        assert!(
            promotions
                .iter()
                .any(|p| p.document["rollback"]["attempted"] == true),
            "the rollback is on a promotion record"
        );
    }
);

launchplane_tests::conformance!(
    no_route_promotes_an_odoo_product_without_a_passing_gate,
    |db| async move {
        let o = odoo(db).await;
        o.publish("artifact-cm-1", SHA_1, DIGEST_1).await;
        o.deploy_testing("artifact-cm-1", SHA_1).await;
        let before = o.mutations();
        let prod_image = o.image("prod");

        // generic-web's own route, with no gate at all.
        let (status, body) = o
            .service
            .post(
                "/v1/drivers/generic-web/prod-promotion",
                &json!({"product": "demo", "promotion": {"product": "demo", "artifact_id": "artifact-cm-1",
                        "source_git_ref": SHA_1}}),
                None,
            )
            .await;
        assert!(status >= 400, "{status}: {body}");
        let text = body.to_string();
        assert!(text.contains("prod-backup-gate"), "{body}");
        assert_eq!(o.mutations(), before, "no provider mutation");

        // Odoo's route, naming a gate that was never captured, or one that
        // failed: refused (400, as the original's unusable gate) before any
        // record is written or any provider call.
        o.fake.fail(
            "/api/schedule.runManually",
            500,
            "{\"message\":\"disk full\"}",
            Some(1),
        );
        assert_eq!(
            o.gate("backup-gate-cm-prod-failed").await["backup_status"],
            "fail"
        );
        let before = o.mutations();
        let promotions = o.count("promotion").await;
        for (gate, needle) in [
            ("backup-gate-cm-prod-never", "does not exist"),
            ("backup-gate-cm-prod-failed", "not pass"),
        ] {
            let (status, body) = o
                .service
                .post(
                    "/v1/drivers/odoo/prod-promotion",
                    &json!({"product": "demo", "promotion": {"context": "cm", "artifact_id": "artifact-cm-1",
                            "backup_record_id": gate}}),
                    None,
                )
                .await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(assert_rejected(&body), "invalid_request");
            let text = body.to_string();
            assert!(text.contains(gate) && text.contains(needle), "{body}");
        }
        assert_eq!(
            o.count("promotion").await,
            promotions,
            "no promotion record"
        );
        assert_eq!(o.mutations(), before, "no provider mutation");
        assert_eq!(o.image("prod"), prod_image);
        assert!(
            o.find("inventory", "cm-prod").await.is_none(),
            "prod inventory untouched"
        );
    }
);

/// Testing shipped, a passing prod gate captured: its id.
async fn gated(o: &Odoo) -> String {
    o.ship_testing().await;
    let gate_id = "backup-gate-cm-prod-release-1";
    assert_eq!(o.gate(gate_id).await["backup_status"], "pass");
    gate_id.to_string()
}

launchplane_tests::conformance!(
    a_provider_failure_during_promotion_answers_a_failed_promotion,
    |db| async move {
        let o = odoo(db).await;
        let gate_id = gated(&o).await;
        o.fake.fail(
            "/api/application.deploy",
            500,
            "{\"message\":\"provider down\"}",
            None,
        );

        // As the original: 202, the promotion recorded as failed, its ids
        // answered, the provider's failure in error_message.
        let body = o.promote("artifact-cm-1", &gate_id).await;
        let result = &body["result"];
        assert_eq!(result["promotion_status"], "fail", "{body}");
        assert_eq!(result["deployment_status"], "fail", "{body}");
        assert_eq!(result["release_tuple_id"], "");
        assert_eq!(result["backup_record_id"], gate_id.as_str());
        assert!(
            result["error_message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        let promotion_id = result["promotion_record_id"].as_str().expect("promotion");
        assert_eq!(body["records"]["promotion_record_id"], promotion_id);
        let promotion = o.record("promotion", promotion_id).await;
        assert_eq!(promotion["deploy"]["status"], "fail", "{promotion}");
        assert_eq!(promotion["backup_record_id"], gate_id.as_str());
        let deployment_id = result["deployment_record_id"].as_str().expect("deployment");
        assert_eq!(promotion["deployment_record_id"], deployment_id);
        let deployment = o.record("deployment", deployment_id).await;
        assert_eq!(deployment["deploy"]["status"], "fail", "{deployment}");
        // Prod's records did not move: no inventory, no prod tuple.
        assert!(o.find("inventory", "cm-prod").await.is_none());
        assert!(o.find("release_tuple", "cm-prod").await.is_none());

        // The one-call run answers the same failure in its own shape.
        let (status, body) = o
            .service
            .post(
                "/v1/drivers/odoo/prod-promotion-run",
                &json!({"product": "demo", "run": {"context": "cm", "request_id": "release-2"}}),
                Some("opp:cm:release-2"),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let result = &body["result"];
        assert_eq!(result["run_status"], "fail", "{body}");
        assert_eq!(result["backup_status"], "pass");
        assert_eq!(result["promotion_status"], "fail");
        assert_eq!(result["deployment_status"], "fail");
        let promotion_id = result["promotion_record_id"].as_str().expect("promotion");
        assert_eq!(
            o.record("promotion", promotion_id).await["deploy"]["status"],
            "fail"
        );
    }
);

launchplane_tests::conformance!(
    a_provider_failure_during_rollback_answers_a_failed_rollback,
    |db| async move {
        let o = odoo(db).await;
        let gate_id = gated(&o).await;
        let promoted = o.promote("artifact-cm-1", &gate_id).await;
        assert_eq!(promoted["result"]["promotion_status"], "pass", "{promoted}");
        o.publish("artifact-cm-2", SHA_2, DIGEST_2).await;
        o.deploy_testing("artifact-cm-2", SHA_2).await;
        let gate_2 = "backup-gate-cm-prod-release-2";
        assert_eq!(o.gate(gate_2).await["backup_status"], "pass");
        let promoted = o.promote("artifact-cm-2", gate_2).await;
        assert_eq!(promoted["result"]["promotion_status"], "pass", "{promoted}");
        let promotion_id = promoted["records"]["promotion_record_id"]
            .as_str()
            .expect("promotion")
            .to_string();
        let inventory = o.record("inventory", "cm-prod").await;

        // The deployment the rollback starts ends in error at the provider.
        o.fake.script(DeployScript::ends("error"));
        let body = o
            .post(
                "/v1/drivers/odoo/prod-rollback",
                json!({"product": "demo", "rollback": {"context": "cm", "instance": "prod",
                       "artifact_id": "artifact-cm-1", "reason": "drill"}}),
            )
            .await;
        let result = &body["result"];
        assert_eq!(result["rollback_status"], "fail", "{body}");
        assert_eq!(result["source_channel"], "artifact");
        assert_eq!(result["artifact_id"], "artifact-cm-1");
        assert_eq!(result["release_tuple_id"], "");
        assert_eq!(result["promotion_record_id"], promotion_id.as_str());
        assert!(
            result["error_message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        let deployment_id = result["deployment_record_id"].as_str().expect("deployment");
        let deployment = o.record("deployment", deployment_id).await;
        assert_eq!(deployment["deploy"]["status"], "fail", "{deployment}");
        let promotion = o.record("promotion", &promotion_id).await;
        assert_eq!(promotion["rollback"]["attempted"], true, "{promotion}");
        assert_eq!(promotion["rollback"]["status"], "fail", "{promotion}");
        // The lane's inventory still names the promoted deployment.
        let after = o.record("inventory", "cm-prod").await;
        assert_eq!(
            after["deployment_record_id"],
            inventory["deployment_record_id"]
        );
    }
);

/// The decoded `ODOO_INSTANCE_OVERRIDES_PAYLOAD_B64` of an env text.
fn override_payload(env: &str) -> Value {
    use base64::Engine as _;
    let encoded = env
        .lines()
        .find_map(|line| line.strip_prefix("ODOO_INSTANCE_OVERRIDES_PAYLOAD_B64="))
        .unwrap_or_else(|| panic!("no override payload in {env}"));
    let json = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    serde_json::from_slice(&json).expect("payload JSON")
}

launchplane_tests::conformance!(
    a_testing_deploy_applies_the_lane_overrides_through_the_provider,
    |db| async move {
        let o = odoo(db).await;
        let set_base_url = |url: &str| {
            json!({"product": "demo", "override": {"product": "demo", "context": "cm",
                   "instance": "testing", "key": "web.base.url", "value": url}})
        };
        o.post(
            "/v1/drivers/odoo/config-parameter-override",
            set_base_url("https://cm-testing.example.com"),
        )
        .await;
        o.publish("artifact-cm-1", SHA_1, DIGEST_1).await;
        let deployed = o.deploy_testing("artifact-cm-1", SHA_1).await;

        // generic-web's deploy called Odoo's post-deploy: the payload and the
        // merged modules are in the app's env, and the job ran as a schedule.
        let app = o.fake.application("app-testing").expect("app");
        let env = app["env"].as_str().unwrap_or_default();
        let payload = override_payload(env);
        assert_eq!(payload["context"], "cm");
        assert_eq!(
            payload["config_parameters"],
            json!([{"key": "web.base.url", "value": {"source": "literal", "value": "https://cm-testing.example.com"}}])
        );
        assert!(
            env.lines()
                .any(|l| l == "ODOO_INSTALL_MODULES=launchplane_settings,disable_odoo_online"),
            "{env}"
        );
        assert!(env.contains("ODOO_WORKERS=2"), "other env kept: {env}");
        let schedules = o.fake.schedules();
        assert_eq!(schedules.len(), 1, "{schedules:?}");
        assert_eq!(schedules[0]["name"], "platform-data-workflow");
        assert_eq!(schedules[0]["applicationId"], "app-testing");
        let command = schedules[0]["command"].as_str().unwrap_or_default();
        assert!(
            command.contains("ODOO_INSTANCE_OVERRIDES_PAYLOAD_B64=")
                && command.ends_with("control-plane post-deploy update"),
            "{command}"
        );
        assert_eq!(
            o.fake.calls_to("/api/schedule.runManually").len(),
            1,
            "the job ran once"
        );
        let deployment_id = deployed["records"]["deployment_record_id"]
            .as_str()
            .expect("deployment");
        let deployment = o.record("deployment", deployment_id).await;
        let update = &deployment["post_deploy_update"];
        assert_eq!(update["attempted"], true, "{deployment}");
        assert_eq!(update["status"], "pass");
        assert!(
            update["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("platform-data-workflow passed"),
            "{update}"
        );

        // The route applies the same for a named phase and records last_apply.
        let body = o
            .post(
                "/v1/drivers/odoo/post-deploy",
                json!({"product": "demo", "post_deploy": {"context": "cm", "instance": "testing"}}),
            )
            .await;
        let result = &body["result"];
        assert_eq!(result["post_deploy_status"], "pass", "{body}");
        assert_eq!(result["override_status"], "pass");
        assert_eq!(result["override_record_found"], true);
        assert_eq!(result["override_payload_rendered"], true);
        assert_eq!(result["required_container_environment_keys"], json!([]));
        let stored = o.record("odoo_instance_override", "cm-testing").await;
        assert_eq!(stored["last_apply"]["status"], "pass", "{stored}");
        assert_eq!(stored["source_label"], "odoo-post-deploy-driver");
        assert_eq!(o.fake.calls_to("/api/schedule.runManually").len(), 2);

        // A provider that does not keep the env update: the apply fails closed
        // before the job runs, and says so.
        o.post(
            "/v1/drivers/odoo/config-parameter-override",
            set_base_url("https://cm-testing-2.example.com"),
        )
        .await;
        o.fake.drop_env_writes(true);
        let body = o
            .post(
                "/v1/drivers/odoo/post-deploy",
                json!({"product": "demo", "post_deploy": {"context": "cm", "instance": "testing", "phase": "deploy"}}),
            )
            .await;
        let result = &body["result"];
        assert_eq!(result["post_deploy_status"], "fail", "{body}");
        assert_eq!(result["override_status"], "fail");
        assert!(
            result["error_message"]
                .as_str()
                .unwrap_or_default()
                .contains("not persisted"),
            "{body}"
        );
        assert_eq!(
            o.fake.calls_to("/api/schedule.runManually").len(),
            2,
            "no job after a lost env update"
        );
        let stored = o.record("odoo_instance_override", "cm-testing").await;
        assert_eq!(stored["last_apply"]["status"], "fail", "{stored}");
    }
);
