//! HTTP to the service: the base URL, bounded retries with backoff, the
//! overall deadline, and the bearer header.
//!
//! Retry rule: transport failures and 5xx answers (except 501, which is
//! deterministic) are retried for GETs, and for POSTs only when the request
//! carries an `Idempotency-Key` (a replay is then harmless). A POST whose
//! key is still being processed (409 `idempotency_request_in_progress`) or
//! whose lane is busy with another mutation (409 `lane_busy`: refused
//! before anything ran) is retried the same way. Nothing else is retried.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::{ClientError, Console, Secret};

/// The service's base URL (scheme, host, optional path prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    base: String,
    host: String,
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ServiceUrl {
    /// Parses `https://…` (or `http://` to a loopback host only: a bearer
    /// token never crosses a network in clear text). Credentials, queries
    /// and fragments are refused.
    pub fn parse(text: &str) -> Result<ServiceUrl, ClientError> {
        let text = text.trim();
        let url = Url::parse(text).map_err(|e| {
            ClientError::config(format!("The service URL `{text}` is not a URL: {e}."))
        })?;
        let host = url.host_str().unwrap_or_default().to_string();
        if host.is_empty() {
            return Err(ClientError::config(format!(
                "The service URL `{text}` has no host."
            )));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(ClientError::config(format!(
                    "The service URL `{text}` uses http:// to a non-loopback host; use https:// so the token is not sent in clear text."
                )));
            }
            other => {
                return Err(ClientError::config(format!(
                    "The service URL `{text}` has scheme `{other}`; expected https://."
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientError::config(
                "The service URL must not contain credentials.",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ClientError::config(format!(
                "The service URL `{text}` must not have a query or fragment."
            )));
        }
        let base = url.as_str().trim_end_matches('/').to_string();
        Ok(ServiceUrl { base, host })
    }

    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The host, e.g. the default OIDC audience.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `path` (starting with `/`) under the base.
    pub fn join(&self, path: &str) -> Result<Url, ClientError> {
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(ClientError::internal(format!(
                "refusing to follow the service path `{path}`"
            )));
        }
        Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| ClientError::internal(format!("cannot build a URL for `{path}`: {e}")))
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (1 = no retry).
    pub attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a busy lane (409 `lane_busy`) is waited for, retried every
    /// `lane_poll` without spending `attempts`; zero = not at all.
    pub lane_wait: Duration,
    /// The pause between tries while a lane is busy.
    pub lane_poll: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            lane_wait: Duration::ZERO,
            lane_poll: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The pause before try `n + 1` (n ≥ 1): doubling, capped.
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// A service answer: the status and the JSON body (`Null` when the body
/// was not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    pub fn trace_id(&self) -> &str {
        self.body["trace_id"].as_str().unwrap_or_default()
    }

    /// `HTTP 403 authorization_denied: message (trace_id …)`.
    pub fn describe(&self) -> String {
        let mut text = format!("HTTP {}", self.status);
        if !self.error_code().is_empty() {
            text.push_str(&format!(" {}", self.error_code()));
        }
        if !self.error_message().is_empty() {
            text.push_str(&format!(": {}", self.error_message()));
        } else if self.body.is_null() {
            text.push_str(" (no JSON body)");
        }
        if !self.trace_id().is_empty() {
            text.push_str(&format!(" (trace_id {})", self.trace_id()));
        }
        text
    }
}

/// A transport error with its causes, without headers.
pub fn describe_transport(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "the request timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    if let Some(url) = error.url() {
        let mut url = url.clone();
        url.set_query(None);
        text.push_str(&format!(" ({url})"));
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

pub(crate) fn http_client() -> Result<reqwest::Client, ClientError> {
    crate::tls::client_builder()
        .connect_timeout(Duration::from_secs(15))
        .user_agent(concat!("launchplane-call/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError::internal(format!("cannot build the HTTP client: {e}")))
}

/// Whether an answer is worth another try.
pub(crate) fn retryable_status(status: u16, body: &Value) -> bool {
    (status >= 500 && status != StatusCode::NOT_IMPLEMENTED.as_u16())
        || (status == 409
            && matches!(
                body["error"]["code"].as_str(),
                Some("idempotency_request_in_progress" | "lane_busy")
            ))
}

/// Time left before `deadline`, or a timeout error.
pub(crate) fn remaining(
    deadline: Option<Instant>,
    what: &str,
) -> Result<Option<Duration>, ClientError> {
    match deadline {
        None => Ok(None),
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(ClientError::timeout(format!(
                    "{what}: the --timeout elapsed before an answer arrived (a request that carried an idempotency key can be re-run with the same key to get its answer)."
                )))
            } else {
                Ok(Some(left))
            }
        }
    }
}

/// Runs `send` up to `policy.attempts` times. `retry` says whether a
/// failure may be retried at all (false: a single try).
pub(crate) async fn with_retries<F, Fut>(
    policy: &RetryPolicy,
    retry: bool,
    deadline: Option<Instant>,
    what: &str,
    console: &Console,
    mut send: F,
) -> Result<Reply, ClientError>
where
    F: FnMut(Option<Duration>) -> Fut,
    Fut: Future<Output = Result<reqwest::Response, reqwest::Error>>,
{
    let attempts = if retry { policy.attempts.max(1) } else { 1 };
    let mut attempt = 1;
    let mut lane_busy_since: Option<Instant> = None;
    loop {
        let left = remaining(deadline, what)?;
        let outcome = match send(left).await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => Ok(Reply {
                        status,
                        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    }),
                    Err(e) => Err(describe_transport(&e)),
                }
            }
            Err(e) => Err(describe_transport(&e)),
        };
        let problem = match &outcome {
            Ok(reply) if retryable_status(reply.status, &reply.body) => reply.describe(),
            Ok(_) => return outcome.map_err(ClientError::transport),
            Err(message) => message.clone(),
        };
        // A busy lane is waited for up to `lane_wait` without spending
        // attempts: nothing ran, and the holder finishes in its own time.
        let lane_left = match &outcome {
            Ok(reply) if retry && is_lane_busy(reply) && !policy.lane_wait.is_zero() => {
                let since = *lane_busy_since.get_or_insert_with(Instant::now);
                policy
                    .lane_wait
                    .checked_sub(since.elapsed())
                    .filter(|left| !left.is_zero())
            }
            _ => None,
        };
        if attempt >= attempts && lane_left.is_none() {
            return match outcome {
                Ok(reply) => Ok(reply),
                Err(message) => Err(ClientError::transport(format!(
                    "{what}: {message} (after {attempt} attempt{})",
                    if attempt == 1 { "" } else { "s" }
                ))),
            };
        }
        let pause = match lane_left {
            Some(left) => policy.lane_poll.min(left),
            None => policy.backoff(attempt),
        };
        if let Some(left) = remaining(deadline, what)?
            && pause >= left
        {
            return Err(ClientError::timeout(format!(
                "{what}: {problem}; no time left for another attempt before the timeout."
            )));
        }
        console.note(&format!(
            "launchplane: {what}: {problem}; retrying in {:.1}s (attempt {}/{attempts})",
            pause.as_secs_f64(),
            attempt + 1
        ));
        tokio::time::sleep(pause).await;
        if lane_left.is_none() {
            attempt += 1;
        }
    }
}

fn is_lane_busy(reply: &Reply) -> bool {
    reply.status == 409 && reply.body["error"]["code"] == "lane_busy"
}

/// An authenticated connection to one service.
pub struct Remote {
    http: reqwest::Client,
    base: ServiceUrl,
    /// `Bearer …`, marked sensitive.
    auth: reqwest::header::HeaderValue,
    retry: RetryPolicy,
    deadline: Option<Instant>,
}

impl Remote {
    pub fn new(
        base: ServiceUrl,
        token: &Secret,
        retry: RetryPolicy,
        deadline: Option<Instant>,
    ) -> Result<Remote, ClientError> {
        let auth = token.bearer_header().ok_or_else(|| {
            ClientError::config("The token contains characters an HTTP header cannot carry.")
        })?;
        Ok(Remote {
            http: http_client()?,
            base,
            auth,
            retry,
            deadline,
        })
    }

    pub fn base(&self) -> &ServiceUrl {
        &self.base
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn request(&self, method: Method, url: Url, left: Option<Duration>) -> reqwest::RequestBuilder {
        let builder = self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        match left {
            Some(left) => builder.timeout(left),
            None => builder,
        }
    }

    /// GET `path`; retried on transport failures and 5xx.
    pub async fn get(&self, path: &str, console: &Console) -> Result<Reply, ClientError> {
        let url = self.base.join(path)?;
        let what = format!("GET {path}");
        with_retries(&self.retry, true, self.deadline, &what, console, |left| {
            self.request(Method::GET, url.clone(), left).send()
        })
        .await
    }

    /// POST a JSON body; retried only when `idempotency_key` is set.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
        console: &Console,
    ) -> Result<Reply, ClientError> {
        let url = self.base.join(path)?;
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::internal(format!("cannot encode the request: {e}")))?;
        let what = format!("POST {path}");
        with_retries(
            &self.retry,
            idempotency_key.is_some(),
            self.deadline,
            &what,
            console,
            |left| {
                let builder = self
                    .request(Method::POST, url.clone(), left)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(bytes.clone());
                match idempotency_key {
                    Some(key) => builder.header("Idempotency-Key", key),
                    None => builder,
                }
                .send()
            },
        )
        .await
    }
}
