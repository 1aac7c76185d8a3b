//! Deployments: setting a target's image, triggering a deploy, and polling
//! the newest deployment (of a target or a schedule) until it is new and
//! final.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::{extract_list, text, truthy_text};
use super::{COMPOSE_IMAGE_ENV_KEY, DokployProvider, FAILURE_STATUSES, SUCCESS_STATUSES};
use crate::providers::targets::{ProviderTarget, TargetType};
use crate::providers::{
    DeployOutcome, DeployProvider, DeployStatus, ProviderError, effective_deploy_timeout,
    lane_label,
};
use crate::records::Lane;

/// Where a deployment list comes from.
pub(super) enum DeploymentSource<'a> {
    Target(&'a ProviderTarget),
    Schedule(&'a str),
}

/// How a wait for a deployment ended.
pub(super) struct Waited {
    pub(super) status: DeployStatus,
    pub(super) detail: String,
    pub(super) key: String,
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

impl DokployProvider {
    /// The deployments of a target or a schedule.
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

    /// The key of the newest deployment of `source` (empty when none).
    pub(super) async fn latest_key(
        &self,
        source: &DeploymentSource<'_>,
    ) -> Result<String, ProviderError> {
        let deployments = self.deployments(source).await?;
        Ok(latest_deployment(&deployments)
            .map(deployment_key)
            .unwrap_or_default())
    }

    /// Polls the newest deployment until it is new and final, or the
    /// timeout passes.
    pub(super) async fn wait_for_deployment(
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

    /// Starts a deploy of a compose or application target.
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
    pub(super) async fn deploy_target(
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

    /// Points the lane at an image: a compose target through its env, an
    /// application through `saveDockerProvider`, verified by re-reading.
    pub(super) async fn set_target_image(
        &self,
        lane: &Lane,
        image_reference: &str,
    ) -> Result<(), ProviderError> {
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

    /// Deploys the lane's target and waits, within `timeout` or the
    /// target's own.
    pub(super) async fn deploy_lane(
        &self,
        lane: &Lane,
        timeout: Option<Duration>,
    ) -> Result<DeployOutcome, ProviderError> {
        let target = self.resolve_target(lane).await?;
        let timeout = effective_deploy_timeout(timeout, &target);
        self.deploy_target(&target, timeout).await
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
}
