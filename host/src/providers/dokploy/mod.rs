//! The Dokploy adapter: Dokploy's HTTP API exactly as the original used it
//! (reference §9).
//!
//! Every call is `<host without trailing slash><path>` with header
//! `x-api-key`, a JSON body when there is one, and the configured HTTP
//! timeout (60 s by default). An HTTP error becomes
//! `Dokploy API <METHOD> <path> failed (<status>): <body>` with the body
//! redacted (secret-shaped keys, bearer tokens, database URL passwords and
//! the API key itself) and cut to 2,000 characters; a transport error
//! becomes `Dokploy API <METHOD> <path> request failed: <reason>`. An empty
//! body reads as `{}`, a non-JSON body as `{"raw": text}`. Redirects are
//! never followed (the API key must not travel to another host). The URL
//! and key come from [`credentials`]: in service, the global `dokploy`
//! managed secrets, read on every call.
//!
//! | operation | calls |
//! | --- | --- |
//! | read target / env | GET `/api/compose.one?composeId=` / `/api/application.one?applicationId=` |
//! | write env | POST `/api/compose.update {composeId, env}` / `/api/application.saveEnvironment {applicationId, env, createEnvFile, buildArgs, buildSecrets}`, then re-read to verify |
//! | set image | application: POST `/api/application.saveDockerProvider {applicationId, dockerImage, username, password, registryUrl}` (registry fields copied from the app); compose: env `DOCKER_IMAGE_REFERENCE` |
//! | deploy | newest deployment key before → POST `/api/{compose,application}.deploy` → poll the newest deployment (compose: `compose.one` `deployments[]`; application: GET `/api/deployment.all`) every `poll_interval` |
//! | job | `schedule.list` / `schedule.create` / `schedule.update` / `schedule.runManually`, waited through `deployment.allByType?type=schedule` |
//! | previews | `project.all`, `application.create`, `application.update`, `application.saveBuildType`, `saveDockerProvider`, `saveEnvironment`, `domain.*`, `application.deploy`, `application.delete` |
//!
//! Polling counts only a deployment whose key (`deploymentId`,
//! `deployment_id`, `id`, `uuid`) differs from the newest key before the
//! trigger. Its status (`status`, `state`, `deploymentStatus`, lower-cased)
//! passes in {success, succeeded, done, completed, healthy, finished},
//! fails in {failed, error, canceled, cancelled, killed, unhealthy,
//! timeout}, counts as done when empty (`status=unknown`), and otherwise
//! keeps the wait going until the timeout ("Timed out waiting for Dokploy
//! deployment status.").
//!
//! ## Where to start
//!
//! This file holds the configuration ([`DokployConfig`]), the provider
//! ([`DokployProvider`]) and its [`DeployProvider`] implementation: one
//! call per operation into the file that does the work.
//!
//! - `client`: one API call, its errors, and reading answers.
//! - `env`: reading and writing a target's environment.
//! - `deploy`: setting the image, triggering a deploy, polling deployments.
//! - `schedules`: jobs, run as manual-only schedules.
//! - `apps`: the applications `project.all` lists.
//! - `domains`: the domains of a target or an application.
//! - `previews`: preview applications (list, create or refresh, run a job
//!   on, delete).
//! - [`credentials`]: where the URL and API key come from.

mod apps;
mod client;
pub mod credentials;
mod deploy;
mod domains;
mod env;
mod previews;
mod schedules;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::targets::{ProviderTarget, ProviderTargets};
use super::{DeployOutcome, DeployProvider, JobOutcome, PreviewApp, ProviderError};
use crate::records::Lane;
use crate::records::Store;
use crate::secrets::Vault;

pub use credentials::{DokployCredentials, DokployEndpoint, DokployToken};
pub use deploy::{deployment_key, deployment_status, latest_deployment};

/// The provider id of Dokploy targets.
pub const PROVIDER_ID: &str = "dokploy";

/// Statuses of a finished, successful deployment.
pub const SUCCESS_STATUSES: [&str; 6] = [
    "success",
    "succeeded",
    "done",
    "completed",
    "healthy",
    "finished",
];

/// Statuses of a finished, failed deployment.
pub const FAILURE_STATUSES: [&str; 7] = [
    "failed",
    "error",
    "canceled",
    "cancelled",
    "killed",
    "unhealthy",
    "timeout",
];

/// The original's poll period.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(3);
/// The original's per-request timeout.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a preview deploy is waited for (the refresh default).
pub const PREVIEW_DEPLOY_TIMEOUT: Duration = Duration::from_secs(300);
/// Cron expression of a schedule that only runs when triggered (31 Feb).
pub const MANUAL_ONLY_CRON: &str = "0 0 31 2 *";
/// The env key holding a compose target's image.
pub const COMPOSE_IMAGE_ENV_KEY: &str = "DOCKER_IMAGE_REFERENCE";

/// How to reach Dokploy: where the endpoint comes from, and the timings.
#[derive(Clone, Debug)]
pub struct DokployConfig {
    /// Where the URL and API key come from.
    pub credentials: DokployCredentials,
    /// Deployment status poll period (3 s in production).
    pub poll_interval: Duration,
    /// Per-request timeout (60 s).
    pub http_timeout: Duration,
}

impl DokployConfig {
    /// A fixed endpoint with the production poll interval and HTTP timeout.
    pub fn new(host: &str, token: DokployToken) -> Result<DokployConfig, ProviderError> {
        Ok(DokployConfig::with_credentials(DokployCredentials::Fixed(
            DokployEndpoint::new(host, token)?,
        )))
    }

    /// The service's configuration: the endpoint from the global `dokploy`
    /// managed secrets, read on every call ([`credentials`]).
    pub fn managed(vault: Vault) -> DokployConfig {
        DokployConfig::with_credentials(DokployCredentials::ManagedSecrets(vault))
    }

    fn with_credentials(credentials: DokployCredentials) -> DokployConfig {
        DokployConfig {
            credentials,
            poll_interval: DEFAULT_POLL_INTERVAL,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
        }
    }

    /// The same configuration with another deployment status poll period.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The same configuration with another per-request timeout.
    pub fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }
}

/// The Dokploy provider.
#[derive(Clone)]
pub struct DokployProvider {
    config: DokployConfig,
    client: reqwest::Client,
    targets: ProviderTargets,
}

impl fmt::Debug for DokployProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DokployProvider")
            .field("config", &self.config)
            .finish()
    }
}

impl DokployProvider {
    /// A provider calling Dokploy as `config` says, with the targets of
    /// `store`.
    pub fn new(config: DokployConfig, store: Store) -> Result<DokployProvider, ProviderError> {
        let client = crate::tls::client_builder()
            .timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                ProviderError::Config(format!("cannot build the Dokploy HTTP client: {e}"))
            })?;
        Ok(DokployProvider {
            config,
            client,
            targets: ProviderTargets::new(store),
        })
    }

    /// How this provider reaches Dokploy.
    pub fn config(&self) -> &DokployConfig {
        &self.config
    }
}

#[async_trait]
impl DeployProvider for DokployProvider {
    fn provider_id(&self) -> &'static str {
        PROVIDER_ID
    }

    async fn resolve_target(&self, lane: &Lane) -> Result<ProviderTarget, ProviderError> {
        self.targets.require(PROVIDER_ID, lane).await
    }

    async fn env_keys(&self, lane: &Lane) -> Result<Vec<String>, ProviderError> {
        self.target_env_keys(lane).await
    }

    async fn read_env(&self, lane: &Lane) -> Result<BTreeMap<String, String>, ProviderError> {
        self.target_env(lane).await
    }

    async fn update_env(
        &self,
        lane: &Lane,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), ProviderError> {
        self.update_target_env(lane, set, unset).await
    }

    async fn set_image(&self, lane: &Lane, image_reference: &str) -> Result<(), ProviderError> {
        self.set_target_image(lane, image_reference).await
    }

    async fn deploy(
        &self,
        lane: &Lane,
        timeout: Option<Duration>,
    ) -> Result<DeployOutcome, ProviderError> {
        self.deploy_lane(lane, timeout).await
    }

    async fn run_job(
        &self,
        lane: &Lane,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError> {
        self.run_lane_job(lane, name, command, timeout).await
    }

    async fn list_domains(&self, lane: &Lane) -> Result<Vec<String>, ProviderError> {
        self.lane_domains(lane).await
    }

    async fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, ProviderError> {
        self.preview_apps(context, name_prefix).await
    }

    async fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, ProviderError> {
        self.create_preview(context, name, image_reference, domains, env)
            .await
    }

    async fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError> {
        self.run_job_on_preview(context, app_name, name, command, timeout)
            .await
    }

    async fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), ProviderError> {
        self.delete_preview(context, name).await
    }
}
