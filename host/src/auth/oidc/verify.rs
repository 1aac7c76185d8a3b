//! [`OidcVerifier`]: the token checks in order (segments, header, key,
//! signature, registered claims, GitHub claims) over the shared key cache.

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::claims::numeric_date;
use super::key_cache::{KeyCache, RefreshState, same_host_redirects};
use super::token::{check_header, decode_json_object, is_base64url, split_token};
use super::{GithubActionsClaims, OidcConfig, OidcConfigError, TokenError};

/// Verifies GitHub Actions OIDC tokens. Cheap to clone (one `Arc`); clones
/// share the key cache.
#[derive(Clone)]
pub struct OidcVerifier {
    pub(super) inner: Arc<VerifierInner>,
}

/// What clones of a verifier share.
pub(super) struct VerifierInner {
    pub(super) config: OidcConfig,
    pub(super) http: reqwest::Client,
    pub(super) cache: RwLock<KeyCache>,
    /// Serialises refreshes; holds the throttle state.
    pub(super) refresh: tokio::sync::Mutex<RefreshState>,
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

    /// The configuration this verifier checks tokens against.
    pub fn config(&self) -> &OidcConfig {
        &self.inner.config
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
}

/// Seconds since the Unix epoch (0 before it).
pub(super) fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}
