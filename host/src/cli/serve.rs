//! `launchplane serve`.

use super::exit::outln;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::auth::human::{HumanAuth, HumanAuthConfig};
use crate::auth::operator::OperatorOr;
use crate::auth::policy::bootstrap_policy_from_env;
use crate::auth::{AuthzPolicy, OidcAuthenticator, OidcConfig, OidcVerifier};
use crate::config::ProviderChoice;
use crate::config::{OidcSettings, ServeConfig};
use crate::http::router;
use crate::ops::Service;
use crate::ops::access::{bootstrap_policy, policy_record};
use crate::ops::throttle::ClientThrottle;
use crate::ops::{Worker, WorkerConfig};
use crate::providers::dokploy::DokployCredentials;
use crate::providers::simulated::SimulatedProvider;
use crate::providers::{DeployProvider, provider_from_env};
use crate::records::Store;
use crate::registry::Registry;
use crate::runtime::capabilities::settings::PREVIEW_BASE_URL_KEY;
use crate::runtime::capabilities::{GitHubCapability, HttpProbe, github};
use crate::runtime::{Runtime, RuntimeConfig};

/// Loads everything, then serves until Ctrl-C / SIGTERM. Any refusal
/// (configuration, registry, database, policy) stops the start with the
/// reason.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let state = build_state(&config).await?;
    serve_state(state, &config).await
}

/// Serves an already built state (with the worker unless disabled)
/// behind the front door's limits (`http/server.rs`).
pub async fn serve_state(mut state: Service, config: &ServeConfig) -> anyhow::Result<()> {
    state.client_throttle = Arc::new(ClientThrottle::new(
        config.front_door.denied_limit,
        config.front_door.denied_window,
    ));
    if state.store.active_policy().await?.is_none() {
        tracing::warn!(
            "no authorization policy: every request will be denied until one is imported \
             (LAUNCHPLANE_POLICY_TOML / _B64 / _FILE or `launchplane authz import-toml`)"
        );
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    if config.worker {
        tokio::spawn(Worker::new(state.clone(), WorkerConfig::default()).run());
    }
    let sweeper = crate::ops::maintenance::spawn(state.store.clone(), config.retention);
    let limits = config.front_door;
    tracing::info!(
        bind = %listener.local_addr()?,
        storage_backend = state.store.backend(),
        header_timeout_s = limits.header_timeout.as_secs(),
        body_timeout_s = limits.body_timeout.as_secs(),
        keep_alive_timeout_s = limits.keep_alive_timeout.as_secs(),
        max_connections = limits.max_connections,
        open_file_limit = crate::config::open_file_limit(),
        denied_limit = limits.denied_limit,
        denied_window_s = limits.denied_window.as_secs(),
        "launchplane serving"
    );
    // A signal starts the drain; after `shutdown_timeout` the host stops
    // waiting, frees its lane leases and reservations, and exits.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let signalled = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let app = match config.metrics_bind {
        None => router(state.clone()),
        Some(metrics_bind) => {
            serve_metrics(metrics_bind).await?;
            crate::http::router_without_metrics(state.clone())
        }
    };
    let server = crate::http::serve(listener, app, limits, signalled(stopping.clone()));
    let timeout = config.shutdown_timeout;
    let deadline = async move {
        signalled(stopping).await;
        tokio::time::sleep(timeout).await;
    };
    tokio::select! {
        () = server => {}
        () = deadline => {
            tracing::warn!(seconds = timeout.as_secs(), "in-flight requests did not finish in time; releasing what this host holds");
            state.attempts.release_all(&state.store, &state.host_id).await;
        }
    }
    sweeper.abort();
    Ok(())
}

/// Serves `GET /metrics` alone on `bind` (`--metrics-bind`) for the rest
/// of the process.
async fn serve_metrics(bind: std::net::SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} for --metrics-bind"))?;
    tracing::info!(bind = %listener.local_addr()?, "metrics served");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, crate::http::metrics_router()).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// The OIDC authenticator for `settings`; a bad setting refuses to start.
pub fn authenticator(settings: &OidcSettings) -> anyhow::Result<OidcAuthenticator> {
    let mut config =
        OidcConfig::new(settings.audience.clone())?.with_issuer(settings.issuer.clone())?;
    if let Some(url) = &settings.jwks_url {
        config = config.with_jwks_url(url.clone())?;
    }
    Ok(OidcAuthenticator::new(OidcVerifier::new(config)?))
}

/// Opens the runtime, registry, store and authenticator a service needs,
/// and writes the bootstrap policy when the store has none.
pub async fn build_state(config: &ServeConfig) -> anyhow::Result<Service> {
    let oidc = authenticator(&config.oidc)?;
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: config.cache_dir.clone(),
        guests: config.guests,
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("cannot start the component runtime: {e:#}"))?;
    tracing::info!(
        guest_threads = runtime.guest_threads(),
        guest_nice = config.guests.nice,
        "driver runtime started"
    );
    let registry = Registry::load(&config.registry, &runtime).await?;
    let store = Store::open(&config.database_url).await?;
    let mut bootstrap_sha256 = String::new();
    if let Some((policy, source)) = bootstrap_policy_from_env(|name| std::env::var(name).ok())? {
        bootstrap_sha256 = policy.sha256();
        if bootstrap_policy(&store, &policy, &source).await? {
            tracing::info!(%source, sha256 = %bootstrap_sha256, "bootstrap authorization policy written");
        }
    }
    let master_key = crate::secrets::MasterKey::from_env().map(Arc::new);
    if master_key.is_some() {
        tracing::info!("managed secrets enabled");
    } else {
        tracing::warn!(
            "{} is not set: managed secret values can be neither written nor read",
            crate::secrets::MASTER_KEY_ENV
        );
    }
    let vault = crate::secrets::Vault::new(store.clone(), master_key.clone());
    let provider = match &config.provider {
        ProviderChoice::FromEnv => provider_from_env(&store, &vault)?,
        ProviderChoice::Simulated => Some(Arc::new(
            SimulatedProvider::new(store.clone()).auto_targets(true),
        ) as Arc<dyn DeployProvider>),
    };
    match &provider {
        Some(p) => tracing::info!(provider = p.provider_id(), "runtime provider configured"),
        None => tracing::warn!(
            "no runtime provider (LAUNCHPLANE_PROVIDER unset): driver provider calls answer `unavailable`"
        ),
    }
    if provider
        .as_ref()
        .is_some_and(|p| p.provider_id() == crate::providers::dokploy::PROVIDER_ID)
    {
        // Not a refusal: the secrets can be written after start, and each
        // call reads them afresh. The message names keys, never values.
        match DokployCredentials::ManagedSecrets(vault).endpoint().await {
            Ok(endpoint) => tracing::info!(host = endpoint.host(), "Dokploy credentials found"),
            Err(e) => tracing::warn!(error = %e, "Dokploy calls will fail until this is fixed"),
        }
    }
    let authenticator = OperatorOr::new(store.clone(), oidc);
    let mut state = Service::new(registry, store, Arc::new(authenticator));
    state.body_limit = config.body_limit;
    state.lease_ms = i64::try_from(config.lease.as_millis()).unwrap_or(i64::MAX);
    state.runtime_facts = Arc::new(crate::ops::service_runtime::RuntimeFacts {
        service_audience: config.oidc.audience.clone(),
        docker_image_reference: std::env::var(crate::ops::service_runtime::IMAGE_REFERENCE_ENV)
            .map(|v| v.trim().to_string())
            .unwrap_or_default(),
        bootstrap_authz_policy_sha256: bootstrap_sha256,
    });
    state.master_key = master_key;
    if let Some(provider) = provider {
        state.set_provider(provider);
    }
    state.services.probe = Some(
        HttpProbe::new().map_err(|e| anyhow::anyhow!("cannot build the health probe: {e:?}"))?,
    );
    state.preview_base_url = std::env::var(PREVIEW_BASE_URL_KEY)
        .ok()
        .filter(|v| !v.trim().is_empty());
    // The GitHub token is a managed secret read on every call; the API
    // base is configurable for GitHub Enterprise and tests.
    let api_base = std::env::var(GITHUB_API_URL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| github::DEFAULT_API_BASE.to_string());
    let vault = crate::secrets::Vault::new(state.store.clone(), state.master_key.clone());
    state.humans = human_auth(&state.store)?;
    state.services.github = Some(GitHubCapability::new(
        github::GitHubClient::new(&api_base, github::GitHubCredentials::ManagedSecrets(vault)),
        state.store.clone(),
    ));
    Ok(state)
}

/// GitHub sign-in for humans when `LAUNCHPLANE_GITHUB_CLIENT_ID`,
/// `_CLIENT_SECRET`, `LAUNCHPLANE_PUBLIC_URL` and
/// `LAUNCHPLANE_SESSION_SECRET` are all set; a malformed value refuses to
/// start, a partial set is warned about (sign-in stays off).
pub fn human_auth(store: &Store) -> anyhow::Result<Option<Arc<HumanAuth>>> {
    let lookup = |name: &str| std::env::var(name).ok();
    match HumanAuthConfig::from_lookup(lookup)? {
        Some(config) => {
            tracing::info!(
                public_url = %config.public_url,
                github = %config.web_url,
                bootstrap_admins = config.bootstrap_admin_emails.len(),
                "GitHub sign-in enabled"
            );
            Ok(Some(Arc::new(HumanAuth::new(config, store.clone())?)))
        }
        None => {
            let missing = HumanAuthConfig::missing_from(lookup);
            if !missing.is_empty() {
                tracing::warn!(missing = ?missing, "GitHub sign-in is off: set every variable it needs");
            }
            Ok(None)
        }
    }
}

/// The GitHub REST API base URL (default `https://api.github.com`).
pub const GITHUB_API_URL_ENV: &str = "LAUNCHPLANE_GITHUB_API_URL";

/// `launchplane authz import-toml`: validates and activates a policy.
pub async fn import_policy(path: &Path, database_url: &str) -> anyhow::Result<()> {
    if path.extension().is_some_and(|e| e == "example") {
        anyhow::bail!(
            "refusing policy file {}: it is an example, not a policy",
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let policy = AuthzPolicy::from_toml_str(&text)?;
    let store = Store::open(database_url).await?;
    let current = store.active_policy().await?;
    let expected = current.as_ref().map(|p| p.revision).unwrap_or(0);
    let record = policy_record(&policy, &format!("import-toml:{}", path.display()));
    let stored = store.replace_policy(expected, &record).await?;
    outln!(
        "active authorization policy {} (revision {}, sha256 {}, {} github_actions rules)",
        stored.record_id,
        stored.revision,
        stored.policy_sha256,
        policy.github_actions.len()
    )?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
