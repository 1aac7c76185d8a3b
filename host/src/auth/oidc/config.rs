//! The verifier's configuration ([`OidcConfig`]), its errors
//! ([`OidcConfigError`]), and the rules issuer and JWKS URLs follow.

use std::time::Duration;

use reqwest::Url;

use super::GITHUB_ACTIONS_ISSUER;

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
/// methods; [`OidcVerifier::new`](super::OidcVerifier::new) validates the
/// whole value again.
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
    /// Default clock skew allowed on `exp`, `nbf` and `iat`.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
    /// Default shortest time between two JWKS fetches: a key the issuer
    /// publishes is accepted at most this long after its first use, even
    /// while unknown-`kid` requests flood in (each interval allows one
    /// fetch, and the fetch reads the whole current key set).
    pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
    /// Default age after which cached keys are refreshed on use.
    pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);
    /// Default timeout of each discovery/JWKS request.
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

    /// Another issuer (`https://`, or `http://` on a loopback host).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Result<Self, OidcConfigError> {
        self.issuer = issuer.into();
        check_issuer(&self.issuer)?;
        Ok(self)
    }

    /// A fixed JWKS URL instead of discovery.
    pub fn with_jwks_url(mut self, jwks_url: impl Into<String>) -> Result<Self, OidcConfigError> {
        let url = jwks_url.into();
        check_jwks_url(&url)?;
        self.jwks_url = Some(url);
        Ok(self)
    }

    /// Another clock skew allowance.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Another shortest time between two JWKS fetches.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Another age after which cached keys are refreshed.
    pub fn with_jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Another timeout of each discovery/JWKS request.
    pub fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Whether `aud` must hold our audience only.
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
pub(super) fn check_endpoint_url(raw: &str) -> Result<Url, String> {
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
