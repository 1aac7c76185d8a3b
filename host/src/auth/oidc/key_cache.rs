//! The verifier's signing keys: cached in memory, refetched from the
//! issuer's discovery and JWKS documents when a `kid` is unknown or the
//! cache is old, at most once per refetch interval, and kept through a
//! failed fetch.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Instant;

use serde_json::Value;

use super::config::check_endpoint_url;
use super::jwks::{RsaVerifyingKey, parse_jwks};
use super::{OidcVerifier, TokenError};

/// Discovery and JWKS documents larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// The keys last fetched, by `kid`, and when.
#[derive(Default)]
pub(super) struct KeyCache {
    keys: HashMap<String, RsaVerifyingKey>,
    fetched_at: Option<Instant>,
}

/// The refresh throttle, held under the verifier's refresh lock.
#[derive(Default)]
pub(super) struct RefreshState {
    last_attempt: Option<Instant>,
    /// `jwks_uri` learned from discovery (when no JWKS URL is configured).
    discovered_jwks_uri: Option<String>,
}

/// How a refresh ended.
enum Refresh {
    Fetched,
    Throttled,
    Failed(String),
}

impl OidcVerifier {
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

    /// The key for `kid`, refetching the key set when the rules allow it.
    pub(super) async fn key_for(&self, kid: &str) -> Result<RsaVerifyingKey, TokenError> {
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
                crate::metrics::jwks_fetch(true);
                Refresh::Fetched
            }
            Err(reason) => {
                tracing::warn!(%reason, "OIDC signing key fetch failed; keeping cached keys");
                crate::metrics::jwks_fetch(false);
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
pub(super) fn same_host_redirects() -> reqwest::redirect::Policy {
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
