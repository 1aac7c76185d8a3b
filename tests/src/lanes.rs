//! A product's testing and prod lanes on the fake Dokploy API: the
//! applications `app-<instance>`, a health server playing the deployed
//! application, the provider targets binding the lanes, and a service
//! that probes them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use launchplane::providers::{ProviderTargetInput, ProviderTargets, TargetType};
use launchplane::runtime::capabilities::HttpProbe;
use serde_json::{Value, json};

use crate::fake_dokploy::FakeDokploy;
use crate::{Service, TestDatabase};

/// The lanes every fixture here sets up.
pub const INSTANCES: [&str; 2] = ["testing", "prod"];

/// The "application": `/{instance}/healthz` echoes the identity JSON from
/// the fake Dokploy app's env. Answers its base URL.
pub async fn health_server(fake: Arc<FakeDokploy>) -> String {
    async fn healthz(
        State(fake): State<Arc<FakeDokploy>>,
        Path(instance): Path<String>,
    ) -> axum::Json<Value> {
        let env = fake
            .application(&format!("app-{instance}"))
            .and_then(|app| app["env"].as_str().map(str::to_string))
            .unwrap_or_default();
        let identity = env
            .lines()
            .find_map(|line| line.strip_prefix("LAUNCHPLANE_RUNTIME_IDENTITY_JSON="))
            .and_then(|json| serde_json::from_str::<Value>(json).ok());
        axum::Json(json!({"status": "ok", "runtime_identity": identity}))
    }
    // The website an Odoo lane serves: its home page names its own base
    // URL as canonical, and its logo.
    async fn home(headers: axum::http::HeaderMap, Path(instance): Path<String>) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        format!(
            "<html><head><link rel=\"canonical\" href=\"http://{host}/{instance}\"/></head></html>"
        )
    }
    let app = axum::Router::new()
        .route("/{instance}/healthz", get(healthz))
        .route("/{instance}", get(home))
        .route(
            "/{instance}/web/image/website/1/logo",
            get(|| async { ([(axum::http::header::CONTENT_TYPE, "image/png")], "png") }),
        )
        .with_state(fake);
    format!("http://{}", crate::serve_loopback(app).await)
}

/// Adds the applications `app-testing` and `app-prod`, named
/// `<context>-<instance>`, with `env` and image `<image>:old`.
pub fn add_applications(fake: &FakeDokploy, context: &str, env: &str, image: &str) {
    for instance in INSTANCES {
        fake.add_application(
            &format!("app-{instance}"),
            json!({"name": format!("{context}-{instance}"), "env": env,
                   "dockerImage": format!("{image}:old")}),
        );
    }
}

/// A service on the fake Dokploy API at `fake` (token `key`) with an
/// HTTP probe, after `configure`.
pub async fn probing_service(
    db: &TestDatabase,
    fake: &FakeDokploy,
    key: &str,
    configure: impl FnOnce(&mut launchplane::ops::Service),
) -> Service {
    Service::start_on_dokploy(db, &fake.url(), key, |state| {
        state.services.probe = Some(HttpProbe::new().expect("probe"));
        configure(state);
    })
    .await
}

/// Binds product `demo`'s testing and prod lanes in `context` to the fake
/// Dokploy applications `app-<instance>` (named `<context>-<instance>`),
/// with the domain `<instance>.<context>.example.com` when `domains`.
pub async fn put_application_targets(db: &TestDatabase, context: &str, domains: bool) {
    let targets: Vec<_> = INSTANCES
        .iter()
        .map(|instance| {
            ProviderTargetInput {
                provider_id: "dokploy".into(),
                context: context.into(),
                instance: instance.to_string(),
                target_type: TargetType::Application,
                target_id: format!("app-{instance}"),
                target_name: format!("{context}-{instance}"),
                domains: if domains {
                    vec![format!("{instance}.{context}.example.com")]
                } else {
                    vec![]
                },
                healthcheck_path: "/healthz".into(),
                deploy_timeout_seconds: Some(30),
            }
            .into_target("2026-11-01T00:00:00Z", "tests")
            .expect("target")
        })
        .collect();
    ProviderTargets::new(db.store.clone())
        .put("demo", &targets, "tests")
        .await
        .expect("targets");
}
