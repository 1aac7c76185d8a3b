//! The applications `project.all` lists: every project's environments'
//! applications and those directly under a project.

use serde_json::Value;

use super::DokployProvider;
use super::client::{extract_list, text};
use crate::providers::ProviderError;

/// A Dokploy application as `project.all` lists it.
#[derive(Debug, Clone)]
pub(super) struct ListedApp {
    pub(super) application_id: String,
    pub(super) name: String,
    pub(super) app_name: String,
    pub(super) environment_id: String,
    pub(super) docker_image: String,
    pub(super) domains: Option<Vec<String>>,
}

impl DokployProvider {
    /// Every application `project.all` lists (projects → environments →
    /// applications; also applications directly under a project).
    pub(super) async fn listed_apps(&self) -> Result<Vec<ListedApp>, ProviderError> {
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
}
