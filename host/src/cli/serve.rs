//! `launchplane serve`.

use std::sync::Arc;

use anyhow::Context as _;

use crate::auth::Closed;
use crate::config::ServeConfig;
use crate::http::{AppState, router};
use crate::records::Store;
use crate::registry::Registry;
use crate::runtime::{Runtime, RuntimeConfig};

/// Loads everything, then serves until Ctrl-C / SIGTERM. Any refusal
/// (registry, database) stops the start with the reason.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let state = build_state(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    tracing::info!(bind = %listener.local_addr()?, storage_backend = state.store.backend(), "launchplane serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Opens the runtime, registry and store a service needs.
pub async fn build_state(config: &ServeConfig) -> anyhow::Result<AppState> {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: config.cache_dir.clone(),
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("cannot start the component runtime: {e:#}"))?;
    let registry = Registry::load(&config.registry, &runtime).await?;
    let store = Store::open(&config.database_url).await?;
    let mut state = AppState::new(registry, store, Arc::new(Closed));
    state.body_limit = config.body_limit;
    Ok(state)
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
