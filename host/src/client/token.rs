//! Getting a bearer token: a token file, or GitHub Actions OIDC. Without
//! either the client stops and says what is missing; it never falls back
//! to calling without a token.

use std::path::{Path, PathBuf};
use std::time::Instant;

use reqwest::Url;

use super::transport::{Reply, RetryPolicy, http_client, with_retries};
use super::{ClientError, Console, Env, Exit, Secret, ServiceUrl};

pub const REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// Where the token came from (printed; the token itself never is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    File(PathBuf),
    GithubActions { audience: String },
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::File(path) => write!(f, "token file {}", path.display()),
            TokenSource::GithubActions { audience } => {
                write!(f, "GitHub Actions OIDC (audience `{audience}`)")
            }
        }
    }
}

/// The OIDC audience when none is configured: the service URL's host, as
/// the original's trusted workflows derive it.
pub fn default_audience(service: &ServiceUrl) -> String {
    service.host().to_string()
}

fn read_token_file(path: &Path) -> Result<Secret, ClientError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ClientError::config(format!(
            "Cannot read the token file {}: {}.",
            path.display(),
            e.kind()
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ClientError::config(format!(
            "The token file {} is empty.",
            path.display()
        )));
    }
    if token.chars().any(char::is_whitespace) {
        return Err(ClientError::config(format!(
            "The token file {} must hold exactly one token.",
            path.display()
        )));
    }
    Ok(Secret::new(token))
}

/// A token: from `token_file` when given, else from the GitHub Actions
/// token endpoint for `audience`. Outside Actions without a token file
/// this fails closed with a message naming what is missing.
pub async fn acquire_token(
    env: &Env,
    token_file: Option<&Path>,
    audience: &str,
    retry: &RetryPolicy,
    deadline: Option<Instant>,
    console: &Console,
) -> Result<(Secret, TokenSource), ClientError> {
    if let Some(path) = token_file {
        let token = read_token_file(path)?;
        console.mask(token.expose());
        return Ok((token, TokenSource::File(path.to_path_buf())));
    }
    let (url, request_token) = request_credentials(env)?;
    console.mask(request_token.expose());
    let audience = audience.trim();
    if audience.is_empty() {
        return Err(ClientError::config(
            "No OIDC audience: pass --audience or set LAUNCHPLANE_SERVICE_AUDIENCE.",
        ));
    }
    let token = fetch_oidc_token(&url, &request_token, audience, retry, deadline, console).await?;
    console.mask(token.expose());
    Ok((
        token,
        TokenSource::GithubActions {
            audience: audience.to_string(),
        },
    ))
}

/// The GitHub Actions token endpoint and its request token, from the
/// environment. When either is missing the error says which, and how to
/// get it.
fn request_credentials(env: &Env) -> Result<(String, Secret), ClientError> {
    let url = env.get(REQUEST_URL);
    let request_token = env.get(REQUEST_TOKEN);
    match (url, request_token) {
        (Some(url), Some(token)) => Ok((url, Secret::new(token))),
        (url, token) => {
            let missing: Vec<&str> = [
                url.is_none().then_some(REQUEST_URL),
                token.is_none().then_some(REQUEST_TOKEN),
            ]
            .into_iter()
            .flatten()
            .collect();
            let message = if env.in_github_actions() {
                format!(
                    "No token: running in GitHub Actions but {} {} not set. Give the job `permissions: id-token: write` (and for pull requests from forks, no OIDC token is available), or pass --token-file.",
                    missing.join(" and "),
                    if missing.len() == 1 { "is" } else { "are" }
                )
            } else if missing.len() == 1 {
                format!(
                    "No token: {} is set but {} is not; both come from a GitHub Actions job with `permissions: id-token: write`. Outside Actions pass --token-file.",
                    if url.is_some() {
                        REQUEST_URL
                    } else {
                        REQUEST_TOKEN
                    },
                    missing[0]
                )
            } else {
                "No token: not running in GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set) and no --token-file given. Pass --token-file with an operator token (`launchplane operators create-token`) or an OIDC token.".to_string()
            };
            Err(ClientError::config(message))
        }
    }
}

/// Asks the GitHub Actions token endpoint for an OIDC token for
/// `audience`, with retries. A 5xx answer is a transport failure; any
/// other refusal, or an answer without a token, is a configuration one.
async fn fetch_oidc_token(
    url: &str,
    request_token: &Secret,
    audience: &str,
    retry: &RetryPolicy,
    deadline: Option<Instant>,
    console: &Console,
) -> Result<Secret, ClientError> {
    let mut endpoint =
        Url::parse(url).map_err(|_| ClientError::config(format!("{REQUEST_URL} is not a URL.")))?;
    endpoint.query_pairs_mut().append_pair("audience", audience);
    let auth = request_token.bearer_header().ok_or_else(|| {
        ClientError::config(format!("{REQUEST_TOKEN} cannot be sent as a header."))
    })?;
    let http = http_client()?;
    let what = "requesting the GitHub Actions OIDC token";
    let reply: Reply = with_retries(retry, true, deadline, what, console, |left| {
        let builder = http
            .get(endpoint.clone())
            .header(reqwest::header::AUTHORIZATION, auth.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        match left {
            Some(left) => builder.timeout(left),
            None => builder,
        }
        .send()
    })
    .await?;
    if !reply.is_success() {
        let exit = if reply.status >= 500 {
            Exit::Transport
        } else {
            Exit::Config
        };
        return Err(ClientError::new(
            exit,
            format!(
                "The GitHub Actions token endpoint answered HTTP {} for audience `{audience}`.",
                reply.status
            ),
        ));
    }
    let token = reply.body["value"]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ClientError::config("The GitHub Actions token endpoint answered without a `value`.")
        })?;
    Ok(Secret::new(token))
}
