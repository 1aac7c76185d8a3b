//! Preview applications: copies of a preview context's template
//! application with their own image, env and domains. Listing them,
//! creating or refreshing one (configure, deploy, roll back what was made
//! when that fails), running a job on one, and deleting one with its
//! domains.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::apps::ListedApp;
use super::client::text;
use super::domains::domain_host;
use super::{DokployProvider, PREVIEW_DEPLOY_TIMEOUT, PROVIDER_ID};
use crate::providers::env_text::{self, EnvEntries};
use crate::providers::targets::{PreviewTemplate, ProviderTarget, TargetType, preview_template};
use crate::providers::{
    DeployStatus, JobOutcome, PreviewApp, ProviderError, check_job_name, effective_deploy_timeout,
    lane_label,
};
use crate::records::Lane;

/// A Dokploy application name: 1-63 lower-case letters, digits or `-`,
/// starting with a letter or digit.
fn valid_preview_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Checks a preview request: its name, image reference and env, and its
/// domains as distinct hosts. Returns the trimmed image and the hosts.
fn check_preview_request<'a>(
    name: &str,
    image_reference: &'a str,
    domains: &[String],
    env: &[(String, String)],
) -> Result<(&'a str, Vec<String>), ProviderError> {
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
    Ok((image, hosts))
}

/// The preview's env: the template application's values of the
/// profile's `copied_env_keys` (non-empty ones), then `env` on top.
fn with_copied_env(
    template: &PreviewTemplate,
    template_app: &Value,
    env: &[(String, String)],
) -> EnvEntries {
    let template_env = env_text::parse(
        template_app
            .get("env")
            .and_then(Value::as_str)
            .unwrap_or(""),
    );
    let copied: EnvEntries = template_env
        .into_iter()
        .filter(|(key, value)| {
            template.copied_env_keys.iter().any(|k| k == key) && !value.trim().is_empty()
        })
        .collect();
    env_text::apply(&copied, env, &[])
}

impl DokployProvider {
    /// Preview applications of `context` whose name starts with
    /// `name_prefix`, in the template's environment, sorted by name.
    pub(super) async fn preview_apps(
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

    /// Creates (or refreshes) preview application `name` from the template
    /// of `context` and deploys it; when that fails, what it made is
    /// removed again.
    pub(super) async fn create_preview(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, ProviderError> {
        let (image, hosts) = check_preview_request(name, image_reference, domains, env)?;
        let (template, _, template_app) = self.preview_scope(context).await?;
        let env = with_copied_env(&template, &template_app, env);
        let env = env.as_slice();
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
        let (application_id, created) = self
            .ensure_preview_application(&environment_id, &server_id, name, &description)
            .await?;
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
            return Err(self
                .roll_back_preview(error, &created_domains, &application_id, created)
                .await);
        }
        Ok(PreviewApp {
            name: name.to_string(),
            domains: hosts,
            image_reference: image.to_string(),
            provider_app_id: application_id,
        })
    }

    /// The id of application `name` in the template's environment, created
    /// when there is none; `true` when it was created.
    async fn ensure_preview_application(
        &self,
        environment_id: &str,
        server_id: &str,
        name: &str,
        description: &str,
    ) -> Result<(String, bool), ProviderError> {
        let existing =
            self.listed_apps().await?.into_iter().find(|a| {
                a.environment_id == environment_id && (a.name == name || a.app_name == name)
            });
        Ok(match existing {
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
        })
    }

    /// Removes what a failed create made (its domains, and the application
    /// when it was new) and returns `error`, with rollback failures added.
    async fn roll_back_preview(
        &self,
        error: ProviderError,
        created_domains: &[String],
        application_id: &str,
        created: bool,
    ) -> ProviderError {
        let mut rollback: Vec<String> = Vec::new();
        for domain_id in created_domains {
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
            return error;
        }
        let message = format!("{error}; rollback: {}", rollback.join("; "));
        match error {
            ProviderError::Failed { status, .. } => ProviderError::Failed { status, message },
            ProviderError::Timeout(_) => ProviderError::Timeout(message),
            ProviderError::NotFound(_) => ProviderError::NotFound(message),
            ProviderError::Unauthorized(_) => ProviderError::Unauthorized(message),
            ProviderError::Config(_) => ProviderError::Config(message),
            ProviderError::Invalid(_) => ProviderError::Invalid(message),
        }
    }

    /// Configures an application (new or existing) as a preview of the
    /// template and deploys it. Returns the ids of domains it created.
    #[allow(clippy::too_many_arguments)]
    async fn configure_preview(
        &self,
        application_id: &str,
        description: &str,
        template: &PreviewTemplate,
        template_app: &Value,
        image_reference: &str,
        hosts: &[String],
        env: &[(String, String)],
        created_domains: &mut Vec<String>,
    ) -> Result<(), ProviderError> {
        self.apply_preview_settings(
            application_id,
            description,
            template_app,
            image_reference,
            &with_copied_env(template, template_app, env),
        )
        .await?;
        let stale = self
            .sync_preview_domains(application_id, template, hosts, created_domains)
            .await?;
        self.deploy_preview(application_id, template).await?;
        for domain_id in stale.iter().filter(|id| !id.is_empty()) {
            self.post("/api/domain.delete", json!({"domainId": domain_id}))
                .await?;
        }
        Ok(())
    }

    /// Saves the template's settings, build type and registry with the
    /// preview's image and env on the application.
    async fn apply_preview_settings(
        &self,
        application_id: &str,
        description: &str,
        template_app: &Value,
        image_reference: &str,
        env: &[(String, String)],
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
        Ok(())
    }

    /// Updates or creates a domain per host (the ids of created ones are
    /// pushed on `created_domains`). Returns the ids of the application's
    /// domains no host wants: they are deleted once the deploy passed.
    async fn sync_preview_domains(
        &self,
        application_id: &str,
        template: &PreviewTemplate,
        hosts: &[String],
        created_domains: &mut Vec<String>,
    ) -> Result<Vec<String>, ProviderError> {
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
        Ok(stale)
    }

    /// Deploys the preview application; a failed deployment is an error.
    async fn deploy_preview(
        &self,
        application_id: &str,
        template: &PreviewTemplate,
    ) -> Result<(), ProviderError> {
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
        Ok(())
    }

    /// Runs job `name` on preview application `app_name` of `context`
    /// (`NotFound` when there is none).
    pub(super) async fn run_job_on_preview(
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

    /// Deletes preview application `name` of `context` and its domains; an
    /// absent one is already deleted.
    pub(super) async fn delete_preview(
        &self,
        context: &str,
        name: &str,
    ) -> Result<(), ProviderError> {
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

    /// The preview template of `context`, its target and the template
    /// application's payload (which holds its environment).
    async fn preview_scope(
        &self,
        context: &str,
    ) -> Result<(PreviewTemplate, ProviderTarget, Value), ProviderError> {
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

    /// A listed application as a [`PreviewApp`] with `domains`.
    fn preview_app(&self, app: &ListedApp, domains: Vec<String>) -> PreviewApp {
        PreviewApp {
            name: app.name.clone(),
            domains,
            image_reference: app.docker_image.clone(),
            provider_app_id: app.application_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
