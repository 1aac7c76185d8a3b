//! Jobs: a one-off command runs as Launchplane's manual-only schedule on
//! the target (created, or updated by name), triggered with
//! `schedule.runManually` and waited for through the schedule's
//! deployments.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{extract_list, text, truthy_text};
use super::deploy::{DeploymentSource, Waited};
use super::{DokployProvider, MANUAL_ONLY_CRON};
use crate::providers::targets::{ProviderTarget, TargetType};
use crate::providers::{
    DeployProvider, JobOutcome, ProviderError, check_job_name, effective_deploy_timeout,
    lane_label, shell_join,
};
use crate::records::Lane;

/// A schedule to create or update: its type, the id schedules are listed
/// by, its app name (empty for an application's) and the request body.
type ScheduleRequest = (String, String, String, Value);

impl DokployProvider {
    /// Runs job `name` on the lane's target and waits, within `timeout` or
    /// the target's own.
    pub(super) async fn run_lane_job(
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

    /// Runs a command through Launchplane's manual-only schedule on the
    /// target and waits for the schedule deployment.
    pub(super) async fn run_schedule(
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
                self.compose_schedule_request(lane, target, name, &command_line)
                    .await?
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

    /// The schedule of a compose target: a `bash` script, on the target's
    /// server (or Dokploy's own), that runs the command in the compose
    /// project's running `web` container.
    async fn compose_schedule_request(
        &self,
        lane: &Lane,
        target: &ProviderTarget,
        name: &str,
        command_line: &str,
    ) -> Result<ScheduleRequest, ProviderError> {
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
        Ok((
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
        ))
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
