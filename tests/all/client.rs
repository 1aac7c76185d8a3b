//! The tenant client (`launchplane call`) against a running host: the
//! exact request it sends, fail-closed configuration and authentication,
//! unsupported actions, client-side schema checks, idempotent re-runs,
//! async polling, GitHub step outputs, retries, and a GitHub Actions token
//! endpoint whose tokens the service verifies for real.
//!
//! The client takes its environment as a value ([`Env`]) and writes to a
//! captured [`Console`], so every test builds the environment a workflow
//! step would see, with temporary `$GITHUB_OUTPUT` / `$GITHUB_STEP_SUMMARY`
//! files.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use launchplane::auth::dev_issuer::{DevIssuer, DevTokenRequest};
use launchplane::client::{
    CallOptions, CallOutcome, Console, Env, Exit, JsonSource, PollPolicy, RetryPolicy, ServiceUrl,
    derive_key, run_call,
};
use launchplane::ops::{Worker, WorkerConfig};
use launchplane_tests::{AUDIENCE, Service, TestDatabase};
use serde_json::{Value, json};

// ---------------------------------------------------------------------
// A recording proxy: records every request, answers from `fake` when it
// returns something, else forwards to the upstream service.
// ---------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
}

type Fake = Arc<dyn Fn(&Seen) -> Option<(u16, Value)> + Send + Sync>;

#[derive(Clone)]
struct ProxyState {
    upstream: Option<String>,
    fake: Fake,
    seen: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    async fn start(upstream: Option<String>, fake: Fake) -> Proxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = ProxyState {
            upstream,
            fake,
            seen: seen.clone(),
            http: launchplane::tls::default_client(),
        };
        let app = axum::Router::new()
            .fallback(proxy_handler)
            .with_state(state);
        let url = format!("http://{}", launchplane_tests::serve_loopback(app).await);
        Proxy { url, seen }
    }

    /// In front of `service`, faking nothing.
    async fn forward(service: &Service) -> Proxy {
        Proxy::start(Some(service.server.url("")), Arc::new(|_| None)).await
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn posts(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == "POST")
            .collect()
    }
}

async fn proxy_handler(State(state): State<ProxyState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts.headers.clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    state.seen.lock().expect("lock").push(seen.clone());
    if let Some((status, body)) = (state.fake)(&seen) {
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(body),
        )
            .into_response();
    }
    let Some(upstream) = &state.upstream else {
        return (StatusCode::BAD_GATEWAY, "no upstream").into_response();
    };
    let mut forward = state
        .http
        .request(parts.method.clone(), format!("{upstream}{path}"))
        .body(bytes.to_vec());
    for name in ["authorization", "idempotency-key", "content-type", "accept"] {
        if let Some(value) = parts.headers.get(name) {
            forward = forward.header(name, value.clone());
        }
    }
    match forward.send().await {
        Ok(answer) => {
            let status = answer.status();
            let body: Bytes = answer.bytes().await.unwrap_or_default();
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

// ---------------------------------------------------------------------
// A fake GitHub Actions token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): it
// checks the request token and the audience, and mints a real token with
// the test issuer for that audience.
// ---------------------------------------------------------------------

/// An immutable image reference, as generic-web deploys require.
const IMAGE: &str = "ghcr.io/launchplane/demo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const REQUEST_TOKEN: &str = "actions-request-token-0123456789abcdef";

#[derive(Clone)]
struct TokenState {
    issuer: Arc<DevIssuer>,
    /// The claims of the job the tokens are for (audience aside).
    template: Arc<Mutex<DevTokenRequest>>,
    audiences: Arc<Mutex<Vec<String>>>,
    minted: Arc<Mutex<Vec<String>>>,
}

struct TokenEndpoint {
    url: String,
    template: Arc<Mutex<DevTokenRequest>>,
    audiences: Arc<Mutex<Vec<String>>>,
    minted: Arc<Mutex<Vec<String>>>,
}

impl TokenEndpoint {
    async fn start(service: &Service) -> TokenEndpoint {
        let state = TokenState {
            issuer: service.issuer.issuer.clone(),
            template: Arc::new(Mutex::new(DevTokenRequest::new(AUDIENCE))),
            audiences: Arc::new(Mutex::new(Vec::new())),
            minted: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new()
            .route("/idtoken", axum::routing::get(mint_token))
            .with_state(state.clone());
        // GitHub's URL already carries a query; the client appends
        // `&audience=…`.
        let url = format!(
            "http://{}/idtoken?api-version=2.0",
            launchplane_tests::serve_loopback(app).await
        );
        TokenEndpoint {
            url,
            template: state.template,
            audiences: state.audiences,
            minted: state.minted,
        }
    }

    /// Tokens from now on are for a job with these claims.
    fn job(&self, adjust: impl FnOnce(&mut DevTokenRequest)) {
        let mut template = self.template.lock().expect("lock");
        *template = DevTokenRequest::new(AUDIENCE);
        adjust(&mut template);
    }

    fn audiences(&self) -> Vec<String> {
        self.audiences.lock().expect("lock").clone()
    }

    fn minted(&self) -> Vec<String> {
        self.minted.lock().expect("lock").clone()
    }
}

async fn mint_token(
    State(state): State<TokenState>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {REQUEST_TOKEN}"));
    let version = query.iter().any(|(k, v)| k == "api-version" && v == "2.0");
    let audience = query
        .iter()
        .find(|(k, _)| k == "audience")
        .map(|(_, v)| v.clone());
    if !authorized || !version {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "bad request token"})),
        )
            .into_response();
    }
    let Some(audience) = audience else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": "audience missing"})),
        )
            .into_response();
    };
    state.audiences.lock().expect("lock").push(audience.clone());
    let mut request = state.template.lock().expect("lock").clone();
    request.audience = audience;
    let token = state.issuer.mint(&request).expect("mint");
    state.minted.lock().expect("lock").push(token.clone());
    axum::Json(json!({"count": 1, "value": token})).into_response()
}

// ---------------------------------------------------------------------
// The environment of a workflow step.
// ---------------------------------------------------------------------

struct Step {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Step {
    /// A GitHub Actions step with an OIDC token endpoint.
    fn actions(token_url: &str, run_id: &str) -> Step {
        let dir = tempfile::tempdir().expect("dir");
        let vars = vec![
            ("GITHUB_ACTIONS", "true".to_string()),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", token_url.to_string()),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN.to_string()),
            ("GITHUB_REPOSITORY", "launchplane/demo".to_string()),
            ("GITHUB_RUN_ID", run_id.to_string()),
            ("GITHUB_RUN_ATTEMPT", "1".to_string()),
            ("LAUNCHPLANE_SERVICE_AUDIENCE", AUDIENCE.to_string()),
            (
                "GITHUB_OUTPUT",
                dir.path().join("github_output").display().to_string(),
            ),
            (
                "GITHUB_STEP_SUMMARY",
                dir.path().join("step_summary").display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Step { dir, vars }
    }

    /// A terminal outside Actions: nothing but the output files.
    fn local() -> Step {
        let mut step = Step::actions("", "");
        step.vars.retain(|(k, _)| {
            k.starts_with("GITHUB_OUTPUT") || k.starts_with("GITHUB_STEP_SUMMARY")
        });
        step
    }

    fn set(mut self, key: &str, value: &str) -> Step {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_string(), value.to_string()));
        self
    }

    fn unset(mut self, key: &str) -> Step {
        self.vars.retain(|(k, _)| k != key);
        self
    }

    fn env(&self) -> Env {
        Env::from_pairs(self.vars.clone())
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn github_output(&self) -> String {
        self.read("github_output")
    }

    fn summary(&self) -> String {
        self.read("step_summary")
    }

    /// `name=value` pairs of `$GITHUB_OUTPUT` (single-line entries only).
    fn output(&self, name: &str) -> Option<String> {
        self.github_output()
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .next_back()
    }
}

fn fast(mut options: CallOptions, service_url: &str) -> CallOptions {
    options.service_url = Some(service_url.to_string());
    options.timeout = Some(Duration::from_secs(30));
    options.retry = RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
        lane_wait: Duration::ZERO,
        lane_poll: Duration::from_millis(20),
    };
    options.poll = PollPolicy {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    };
    options
}

fn deploy_options(service_url: &str) -> CallOptions {
    let mut options = CallOptions::new("generic-web", "deploy");
    options.product = Some("demo".into());
    options.instance = Some("testing".into());
    options.sets = vec![
        format!("artifact_id={IMAGE}"),
        "source_git_ref=refs/heads/main".into(),
        "timeout_seconds=60".into(),
    ];
    fast(options, service_url)
}

/// Product `demo` on odoo with lane cm/testing under an enabled stable
/// bootstrap policy (seed 003), so a bootstrap passes its request-time
/// proof and is enqueued.
async fn bootstrap_lane() -> crate::odoo_bootstrap::Lanes {
    let policy = crate::odoo_bootstrap::policy;
    crate::odoo_bootstrap::lanes(
        "postgres",
        &[
            (
                "testing",
                "odoo_stable_bootstrap",
                policy("testing", "empty"),
            ),
            ("prod", "odoo_stable_bootstrap", policy("prod", "empty")),
        ],
    )
    .await
}

fn bootstrap_options(service_url: &str) -> CallOptions {
    let mut options = CallOptions::new("odoo", "stable-bootstrap");
    options.product = Some("demo".into());
    options.instance = Some("testing".into());
    options.json = Some(JsonSource::Inline(
        r#"{"context": "cm", "confirmation": "Rebuild CM testing"}"#.into(),
    ));
    fast(options, service_url)
}

struct Run {
    outcome: CallOutcome,
    stdout: String,
    stderr: String,
}

async fn run(options: &CallOptions, step: &Step) -> Run {
    let (console, captured) = Console::capture();
    let outcome = run_call(options, &step.env(), &console).await;
    Run {
        outcome,
        stdout: captured.stdout(),
        stderr: captured.stderr(),
    }
}

/// No secret appears in anything the client produced.
fn assert_no_secrets(run: &Run, step: &Step, secrets: &[String]) {
    let files: Vec<String> = std::fs::read_dir(step.dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let error = run.outcome.error.clone().unwrap_or_default();
    let response = run
        .outcome
        .response
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default();
    let debug = format!("{:?}", run.outcome);
    for secret in secrets
        .iter()
        .chain(std::iter::once(&REQUEST_TOKEN.to_string()))
    {
        for (what, text) in [
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
            ("error", &error),
            ("response", &response),
            ("outcome", &debug),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "a token leaked into {what}"
            );
        }
        for text in &files {
            assert!(
                !text.contains(secret.as_str()),
                "a token leaked into an output file"
            );
        }
    }
}

fn expected_exit(status: u16, response: &Value) -> Exit {
    match status {
        200..=299 => {
            let failing = response["result"].as_object().is_some_and(|r| {
                r.iter().any(|(k, v)| {
                    (k == "status" || k.ends_with("_status"))
                        && matches!(v.as_str(), Some("fail" | "failed" | "blocked"))
                })
            });
            if failing { Exit::Failed } else { Exit::Ok }
        }
        401 => Exit::Config,
        400..=499 => Exit::Refused,
        _ => Exit::Failed,
    }
}

// ---------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_sends_the_documented_envelope_with_a_verified_oidc_token() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("generic-web").await;
    let tokens = TokenEndpoint::start(&service).await;
    let proxy = Proxy::forward(&service).await;
    let step = Step::actions(&tokens.url, "1001");

    let run = run(&deploy_options(&proxy.url), &step).await;

    // One token, for the configured audience, from the Actions endpoint.
    assert_eq!(tokens.audiences(), [AUDIENCE]);
    let minted = tokens.minted();
    assert_eq!(minted.len(), 1);
    let bearer = format!("Bearer {}", minted[0]);

    // Discovery first, then exactly one POST of the documented envelope.
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/v1/drivers/generic-web");
    assert_eq!(seen[0].header("authorization"), Some(bearer.clone()));
    let post = &seen[1];
    assert_eq!(post.method, "POST");
    assert_eq!(post.path, "/v1/drivers/generic-web/deploy");
    assert_eq!(post.header("authorization"), Some(bearer));
    assert_eq!(
        post.header("content-type").as_deref(),
        Some("application/json")
    );
    let payload = json!({
        "product": "demo",
        "instance": "testing",
        "artifact_id": IMAGE,
        "source_git_ref": "refs/heads/main",
        "timeout_seconds": 60
    });
    assert_eq!(
        post.body,
        json!({"schema_version": 1, "product": "demo", "deploy": payload})
    );
    let key = derive_key(
        &step.env(),
        "generic-web",
        "stable_deploy",
        "demo",
        "testing",
        &payload,
    )
    .expect("derived in Actions");
    assert!(
        key.starts_with("lp-call:launchplane/demo:1001:1:generic-web:stable_deploy:demo:testing:"),
        "{key}"
    );
    assert_eq!(post.header("idempotency-key"), Some(key.clone()));
    assert_eq!(run.outcome.idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(run.outcome.request.as_ref(), Some(&post.body));

    // The service verified the token for real and got past authorization
    // and schema validation: whatever the driver answers (the deploy is
    // still being built), it is not an authentication, policy or payload
    // schema refusal, and the exit code follows the answer's status.
    let response = run.outcome.response.clone().expect("a response");
    let code = response["error"]["code"].as_str().unwrap_or_default();
    assert!(
        !matches!(
            code,
            "authentication_required" | "authorization_denied" | "product_driver_mismatch"
        ),
        "{response}"
    );
    assert!(
        !response["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Request payload failed validation"),
        "{response}"
    );
    let trace_id = response["trace_id"].as_str().expect("trace id");
    let events = db
        .store
        .list_audit_events(Some(trace_id), 10)
        .await
        .expect("audit");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].route, "/v1/drivers/generic-web/deploy");
    assert_eq!(events[0].product, "demo");
    assert_eq!(events[0].instance, "testing");
    assert_eq!(events[0].caller_kind, "github_actions");
    assert_eq!(
        run.outcome.exit,
        expected_exit(events[0].status_code, &response),
        "{}",
        run.stderr
    );

    // The response is on stdout; the outputs and summary were written.
    let printed: Value = serde_json::from_str(&run.stdout).expect("stdout is the response JSON");
    assert_eq!(printed, response);
    assert_eq!(step.output("trace_id").as_deref(), Some(trace_id));
    assert_eq!(
        step.output("idempotency_key").as_deref(),
        Some(key.as_str())
    );
    assert_eq!(
        step.output("exit_code"),
        Some(run.outcome.exit.code().to_string())
    );
    let response_output: Value =
        serde_json::from_str(&step.output("response").expect("response output")).expect("json");
    assert_eq!(response_output, response);
    let summary = step.summary();
    assert!(
        summary.contains("### Launchplane `generic-web` · `stable_deploy`"),
        "{summary}"
    );
    assert!(summary.contains(trace_id), "{summary}");
    assert!(
        run.stderr
            .contains("GitHub Actions OIDC (audience `launchplane-tests`)"),
        "{}",
        run.stderr
    );
    assert_no_secrets(&run, &step, &minted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_and_authentication_fail_closed() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("generic-web").await;
    let tokens = TokenEndpoint::start(&service).await;
    let proxy = Proxy::forward(&service).await;

    // No service URL anywhere.
    let step = Step::actions(&tokens.url, "2001");
    let mut options = deploy_options(&proxy.url);
    options.service_url = None;
    let no_url = run(&options, &step).await;
    assert_eq!(no_url.outcome.exit, Exit::Config);
    assert!(
        no_url
            .outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("LAUNCHPLANE_SERVICE_URL"),
        "{:?}",
        no_url.outcome.error
    );
    // ... but the environment variable is honoured.
    let from_env = run(
        &options,
        &Step::actions(&tokens.url, "2002").set("LAUNCHPLANE_SERVICE_URL", &proxy.url),
    )
    .await;
    assert_ne!(
        from_env.outcome.exit,
        Exit::Config,
        "{:?}",
        from_env.outcome.error
    );

    // Outside Actions without a token: nothing is sent.
    let before = proxy.seen().len();
    let local = Step::local();
    let no_token = run(&deploy_options(&proxy.url), &local).await;
    assert_eq!(no_token.outcome.exit, Exit::Config);
    let message = no_token.outcome.error.clone().unwrap_or_default();
    assert!(
        message.contains("No token") && message.contains("--token-file"),
        "{message}"
    );
    assert!(no_token.stderr.contains("exit 2"), "{}", no_token.stderr);
    assert_eq!(proxy.seen().len(), before, "no request without a token");
    assert_eq!(local.output("exit_code").as_deref(), Some("2"));
    assert!(local.summary().contains("No token"), "{}", local.summary());

    // In Actions without `id-token: write`: the request token is missing.
    let no_permission = Step::actions(&tokens.url, "2003").unset("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let missing = run(&deploy_options(&proxy.url), &no_permission).await;
    assert_eq!(missing.outcome.exit, Exit::Config);
    let message = missing.outcome.error.clone().unwrap_or_default();
    assert!(
        message.contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN") && message.contains("id-token: write"),
        "{message}"
    );
    assert_eq!(proxy.seen().len(), before);

    // A request token the endpoint refuses.
    let wrong_request = Step::actions(&tokens.url, "2004")
        .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-request-token");
    let refused = run(&deploy_options(&proxy.url), &wrong_request).await;
    assert_eq!(refused.outcome.exit, Exit::Config);
    assert!(
        refused
            .outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("HTTP 401"),
        "{:?}",
        refused.outcome.error
    );
    assert!(!refused.stderr.contains("not-the-request-token"));
    assert_eq!(proxy.seen().len(), before);

    // The wrong audience: the token is real but the service refuses it
    // (401), which is an authentication failure (exit 2), before any POST.
    let step = Step::actions(&tokens.url, "2005");
    let mut options = deploy_options(&proxy.url);
    options.audience = Some("wrong-audience".into());
    let wrong = run(&options, &step).await;
    assert_eq!(
        tokens.audiences().last().map(String::as_str),
        Some("wrong-audience")
    );
    assert_eq!(wrong.outcome.exit, Exit::Config, "{}", wrong.stderr);
    let message = wrong.outcome.error.clone().unwrap_or_default();
    assert!(
        message.contains("HTTP 401") && message.contains("audience"),
        "{message}"
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), before + 1, "only the discovery read: {seen:?}");
    assert_eq!(seen[before].method, "GET");
    assert_eq!(step.output("exit_code").as_deref(), Some("2"));
    assert_no_secrets(&wrong, &step, &tokens.minted());

    // An unreachable service is a transport failure (exit 5) after retries.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let unreachable = run(&deploy_options(&dead), &Step::actions(&tokens.url, "2006")).await;
    assert_eq!(
        unreachable.outcome.exit,
        Exit::Transport,
        "{}",
        unreachable.stderr
    );
    assert!(
        unreachable.stderr.contains("retrying"),
        "{}",
        unreachable.stderr
    );

    // Plain http to a non-loopback host is refused before any token is
    // requested.
    let audiences = tokens.audiences().len();
    let insecure = run(
        &deploy_options("http://launchplane.example.com"),
        &Step::actions(&tokens.url, "2007"),
    )
    .await;
    assert_eq!(insecure.outcome.exit, Exit::Config);
    assert_eq!(tokens.audiences().len(), audiences);
    assert!(ServiceUrl::parse("https://launchplane.example.com").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_actions_and_drivers_are_named_with_what_exists() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("generic-web").await;
    let tokens = TokenEndpoint::start(&service).await;
    let proxy = Proxy::forward(&service).await;
    let step = Step::actions(&tokens.url, "3001");

    let mut options = deploy_options(&proxy.url);
    options.action = "deplyo".into();
    let unknown = run(&options, &step).await;
    assert_eq!(unknown.outcome.exit, Exit::Config);
    let message = unknown.outcome.error.clone().unwrap_or_default();
    assert!(
        message.contains("Driver `generic-web` has no action `deplyo`"),
        "{message}"
    );
    for action in [
        "stable_deploy",
        "deploy",
        "prod_promotion",
        "prod-rollback",
        "preview_refresh",
    ] {
        assert!(message.contains(action), "{action} listed in {message}");
    }
    assert!(proxy.posts().is_empty(), "nothing was POSTed");

    let mut options = deploy_options(&proxy.url);
    options.driver = "nope".into();
    let no_driver = run(&options, &step).await;
    assert_eq!(no_driver.outcome.exit, Exit::Config);
    let message = no_driver.outcome.error.clone().unwrap_or_default();
    assert!(message.contains("no driver `nope`"), "{message}");
    assert!(message.contains("generic-web, odoo, verireel"), "{message}");

    let mut options = deploy_options(&proxy.url);
    options.driver = "../v1/health".into();
    let traversal = run(&options, &step).await;
    assert_eq!(traversal.outcome.exit, Exit::Config);
    assert!(proxy.posts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_violations_are_caught_before_anything_is_sent() {
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    service.seed_profile("generic-web").await;
    let tokens = TokenEndpoint::start(&service).await;
    let proxy = Proxy::forward(&service).await;
    let step = Step::actions(&tokens.url, "4001");

    let mut options = deploy_options(&proxy.url);
    options.sets = vec![
        "source_git_ref=refs/heads/main".into(),
        "timeout_seconds=soon".into(),
        "colour=blue".into(),
    ];
    let invalid = run(&options, &step).await;
    assert_eq!(invalid.outcome.exit, Exit::Config, "{}", invalid.stderr);
    let message = invalid.outcome.error.clone().unwrap_or_default();
    for expected in [
        "/deploy/timeout_seconds",
        "artifact_id",
        "colour",
        "nothing was sent",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    assert!(proxy.posts().is_empty(), "no POST: {:?}", proxy.posts());
    assert!(
        db.store
            .list_audit_events(None, 100)
            .await
            .expect("audit")
            .iter()
            .all(|e| e.route != "/v1/drivers/generic-web/deploy"),
        "the service never saw the deploy"
    );
    assert!(invalid.stdout.is_empty(), "no response to print");
    assert!(
        step.summary().contains("/deploy/timeout_seconds"),
        "{}",
        step.summary()
    );

    // A numeric-looking git ref stays a string (the schema says string).
    let mut options = deploy_options(&proxy.url);
    options.sets = vec![
        "artifact_id=20260101".into(),
        "source_git_ref=1234567".into(),
    ];
    let numeric = run(&options, &Step::actions(&tokens.url, "4002")).await;
    assert_ne!(
        numeric.outcome.exit,
        Exit::Config,
        "{:?}",
        numeric.outcome.error
    );
    let posts = proxy.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body["deploy"]["artifact_id"], "20260101");
    assert_eq!(posts[0].body["deploy"]["source_git_ref"], "1234567");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_rerun_sends_the_same_key_and_is_replayed() {
    let lanes = bootstrap_lane().await;
    let service = &lanes.service;
    let tokens = TokenEndpoint::start(service).await;
    let proxy = Proxy::forward(service).await;

    let mut options = bootstrap_options(&proxy.url);
    options.wait = false;
    let first_step = Step::actions(&tokens.url, "5001");
    let first = run(&options, &first_step).await;
    assert_eq!(first.outcome.exit, Exit::Ok, "{}", first.stderr);
    let first_response = first.outcome.response.clone().expect("response");
    let operation_id = first_response["records"]["operation_id"]
        .as_str()
        .expect("operation id")
        .to_string();
    assert_eq!(
        first_step.output("operation_id").as_deref(),
        Some(operation_id.as_str())
    );
    assert_eq!(first_step.output("replayed").as_deref(), Some("false"));

    // The same step again (same run, attempt, payload): same key, replay.
    let second_step = Step::actions(&tokens.url, "5001");
    let second = run(&options, &second_step).await;
    assert_eq!(second.outcome.exit, Exit::Ok, "{}", second.stderr);
    let second_response = second.outcome.response.clone().expect("response");
    assert_eq!(second_response["replayed"], true, "{second_response}");
    assert_eq!(
        second_response["original_trace_id"],
        first_response["trace_id"]
    );
    assert_eq!(
        second_response["records"]["operation_id"],
        operation_id.as_str()
    );
    assert!(second.stderr.contains("replayed"), "{}", second.stderr);
    assert_eq!(second_step.output("replayed").as_deref(), Some("true"));
    assert!(
        second_step.summary().contains("accepted (replayed)"),
        "{}",
        second_step.summary()
    );

    let posts = proxy.posts();
    assert_eq!(posts.len(), 2);
    let key = posts[0]
        .header("idempotency-key")
        .expect("a required key is always sent");
    assert_eq!(posts[1].header("idempotency-key"), Some(key.clone()));
    assert!(
        key.starts_with("lp-call:launchplane/demo:5001:1:odoo:stable_bootstrap:demo:testing:"),
        "{key}"
    );
    assert_eq!(posts[0].body, posts[1].body);
    assert_eq!(
        posts[0].body,
        json!({"schema_version": 1, "product": "demo", "bootstrap": {
            "context": "cm", "confirmation": "Rebuild CM testing", "product": "demo", "instance": "testing"
        }})
    );

    // An explicit key wins over the derived one.
    let mut explicit = options.clone();
    explicit.idempotency_key = Some("bootstrap-demo-testing-1".into());
    let third = run(&explicit, &Step::actions(&tokens.url, "5002")).await;
    assert_eq!(
        proxy.posts()[2].header("idempotency-key").as_deref(),
        Some("bootstrap-demo-testing-1")
    );
    // The lane is busy with the first operation: refused (409), exit 3.
    assert_eq!(third.outcome.exit, Exit::Refused, "{}", third.stderr);
    assert!(
        third
            .outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("odoo_stable_bootstrap_operation_active"),
        "{:?}",
        third.outcome.error
    );
    assert_no_secrets(&second, &second_step, &tokens.minted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_operations_are_polled_until_they_fail() {
    let lanes = bootstrap_lane().await;
    let service = &lanes.service;
    let tokens = TokenEndpoint::start(service).await;
    let proxy = Proxy::forward(service).await;
    let worker = tokio::spawn(
        Worker::new(
            service.server.state.clone(),
            WorkerConfig {
                poll_interval: Duration::from_millis(50),
                ..WorkerConfig::default()
            },
        )
        .run(),
    );
    let step = Step::actions(&tokens.url, "6001");
    // The bootstrap's data step fails on the provider: so does the operation.
    lanes
        .fake
        .fail("/api/schedule.runManually", 500, "boom", None);

    let failed = run(&bootstrap_options(&proxy.url), &step).await;
    worker.abort();

    assert_eq!(failed.outcome.exit, Exit::Failed, "{}", failed.stderr);
    let response = failed.outcome.response.clone().expect("response");
    let operation_id = response["records"]["operation_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(response["operation"]["operation_id"], operation_id.as_str());
    assert_eq!(response["operation"]["status"], "fail", "{response}");
    let code = response["operation"]["error_code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!code.is_empty(), "{response}");
    let message = failed.outcome.error.clone().unwrap_or_default();
    assert!(
        message.contains(&operation_id) && message.contains(&code),
        "{message}"
    );
    assert!(
        failed.stderr.contains(&format!("operation {operation_id}")),
        "{}",
        failed.stderr
    );
    let polls: Vec<Seen> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with(&format!("/operations/{operation_id}")))
        .collect();
    assert!(!polls.is_empty(), "the client polled the operation");
    assert!(
        polls
            .iter()
            .all(|p| p.method == "GET" && p.header("authorization").is_some())
    );
    assert_eq!(step.output("operation_status").as_deref(), Some("fail"));
    assert_eq!(step.output("exit_code").as_deref(), Some("4"));
    let summary = step.summary();
    assert!(
        summary.contains(&code) && summary.contains("action failed"),
        "{summary}"
    );
    assert_no_secrets(&failed, &step, &tokens.minted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_operations_are_polled_until_they_pass_and_time_out_cleanly() {
    let lanes = bootstrap_lane().await;
    let service = &lanes.service;
    let tokens = TokenEndpoint::start(service).await;
    // The real service takes the POST; the operations endpoint is faked:
    // pending, running, running, then pass with a result.
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = polls.clone();
    let proxy = Proxy::start(
        Some(service.server.url("")),
        Arc::new(move |seen: &Seen| {
            let (_, id) = seen.path.rsplit_once("/operations/")?;
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let status = match n {
                0 => "pending",
                1 | 2 => "running",
                _ => "pass",
            };
            let mut body = json!({
                "status": "ok",
                "trace_id": format!("launchplane_req_{:032x}", n),
                "operation": {"operation_id": id, "status": status, "error_code": "", "error_message": ""},
                "poll_url": seen.path,
            });
            if status == "pass" {
                body["result"] = json!({"deployment_record_id": "deployment-demo-testing-1"});
            }
            Some((200, body))
        }),
    )
    .await;
    let step = Step::actions(&tokens.url, "7001");

    let passed = run(&bootstrap_options(&proxy.url), &step).await;
    assert_eq!(passed.outcome.exit, Exit::Ok, "{}", passed.stderr);
    assert_eq!(polls.load(Ordering::SeqCst), 4);
    let response = passed.outcome.response.clone().expect("response");
    let operation_id = response["records"]["operation_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(response["operation"]["status"], "pass");
    assert_eq!(
        response["operation_result"]["deployment_record_id"],
        "deployment-demo-testing-1"
    );
    for status in ["pending", "running", "pass"] {
        assert!(
            passed
                .stderr
                .contains(&format!("operation {operation_id}: {status}")),
            "{status} progress in {}",
            passed.stderr
        );
    }
    assert_eq!(
        step.output("operation_id").as_deref(),
        Some(operation_id.as_str())
    );
    assert_eq!(step.output("operation_status").as_deref(), Some("pass"));
    assert_eq!(step.output("exit_code").as_deref(), Some("0"));
    let summary = step.summary();
    assert!(
        summary.contains("— accepted") && summary.contains(&operation_id),
        "{summary}"
    );

    // --output takes the response instead of stdout.
    let output = step.dir.path().join("response.json");
    let mut options = bootstrap_options(&proxy.url);
    options.output = Some(output.clone());
    let to_file = run(&options, &Step::actions(&tokens.url, "7001")).await;
    assert_eq!(to_file.outcome.exit, Exit::Ok, "{}", to_file.stderr);
    assert!(to_file.stdout.is_empty(), "{}", to_file.stdout);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("file")).expect("json");
    assert_eq!(written["replayed"], true, "the re-run replays: {written}");
    assert_eq!(written["operation"]["status"], "pass");

    // Polling a real operation nobody runs: exit 6 at the timeout, with
    // the last state in the response.
    let real = Proxy::forward(service).await;
    let mut options = bootstrap_options(&real.url);
    options.instance = Some("prod".into());
    options.json = Some(JsonSource::Inline(
        r#"{"context": "cm", "confirmation": "Rebuild CM prod"}"#.into(),
    ));
    options.timeout = Some(Duration::from_millis(600));
    let step = Step::actions(&tokens.url, "7002");
    let timed_out = run(&options, &step).await;
    assert_eq!(
        timed_out.outcome.exit,
        Exit::Timeout,
        "{}",
        timed_out.stderr
    );
    let message = timed_out.outcome.error.clone().unwrap_or_default();
    assert!(message.contains("same idempotency key"), "{message}");
    let response = timed_out.outcome.response.clone().expect("response");
    assert_eq!(response["operation"]["status"], "pending", "{response}");
    assert_eq!(step.output("exit_code").as_deref(), Some("6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_lane_is_waited_for_up_to_the_callers_bound() {
    // A fake service whose lane is busy for the first six POSTs.
    let posts = Arc::new(AtomicUsize::new(0));
    let counter = posts.clone();
    let proxy = Proxy::start(
        None,
        Arc::new(move |seen: &Seen| {
            if seen.method == "GET" && seen.path == "/v1/drivers/fake" {
                return Some((
                    200,
                    json!({"status": "ok", "trace_id": "t", "driver": {"driver_id": "fake", "actions": [
                        {"action_id": "keyed", "method": "POST", "route_path": "/v1/drivers/fake/keyed", "envelope_key": "keyed",
                         "input_schema": {"type": "object"}, "execution": "sync", "idempotency": "optional"}
                    ]}}),
                ));
            }
            if seen.method == "POST" {
                if counter.fetch_add(1, Ordering::SeqCst) < 6 {
                    return Some((409, json!({"status": "rejected", "trace_id": "t", "error": {"code": "lane_busy", "message": "Lane demo/testing is busy"}})));
                }
                return Some((202, json!({"status": "accepted", "trace_id": "t", "records": {"deployment_record_id": "d-1"}})));
            }
            None
        }),
    )
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "lpo_0123456789abcdef0123456789abcdef\n").expect("token");
    let options = |lane_wait: Duration| {
        let mut options = fast(CallOptions::new("fake", "keyed"), &proxy.url);
        options.product = Some("demo".into());
        options.token_file = Some(token_file.clone());
        options.retry.lane_wait = lane_wait;
        options
    };
    // Without a wait, the three tries are spent on the busy lane.
    let gave_up = run(&options(Duration::ZERO), &Step::local()).await;
    assert_ne!(gave_up.outcome.exit, Exit::Ok, "{}", gave_up.stderr);
    assert_eq!(posts.load(Ordering::SeqCst), 3);
    // With one, the lane is polled until it frees.
    posts.store(0, Ordering::SeqCst);
    let waited = run(&options(Duration::from_secs(20)), &Step::local()).await;
    assert_eq!(waited.outcome.exit, Exit::Ok, "{}", waited.stderr);
    assert_eq!(posts.load(Ordering::SeqCst), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_requests_with_an_idempotency_key_are_retried() {
    // A fake service: a descriptor with one keyed and one key-less
    // action, whose POSTs answer 503 twice before accepting.
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let proxy = Proxy::start(
        None,
        Arc::new(move |seen: &Seen| {
            if seen.method == "GET" && seen.path == "/v1/drivers/fake" {
                return Some((
                    200,
                    json!({"status": "ok", "trace_id": "t", "driver": {"driver_id": "fake", "actions": [
                        {"action_id": "keyed", "method": "POST", "route_path": "/v1/drivers/fake/keyed", "envelope_key": "keyed",
                         "input_schema": {"type": "object"}, "execution": "sync", "idempotency": "optional"},
                        {"action_id": "keyless", "method": "POST", "route_path": "/v1/drivers/fake/keyless", "envelope_key": "keyless",
                         "input_schema": {"type": "object"}, "execution": "sync", "idempotency": "none"}
                    ]}}),
                ));
            }
            if seen.method == "POST" {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if n % 3 < 2 {
                    return Some((503, json!({"status": "rejected", "trace_id": "t", "error": {"code": "unavailable", "message": "busy"}})));
                }
                return Some((202, json!({"status": "accepted", "trace_id": "t", "records": {"deployment_record_id": "d-1"}, "result": {"deploy_status": "pass"}})));
            }
            None
        }),
    )
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "lpo_0123456789abcdef0123456789abcdef\n").expect("token");

    let mut options = fast(CallOptions::new("fake", "keyed"), &proxy.url);
    options.product = Some("demo".into());
    options.token_file = Some(token_file.clone());
    let step = Step::local();
    let keyed = run(&options, &step).await;
    assert_eq!(keyed.outcome.exit, Exit::Ok, "{}", keyed.stderr);
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let posts = proxy.posts();
    let key = posts[0].header("idempotency-key").expect("a local key");
    assert!(key.starts_with("lp-call:local:"), "{key}");
    assert!(
        posts
            .iter()
            .all(|p| p.header("idempotency-key") == Some(key.clone())),
        "one key for every try"
    );
    assert!(keyed.stderr.contains("retrying"), "{}", keyed.stderr);
    assert_eq!(step.output("deployment_record_id").as_deref(), Some("d-1"));
    assert!(
        !keyed.stderr.contains("lpo_0123456789abcdef"),
        "the token file's token is never printed"
    );

    attempts.store(0, Ordering::SeqCst);
    let mut options = fast(CallOptions::new("fake", "keyless"), &proxy.url);
    options.product = Some("demo".into());
    options.token_file = Some(token_file);
    let keyless = run(&options, &Step::local()).await;
    assert_eq!(
        keyless.outcome.exit,
        Exit::Failed,
        "a 5xx is a failure: {}",
        keyless.stderr
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "no key, no retry");
    let posts = proxy.posts();
    assert_eq!(posts.last().and_then(|p| p.header("idempotency-key")), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_catalogue_is_read_with_an_operator_token() {
    use launchplane::auth::operator::{new_token, token_hash};
    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;
    let (token, token_id) = new_token();
    db.store
        .insert_operator_token(&token_id, "alice-laptop", &token_hash(&token))
        .await
        .expect("insert");
    let dir = tempfile::tempdir().expect("dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("token");

    let (console, captured) = Console::capture();
    let remote = launchplane::client::connect(
        ServiceUrl::parse(&service.server.url("")).expect("url"),
        None,
        Some(token_file.clone()),
        &Env::empty(),
        &console,
        RetryPolicy::default(),
        None,
    )
    .await
    .expect("connect");
    let (drivers, raw) = launchplane::client::fetch_all(&remote, &console)
        .await
        .expect("catalogue");
    let ids: Vec<&str> = drivers.iter().map(|d| d.driver_id.as_str()).collect();
    assert_eq!(ids, ["generic-web", "odoo", "verireel"]);
    assert_eq!(raw.as_array().map(Vec::len), Some(3));
    let (descriptor, _) = launchplane::client::fetch_descriptor(&remote, "odoo", &console)
        .await
        .expect("odoo");
    assert_eq!(descriptor.base_driver_id, "generic-web");
    assert!(!captured.stderr().contains(&token));

    // A revoked token: 401 is an authentication failure.
    db.store
        .revoke_operator_token(&token_id)
        .await
        .expect("revoke");
    let error = launchplane::client::fetch_all(&remote, &console)
        .await
        .expect_err("revoked");
    assert_eq!(error.exit, Exit::Config);
    assert!(error.message.contains("HTTP 401"), "{}", error.message);
    assert!(!error.message.contains(&token));
}

/// The ```toml block of docs/tenant-workflows.md.
fn docs_policy() -> String {
    let text = std::fs::read_to_string(launchplane_tests::root().join("docs/tenant-workflows.md"))
        .expect("docs/tenant-workflows.md");
    let start = text.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + text[start..].find("```").expect("closed");
    text[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_workflow_policy_in_the_docs_admits_exactly_the_example_jobs() {
    use launchplane::auth::AuthzPolicy;
    use launchplane::auth::policy::GithubActionsRule;
    use launchplane::ops::access::policy_record;

    let db = TestDatabase::new("postgres").await;
    let service = Service::start(&db).await;

    // The documented rules, plus the tests' own rules and one to seed the
    // example product's profile.
    let mut policy = AuthzPolicy::from_toml_str(&docs_policy()).expect("the docs' policy parses");
    assert_eq!(policy.github_actions.len(), 3);
    let demo = AuthzPolicy::from_toml_str(launchplane_tests::DEMO_POLICY).expect("demo policy");
    policy.github_actions.extend(demo.github_actions);
    policy.github_actions.push(GithubActionsRule {
        repository: "launchplane/demo".into(),
        products: vec!["acme-web".into()],
        actions: vec!["product_profile.write".into()],
        ..GithubActionsRule::default()
    });
    let current = db
        .store
        .active_policy()
        .await
        .expect("policy")
        .expect("active");
    db.store
        .replace_policy(current.revision, &policy_record(&policy, "tests"))
        .await
        .expect("replace");
    service.server.state.policy_cache.invalidate();
    let mut profile = launchplane_tests::demo_profile("generic-web");
    profile["product"] = json!("acme-web");
    profile["display_name"] = json!("Acme web");
    profile["repository"] = json!("acme/web");
    profile["image"] = json!({"repository": "ghcr.io/acme/web"});
    profile["lanes"] = json!([
        {"instance": "testing", "context": "acme-web", "base_url": "https://testing.acme.example"},
        {"instance": "prod", "context": "acme-web", "base_url": "https://acme.example"}
    ]);
    profile["preview"] = json!({"enabled": false, "context": ""});
    let (status, body) = service.post("/v1/product-profiles", &profile, None).await;
    assert_eq!(status, 202, "profile seeded: {body}");

    let tokens = TokenEndpoint::start(&service).await;
    let job = |environment: Option<&str>, branch: &str| {
        let environment = environment.map(String::from);
        let branch = branch.to_string();
        move |r: &mut DevTokenRequest| {
            r.repository = "acme/web".into();
            r.workflow_ref = format!("acme/web/.github/workflows/release.yml@refs/heads/{branch}");
            r.git_ref = format!("refs/heads/{branch}");
            r.environment = environment;
        }
    };
    let call = |action: &str, instance: &str, sets: &[&str]| {
        let mut options = fast(
            CallOptions::new("generic-web", action),
            &service.server.url(""),
        );
        options.product = Some("acme-web".into());
        options.instance = Some(instance.into());
        options.sets = sets.iter().map(|s| s.to_string()).collect();
        options
    };
    let denied = |run: &Run| {
        run.outcome
            .response
            .as_ref()
            .is_some_and(|r| r["error"]["code"] == "authorization_denied")
    };
    // Accepted, or refused by the driver itself: every check before the
    // driver (token, profile, lane, authorization, schema) passed.
    let past_authorization = |run: &Run| {
        run.outcome.response.as_ref().is_some_and(|r| {
            r["status"] == "accepted"
                || matches!(
                    r["error"]["code"].as_str(),
                    Some(
                        "precondition_failed" | "not_implemented" | "provider_failed" | "not_found"
                    )
                )
        })
    };
    let deploy = call(
        "deploy",
        "testing",
        &[
            &format!("artifact_id={IMAGE}"),
            "source_git_ref=refs/heads/main",
        ],
    );
    let promote = call(
        "prod-promotion",
        "prod",
        &[
            &format!("artifact_id={IMAGE}"),
            "source_git_ref=refs/heads/main",
        ],
    );
    let rollback_plan = call(
        "prod-rollback-plan",
        "prod",
        &["rollback_deployment_record_id=deployment-acme-web-prod-1"],
    );

    // deploy-testing job: its deploy passes authorization.
    tokens.job(job(Some("testing"), "main"));
    let step = Step::actions(&tokens.url, "9001");
    let testing_deploy = run(&deploy, &step).await;
    assert!(
        past_authorization(&testing_deploy),
        "{:?}",
        testing_deploy.outcome
    );
    assert_ne!(
        testing_deploy.outcome.exit,
        Exit::Config,
        "{}",
        testing_deploy.stderr
    );
    assert_eq!(
        testing_deploy
            .outcome
            .request
            .as_ref()
            .map(|b| &b["deploy"]["instance"]),
        Some(&json!("testing"))
    );

    // ... but it may not promote to prod.
    let testing_promote = run(&promote, &Step::actions(&tokens.url, "9001")).await;
    assert!(denied(&testing_promote), "{:?}", testing_promote.outcome);
    assert_eq!(testing_promote.outcome.exit, Exit::Refused);
    assert!(
        testing_promote
            .outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("policy rule"),
        "{:?}",
        testing_promote.outcome.error
    );

    // promote-prod and rollback jobs (environment `production`) may.
    tokens.job(job(Some("production"), "main"));
    let prod_promote = run(&promote, &Step::actions(&tokens.url, "9002")).await;
    assert!(
        past_authorization(&prod_promote),
        "{:?}",
        prod_promote.outcome
    );
    assert_eq!(
        prod_promote
            .outcome
            .request
            .as_ref()
            .map(|b| &b["promotion"]["to_instance"]),
        Some(&json!("prod")),
        "--instance names the promotion's lane"
    );
    let prod_plan = run(&rollback_plan, &Step::actions(&tokens.url, "9003")).await;
    assert!(past_authorization(&prod_plan), "{:?}", prod_plan.outcome);
    // A plan the driver reports `blocked` (no such deployment record) fails
    // the step, so the rollback after it does not run.
    if prod_plan
        .outcome
        .response
        .as_ref()
        .is_some_and(|r| r["result"]["status"] == "blocked")
    {
        assert_eq!(prod_plan.outcome.exit, Exit::Failed, "{}", prod_plan.stderr);
        assert!(
            prod_plan
                .outcome
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("status=blocked"),
            "{:?}",
            prod_plan.outcome.error
        );
    }

    // A rollback dispatched on another branch cannot even read the catalogue.
    tokens.job(job(Some("production"), "feature"));
    let feature = run(&rollback_plan, &Step::actions(&tokens.url, "9004")).await;
    assert_eq!(feature.outcome.exit, Exit::Refused, "{}", feature.stderr);
    assert!(denied(&feature), "{:?}", feature.outcome);
    assert!(
        feature
            .outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("driver.read"),
        "{:?}",
        feature.outcome.error
    );
    assert!(feature.outcome.request.is_none(), "nothing was POSTed");
}
