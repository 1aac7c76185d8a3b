//! Issues 26 and 29 with real host processes on one PostgreSQL: the
//! `launchplane` binary of this build (`launchplane serve`, Dokploy
//! provider against the fake Dokploy, the test OIDC issuer).
//!
//! * A host is killed with SIGKILL at three points of concurrent
//!   generic-web deploys (reservations taken; Dokploy deploying; records
//!   being written), restarted, and every request retried with its
//!   Idempotency-Key until it has a final answer: a key never deploys
//!   twice at the provider nor writes two deployment records, an answered
//!   key replays, and every lane takes a new deploy within about one
//!   lease (`--lease-seconds 2`), not the action's deadline.
//! * Two replicas on one database: one key sent to both at once runs
//!   once; two keys for one lane, one on each, hold one lease between
//!   them (the other answers 409 `lane_busy`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use launchplane::providers::{ProviderTargetInput, ProviderTargets, TargetType};
use launchplane::records::RecordQuery;
use launchplane_tests::fake_dokploy::{DeployScript, FakeDokploy};
use launchplane_tests::host_process::{HostProcess, HostSetup};
use launchplane_tests::{DEMO_POLICY, RegistryFile, TestDatabase, TestIssuer, assert_rejected};
use serde_json::{Value, json};

use crate::lifecycle::{IMAGE_1, IMAGE_2, health_server};

const DOKPLOY_KEY: &str = "dokploy-replicas-key-0123456789";
const MASTER_KEY: &str = "tests master key";
/// Short holds, so a dead host's lanes come free quickly.
const LEASE_SECONDS: u64 = 2;
/// The route of every request here.
const DEPLOY: &str = "/v1/drivers/generic-web/deploy";

/// A database, the fake Dokploy with one application per lane, and what
/// a host process needs to serve product `demo`.
struct Cluster {
    db: TestDatabase,
    fake: Arc<FakeDokploy>,
    issuer: TestIssuer,
    setup: HostSetup,
    client: reqwest::Client,
    _registry: RegistryFile,
    _dirs: tempfile::TempDir,
}

/// Lane `n`: the testing lane of product `demo<n>` (context `demo<n>`);
/// only stable lanes have provider targets, so each lane is a product.
fn lane_name(n: usize) -> String {
    format!("demo{n}")
}

fn deploy_body(lane: &str, image: &str) -> Value {
    json!({"product": lane, "deploy": {
        "product": lane, "instance": "testing", "artifact_id": image,
        "source_git_ref": "refs/heads/main"
    }})
}

impl Cluster {
    /// `lanes` lanes (products `demo0…`), each bound to the fake Dokploy
    /// application `app-<lane>`; deploys stay
    /// in flight at Dokploy for `running_polls` polls of 20 ms.
    async fn new(lanes: usize, running_polls: u32) -> Cluster {
        let db = TestDatabase::new("postgres").await;
        let fake = Arc::new(FakeDokploy::start(DOKPLOY_KEY).await);
        fake.script(DeployScript {
            running_polls,
            ..Default::default()
        });
        let names: Vec<String> = (0..lanes).map(lane_name).collect();
        for lane in &names {
            fake.add_application(
                &format!("app-{lane}"),
                json!({"name": format!("demo-{lane}"), "env": "KEEP_ME=1", "dockerImage": "ghcr.io/launchplane/demo:old"}),
            );
        }
        let health = health_server(fake.clone()).await;
        let issuer = TestIssuer::start().await;
        let products: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let policy = DEMO_POLICY.replace(
            r#"products = ["demo", "launchplane"]"#,
            &format!("products = [{}]", products.join(", ")),
        );
        let policy = launchplane::auth::AuthzPolicy::from_toml_str(&policy).expect("policy");
        launchplane::ops::access::bootstrap_policy(&db.store, &policy, "tests")
            .await
            .expect("policy");
        let master = launchplane::secrets::MasterKey::from_text(MASTER_KEY).map(Arc::new);
        let vault = launchplane::secrets::Vault::new(db.store.clone(), master);
        launchplane_tests::put_secret(&vault, "dokploy", "DOKPLOY_HOST", "", &fake.url()).await;
        launchplane_tests::put_secret(&vault, "dokploy", "DOKPLOY_TOKEN", "", DOKPLOY_KEY).await;
        for lane in &names {
            let target = ProviderTargetInput {
                provider_id: "dokploy".into(),
                context: lane.clone(),
                instance: "testing".into(),
                target_type: TargetType::Application,
                target_id: format!("app-{lane}"),
                target_name: format!("{lane}-testing"),
                domains: vec![],
                healthcheck_path: "/healthz".into(),
                deploy_timeout_seconds: Some(30),
            }
            .into_target("2026-11-01T00:00:00Z", "tests")
            .expect("target");
            ProviderTargets::new(db.store.clone())
                .put(lane, &[target], "tests")
                .await
                .expect("targets");
        }
        let registry = RegistryFile::new().product_drivers();
        let dirs = tempfile::tempdir().expect("dirs");
        let setup = HostSetup {
            database_url: db.url.clone(),
            registry: registry.write(),
            cache_dir: dirs.path().join("components"),
            issuer_url: issuer.url.clone(),
            lease_seconds: LEASE_SECONDS,
            env: vec![
                ("LAUNCHPLANE_PROVIDER".into(), "dokploy".into()),
                (
                    "LAUNCHPLANE_MASTER_ENCRYPTION_KEY".into(),
                    MASTER_KEY.into(),
                ),
                ("LAUNCHPLANE_DOKPLOY_POLL_MS".into(), "20".into()),
            ],
            log_dir: dirs.path().to_path_buf(),
        };
        let cluster = Cluster {
            db,
            fake,
            issuer,
            setup,
            client: launchplane::tls::default_client(),
            _registry: registry,
            _dirs: dirs,
        };
        // The profiles go through a host, as an operator sends them.
        let host = cluster.host("profiles").await;
        for lane in &names {
            let mut profile = launchplane_tests::demo_profile("generic-web");
            profile["product"] = json!(lane);
            profile["lanes"] = json!([
                {"instance": "testing", "context": lane, "base_url": format!("{health}/{lane}")}
            ]);
            profile["preview"] = json!({"enabled": true, "context": format!("{lane}-preview")});
            let (status, body) = cluster
                .post(&host, "/v1/product-profiles", &profile, None)
                .await
                .expect("profile");
            assert_eq!(status, 202, "{body}");
        }
        cluster
    }

    async fn host(&self, name: &str) -> HostProcess {
        HostProcess::start(&self.setup, name).await
    }

    /// One POST; `Err` when the host is gone (killed mid-request).
    async fn post(
        &self,
        host: &HostProcess,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut request = self
            .client
            .post(format!("{}{path}", host.url))
            .bearer_auth(self.issuer.token())
            .timeout(Duration::from_secs(60))
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Dokploy deploys of `lane`'s application so far.
    fn deploys(&self, lane: &str) -> usize {
        let app = format!("app-{lane}");
        self.fake
            .calls_to("/api/application.deploy")
            .iter()
            .filter(|c| c.body["applicationId"] == app.as_str())
            .count()
    }

    /// Deployment records of `lane`.
    async fn records(&self, lane: &str) -> Vec<Value> {
        let query = RecordQuery {
            product: Some(lane.to_string()),
            context: Some(lane.to_string()),
            instance: Some("testing".into()),
            limit: 100,
        };
        self.db
            .store
            .list_records("deployment", &query)
            .await
            .expect("records")
            .into_iter()
            .map(|r| r.document)
            .collect()
    }

    async fn count(&self, sql: &str) -> i64 {
        let launchplane::records::Store::Postgres(pool) = &self.db.store else {
            panic!("PostgreSQL");
        };
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(pool)
            .await
            .expect("count")
    }

    /// Retries `key` on `host` until it has a final answer: 202 (run or
    /// replayed) or 409 `idempotency_outcome_unknown`. A 409 in progress
    /// (the dead host's reservation not yet run out) is retried.
    async fn settle(&self, host: &HostProcess, lane: &str, key: &str) -> (u16, Value) {
        let started = Instant::now();
        loop {
            let (status, body) = self
                .post(host, DEPLOY, &deploy_body(lane, IMAGE_1), Some(key))
                .await
                .expect("the restarted host answers");
            let code = if status == 409 {
                assert_rejected(&body)
            } else {
                String::new()
            };
            match (status, code.as_str()) {
                (202, _) | (409, "idempotency_outcome_unknown") => return (status, body),
                (409, "idempotency_request_in_progress") => {}
                _ => panic!("{key}: unexpected {status}: {body}"),
            }
            assert!(
                started.elapsed() < Duration::from_secs(LEASE_SECONDS + 30),
                "{key} never settled: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Where the first host dies.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// Every request holds its reservation.
    Reserved,
    /// Dokploy has been asked to deploy.
    Deploying,
    /// A deployment record is committed.
    Recording,
}

/// How a round ended, for the report.
#[derive(Debug, Default)]
struct Tally {
    ran_before_kill: usize,
    replayed_after_restart: usize,
    ran_after_restart: usize,
    outcome_unknown: usize,
}

async fn kill_round(cluster: &Cluster, point: KillPoint, lanes: &[String]) -> Tally {
    let tag = format!("{point:?}").to_lowercase();
    let mut first = cluster.host(&format!("{tag}-first")).await;
    let requests: Vec<_> = lanes
        .iter()
        .map(|lane| {
            let (lane, key) = (lane.clone(), format!("{tag}-{lane}"));
            let url = first.url.clone();
            let token = cluster.issuer.token();
            let client = cluster.client.clone();
            tokio::spawn(async move {
                client
                    .post(format!("{url}{DEPLOY}"))
                    .bearer_auth(token)
                    .header("Idempotency-Key", key)
                    .json(&deploy_body(&lane, IMAGE_1))
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let lanes_sql = lanes
        .iter()
        .map(|l| format!("'{l}'"))
        .collect::<Vec<_>>()
        .join(",");
    let keys_sql = lanes
        .iter()
        .map(|l| format!("'{tag}-{l}'"))
        .collect::<Vec<_>>()
        .join(",");
    let waited = Instant::now();
    loop {
        let reached = match point {
            KillPoint::Reserved => {
                cluster
                    .count(&format!(
                        "SELECT count(*) FROM lp_idempotency WHERE idempotency_key IN ({keys_sql})"
                    ))
                    .await
                    == lanes.len() as i64
            }
            KillPoint::Deploying => lanes.iter().any(|l| cluster.deploys(l) > 0),
            KillPoint::Recording => {
                cluster
                    .count(&format!(
                        "SELECT count(*) FROM lp_records WHERE kind = 'deployment' AND product IN ({lanes_sql})"
                    ))
                    .await
                    > 0
            }
        };
        if reached {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "{point:?} never reached:\n{}",
            first.log_text()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill();
    let mut tally = Tally::default();
    for request in requests {
        if request.await.expect("task") == Some(202) {
            tally.ran_before_kill += 1;
        }
    }
    assert!(
        tally.ran_before_kill < lanes.len(),
        "{point:?}: the kill came after every request had finished"
    );

    let restarted = Instant::now();
    let second = cluster.host(&format!("{tag}-second")).await;
    for lane in lanes {
        let key = format!("{tag}-{lane}");
        let before = cluster.deploys(lane);
        let (status, answer) = cluster.settle(&second, lane, &key).await;
        let records = cluster.records(lane).await;
        if status == 202 {
            if answer["replayed"] == true {
                tally.replayed_after_restart += 1;
            } else {
                tally.ran_after_restart += 1;
            }
            assert_eq!(cluster.deploys(lane), 1, "{key}: one deploy: {answer}");
            assert_eq!(records.len(), 1, "{key}: one record: {records:?}");
            let id = answer["records"]["deployment_record_id"].as_str();
            assert_eq!(id, records[0]["record_id"].as_str(), "{answer}");
        } else {
            tally.outcome_unknown += 1;
            assert!(cluster.deploys(lane) <= 1, "{key}: at most one deploy");
            // Records commit with the answer: a key that left a record
            // replays it instead.
            assert!(records.is_empty(), "{key}: {records:?} but {answer}");
            assert_eq!(
                before,
                cluster.deploys(lane),
                "{key}: not run again: {answer}"
            );
            // What the dead attempt wrote is named, records included.
            let written: Vec<String> =
                serde_json::from_value(answer["attempt"]["written"].clone()).expect("written");
            for record in &records {
                let name = format!("deployment/{}", record["record_id"].as_str().unwrap_or(""));
                assert!(written.contains(&name), "{key}: {written:?} names {name}");
            }
        }
        // Every later retry answers the same way and runs nothing.
        let (again, repeat) = cluster
            .post(&second, DEPLOY, &deploy_body(lane, IMAGE_1), Some(&key))
            .await
            .expect("retry");
        assert_eq!(again, status, "{key}: {repeat}");
        if status == 202 {
            assert_eq!(repeat["replayed"], true, "{repeat}");
            assert_eq!(repeat["records"], answer["records"], "{repeat}");
        }
        assert!(cluster.deploys(lane) <= 1, "{key}: never deployed twice");
    }

    // The dead host's lane leases run out within a lease: every lane
    // takes a new deploy (retried while `lane_busy`) soon after restart.
    for lane in lanes {
        let key = format!("{tag}-{lane}-next");
        let deploys = cluster.deploys(lane);
        loop {
            let (status, body) = cluster
                .post(&second, DEPLOY, &deploy_body(lane, IMAGE_2), Some(&key))
                .await
                .expect("next deploy");
            if status == 202 {
                break;
            }
            assert_eq!(status, 409, "{body}");
            assert_eq!(assert_rejected(&body), "lane_busy", "{body}");
            assert!(
                restarted.elapsed() < Duration::from_secs(LEASE_SECONDS + 20),
                "{lane} still busy {:?} after the restart: {body}",
                restarted.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(cluster.deploys(lane), deploys + 1);
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_mid_deploy_never_deploys_a_key_twice() {
    const PER_ROUND: usize = 3;
    let points = [
        KillPoint::Reserved,
        KillPoint::Deploying,
        KillPoint::Recording,
    ];
    // About 0.3 s at Dokploy per deploy.
    let cluster = Cluster::new(PER_ROUND * points.len(), 15).await;
    for (round, point) in points.into_iter().enumerate() {
        let lanes: Vec<String> = (round * PER_ROUND..(round + 1) * PER_ROUND)
            .map(lane_name)
            .collect();
        let tally = kill_round(&cluster, point, &lanes).await;
        eprintln!("kill -9 at {point:?}: {tally:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_a_key_once_and_share_one_lane_lease() {
    // About 1 s at Dokploy per deploy, so both replicas meet mid-flight.
    let cluster = Cluster::new(1, 50).await;
    let (a, b) = tokio::join!(cluster.host("replica-a"), cluster.host("replica-b"));
    let lane = lane_name(0);
    let body = deploy_body(&lane, IMAGE_1);

    // One key, both replicas at once: it runs once.
    let (on_a, on_b) = tokio::join!(
        cluster.post(&a, DEPLOY, &body, Some("both-1")),
        cluster.post(&b, DEPLOY, &body, Some("both-1")),
    );
    let answers = [on_a.expect("a answers"), on_b.expect("b answers")];
    let ran: Vec<_> = answers
        .iter()
        .filter(|(status, body)| *status == 202 && body.get("replayed").is_none())
        .collect();
    assert_eq!(ran.len(), 1, "{answers:?}");
    for (status, answer) in &answers {
        match status {
            202 => {}
            409 => assert_eq!(
                assert_rejected(answer),
                "idempotency_request_in_progress",
                "{answer}"
            ),
            _ => panic!("{answer}"),
        }
    }
    assert_eq!(cluster.deploys(&lane), 1);
    // Once done, either replica replays it.
    for host in [&a, &b] {
        let (status, replay) = cluster
            .post(host, DEPLOY, &body, Some("both-1"))
            .await
            .expect("replay");
        assert_eq!(status, 202, "{replay}");
        assert_eq!(replay["replayed"], true, "{replay}");
    }
    assert_eq!(cluster.deploys(&lane), 1);

    // Two keys for one lane, one on each replica: one lease between
    // them; the other is refused before any provider call.
    let second = deploy_body(&lane, IMAGE_2);
    let (on_a, on_b) = tokio::join!(
        cluster.post(&a, DEPLOY, &body, Some("lane-a")),
        cluster.post(&b, DEPLOY, &second, Some("lane-b")),
    );
    let answers = [on_a.expect("a answers"), on_b.expect("b answers")];
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.contains(&202) && statuses.contains(&409),
        "{answers:?}"
    );
    let busy = answers
        .iter()
        .find(|(status, _)| *status == 409)
        .map(|(_, body)| body)
        .expect("a refusal");
    assert_eq!(assert_rejected(busy), "lane_busy", "{busy}");
    assert_eq!(cluster.deploys(&lane), 2, "one more deploy, not two");
    assert_eq!(cluster.records(&lane).await.len(), 2);
    // Nothing is left held.
    let held = cluster.count("SELECT count(*) FROM lp_lane_leases").await;
    assert_eq!(held, 0, "leases are released at the end");
}
