//! The host capabilities a driver invocation can reach, one narrow trait
//! each (the Spin "factor" shape). The runtime enforces the invocation's
//! scope (declared record kinds, the product's lanes) before any of these
//! is called, so implementations only do the work.

use std::sync::Arc;

use async_trait::async_trait;

use super::bindings::launchplane::driver::{probe, provider, records};
use super::bindings::{DriverError, HostError, Invocation};

/// One lane of the invocation's product: where provider calls may go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lane {
    pub context: String,
    pub instance: String,
}

/// What one invocation may touch, fixed by the host before dispatch.
#[derive(Debug, Clone)]
pub struct InvocationScope {
    pub product: String,
    pub context: String,
    pub instance: String,
    /// Lanes of the product's profile; provider calls outside them are denied.
    pub lanes: Vec<Lane>,
    /// Record kinds the action declared in `writes_records`.
    pub writes_records: Vec<String>,
}

impl InvocationScope {
    pub fn allows_lane(&self, context: &str, instance: &str) -> bool {
        self.lanes
            .iter()
            .any(|l| l.context == context && l.instance == instance)
    }

    pub fn allows_context(&self, context: &str) -> bool {
        self.context == context || self.lanes.iter().any(|l| l.context == context)
    }

    pub fn allows_write(&self, kind: &str) -> bool {
        self.writes_records.iter().any(|k| k == kind)
    }
}

/// Records of the invocation's product.
#[async_trait]
pub trait RecordAccess: Send + Sync {
    async fn get(
        &self,
        scope: &InvocationScope,
        kind: &str,
        record_id: &str,
    ) -> Result<Option<String>, HostError>;
    async fn list(
        &self,
        scope: &InvocationScope,
        kind: &str,
        query: &records::RecordQuery,
    ) -> Result<Vec<String>, HostError>;
    async fn put(
        &self,
        scope: &InvocationScope,
        kind: &str,
        document: &str,
    ) -> Result<String, HostError>;
}

/// The job name of the WIT's unnamed `run-job`.
pub const DEFAULT_JOB_NAME: &str = "launchplane-job";

/// Provider operations in provider-neutral words.
#[async_trait]
pub trait ProviderAccess: Send + Sync {
    async fn resolve_target(&self, lane: &Lane) -> Result<provider::Target, HostError>;
    async fn env_keys(&self, lane: &Lane) -> Result<Vec<String>, HostError>;
    async fn update_env(
        &self,
        lane: &Lane,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), HostError>;
    async fn set_image(&self, lane: &Lane, image_reference: &str) -> Result<(), HostError>;
    async fn deploy(
        &self,
        lane: &Lane,
        timeout_seconds: u32,
    ) -> Result<provider::DeployOutcome, HostError>;
    /// Runs job `name` (see `providers::check_job_name`) on the lane.
    async fn run_job(
        &self,
        lane: &Lane,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<provider::JobOutcome, HostError>;
    async fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<provider::PreviewApp>, HostError>;
    async fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<provider::PreviewApp, HostError>;
    async fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), HostError>;
    /// Runs job `name` on preview application `app_name` of `context`.
    async fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<provider::JobOutcome, HostError>;
}

/// Runtime settings of a lane (plain values, never secrets).
#[async_trait]
pub trait SettingsAccess: Send + Sync {
    /// The values of `keys` set for `lane`, in the order asked.
    async fn resolve(
        &self,
        lane: &Lane,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, HostError>;
}

/// HTTP health probes.
#[async_trait]
pub trait ProbeAccess: Send + Sync {
    async fn check(&self, check: &probe::HealthCheck) -> Result<probe::HealthResult, HostError>;
    /// A check of what the pages say (JSON fields, required text).
    async fn check_content(
        &self,
        check: &probe::ContentCheck,
    ) -> Result<probe::HealthResult, HostError>;
}

/// Routes a hook called by a base driver to the product's driver.
#[async_trait]
pub trait HookRouter: Send + Sync {
    async fn call(
        &self,
        scope: &InvocationScope,
        invocation: &Invocation,
        hook: &str,
        payload: &str,
    ) -> Result<String, DriverError>;
}

/// The capabilities wired into this host. A missing one answers
/// `unavailable` naming the capability; it never pretends to succeed.
#[derive(Clone, Default)]
pub struct HostServices {
    pub records: Option<Arc<dyn RecordAccess>>,
    pub provider: Option<Arc<dyn ProviderAccess>>,
    pub probe: Option<Arc<dyn ProbeAccess>>,
    pub settings: Option<Arc<dyn SettingsAccess>>,
    pub hooks: Option<Arc<dyn HookRouter>>,
}
