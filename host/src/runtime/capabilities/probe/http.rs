//! `probe` for drivers: HTTP health checks of lane and preview URLs.
//!
//! Each round GETs the URLs in order with the per-request timeout; the first
//! 2xx answer wins. Rounds repeat every `interval` (1 s by default) until a
//! pass or until `poll_for_ms` has gone (a single round when it is 0).
//!
//! With `expected_identity`, the winning body is read (at most
//! `max_body_bytes`) and compared with the runtime identity it echoes under
//! `runtime_identity`, `launchplane_runtime_identity`,
//! `launchplaneRuntimeIdentity` or `LAUNCHPLANE_RUNTIME_IDENTITY_JSON`
//! (reference §6.14): `match`, `mismatch`, `missing`, `malformed`, or
//! `unverifiable` when a 2xx body is not JSON (the original's fifth
//! outcome). `mismatch` and `malformed` are hard failures: polling goes on
//! (the old runtime may still be answering), and if time runs out the
//! result is `fail`. `missing` and `unverifiable` are advisory: the result
//! is `pass` and the driver decides whether its lane requires identity.
//!
//! A content check (`check-content`) reads every 2xx body and passes the
//! first that carries the named top-level JSON fields with the expected
//! values and contains the required text; any other 2xx body is a hard
//! failure, and polling goes on. The host knows no product: the driver says
//! which fields and text its app reports.
//!
//! Only `http` and `https` URLs are accepted; redirects are followed only
//! to the same host and port (at most 5); bodies are capped.

use std::time::{Duration, Instant};

use crate::providers::{IdentityStatus, RuntimeIdentity};
use serde_json::Value;

use crate::runtime::HostError;
use crate::runtime::probe::{ContentCheck, HealthCheck, HealthResult};

/// Default poll interval between rounds.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Default per-request timeout when a check gives 0.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a response body read for identity comparison.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Redirects followed (same host only).
const MAX_REDIRECTS: usize = 5;

/// The HTTP probe.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    client: reqwest::Client,
    interval: Duration,
    max_body_bytes: usize,
}

/// One attempt at one URL.
enum Attempt {
    /// A 2xx answer with (the capped prefix of) its body.
    Passed {
        status: u16,
        body: Vec<u8>,
        truncated: bool,
    },
    /// Another status.
    Status(u16),
    /// No answer.
    Error(String),
}

impl HttpProbe {
    pub fn new() -> Result<HttpProbe, HostError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.stop();
            }
            let same = attempt.previous().first().is_some_and(|first| {
                first.host_str() == attempt.url().host_str()
                    && first.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if same && matches!(attempt.url().scheme(), "http" | "https") {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = crate::tls::client_builder()
            .redirect(policy)
            .user_agent(concat!("launchplane-probe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                HostError::Unavailable(format!("cannot build the probe HTTP client: {e}"))
            })?;
        Ok(HttpProbe {
            client,
            interval: DEFAULT_INTERVAL,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }

    /// Time between rounds.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Cap on a body read for identity comparison.
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    async fn attempt(&self, url: &str, timeout: Duration, read_body: bool) -> Attempt {
        let response = match self.client.get(url).timeout(timeout).send().await {
            Ok(response) => response,
            Err(error) if error.is_timeout() => {
                return Attempt::Error(format!("timed out after {} ms", timeout.as_millis()));
            }
            Err(error) => {
                let reason = if error.is_redirect() {
                    "redirect refused".to_string()
                } else if error.is_connect() {
                    "connection failed".to_string()
                } else {
                    error.without_url().to_string()
                };
                return Attempt::Error(reason);
            }
        };
        let status = response.status();
        if !status.is_success() {
            return Attempt::Status(status.as_u16());
        }
        let mut body = Vec::new();
        let mut truncated = false;
        if read_body {
            let mut response = response;
            let deadline = Instant::now() + timeout;
            loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(remaining, response.chunk()).await {
                    Ok(Ok(Some(chunk))) => {
                        let room = self.max_body_bytes.saturating_sub(body.len());
                        if chunk.len() > room {
                            body.extend_from_slice(&chunk[..room]);
                            truncated = true;
                            break;
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(Ok(None)) => break,
                    Ok(Err(_)) | Err(_) => {
                        truncated = true;
                        break;
                    }
                }
            }
        }
        Attempt::Passed {
            status: status.as_u16(),
            body,
            truncated,
        }
    }
}

fn result(
    status: &str,
    url: &str,
    code: Option<u16>,
    identity: &str,
    detail: String,
) -> HealthResult {
    HealthResult {
        status: status.to_string(),
        url: url.to_string(),
        status_code: code,
        identity: identity.to_string(),
        detail,
    }
}

/// What one 2xx answer showed: a pass ends the check, a hard failure is
/// kept while polling goes on (the old runtime may still be answering).
enum Verdict {
    Pass(HealthResult),
    HardFail(HealthResult),
}

/// Refuses what must never be fetched: non-HTTP schemes, URLs without a
/// host, credentials in the URL.
fn check_urls(urls: &[String]) -> Result<(), HostError> {
    for url in urls {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| HostError::Invalid(format!("health URL `{url}` is not a URL")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(HostError::Invalid(format!(
                "health URL `{url}` must be an http or https URL with a host"
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(HostError::Invalid(format!(
                "health URL `{url}` may not carry credentials"
            )));
        }
    }
    Ok(())
}

/// At most this many JSON fields per content check, and this long each
/// field name, expected value and required text.
const MAX_CONTENT_FIELDS: usize = 32;
const MAX_CONTENT_TEXT: usize = 1024;
/// Longest observed value quoted back in a failure detail.
const MAX_QUOTED_CHARS: usize = 120;

/// A parsed [`ContentCheck`]: the expected field values as JSON.
struct ContentRule<'a> {
    fields: Vec<(&'a str, Value)>,
    contains: &'a str,
}

impl<'a> ContentRule<'a> {
    fn parse(check: &'a ContentCheck) -> Result<ContentRule<'a>, HostError> {
        if check.json_fields.len() > MAX_CONTENT_FIELDS {
            return Err(HostError::Invalid(format!(
                "json_fields names {} fields; at most {MAX_CONTENT_FIELDS} are checked",
                check.json_fields.len()
            )));
        }
        if check.contains.len() > MAX_CONTENT_TEXT {
            return Err(HostError::Invalid(format!(
                "contains is longer than {MAX_CONTENT_TEXT} bytes"
            )));
        }
        let mut fields = Vec::with_capacity(check.json_fields.len());
        for (name, expected) in &check.json_fields {
            if name.trim().is_empty() || name.len() > MAX_CONTENT_TEXT {
                return Err(HostError::Invalid(format!(
                    "json_fields: field name `{name}` must be non-blank and at most {MAX_CONTENT_TEXT} bytes"
                )));
            }
            if expected.len() > MAX_CONTENT_TEXT {
                return Err(HostError::Invalid(format!(
                    "json_fields: the expected value of `{name}` is longer than {MAX_CONTENT_TEXT} bytes"
                )));
            }
            let value = serde_json::from_str::<Value>(expected).map_err(|_| {
                HostError::Invalid(format!(
                    "json_fields: the expected value of `{name}` is not JSON text"
                ))
            })?;
            fields.push((name.as_str(), value));
        }
        Ok(ContentRule {
            fields,
            contains: &check.contains,
        })
    }

    /// `None` when `body` satisfies the rule, else what was wrong.
    fn mismatch(&self, body: &[u8]) -> Option<String> {
        if !self.fields.is_empty() {
            let payload = match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(payload)) => payload,
                _ => return Some("the body is not a JSON object".to_string()),
            };
            for (name, expected) in &self.fields {
                match payload.get(*name) {
                    Some(observed) if observed == expected => {}
                    Some(observed) => {
                        let observed = crate::providers::redact::truncate_chars(
                            &observed.to_string(),
                            MAX_QUOTED_CHARS,
                        );
                        return Some(format!("field `{name}` is {observed}, expected {expected}"));
                    }
                    None => return Some(format!("field `{name}` is missing, expected {expected}")),
                }
            }
        }
        if !self.contains.is_empty() && !String::from_utf8_lossy(body).contains(self.contains) {
            return Some(format!("the body does not contain `{}`", self.contains));
        }
        None
    }
}

impl HttpProbe {
    /// Rounds of GETs over `urls` until a 2xx answer `judge` passes or
    /// `poll_for` has gone. The answer is the pass, else the last hard
    /// failure, else the last HTTP failure.
    async fn poll(
        &self,
        urls: &[String],
        timeout_ms: u32,
        poll_for_ms: u32,
        read_body: bool,
        judge: impl Fn(&str, u16, &[u8], bool) -> Verdict,
    ) -> HealthResult {
        let timeout = match timeout_ms {
            0 => DEFAULT_REQUEST_TIMEOUT,
            ms => Duration::from_millis(u64::from(ms)),
        };
        let poll_for = Duration::from_millis(u64::from(poll_for_ms));
        let started = Instant::now();
        let mut hard_failure: Option<HealthResult> = None;
        let mut last_failure = result("fail", &urls[0], None, "", String::new());
        loop {
            for url in urls {
                match self.attempt(url, timeout, read_body).await {
                    Attempt::Passed {
                        status,
                        body,
                        truncated,
                    } => match judge(url, status, &body, truncated) {
                        Verdict::Pass(answer) => return answer,
                        Verdict::HardFail(answer) => {
                            hard_failure = Some(answer);
                            break;
                        }
                    },
                    Attempt::Status(code) => {
                        last_failure = result(
                            "fail",
                            url,
                            Some(code),
                            "",
                            format!("GET {url} answered {code}"),
                        );
                    }
                    Attempt::Error(reason) => {
                        last_failure =
                            result("fail", url, None, "", format!("GET {url}: {reason}"));
                    }
                }
            }
            if started.elapsed() + self.interval > poll_for {
                break;
            }
            tokio::time::sleep(self.interval).await;
        }
        hard_failure.unwrap_or(last_failure)
    }
}

impl HttpProbe {
    pub async fn check(&self, check: &HealthCheck) -> Result<HealthResult, HostError> {
        if check.urls.is_empty() {
            return Ok(result(
                "skipped",
                "",
                None,
                "",
                "no health URLs to check".to_string(),
            ));
        }
        check_urls(&check.urls)?;
        let expected = match &check.expected_identity {
            None => None,
            Some(text) => Some(
                RuntimeIdentity::parse_payload(&serde_json::Value::String(text.clone()))
                    .ok_or_else(|| {
                        HostError::Invalid(
                            "expected_identity is not a runtime identity JSON object".to_string(),
                        )
                    })?,
            ),
        };
        let judge = |url: &str, status: u16, body: &[u8], truncated: bool| {
            let Some(expected) = &expected else {
                return Verdict::Pass(result(
                    "pass",
                    url,
                    Some(status),
                    "",
                    format!("GET {url} answered {status}"),
                ));
            };
            let (outcome, mut detail) = expected.check_health_body(body);
            if truncated && outcome != IdentityStatus::Match {
                detail.push_str(" (body truncated)");
            }
            let hard = outcome.is_hard_failure();
            let answer = result(
                if hard { "fail" } else { "pass" },
                url,
                Some(status),
                outcome.as_str(),
                format!("GET {url} answered {status}; {detail}"),
            );
            if hard {
                Verdict::HardFail(answer)
            } else {
                Verdict::Pass(answer)
            }
        };
        Ok(self
            .poll(
                &check.urls,
                check.timeout_ms,
                check.poll_for_ms,
                expected.is_some(),
                judge,
            )
            .await)
    }

    pub async fn check_content(&self, check: &ContentCheck) -> Result<HealthResult, HostError> {
        if check.urls.is_empty() {
            return Err(HostError::Invalid(
                "a content check needs at least one URL".to_string(),
            ));
        }
        check_urls(&check.urls)?;
        let rule = ContentRule::parse(check)?;
        let judge = |url: &str, status: u16, body: &[u8], truncated: bool| match rule.mismatch(body)
        {
            None => Verdict::Pass(result(
                "pass",
                url,
                Some(status),
                "",
                format!("GET {url} answered {status} with the expected content"),
            )),
            Some(mut detail) => {
                if truncated {
                    detail.push_str(" (body truncated)");
                }
                Verdict::HardFail(result(
                    "fail",
                    url,
                    Some(status),
                    "",
                    format!("GET {url} answered {status}; {detail}"),
                ))
            }
        };
        Ok(self
            .poll(
                &check.urls,
                check.timeout_ms,
                check.poll_for_ms,
                true,
                judge,
            )
            .await)
    }
}
