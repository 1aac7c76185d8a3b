//! Service configuration: every option is a flag with a `LAUNCHPLANE_*`
//! environment twin, and a missing required value fails closed naming both.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A required value is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing configuration: pass {flag} or set {env}")]
    Missing {
        flag: &'static str,
        env: &'static str,
    },
    #[error("invalid {flag} / {env}: {reason}")]
    Invalid {
        flag: &'static str,
        env: &'static str,
        reason: String,
    },
}

/// Unwraps an optional flag value or names the flag and its variable.
pub fn required<T>(
    value: Option<T>,
    flag: &'static str,
    env: &'static str,
) -> Result<T, ConfigError> {
    value.ok_or(ConfigError::Missing { flag, env })
}

/// Everything `launchplane serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    pub registry: PathBuf,
    pub database_url: String,
    pub cache_dir: Option<PathBuf>,
    pub body_limit: usize,
    pub oidc: OidcSettings,
    /// Run the async operation worker in this process.
    pub worker: bool,
    /// How long a SIGTERM drains in-flight requests before the host
    /// releases what it holds and exits.
    pub shutdown_timeout: std::time::Duration,
    pub provider: ProviderChoice,
    /// Threads and priority of guest execution.
    pub guests: crate::runtime::GuestPoolConfig,
    /// The background sweep of expired idempotency keys and old denial
    /// audit rows.
    pub retention: crate::ops::maintenance::Retention,
}

/// Which runtime provider drivers reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderChoice {
    /// `LAUNCHPLANE_PROVIDER` (`dokploy` | `simulated` | unset = none).
    FromEnv,
    /// The in-process simulated provider with lanes created on first use
    /// (the dev instance).
    Simulated,
}

/// Token verification settings (validated by `auth::OidcConfig`).
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: Option<String>,
}
