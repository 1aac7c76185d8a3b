//! [`FakeHost`]: the scripted host a driver runs against natively. It
//! refuses writes of record kinds the action did not declare, keeps records
//! in memory, tracks lane images and preview apps, answers hooks and pages
//! from a script, and records every call.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use crate::error::{DriverError, HostError};
use crate::host::{
    ContentCheck, DeployOutcome, HealthCheck, HealthResult, Host, JobOutcome, LogLevel, PreviewApp,
    PullRequest, PullRequestComment, RecordQuery, Target,
};

/// One call a driver made to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCall {
    pub op: String,
    pub args: Vec<String>,
}

/// An in-memory host for native driver tests.
#[derive(Default)]
pub struct FakeHost {
    records: RefCell<BTreeMap<String, Vec<Value>>>,
    targets: RefCell<BTreeMap<(String, String), Target>>,
    images: RefCell<BTreeMap<(String, String), String>>,
    env: RefCell<BTreeMap<(String, String), BTreeMap<String, String>>>,
    preview_apps: RefCell<BTreeMap<String, PreviewApp>>,
    hooks: RefCell<BTreeMap<String, Result<String, DriverError>>>,
    failures: RefCell<BTreeMap<String, HostError>>,
    health: RefCell<BTreeMap<String, HealthResult>>,
    pages: RefCell<BTreeMap<String, (u16, String)>>,
    jobs: RefCell<BTreeMap<String, VecDeque<Result<JobOutcome, HostError>>>>,
    settings: RefCell<BTreeMap<(String, String), BTreeMap<String, String>>>,
    allowed_writes: RefCell<Vec<String>>,
    drop_env_writes: RefCell<bool>,
    calls: RefCell<Vec<HostCall>>,
    logs: RefCell<Vec<(LogLevel, String)>>,
    now: RefCell<String>,
    /// The repository GitHub calls may reach (the product's).
    repository: RefCell<String>,
    pull_requests: RefCell<Vec<PullRequest>>,
    /// Comments per pull request: `(id, body)`.
    comments: RefCell<BTreeMap<u64, Vec<(u64, String)>>>,
}

impl FakeHost {
    pub fn new() -> Self {
        let host = FakeHost::default();
        *host.now.borrow_mut() = "2026-01-01T00:00:00Z".to_string();
        host
    }

    /// Binds a lane to a runtime target.
    pub fn with_target(self, target: Target) -> Self {
        self.targets
            .borrow_mut()
            .insert((target.context.clone(), target.instance.clone()), target);
        self
    }

    /// Scripts the answer of a hook (as JSON text) or its failure.
    pub fn with_hook(self, hook: &str, answer: Result<String, DriverError>) -> Self {
        self.hooks.borrow_mut().insert(hook.to_string(), answer);
        self
    }

    /// Makes a host operation (`deploy`, `set_image`, `health_check`, ...)
    /// fail with `error`.
    pub fn with_failure(self, op: &str, error: HostError) -> Self {
        self.failures.borrow_mut().insert(op.to_string(), error);
        self
    }

    /// Scripts the health result for a URL (others pass).
    pub fn with_health(self, url: &str, result: HealthResult) -> Self {
        self.health.borrow_mut().insert(url.to_string(), result);
        self
    }

    /// Serves a page to content checks: `status` and `body` for `url`. A
    /// URL without a page does not answer.
    pub fn with_page(self, url: &str, status: u16, body: &str) -> Self {
        self.pages
            .borrow_mut()
            .insert(url.to_string(), (status, body.to_string()));
        self
    }

    /// Seeds a preview application (as if a refresh had created it).
    pub fn with_preview_app(self, app: PreviewApp) -> Self {
        self.preview_apps.borrow_mut().insert(app.name.clone(), app);
        self
    }

    /// Scripts the next runs of job `name`, one answer per run, in order;
    /// once they are used up (or without a script) a job passes.
    pub fn with_job(self, name: &str, answers: Vec<Result<JobOutcome, HostError>>) -> Self {
        self.jobs
            .borrow_mut()
            .insert(name.to_string(), answers.into());
        self
    }

    /// Seeds a key of a lane's runtime env (as if it were already set on
    /// the provider's target, a bound secret, say), without a recorded call.
    pub fn with_env(self, context: &str, instance: &str, key: &str, value: &str) -> Self {
        self.env
            .borrow_mut()
            .entry((context.to_string(), instance.to_string()))
            .or_default()
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Accepts env updates without keeping them (a provider that does not
    /// retain an update), so a driver's read-back can be tested.
    pub fn dropping_env_writes(self) -> Self {
        *self.drop_env_writes.borrow_mut() = true;
        self
    }

    /// Sets a lane's runtime setting (what the host would resolve from the
    /// runtime environment records).
    pub fn with_setting(self, context: &str, instance: &str, key: &str, value: &str) -> Self {
        self.settings
            .borrow_mut()
            .entry((context.to_string(), instance.to_string()))
            .or_default()
            .insert(key.to_string(), value.to_string());
        self
    }

    /// The product's repository, the only one GitHub calls may reach.
    pub fn with_repository(self, repository: &str) -> Self {
        *self.repository.borrow_mut() = repository.to_string();
        self
    }

    /// An open pull request of the product's repository.
    pub fn with_pull_request(self, pull: PullRequest) -> Self {
        self.pull_requests.borrow_mut().push(pull);
        self
    }

    /// The comments of pull request `number`, as `(id, body)`.
    pub fn comments(&self, number: u64) -> Vec<(u64, String)> {
        self.comments
            .borrow()
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// `Denied` unless `repository` is the one set by
    /// [`FakeHost::with_repository`].
    fn github_repository(&self, repository: &str) -> Result<(), HostError> {
        if !self.repository.borrow().eq_ignore_ascii_case(repository) {
            return Err(HostError::Denied(format!(
                "repository `{repository}` is not the product's"
            )));
        }
        Ok(())
    }

    /// Seeds a stored record.
    pub fn with_record(self, kind: &str, record: Value) -> Self {
        self.records
            .borrow_mut()
            .entry(kind.to_string())
            .or_default()
            .push(record);
        self
    }

    pub fn set_now(&self, now: &str) {
        *self.now.borrow_mut() = now.to_string();
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<HostCall> {
        self.calls.borrow().clone()
    }

    /// The operations called so far, in order.
    pub fn ops(&self) -> Vec<String> {
        self.calls.borrow().iter().map(|c| c.op.clone()).collect()
    }

    /// Stored records of a kind, oldest first.
    pub fn records(&self, kind: &str) -> Vec<Value> {
        self.records.borrow().get(kind).cloned().unwrap_or_default()
    }

    /// The image a lane points at.
    pub fn image(&self, context: &str, instance: &str) -> Option<String> {
        self.images
            .borrow()
            .get(&(context.to_string(), instance.to_string()))
            .cloned()
    }

    /// A lane's runtime env as `update_env` left it (values included, for
    /// tests that check what was persisted).
    pub fn env(&self, context: &str, instance: &str) -> BTreeMap<String, String> {
        self.env
            .borrow()
            .get(&(context.to_string(), instance.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.borrow().clone()
    }

    fn note(&self, op: &str, args: &[&str]) -> Result<(), HostError> {
        self.calls.borrow_mut().push(HostCall {
            op: op.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        });
        match self.failures.borrow().get(op) {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// The next scripted answer of job `name`, else a pass.
    fn next_job(&self, name: &str) -> Result<JobOutcome, HostError> {
        let scripted = self
            .jobs
            .borrow_mut()
            .get_mut(name)
            .and_then(VecDeque::pop_front);
        scripted.unwrap_or_else(|| {
            Ok(JobOutcome {
                status: "pass".to_string(),
                exit_code: Some(0),
                detail: String::new(),
            })
        })
    }

    fn target(&self, context: &str, instance: &str) -> Result<Target, HostError> {
        self.targets
            .borrow()
            .get(&(context.to_string(), instance.to_string()))
            .cloned()
            .ok_or_else(|| {
                HostError::NotFound(format!(
                    "no runtime target bound to lane {context}/{instance}"
                ))
            })
    }

    pub(super) fn set_allowed_writes(&self, kinds: &[String]) {
        *self.allowed_writes.borrow_mut() = kinds.to_vec();
    }
}

/// The field the host keys a record kind by: artifact manifests by the
/// artifact id the product minted, everything else here by `record_id`.
fn key_field(kind: &str) -> &'static str {
    match kind {
        "artifact_manifest" => "artifact_id",
        _ => "record_id",
    }
}

fn record_key<'a>(kind: &str, record: &'a Value) -> Option<&'a str> {
    record.get(key_field(kind)).and_then(Value::as_str)
}

impl Host for FakeHost {
    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }

    fn now(&self) -> String {
        self.now.borrow().clone()
    }

    fn record_get(&self, kind: &str, id: &str) -> Result<Option<Value>, HostError> {
        self.note("record_get", &[kind, id])?;
        Ok(self.records.borrow().get(kind).and_then(|rs| {
            rs.iter()
                .rev()
                .find(|r| record_key(kind, r) == Some(id))
                .cloned()
        }))
    }

    fn record_list(&self, kind: &str, query: &RecordQuery) -> Result<Vec<Value>, HostError> {
        self.note("record_list", &[kind])?;
        let field_matches = |record: &Value, field: &str, wanted: &Option<String>| match wanted {
            Some(w) => record.get(field).and_then(Value::as_str) == Some(w.as_str()),
            None => true,
        };
        let mut found: Vec<Value> = self
            .records
            .borrow()
            .get(kind)
            .map(|rs| {
                rs.iter()
                    .rev()
                    .filter(|r| field_matches(r, "context", &query.context))
                    .filter(|r| field_matches(r, "instance", &query.instance))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if query.limit > 0 {
            found.truncate(query.limit as usize);
        }
        Ok(found)
    }

    fn record_put(&self, kind: &str, record: &Value) -> Result<String, HostError> {
        self.note("record_put", &[kind])?;
        if !self.allowed_writes.borrow().iter().any(|k| k == kind) {
            return Err(HostError::Denied(format!(
                "this action does not declare `{kind}` in writes_records"
            )));
        }
        let mut records = self.records.borrow_mut();
        let stored = records.entry(kind.to_string()).or_default();
        let field = key_field(kind);
        let id = match record_key(kind, record) {
            Some(id) => id.to_string(),
            None => format!("{kind}-{}", stored.len() + 1),
        };
        let mut record = record.clone();
        if let Value::Object(map) = &mut record {
            map.insert(field.to_string(), Value::String(id.clone()));
        }
        stored.push(record);
        Ok(id)
    }

    fn resolve_target(&self, context: &str, instance: &str) -> Result<Target, HostError> {
        self.note("resolve_target", &[context, instance])?;
        self.target(context, instance)
    }

    fn env_keys(&self, context: &str, instance: &str) -> Result<Vec<String>, HostError> {
        self.note("env_keys", &[context, instance])?;
        self.target(context, instance)?;
        Ok(self
            .env
            .borrow()
            .get(&(context.to_string(), instance.to_string()))
            .map(|env| env.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn update_env(
        &self,
        context: &str,
        instance: &str,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), HostError> {
        let keys: Vec<&str> = set.iter().map(|(k, _)| k.as_str()).collect();
        self.note("update_env", &[context, instance, &keys.join(",")])?;
        self.target(context, instance)?;
        if *self.drop_env_writes.borrow() {
            return Ok(());
        }
        let mut env = self.env.borrow_mut();
        let lane = env
            .entry((context.to_string(), instance.to_string()))
            .or_default();
        for (key, value) in set {
            lane.insert(key.clone(), value.clone());
        }
        for key in unset {
            lane.remove(key);
        }
        Ok(())
    }

    fn set_image(
        &self,
        context: &str,
        instance: &str,
        image_reference: &str,
    ) -> Result<(), HostError> {
        self.note("set_image", &[context, instance, image_reference])?;
        self.target(context, instance)?;
        self.images.borrow_mut().insert(
            (context.to_string(), instance.to_string()),
            image_reference.to_string(),
        );
        Ok(())
    }

    fn deploy(
        &self,
        context: &str,
        instance: &str,
        _timeout_seconds: u32,
    ) -> Result<DeployOutcome, HostError> {
        self.note("deploy", &[context, instance])?;
        self.target(context, instance)?;
        let now = self.now();
        Ok(DeployOutcome {
            status: "pass".to_string(),
            detail: String::new(),
            started_at: now.clone(),
            finished_at: now,
        })
    }

    fn run_job(
        &self,
        context: &str,
        instance: &str,
        name: &str,
        command: &[String],
        _timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError> {
        self.note("run_job", &[context, instance, name, &command.join(" ")])?;
        self.target(context, instance)?;
        self.next_job(name)
    }

    fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        _timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError> {
        self.note(
            "run_preview_job",
            &[context, app_name, name, &command.join(" ")],
        )?;
        if !self.preview_apps.borrow().contains_key(app_name) {
            return Err(HostError::NotFound(format!(
                "no preview application `{app_name}` in {context}"
            )));
        }
        self.next_job(name)
    }

    /// Returns at once; the call is recorded with its duration.
    fn sleep(&self, milliseconds: u32) {
        // Recording cannot fail here: only scripted failures do, and a
        // pause has none to script.
        let _ = self.note("sleep", &[&milliseconds.to_string()]);
    }

    fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, HostError> {
        self.note("list_preview_apps", &[context, name_prefix])?;
        Ok(self
            .preview_apps
            .borrow()
            .values()
            .filter(|app| app.name.starts_with(name_prefix))
            .cloned()
            .collect())
    }

    fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        _env: &[(String, String)],
    ) -> Result<PreviewApp, HostError> {
        self.note("create_preview_app", &[context, name, image_reference])?;
        let app = PreviewApp {
            name: name.to_string(),
            domains: domains.to_vec(),
            image_reference: image_reference.to_string(),
        };
        self.preview_apps
            .borrow_mut()
            .insert(name.to_string(), app.clone());
        Ok(app)
    }

    fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), HostError> {
        self.note("delete_preview_app", &[context, name])?;
        match self.preview_apps.borrow_mut().remove(name) {
            Some(_) => Ok(()),
            None => Err(HostError::NotFound(format!(
                "no preview app named `{name}`"
            ))),
        }
    }

    fn settings(
        &self,
        context: &str,
        instance: &str,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, HostError> {
        self.note("settings", &[context, instance, &keys.join(",")])?;
        // As the host does: secrets are never given to drivers.
        if let Some(key) = keys.iter().find(|k| {
            k.to_ascii_uppercase()
                .split('_')
                .any(|part| matches!(part, "PASSWORD" | "TOKEN" | "SECRET" | "KEY"))
        }) {
            return Err(HostError::Invalid(format!(
                "`{key}` is secret-shaped: secrets are never given to drivers"
            )));
        }
        let settings = self.settings.borrow();
        let lane = settings.get(&(context.to_string(), instance.to_string()));
        Ok(keys
            .iter()
            .filter_map(|key| {
                lane.and_then(|l| l.get(key))
                    .map(|value| (key.clone(), value.clone()))
            })
            .collect())
    }

    fn preview_base_url(&self, context: &str) -> Result<Option<String>, HostError> {
        self.note("preview_base_url", &[context])?;
        Ok(self
            .settings
            .borrow()
            .get(&(context.to_string(), String::new()))
            .and_then(|s| s.get("LAUNCHPLANE_PREVIEW_BASE_URL"))
            .cloned())
    }

    fn github_open_pull_requests(
        &self,
        context: &str,
        repository: &str,
        label: &str,
        max_pages: u32,
    ) -> Result<Vec<PullRequest>, HostError> {
        let pages = max_pages.to_string();
        self.note(
            "github_open_pull_requests",
            &[context, repository, label, &pages],
        )?;
        self.github_repository(repository)?;
        let mut pulls: Vec<PullRequest> = self
            .pull_requests
            .borrow()
            .iter()
            .filter(|p| label.is_empty() || p.labels.iter().any(|l| l == label))
            .cloned()
            .collect();
        pulls.sort_by_key(|p| p.number);
        Ok(pulls)
    }

    fn github_upsert_comment(
        &self,
        context: &str,
        repository: &str,
        number: u64,
        marker: &str,
        body: &str,
        delete: bool,
    ) -> Result<PullRequestComment, HostError> {
        let pr = number.to_string();
        self.note("github_upsert_comment", &[context, repository, &pr, marker])?;
        self.github_repository(repository)?;
        let mut comments = self.comments.borrow_mut();
        let list = comments.entry(number).or_default();
        let found = list.iter().position(|(_, b)| b.contains(marker));
        let url =
            |id: u64| format!("https://github.com/{repository}/pull/{number}#issuecomment-{id}");
        let (action, id) = match (found, delete) {
            (Some(i), true) => ("deleted_comment", list.remove(i).0),
            (None, true) => ("no_existing_comment", 0),
            (Some(i), false) => {
                list[i].1 = body.to_string();
                ("updated_comment", list[i].0)
            }
            (None, false) => {
                let id = 1000 + list.len() as u64;
                list.push((id, body.to_string()));
                ("created_comment", id)
            }
        };
        Ok(PullRequestComment {
            action: action.to_string(),
            comment_id: id,
            html_url: if id == 0 { String::new() } else { url(id) },
        })
    }

    fn github_dispatch_workflow(
        &self,
        context: &str,
        repository: &str,
        workflow_id: &str,
        git_ref: &str,
        inputs: &[(String, String)],
    ) -> Result<(), HostError> {
        let inputs: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let inputs = inputs.join(",");
        self.note(
            "github_dispatch_workflow",
            &[context, repository, workflow_id, git_ref, &inputs],
        )?;
        self.github_repository(repository)
    }

    fn health_check(&self, check: &HealthCheck) -> Result<HealthResult, HostError> {
        let urls = check.urls.join(",");
        self.note("health_check", &[&urls])?;
        for url in &check.urls {
            if let Some(result) = self.health.borrow().get(url) {
                return Ok(result.clone());
            }
        }
        let url = check.urls.first().cloned().unwrap_or_default();
        Ok(HealthResult {
            status: if url.is_empty() { "skipped" } else { "pass" }.to_string(),
            url,
            status_code: Some(200),
            identity: String::new(),
            detail: String::new(),
        })
    }

    /// One round over the served pages (no polling), judged as the host
    /// judges: the first 2xx body with the fields and text passes.
    fn content_check(&self, check: &ContentCheck) -> Result<HealthResult, HostError> {
        let urls = check.urls.join(",");
        self.note("content_check", &[&urls])?;
        let mut answer = HealthResult {
            status: "fail".to_string(),
            url: check.urls.first().cloned().unwrap_or_default(),
            status_code: None,
            identity: String::new(),
            detail: "no answer".to_string(),
        };
        for url in &check.urls {
            let Some((status, body)) = self.pages.borrow().get(url).cloned() else {
                answer.url = url.clone();
                answer.status_code = None;
                answer.detail = format!("GET {url}: connection failed");
                continue;
            };
            answer.url = url.clone();
            answer.status_code = Some(status);
            if !(200..300).contains(&status) {
                answer.detail = format!("GET {url} answered {status}");
                continue;
            }
            match page_mismatch(check, &body) {
                None => {
                    answer.status = "pass".to_string();
                    answer.detail =
                        format!("GET {url} answered {status} with the expected content");
                    return Ok(answer);
                }
                Some(detail) => {
                    answer.detail = format!("GET {url} answered {status}; {detail}");
                    return Ok(answer);
                }
            }
        }
        Ok(answer)
    }

    fn call_hook(&self, hook: &str, payload: &str) -> Result<String, DriverError> {
        self.calls.borrow_mut().push(HostCall {
            op: "call_hook".to_string(),
            args: vec![hook.to_string(), payload.to_string()],
        });
        self.hooks
            .borrow()
            .get(hook)
            .cloned()
            .unwrap_or_else(|| Ok("{}".to_string()))
    }
}

/// Why `body` does not satisfy `check`, as the host words it.
fn page_mismatch(check: &ContentCheck, body: &str) -> Option<String> {
    if !check.json_fields.is_empty() {
        let Ok(Value::Object(payload)) = serde_json::from_str::<Value>(body) else {
            return Some("the body is not a JSON object".to_string());
        };
        for (name, expected) in &check.json_fields {
            let expected: Value = serde_json::from_str(expected).unwrap_or(Value::Null);
            match payload.get(name) {
                Some(observed) if *observed == expected => {}
                Some(observed) => {
                    return Some(format!("field `{name}` is {observed}, expected {expected}"));
                }
                None => return Some(format!("field `{name}` is missing, expected {expected}")),
            }
        }
    }
    if !check.contains.is_empty() && !body.contains(&check.contains) {
        return Some(format!("the body does not contain `{}`", check.contains));
    }
    None
}
