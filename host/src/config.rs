//! Service configuration: every option is a flag with a `LAUNCHPLANE_*`
//! environment twin, and a missing required value fails closed naming both.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Several problems, reported together so one start names them all.
    #[error("{}", list(.0))]
    Several(Vec<ConfigError>),
}

fn list(errors: &[ConfigError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  - {e}")).collect();
    format!(
        "{} configuration problems:\n{}",
        errors.len(),
        lines.join("\n")
    )
}

impl ConfigError {
    /// `Ok(())` when `errors` is empty, the one error alone, else
    /// [`ConfigError::Several`].
    pub fn collect(mut errors: Vec<ConfigError>) -> Result<(), ConfigError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(ConfigError::Several(errors)),
        }
    }
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
    /// How long a reservation or lane lease outlives its host's last
    /// renewal (`--lease-seconds`).
    pub lease: std::time::Duration,
    pub provider: ProviderChoice,
    /// Threads and priority of guest execution.
    pub guests: crate::runtime::GuestPoolConfig,
    /// The background sweep of expired idempotency keys and old denial
    /// audit rows.
    pub retention: crate::ops::maintenance::Retention,
    /// Timeouts, the connection cap and per-client refusal limits.
    pub front_door: FrontDoorSettings,
    /// Where `GET /metrics` is served instead of the service address
    /// (`None`: on the service address).
    pub metrics_bind: Option<SocketAddr>,
}

/// The front door: how long a client may take, how many connections are
/// held, and how many refused requests one client may make.
/// `docs/operating.md` ("Front door limits") lists the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontDoorSettings {
    /// From a connection's first byte (or its opening) to the end of a
    /// request's headers.
    pub header_timeout: Duration,
    /// From a request's headers to the end of its body.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may sit idle between requests.
    pub keep_alive_timeout: Duration,
    /// Connections held at once; past it, the oldest idle connection is
    /// closed for a new one.
    pub max_connections: usize,
    /// 401/403 answers one client may draw per window before it is
    /// answered 429 (0: no limit).
    pub denied_limit: u32,
    /// The window `denied_limit` refills over.
    pub denied_window: Duration,
}

impl FrontDoorSettings {
    /// 10 s to send the headers.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// 30 s to send the body.
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// 60 s idle between requests on one connection.
    pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);
    /// 30 refused requests per client and window.
    pub const DEFAULT_DENIED_LIMIT: u32 = crate::ops::throttle::DEFAULT_DENIED_LIMIT;
    /// A 60 s window.
    pub const DEFAULT_DENIED_WINDOW: Duration = crate::ops::throttle::DEFAULT_DENIED_WINDOW;
}

impl Default for FrontDoorSettings {
    /// The defaults, with the connection cap derived from this process's
    /// open-file limit ([`connection_cap`]).
    fn default() -> Self {
        FrontDoorSettings {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            keep_alive_timeout: Self::DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: connection_cap(open_file_limit()),
            denied_limit: Self::DEFAULT_DENIED_LIMIT,
            denied_window: Self::DEFAULT_DENIED_WINDOW,
        }
    }
}

/// The open-file limit assumed where it cannot be read.
const FALLBACK_OPEN_FILES: u64 = 1024;

/// This process's soft open-file limit (`RLIMIT_NOFILE`), read from
/// `/proc/self/limits`; 1,024 where that cannot be read.
pub fn open_file_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
        .unwrap_or(FALLBACK_OPEN_FILES)
}

/// The default connection cap for an open-file limit of `nofile`: a
/// quarter of the descriptors (at least 64) stay free for the database
/// pool, outbound HTTP, component files and logs, so a flood of sockets
/// never leaves the process unable to open one (1,024 gives 768).
pub fn connection_cap(nofile: u64) -> usize {
    let headroom = (nofile / 4).max(64);
    usize::try_from(nofile.saturating_sub(headroom).max(1)).unwrap_or(usize::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_stays_below_the_open_file_limit() {
        assert_eq!(connection_cap(1024), 768);
        assert_eq!(connection_cap(256), 192);
        assert_eq!(connection_cap(100), 36);
        assert_eq!(connection_cap(10), 1);
        assert_eq!(connection_cap(1 << 20), 786_432);
        for nofile in [64u64, 1024, 4096, 65_536] {
            assert!((connection_cap(nofile) as u64) < nofile);
        }
        // This process's limit is readable and the default cap below it.
        let nofile = open_file_limit();
        assert!((FrontDoorSettings::default().max_connections as u64) < nofile.max(2));
    }
}
