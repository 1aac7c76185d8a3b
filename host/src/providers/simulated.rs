//! An in-process provider for the quickstart and for driver tests.
//!
//! Targets come from the same `provider_target` records as Dokploy's (with
//! `provider_id = "simulated"`), or, when [`SimulatedProvider::auto_targets`]
//! is on (the dev instance), are made up for any stable lane on first use.
//! Images, environments, domains, deploys, jobs and preview applications
//! live in memory. Every operation can be slowed ([`SimulatedProvider::with_latency`],
//! [`SimulatedProvider::set_latency`]) or made to fail
//! ([`SimulatedProvider::inject_failure`]); deploys pass by default.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::env_text::{self, EnvEntries};
use super::targets::{
    DEFAULT_HEALTHCHECK_PATH, ProviderTarget, ProviderTargets, STABLE_INSTANCES, TargetType,
    preview_template,
};
use super::{
    DeployOutcome, DeployProvider, DeployStatus, JobOutcome, PreviewApp, ProviderError,
    check_job_name, effective_deploy_timeout, lane_label, shell_join,
};
use crate::records::Lane;
use crate::records::Store;

/// The provider id of simulated targets.
pub const PROVIDER_ID: &str = "simulated";

/// Operations that latency and failures can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimOp {
    ResolveTarget,
    ReadEnv,
    UpdateEnv,
    SetImage,
    Deploy,
    RunJob,
    ListDomains,
    ListPreviewApps,
    CreatePreviewApp,
    DeletePreviewApp,
}

/// An injected failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimFailure {
    /// The call fails with [`ProviderError::Failed`] and this message.
    Error(String),
    NotFound,
    Unauthorized,
    Timeout,
    /// `deploy` / `run_job` end with a `fail` outcome carrying this detail
    /// (other operations fail with [`ProviderError::Failed`]).
    Fails(String),
}

#[derive(Debug, Clone)]
struct Injected {
    failure: SimFailure,
    /// `None`: every call; `Some(n)`: the next `n` calls.
    remaining: Option<u32>,
}

/// What the simulated provider holds for one lane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimLane {
    pub image_reference: String,
    pub env: EnvEntries,
    pub deploy_count: u32,
    /// The image of the last passing deploy.
    pub deployed_image: String,
    pub jobs: Vec<String>,
}

#[derive(Debug, Default)]
struct SimState {
    auto_targets: BTreeMap<(String, String), ProviderTarget>,
    extra_targets: BTreeMap<(String, String), ProviderTarget>,
    lanes: BTreeMap<(String, String), SimLane>,
    previews: BTreeMap<String, (PreviewApp, EnvEntries)>,
    failures: BTreeMap<SimOp, Injected>,
    latency: BTreeMap<SimOp, Duration>,
    default_latency: Duration,
    log: Vec<String>,
    next_id: u64,
}

/// The in-memory provider.
#[derive(Debug)]
pub struct SimulatedProvider {
    targets: Option<ProviderTargets>,
    auto: bool,
    state: Mutex<SimState>,
}

fn key(lane: &Lane) -> (String, String) {
    (lane.context.clone(), lane.instance.clone())
}

impl SimulatedProvider {
    /// Targets from the store's `provider_target` records.
    pub fn new(store: Store) -> Self {
        SimulatedProvider {
            targets: Some(ProviderTargets::new(store)),
            auto: false,
            state: Mutex::new(SimState::default()),
        }
    }

    /// No store: targets come from [`SimulatedProvider::add_target`] or are
    /// made up (auto targets on).
    pub fn in_memory() -> Self {
        SimulatedProvider {
            targets: None,
            auto: true,
            state: Mutex::new(SimState::default()),
        }
    }

    /// Makes up a target for any stable lane without one (dev instance).
    pub fn auto_targets(mut self, on: bool) -> Self {
        self.auto = on;
        self
    }

    /// Every operation takes this long.
    pub fn with_latency(self, latency: Duration) -> Self {
        self.lock().default_latency = latency;
        self
    }

    /// One operation takes this long.
    pub fn set_latency(&self, op: SimOp, latency: Duration) {
        self.lock().latency.insert(op, latency);
    }

    /// Makes `op` fail: every call (`times = None`) or the next `times`.
    pub fn inject_failure(&self, op: SimOp, failure: SimFailure, times: Option<u32>) {
        self.lock().failures.insert(
            op,
            Injected {
                failure,
                remaining: times,
            },
        );
    }

    pub fn clear_failures(&self) {
        self.lock().failures.clear();
    }

    /// A target known without a record (tests, dev).
    pub fn add_target(&self, target: ProviderTarget) {
        self.lock()
            .extra_targets
            .insert((target.context.clone(), target.instance.clone()), target);
    }

    /// What the provider holds for a lane.
    pub fn lane(&self, lane: &Lane) -> SimLane {
        self.lock()
            .lanes
            .get(&key(lane))
            .cloned()
            .unwrap_or_default()
    }

    /// Preview applications with their env.
    pub fn preview_env(&self, name: &str) -> Option<EnvEntries> {
        self.lock().previews.get(name).map(|(_, env)| env.clone())
    }

    /// One line per successful mutating call (`deploy demo/testing`, …).
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Waits the op's latency (at most `limit`) and applies an injected
    /// failure. `Ok(Some(detail))` is an injected `Fails`.
    async fn enter(
        &self,
        op: SimOp,
        limit: Option<Duration>,
    ) -> Result<Option<String>, ProviderError> {
        let (latency, failure) = {
            let mut state = self.lock();
            let latency = state
                .latency
                .get(&op)
                .copied()
                .unwrap_or(state.default_latency);
            let failure = match state.failures.get_mut(&op) {
                None => None,
                Some(injected) => {
                    let failure = injected.failure.clone();
                    match injected.remaining.as_mut() {
                        None => Some(failure),
                        Some(0) => None,
                        Some(n) => {
                            *n -= 1;
                            Some(failure)
                        }
                    }
                }
            };
            (latency, failure)
        };
        if let Some(limit) = limit
            && latency > limit
        {
            tokio::time::sleep(limit).await;
            return Err(ProviderError::Timeout(format!(
                "simulated {op:?} did not finish within {} ms",
                limit.as_millis()
            )));
        }
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match failure {
            None => Ok(None),
            Some(SimFailure::Error(message)) => Err(ProviderError::failed(message)),
            Some(SimFailure::NotFound) => Err(ProviderError::NotFound(format!(
                "simulated {op:?}: not found"
            ))),
            Some(SimFailure::Unauthorized) => Err(ProviderError::Unauthorized(format!(
                "simulated {op:?}: unauthorized"
            ))),
            Some(SimFailure::Timeout) => Err(ProviderError::Timeout(format!(
                "simulated {op:?} timed out"
            ))),
            Some(SimFailure::Fails(detail)) => match op {
                SimOp::Deploy | SimOp::RunJob => Ok(Some(detail)),
                _ => Err(ProviderError::failed(detail)),
            },
        }
    }

    async fn target(&self, lane: &Lane) -> Result<ProviderTarget, ProviderError> {
        if let Some(target) = self.lock().extra_targets.get(&key(lane)) {
            return Ok(target.clone());
        }
        if let Some(targets) = &self.targets
            && let Some(owned) = targets.find(PROVIDER_ID, lane).await?
        {
            return Ok(owned.target);
        }
        if !self.auto {
            return Err(ProviderError::NotFound(format!(
                "lane {} has no {PROVIDER_ID} provider target; onboard it with POST /v1/product-onboarding/apply",
                lane_label(lane)
            )));
        }
        if !STABLE_INSTANCES.contains(&lane.instance.as_str()) {
            return Err(ProviderError::Invalid(format!(
                "lane {}: only the stable lanes {} have provider targets",
                lane_label(lane),
                STABLE_INSTANCES.join(", ")
            )));
        }
        let mut state = self.lock();
        let target = state
            .auto_targets
            .entry(key(lane))
            .or_insert_with(|| ProviderTarget {
                schema_version: 1,
                provider_id: PROVIDER_ID.to_string(),
                context: lane.context.clone(),
                instance: lane.instance.clone(),
                target_type: TargetType::Application,
                target_id: format!("sim-{}-{}", lane.context, lane.instance),
                target_name: format!("{}-{}", lane.context, lane.instance),
                domains: Vec::new(),
                healthcheck_path: DEFAULT_HEALTHCHECK_PATH.to_string(),
                deploy_timeout_seconds: None,
                updated_at: crate::time::now_rfc3339(),
                source: "simulated:auto".to_string(),
            })
            .clone();
        Ok(target)
    }

    async fn template_lane(&self, context: &str) -> Result<Lane, ProviderError> {
        let lane = match &self.targets {
            Some(targets) => preview_template(targets.store(), context).await?.lane,
            None => Lane {
                context: context.to_string(),
                instance: "testing".to_string(),
            },
        };
        self.target(&lane).await?;
        Ok(lane)
    }

    fn next_id(&self) -> u64 {
        let mut state = self.lock();
        state.next_id += 1;
        state.next_id
    }
}

#[async_trait]
impl DeployProvider for SimulatedProvider {
    fn provider_id(&self) -> &'static str {
        PROVIDER_ID
    }

    async fn resolve_target(&self, lane: &Lane) -> Result<ProviderTarget, ProviderError> {
        self.enter(SimOp::ResolveTarget, None).await?;
        self.target(lane).await
    }

    async fn env_keys(&self, lane: &Lane) -> Result<Vec<String>, ProviderError> {
        self.enter(SimOp::ReadEnv, None).await?;
        self.target(lane).await?;
        Ok(self.lane(lane).env.into_iter().map(|(k, _)| k).collect())
    }

    async fn read_env(&self, lane: &Lane) -> Result<BTreeMap<String, String>, ProviderError> {
        self.enter(SimOp::ReadEnv, None).await?;
        self.target(lane).await?;
        Ok(self.lane(lane).env.into_iter().collect())
    }

    async fn update_env(
        &self,
        lane: &Lane,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), ProviderError> {
        env_text::check_updates(set, unset).map_err(ProviderError::Invalid)?;
        self.enter(SimOp::UpdateEnv, None).await?;
        self.target(lane).await?;
        let mut state = self.lock();
        let entry = state.lanes.entry(key(lane)).or_default();
        entry.env = env_text::apply(&entry.env, set, unset);
        state.log.push(format!("update-env {}", lane_label(lane)));
        Ok(())
    }

    async fn set_image(&self, lane: &Lane, image_reference: &str) -> Result<(), ProviderError> {
        let image = image_reference.trim();
        if image.is_empty() || image.contains(char::is_whitespace) {
            return Err(ProviderError::Invalid(
                "an image reference must be non-blank without spaces".to_string(),
            ));
        }
        self.enter(SimOp::SetImage, None).await?;
        let target = self.target(lane).await?;
        let mut state = self.lock();
        let entry = state.lanes.entry(key(lane)).or_default();
        entry.image_reference = image.to_string();
        if target.target_type == TargetType::Compose {
            entry.env = env_text::apply(
                &entry.env,
                &[(
                    super::dokploy::COMPOSE_IMAGE_ENV_KEY.to_string(),
                    image.to_string(),
                )],
                &[],
            );
        }
        state
            .log
            .push(format!("set-image {} {image}", lane_label(lane)));
        Ok(())
    }

    async fn deploy(
        &self,
        lane: &Lane,
        timeout: Option<Duration>,
    ) -> Result<DeployOutcome, ProviderError> {
        let target = self.target(lane).await?;
        let limit = effective_deploy_timeout(timeout, &target);
        let started_at = crate::time::now_rfc3339();
        let injected = self.enter(SimOp::Deploy, Some(limit)).await?;
        let id = format!("sim-deployment-{}", self.next_id());
        let mut state = self.lock();
        let entry = state.lanes.entry(key(lane)).or_default();
        entry.deploy_count += 1;
        let (status, detail) = match injected {
            Some(detail) => (DeployStatus::Fail, detail),
            None => {
                entry.deployed_image = entry.image_reference.clone();
                (DeployStatus::Pass, format!("deployment={id} status=done"))
            }
        };
        state
            .log
            .push(format!("deploy {} {}", lane_label(lane), status.as_str()));
        Ok(DeployOutcome {
            status,
            detail,
            started_at,
            finished_at: crate::time::now_rfc3339(),
            deployment_id: id,
        })
    }

    async fn run_job(
        &self,
        lane: &Lane,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError> {
        check_job(name, command)?;
        let target = self.target(lane).await?;
        let limit = effective_deploy_timeout(timeout, &target);
        let injected = self.enter(SimOp::RunJob, Some(limit)).await?;
        let line = shell_join(command);
        let mut state = self.lock();
        state
            .lanes
            .entry(key(lane))
            .or_default()
            .jobs
            .push(line.clone());
        state
            .log
            .push(format!("run-job {} {name}: {line}", lane_label(lane)));
        Ok(job_outcome(injected, &line))
    }

    async fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout: Option<Duration>,
    ) -> Result<JobOutcome, ProviderError> {
        check_job(name, command)?;
        self.template_lane(context).await?;
        if !self.lock().previews.contains_key(app_name) {
            return Err(ProviderError::NotFound(format!(
                "no preview application `{app_name}` in {context}"
            )));
        }
        let limit = timeout.unwrap_or(super::DEFAULT_DEPLOY_TIMEOUT);
        let injected = self.enter(SimOp::RunJob, Some(limit)).await?;
        let line = shell_join(command);
        self.lock().log.push(format!(
            "run-preview-job {context}/{app_name} {name}: {line}"
        ));
        Ok(job_outcome(injected, &line))
    }

    async fn list_domains(&self, lane: &Lane) -> Result<Vec<String>, ProviderError> {
        self.enter(SimOp::ListDomains, None).await?;
        Ok(self.target(lane).await?.domains)
    }

    async fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, ProviderError> {
        self.enter(SimOp::ListPreviewApps, None).await?;
        self.template_lane(context).await?;
        Ok(self
            .lock()
            .previews
            .values()
            .filter(|(app, _)| app.name.starts_with(name_prefix))
            .map(|(app, _)| app.clone())
            .collect())
    }

    async fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, ProviderError> {
        if name.trim().is_empty() || image_reference.trim().is_empty() {
            return Err(ProviderError::Invalid(
                "a preview application needs a name and an image reference".to_string(),
            ));
        }
        env_text::check_updates(env, &[]).map_err(ProviderError::Invalid)?;
        self.enter(SimOp::CreatePreviewApp, None).await?;
        self.template_lane(context).await?;
        let id = self.next_id();
        let mut state = self.lock();
        let provider_app_id = state
            .previews
            .get(name)
            .map(|(app, _)| app.provider_app_id.clone())
            .unwrap_or_else(|| format!("sim-app-{id}"));
        let app = PreviewApp {
            name: name.to_string(),
            domains: domains.to_vec(),
            image_reference: image_reference.trim().to_string(),
            provider_app_id,
        };
        state.previews.insert(
            name.to_string(),
            (app.clone(), env_text::apply(&Vec::new(), env, &[])),
        );
        state
            .log
            .push(format!("create-preview-app {context} {name}"));
        Ok(app)
    }

    async fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), ProviderError> {
        self.enter(SimOp::DeletePreviewApp, None).await?;
        self.template_lane(context).await?;
        let mut state = self.lock();
        if state.previews.remove(name).is_some() {
            state
                .log
                .push(format!("delete-preview-app {context} {name}"));
        }
        Ok(())
    }
}

/// A job the simulated provider will run: a valid name and a command.
fn check_job(name: &str, command: &[String]) -> Result<(), ProviderError> {
    check_job_name(name)?;
    if command.is_empty() || command.iter().all(|c| c.trim().is_empty()) {
        return Err(ProviderError::Invalid("a job needs a command".to_string()));
    }
    Ok(())
}

/// A simulated job's outcome: the injected failure, else a pass.
fn job_outcome(injected: Option<String>, line: &str) -> JobOutcome {
    match injected {
        Some(detail) => JobOutcome {
            status: DeployStatus::Fail,
            exit_code: Some(1),
            detail,
        },
        None => JobOutcome {
            status: DeployStatus::Pass,
            exit_code: Some(0),
            detail: format!("simulated job ran: {line}"),
        },
    }
}
