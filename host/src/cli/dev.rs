//! `launchplane dev`: a loopback-only instance on embedded SQLite with a
//! local token issuer, a seeded `demo` product and a dev policy; and
//! `launchplane dev token`, which mints tokens for it.

use super::exit::outln;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::auth::AuthzPolicy;
use crate::auth::dev_issuer::{self, DevIssuer, DevTokenRequest};
use crate::config::{OidcSettings, ServeConfig};
use crate::ops::access::{CORE_ACTIONS, bootstrap_policy};
use crate::providers::SimulatedProvider;
use crate::records::{RecordWrite, StoredRecord};
use crate::runtime::Lane;
use crate::runtime::capabilities::ProviderCapability;

/// The audience dev tokens carry and the dev instance expects.
pub const DEV_AUDIENCE: &str = "launchplane-dev";
const ISSUER_FILE: &str = "dev-issuer.json";

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    #[command(subcommand)]
    command: Option<DevCommand>,
    /// Loopback address of the service.
    #[arg(long, env = "LAUNCHPLANE_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Loopback address of the local token issuer.
    #[arg(
        long,
        env = "LAUNCHPLANE_DEV_ISSUER_BIND",
        default_value = "127.0.0.1:8081"
    )]
    issuer_bind: SocketAddr,
    /// Driver registry file.
    #[arg(
        long,
        env = "LAUNCHPLANE_DRIVER_REGISTRY",
        default_value = "drivers/registry.toml"
    )]
    registry: PathBuf,
    /// Folder for the SQLite database, the component cache and the issuer key.
    #[arg(long, env = "LAUNCHPLANE_STATE_DIR", default_value = ".launchplane")]
    state_dir: PathBuf,
}

#[derive(Debug, Clone, Subcommand)]
enum DevCommand {
    /// Print a token from the running dev instance's issuer.
    Token(TokenArgs),
}

#[derive(Debug, Clone, Args)]
struct TokenArgs {
    /// `repository` claim (`owner/name`).
    #[arg(long, default_value = dev_issuer::DEFAULT_REPOSITORY)]
    repository: String,
    /// `workflow_ref` claim.
    #[arg(long, default_value = dev_issuer::DEFAULT_WORKFLOW_REF)]
    workflow_ref: String,
    /// `event_name` claim (`push`, `workflow_dispatch`, …).
    #[arg(long, default_value = dev_issuer::DEFAULT_EVENT_NAME)]
    event_name: String,
    /// `ref` claim (`refs/heads/main`, …).
    #[arg(long = "ref", default_value = dev_issuer::DEFAULT_REF)]
    git_ref: String,
    /// `environment` claim (a GitHub deployment environment).
    #[arg(long)]
    environment: Option<String>,
    /// `aud` claim: the audience the dev instance accepts.
    #[arg(long, default_value = DEV_AUDIENCE)]
    audience: String,
    /// Seconds until the token expires.
    #[arg(long, default_value_t = 3600)]
    ttl_seconds: u64,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    match &args.command {
        Some(DevCommand::Token(token)) => print_token(&args.state_dir, token),
        None => serve_dev(args).await,
    }
}

fn print_token(state_dir: &Path, args: &TokenArgs) -> anyhow::Result<()> {
    let issuer_file = state_dir.join(ISSUER_FILE);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&issuer_file).with_context(|| {
            format!(
                "{} is missing: start `launchplane dev` first",
                issuer_file.display()
            )
        })?)?;
    let issuer_url = saved["issuer"]
        .as_str()
        .context("dev-issuer.json has no issuer")?;
    let issuer = DevIssuer::load(state_dir, issuer_url)?;
    let mut request = DevTokenRequest::new(args.audience.clone());
    request.repository = args.repository.clone();
    request.workflow_ref = args.workflow_ref.clone();
    request.event_name = args.event_name.clone();
    request.git_ref = args.git_ref.clone();
    request.environment = args.environment.clone();
    request.ttl = std::time::Duration::from_secs(args.ttl_seconds);
    outln!("{}", issuer.mint(&request)?)?;
    Ok(())
}

async fn serve_dev(args: DevArgs) -> anyhow::Result<()> {
    for addr in [args.bind, args.issuer_bind] {
        dev_issuer::ensure_loopback_bind(addr)?;
    }
    std::fs::create_dir_all(&args.state_dir)?;
    let issuer_url = dev_issuer::issuer_url_for(args.issuer_bind);
    let issuer = Arc::new(DevIssuer::load_or_create(
        &args.state_dir,
        issuer_url.clone(),
    )?);
    std::fs::write(
        args.state_dir.join(ISSUER_FILE),
        serde_json::to_string_pretty(&json!({"issuer": issuer_url, "audience": DEV_AUDIENCE}))?,
    )?;
    let issuer_listener = tokio::net::TcpListener::bind(args.issuer_bind)
        .await
        .with_context(|| format!("cannot listen on {} for the dev issuer", args.issuer_bind))?;
    let database = args.state_dir.join("launchplane.sqlite");
    let config = ServeConfig {
        bind: args.bind,
        registry: args.registry.clone(),
        database_url: format!("sqlite://{}", database.display()),
        cache_dir: Some(args.state_dir.join("components")),
        body_limit: 1024 * 1024,
        oidc: OidcSettings {
            issuer: issuer_url.clone(),
            audience: DEV_AUDIENCE.to_string(),
            jwks_url: None,
        },
        worker: true,
        shutdown_timeout: std::time::Duration::from_secs(30),
        lease: std::time::Duration::from_secs(30),
        provider: crate::config::ProviderChoice::Simulated,
        guests: crate::runtime::GuestPoolConfig::default(),
        retention: crate::ops::maintenance::Retention::default(),
        front_door: crate::config::FrontDoorSettings::default(),
        metrics_bind: None,
    };
    let mut state = super::serve::build_state(&config).await?;
    // The dev provider is simulated; the issuer's loopback server also plays
    // the deployed demo apps, echoing what was deployed to them.
    let simulated = Arc::new(SimulatedProvider::new(state.store.clone()).auto_targets(true));
    state.services.provider = Some(ProviderCapability::new(simulated.clone()));
    let loopback = dev_issuer::router(issuer).merge(demo_apps(simulated));
    tokio::spawn(async move {
        let _ = axum::serve(issuer_listener, loopback).await;
    });
    let policy = dev_policy(&state.registry())?;
    let wrote_policy = bootstrap_policy(&state.store, &policy, "launchplane-dev").await?;
    let profile = demo_profile(&issuer_url);
    if state
        .store
        .get_record("product_profile", "demo")
        .await?
        .is_none()
    {
        let record = StoredRecord::new("product_profile", "demo", "demo", profile.clone());
        state
            .store
            .write_records(&[RecordWrite::Replace { record }], "launchplane-dev")
            .await?;
    }
    eprintln!("{}", banner(&config, &issuer_url, &profile, wrote_policy));
    eprintln!("{}", sign_in_note(&config, state.humans.as_deref()));
    super::serve::serve_state(state, &config).await
}

/// A policy that admits `launchplane dev token`'s default identity for
/// every loaded driver action and every core action on `demo`.
fn dev_policy(registry: &crate::registry::Registry) -> anyhow::Result<AuthzPolicy> {
    let mut actions: Vec<String> = CORE_ACTIONS.iter().map(|a| a.to_string()).collect();
    for driver in registry.descriptors() {
        actions.extend(driver.actions.iter().map(|a| a.authz_action.clone()));
    }
    actions.sort();
    actions.dedup();
    let quoted: Vec<String> = actions.iter().map(|a| format!("{a:?}")).collect();
    let toml = format!(
        "schema_version = 1\n\n[[github_actions]]\nrepository = {:?}\nworkflow_refs = [{:?}]\nproducts = [\"demo\", \"launchplane\"]\nactions = [{}]\n",
        dev_issuer::DEFAULT_REPOSITORY,
        dev_issuer::DEFAULT_WORKFLOW_REF,
        quoted.join(", ")
    );
    Ok(AuthzPolicy::from_toml_str(&toml)?)
}

/// The demo product: its lanes' URLs are the simulated apps served next to
/// the dev issuer, so health checks and identity verification really run.
fn demo_profile(apps_base: &str) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "product": "demo",
        "display_name": "Demo",
        "repository": dev_issuer::DEFAULT_REPOSITORY,
        "driver_id": "generic-web",
        "image": {"repository": "ghcr.io/launchplane/demo"},
        "runtime_port": 8080,
        "health_path": "/healthz",
        "lanes": [
            {"instance": "testing", "context": "demo", "base_url": format!("{apps_base}/apps/demo/testing")},
            {"instance": "prod", "context": "demo", "base_url": format!("{apps_base}/apps/demo/prod")}
        ],
        "updated_at": crate::time::now_rfc3339(),
        "source": "launchplane-dev"
    })
}

fn banner(
    config: &ServeConfig,
    issuer: &str,
    profile: &serde_json::Value,
    wrote_policy: bool,
) -> String {
    let rule = "=".repeat(78);
    format!(
        "{rule}\n  LAUNCHPLANE DEV INSTANCE: loopback only, not for production\n\
         \n  service     http://{bind}\n  issuer      {issuer}  (audience {DEV_AUDIENCE})\n  \
         registry    {registry}\n  database    {database}\n  \
         provider    simulated (in-process; lanes get a target on first use; nothing is deployed)\n\
         \n  product profile `demo` (driver generic-web):\n{profile}\n\
         \n  policy      {policy}: repository {repo}, workflow {wf}\n              every loaded action on products demo and launchplane\n\
         \n  token       TOKEN=$(cargo run -q -p launchplane -- dev token)\n  \
         try         curl -s -H \"Authorization: Bearer $TOKEN\" http://{bind}/v1/drivers\n{rule}",
        bind = config.bind,
        registry = config.registry.display(),
        database = config.database_url,
        profile = serde_json::to_string_pretty(profile).unwrap_or_default(),
        policy = if wrote_policy {
            "dev policy written"
        } else {
            "existing policy kept"
        },
        repo = dev_issuer::DEFAULT_REPOSITORY,
        wf = dev_issuer::DEFAULT_WORKFLOW_REF,
    )
}

/// How to sign in with GitHub on the dev instance, or what enables it.
fn sign_in_note(config: &ServeConfig, humans: Option<&crate::auth::human::HumanAuth>) -> String {
    match humans {
        Some(humans) => {
            let auth = humans.config();
            format!(
                "  sign in     open http://{bind}/auth/github/login?return_to=/ui\n              \
                 (OAuth app callback URL: {callback}; GitHub at {web})\n              \
                 role: admin for LAUNCHPLANE_BOOTSTRAP_ADMIN_EMAILS ({admins} set), else from\n              \
                 [[github_humans]] rules; grant one with POST /v1/authz-policies/github-humans/grants\n              \
                 session     curl -s -b 'launchplane_session=…' http://{bind}/v1/auth/session",
                bind = config.bind,
                callback = auth.redirect_uri(),
                web = auth.web_url,
                admins = auth.bootstrap_admin_emails.len(),
            )
        }
        None => "  sign in     off: set LAUNCHPLANE_GITHUB_CLIENT_ID, LAUNCHPLANE_GITHUB_CLIENT_SECRET,\n              \
                 LAUNCHPLANE_PUBLIC_URL (http://127.0.0.1:8080) and LAUNCHPLANE_SESSION_SECRET (32+ bytes),\n              \
                 and LAUNCHPLANE_COOKIE_SECURE=false for plain http"
            .to_string(),
    }
}

/// `GET /apps/{context}/{instance}/healthz`: a stand-in for the deployed
/// application of a simulated lane. It answers once the lane has been
/// deployed and echoes the runtime identity the host stamped into the
/// lane's environment, as a real application is expected to.
fn demo_apps(simulated: Arc<SimulatedProvider>) -> axum::Router {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::routing::get;

    async fn healthz(
        State(simulated): State<Arc<SimulatedProvider>>,
        Path((context, instance)): Path<(String, String)>,
    ) -> (StatusCode, axum::Json<serde_json::Value>) {
        let lane = simulated.lane(&Lane { context, instance });
        if lane.deploy_count == 0 {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "not deployed"})),
            );
        }
        let identity = lane
            .env
            .iter()
            .find(|(key, _)| key == "LAUNCHPLANE_RUNTIME_IDENTITY_JSON")
            .and_then(|(_, value)| serde_json::from_str::<serde_json::Value>(value).ok());
        (
            StatusCode::OK,
            axum::Json(
                json!({"status": "ok", "image": lane.deployed_image, "runtime_identity": identity}),
            ),
        )
    }
    axum::Router::new()
        .route("/apps/{context}/{instance}/healthz", get(healthz))
        .with_state(simulated)
}
