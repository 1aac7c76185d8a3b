//! `provider` for drivers, over a [`DeployProvider`].
//!
//! The runtime has already checked that the lane or context belongs to the
//! invocation's product; this adapter maps the neutral provider calls to
//! the WIT records and [`ProviderError`]s to `host-error` cases
//! (`not-found`, `timeout`, `invalid`, else `provider-failed` with a short
//! message). Drivers see env key names, never values.
//!
//! # Runtime identity
//!
//! The host owns the four runtime-identity env keys
//! ([`IDENTITY_ENV_KEYS`]). [`ProviderCapability::stamp_runtime_identity`]
//! writes them from a validated [`RuntimeIdentity`]. Because the WIT
//! `deploy` carries no identity, a driver reaches the stamp through
//! `update-env`: it sets `LAUNCHPLANE_RUNTIME_IDENTITY_JSON` to the identity
//! JSON (alone, or with other keys) before calling `deploy`; this adapter
//! parses and validates it (the lane must be the identity's lane),
//! re-derives all four keys from it in canonical form and writes them with
//! the rest of the update. Setting or unsetting the other three keys
//! directly, or any of the four without the JSON, is refused as `invalid`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::providers::identity::{IDENTITY_ENV_KEYS, RUNTIME_IDENTITY_ENV_KEY};
use crate::providers::{DeployProvider, ProviderError, RuntimeIdentity, lane_label};
use crate::runtime::provider::{DeployOutcome, JobOutcome, PreviewApp, Target};
use crate::runtime::{HostError, Lane};

/// Longest provider message handed to a driver.
const MAX_MESSAGE_CHARS: usize = 500;

/// The provider capability.
#[derive(Clone)]
pub struct ProviderCapability {
    provider: Arc<dyn DeployProvider>,
}

impl std::fmt::Debug for ProviderCapability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCapability")
            .field("provider", &self.provider.provider_id())
            .finish()
    }
}

/// The WIT case for a provider error, in provider-neutral words: which
/// operation failed and what kind of answer the provider gave. The
/// provider's own message (its API paths, its name, its error text) never
/// reaches a driver; it goes to the log, inside the request's span, so the
/// trace id finds it. Only the host's own refusals of a call (`invalid`:
/// a bad job name, a blank image) are passed on as they are.
pub fn host_error(operation: &str, subject: &str, error: ProviderError) -> HostError {
    tracing::warn!(operation, subject, error = %error, "provider call failed");
    let short =
        |message: String| crate::providers::redact::truncate_chars(&message, MAX_MESSAGE_CHARS);
    match error {
        ProviderError::NotFound(_) => {
            HostError::NotFound(format!("{operation}: the provider has no {subject}"))
        }
        ProviderError::Timeout(_) => {
            HostError::Timeout(format!("{operation}: the provider did not finish in time"))
        }
        ProviderError::Invalid(m) => HostError::Invalid(short(m)),
        ProviderError::Unauthorized(_) => HostError::ProviderFailed(format!(
            "{operation}: the provider refused Launchplane's credentials; see service logs"
        )),
        ProviderError::Config(_) => HostError::ProviderFailed(format!(
            "{operation}: the provider is not configured usably; see service logs"
        )),
        ProviderError::Failed {
            status: Some(status),
            ..
        } => HostError::ProviderFailed(format!(
            "{operation}: the provider answered {status}; see service logs"
        )),
        ProviderError::Failed { status: None, .. } => HostError::ProviderFailed(format!(
            "{operation}: the provider failed; see service logs"
        )),
    }
}

/// A lane, as a provider error names it.
fn lane_subject(lane: &Lane) -> String {
    format!("target for lane {}", lane.label())
}

/// A preview application, as a provider error names it.
fn preview_subject(context: &str, name: &str) -> String {
    format!("preview application `{name}` in context `{context}`")
}

fn seconds(timeout_seconds: u32) -> Option<Duration> {
    (timeout_seconds > 0).then(|| Duration::from_secs(u64::from(timeout_seconds)))
}

impl ProviderCapability {
    pub fn new(provider: Arc<dyn DeployProvider>) -> Self {
        ProviderCapability { provider }
    }

    pub fn provider(&self) -> &Arc<dyn DeployProvider> {
        &self.provider
    }

    /// Writes `LAUNCHPLANE_RUNTIME_IDENTITY_JSON` (compact sorted JSON),
    /// `LAUNCHPLANE_DEPLOYMENT_RECORD_ID`, `LAUNCHPLANE_ARTIFACT_ID` and
    /// `LAUNCHPLANE_SOURCE_GIT_REF` into the lane's target env, preserving
    /// every other key. Call it before `deploy`. The identity must be valid
    /// and name `lane`.
    pub async fn stamp_runtime_identity(
        &self,
        lane: &Lane,
        identity: &RuntimeIdentity,
    ) -> Result<(), HostError> {
        check_identity(lane, identity)?;
        self.provider
            .update_env(lane, &identity.env(), &[])
            .await
            .map_err(|e| host_error("update-env", &lane_subject(lane), e))
    }
}

fn check_identity(lane: &Lane, identity: &RuntimeIdentity) -> Result<(), HostError> {
    identity.validate().map_err(HostError::Invalid)?;
    if identity.context != lane.context || identity.instance != lane.instance {
        return Err(HostError::Invalid(format!(
            "the runtime identity names lane {}/{}, not {}",
            identity.context,
            identity.instance,
            lane_label(lane)
        )));
    }
    Ok(())
}

/// Routes an identity write inside `update-env` (see the module docs):
/// returns the update with the four identity keys in canonical form.
fn with_identity(
    lane: &Lane,
    set: &[(String, String)],
    unset: &[String],
) -> Result<Vec<(String, String)>, HostError> {
    if let Some(key) = unset
        .iter()
        .find(|k| IDENTITY_ENV_KEYS.contains(&k.as_str()))
    {
        return Err(HostError::Invalid(format!(
            "`{key}` is owned by the host and cannot be unset"
        )));
    }
    let json = set
        .iter()
        .find(|(k, _)| k == RUNTIME_IDENTITY_ENV_KEY)
        .map(|(_, v)| v.clone());
    let Some(json) = json else {
        if let Some((key, _)) = set
            .iter()
            .find(|(k, _)| IDENTITY_ENV_KEYS.contains(&k.as_str()))
        {
            return Err(HostError::Invalid(format!(
                "`{key}` is owned by the host; set {RUNTIME_IDENTITY_ENV_KEY} to the runtime identity instead"
            )));
        }
        return Ok(set.to_vec());
    };
    let identity = RuntimeIdentity::parse_payload(&Value::String(json)).ok_or_else(|| {
        HostError::Invalid(format!(
            "{RUNTIME_IDENTITY_ENV_KEY} must be a runtime identity JSON object (context, instance, \
             deployment_record_id, artifact_id, source_git_ref; no unknown fields)"
        ))
    })?;
    check_identity(lane, &identity)?;
    let canonical = identity.env();
    for (key, value) in set
        .iter()
        .filter(|(k, _)| IDENTITY_ENV_KEYS.contains(&k.as_str()))
    {
        if key != RUNTIME_IDENTITY_ENV_KEY && canonical.iter().any(|(k, v)| k == key && v != value)
        {
            return Err(HostError::Invalid(format!(
                "`{key}` disagrees with {RUNTIME_IDENTITY_ENV_KEY}"
            )));
        }
    }
    let mut out: Vec<(String, String)> = set
        .iter()
        .filter(|(k, _)| !IDENTITY_ENV_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    out.extend(canonical);
    Ok(out)
}

fn preview_app(app: crate::providers::PreviewApp) -> PreviewApp {
    PreviewApp {
        name: app.name,
        domains: app.domains,
        image_reference: app.image_reference,
    }
}

impl ProviderCapability {
    pub async fn resolve_target(&self, lane: &Lane) -> Result<Target, HostError> {
        let target = self
            .provider
            .resolve_target(lane)
            .await
            .map_err(|e| host_error("resolve-target", &lane_subject(lane), e))?;
        Ok(Target {
            context: target.context,
            instance: target.instance,
            target_type: target.target_type.as_str().to_string(),
            target_name: target.target_name,
            domains: target.domains,
            healthcheck_path: target.healthcheck_path,
        })
    }

    pub async fn env_keys(&self, lane: &Lane) -> Result<Vec<String>, HostError> {
        self.provider
            .env_keys(lane)
            .await
            .map_err(|e| host_error("env-keys", &lane_subject(lane), e))
    }

    pub async fn update_env(
        &self,
        lane: &Lane,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), HostError> {
        let set = with_identity(lane, set, unset)?;
        self.provider
            .update_env(lane, &set, unset)
            .await
            .map_err(|e| host_error("update-env", &lane_subject(lane), e))
    }

    pub async fn set_image(&self, lane: &Lane, image_reference: &str) -> Result<(), HostError> {
        self.provider
            .set_image(lane, image_reference)
            .await
            .map_err(|e| host_error("set-image", &lane_subject(lane), e))
    }

    pub async fn deploy(
        &self,
        lane: &Lane,
        timeout_seconds: u32,
    ) -> Result<DeployOutcome, HostError> {
        let outcome = self
            .provider
            .deploy(lane, seconds(timeout_seconds))
            .await
            .map_err(|e| host_error("deploy", &lane_subject(lane), e))?;
        Ok(DeployOutcome {
            status: outcome.status.as_str().to_string(),
            detail: outcome.detail,
            started_at: outcome.started_at,
            finished_at: outcome.finished_at,
        })
    }

    pub async fn run_job(
        &self,
        lane: &Lane,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError> {
        let outcome = self
            .provider
            .run_job(lane, name, command, seconds(timeout_seconds))
            .await
            .map_err(|e| host_error("run-job", &lane_subject(lane), e))?;
        Ok(job_outcome(outcome))
    }

    pub async fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, HostError> {
        Ok(self
            .provider
            .list_preview_apps(context, name_prefix)
            .await
            .map_err(|e| {
                host_error(
                    "list-preview-apps",
                    &format!("preview applications in context `{context}`"),
                    e,
                )
            })?
            .into_iter()
            .map(preview_app)
            .collect())
    }

    pub async fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, HostError> {
        if let Some((key, _)) = env
            .iter()
            .find(|(k, _)| IDENTITY_ENV_KEYS.contains(&k.as_str()))
        {
            return Err(HostError::Invalid(format!(
                "`{key}` is owned by the host; preview identity is stamped by Launchplane"
            )));
        }
        self.provider
            .create_preview_app(context, name, image_reference, domains, env)
            .await
            .map(preview_app)
            .map_err(|e| host_error("create-preview-app", &preview_subject(context, name), e))
    }

    pub async fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), HostError> {
        self.provider
            .delete_preview_app(context, name)
            .await
            .map_err(|e| host_error("delete-preview-app", &preview_subject(context, name), e))
    }

    pub async fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError> {
        let outcome = self
            .provider
            .run_preview_job(context, app_name, name, command, seconds(timeout_seconds))
            .await
            .map_err(|e| host_error("run-preview-job", &preview_subject(context, app_name), e))?;
        Ok(job_outcome(outcome))
    }
}

/// A provider's job outcome in the WIT's words.
fn job_outcome(outcome: crate::providers::JobOutcome) -> JobOutcome {
    JobOutcome {
        status: outcome.status.as_str().to_string(),
        exit_code: outcome.exit_code,
        detail: outcome.detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::SimulatedProvider;

    fn lane() -> Lane {
        Lane {
            context: "demo".into(),
            instance: "testing".into(),
        }
    }

    fn identity() -> RuntimeIdentity {
        RuntimeIdentity::new(
            "demo",
            "testing",
            "deployment-1",
            "artifact-1",
            "refs/heads/main",
        )
    }

    #[tokio::test]
    async fn identity_is_stamped_directly_or_through_update_env() {
        let simulated = Arc::new(SimulatedProvider::in_memory());
        let capability = ProviderCapability::new(simulated.clone());
        capability
            .update_env(&lane(), &[("APP_MODE".into(), "x".into())], &[])
            .await
            .expect("plain update");
        capability
            .stamp_runtime_identity(&lane(), &identity())
            .await
            .expect("stamp");
        let env = simulated.lane(&lane()).env;
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "APP_MODE",
                RUNTIME_IDENTITY_ENV_KEY,
                "LAUNCHPLANE_DEPLOYMENT_RECORD_ID",
                "LAUNCHPLANE_ARTIFACT_ID",
                "LAUNCHPLANE_SOURCE_GIT_REF"
            ]
        );
        assert_eq!(env[1].1, identity().to_env_json());

        // Through update-env, in non-canonical form: the host re-derives.
        let mut second = identity();
        second.deployment_record_id = "deployment-2".into();
        let pretty = serde_json::to_string_pretty(&second).expect("json");
        capability
            .update_env(&lane(), &[(RUNTIME_IDENTITY_ENV_KEY.into(), pretty)], &[])
            .await
            .expect("identity via update-env");
        let env = simulated.lane(&lane()).env;
        assert_eq!(env[1].1, second.to_env_json());
        assert_eq!(env[2].1, "deployment-2");

        type Update = (Vec<(String, String)>, Vec<String>);
        let refusals: Vec<Update> = vec![
            (vec![("LAUNCHPLANE_ARTIFACT_ID".into(), "a".into())], vec![]),
            (vec![], vec![RUNTIME_IDENTITY_ENV_KEY.into()]),
            (vec![(RUNTIME_IDENTITY_ENV_KEY.into(), "{}".into())], vec![]),
            (
                vec![(
                    RUNTIME_IDENTITY_ENV_KEY.into(),
                    RuntimeIdentity::new("demo", "prod", "d", "a", "r").to_env_json(),
                )],
                vec![],
            ),
        ];
        for (set, unset) in refusals {
            let error = capability
                .update_env(&lane(), &set, &unset)
                .await
                .expect_err("refused");
            assert!(matches!(error, HostError::Invalid(_)), "{error:?}");
        }
        let mut wrong_lane = identity();
        wrong_lane.instance = "prod".into();
        assert!(matches!(
            capability
                .stamp_runtime_identity(&lane(), &wrong_lane)
                .await,
            Err(HostError::Invalid(_))
        ));
    }

    #[test]
    fn errors_map_to_the_wit_cases_in_neutral_words() {
        let dokploy = "Dokploy API POST /api/schedule.runManually failed (502): boom";
        let cases = [
            host_error(
                "deploy",
                "target for this lane",
                ProviderError::NotFound(dokploy.into()),
            ),
            host_error(
                "deploy",
                "target for this lane",
                ProviderError::Timeout(dokploy.into()),
            ),
            host_error(
                "deploy",
                "target for this lane",
                ProviderError::Unauthorized(dokploy.into()),
            ),
            host_error(
                "deploy",
                "target for this lane",
                ProviderError::Config(dokploy.into()),
            ),
            host_error(
                "deploy",
                "target for this lane",
                ProviderError::Failed {
                    status: Some(502),
                    message: dokploy.into(),
                },
            ),
            host_error(
                "deploy",
                "target for this lane",
                ProviderError::failed(dokploy),
            ),
        ];
        for error in &cases {
            let text = format!("{error:?}");
            assert!(text.contains("deploy: the provider"), "{text}");
            assert!(
                !text.contains("Dokploy") && !text.contains("/api/"),
                "{text}"
            );
        }
        assert!(matches!(&cases[0], HostError::NotFound(_)));
        assert!(matches!(&cases[1], HostError::Timeout(_)));
        assert!(matches!(&cases[4], HostError::ProviderFailed(m) if m.contains("502")));
        assert!(matches!(
            host_error("run-job", "target for this lane", ProviderError::Invalid("job name `X` must be …".into())),
            HostError::Invalid(m) if m.contains("job name")
        ));
    }
}
