//! GitHub Actions OIDC verification.
//!
//! A caller presents the JWT its workflow obtained from GitHub's token
//! service. [`OidcVerifier::verify`] accepts it only when all of these hold:
//!
//! * compact JWS with three base64url segments, at most [`MAX_TOKEN_BYTES`];
//! * header `alg` is exactly `RS256` (`none`, `HS*`, `ES*`, `PS*` ... are
//!   refused before any key lookup), a non-empty `kid` is present and no
//!   `crit` extension is used; `jku`, `x5u`, `jwk` and `x5c` headers are
//!   ignored, keys only ever come from the configured issuer's JWKS;
//! * the `kid` names an RSA signing key (`kty` `RSA`, `use` absent or `sig`,
//!   `alg` absent or `RS256`, modulus of at least 2048 bits) in the issuer's
//!   JWKS and the RS256 signature verifies with it;
//! * `iss` equals the configured issuer exactly;
//! * `aud` (a string or a list) contains the configured audience (with
//!   [`OidcConfig::require_single_audience`], it must be the only one);
//! * `exp` and `iat` are present; `exp`, `nbf` (when present) and `iat` are
//!   checked against the clock with [`OidcConfig::leeway`];
//! * `repository` and `workflow_ref` are present and non-blank.
//!
//! Keys are cached in memory. An unknown `kid`, or a cache older than
//! [`OidcConfig::jwks_max_age`], triggers a refetch, but at most one fetch
//! starts per [`OidcConfig::refetch_interval`]; concurrent misses wait for
//! and share that one fetch. A failed fetch (issuer down, HTTP error, garbage,
//! or a key set with no usable key) never replaces the cache, so an outage
//! keeps serving the keys already known, and an empty set is never cached.
//!
//! No error produced here ever contains the token or any part of it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::{Map, Value, json};

use super::{Authenticator, Caller, CallerIdentity, bearer_token};
use crate::error::ApiError;

/// GitHub's token service, the default (and production) issuer.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The caller kind of a verified GitHub Actions token.
pub const GITHUB_ACTIONS_KIND: &str = "github_actions";

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Discovery and JWKS documents larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// RSA keys with a smaller modulus are ignored.
const MIN_RSA_MODULUS_BITS: usize = 2048;

/// A `kid` longer than this is malformed.
const MAX_KID_CHARS: usize = 256;

/// The message every OIDC 401 starts with.
pub const AUTHENTICATION_REQUIRED_MESSAGE: &str = "A valid GitHub OIDC token is required.";

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// The verifier's configuration is unusable. Every message names the flag
/// and the environment variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcConfigError {
    #[error(
        "missing configuration: pass --oidc-audience or set LAUNCHPLANE_SERVICE_AUDIENCE \
         (the audience Launchplane's workflows request for their GitHub OIDC tokens)"
    )]
    MissingAudience,
    #[error("invalid --oidc-audience / LAUNCHPLANE_SERVICE_AUDIENCE: {0}")]
    InvalidAudience(String),
    #[error("invalid --oidc-issuer / LAUNCHPLANE_OIDC_ISSUER: {0}")]
    InvalidIssuer(String),
    #[error("invalid --oidc-jwks-url / LAUNCHPLANE_OIDC_JWKS_URL: {0}")]
    InvalidJwksUrl(String),
    #[error("invalid OIDC verifier setting {setting}: {reason}")]
    InvalidSetting {
        setting: &'static str,
        reason: String,
    },
    #[error("could not build the OIDC HTTP client: {0}")]
    HttpClient(String),
}

/// How tokens are verified. Build with [`OidcConfig::new`] and the `with_*`
/// methods; [`OidcVerifier::new`] validates the whole value again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// Expected `iss`, compared exactly. `https://`, or `http://` for a
    /// loopback host only.
    pub issuer: String,
    /// Expected `aud` member. Required; there is no default.
    pub audience: String,
    /// JWKS location; when `None` it is read from the issuer's discovery
    /// document (`{issuer}/.well-known/openid-configuration` → `jwks_uri`).
    pub jwks_url: Option<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// At most one JWKS fetch starts per interval, whatever the traffic.
    pub refetch_interval: Duration,
    /// Cached keys older than this are refreshed on use (subject to
    /// `refetch_interval`); if the refresh fails they keep being served, if it
    /// succeeds a key the issuer no longer publishes stops verifying.
    pub jwks_max_age: Duration,
    /// Timeout of each discovery/JWKS request.
    pub http_timeout: Duration,
    /// Refuse tokens whose `aud` lists other audiences besides ours
    /// (PyPI's `strict_aud`). Off by default: `aud` must *contain* ours.
    pub require_single_audience: bool,
}

impl OidcConfig {
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
    pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
    pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);
    pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);
    /// Largest accepted leeway.
    pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

    /// GitHub's issuer, the given audience and the default timings.
    pub fn new(audience: impl Into<String>) -> Result<Self, OidcConfigError> {
        let config = OidcConfig {
            issuer: GITHUB_ACTIONS_ISSUER.to_string(),
            audience: audience.into(),
            jwks_url: None,
            leeway: Self::DEFAULT_LEEWAY,
            refetch_interval: Self::DEFAULT_REFETCH_INTERVAL,
            jwks_max_age: Self::DEFAULT_JWKS_MAX_AGE,
            http_timeout: Self::DEFAULT_HTTP_TIMEOUT,
            require_single_audience: false,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Result<Self, OidcConfigError> {
        self.issuer = issuer.into();
        check_issuer(&self.issuer)?;
        Ok(self)
    }

    pub fn with_jwks_url(mut self, jwks_url: impl Into<String>) -> Result<Self, OidcConfigError> {
        let url = jwks_url.into();
        check_jwks_url(&url)?;
        self.jwks_url = Some(url);
        Ok(self)
    }

    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    pub fn with_jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    pub fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    pub fn with_require_single_audience(mut self, strict: bool) -> Self {
        self.require_single_audience = strict;
        self
    }

    /// Checks every field; the messages name the flag and the variable.
    pub fn validate(&self) -> Result<(), OidcConfigError> {
        check_audience(&self.audience)?;
        check_issuer(&self.issuer)?;
        if let Some(url) = &self.jwks_url {
            check_jwks_url(url)?;
        }
        if self.leeway > Self::MAX_LEEWAY {
            return Err(OidcConfigError::InvalidSetting {
                setting: "leeway",
                reason: format!("at most {} s", Self::MAX_LEEWAY.as_secs()),
            });
        }
        for (setting, value) in [
            ("refetch_interval", self.refetch_interval),
            ("jwks_max_age", self.jwks_max_age),
            ("http_timeout", self.http_timeout),
        ] {
            if value.is_zero() {
                return Err(OidcConfigError::InvalidSetting {
                    setting,
                    reason: "must be greater than zero".to_string(),
                });
            }
        }
        Ok(())
    }

    /// `{issuer}/.well-known/openid-configuration` (a trailing `/` of the
    /// issuer is not doubled).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

fn check_audience(audience: &str) -> Result<(), OidcConfigError> {
    if audience.trim().is_empty() {
        return Err(OidcConfigError::MissingAudience);
    }
    if audience != audience.trim() || audience.chars().any(char::is_control) {
        return Err(OidcConfigError::InvalidAudience(
            "must not contain surrounding whitespace or control characters".to_string(),
        ));
    }
    Ok(())
}

fn check_issuer(issuer: &str) -> Result<(), OidcConfigError> {
    if issuer.trim().is_empty() {
        return Err(OidcConfigError::InvalidIssuer(
            "must not be empty".to_string(),
        ));
    }
    if issuer != issuer.trim() {
        return Err(OidcConfigError::InvalidIssuer(
            "must not contain surrounding whitespace".to_string(),
        ));
    }
    check_endpoint_url(issuer).map_err(OidcConfigError::InvalidIssuer)?;
    Ok(())
}

fn check_jwks_url(url: &str) -> Result<(), OidcConfigError> {
    check_endpoint_url(url).map_err(OidcConfigError::InvalidJwksUrl)?;
    Ok(())
}

/// An issuer/JWKS URL must be `https://`, or `http://` on a loopback host
/// (127.0.0.0/8, `::1`, `localhost`); no credentials, query or fragment.
fn check_endpoint_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL ({e})"))?;
    let loopback = is_loopback_url(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "`{raw}` must use https:// (http:// is accepted only for a loopback host: \
                 127.0.0.0/8, ::1 or localhost)"
            ));
        }
        other => {
            return Err(format!(
                "`{raw}` has unsupported scheme `{other}`; use https://"
            ));
        }
    }
    if url.host().is_none() {
        return Err(format!("`{raw}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{raw}` must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` must not have a query or fragment"));
    }
    Ok(url)
}

fn is_loopback_url(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a token was refused. The `Display` text never contains the token or
/// any part of it (header, claims, key id or signature): only fixed text,
/// claim names, and, for [`TokenError::JwksUnavailable`], the issuer-side
/// reason (URLs, HTTP status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is empty")]
    Empty,
    #[error("token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    #[error("token is malformed: {0}")]
    Malformed(&'static str),
    #[error("token algorithm is not accepted (only RS256 is)")]
    UnsupportedAlgorithm,
    #[error("token header has no key id (kid)")]
    MissingKeyId,
    #[error("token key id is not in the issuer's key set")]
    UnknownKey,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token issuer is not the configured issuer")]
    WrongIssuer,
    #[error("token audience does not match the configured audience")]
    WrongAudience,
    #[error("token is expired")]
    Expired,
    #[error("token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("token was issued in the future (iat)")]
    IssuedInFuture,
    #[error("token has no `{0}` claim")]
    MissingClaim(&'static str),
    #[error("token claim `{0}` is malformed")]
    InvalidClaim(&'static str),
    #[error("the issuer's signing keys are unavailable: {0}")]
    JwksUnavailable(String),
}

impl TokenError {
    /// A stable snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Empty => "token_empty",
            TokenError::TooLarge => "token_too_large",
            TokenError::Malformed(_) => "token_malformed",
            TokenError::UnsupportedAlgorithm => "unsupported_algorithm",
            TokenError::MissingKeyId => "missing_kid",
            TokenError::UnknownKey => "unknown_kid",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::IssuedInFuture => "token_issued_in_future",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::InvalidClaim(_) => "invalid_claim",
            TokenError::JwksUnavailable(_) => "jwks_unavailable",
        }
    }

    /// A short reason safe to show an unauthenticated caller: fixed text
    /// and claim names only; never issuer-side URLs or errors.
    pub fn client_reason(&self) -> String {
        match self {
            TokenError::JwksUnavailable(_) => {
                "the issuer's signing keys are unavailable".to_string()
            }
            other => other.to_string(),
        }
    }

    /// 401 `authentication_required`: "A valid GitHub OIDC token is
    /// required." plus the short reason.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::authentication_required(format!(
            "{AUTHENTICATION_REQUIRED_MESSAGE} Reason: {}.",
            self.client_reason()
        ))
    }
}

// ---------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------

/// The verified claims Launchplane uses. Strings are trimmed; optional
/// claims that are absent or blank are `None`; other absent strings are
/// empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GithubActionsClaims {
    pub repository: String,
    pub repository_id: Option<String>,
    pub repository_owner: String,
    pub repository_owner_id: Option<String>,
    pub workflow_ref: String,
    pub job_workflow_ref: Option<String>,
    /// Claim `ref`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub ref_type: String,
    pub event_name: String,
    pub environment: Option<String>,
    /// Claim `sub`.
    #[serde(rename = "sub")]
    pub subject: String,
    pub sha: String,
    /// Claim `jti` (for replay protection by callers that want it).
    pub jti: Option<String>,
    /// Claim `exp` (seconds since the epoch), set by the verifier.
    pub expires_at: Option<i64>,
}

impl GithubActionsClaims {
    /// Reads the GitHub claims of a (verified) claim set. `repository` and
    /// `workflow_ref` are required; `repository_id`/`repository_owner_id`
    /// must be numeric when present.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, TokenError> {
        let required = |name: &'static str| -> Result<String, TokenError> {
            match optional_string(claims, name)? {
                Some(value) => Ok(value),
                None => Err(TokenError::MissingClaim(name)),
            }
        };
        let string_or_empty = |name: &'static str| -> Result<String, TokenError> {
            Ok(optional_string(claims, name)?.unwrap_or_default())
        };
        let repository = required("repository")?;
        let workflow_ref = required("workflow_ref")?;
        let expires_at = match claims.get("exp") {
            Some(value) => Some(numeric_date(value).ok_or(TokenError::InvalidClaim("exp"))?),
            None => None,
        };
        Ok(GithubActionsClaims {
            repository,
            repository_id: numeric_id(claims, "repository_id")?,
            repository_owner: string_or_empty("repository_owner")?,
            repository_owner_id: numeric_id(claims, "repository_owner_id")?,
            workflow_ref,
            job_workflow_ref: optional_string(claims, "job_workflow_ref")?,
            git_ref: string_or_empty("ref")?,
            ref_type: string_or_empty("ref_type")?,
            event_name: string_or_empty("event_name")?,
            environment: optional_string(claims, "environment")?,
            subject: string_or_empty("sub")?,
            sha: string_or_empty("sha")?,
            jti: optional_string(claims, "jti")?,
            expires_at,
        })
    }

    /// The workflow that identifies the caller for scoping:
    /// `job_workflow_ref` when present, else `workflow_ref`.
    pub fn effective_workflow_ref(&self) -> &str {
        self.job_workflow_ref
            .as_deref()
            .unwrap_or(&self.workflow_ref)
    }

    /// Caller scope for idempotency and audit (reference §2.4):
    /// `repository|job_workflow_ref-or-workflow_ref|sub`.
    pub fn scope(&self) -> String {
        format!(
            "{}|{}|{}",
            self.repository,
            self.effective_workflow_ref(),
            self.subject
        )
    }

    /// The `identity` object of authorization diagnostics (reference §7.4).
    /// Never contains the token.
    pub fn diagnostics(&self) -> Value {
        json!({
            "type": GITHUB_ACTIONS_KIND,
            "repository": self.repository,
            "workflow_ref": self.workflow_ref,
            "job_workflow_ref": self.job_workflow_ref,
            "event_name": self.event_name,
            "ref": self.git_ref,
            "ref_type": self.ref_type,
            "environment": self.environment,
            "subject": self.subject,
        })
    }

    /// Non-secret `(name, value)` pairs for [`CallerIdentity::claims`];
    /// claim names as GitHub spells them; absent and empty values skipped.
    pub fn identity_claims(&self) -> Vec<(String, String)> {
        let pairs: [(&str, Option<&str>); 12] = [
            ("repository", Some(&self.repository)),
            ("repository_id", self.repository_id.as_deref()),
            ("repository_owner", Some(&self.repository_owner)),
            ("repository_owner_id", self.repository_owner_id.as_deref()),
            ("workflow_ref", Some(&self.workflow_ref)),
            ("job_workflow_ref", self.job_workflow_ref.as_deref()),
            ("ref", Some(&self.git_ref)),
            ("ref_type", Some(&self.ref_type)),
            ("event_name", Some(&self.event_name)),
            ("environment", self.environment.as_deref()),
            ("sub", Some(&self.subject)),
            ("sha", Some(&self.sha)),
        ];
        pairs
            .into_iter()
            .filter_map(|(name, value)| match value {
                Some(v) if !v.is_empty() => Some((name.to_string(), v.to_string())),
                _ => None,
            })
            .collect()
    }

    /// The [`CallerIdentity`] of these claims: kind `github_actions`,
    /// subject [`Self::scope`], claims [`Self::identity_claims`].
    pub fn to_identity(&self) -> CallerIdentity {
        CallerIdentity {
            kind: GITHUB_ACTIONS_KIND.to_string(),
            subject: self.scope(),
            claims: self.identity_claims(),
        }
    }
}

/// A trimmed string claim; absent, `null` or blank → `None`; any other
/// type → [`TokenError::InvalidClaim`].
fn optional_string(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.to_string()))
        }
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// A numeric id claim: a string of ASCII digits or a non-negative integer.
fn numeric_id(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) => Ok(Some(n.to_string())),
            None => Err(TokenError::InvalidClaim(name)),
        },
        _ => match optional_string(claims, name)? {
            Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(s)),
            Some(_) => Err(TokenError::InvalidClaim(name)),
            None => Ok(None),
        },
    }
}

/// A JWT NumericDate: an integer or a finite number (fraction dropped).
fn numeric_date(value: &Value) -> Option<i64> {
    let Value::Number(n) = value else {
        return None;
    };
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    if f.is_finite() && f.abs() < 1e15 {
        Some(f.floor() as i64)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// The verifier
// ---------------------------------------------------------------------------

/// Verifies GitHub Actions OIDC tokens. Cheap to clone (one `Arc`); clones
/// share the key cache.
#[derive(Clone)]
pub struct OidcVerifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    config: OidcConfig,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    /// Serialises refreshes; holds the throttle state.
    refresh: tokio::sync::Mutex<RefreshState>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, RsaVerifyingKey>,
    fetched_at: Option<Instant>,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    /// `jwks_uri` learned from discovery (when no JWKS URL is configured).
    discovered_jwks_uri: Option<String>,
}

enum Refresh {
    Fetched,
    Throttled,
    Failed(String),
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl OidcVerifier {
    /// Validates the configuration and builds the HTTP client. Fetches
    /// nothing: keys are fetched on first use (or by [`Self::refresh_keys`]).
    pub fn new(config: OidcConfig) -> Result<Self, OidcConfigError> {
        config.validate()?;
        let http = crate::tls::client_builder()
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout)
            .redirect(same_host_redirects())
            .user_agent(concat!("launchplane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OidcConfigError::HttpClient(e.to_string()))?;
        Ok(OidcVerifier {
            inner: Arc::new(VerifierInner {
                config,
                http,
                cache: RwLock::new(KeyCache::default()),
                refresh: tokio::sync::Mutex::new(RefreshState::default()),
            }),
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.inner.config
    }

    /// Key ids currently cached, sorted.
    pub fn cached_key_ids(&self) -> Vec<String> {
        let cache = read_lock(&self.inner.cache);
        let mut ids: Vec<String> = cache.keys.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Fetches the key set now, regardless of the refetch interval (for a
    /// warm-up at startup). Returns the number of usable keys. A failure
    /// keeps the cache as it was.
    pub async fn refresh_keys(&self) -> Result<usize, TokenError> {
        let mut state = self.inner.refresh.lock().await;
        state.last_attempt = None;
        match self.refresh_locked(&mut state).await {
            Refresh::Fetched => Ok(read_lock(&self.inner.cache).keys.len()),
            Refresh::Failed(reason) => Err(TokenError::JwksUnavailable(reason)),
            Refresh::Throttled => Err(TokenError::JwksUnavailable("refresh throttled".to_string())),
        }
    }

    /// Verifies `token` and returns its GitHub claims.
    pub async fn verify(&self, token: &str) -> Result<GithubActionsClaims, TokenError> {
        let segments = split_token(token)?;
        let header = decode_json_object(segments.header).ok_or(TokenError::Malformed(
            "header is not a base64url JSON object",
        ))?;
        let kid = check_header(&header)?;
        if !is_base64url(segments.signature) {
            return Err(TokenError::Malformed("signature is not unpadded base64url"));
        }
        let key = self.key_for(&kid).await?;
        let signing_input = &token[..segments.header.len() + 1 + segments.payload.len()];
        if !key.verifies_rs256(signing_input.as_bytes(), segments.signature) {
            return Err(TokenError::BadSignature);
        }
        let claims = decode_json_object(segments.payload).ok_or(TokenError::Malformed(
            "payload is not a base64url JSON object",
        ))?;
        self.check_registered_claims(&claims, unix_now())?;
        GithubActionsClaims::from_claims(&claims)
    }

    /// `iss`, `aud`, `exp`, `nbf`, `iat`.
    fn check_registered_claims(
        &self,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<(), TokenError> {
        let config = &self.inner.config;
        match claims.get("iss") {
            None | Some(Value::Null) => return Err(TokenError::MissingClaim("iss")),
            Some(Value::String(iss)) if *iss == config.issuer => {}
            Some(_) => return Err(TokenError::WrongIssuer),
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            None | Some(Value::Null) => return Err(TokenError::MissingClaim("aud")),
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(list)) => {
                let mut audiences = Vec::with_capacity(list.len());
                for item in list {
                    match item {
                        Value::String(aud) => audiences.push(aud.as_str()),
                        _ => return Err(TokenError::InvalidClaim("aud")),
                    }
                }
                audiences
            }
            Some(_) => return Err(TokenError::InvalidClaim("aud")),
        };
        if !audiences.contains(&config.audience.as_str()) {
            return Err(TokenError::WrongAudience);
        }
        if config.require_single_audience && audiences.len() != 1 {
            return Err(TokenError::WrongAudience);
        }
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        let date = |name: &'static str| -> Result<Option<i64>, TokenError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => numeric_date(value)
                    .map(Some)
                    .ok_or(TokenError::InvalidClaim(name)),
            }
        };
        let exp = date("exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = date("nbf")?
            && nbf > now.saturating_add(leeway)
        {
            return Err(TokenError::NotYetValid);
        }
        let iat = date("iat")?.ok_or(TokenError::MissingClaim("iat"))?;
        if iat > now.saturating_add(leeway) {
            return Err(TokenError::IssuedInFuture);
        }
        Ok(())
    }

    /// The key for `kid`, refetching the key set when the rules allow it.
    async fn key_for(&self, kid: &str) -> Result<RsaVerifyingKey, TokenError> {
        let (cached, stale) = self.lookup(kid);
        if let Some(key) = cached {
            if !stale {
                return Ok(key);
            }
            // Stale: refresh if nobody else is and the interval allows; a
            // failed or throttled refresh keeps serving the cached key.
            let Ok(mut state) = self.inner.refresh.try_lock() else {
                return Ok(key);
            };
            return match self.refresh_locked(&mut state).await {
                Refresh::Fetched => self.lookup(kid).0.ok_or(TokenError::UnknownKey),
                Refresh::Throttled | Refresh::Failed(_) => Ok(key),
            };
        }
        // Unknown kid: one refresh at a time; waiters re-check the cache the
        // winner filled, then find the interval used up.
        let mut state = self.inner.refresh.lock().await;
        if let Some(key) = self.lookup(kid).0 {
            return Ok(key);
        }
        let outcome = self.refresh_locked(&mut state).await;
        drop(state);
        if let Some(key) = self.lookup(kid).0 {
            return Ok(key);
        }
        if read_lock(&self.inner.cache).keys.is_empty() {
            return Err(TokenError::JwksUnavailable(match outcome {
                Refresh::Failed(reason) => reason,
                Refresh::Throttled => {
                    "no signing keys fetched yet; the next fetch waits for the refetch interval"
                        .to_string()
                }
                Refresh::Fetched => "the key set is empty".to_string(),
            }));
        }
        Err(TokenError::UnknownKey)
    }

    /// `(key, stale)`.
    fn lookup(&self, kid: &str) -> (Option<RsaVerifyingKey>, bool) {
        let cache = read_lock(&self.inner.cache);
        let stale = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.inner.config.jwks_max_age);
        (cache.keys.get(kid).cloned(), stale)
    }

    async fn refresh_locked(&self, state: &mut RefreshState) -> Refresh {
        if let Some(last) = state.last_attempt
            && last.elapsed() < self.inner.config.refetch_interval
        {
            return Refresh::Throttled;
        }
        state.last_attempt = Some(Instant::now());
        match self.fetch_keys(state).await {
            Ok(keys) => {
                let count = keys.len();
                let mut cache = write_lock(&self.inner.cache);
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                drop(cache);
                tracing::info!(keys = count, "fetched OIDC signing keys");
                Refresh::Fetched
            }
            Err(reason) => {
                tracing::warn!(%reason, "OIDC signing key fetch failed; keeping cached keys");
                Refresh::Failed(reason)
            }
        }
    }

    async fn fetch_keys(
        &self,
        state: &mut RefreshState,
    ) -> Result<HashMap<String, RsaVerifyingKey>, String> {
        let config = &self.inner.config;
        let jwks_url = match (&config.jwks_url, &state.discovered_jwks_uri) {
            (Some(url), _) => url.clone(),
            (None, Some(url)) => url.clone(),
            (None, None) => {
                let url = self.discover().await?;
                state.discovered_jwks_uri = Some(url.clone());
                url
            }
        };
        let fetched = self
            .get_json(&jwks_url)
            .await
            .and_then(|doc| parse_jwks(&doc).map_err(|e| format!("JWKS at {jwks_url}: {e}")));
        if fetched.is_err() && config.jwks_url.is_none() {
            // Re-read the discovery document next time.
            state.discovered_jwks_uri = None;
        }
        fetched
    }

    /// Reads `jwks_uri` from the issuer's discovery document, whose
    /// `issuer` must be ours.
    async fn discover(&self) -> Result<String, String> {
        let config = &self.inner.config;
        let url = config.discovery_url();
        let doc = self.get_json(&url).await?;
        match doc.get("issuer").and_then(Value::as_str) {
            Some(issuer) if issuer == config.issuer => {}
            _ => {
                return Err(format!(
                    "discovery document at {url} does not name issuer {}",
                    config.issuer
                ));
            }
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("discovery document at {url} has no jwks_uri"))?;
        check_endpoint_url(jwks_uri)
            .map_err(|e| format!("discovery document at {url}: jwks_uri {e}"))?;
        Ok(jwks_uri.to_string())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let mut response = self
            .inner
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url} failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url} answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(format!(
                "GET {url}: document larger than {MAX_DOCUMENT_BYTES} bytes"
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: reading the body failed: {e}"))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!(
                    "GET {url}: document larger than {MAX_DOCUMENT_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
    }
}

/// Follows at most three redirects, all on the original host and never
/// from https to http.
fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        let same_host = first.host_str() == attempt.url().host_str()
            && first.port_or_known_default() == attempt.url().port_or_known_default();
        let downgrade = first.scheme() == "https" && attempt.url().scheme() != "https";
        if attempt.previous().len() > 3 {
            attempt.error("too many redirects")
        } else if !same_host || downgrade {
            attempt.error("redirect to another host or scheme refused")
        } else {
            attempt.follow()
        }
    })
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

// ---------------------------------------------------------------------------
// Token and key parsing
// ---------------------------------------------------------------------------

struct Segments<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split_token(token: &str) -> Result<Segments<'_>, TokenError> {
    if token.trim().is_empty() {
        return Err(TokenError::Empty);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "expected three dot-separated segments",
        ));
    };
    if !is_base64url(header) || !is_base64url(payload) {
        return Err(TokenError::Malformed("segments must be unpadded base64url"));
    }
    // The signature segment is checked after the header: an `alg: none`
    // token has an empty one and is refused for its algorithm.
    Ok(Segments {
        header,
        payload,
        signature,
    })
}

fn is_base64url(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn decode_json_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// `alg` must be RS256, `crit` absent, `kid` a non-empty string; returns it.
fn check_header(header: &Map<String, Value>) -> Result<String, TokenError> {
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        _ => return Err(TokenError::UnsupportedAlgorithm),
    }
    if header.contains_key("crit") {
        return Err(TokenError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    match header.get("kid") {
        None | Some(Value::Null) => Err(TokenError::MissingKeyId),
        Some(Value::String(kid)) if kid.is_empty() => Err(TokenError::MissingKeyId),
        Some(Value::String(kid)) if kid.chars().count() <= MAX_KID_CHARS => Ok(kid.clone()),
        Some(_) => Err(TokenError::Malformed("kid must be a short string")),
    }
}

/// The usable keys of a JWKS document: RSA, `use` absent or `sig`, `alg`
/// absent or `RS256`, `key_ops` absent or containing `verify`, a non-empty
/// `kid`, modulus ≥ 2048 bits. A `kid` listed twice is dropped (ambiguous).
/// An empty result is an error.
fn parse_jwks(doc: &Value) -> Result<HashMap<String, RsaVerifyingKey>, String> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "no `keys` array".to_string())?;
    let mut usable: HashMap<String, RsaVerifyingKey> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut ambiguous: HashSet<String> = HashSet::new();
    for jwk in keys {
        let Some(kid) = jwk.get("kid").and_then(Value::as_str) else {
            continue;
        };
        if kid.is_empty() {
            continue;
        }
        if !seen.insert(kid.to_string()) {
            ambiguous.insert(kid.to_string());
            continue;
        }
        match usable_rsa_key(jwk) {
            Some(key) => {
                usable.insert(kid.to_string(), key);
            }
            None => {
                tracing::debug!(kid, "ignoring a JWKS key that is not an RSA signing key");
            }
        }
    }
    for kid in &ambiguous {
        tracing::warn!(kid = %kid, "JWKS lists a key id twice; ignoring it");
        usable.remove(kid);
    }
    if usable.is_empty() {
        return Err("the key set has no usable RSA signing keys".to_string());
    }
    Ok(usable)
}

fn usable_rsa_key(jwk: &Value) -> Option<RsaVerifyingKey> {
    let field = |name: &str| jwk.get(name);
    if field("kty").and_then(Value::as_str) != Some("RSA") {
        return None;
    }
    match field("use") {
        None | Some(Value::Null) => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(_) => return None,
    }
    match field("alg") {
        None | Some(Value::Null) => {}
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(_) => return None,
    }
    match field("key_ops") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op.as_str() == Some("verify")) => {}
        Some(_) => return None,
    }
    let decode = |name: &str| -> Option<Vec<u8>> {
        let text = field(name)?.as_str()?.trim_end_matches('=');
        URL_SAFE_NO_PAD.decode(text).ok()
    };
    let n = decode("n")?;
    let e = decode("e")?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < MIN_RSA_MODULUS_BITS || e.is_empty() || e.len() > 8 {
        return None;
    }
    Some(RsaVerifyingKey {
        modulus: n.to_vec(),
        exponent: e.to_vec(),
    })
}

/// An RSA public key from the issuer's key set, used only to check RS256
/// (RSASSA-PKCS1-v1_5 with SHA-256) signatures.
#[derive(Clone)]
struct RsaVerifyingKey {
    /// Big-endian, without leading zeros.
    modulus: Vec<u8>,
    /// Big-endian, without leading zeros.
    exponent: Vec<u8>,
}

impl RsaVerifyingKey {
    /// Whether `signature` (unpadded base64url) is this key's RS256
    /// signature of `message`. ring refuses moduli under 2048 or over 8192
    /// bits and exponents outside 3..2^33, whatever the key set said.
    fn verifies_rs256(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        ring::signature::RsaPublicKeyComponents {
            n: &self.modulus,
            e: &self.exponent,
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            message,
            &signature,
        )
        .is_ok()
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

// ---------------------------------------------------------------------------
// Authenticator
// ---------------------------------------------------------------------------

/// The [`Authenticator`] for GitHub Actions callers: `Authorization:
/// Bearer <jwt>` verified by an [`OidcVerifier`].
///
/// [`Authenticator::authenticate`] returns the [`CallerIdentity`]
/// (`kind: "github_actions"`, `subject`: [`GithubActionsClaims::scope`],
/// `claims`: [`GithubActionsClaims::identity_claims`]);
/// [`Authenticator::authenticate_caller`] returns the same identity plus the
/// typed [`GithubActionsClaims`] in [`Caller::github_actions`], which is what
/// authorization ([`crate::auth::policy::AuthzPolicy::decide`]) needs.
#[derive(Debug, Clone)]
pub struct OidcAuthenticator {
    verifier: OidcVerifier,
}

impl OidcAuthenticator {
    pub fn new(verifier: OidcVerifier) -> Self {
        OidcAuthenticator { verifier }
    }

    pub fn verifier(&self) -> &OidcVerifier {
        &self.verifier
    }

    /// Bearer token → verified claims, or a 401 that never contains the
    /// token. Failures are logged at `info` with their code.
    pub async fn verify_headers(
        &self,
        headers: &HeaderMap,
    ) -> Result<GithubActionsClaims, ApiError> {
        let token = bearer_token(headers).map_err(|message| {
            ApiError::authentication_required(format!(
                "{AUTHENTICATION_REQUIRED_MESSAGE} {message}"
            ))
        })?;
        self.verifier.verify(token).await.map_err(|error| {
            tracing::info!(code = error.code(), %error, "GitHub OIDC token refused");
            error.to_api_error()
        })
    }
}

#[async_trait::async_trait]
impl Authenticator for OidcAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<CallerIdentity, ApiError> {
        Ok(self.verify_headers(headers).await?.to_identity())
    }

    async fn authenticate_caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let claims = self.verify_headers(headers).await?;
        Ok(Caller {
            identity: claims.to_identity(),
            github_actions: Some(claims),
        })
    }
}

#[cfg(test)]
#[path = "oidc_tests.rs"]
mod tests;
