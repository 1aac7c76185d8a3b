//! The host capabilities a driver may use, behind one trait.
//!
//! Inside a component the trait is implemented over the WIT imports; in
//! native tests [`crate::testing::FakeHost`] implements it. Every call is
//! scoped by the host to the invocation being served.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::error::{DriverError, HostError};

/// Severity of a driver log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Filter for [`Host::record_list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    pub context: Option<String>,
    pub instance: Option<String>,
    /// At most this many records, newest first (0 means the host default).
    pub limit: u32,
}

/// A lane's runtime target in provider-neutral words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub context: String,
    pub instance: String,
    pub target_type: String,
    pub target_name: String,
    pub domains: Vec<String>,
    pub healthcheck_path: String,
}

/// Result of a deploy-and-wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOutcome {
    /// `pass` or `fail`.
    pub status: String,
    pub detail: String,
    pub started_at: String,
    pub finished_at: String,
}

/// Result of a one-off job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub status: String,
    pub exit_code: Option<i32>,
    pub detail: String,
}

/// A preview application as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewApp {
    pub name: String,
    pub domains: Vec<String>,
    pub image_reference: String,
}

/// An HTTP health probe request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthCheck {
    /// Tried in order; the first 2xx wins.
    pub urls: Vec<String>,
    pub timeout_ms: u32,
    /// Keep polling until a pass or this much time has gone.
    pub poll_for_ms: u32,
    /// Expected runtime identity JSON, compared with the echo.
    pub expected_identity: Option<String>,
}

/// A check of what pages say: each URL's 2xx body must carry the JSON
/// fields (top level, values as JSON text) and contain the text. The host
/// polls like [`HealthCheck`]; a body that does not satisfy the check fails
/// and polling goes on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContentCheck {
    /// Tried in order; the first 2xx whose body satisfies the check wins.
    pub urls: Vec<String>,
    pub timeout_ms: u32,
    /// Keep polling until a pass or this much time has gone.
    pub poll_for_ms: u32,
    /// `(field, expected value as JSON text)`, such as `("ok", "true")`.
    pub json_fields: Vec<(String, String)>,
    /// Text the body must contain; empty for none.
    pub contains: String,
}

/// The outcome of a health probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthResult {
    /// `pass`, `fail` or `skipped`.
    pub status: String,
    pub url: String,
    pub status_code: Option<u16>,
    /// `match`, `mismatch`, `missing`, `malformed` or empty.
    pub identity: String,
    pub detail: String,
}

/// An open pull request of the product's repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
    pub head_sha: String,
    pub labels: Vec<String>,
}

/// What an upsert of a pull request's marker comment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestComment {
    /// `created_comment`, `updated_comment`, `deleted_comment` or
    /// `no_existing_comment`.
    pub action: String,
    pub comment_id: u64,
    pub html_url: String,
}

/// Host capabilities, scoped to one invocation.
pub trait Host {
    fn log(&self, level: LogLevel, message: &str);
    /// RFC 3339 UTC timestamp.
    fn now(&self) -> String;

    fn record_get(&self, kind: &str, record_id: &str) -> Result<Option<Value>, HostError>;
    fn record_list(&self, kind: &str, query: &RecordQuery) -> Result<Vec<Value>, HostError>;
    /// Writes a record; `kind` must be declared in the action's
    /// `writes_records`. Returns the record id.
    fn record_put(&self, kind: &str, record: &Value) -> Result<String, HostError>;

    fn resolve_target(&self, context: &str, instance: &str) -> Result<Target, HostError>;
    fn env_keys(&self, context: &str, instance: &str) -> Result<Vec<String>, HostError>;
    fn update_env(
        &self,
        context: &str,
        instance: &str,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), HostError>;
    fn set_image(
        &self,
        context: &str,
        instance: &str,
        image_reference: &str,
    ) -> Result<(), HostError>;
    fn deploy(
        &self,
        context: &str,
        instance: &str,
        timeout_seconds: u32,
    ) -> Result<DeployOutcome, HostError>;
    /// Runs `command` on the lane's runtime as job `name` (1-63 lower-case
    /// letters, digits or `-`; the provider keeps one job per name and
    /// lane) and waits for it. A job that ran and failed is `Ok` with
    /// status `fail`.
    fn run_job(
        &self,
        context: &str,
        instance: &str,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError>;
    /// Runs job `name` (as [`Host::run_job`]) on the preview application
    /// `app_name` of the preview `context`; `NotFound` when there is none.
    fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError>;
    /// Waits `milliseconds` (between retries, say). The invocation's
    /// deadline keeps running; the host's threads are not held.
    fn sleep(&self, milliseconds: u32);
    fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, HostError>;
    fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, HostError>;
    fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), HostError>;

    /// A lane's runtime settings: the values of `keys` set in its runtime
    /// environment records (global, then context, then instance; the
    /// narrowest wins), in the order asked, unset keys left out. Never a
    /// secret: asking for a secret-shaped key (a `_`-separated part that is
    /// `PASSWORD`, `TOKEN`, `SECRET` or `KEY`) is refused.
    fn settings(
        &self,
        context: &str,
        instance: &str,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, HostError>;
    /// The base URL previews of `context` live under (its
    /// `LAUNCHPLANE_PREVIEW_BASE_URL` runtime setting, else the host's);
    /// `None` when neither is set.
    fn preview_base_url(&self, context: &str) -> Result<Option<String>, HostError>;

    /// Open pull requests of the product's repository labelled `label`
    /// (any when blank), by number; at most `max_pages` pages of 100. The
    /// host reads the token; another repository is `Denied`.
    fn github_open_pull_requests(
        &self,
        context: &str,
        repository: &str,
        label: &str,
        max_pages: u32,
    ) -> Result<Vec<PullRequest>, HostError>;
    /// Creates or updates the one comment of pull request `number` holding
    /// `marker` (which `body` must contain); with `delete`, deletes it.
    fn github_upsert_comment(
        &self,
        context: &str,
        repository: &str,
        number: u64,
        marker: &str,
        body: &str,
        delete: bool,
    ) -> Result<PullRequestComment, HostError>;
    /// Dispatches workflow `workflow_id` of the product's repository on
    /// `git_ref` with `inputs`.
    fn github_dispatch_workflow(
        &self,
        context: &str,
        repository: &str,
        workflow_id: &str,
        git_ref: &str,
        inputs: &[(String, String)],
    ) -> Result<(), HostError>;

    fn health_check(&self, check: &HealthCheck) -> Result<HealthResult, HostError>;
    /// Checks what the pages say ([`ContentCheck`]); `identity` is empty.
    fn content_check(&self, check: &ContentCheck) -> Result<HealthResult, HostError>;

    /// Calls a named extension hook on the product's driver. Payload and
    /// answer are JSON text; a product whose driver does not implement the
    /// hook answers `{}`.
    fn call_hook(&self, hook: &str, payload: &str) -> Result<String, DriverError>;
}

/// Typed conveniences over any [`Host`].
pub trait HostExt: Host {
    /// Reads a record and deserialises it.
    fn get<T: DeserializeOwned>(
        &self,
        kind: &str,
        record_id: &str,
    ) -> Result<Option<T>, HostError> {
        match self.record_get(kind, record_id)? {
            Some(value) => serde_json::from_value(value).map(Some).map_err(|e| {
                HostError::Invalid(format!(
                    "stored {kind} record `{record_id}` is malformed: {e}"
                ))
            }),
            None => Ok(None),
        }
    }

    /// Serialises and writes a record, returning its id.
    fn put<T: Serialize>(&self, kind: &str, record: &T) -> Result<String, HostError> {
        let value = serde_json::to_value(record)
            .map_err(|e| HostError::Invalid(format!("{kind} record does not serialise: {e}")))?;
        self.record_put(kind, &value)
    }

    /// Calls a hook with a typed payload and a typed answer.
    fn hook<P: Serialize, R: DeserializeOwned>(
        &self,
        hook: &str,
        payload: &P,
    ) -> Result<R, DriverError> {
        let payload = serde_json::to_string(payload).map_err(|e| {
            DriverError::Internal(format!("hook `{hook}` payload does not serialise: {e}"))
        })?;
        let answer = self.call_hook(hook, &payload)?;
        serde_json::from_str(&answer).map_err(|e| {
            DriverError::Internal(format!("hook `{hook}` answered malformed JSON: {e}"))
        })
    }
}

impl<H: Host + ?Sized> HostExt for H {}
