//! A service with GitHub sign-in against [`FakeGitHubOAuth`], and
//! [`sign_in`]: the whole browser flow (login, GitHub's authorize page,
//! callback) answering the session cookie and its CSRF token, for any
//! test that acts as a signed-in human (the console's browser tests too).

use std::sync::Arc;

use launchplane::auth::human::{HumanAuth, HumanAuthConfig};
use launchplane::records::Store;
use serde_json::Value;

use crate::fake_github::{FakeGitHubOAuth, FakeUser};
use crate::{RegistryFile, Service, TestDatabase};

/// The fake OAuth app's client id.
pub const CLIENT_ID: &str = "Iv1.fake-client";
/// The fake OAuth app's client secret.
pub const CLIENT_SECRET: &str = "fake-client-secret-5a1f";
/// The session secret tests sign cookies with.
pub const SESSION_SECRET: &str = "tests-session-secret-0123456789abcdef";

/// A signed-in human, as a browser holds them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// `launchplane_session=<value>`, ready for a `Cookie` header.
    pub cookie: String,
    /// The raw `Set-Cookie` the callback answered.
    pub set_cookie: String,
    /// The session's CSRF token (`X-CSRF-Token`).
    pub csrf_token: String,
    /// `GET /v1/auth/session`'s `identity`.
    pub identity: Value,
    /// Where the callback sent the browser.
    pub location: String,
}

/// A client that does not follow redirects.
pub fn browser() -> reqwest::Client {
    launchplane::tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The sign-in configuration of a service at `public_url` against `github`.
pub fn config(public_url: &str, github: &FakeGitHubOAuth) -> HumanAuthConfig {
    let mut config =
        HumanAuthConfig::new(CLIENT_ID, CLIENT_SECRET, public_url, SESSION_SECRET).expect("config");
    config.web_url = github.url();
    config.api_url = github.url();
    config.cookie_secure = false;
    config
}

impl Service {
    /// A service on `db` with `policy` (TOML) active, the product drivers,
    /// and GitHub sign-in against `github` (`adjust` may change the
    /// sign-in configuration: bootstrap admins, TTLs).
    pub async fn start_with_humans(
        db: &TestDatabase,
        policy: &str,
        github: &FakeGitHubOAuth,
        adjust: impl FnOnce(&mut HumanAuthConfig),
    ) -> Service {
        Service::start_with_humans_on(db.store.clone(), policy, github, adjust).await
    }

    /// As [`Service::start_with_humans`], on a store of the caller's (a
    /// second host's pool, say).
    pub async fn start_with_humans_on(
        store: Store,
        policy: &str,
        github: &FakeGitHubOAuth,
        adjust: impl FnOnce(&mut HumanAuthConfig),
    ) -> Service {
        let registry = RegistryFile::new()
            .product_drivers()
            .load()
            .await
            .expect("registry");
        let sessions = store.clone();
        Service::start_with_policy(store, registry, policy, |addr, state| {
            // The callback URL names the service's own address.
            let mut human = config(&format!("http://{addr}"), github);
            adjust(&mut human);
            state.humans = Some(Arc::new(HumanAuth::new(human, sessions).expect("sign-in")));
        })
        .await
    }

    /// Signs `user` in through `github` (see [`sign_in`]).
    pub async fn sign_in(&self, github: &FakeGitHubOAuth, user: FakeUser) -> SignedIn {
        sign_in(&format!("http://{}", self.server.addr), github, user)
            .await
            .expect("sign-in")
    }

    /// GET `path` as a signed-in human.
    pub async fn get_as_human(&self, human: &SignedIn, path: &str) -> (u16, Value) {
        let response = browser()
            .get(self.server.url(path))
            .header("cookie", &human.cookie)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POST `body` to `path` as a signed-in human, with `csrf` as
    /// `X-CSRF-Token` when given.
    pub async fn post_as_human(
        &self,
        human: &SignedIn,
        path: &str,
        body: &Value,
        csrf: Option<&str>,
    ) -> (u16, Value) {
        let mut request = browser()
            .post(self.server.url(path))
            .header("cookie", &human.cookie)
            .json(body);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The `Location` of a 302, or an error naming what came instead.
async fn location(
    response: reqwest::Response,
) -> Result<(String, reqwest::header::HeaderMap), String> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if status != 302 {
        let body = response.text().await.unwrap_or_default();
        return Err(format!("expected 302, got {status}: {body}"));
    }
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("302 without Location")?
        .to_string();
    Ok((location, headers))
}

/// Signs `user` in on the service at `base` (`http://host:port`) as a
/// browser does: `GET /auth/github/login?return_to=/ui`, GitHub's
/// authorize page (the fake redirects back at once), the callback; then
/// reads `GET /v1/auth/session` for the CSRF token. An error names the
/// step that failed (a 403 for a human without a role, say).
pub async fn sign_in(
    base: &str,
    github: &FakeGitHubOAuth,
    user: FakeUser,
) -> Result<SignedIn, String> {
    github.sign_in_as(user);
    let client = browser();
    let send = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.map_err(|e| e.to_string()) }
    };
    let (authorize, _) =
        location(send(format!("{base}/auth/github/login?return_to=/ui")).await?).await?;
    let (callback, _) = location(send(authorize).await?).await?;
    let (target, headers) = location(send(callback).await?).await?;
    let set_cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .ok_or("the callback set no cookie")?
        .to_string();
    let cookie = set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let response = client
        .get(format!("{base}/v1/auth/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let csrf_token = body["csrf_token"]
        .as_str()
        .ok_or_else(|| format!("no csrf_token in {body}"))?
        .to_string();
    Ok(SignedIn {
        cookie,
        set_cookie,
        csrf_token,
        identity: body["identity"].clone(),
        location: target,
    })
}
