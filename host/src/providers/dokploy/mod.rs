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

pub mod credentials;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Map, Value, json};

use super::env_text::{self, EnvEntries};
use super::redact::provider_detail;
use super::targets::{ProviderTarget, ProviderTargets, TargetType, preview_template};
use super::{
    DeployOutcome, DeployProvider, DeployStatus, JobOutcome, PreviewApp, ProviderError,
    check_job_name, effective_deploy_timeout, lane_label, shell_join,
};
use crate::records::Lane;
use crate::records::Store;
use crate::secrets::Vault;

pub use credentials::{DokployCredentials, DokployEndpoint, DokployToken};

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

    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

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

/// Where a deployment list comes from.
enum DeploymentSource<'a> {
    Target(&'a ProviderTarget),
    Schedule(&'a str),
}

/// A Dokploy application as `project.all` lists it.
#[derive(Debug, Clone)]
struct ListedApp {
    application_id: String,
    name: String,
    app_name: String,
    environment_id: String,
    docker_image: String,
    domains: Option<Vec<String>>,
}

fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Python truthiness rendered as `str(value)`.
fn truthy_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.as_f64() != Some(0.0) => Some(n.to_string()),
        Value::Bool(true) => Some("True".to_string()),
        Value::Array(a) if !a.is_empty() => Some(Value::Array(a.clone()).to_string()),
        Value::Object(o) if !o.is_empty() => Some(Value::Object(o.clone()).to_string()),
        _ => None,
    }
}

/// `deploymentId | deployment_id | id | uuid`.
pub fn deployment_key(deployment: &Value) -> String {
    ["deploymentId", "deployment_id", "id", "uuid"]
        .iter()
        .find_map(|k| truthy_text(deployment.get(*k)))
        .unwrap_or_default()
}

/// `status | state | deploymentStatus`, trimmed and lower-cased.
pub fn deployment_status(deployment: &Value) -> String {
    ["status", "state", "deploymentStatus"]
        .iter()
        .find_map(|k| truthy_text(deployment.get(*k)))
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default()
}

fn deployment_sort_key(deployment: &Value) -> String {
    ["createdAt", "created_at", "updatedAt", "updated_at"]
        .iter()
        .find_map(|k| truthy_text(deployment.get(*k)))
        .unwrap_or_else(|| deployment_key(deployment))
}

/// The newest deployment (max sort key; the first of equals, as Python's
/// `max`).
pub fn latest_deployment(deployments: &[Value]) -> Option<&Value> {
    let mut best: Option<(&Value, String)> = None;
    for deployment in deployments {
        let key = deployment_sort_key(deployment);
        if best.as_ref().is_none_or(|(_, k)| key > *k) {
            best = Some((deployment, key));
        }
    }
    best.map(|(d, _)| d)
}

/// Object items of a list payload, or of its `data`/`<name>`/`items`/
/// `result` list.
fn extract_list(payload: &Value, name: &str) -> Vec<Value> {
    let items = match payload {
        Value::Array(items) => Some(items),
        Value::Object(map) => ["data", name, "items", "result"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_array)),
        _ => None,
    };
    items
        .map(|items| items.iter().filter(|i| i.is_object()).cloned().collect())
        .unwrap_or_default()
}

/// How a wait for a deployment ended.
struct Waited {
    status: DeployStatus,
    detail: String,
    key: String,
}

fn valid_preview_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A domain as a bare host (`host[:port]`): scheme, path and trailing `/`
/// dropped, lower-cased.
fn domain_host(domain: &str) -> String {
    let domain = domain.trim();
    let without_scheme = domain.split_once("://").map(|(_, r)| r).unwrap_or(domain);
    without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

impl DokployProvider {
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

    pub fn config(&self) -> &DokployConfig {
        &self.config
    }

    /// Provider text fit to quote: redacted, with the API key itself
    /// removed as well.
    fn detail(endpoint: &DokployEndpoint, text: &str) -> String {
        provider_detail(text, &[endpoint.token().expose()])
    }

    /// One API call (see the module docs for the shape of answers and
    /// errors).
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, ProviderError> {
        let endpoint = self.config.credentials.endpoint().await?;
        let url = format!("{}{}", endpoint.host(), path);
        let mut key = HeaderValue::from_str(endpoint.token().expose()).map_err(|_| {
            ProviderError::Config("the Dokploy API key is not a valid header value".into())
        })?;
        key.set_sensitive(true);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header("x-api-key", key);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Err(self.transport_error(&endpoint, &method, path, &error, timeout));
            }
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                return Err(self.transport_error(&endpoint, &method, path, &error, timeout));
            }
        };
        let raw = String::from_utf8_lossy(&bytes);
        if status >= 400 {
            let message = format!(
                "Dokploy API {method} {path} failed ({status}): {}",
                Self::detail(&endpoint, &raw)
            );
            return Err(match status {
                401 | 403 => ProviderError::Unauthorized(message),
                404 => ProviderError::NotFound(message),
                _ => ProviderError::Failed {
                    status: Some(status),
                    message,
                },
            });
        }
        if bytes.is_empty() {
            return Ok(json!({}));
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({"raw": raw})))
    }

    fn transport_error(
        &self,
        endpoint: &DokployEndpoint,
        method: &Method,
        path: &str,
        error: &reqwest::Error,
        timeout: Option<Duration>,
    ) -> ProviderError {
        if error.is_timeout() {
            let limit = timeout.unwrap_or(self.config.http_timeout);
            return ProviderError::Timeout(format!(
                "Dokploy API {method} {path} request timed out after {} ms",
                limit.as_millis()
            ));
        }
        let mut reason = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(e) = source {
            let text = e.to_string();
            if !reason.contains(&text) {
                if !reason.is_empty() {
                    reason.push_str(": ");
                }
                reason.push_str(&text);
            }
            source = e.source();
        }
        ProviderError::failed(format!(
            "Dokploy API {method} {path} request failed: {}",
            Self::detail(endpoint, &reason)
        ))
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ProviderError> {
        self.call(Method::GET, path, query, None, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, ProviderError> {
        self.call(Method::POST, path, &[], Some(&body), None).await
    }

    /// `compose.one` / `application.one` as an object.
    async fn target_payload(&self, target: &ProviderTarget) -> Result<Value, ProviderError> {
        let payload = match target.target_type {
            TargetType::Compose => {
                self.get("/api/compose.one", &[("composeId", &target.target_id)])
                    .await?
            }
            TargetType::Application => {
                self.get(
                    "/api/application.one",
                    &[("applicationId", &target.target_id)],
                )
                .await?
            }
        };
        if !payload.is_object() {
            return Err(ProviderError::failed(format!(
                "Dokploy {}.one returned an invalid response payload.",
                target.target_type.as_str()
            )));
        }
        Ok(payload)
    }

    async fn application_payload(&self, application_id: &str) -> Result<Value, ProviderError> {
        let payload = self
            .get("/api/application.one", &[("applicationId", application_id)])
            .await?;
        if !payload.is_object() {
            return Err(ProviderError::failed(
                "Dokploy application.one returned an invalid response payload.",
            ));
        }
        Ok(payload)
    }

    async fn deployments(
        &self,
        source: &DeploymentSource<'_>,
    ) -> Result<Vec<Value>, ProviderError> {
        match source {
            DeploymentSource::Target(target) => match target.target_type {
                TargetType::Compose => {
                    let payload = self
                        .get("/api/compose.one", &[("composeId", &target.target_id)])
                        .await?;
                    Ok(payload
                        .get("deployments")
                        .and_then(Value::as_array)
                        .map(|items| items.iter().filter(|i| i.is_object()).cloned().collect())
                        .unwrap_or_default())
                }
                TargetType::Application => {
                    let payload = self
                        .get(
                            "/api/deployment.all",
                            &[("applicationId", &target.target_id)],
                        )
                        .await?;
                    Ok(extract_list(&payload, "deployments"))
                }
            },
            DeploymentSource::Schedule(schedule_id) => {
                let payload = self
                    .get(
                        "/api/deployment.allByType",
                        &[("id", schedule_id), ("type", "schedule")],
                    )
                    .await?;
                Ok(extract_list(&payload, "deployments"))
            }
        }
    }

    async fn latest_key(&self, source: &DeploymentSource<'_>) -> Result<String, ProviderError> {
        let deployments = self.deployments(source).await?;
        Ok(latest_deployment(&deployments)
            .map(deployment_key)
            .unwrap_or_default())
    }

    /// Polls the newest deployment until it is new and final, or the
    /// timeout passes.
    async fn wait_for_deployment(
        &self,
        source: &DeploymentSource<'_>,
        before_key: &str,
        timeout: Duration,
        failure_prefix: &str,
    ) -> Result<Waited, ProviderError> {
        let start = Instant::now();
        while start.elapsed() <= timeout {
            let deployments = self.deployments(source).await?;
            if let Some(latest) = latest_deployment(&deployments) {
                let key = deployment_key(latest);
                let status = deployment_status(latest);
                if !key.is_empty() && key != before_key {
                    if SUCCESS_STATUSES.contains(&status.as_str()) {
                        return Ok(Waited {
                            status: DeployStatus::Pass,
                            detail: format!("deployment={key} status={status}"),
                            key,
                        });
                    }
                    if FAILURE_STATUSES.contains(&status.as_str()) {
                        return Ok(Waited {
                            status: DeployStatus::Fail,
                            detail: format!("{failure_prefix}: deployment={key} status={status}"),
                            key,
                        });
                    }
                    if status.is_empty() {
                        return Ok(Waited {
                            status: DeployStatus::Pass,
                            detail: format!("deployment={key} status=unknown"),
                            key,
                        });
                    }
                }
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
        Err(ProviderError::Timeout(
            "Timed out waiting for Dokploy deployment status.".to_string(),
        ))
    }

    async fn trigger(&self, target_type: TargetType, target_id: &str) -> Result<(), ProviderError> {
        match target_type {
            TargetType::Compose => {
                self.post("/api/compose.deploy", json!({"composeId": target_id}))
                    .await?
            }
            TargetType::Application => {
                self.post(
                    "/api/application.deploy",
                    json!({"applicationId": target_id}),
                )
                .await?
            }
        };
        Ok(())
    }

    /// Deploys a target and waits (the original's artifact deploy after the
    /// image is set).
    async fn deploy_target(
        &self,
        target: &ProviderTarget,
        timeout: Duration,
    ) -> Result<DeployOutcome, ProviderError> {
        let started_at = crate::time::now_rfc3339();
        let source = DeploymentSource::Target(target);
        let before = self.latest_key(&source).await?;
        self.trigger(target.target_type, &target.target_id).await?;
        let prefix = match target.target_type {
            TargetType::Compose => "Dokploy compose deployment failed",
            TargetType::Application => "Dokploy deployment failed",
        };
        let Waited {
            status,
            detail,
            key,
        } = self
            .wait_for_deployment(&source, &before, timeout, prefix)
            .await?;
        Ok(DeployOutcome {
            status,
            detail,
            started_at,
            finished_at: crate::time::now_rfc3339(),
            deployment_id: key,
        })
    }

    fn env_of(payload: &Value) -> EnvEntries {
        env_text::parse(payload.get("env").and_then(Value::as_str).unwrap_or(""))
    }

    /// Writes env text the way the original's `update_dokploy_target_env`
    /// does.
    async fn write_env(
        &self,
        target_type: TargetType,
        target_id: &str,
        payload: &Value,
        env: &str,
    ) -> Result<(), ProviderError> {
        match target_type {
            TargetType::Compose => {
                self.post(
                    "/api/compose.update",
                    json!({"composeId": target_id, "env": env}),
                )
                .await?;
            }
            TargetType::Application => {
                self.post(
                    "/api/application.saveEnvironment",
                    json!({
                        "applicationId": target_id,
                        "env": env,
                        "createEnvFile": payload.get("createEnvFile").and_then(Value::as_bool).unwrap_or(true),
                        "buildArgs": payload.get("buildArgs").and_then(Value::as_str).unwrap_or(""),
                        "buildSecrets": payload.get("buildSecrets").and_then(Value::as_str).unwrap_or(""),
                    }),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Every application `project.all` lists (projects → environments →
    /// applications; also applications directly under a project).
    async fn listed_apps(&self) -> Result<Vec<ListedApp>, ProviderError> {
        let payload = self.get("/api/project.all", &[]).await?;
        let projects = extract_list(&payload, "projects");
        let mut apps: Vec<ListedApp> = Vec::new();
        let mut push = |app: &Value, environment_id: &str| {
            let application_id = text(app, "applicationId");
            if application_id.is_empty() || apps.iter().any(|a| a.application_id == application_id)
            {
                return;
            }
            let environment_id = match text(app, "environmentId") {
                id if !id.is_empty() => id,
                _ => environment_id.to_string(),
            };
            apps.push(ListedApp {
                application_id,
                name: text(app, "name"),
                app_name: text(app, "appName"),
                environment_id,
                docker_image: text(app, "dockerImage"),
                domains: app.get("domains").and_then(Value::as_array).map(|items| {
                    items
                        .iter()
                        .map(|d| text(d, "host"))
                        .filter(|h| !h.is_empty())
                        .collect()
                }),
            });
        };
        for project in &projects {
            for environment in project
                .get("environments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let environment_id = text(environment, "environmentId");
                for app in environment
                    .get("applications")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    push(app, &environment_id);
                }
            }
            for app in project
                .get("applications")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push(app, "");
            }
        }
        Ok(apps)
    }

    /// The template application of preview `context` and its environment.
    /// The preview application `name` (its name or Dokploy app name) of
    /// the preview `context`, in its template's environment (anywhere when
    /// the template names none).
    async fn existing_preview_app(
        &self,
        context: &str,
        name: &str,
    ) -> Result<Option<ListedApp>, ProviderError> {
        let (_, _, template_app) = self.preview_scope(context).await?;
        let environment_id = text(&template_app, "environmentId");
        Ok(self.listed_apps().await?.into_iter().find(|a| {
            (environment_id.is_empty() || a.environment_id == environment_id)
                && (a.name == name || a.app_name == name)
        }))
    }

    async fn preview_scope(
        &self,
        context: &str,
    ) -> Result<(super::targets::PreviewTemplate, ProviderTarget, Value), ProviderError> {
        let template = preview_template(self.targets.store(), context).await?;
        let target = self.targets.require(PROVIDER_ID, &template.lane).await?;
        if target.target_type != TargetType::Application {
            return Err(ProviderError::Config(format!(
                "preview template lane {} is a compose target; previews are created from an application template",
                lane_label(&template.lane)
            )));
        }
        let payload = self.application_payload(&target.target_id).await?;
        Ok((template, target, payload))
    }

    async fn domains_of_application(
        &self,
        application_id: &str,
    ) -> Result<Vec<Value>, ProviderError> {
        let payload = self
            .get(
                "/api/domain.byApplicationId",
                &[("applicationId", application_id)],
            )
            .await?;
        Ok(extract_list(&payload, "domains"))
    }

    fn preview_app(&self, app: &ListedApp, domains: Vec<String>) -> PreviewApp {
        PreviewApp {
            name: app.name.clone(),
            domains,
            image_reference: app.docker_image.clone(),
            provider_app_id: app.application_id.clone(),
        }
    }

    /// Configures an application (new or existing) as a preview of the
    /// template and deploys it. Returns the ids of domains it created.
    #[allow(clippy::too_many_arguments)]
    async fn configure_preview(
        &self,
        application_id: &str,
        description: &str,
        template: &super::targets::PreviewTemplate,
        template_app: &Value,
        image_reference: &str,
        hosts: &[String],
        env: &[(String, String)],
        created_domains: &mut Vec<String>,
    ) -> Result<(), ProviderError> {
        let field = |key: &str| template_app.get(key).cloned().unwrap_or(Value::Null);
        let endpoint = match template_app.get("endpointSpecSwarm") {
            Some(Value::Null) | None => json!({"Mode": "dnsrr"}),
            Some(value) => value.clone(),
        };
        let create_env_file = template_app
            .get("createEnvFile")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        self.post(
            "/api/application.update",
            json!({
                "applicationId": application_id,
                "description": description,
                "sourceType": "docker",
                "autoDeploy": true,
                "replicas": template_app.get("replicas").cloned().filter(|v| !v.is_null()).unwrap_or(json!(1)),
                "endpointSpecSwarm": endpoint,
                "createEnvFile": create_env_file,
                "triggerType": template_app.get("triggerType").cloned().filter(|v| !v.is_null()).unwrap_or(json!("push")),
                "enabled": template_app.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            }),
        )
        .await?;
        let mut build = Map::new();
        build.insert("applicationId".into(), json!(application_id));
        for key in [
            "buildType",
            "dockerfile",
            "dockerContextPath",
            "dockerBuildStage",
            "herokuVersion",
            "railpackVersion",
            "publishDirectory",
            "isStaticSpa",
        ] {
            build.insert(key.into(), field(key));
        }
        self.post("/api/application.saveBuildType", Value::Object(build))
            .await?;
        self.post(
            "/api/application.saveDockerProvider",
            json!({
                "applicationId": application_id,
                "dockerImage": image_reference,
                "username": field("username"),
                "password": field("password"),
                "registryUrl": field("registryUrl"),
            }),
        )
        .await?;
        let entries: EnvEntries = env.to_vec();
        self.post(
            "/api/application.saveEnvironment",
            json!({
                "applicationId": application_id,
                "env": env_text::render(&env_text::apply(&Vec::new(), &entries, &[])),
                "createEnvFile": create_env_file,
                "buildArgs": template_app.get("buildArgs").and_then(Value::as_str).unwrap_or(""),
                "buildSecrets": template_app.get("buildSecrets").and_then(Value::as_str).unwrap_or(""),
            }),
        )
        .await?;

        let existing = self.domains_of_application(application_id).await?;
        let mut stale: Vec<String> = Vec::new();
        for domain in &existing {
            let host = domain_host(&text(domain, "host"));
            if !hosts.contains(&host) {
                stale.push(text(domain, "domainId"));
            }
        }
        if !hosts.is_empty() && template.runtime_port == 0 {
            return Err(ProviderError::Config(
                "preview domains need the product profile's runtime_port".to_string(),
            ));
        }
        for host in hosts {
            let payload = json!({
                "host": host,
                "path": "/",
                "internalPath": "/",
                "port": template.runtime_port,
                "https": true,
                "applicationId": application_id,
                "certificateType": template.certificate_type,
                "customCertResolver": null,
                "composeId": null,
                "serviceName": null,
                "domainType": "application",
                "previewDeploymentId": null,
                "stripPath": false,
            });
            let same_host = existing
                .iter()
                .find(|d| domain_host(&text(d, "host")) == *host);
            match same_host {
                Some(domain) => {
                    let mut body = payload.clone();
                    body["domainId"] = json!(text(domain, "domainId"));
                    self.post("/api/domain.update", body).await?;
                }
                None => {
                    let created = self.post("/api/domain.create", payload).await?;
                    let id = text(&created, "domainId");
                    if id.is_empty() {
                        return Err(ProviderError::failed(format!(
                            "Dokploy domain create returned no domainId for {host}."
                        )));
                    }
                    created_domains.push(id);
                }
            }
        }

        let app_target = ProviderTarget {
            schema_version: 1,
            provider_id: PROVIDER_ID.to_string(),
            context: template.lane.context.clone(),
            instance: template.lane.instance.clone(),
            target_type: TargetType::Application,
            target_id: application_id.to_string(),
            target_name: String::new(),
            domains: Vec::new(),
            healthcheck_path: String::new(),
            deploy_timeout_seconds: None,
            updated_at: String::new(),
            source: String::new(),
        };
        let outcome = self
            .deploy_target(&app_target, PREVIEW_DEPLOY_TIMEOUT)
            .await?;
        if outcome.status == DeployStatus::Fail {
            return Err(ProviderError::failed(outcome.detail));
        }
        for domain_id in stale.iter().filter(|id| !id.is_empty()) {
            self.post("/api/domain.delete", json!({"domainId": domain_id}))
                .await?;
        }
        Ok(())
    }

    /// Runs a command through Launchplane's manual-only schedule on the
    /// target and waits for the schedule deployment.
    async fn run_schedule(
        &self,
        lane: &Lane,
        target: &ProviderTarget,
        name: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<JobOutcome, ProviderError> {
        if command.is_empty() || command.iter().all(|c| c.trim().is_empty()) {
            return Err(ProviderError::Invalid("a job needs a command".to_string()));
        }
        let command_line = shell_join(command);
        let (schedule_type, lookup_id, app_name, payload) = match target.target_type {
            TargetType::Application => (
                "application".to_string(),
                target.target_id.clone(),
                String::new(),
                json!({
                    "name": name,
                    "cronExpression": MANUAL_ONLY_CRON,
                    "scheduleType": "application",
                    "shellType": "sh",
                    "command": command_line,
                    "applicationId": target.target_id,
                    "enabled": false,
                    "timezone": "UTC",
                }),
            ),
            TargetType::Compose => {
                let compose = self.target_payload(target).await?;
                let server_id = text(&compose, "serverId");
                let compose_app = match text(&compose, "appName") {
                    name if !name.is_empty() => name,
                    _ => match text(&compose, "name") {
                        name if !name.is_empty() => name,
                        _ => format!("{}-{}", lane.context, lane.instance),
                    },
                };
                let (schedule_type, lookup_id) = if server_id.is_empty() {
                    let session = self.get("/api/user.session", &[]).await?;
                    let user_id = session
                        .get("user")
                        .map(|u| text(u, "id"))
                        .unwrap_or_default();
                    if user_id.is_empty() {
                        return Err(ProviderError::failed(
                            "Dokploy user.session returned no user id.",
                        ));
                    }
                    ("dokploy-server".to_string(), user_id)
                } else {
                    ("server".to_string(), server_id.clone())
                };
                let app_name = format!("launchplane-{}-{}-{name}", lane.context, lane.instance);
                let project = shell_join(std::slice::from_ref(&compose_app));
                let script = format!(
                    "set -eu\nproject={project}\ncontainer=$(docker ps -q --filter \"label=com.docker.compose.project=${{project}}\" --filter \"label=com.docker.compose.service=web\" | head -n 1)\nif [ -z \"$container\" ]; then echo \"no running web container for compose project ${{project}}\" >&2; exit 1; fi\nexec docker exec \"$container\" {command_line}\n"
                );
                let user_id = if schedule_type == "dokploy-server" {
                    json!(lookup_id)
                } else {
                    Value::Null
                };
                (
                    schedule_type.clone(),
                    lookup_id,
                    app_name.clone(),
                    json!({
                        "name": name,
                        "cronExpression": MANUAL_ONLY_CRON,
                        "appName": app_name,
                        "shellType": "bash",
                        "scheduleType": schedule_type,
                        "command": command_line,
                        "script": script,
                        "serverId": if server_id.is_empty() { Value::Null } else { json!(server_id) },
                        "userId": user_id,
                        "enabled": false,
                        "timezone": "UTC",
                    }),
                )
            }
        };
        let schedule = self
            .upsert_schedule(&lookup_id, &schedule_type, name, &app_name, payload)
            .await?;
        let schedule_id = ["scheduleId", "schedule_id", "id", "uuid"]
            .iter()
            .find_map(|k| truthy_text(schedule.get(*k)))
            .unwrap_or_default();
        if schedule_id.is_empty() {
            return Err(ProviderError::failed(format!(
                "Dokploy schedule {name:?} for {} did not expose a schedule id.",
                lane_label(lane)
            )));
        }
        let source = DeploymentSource::Schedule(&schedule_id);
        let before = self.latest_key(&source).await?;
        self.call(
            Method::POST,
            "/api/schedule.runManually",
            &[],
            Some(&json!({"scheduleId": schedule_id})),
            Some(timeout),
        )
        .await?;
        let Waited { status, detail, .. } = self
            .wait_for_deployment(
                &source,
                &before,
                timeout,
                "Dokploy schedule deployment failed",
            )
            .await?;
        Ok(JobOutcome {
            status,
            exit_code: None,
            detail,
        })
    }

    async fn find_schedule(
        &self,
        lookup_id: &str,
        schedule_type: &str,
        name: &str,
        app_name: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let payload = self
            .get(
                "/api/schedule.list",
                &[("id", lookup_id), ("scheduleType", schedule_type)],
            )
            .await?;
        Ok(extract_list(&payload, "schedules").into_iter().find(|s| {
            text(s, "name") == name && (app_name.is_empty() || text(s, "appName") == app_name)
        }))
    }

    async fn upsert_schedule(
        &self,
        lookup_id: &str,
        schedule_type: &str,
        name: &str,
        app_name: &str,
        payload: Value,
    ) -> Result<Value, ProviderError> {
        match self
            .find_schedule(lookup_id, schedule_type, name, app_name)
            .await?
        {
            Some(existing) => {
                let mut body = payload;
                body["scheduleId"] = json!(
                    ["scheduleId", "schedule_id", "id", "uuid"]
                        .iter()
                        .find_map(|k| truthy_text(existing.get(*k)))
                        .unwrap_or_default()
                );
                self.post("/api/schedule.update", body).await?;
            }
            None => {
                self.post("/api/schedule.create", payload).await?;
            }
        }
        self.find_schedule(lookup_id, schedule_type, name, app_name)
            .await?
            .ok_or_else(|| {
                ProviderError::failed(format!(
                    "Dokploy schedule {name:?} for {schedule_type} target {lookup_id:?} could not be resolved after upsert."
                ))
            })
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
        let target = self.resolve_target(lane).await?;
        let payload = self.target_payload(&target).await?;
        Ok(Self::env_of(&payload).into_iter().map(|(k, _)| k).collect())
    }

    async fn read_env(&self, lane: &Lane) -> Result<BTreeMap<String, String>, ProviderError> {
        let target = self.resolve_target(lane).await?;
        let payload = self.target_payload(&target).await?;
        Ok(Self::env_of(&payload).into_iter().collect())
    }

    async fn update_env(
        &self,
        lane: &Lane,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), ProviderError> {
        env_text::check_updates(set, unset).map_err(ProviderError::Invalid)?;
        let target = self.resolve_target(lane).await?;
        let payload = self.target_payload(&target).await?;
        let current = Self::env_of(&payload);
        let desired = env_text::apply(&current, set, unset);
        if desired == current {
            return Ok(());
        }
        self.write_env(
            target.target_type,
            &target.target_id,
            &payload,
            &env_text::render(&desired),
        )
        .await?;
        let reread: BTreeMap<String, String> = Self::env_of(&self.target_payload(&target).await?)
            .into_iter()
            .collect();
        let wanted: BTreeMap<String, String> = desired.into_iter().collect();
        if reread != wanted {
            let mut differing: Vec<&str> = wanted
                .iter()
                .filter(|(k, v)| reread.get(*k) != Some(*v))
                .map(|(k, _)| k.as_str())
                .chain(
                    reread
                        .keys()
                        .filter(|k| !wanted.contains_key(*k))
                        .map(String::as_str),
                )
                .collect();
            differing.sort_unstable();
            differing.dedup();
            return Err(ProviderError::failed(format!(
                "Dokploy did not retain the environment update of {} (keys: {})",
                lane_label(lane),
                differing.join(", ")
            )));
        }
        Ok(())
    }

    async fn set_image(&self, lane: &Lane, image_reference: &str) -> Result<(), ProviderError> {
        let image = image_reference.trim();
        if image.is_empty() || image.contains(char::is_whitespace) {
            return Err(ProviderError::Invalid(
                "an image reference must be non-blank without spaces".to_string(),
            ));
        }
        let target = self.resolve_target(lane).await?;
        match target.target_type {
            TargetType::Compose => {
                self.update_env(
                    lane,
                    &[(COMPOSE_IMAGE_ENV_KEY.to_string(), image.to_string())],
                    &[],
                )
                .await
            }
            TargetType::Application => {
                let payload = self.target_payload(&target).await?;
                let field = |key: &str| payload.get(key).cloned().unwrap_or(Value::Null);
                self.post(
                    "/api/application.saveDockerProvider",
                    json!({
                        "applicationId": target.target_id,
                        "dockerImage": image,
                        "username": field("username"),
                        "password": field("password"),
                        "registryUrl": field("registryUrl"),
                    }),
                )
                .await?;
                let reread = self.target_payload(&target).await?;
                if text(&reread, "dockerImage") != image {
                    return Err(ProviderError::failed(format!(
                        "Dokploy did not retain the image of {}",
                        lane_label(lane)
                    )));
                }
                Ok(())
            }
        }
    }

    async fn deploy(
        &self,
        lane: &Lane,
        timeout: Option<Duration>,
    ) -> Result<DeployOutcome, ProviderError> {
        let target = self.resolve_target(lane).await?;
        let timeout = effective_deploy_timeout(timeout, &target);
        self.deploy_target(&target, timeout).await
    }

    async fn run_job(
        &self,
        lane: &Lane,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError> {
        check_job_name(name)?;
        let target = self.resolve_target(lane).await?;
        let timeout = effective_deploy_timeout(timeout, &target);
        self.run_schedule(lane, &target, name, command, timeout)
            .await
    }

    async fn list_domains(&self, lane: &Lane) -> Result<Vec<String>, ProviderError> {
        let target = self.resolve_target(lane).await?;
        let payload = match target.target_type {
            TargetType::Application => {
                self.get(
                    "/api/domain.byApplicationId",
                    &[("applicationId", &target.target_id)],
                )
                .await?
            }
            TargetType::Compose => {
                self.get(
                    "/api/domain.byComposeId",
                    &[("composeId", &target.target_id)],
                )
                .await?
            }
        };
        Ok(extract_list(&payload, "domains")
            .iter()
            .map(|d| text(d, "host"))
            .filter(|h| !h.is_empty())
            .collect())
    }

    async fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, ProviderError> {
        if name_prefix.trim().is_empty() {
            return Err(ProviderError::Invalid(
                "listing preview applications needs a non-blank name prefix".to_string(),
            ));
        }
        let (_, _, template_app) = self.preview_scope(context).await?;
        let environment_id = text(&template_app, "environmentId");
        let mut out = Vec::new();
        for app in self.listed_apps().await? {
            if !app.name.starts_with(name_prefix)
                || (!environment_id.is_empty() && app.environment_id != environment_id)
            {
                continue;
            }
            let domains = match &app.domains {
                Some(domains) => domains.clone(),
                None => self
                    .domains_of_application(&app.application_id)
                    .await?
                    .iter()
                    .map(|d| text(d, "host"))
                    .filter(|h| !h.is_empty())
                    .collect(),
            };
            out.push(self.preview_app(&app, domains));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, ProviderError> {
        if !valid_preview_name(name) {
            return Err(ProviderError::Invalid(format!(
                "preview application name `{name}` must be 1-63 lower-case letters, digits or `-`"
            )));
        }
        let image = image_reference.trim();
        if image.is_empty() || image.contains(char::is_whitespace) {
            return Err(ProviderError::Invalid(
                "an image reference must be non-blank without spaces".to_string(),
            ));
        }
        env_text::check_updates(env, &[]).map_err(ProviderError::Invalid)?;
        let mut hosts: Vec<String> = Vec::new();
        for domain in domains {
            let host = domain_host(domain);
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(ProviderError::Invalid(format!(
                    "preview domain `{domain}` is not a host"
                )));
            }
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        let (template, _, template_app) = self.preview_scope(context).await?;
        let environment_id = text(&template_app, "environmentId");
        let server_id = text(&template_app, "serverId");
        if environment_id.is_empty() || server_id.is_empty() {
            return Err(ProviderError::Config(format!(
                "the preview template application of lane {} needs both environmentId and serverId",
                lane_label(&template.lane)
            )));
        }
        let description = match &template.product {
            Some(product) => format!("Preview environment for {product} {name}"),
            None => format!("Preview environment {name}"),
        };
        let existing =
            self.listed_apps().await?.into_iter().find(|a| {
                a.environment_id == environment_id && (a.name == name || a.app_name == name)
            });
        let (application_id, created) = match existing {
            Some(app) => (app.application_id, false),
            None => {
                let created = self
                    .post(
                        "/api/application.create",
                        json!({
                            "name": name,
                            "appName": name,
                            "description": description,
                            "environmentId": environment_id,
                            "serverId": server_id,
                        }),
                    )
                    .await?;
                let id = text(&created, "applicationId");
                let id = if id.is_empty() {
                    self.listed_apps()
                        .await?
                        .into_iter()
                        .find(|a| a.environment_id == environment_id && a.name == name)
                        .map(|a| a.application_id)
                        .unwrap_or_default()
                } else {
                    id
                };
                if id.is_empty() {
                    return Err(ProviderError::failed(format!(
                        "Dokploy application create returned no applicationId for {name}."
                    )));
                }
                (id, true)
            }
        };
        let mut created_domains = Vec::new();
        let configured = self
            .configure_preview(
                &application_id,
                &description,
                &template,
                &template_app,
                image,
                &hosts,
                env,
                &mut created_domains,
            )
            .await;
        if let Err(error) = configured {
            let mut rollback: Vec<String> = Vec::new();
            for domain_id in &created_domains {
                if let Err(e) = self
                    .post("/api/domain.delete", json!({"domainId": domain_id}))
                    .await
                {
                    rollback.push(e.to_string());
                }
            }
            if created
                && let Err(e) = self
                    .post(
                        "/api/application.delete",
                        json!({"applicationId": application_id}),
                    )
                    .await
            {
                rollback.push(e.to_string());
            }
            if rollback.is_empty() {
                return Err(error);
            }
            let message = format!("{error}; rollback: {}", rollback.join("; "));
            return Err(match error {
                ProviderError::Failed { status, .. } => ProviderError::Failed { status, message },
                ProviderError::Timeout(_) => ProviderError::Timeout(message),
                ProviderError::NotFound(_) => ProviderError::NotFound(message),
                ProviderError::Unauthorized(_) => ProviderError::Unauthorized(message),
                ProviderError::Config(_) => ProviderError::Config(message),
                ProviderError::Invalid(_) => ProviderError::Invalid(message),
            });
        }
        Ok(PreviewApp {
            name: name.to_string(),
            domains: hosts,
            image_reference: image.to_string(),
            provider_app_id: application_id,
        })
    }

    async fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError> {
        check_job_name(name)?;
        let Some(app) = self.existing_preview_app(context, app_name).await? else {
            return Err(ProviderError::NotFound(format!(
                "no preview application `{app_name}` in {context}"
            )));
        };
        // The preview application as a target: jobs on applications need
        // only its id.
        let target = ProviderTarget {
            schema_version: 1,
            provider_id: PROVIDER_ID.to_string(),
            context: context.to_string(),
            instance: app.name.clone(),
            target_type: TargetType::Application,
            target_id: app.application_id.clone(),
            target_name: app.name.clone(),
            domains: Vec::new(),
            healthcheck_path: String::new(),
            deploy_timeout_seconds: None,
            updated_at: String::new(),
            source: String::new(),
        };
        let lane = Lane {
            context: context.to_string(),
            instance: app.name,
        };
        let timeout = effective_deploy_timeout(timeout, &target);
        self.run_schedule(&lane, &target, name, command, timeout)
            .await
    }

    async fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), ProviderError> {
        if name.trim().is_empty() {
            return Err(ProviderError::Invalid(
                "deleting a preview application needs its name".to_string(),
            ));
        }
        let Some(app) = self.existing_preview_app(context, name).await? else {
            return Ok(());
        };
        let mut errors: Vec<String> = Vec::new();
        match self.domains_of_application(&app.application_id).await {
            Ok(domains) => {
                for domain in domains {
                    let id = text(&domain, "domainId");
                    if id.is_empty() {
                        continue;
                    }
                    if let Err(e) = self
                        .post("/api/domain.delete", json!({"domainId": id}))
                        .await
                    {
                        errors.push(e.to_string());
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
        if let Err(e) = self
            .post(
                "/api/application.delete",
                json!({"applicationId": app.application_id}),
            )
            .await
        {
            errors.push(e.to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ProviderError::failed(errors.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_keys_statuses_and_newest() {
        let deployments = vec![
            json!({"deploymentId": "d-1", "status": "done", "createdAt": "2026-01-01T00:00:01Z"}),
            json!({"id": 7, "state": " RUNNING ", "createdAt": "2026-01-01T00:00:03Z"}),
            json!({"uuid": "u", "deploymentStatus": "Error", "createdAt": "2026-01-01T00:00:02Z"}),
        ];
        let newest = latest_deployment(&deployments).expect("newest");
        assert_eq!(deployment_key(newest), "7");
        assert_eq!(deployment_status(newest), "running");
        assert_eq!(deployment_status(&deployments[2]), "error");
        assert_eq!(deployment_key(&json!({"deploymentId": "", "id": "x"})), "x");
        assert!(latest_deployment(&[]).is_none());
        let ties = vec![json!({"id": "first"}), json!({"id": "first"})];
        assert!(std::ptr::eq(latest_deployment(&ties).unwrap(), &ties[0]));
    }

    #[test]
    fn preview_names_and_hosts() {
        assert!(valid_preview_name("demo-preview-pr-12"));
        assert!(!valid_preview_name("Demo"));
        assert!(!valid_preview_name("-x"));
        assert!(!valid_preview_name(""));
        assert_eq!(
            domain_host("https://PR-1.Preview.example/x"),
            "pr-1.preview.example"
        );
        assert_eq!(domain_host("pr-1.example:8443"), "pr-1.example:8443");
    }
}
