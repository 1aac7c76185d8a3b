//! A fake Dokploy HTTP API on loopback, reproducing the endpoints and
//! payload shapes the Dokploy adapter uses (reference §9), recording every
//! call, with switchable failure modes:
//!
//! * a request without the right `x-api-key` is answered 401 (the body
//!   echoes the key it got, so tests can prove the adapter redacts it);
//! * an unknown application / compose / schedule / domain id is 404;
//! * [`FakeDokploy::fail`] answers any path with a chosen status and body;
//! * [`DeployScript`] decides how a triggered deployment behaves: how many
//!   polls it stays invisible, how many it stays `running`, and its final
//!   status (`done`, `error`, an unknown word, or empty);
//! * [`FakeDokploy::drop_env_writes`] accepts env writes without keeping
//!   them (a provider that does not retain an update).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One recorded request.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The JSON body, or `Null`.
    pub body: Value,
    /// Whether the request carried the right `x-api-key`.
    pub authorized: bool,
}

/// How the next triggered deployments behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployScript {
    /// Listings that do not show the new deployment yet (Dokploy queueing).
    pub invisible_polls: u32,
    /// Listings that show it as `running`.
    pub running_polls: u32,
    /// Its status afterwards (`done`, `error`, `weird`, ``).
    pub final_status: String,
}

impl Default for DeployScript {
    fn default() -> Self {
        DeployScript {
            invisible_polls: 0,
            running_polls: 1,
            final_status: "done".to_string(),
        }
    }
}

impl DeployScript {
    pub fn ends(status: &str) -> Self {
        DeployScript {
            final_status: status.to_string(),
            ..Default::default()
        }
    }

    /// Stays `running` for practically ever.
    pub fn forever_running() -> Self {
        DeployScript {
            running_polls: u32::MAX,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
struct Deployment {
    id: String,
    created_at: String,
    invisible: u32,
    running: u32,
    final_status: String,
}

#[derive(Debug, Clone)]
struct Failure {
    path: String,
    status: u16,
    body: String,
    remaining: Option<u32>,
}

#[derive(Debug, Default)]
struct FakeState {
    api_key: String,
    applications: BTreeMap<String, Value>,
    composes: BTreeMap<String, Value>,
    /// By application id, compose id or schedule id.
    deployments: BTreeMap<String, Vec<Deployment>>,
    domains: BTreeMap<String, Value>,
    schedules: BTreeMap<String, Value>,
    calls: Vec<Call>,
    failures: Vec<Failure>,
    script: DeployScript,
    drop_env_writes: bool,
    user_id: String,
    seq: u64,
}

impl FakeState {
    fn next(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}-{}", self.seq)
    }

    fn created_at(&mut self) -> String {
        self.seq += 1;
        format!("2026-11-01T00:00:00.{:06}Z", self.seq)
    }

    fn add_deployment(&mut self, owner: &str) -> String {
        let id = self.next("dep");
        let created_at = self.created_at();
        let script = self.script.clone();
        self.deployments
            .entry(owner.to_string())
            .or_default()
            .push(Deployment {
                id: id.clone(),
                created_at,
                invisible: script.invisible_polls,
                running: script.running_polls,
                final_status: script.final_status,
            });
        id
    }

    /// The visible deployments of an owner, advancing each one poll.
    fn list_deployments(&mut self, owner: &str) -> Vec<Value> {
        let Some(items) = self.deployments.get_mut(owner) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for d in items.iter_mut() {
            if d.invisible > 0 {
                d.invisible -= 1;
                continue;
            }
            let status = if d.running > 0 {
                d.running -= 1;
                "running".to_string()
            } else {
                d.final_status.clone()
            };
            out.push(json!({
                "deploymentId": d.id,
                "title": "Manual deployment",
                "status": status,
                "createdAt": d.created_at,
            }));
        }
        out
    }
}

/// The running fake.
pub struct FakeDokploy {
    pub addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    match state.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn merge(target: &mut Value, fields: &Value) {
    if let (Some(target), Some(fields)) = (target.as_object_mut(), fields.as_object()) {
        for (k, v) in fields {
            target.insert(k.clone(), v.clone());
        }
    }
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    reply(
        404,
        json!({"message": format!("{what} not found"), "code": "NOT_FOUND"}),
    )
}

fn field(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl FakeDokploy {
    /// Starts a fake that accepts `api_key`.
    pub async fn start(api_key: &str) -> FakeDokploy {
        let state = Arc::new(Mutex::new(FakeState {
            api_key: api_key.to_string(),
            script: DeployScript::default(),
            user_id: "user-1".to_string(),
            ..Default::default()
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let addr = crate::serve_loopback(app).await;
        FakeDokploy { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds an application; `fields` are merged over Dokploy-like defaults.
    pub fn add_application(&self, application_id: &str, fields: Value) {
        let mut app = json!({
            "applicationId": application_id,
            "name": application_id,
            "appName": application_id,
            "description": null,
            "env": "",
            "buildArgs": null,
            "buildSecrets": null,
            "createEnvFile": true,
            "sourceType": "docker",
            "dockerImage": null,
            "username": null,
            "password": null,
            "registryUrl": null,
            "replicas": 1,
            "endpointSpecSwarm": null,
            "triggerType": "push",
            "enabled": true,
            "autoDeploy": true,
            "buildType": "dockerfile",
            "dockerfile": null,
            "dockerContextPath": null,
            "dockerBuildStage": null,
            "herokuVersion": null,
            "railpackVersion": null,
            "publishDirectory": null,
            "isStaticSpa": null,
            "environmentId": "env-1",
            "serverId": null,
        });
        merge(&mut app, &fields);
        lock(&self.state)
            .applications
            .insert(application_id.to_string(), app);
    }

    /// Adds a compose; `fields` are merged over defaults.
    pub fn add_compose(&self, compose_id: &str, fields: Value) {
        let mut compose = json!({
            "composeId": compose_id,
            "name": compose_id,
            "appName": compose_id,
            "env": "",
            "sourceType": "git",
            "composePath": "./docker-compose.yml",
            "autoDeploy": false,
            "environmentId": "env-1",
            "serverId": null,
        });
        merge(&mut compose, &fields);
        lock(&self.state)
            .composes
            .insert(compose_id.to_string(), compose);
    }

    /// Adds a domain (`domainId` generated when absent); returns its id.
    pub fn add_domain(&self, fields: Value) -> String {
        let mut state = lock(&self.state);
        let id = match field(&fields, "domainId") {
            id if !id.is_empty() => id,
            _ => state.next("dom"),
        };
        let mut domain = json!({"domainId": id});
        merge(&mut domain, &fields);
        state.domains.insert(id.clone(), domain);
        id
    }

    /// Adds a finished deployment to a target (before any trigger).
    pub fn add_finished_deployment(&self, owner: &str, status: &str) -> String {
        let mut state = lock(&self.state);
        let id = state.next("dep-old");
        let created_at = state.created_at();
        state
            .deployments
            .entry(owner.to_string())
            .or_default()
            .push(Deployment {
                id: id.clone(),
                created_at,
                invisible: 0,
                running: 0,
                final_status: status.to_string(),
            });
        id
    }

    pub fn application(&self, application_id: &str) -> Option<Value> {
        lock(&self.state).applications.get(application_id).cloned()
    }

    pub fn applications(&self) -> Vec<Value> {
        lock(&self.state).applications.values().cloned().collect()
    }

    pub fn compose(&self, compose_id: &str) -> Option<Value> {
        lock(&self.state).composes.get(compose_id).cloned()
    }

    pub fn domains(&self) -> Vec<Value> {
        lock(&self.state).domains.values().cloned().collect()
    }

    pub fn schedules(&self) -> Vec<Value> {
        lock(&self.state).schedules.values().cloned().collect()
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
    }

    /// Requests to one path.
    pub fn calls_to(&self, path: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.path == path)
            .collect()
    }

    /// `METHOD path` of every request, in order.
    pub fn call_lines(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect()
    }

    pub fn clear_calls(&self) {
        lock(&self.state).calls.clear();
    }

    /// Answers `path` with `status` and `body` (every time, or `times`).
    pub fn fail(&self, path: &str, status: u16, body: &str, times: Option<u32>) {
        lock(&self.state).failures.push(Failure {
            path: path.to_string(),
            status,
            body: body.to_string(),
            remaining: times,
        });
    }

    pub fn clear_failures(&self) {
        lock(&self.state).failures.clear();
    }

    /// How deployments triggered from now on behave.
    pub fn script(&self, script: DeployScript) {
        lock(&self.state).script = script;
    }

    /// Accept env writes without keeping them.
    pub fn drop_env_writes(&self, on: bool) {
        lock(&self.state).drop_env_writes = on;
    }
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: BTreeMap<String, String> = Query::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let path = uri.path().to_string();
    let mut state = lock(&state);
    let given = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let authorized = given == state.api_key;
    state.calls.push(Call {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
        authorized,
    });
    if !authorized {
        return reply(
            401,
            json!({"message": format!("Unauthorized: invalid x-api-key {given}")}),
        );
    }
    if let Some(failure) = state
        .failures
        .iter_mut()
        .find(|f| f.path == path && f.remaining.is_none_or(|n| n > 0))
    {
        if let Some(n) = failure.remaining.as_mut() {
            *n -= 1;
        }
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, failure.body.clone()).into_response();
    }
    let q = |key: &str| query.get(key).cloned().unwrap_or_default();
    match (method.as_str(), path.as_str()) {
        ("GET", "/api/compose.one") => {
            let id = q("composeId");
            let Some(mut compose) = state.composes.get(&id).cloned() else {
                return not_found("Compose");
            };
            compose["deployments"] = Value::Array(state.list_deployments(&id));
            reply(200, compose)
        }
        ("GET", "/api/application.one") => match state.applications.get(&q("applicationId")) {
            Some(app) => reply(200, app.clone()),
            None => not_found("Application"),
        },
        ("GET", "/api/deployment.all") => {
            let id = q("applicationId");
            if !state.applications.contains_key(&id) {
                return not_found("Application");
            }
            reply(200, Value::Array(state.list_deployments(&id)))
        }
        ("GET", "/api/deployment.allByType") => {
            let id = q("id");
            reply(200, Value::Array(state.list_deployments(&id)))
        }
        ("POST", "/api/compose.deploy") | ("POST", "/api/compose.redeploy") => {
            let id = field(&body, "composeId");
            if !state.composes.contains_key(&id) {
                return not_found("Compose");
            }
            state.add_deployment(&id);
            reply(200, json!(true))
        }
        ("POST", "/api/application.deploy") | ("POST", "/api/application.redeploy") => {
            let id = field(&body, "applicationId");
            if !state.applications.contains_key(&id) {
                return not_found("Application");
            }
            state.add_deployment(&id);
            reply(200, json!(true))
        }
        ("POST", "/api/compose.update") => {
            let id = field(&body, "composeId");
            let drop_env = state.drop_env_writes;
            let Some(compose) = state.composes.get_mut(&id) else {
                return not_found("Compose");
            };
            let mut fields = body.clone();
            if drop_env && let Some(map) = fields.as_object_mut() {
                map.remove("env");
            }
            merge(compose, &fields);
            reply(200, compose.clone())
        }
        ("POST", "/api/application.saveEnvironment")
        | ("POST", "/api/application.saveDockerProvider")
        | ("POST", "/api/application.update")
        | ("POST", "/api/application.saveBuildType") => {
            let id = field(&body, "applicationId");
            let drop_env = state.drop_env_writes;
            let Some(app) = state.applications.get_mut(&id) else {
                return not_found("Application");
            };
            let mut fields = body.clone();
            if drop_env && let Some(map) = fields.as_object_mut() {
                map.remove("env");
            }
            merge(app, &fields);
            reply(200, json!(true))
        }
        ("POST", "/api/application.create") => {
            let id = state.next("app");
            let mut app = json!({
                "applicationId": id,
                "env": null,
                "dockerImage": null,
                "createEnvFile": true,
                "enabled": true,
                "replicas": 1,
            });
            merge(&mut app, &body);
            state.applications.insert(id.clone(), app.clone());
            reply(200, app)
        }
        ("POST", "/api/application.delete") => {
            let id = field(&body, "applicationId");
            match state.applications.remove(&id) {
                Some(app) => {
                    state.deployments.remove(&id);
                    reply(200, app)
                }
                None => not_found("Application"),
            }
        }
        ("GET", "/api/project.all") => {
            let mut environments: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for app in state.applications.values() {
                let env = field(app, "environmentId");
                environments.entry(env).or_default().push(json!({
                    "applicationId": app["applicationId"],
                    "name": app["name"],
                    "appName": app["appName"],
                    "dockerImage": app["dockerImage"],
                    "applicationStatus": "done",
                }));
            }
            let environments: Vec<Value> = environments
                .into_iter()
                .map(|(id, apps)| {
                    json!({"environmentId": id, "name": "production", "applications": apps, "compose": []})
                })
                .collect();
            reply(
                200,
                json!([{"projectId": "proj-1", "name": "Launchplane", "environments": environments}]),
            )
        }
        ("GET", "/api/domain.byApplicationId") => {
            let id = q("applicationId");
            let items: Vec<Value> = state
                .domains
                .values()
                .filter(|d| field(d, "applicationId") == id)
                .cloned()
                .collect();
            reply(200, Value::Array(items))
        }
        ("GET", "/api/domain.byComposeId") => {
            let id = q("composeId");
            let items: Vec<Value> = state
                .domains
                .values()
                .filter(|d| field(d, "composeId") == id)
                .cloned()
                .collect();
            reply(200, Value::Array(items))
        }
        ("POST", "/api/domain.create") => {
            let id = state.next("dom");
            let mut domain = json!({"domainId": id});
            merge(&mut domain, &body);
            state.domains.insert(id, domain.clone());
            reply(200, domain)
        }
        ("POST", "/api/domain.update") => {
            let id = field(&body, "domainId");
            match state.domains.get_mut(&id) {
                Some(domain) => {
                    merge(domain, &body);
                    reply(200, domain.clone())
                }
                None => not_found("Domain"),
            }
        }
        ("POST", "/api/domain.delete") => {
            let id = field(&body, "domainId");
            match state.domains.remove(&id) {
                Some(domain) => reply(200, domain),
                None => not_found("Domain"),
            }
        }
        ("GET", "/api/user.session") => {
            let user = state.user_id.clone();
            reply(
                200,
                json!({"session": {"userId": user}, "user": {"id": user}}),
            )
        }
        ("GET", "/api/schedule.list") => {
            let (id, kind) = (q("id"), q("scheduleType"));
            let items: Vec<Value> = state
                .schedules
                .values()
                .filter(|s| {
                    field(s, "scheduleType") == kind
                        && [
                            field(s, "applicationId"),
                            field(s, "serverId"),
                            field(s, "userId"),
                        ]
                        .contains(&id)
                })
                .cloned()
                .collect();
            reply(200, Value::Array(items))
        }
        ("POST", "/api/schedule.create") => {
            let id = state.next("sch");
            let mut schedule = json!({"scheduleId": id});
            merge(&mut schedule, &body);
            state.schedules.insert(id, schedule.clone());
            reply(200, schedule)
        }
        ("POST", "/api/schedule.update") => {
            let id = field(&body, "scheduleId");
            match state.schedules.get_mut(&id) {
                Some(schedule) => {
                    merge(schedule, &body);
                    reply(200, schedule.clone())
                }
                None => not_found("Schedule"),
            }
        }
        ("POST", "/api/schedule.runManually") => {
            let id = field(&body, "scheduleId");
            if !state.schedules.contains_key(&id) {
                return not_found("Schedule");
            }
            state.add_deployment(&id);
            reply(200, json!(true))
        }
        _ => reply(404, json!({"message": format!("No route {method} {path}")})),
    }
}
