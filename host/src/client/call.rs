//! One call, end to end: configuration, token, discovery, envelope,
//! schema check, idempotency key, POST, polling, outputs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::catalogue::{RemoteAction, RemoteDriver, fetch_driver, resolve_action};
use super::idempotency::{check_key, derive_key, local_key};
use super::outputs::{
    Summary, append_github_output, append_step_summary, output_entries, write_output_file,
};
use super::payload::{Built, JsonSource, build_envelope, parse_set, validate_payload};
use super::poll::{PollPolicy, wait_for_operation};
use super::token::{acquire_token, default_audience};
use super::{ClientError, Console, Env, Exit, Remote, Reply, RetryPolicy, ServiceUrl};
use crate::registry::{Execution, Idempotency};

/// What to call and how. Fields left `None` fall back to the environment
/// (`LAUNCHPLANE_SERVICE_URL`, `LAUNCHPLANE_SERVICE_AUDIENCE`,
/// `LAUNCHPLANE_TOKEN_FILE`).
#[derive(Debug, Clone)]
pub struct CallOptions {
    pub driver: String,
    /// An action id (`stable_deploy`) or route name (`deploy`).
    pub action: String,
    pub product: Option<String>,
    pub instance: Option<String>,
    pub json: Option<JsonSource>,
    /// `key.path=value`, applied in order after `json`.
    pub sets: Vec<String>,
    pub idempotency_key: Option<String>,
    pub service_url: Option<String>,
    pub audience: Option<String>,
    pub token_file: Option<PathBuf>,
    /// Write the response JSON here instead of stdout.
    pub output: Option<PathBuf>,
    /// The whole call, polling included; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Poll async operations to the end (else return once accepted).
    pub wait: bool,
    pub retry: RetryPolicy,
    pub poll: PollPolicy,
}

impl CallOptions {
    pub fn new(driver: impl Into<String>, action: impl Into<String>) -> CallOptions {
        CallOptions {
            driver: driver.into(),
            action: action.into(),
            product: None,
            instance: None,
            json: None,
            sets: Vec::new(),
            idempotency_key: None,
            service_url: None,
            audience: None,
            token_file: None,
            output: None,
            timeout: Some(Duration::from_secs(30 * 60)),
            wait: true,
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
        }
    }
}

/// What happened. `response` is the document written to stdout /
/// `--output`: the service's answer, and for async actions also the final
/// `operation` and its `operation_result`.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub exit: Exit,
    pub response: Option<Value>,
    /// Why the exit is not `Ok`.
    pub error: Option<String>,
    pub driver_id: String,
    pub action_id: String,
    pub product: String,
    pub instance: String,
    pub idempotency_key: Option<String>,
    /// The body to POST, once it passed the schema check (`None`: nothing
    /// was sent).
    pub request: Option<Value>,
}

/// Fields of a sync result that report failure: `status` or any
/// `*_status` whose value is `fail`, `failed` or `blocked`.
pub(crate) fn failing_statuses(result: &Value) -> Vec<String> {
    result
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .filter(|(k, v)| {
                    (k.as_str() == "status" || k.ends_with("_status"))
                        && matches!(v.as_str(), Some("fail" | "failed" | "blocked"))
                })
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs one call and records what happened in `outcome` as it goes.
async fn flow(
    options: &CallOptions,
    env: &Env,
    console: &Console,
    outcome: &mut CallOutcome,
) -> Result<(), ClientError> {
    // Everything local first: nothing leaves the process for a bad flag.
    let (service, base) = check_local(options, env, console)?;
    let deadline = options.timeout.map(|t| Instant::now() + t);
    let remote = connect(
        service,
        options.audience.clone(),
        options.token_file.clone(),
        env,
        console,
        options.retry.clone(),
        deadline,
    )
    .await?;

    let (driver, _) = fetch_driver(&remote, options.driver.trim(), console).await?;
    let action = resolve_action(&driver, &options.action)?.clone();
    outcome.driver_id = driver.driver_id.clone();
    outcome.action_id = action.action_id.clone();

    let built = build_envelope(
        &action,
        base,
        &options.sets,
        options.product.as_deref(),
        options.instance.as_deref(),
    )?;
    outcome.product = built.product.clone();
    outcome.instance = built.instance.clone();
    for note in &built.notes {
        console.note(&format!("launchplane: {note}"));
    }
    validate_payload(&action, &built.payload)?;
    outcome.request = Some(built.body.clone());

    let key = choose_key(options, env, console, &driver, &action, &built);
    if let Some(key) = &key {
        console.note(&format!("launchplane: idempotency key {key}"));
    }
    outcome.idempotency_key = key.clone();

    console.note(&format!(
        "launchplane: POST {} ({} `{}` for product `{}`)",
        action.route_path, driver.driver_id, action.action_id, built.product
    ));
    let reply = remote
        .post(&action.route_path, &built.body, key.as_deref(), console)
        .await?;
    if !reply.is_success() {
        outcome.response = Some(reply.body.clone());
        return Err(refusal(&driver, &action, &reply));
    }
    let response = reply.body;
    if response["replayed"] == Value::Bool(true) {
        console.note(&format!(
            "launchplane: replayed the answer of an earlier request with this key (original trace {})",
            response["original_trace_id"].as_str().unwrap_or_default()
        ));
    }
    outcome.response = Some(response.clone());

    match action.execution {
        Execution::Sync => finish_sync(&driver, &action, &response),
        Execution::Async => finish_async(options, &remote, console, outcome, response).await,
    }
}

/// Checks the flags that need no network: the service URL, the
/// idempotency key and each `--set`, then loads the `--json` payload.
fn check_local(
    options: &CallOptions,
    env: &Env,
    console: &Console,
) -> Result<(ServiceUrl, Option<Map<String, Value>>), ClientError> {
    let service = options
        .service_url
        .clone()
        .or_else(|| env.get("LAUNCHPLANE_SERVICE_URL"))
        .ok_or_else(|| {
            ClientError::config(
                "No service URL: pass --service-url or set LAUNCHPLANE_SERVICE_URL.",
            )
        })?;
    let service = ServiceUrl::parse(&service)?;
    if let Some(key) = &options.idempotency_key {
        check_key(key.trim()).map_err(|e| ClientError::config(format!("{e}.")))?;
    }
    for set in &options.sets {
        parse_set(set)?;
    }
    let base = match &options.json {
        Some(source) => Some(source.load(console)?),
        None => None,
    };
    Ok((service, base))
}

/// The idempotency key to send: none when the action takes none, else the
/// given key, else one derived from the call, else a local random one.
fn choose_key(
    options: &CallOptions,
    env: &Env,
    console: &Console,
    driver: &RemoteDriver,
    action: &RemoteAction,
    built: &Built,
) -> Option<String> {
    match action.idempotency {
        Idempotency::None => {
            if options.idempotency_key.is_some() {
                console.note(&format!(
                    "launchplane: `{}` does not take an idempotency key; --idempotency-key is ignored",
                    action.action_id
                ));
            }
            None
        }
        _ => Some(
            options
                .idempotency_key
                .as_deref()
                .map(|k| k.trim().to_string())
                .or_else(|| {
                    derive_key(
                        env,
                        &driver.driver_id,
                        &action.action_id,
                        &built.product,
                        &built.instance,
                        &built.payload,
                    )
                })
                .unwrap_or_else(local_key),
        ),
    }
}

/// The error for a refused POST, with its exit code and a hint for the
/// common causes.
fn refusal(driver: &RemoteDriver, action: &RemoteAction, reply: &Reply) -> ClientError {
    let (exit, hint) = match reply.status {
        401 => (
            Exit::Config,
            " The service did not accept the token: check the audience (`--audience`, LAUNCHPLANE_SERVICE_AUDIENCE) and that the token is current.",
        ),
        403 if reply.error_code() == "authorization_denied" => (
            Exit::Refused,
            " The caller's policy rule must allow this action for the product and lane (see docs/tenant-workflows.md).",
        ),
        500..=599 => (Exit::Failed, ""),
        _ => (Exit::Refused, ""),
    };
    ClientError::new(
        exit,
        format!(
            "{} `{}` was refused: {}.{hint}",
            driver.driver_id,
            action.action_id,
            reply.describe()
        ),
    )
}

/// Ends a sync call: it fails when the result reports a failing status.
fn finish_sync(
    driver: &RemoteDriver,
    action: &RemoteAction,
    response: &Value,
) -> Result<(), ClientError> {
    let failing = failing_statuses(&response["result"]);
    if !failing.is_empty() {
        return Err(ClientError::failed(format!(
            "{} `{}` was accepted but reported {}.",
            driver.driver_id,
            action.action_id,
            failing.join(", ")
        )));
    }
    Ok(())
}

/// Ends an async call: polls the operation (unless told not to wait) and
/// adds its final state to the response.
async fn finish_async(
    options: &CallOptions,
    remote: &Remote,
    console: &Console,
    outcome: &mut CallOutcome,
    mut response: Value,
) -> Result<(), ClientError> {
    let operation_id = response["records"]["operation_id"]
        .as_str()
        .or_else(|| response["result"]["operation"]["operation_id"].as_str())
        .unwrap_or_default()
        .to_string();
    let poll_url = response["result"]["poll_url"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("/v1/operations/{operation_id}"));
    if operation_id.is_empty() && response["result"]["poll_url"].is_null() {
        return Err(ClientError::failed(
            "The service accepted an async action but named no operation to poll.",
        ));
    }
    if !options.wait {
        console.note(&format!(
            "launchplane: operation {operation_id} accepted; not waiting (poll {poll_url})"
        ));
        return Ok(());
    }
    console.note(&format!(
        "launchplane: waiting for operation {operation_id}"
    ));
    let polled = match wait_for_operation(remote, &poll_url, &options.poll, console).await {
        Ok(polled) => polled,
        Err(mut error) => {
            if let Some(last) = error.response.take() {
                response["operation"] = last["operation"].clone();
                outcome.response = Some(response);
            }
            return Err(error);
        }
    };
    response["operation"] = polled["operation"].clone();
    if let Some(result) = polled.get("result") {
        response["operation_result"] = result.clone();
    }
    outcome.response = Some(response.clone());
    let operation = &response["operation"];
    match operation["status"].as_str().unwrap_or_default() {
        "pass" => Ok(()),
        status => Err(ClientError::failed(format!(
            "Operation {operation_id} ended `{status}`: {}: {}",
            operation["error_code"].as_str().unwrap_or("-"),
            operation["error_message"].as_str().unwrap_or("-")
        ))),
    }
}

/// An authenticated [`Remote`]: the audience (given, else
/// `LAUNCHPLANE_SERVICE_AUDIENCE`, else the service URL's host), then a
/// token (given file, else `LAUNCHPLANE_TOKEN_FILE`, else GitHub Actions
/// OIDC); fails closed without one.
pub async fn connect(
    service: ServiceUrl,
    audience: Option<String>,
    token_file: Option<PathBuf>,
    env: &Env,
    console: &Console,
    retry: RetryPolicy,
    deadline: Option<Instant>,
) -> Result<Remote, ClientError> {
    let audience = audience
        .filter(|a| !a.trim().is_empty())
        .or_else(|| env.get("LAUNCHPLANE_SERVICE_AUDIENCE"))
        .unwrap_or_else(|| default_audience(&service));
    let token_file = token_file.or_else(|| env.get("LAUNCHPLANE_TOKEN_FILE").map(PathBuf::from));
    let (token, source) = acquire_token(
        env,
        token_file.as_deref(),
        &audience,
        &retry,
        deadline,
        console,
    )
    .await?;
    console.note(&format!("launchplane: authenticating with {source}"));
    Remote::new(service, &token, retry, deadline)
}

/// Runs one call and reports what happened; writes nothing but progress
/// notes (see [`run_call`] for the outputs).
pub async fn call(options: &CallOptions, env: &Env, console: &Console) -> CallOutcome {
    let mut outcome = CallOutcome {
        exit: Exit::Ok,
        response: None,
        error: None,
        driver_id: options.driver.trim().to_string(),
        action_id: options.action.trim().to_string(),
        product: options.product.clone().unwrap_or_default(),
        instance: options.instance.clone().unwrap_or_default(),
        idempotency_key: None,
        request: None,
    };
    if let Err(error) = flow(options, env, console, &mut outcome).await {
        outcome.exit = error.exit;
        outcome.error = Some(error.message);
        if outcome.response.is_none() {
            outcome.response = error.response;
        }
    }
    outcome
}

/// [`call`], then the outputs: the response JSON on stdout (or in
/// `--output`), step outputs in `$GITHUB_OUTPUT`, a summary in
/// `$GITHUB_STEP_SUMMARY`, and the error on stderr. Returns the exit class.
pub async fn run_call(options: &CallOptions, env: &Env, console: &Console) -> CallOutcome {
    let mut outcome = call(options, env, console).await;
    let mut problems = Vec::new();
    if let Some(response) = &outcome.response {
        let text = format!(
            "{}\n",
            serde_json::to_string_pretty(response).unwrap_or_else(|_| response.to_string())
        );
        match &options.output {
            Some(path) => {
                if let Err(e) = write_output_file(path, &text, console) {
                    problems.push(e);
                }
            }
            None => console.print(&text),
        }
    }
    if let Some(path) = env.get("GITHUB_OUTPUT") {
        let mut entries = outcome
            .response
            .as_ref()
            .map(|r| output_entries(r, outcome.idempotency_key.as_deref()))
            .unwrap_or_default();
        entries.push(("exit_code".to_string(), outcome.exit.code().to_string()));
        if let Err(e) = append_github_output(std::path::Path::new(&path), &entries, console) {
            problems.push(e);
        }
    }
    if let Some(path) = env.get("GITHUB_STEP_SUMMARY") {
        let outcome_label = match (outcome.exit, &outcome.response) {
            (Exit::Ok, Some(r)) if r["replayed"] == Value::Bool(true) => {
                "accepted (replayed)".to_string()
            }
            (Exit::Ok, _) => "accepted".to_string(),
            (exit, _) => format!("{} (exit {})", exit.label(), exit.code()),
        };
        let summary = Summary {
            driver_id: &outcome.driver_id,
            action_id: &outcome.action_id,
            product: &outcome.product,
            instance: &outcome.instance,
            outcome: &outcome_label,
            response: outcome.response.as_ref(),
            error: outcome.error.as_deref(),
        };
        if let Err(e) =
            append_step_summary(std::path::Path::new(&path), &summary.markdown(), console)
        {
            problems.push(e);
        }
    }
    if let Some(error) = &outcome.error {
        console.note(&format!(
            "launchplane: error: {error} [{}; exit {}]",
            outcome.exit.label(),
            outcome.exit.code()
        ));
    }
    for problem in problems {
        console.note(&format!("launchplane: error: {}", problem.message));
        if outcome.exit == Exit::Ok {
            outcome.exit = Exit::Internal;
            outcome.error = Some(problem.message);
        }
    }
    outcome
}
