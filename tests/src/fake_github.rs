//! A fake GitHub REST API on loopback, reproducing the paths and payloads
//! the GitHub capability uses, recording every call (with its
//! `Authorization` header, so tests can prove the token never leaks
//! elsewhere), with switchable failures:
//!
//! * a request without `Bearer <token>` is answered 401;
//! * an unknown repository, pull request or comment is 404;
//! * [`FakeGitHub::fail`] answers a path prefix with 401, 404, 422 or a
//!   rate limit (403 with `x-ratelimit-remaining: 0` and `Retry-After`).
//!
//! Paths: `GET /repos/{o}/{r}/issues?state=open&labels=&per_page=&page=`,
//! `GET /repos/{o}/{r}/pulls/{n}`, `GET|POST /repos/{o}/{r}/issues/{n}/comments`,
//! `PATCH|DELETE /repos/{o}/{r}/issues/comments/{id}`,
//! `POST /repos/{o}/{r}/actions/workflows/{id}/dispatches`.
//!
//! [`FakeGitHubOAuth`] is GitHub's OAuth app side for human sign-in: the
//! authorize and token endpoints (PKCE checked) and the user API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One recorded request.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub authorization: String,
    pub body: Value,
}

/// A pull request of the fake repository.
#[derive(Debug, Clone)]
pub struct FakePull {
    pub number: u64,
    pub head_sha: String,
    pub labels: Vec<String>,
    pub open: bool,
}

/// A scripted failure of a path prefix.
#[derive(Debug, Clone)]
pub enum Failure {
    Status(u16, String),
    RateLimited { retry_after: u64 },
}

#[derive(Default)]
struct FakeState {
    token: String,
    repository: String,
    pulls: BTreeMap<u64, FakePull>,
    /// Comments per issue: `(id, body)`.
    comments: BTreeMap<u64, Vec<(u64, String)>>,
    next_comment: u64,
    dispatches: Vec<Value>,
    failures: Vec<(String, Failure)>,
    calls: Vec<Call>,
}

/// The running fake.
pub struct FakeGitHub {
    pub addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    match state.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

fn not_found() -> Response {
    reply(404, json!({"message": "Not Found"}))
}

impl FakeGitHub {
    /// A fake serving `repository` (`owner/repo`) to bearer `token`.
    pub async fn start(repository: &str, token: &str) -> FakeGitHub {
        let state = Arc::new(Mutex::new(FakeState {
            token: token.to_string(),
            repository: repository.to_string(),
            next_comment: 9000,
            ..Default::default()
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let addr = crate::serve_loopback(app).await;
        FakeGitHub { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Opens (or updates) pull request `number` with `labels` at `head_sha`.
    pub fn open_pull(&self, number: u64, head_sha: &str, labels: &[&str]) {
        lock(&self.state).pulls.insert(
            number,
            FakePull {
                number,
                head_sha: head_sha.to_string(),
                labels: labels.iter().map(|l| l.to_string()).collect(),
                open: true,
            },
        );
    }

    /// Closes pull request `number`.
    pub fn close_pull(&self, number: u64) {
        if let Some(pull) = lock(&self.state).pulls.get_mut(&number) {
            pull.open = false;
        }
    }

    /// Answers requests whose path starts with `prefix` with `failure`
    /// until [`FakeGitHub::clear_failures`].
    pub fn fail(&self, prefix: &str, failure: Failure) {
        lock(&self.state)
            .failures
            .push((prefix.to_string(), failure));
    }

    pub fn clear_failures(&self) {
        lock(&self.state).failures.clear();
    }

    /// The comments of issue `number`, as `(id, body)`.
    pub fn comments(&self, number: u64) -> Vec<(u64, String)> {
        lock(&self.state)
            .comments
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// The bodies of workflow dispatches, with `workflow` added.
    pub fn dispatches(&self) -> Vec<Value> {
        lock(&self.state).dispatches.clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
    }
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%20", " ")))
        .collect()
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    let mut state = lock(&state);
    state.calls.push(Call {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        authorization: authorization.clone(),
        body: body.clone(),
    });
    if let Some((_, failure)) = state.failures.iter().find(|(p, _)| path.starts_with(p)) {
        return match failure.clone() {
            Failure::Status(status, message) => reply(status, json!({"message": message})),
            Failure::RateLimited { retry_after } => (
                StatusCode::FORBIDDEN,
                [
                    ("x-ratelimit-remaining", "0".to_string()),
                    ("retry-after", retry_after.to_string()),
                ],
                axum::Json(json!({"message": "API rate limit exceeded"})),
            )
                .into_response(),
        };
    }
    if authorization != format!("Bearer {}", state.token) {
        return reply(401, json!({"message": "Bad credentials"}));
    }
    let prefix = format!("/repos/{}/", state.repository);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return not_found();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let repository = state.repository.clone();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["issues"]) => list_issues(&state, &query(&uri)),
        ("GET", ["pulls", number]) => {
            let pull = number
                .parse::<u64>()
                .ok()
                .and_then(|n| state.pulls.get(&n).cloned());
            match pull {
                Some(pull) => reply(
                    200,
                    json!({"number": pull.number, "state": if pull.open {"open"} else {"closed"},
                           "html_url": format!("https://github.com/{repository}/pull/{}", pull.number),
                           "head": {"sha": pull.head_sha, "ref": format!("feature-{}", pull.number)}}),
                ),
                None => not_found(),
            }
        }
        ("GET", ["issues", number, "comments"]) => {
            let number: u64 = number.parse().unwrap_or(0);
            let q = query(&uri);
            let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let items: Vec<Value> = state
                .comments
                .get(&number)
                .cloned()
                .unwrap_or_default()
                .iter()
                .skip((page.max(1) - 1) * 100)
                .take(100)
                .map(|(id, body)| comment_json(&repository, number, *id, body))
                .collect();
            reply(200, Value::Array(items))
        }
        ("POST", ["issues", number, "comments"]) => {
            let number: u64 = number.parse().unwrap_or(0);
            if !state.pulls.contains_key(&number) {
                return not_found();
            }
            let Some(text) = body.get("body").and_then(Value::as_str) else {
                return reply(422, json!({"message": "Validation Failed"}));
            };
            state.next_comment += 1;
            let id = state.next_comment;
            state
                .comments
                .entry(number)
                .or_default()
                .push((id, text.to_string()));
            reply(201, comment_json(&repository, number, id, text))
        }
        ("PATCH", ["issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let Some(text) = body.get("body").and_then(Value::as_str) else {
                return reply(422, json!({"message": "Validation Failed"}));
            };
            for (number, comments) in state.comments.iter_mut() {
                if let Some(c) = comments.iter_mut().find(|(i, _)| *i == id) {
                    c.1 = text.to_string();
                    return reply(200, comment_json(&repository, *number, id, text));
                }
            }
            not_found()
        }
        ("DELETE", ["issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            for comments in state.comments.values_mut() {
                if let Some(i) = comments.iter().position(|(c, _)| *c == id) {
                    comments.remove(i);
                    return StatusCode::NO_CONTENT.into_response();
                }
            }
            not_found()
        }
        ("POST", ["actions", "workflows", workflow, "dispatches"]) => {
            if body
                .get("ref")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
            {
                return reply(422, json!({"message": "ref is required"}));
            }
            let mut dispatch = body.clone();
            dispatch["workflow"] = json!(workflow);
            state.dispatches.push(dispatch);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}

fn comment_json(repository: &str, number: u64, id: u64, body: &str) -> Value {
    json!({"id": id, "body": body,
           "html_url": format!("https://github.com/{repository}/pull/{number}#issuecomment-{id}")})
}

/// `GET /issues`: open pull requests (as issues with `pull_request`) with
/// the label, 100 a page.
fn list_issues(state: &FakeState, q: &BTreeMap<String, String>) -> Response {
    let label = q.get("labels").cloned().unwrap_or_default();
    let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(30);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let items: Vec<Value> = state
        .pulls
        .values()
        .filter(|p| p.open && (label.is_empty() || p.labels.contains(&label)))
        .skip((page.max(1) - 1) * per_page)
        .take(per_page)
        .map(|p| {
            json!({"number": p.number, "state": "open",
                   "labels": p.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
                   "pull_request": {"url": format!("https://api.github.com/repos/{}/pulls/{}", state.repository, p.number)}})
        })
        .collect();
    reply(200, Value::Array(items))
}

/// A GitHub account the fake OAuth server signs in.
#[derive(Debug, Clone)]
pub struct FakeUser {
    pub login: String,
    pub id: u64,
    pub name: String,
    /// The public profile email, if any.
    pub public_email: Option<String>,
    /// `(email, primary, verified)`.
    pub emails: Vec<(String, bool, bool)>,
    pub organizations: Vec<String>,
    /// `(organization, slug)`.
    pub teams: Vec<(String, String)>,
}

impl FakeUser {
    /// A user with one primary verified email `<login>@example.com`.
    pub fn new(login: &str, id: u64) -> FakeUser {
        FakeUser {
            login: login.to_string(),
            id,
            name: format!("{login} (fake)"),
            public_email: None,
            emails: vec![(format!("{login}@example.com"), true, true)],
            organizations: Vec::new(),
            teams: Vec::new(),
        }
    }

    pub fn in_org(mut self, org: &str) -> FakeUser {
        self.organizations.push(org.to_string());
        self
    }

    pub fn in_team(mut self, org: &str, slug: &str) -> FakeUser {
        self.teams.push((org.to_string(), slug.to_string()));
        self
    }
}

/// A code handed out by the authorize endpoint.
struct Grant {
    challenge: String,
    redirect_uri: String,
    user: FakeUser,
}

#[derive(Default)]
struct OAuthState {
    client_id: String,
    client_secret: String,
    user: Option<FakeUser>,
    codes: BTreeMap<String, Grant>,
    tokens: BTreeMap<String, FakeUser>,
    next: u64,
    refuse_codes: bool,
    rate_limited: bool,
    /// Every access token issued, so tests can look for them in logs.
    issued: Vec<String>,
    /// Every code issued.
    codes_issued: Vec<String>,
}

/// A fake GitHub OAuth app and user API on loopback:
///
/// * `GET /login/oauth/authorize` checks the client id and an S256
///   challenge and redirects to `redirect_uri` with a one-time `code` for
///   the configured user ([`FakeGitHubOAuth::sign_in_as`]) and the `state`;
/// * `POST /login/oauth/access_token` (JSON or form) checks the client
///   secret, the code, the redirect URI and the PKCE verifier; a bad one is
///   401 `{"error":"bad_verification_code"}`;
/// * `GET /user`, `/user/emails`, `/user/orgs`, `/user/teams` with the
///   issued bearer token; [`FakeGitHubOAuth::rate_limit`] answers them 403
///   with `x-ratelimit-remaining: 0`.
pub struct FakeGitHubOAuth {
    pub addr: SocketAddr,
    state: Arc<Mutex<OAuthState>>,
}

fn oauth_lock(state: &Mutex<OAuthState>) -> MutexGuard<'_, OAuthState> {
    match state.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl FakeGitHubOAuth {
    /// A fake OAuth app with these client credentials.
    pub async fn start(client_id: &str, client_secret: &str) -> FakeGitHubOAuth {
        let state = Arc::new(Mutex::new(OAuthState {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            ..Default::default()
        }));
        let app = Router::new().fallback(oauth).with_state(state.clone());
        let addr = crate::serve_loopback(app).await;
        FakeGitHubOAuth { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The account the next authorize request signs in.
    pub fn sign_in_as(&self, user: FakeUser) {
        oauth_lock(&self.state).user = Some(user);
    }

    /// Refuses every code exchange with `bad_verification_code`.
    pub fn refuse_codes(&self, refuse: bool) {
        oauth_lock(&self.state).refuse_codes = refuse;
    }

    /// Answers the user API with a rate limit.
    pub fn rate_limit(&self, limited: bool) {
        oauth_lock(&self.state).rate_limited = limited;
    }

    /// Every access token and code handed out.
    pub fn issued_secrets(&self) -> Vec<String> {
        let state = oauth_lock(&self.state);
        state
            .issued
            .iter()
            .chain(&state.codes_issued)
            .cloned()
            .collect()
    }
}

fn pkce_s256(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Query or form pairs, percent-decoded.
fn pairs(text: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

async fn oauth(
    State(state): State<Arc<Mutex<OAuthState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = oauth_lock(&state);
    match (method.as_str(), uri.path()) {
        ("GET", "/login/oauth/authorize") => {
            let q = pairs(uri.query().unwrap_or_default());
            let get = |k: &str| q.get(k).cloned().unwrap_or_default();
            if get("client_id") != state.client_id
                || get("code_challenge_method") != "S256"
                || get("code_challenge").is_empty()
                || get("scope") != "read:user read:org user:email"
            {
                return reply(400, json!({"error": "invalid_request"}));
            }
            let Some(user) = state.user.clone() else {
                return reply(403, json!({"error": "access_denied"}));
            };
            state.next += 1;
            let code = format!("code-{}-{}", state.next, uuid::Uuid::new_v4().simple());
            state.codes_issued.push(code.clone());
            state.codes.insert(
                code.clone(),
                Grant {
                    challenge: get("code_challenge"),
                    redirect_uri: get("redirect_uri"),
                    user,
                },
            );
            let mut location =
                reqwest::Url::parse(&get("redirect_uri")).expect("redirect_uri is a URL");
            location
                .query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &get("state"));
            (
                StatusCode::FOUND,
                [("location", location.to_string())],
                "redirecting",
            )
                .into_response()
        }
        ("POST", "/login/oauth/access_token") => {
            let form: BTreeMap<String, String> = match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => map
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect(),
                _ => pairs(&String::from_utf8_lossy(&body)),
            };
            let get = |k: &str| form.get(k).cloned().unwrap_or_default();
            if get("client_id") != state.client_id || get("client_secret") != state.client_secret {
                return reply(401, json!({"error": "incorrect_client_credentials"}));
            }
            let grant = state.codes.remove(&get("code"));
            let valid = grant.filter(|g| {
                !state.refuse_codes
                    && g.redirect_uri == get("redirect_uri")
                    && pkce_s256(&get("code_verifier")) == g.challenge
            });
            let Some(grant) = valid else {
                return reply(401, json!({"error": "bad_verification_code"}));
            };
            state.next += 1;
            let token = format!("gho_fake{}{}", state.next, uuid::Uuid::new_v4().simple());
            state.issued.push(token.clone());
            state.tokens.insert(token.clone(), grant.user);
            reply(
                200,
                json!({"access_token": token, "token_type": "bearer", "scope": "read:user,read:org,user:email"}),
            )
        }
        ("GET", path) if path.starts_with("/user") => {
            if state.rate_limited {
                return (
                    StatusCode::FORBIDDEN,
                    [("x-ratelimit-remaining", "0"), ("retry-after", "60")],
                    axum::Json(json!({"message": "API rate limit exceeded"})),
                )
                    .into_response();
            }
            let token = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            let Some(user) = state.tokens.get(token).cloned() else {
                return reply(401, json!({"message": "Bad credentials"}));
            };
            match path {
                "/user" => reply(
                    200,
                    json!({"login": user.login, "id": user.id, "name": user.name, "email": user.public_email}),
                ),
                "/user/emails" => reply(
                    200,
                    Value::Array(
                        user.emails
                            .iter()
                            .map(|(e, p, v)| json!({"email": e, "primary": p, "verified": v}))
                            .collect(),
                    ),
                ),
                "/user/orgs" => reply(
                    200,
                    Value::Array(
                        user.organizations
                            .iter()
                            .map(|o| json!({"login": o}))
                            .collect(),
                    ),
                ),
                "/user/teams" => reply(
                    200,
                    Value::Array(
                        user.teams
                            .iter()
                            .map(|(o, s)| json!({"slug": s, "organization": {"login": o}}))
                            .collect(),
                    ),
                ),
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}
