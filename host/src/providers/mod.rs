//! Deployment providers behind one provider-neutral trait.
//!
//! [`DeployProvider`] is what the host (never a driver directly) calls to
//! move a lane: resolve its target, read and rewrite its environment, point
//! it at an image, deploy and wait, run one-off jobs, and manage preview
//! applications. Two implementations:
//!
//! * [`dokploy::DokployProvider`] speaks Dokploy's HTTP API exactly as the
//!   original did (reference §9);
//! * [`simulated::SimulatedProvider`] keeps everything in memory, for the
//!   quickstart and for driver tests.
//!
//! Targets are neutral `provider_target` records ([`targets`]), keyed by
//! provider id and lane. Drivers reach a provider only through
//! [`crate::runtime::capabilities::ProviderCapability`], which maps these calls to the
//! WIT `provider` interface and never exposes environment values.
//!
//! # Configuration
//!
//! [`provider_from_env`] reads:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `LAUNCHPLANE_PROVIDER` | `dokploy`, `simulated`, or unset/empty (no provider: driver provider calls answer `unavailable`) |
//! | `LAUNCHPLANE_DOKPLOY_POLL_MS` | milliseconds between polls of a running Dokploy deployment (default 3000) |
//! | `LAUNCHPLANE_SIMULATED_AUTO_TARGETS` | `true`/`1`: the simulated provider creates a target for any lane on first use (dev instance); default off |
//!
//! Dokploy's URL and API key are not configuration: they are the global
//! `dokploy` managed secrets `DOKPLOY_HOST` and `DOKPLOY_TOKEN`
//! ([`dokploy::credentials`]), so `dokploy` needs the master key
//! (`LAUNCHPLANE_MASTER_ENCRYPTION_KEY`). Variables that look like Dokploy
//! credentials are ignored, with a warning at start.

pub mod dokploy;
pub mod env_text;
pub mod identity;
pub mod live_env;
pub mod redact;
pub mod simulated;
pub mod targets;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use dokploy::{DokployConfig, DokployProvider};
pub use identity::{IdentityStatus, RuntimeIdentity};
pub use simulated::{SimFailure, SimOp, SimulatedProvider};
pub use targets::{ProviderTarget, ProviderTargetInput, ProviderTargets, TargetType};

use crate::records::Lane;
use crate::records::Store;
use crate::secrets::{MASTER_KEY_ENV, Vault};

/// `LAUNCHPLANE_PROVIDER`.
pub const PROVIDER_ENV: &str = "LAUNCHPLANE_PROVIDER";
/// Variables that once carried, or look like they carry, Dokploy
/// credentials. None is read; each set one is named in a warning at start.
pub const IGNORED_DOKPLOY_ENV: [&str; 5] = [
    "LAUNCHPLANE_DOKPLOY_HOST",
    "LAUNCHPLANE_DOKPLOY_TOKEN_FILE",
    "DOKPLOY_HOST",
    "DOKPLOY_TOKEN",
    "DOKPLOY_API_KEY",
];
/// `LAUNCHPLANE_DOKPLOY_POLL_MS`: milliseconds between polls of a
/// running Dokploy deployment (default 3,000; at least 10).
pub const DOKPLOY_POLL_ENV: &str = "LAUNCHPLANE_DOKPLOY_POLL_MS";
/// `LAUNCHPLANE_SIMULATED_AUTO_TARGETS`.
pub const SIMULATED_AUTO_TARGETS_ENV: &str = "LAUNCHPLANE_SIMULATED_AUTO_TARGETS";

/// Deploy timeout when neither the call nor the target sets one (§9).
pub const DEFAULT_DEPLOY_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a provider call failed. Messages never contain credentials: provider
/// answers are redacted and truncated before they are quoted
/// ([`redact::provider_detail`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The lane has no target, or the provider does not know the id.
    #[error("{0}")]
    NotFound(String),
    /// The provider refused Launchplane's credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The provider answered with an error, could not be reached, or did not
    /// retain a change. `status` is the HTTP status when there was one.
    #[error("{message}")]
    Failed {
        status: Option<u16>,
        message: String,
    },
    /// The provider did not reach a final state in time.
    #[error("{0}")]
    Timeout(String),
    /// The provider (or a target record) is not configured usably.
    #[error("{0}")]
    Config(String),
    /// The caller asked for something the provider cannot express (a key
    /// with `=`, a value with a line break, a non-stable lane, …).
    #[error("{0}")]
    Invalid(String),
}

impl ProviderError {
    pub fn failed(message: impl Into<String>) -> ProviderError {
        ProviderError::Failed {
            status: None,
            message: message.into(),
        }
    }
}

/// `pass` or `fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployStatus {
    Pass,
    Fail,
}

impl DeployStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeployStatus::Pass => "pass",
            DeployStatus::Fail => "fail",
        }
    }
}

/// How a deploy (trigger + wait) ended. A timeout is an error
/// ([`ProviderError::Timeout`]), not an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOutcome {
    pub status: DeployStatus,
    /// `deployment=<id> status=<provider status>` (or the failure message).
    pub detail: String,
    pub started_at: String,
    pub finished_at: String,
    /// The provider's id of the deployment observed, when there was one.
    pub deployment_id: String,
}

/// How a one-off job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub status: DeployStatus,
    /// The process exit code, when the provider reports one (Dokploy does
    /// not).
    pub exit_code: Option<i32>,
    pub detail: String,
}

/// A preview application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewApp {
    pub name: String,
    pub domains: Vec<String>,
    pub image_reference: String,
    /// The provider's id of the application.
    pub provider_app_id: String,
}

/// A deployment provider in provider-neutral words. Lanes are
/// `(context, instance)` pairs with a `provider_target` record; previews are
/// named applications created from the preview context's template lane (the
/// product profile's `preview.template_instance`, default `testing`).
#[async_trait]
pub trait DeployProvider: Send + Sync {
    /// `dokploy` or `simulated`: the `provider_id` of the targets it uses.
    fn provider_id(&self) -> &'static str;

    /// The lane's target; a lane without one is [`ProviderError::NotFound`]
    /// naming the lane.
    async fn resolve_target(&self, lane: &Lane) -> Result<ProviderTarget, ProviderError>;

    /// Names of the environment keys set on the lane's target, in order.
    async fn env_keys(&self, lane: &Lane) -> Result<Vec<String>, ProviderError>;

    /// The lane's environment with values. Host-internal: never exposed to
    /// drivers.
    async fn read_env(&self, lane: &Lane) -> Result<BTreeMap<String, String>, ProviderError>;

    /// Sets and unsets keys, preserving unrelated keys and their order;
    /// verified by re-reading.
    async fn update_env(
        &self,
        lane: &Lane,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), ProviderError>;

    /// Points the lane at an immutable image reference.
    async fn set_image(&self, lane: &Lane, image_reference: &str) -> Result<(), ProviderError>;

    /// Triggers a deploy and waits for its outcome. `None` uses the target's
    /// `deploy_timeout_seconds`, else [`DEFAULT_DEPLOY_TIMEOUT`].
    async fn deploy(
        &self,
        lane: &Lane,
        timeout: Option<Duration>,
    ) -> Result<DeployOutcome, ProviderError>;

    /// Runs a one-off command on the lane's runtime as job `name` (see
    /// [`check_job_name`]; one job per name and lane) and waits for it.
    async fn run_job(
        &self,
        lane: &Lane,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError>;

    /// Domains the provider routes to the lane's target.
    async fn list_domains(&self, lane: &Lane) -> Result<Vec<String>, ProviderError>;

    /// Preview applications whose name starts with `name_prefix` (literally;
    /// pass `<prefix>-` to match the original's inventory).
    async fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, ProviderError>;

    /// Creates (or refreshes) a preview application from the template lane
    /// of the preview `context`, with `image_reference`, `domains` and
    /// `env`, and deploys it.
    async fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, ProviderError>;

    /// Runs job `name` (as [`DeployProvider::run_job`]) on preview
    /// application `app_name` of the preview `context`; `NotFound` when
    /// there is no such preview application.
    async fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError>;

    /// Deletes a preview application and its domains; an absent one is
    /// already deleted.
    async fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), ProviderError>;
}

/// `LAUNCHPLANE_PROVIDER` → the configured provider, or `None` when unset.
/// See the module docs for the variables; `vault` holds the Dokploy
/// credentials.
pub fn provider_from_env(
    store: &Store,
    vault: &Vault,
) -> Result<Option<Arc<dyn DeployProvider>>, ProviderError> {
    provider_from_lookup(store, vault, |name| std::env::var(name).ok())
}

/// [`provider_from_env`] over any variable lookup (tests pass a map).
pub fn provider_from_lookup(
    store: &Store,
    vault: &Vault,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Arc<dyn DeployProvider>>, ProviderError> {
    let kind = lookup(PROVIDER_ENV).unwrap_or_default();
    match kind.trim() {
        "" => Ok(None),
        "dokploy" => {
            for name in IGNORED_DOKPLOY_ENV {
                if lookup(name).is_some_and(|v| !v.trim().is_empty()) {
                    tracing::warn!(
                        variable = name,
                        "ignored: Dokploy credentials come only from the global `dokploy` \
                         managed secrets DOKPLOY_HOST and DOKPLOY_TOKEN"
                    );
                }
            }
            if !vault.is_configured() {
                return Err(ProviderError::Config(format!(
                    "{PROVIDER_ENV}=dokploy reads the Dokploy URL and API key from managed \
                     secrets, which need {MASTER_KEY_ENV}"
                )));
            }
            let mut config = DokployConfig::managed(vault.clone());
            if let Some(text) = lookup(DOKPLOY_POLL_ENV).filter(|v| !v.trim().is_empty()) {
                let millis = text
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| (10..=600_000).contains(ms))
                    .ok_or_else(|| {
                        ProviderError::Config(format!(
                            "{DOKPLOY_POLL_ENV} must be a number of milliseconds from 10 to 600000"
                        ))
                    })?;
                config = config.with_poll_interval(Duration::from_millis(millis));
            }
            Ok(Some(Arc::new(DokployProvider::new(config, store.clone())?)))
        }
        "simulated" => {
            let auto = lookup(SIMULATED_AUTO_TARGETS_ENV)
                .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
                .unwrap_or(false);
            Ok(Some(Arc::new(
                SimulatedProvider::new(store.clone()).auto_targets(auto),
            )))
        }
        other => Err(ProviderError::Config(format!(
            "{PROVIDER_ENV} must be `dokploy`, `simulated` or unset (got `{other}`)"
        ))),
    }
}

/// The timeout a deploy waits for: the call's, else the target's, else the
/// default.
pub fn effective_deploy_timeout(timeout: Option<Duration>, target: &ProviderTarget) -> Duration {
    timeout
        .filter(|t| !t.is_zero())
        .or_else(|| {
            target
                .deploy_timeout_seconds
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(u64::from(s)))
        })
        .unwrap_or(DEFAULT_DEPLOY_TIMEOUT)
}

/// A lane as `context/instance`, for messages.
pub fn lane_label(lane: &Lane) -> String {
    format!("{}/{}", lane.context, lane.instance)
}

/// A job name: 1-63 lower-case letters, digits or `-`, starting with a
/// letter or digit. Providers name their job resources after it (Dokploy:
/// the schedule's name), so it is checked before any provider call.
pub fn check_job_name(name: &str) -> Result<(), ProviderError> {
    let valid = (1..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(ProviderError::Invalid(format!(
            "job name `{name}` must be 1-63 lower-case letters, digits or `-`, not starting with `-`"
        )))
    }
}

/// A command as one POSIX shell line (each argument single-quoted when it
/// needs to be).
pub fn shell_join(command: &[String]) -> String {
    command
        .iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, '-' | '_' | '.' | '/' | '=' | ':' | ',' | '@' | '+')
                });
            if plain {
                arg.clone()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_for_the_shell() {
        let command: Vec<String> = ["npx", "prisma", "migrate deploy", "it's", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_join(&command),
            r"npx prisma 'migrate deploy' 'it'\''s' ''"
        );
    }

    #[tokio::test]
    async fn provider_selection_reads_the_documented_variables() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("p.sqlite").display());
        let store = Store::open(&url).await.expect("store");
        let keyless = Vault::new(store.clone(), None);
        let none = provider_from_lookup(&store, &keyless, |_| None).expect("unset");
        assert!(none.is_none());
        let simulated = provider_from_lookup(&store, &keyless, |name| {
            (name == PROVIDER_ENV).then(|| "simulated".to_string())
        })
        .expect("simulated")
        .expect("some");
        assert_eq!(simulated.provider_id(), "simulated");
        // Dokploy credentials are managed secrets: without the master key
        // there is no way to read them, whatever the environment says.
        let error = provider_from_lookup(&store, &keyless, |name| match name {
            PROVIDER_ENV => Some("dokploy".to_string()),
            _ => Some("https://dokploy.example".to_string()),
        })
        .err()
        .expect("no master key");
        let message = error.to_string();
        assert!(message.contains(MASTER_KEY_ENV), "{message}");
        let key = crate::secrets::MasterKey::from_text("k").map(Arc::new);
        let dokploy = provider_from_lookup(&store, &Vault::new(store.clone(), key), |name| {
            (name == PROVIDER_ENV).then(|| "dokploy".to_string())
        })
        .expect("dokploy")
        .expect("some");
        assert_eq!(dokploy.provider_id(), "dokploy");
        let error = provider_from_lookup(&store, &keyless, |name| {
            (name == PROVIDER_ENV).then(|| "heroku".to_string())
        })
        .err()
        .expect("unknown");
        assert!(matches!(error, ProviderError::Config(_)));
    }
}
