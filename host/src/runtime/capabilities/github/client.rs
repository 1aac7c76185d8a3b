//! The GitHub REST API, as the capability's backend: open pull requests
//! with their labels and head SHAs, the one marker comment of a pull
//! request (found again, updated, deleted), and workflow dispatch.
//!
//! The token is a managed secret read on every call ([`TOKEN_KEY`] of
//! integration [`INTEGRATION`], else the context's `runtime_environment`
//! secret of that name, as the original read it from the context's runtime
//! values). It travels only in the `Authorization` header: no error,
//! log line or answer holds it. Each request has a timeout; GitHub's
//! refusals become named [`GitHubError`]s (401, 403, 404, 422, rate limit
//! with its `Retry-After`).

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::secrets::Vault;

/// The managed-secret integration holding the GitHub token.
pub const INTEGRATION: &str = "github";
/// The binding key of the token.
pub const TOKEN_KEY: &str = "GITHUB_TOKEN";
/// The public API.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";
/// Items per page GitHub is asked for.
const PER_PAGE: usize = 100;
/// Pages of comments searched for a marker.
const COMMENT_PAGES: u32 = 10;
/// Longest GitHub message kept in an error.
const MAX_MESSAGE_CHARS: usize = 300;

/// Why a GitHub call failed. The `Display` text starts with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// No usable token, or no API configured.
    #[error("github_not_configured: {0}")]
    NotConfigured(String),
    /// 401: GitHub refused the token.
    #[error("github_unauthorized: GitHub refused Launchplane's token (401) for {0}")]
    Unauthorized(String),
    /// 403 without a rate limit: the token may not do this.
    #[error("github_forbidden: the token may not {0} (403)")]
    Forbidden(String),
    /// 404: no such repository, pull request, comment or workflow (or the
    /// token cannot see it).
    #[error("github_not_found: GitHub has no {0} (404)")]
    NotFound(String),
    /// 422: GitHub refused the request's content.
    #[error("github_unprocessable: GitHub refused {what} (422): {message}")]
    Unprocessable { what: String, message: String },
    /// 429, or 403 with the rate limit spent.
    #[error("github_rate_limited: GitHub rate limit reached; retry after {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    /// The scope check refused the repository or the request.
    #[error("github_denied: {0}")]
    Denied(String),
    /// Anything else: a 5xx, a malformed answer, a transport failure.
    #[error("github_failed: {0}")]
    Failed(String),
}

/// A GitHub token: never printed, wiped on drop.
#[derive(Clone)]
pub struct GitHubToken(Zeroizing<String>);

impl GitHubToken {
    /// A trimmed, non-empty token without control characters.
    pub fn new(token: &str) -> Result<GitHubToken, GitHubError> {
        let token = token.trim();
        if token.is_empty() || token.contains(|c: char| c.is_control()) {
            return Err(GitHubError::NotConfigured(format!(
                "{TOKEN_KEY} is empty or malformed"
            )));
        }
        Ok(GitHubToken(Zeroizing::new(token.to_string())))
    }
}

impl fmt::Debug for GitHubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GitHubToken([redacted])")
    }
}

/// Where the token comes from.
#[derive(Clone, Debug)]
pub enum GitHubCredentials {
    /// Managed secrets, read on every call.
    ManagedSecrets(Vault),
    /// One token for the client's lifetime (tools, tests).
    Fixed(GitHubToken),
}

/// An open pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
    pub head_sha: String,
    pub labels: Vec<String>,
}

/// What an upsert of the marker comment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentOutcome {
    /// `created_comment`, `updated_comment`, `deleted_comment` or
    /// `no_existing_comment`.
    pub action: &'static str,
    pub comment_id: u64,
    pub html_url: String,
}

/// `owner/repo`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl Repository {
    /// Parses `owner/repo` (letters, digits, `-`, `_`, `.`).
    pub fn parse(text: &str) -> Result<Repository, GitHubError> {
        let text = text.trim();
        let valid = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Ok(Repository {
                owner: owner.to_string(),
                name: name.to_string(),
            }),
            _ => Err(GitHubError::Denied(format!(
                "repository `{text}` must be `owner/repo`"
            ))),
        }
    }

    /// `owner/repo`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// The GitHub backend.
#[derive(Clone)]
pub struct GitHubClient {
    http: reqwest::Client,
    api_base: String,
    credentials: GitHubCredentials,
    timeout: Duration,
}

impl fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_base", &self.api_base)
            .finish()
    }
}

impl GitHubClient {
    /// A client of the API at `api_base` (a trailing `/` is dropped).
    pub fn new(api_base: &str, credentials: GitHubCredentials) -> GitHubClient {
        GitHubClient {
            http: crate::tls::default_client(),
            api_base: api_base.trim().trim_end_matches('/').to_string(),
            credentials,
            timeout: Duration::from_secs(15),
        }
    }

    /// The API base URL.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The token for `context`, read now.
    async fn token(&self, context: &str) -> Result<GitHubToken, GitHubError> {
        let vault = match &self.credentials {
            GitHubCredentials::Fixed(token) => return Ok(token.clone()),
            GitHubCredentials::ManagedSecrets(vault) => vault,
        };
        for integration in [INTEGRATION, "runtime_environment"] {
            let values = vault.resolve(integration, context, "").await.map_err(|e| {
                tracing::warn!(error = %e, "GitHub token unreadable");
                GitHubError::NotConfigured(format!(
                    "the managed {TOKEN_KEY} secret cannot be read; see service logs"
                ))
            })?;
            if let Some(value) = values.get(TOKEN_KEY).filter(|v| !v.trim().is_empty()) {
                return GitHubToken::new(value);
            }
        }
        Err(GitHubError::NotConfigured(format!(
            "no managed {TOKEN_KEY} secret for context `{context}` (integration `{INTEGRATION}` \
             or `runtime_environment`)"
        )))
    }

    /// One API call; `what` names the thing in errors. Answers the JSON
    /// body (`Null` for an empty one).
    async fn send(
        &self,
        token: &GitHubToken,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, GitHubError> {
        let url = format!("{}{path}", self.api_base);
        let mut request = self
            .http
            .request(method, &url)
            .timeout(self.timeout)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header("User-Agent", "launchplane")
            .bearer_auth(token.0.as_str());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            GitHubError::Failed(format!(
                "{what}: {}",
                if e.is_timeout() {
                    "GitHub did not answer in time"
                } else {
                    "GitHub could not be reached"
                }
            ))
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|_| {
                GitHubError::Failed(format!("{what}: GitHub answered malformed JSON"))
            });
        }
        Err(status_error(status, &headers, &text, what))
    }

    /// Open pull requests of `repo` labelled `label` (any when blank), by
    /// number, reading at most `max_pages` pages of issues and each pull
    /// request for its head.
    pub async fn open_pull_requests(
        &self,
        context: &str,
        repo: &Repository,
        label: &str,
        max_pages: u32,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let token = self.token(context).await?;
        let base = format!("/repos/{}/{}", repo.owner, repo.name);
        let mut found = Vec::new();
        for page in 1..=max_pages.clamp(1, 20) {
            let mut query = format!("state=open&per_page={PER_PAGE}&page={page}");
            if !label.trim().is_empty() {
                query.push_str(&format!("&labels={}", encode(label.trim())));
            }
            let what = format!("issues of {}", repo.full_name());
            let items = self
                .send(
                    &token,
                    Method::GET,
                    &format!("{base}/issues?{query}"),
                    None,
                    &what,
                )
                .await?;
            let items = items
                .as_array()
                .cloned()
                .ok_or_else(|| GitHubError::Failed(format!("{what}: GitHub answered no list")))?;
            for item in &items {
                if !item.get("pull_request").is_some_and(Value::is_object) {
                    continue;
                }
                let number = item.get("number").and_then(Value::as_u64).unwrap_or(0);
                if number == 0 {
                    return Err(GitHubError::Failed(format!(
                        "{what}: a pull request without a positive number"
                    )));
                }
                let labels = item
                    .get("labels")
                    .and_then(Value::as_array)
                    .map(|labels| {
                        labels
                            .iter()
                            .filter_map(|l| l.get("name").and_then(Value::as_str))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let what = format!("pull request {}#{number}", repo.full_name());
                let pull = self
                    .send(
                        &token,
                        Method::GET,
                        &format!("{base}/pulls/{number}"),
                        None,
                        &what,
                    )
                    .await?;
                let head_sha = pull
                    .pointer("/head/sha")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let html_url = pull
                    .get("html_url")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if head_sha.is_empty() || html_url.is_empty() {
                    return Err(GitHubError::Failed(format!(
                        "{what}: GitHub answered no head sha or html_url"
                    )));
                }
                found.push(PullRequest {
                    number,
                    html_url,
                    head_sha,
                    labels,
                });
            }
            if items.len() < PER_PAGE {
                break;
            }
        }
        found.sort_by_key(|p| p.number);
        Ok(found)
    }

    /// The first comment of pull request `number` containing `marker`.
    async fn find_marker_comment(
        &self,
        token: &GitHubToken,
        repo: &Repository,
        number: u64,
        marker: &str,
    ) -> Result<Option<(u64, String)>, GitHubError> {
        let what = format!("comments of {}#{number}", repo.full_name());
        for page in 1..=COMMENT_PAGES {
            let path = format!(
                "/repos/{}/{}/issues/{number}/comments?per_page={PER_PAGE}&page={page}",
                repo.owner, repo.name
            );
            let items = self.send(token, Method::GET, &path, None, &what).await?;
            let items = items.as_array().cloned().unwrap_or_default();
            for item in &items {
                let body = item.get("body").and_then(Value::as_str).unwrap_or_default();
                if body.contains(marker) {
                    let id = item.get("id").and_then(Value::as_u64).ok_or_else(|| {
                        GitHubError::Failed(format!("{what}: the marker comment has no numeric id"))
                    })?;
                    let url = item
                        .get("html_url")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    return Ok(Some((id, url)));
                }
            }
            if items.len() < PER_PAGE {
                break;
            }
        }
        Ok(None)
    }

    /// Creates or updates the one comment of pull request `number` that
    /// contains `marker` (`body` must contain it, so the next call finds
    /// it again); with `delete`, deletes it instead.
    pub async fn upsert_comment(
        &self,
        context: &str,
        repo: &Repository,
        number: u64,
        marker: &str,
        body: &str,
        delete: bool,
    ) -> Result<CommentOutcome, GitHubError> {
        if marker.trim().is_empty() || (!delete && !body.contains(marker)) {
            return Err(GitHubError::Denied(
                "a comment body must contain its non-blank marker".to_string(),
            ));
        }
        let token = self.token(context).await?;
        let existing = self
            .find_marker_comment(&token, repo, number, marker)
            .await?;
        let comments = format!("/repos/{}/{}/issues/comments", repo.owner, repo.name);
        let what = format!("the marker comment of {}#{number}", repo.full_name());
        match (existing, delete) {
            (Some((id, url)), true) => {
                self.send(
                    &token,
                    Method::DELETE,
                    &format!("{comments}/{id}"),
                    None,
                    &what,
                )
                .await?;
                Ok(CommentOutcome {
                    action: "deleted_comment",
                    comment_id: id,
                    html_url: url,
                })
            }
            (None, true) => Ok(CommentOutcome {
                action: "no_existing_comment",
                comment_id: 0,
                html_url: String::new(),
            }),
            (Some((id, _)), false) => {
                let updated = self
                    .send(
                        &token,
                        Method::PATCH,
                        &format!("{comments}/{id}"),
                        Some(&json!({"body": body})),
                        &what,
                    )
                    .await?;
                Ok(CommentOutcome {
                    action: "updated_comment",
                    comment_id: id,
                    html_url: text(&updated, "html_url"),
                })
            }
            (None, false) => {
                let path = format!(
                    "/repos/{}/{}/issues/{number}/comments",
                    repo.owner, repo.name
                );
                let created = self
                    .send(
                        &token,
                        Method::POST,
                        &path,
                        Some(&json!({"body": body})),
                        &what,
                    )
                    .await?;
                Ok(CommentOutcome {
                    action: "created_comment",
                    comment_id: created.get("id").and_then(Value::as_u64).unwrap_or(0),
                    html_url: text(&created, "html_url"),
                })
            }
        }
    }

    /// Dispatches workflow `workflow_id` of `repo` on `git_ref` with
    /// `inputs`.
    pub async fn dispatch_workflow(
        &self,
        context: &str,
        repo: &Repository,
        workflow_id: &str,
        git_ref: &str,
        inputs: &[(String, String)],
    ) -> Result<(), GitHubError> {
        if workflow_id.trim().is_empty() || git_ref.trim().is_empty() {
            return Err(GitHubError::Denied(
                "a workflow dispatch needs a workflow id and a ref".to_string(),
            ));
        }
        let token = self.token(context).await?;
        let inputs: serde_json::Map<String, Value> = inputs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let path = format!(
            "/repos/{}/{}/actions/workflows/{}/dispatches",
            repo.owner,
            repo.name,
            encode(workflow_id.trim())
        );
        let what = format!("workflow `{}` of {}", workflow_id.trim(), repo.full_name());
        self.send(
            &token,
            Method::POST,
            &path,
            Some(&json!({"ref": git_ref.trim(), "inputs": inputs})),
            &what,
        )
        .await?;
        Ok(())
    }
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Percent-encodes a path segment or query value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The named error of a non-2xx answer.
fn status_error(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    what: &str,
) -> GitHubError {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .map(str::to_string)
    };
    let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok());
    let spent = header("x-ratelimit-remaining").as_deref() == Some("0");
    let message: String = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect();
    match status.as_u16() {
        401 => GitHubError::Unauthorized(what.to_string()),
        429 => GitHubError::RateLimited {
            retry_after: retry_after.unwrap_or(60),
        },
        403 if spent || retry_after.is_some() => GitHubError::RateLimited {
            retry_after: retry_after.or_else(|| reset_in(headers)).unwrap_or(60),
        },
        403 => GitHubError::Forbidden(format!("reach {what}")),
        404 => GitHubError::NotFound(what.to_string()),
        422 => GitHubError::Unprocessable {
            what: what.to_string(),
            message,
        },
        code => GitHubError::Failed(format!("{what}: GitHub answered {code}")),
    }
}

/// Seconds until `x-ratelimit-reset`.
fn reset_in(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let reset: u64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(reset.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn refusals_map_to_named_errors() {
        let mut headers = HeaderMap::new();
        let e = |status: u16, headers: &HeaderMap, body: &str| {
            status_error(
                StatusCode::from_u16(status).expect("status"),
                headers,
                body,
                "x",
            )
        };
        assert!(matches!(e(401, &headers, ""), GitHubError::Unauthorized(_)));
        assert!(matches!(e(403, &headers, ""), GitHubError::Forbidden(_)));
        assert!(matches!(e(404, &headers, ""), GitHubError::NotFound(_)));
        assert_eq!(
            e(422, &headers, r#"{"message":"Validation Failed"}"#),
            GitHubError::Unprocessable {
                what: "x".into(),
                message: "Validation Failed".into()
            }
        );
        assert!(matches!(e(502, &headers, ""), GitHubError::Failed(_)));
        headers.insert("retry-after", HeaderValue::from_static("30"));
        assert_eq!(
            e(429, &headers, ""),
            GitHubError::RateLimited { retry_after: 30 }
        );
        assert_eq!(
            e(403, &headers, ""),
            GitHubError::RateLimited { retry_after: 30 }
        );
        let text = e(401, &headers, "").to_string();
        assert!(text.starts_with("github_unauthorized:"), "{text}");
    }

    #[test]
    fn repositories_and_tokens() {
        assert_eq!(
            Repository::parse(" a-b/c.d ").expect("repo").full_name(),
            "a-b/c.d"
        );
        for bad in ["a", "a/b/c", "/b", "a/", "a/..", "a b/c", "a/c?x"] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
        let token = GitHubToken::new(" ghp_secret ").expect("token");
        assert!(!format!("{token:?}").contains("ghp_secret"));
        assert!(GitHubToken::new(" ").is_err());
        assert_eq!(encode("promote prod.yml"), "promote%20prod.yml");
    }
}
