//! [`HumanAuth`]: pending sign-ins (in memory, 10 minutes, as in the
//! original) and sessions (in the store, 12 hours, revocable). A session
//! is stored under the SHA-256 of its id, with the identity and a random
//! CSRF token every cookie-authorized mutation must echo.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::cookie::{self, cookie_value};
use super::oauth::{self, random_token};
use super::{GithubProfile, HumanAuthConfig, HumanAuthError, HumanIdentity};
use crate::records::{HumanSessionRow, Store};

/// At most this many sign-ins may be pending at once; past it the
/// oldest is dropped.
const MAX_PENDING: usize = 10_000;

/// A started sign-in, waiting for GitHub's callback.
struct PendingLogin {
    verifier: Zeroizing<String>,
    return_to: String,
    started: Instant,
}

/// A live session, as a request presents it.
#[derive(Debug, Clone)]
pub struct HumanSession {
    pub identity: HumanIdentity,
    /// What `X-CSRF-Token` must equal on a mutation.
    pub csrf_token: String,
}

/// A session just opened: the cookie value to set and its CSRF token.
pub struct NewSession {
    pub cookie_value: Zeroizing<String>,
    pub csrf_token: String,
}

/// Human sign-in and sessions over one store.
pub struct HumanAuth {
    config: HumanAuthConfig,
    client: reqwest::Client,
    store: Store,
    pending: Mutex<HashMap<String, PendingLogin>>,
}

/// `return_to` when it is a same-origin path (starts with one `/`, no
/// backslash or control character), else `/`.
pub fn sanitize_return_to(return_to: &str) -> String {
    let safe = return_to.starts_with('/')
        && !return_to.starts_with("//")
        && !return_to.contains('\\')
        && !return_to.chars().any(char::is_control);
    if safe {
        return_to.to_string()
    } else {
        "/".to_string()
    }
}

fn session_hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

impl HumanAuth {
    /// Sign-in with `config`, sessions in `store`.
    pub fn new(config: HumanAuthConfig, store: Store) -> Result<Self, HumanAuthError> {
        let client = crate::tls::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HumanAuthError::GitHub(format!("cannot build the HTTP client: {e}")))?;
        Ok(HumanAuth {
            config,
            client,
            store,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HumanAuthConfig {
        &self.config
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, PendingLogin>> {
        match self.pending.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Starts a sign-in: remembers a fresh state and PKCE verifier for
    /// ten minutes and answers GitHub's authorize URL.
    pub fn begin_login(&self, return_to: &str) -> Result<String, HumanAuthError> {
        let state = random_token(32);
        let verifier = Zeroizing::new(random_token(64));
        let url = oauth::authorize_url(&self.config, &state, &verifier)?;
        let mut pending = self.pending();
        let ttl = self.config.login_ttl;
        pending.retain(|_, login| login.started.elapsed() < ttl);
        if pending.len() >= MAX_PENDING
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, login)| login.started)
                .map(|(state, _)| state.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(
            state,
            PendingLogin {
                verifier,
                return_to: sanitize_return_to(return_to),
                started: Instant::now(),
            },
        );
        Ok(url)
    }

    /// Finishes a sign-in: the state must be pending (it is used once),
    /// the code is exchanged and the profile read. Answers the profile and
    /// where to send the browser.
    pub async fn complete_login(
        &self,
        code: &str,
        state: &str,
    ) -> Result<(GithubProfile, String), HumanAuthError> {
        if code.trim().is_empty() || state.trim().is_empty() {
            return Err(HumanAuthError::InvalidCallback(
                "The OAuth callback needs `code` and `state`.".to_string(),
            ));
        }
        let login = self.pending().remove(state);
        let login = login
            .filter(|login| login.started.elapsed() < self.config.login_ttl)
            .ok_or_else(|| {
                HumanAuthError::InvalidCallback(
                    "The sign-in state is unknown or expired; start again.".to_string(),
                )
            })?;
        let token = oauth::exchange(&self.client, &self.config, code, &login.verifier).await?;
        let profile = oauth::profile(&self.client, &self.config, &token).await?;
        Ok((profile, login.return_to))
    }

    /// Opens a session for `identity` (with its role set).
    pub async fn open_session(
        &self,
        identity: &HumanIdentity,
    ) -> Result<NewSession, HumanAuthError> {
        let session_id = Zeroizing::new(random_token(32));
        let csrf_token = random_token(32);
        let ttl_ms = i64::try_from(self.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let row = HumanSessionRow {
            identity: serde_json::to_string(identity)
                .map_err(|e| HumanAuthError::GitHub(format!("identity: {e}")))?,
            csrf_token: csrf_token.clone(),
            created_at: crate::time::now_rfc3339(),
            expires_ms: now_ms().saturating_add(ttl_ms),
        };
        self.store
            .insert_human_session(&session_hash(&session_id), &row)
            .await?;
        Ok(NewSession {
            cookie_value: Zeroizing::new(cookie::sign(&self.config.session_secret, &session_id)),
            csrf_token,
        })
    }

    /// The session id a request's cookie carries, when it is signed by
    /// this host's secret.
    fn session_id(&self, headers: &HeaderMap) -> Option<Zeroizing<String>> {
        let value = Zeroizing::new(cookie_value(headers)?);
        cookie::verify(&self.config.session_secret, &value).map(Zeroizing::new)
    }

    /// Whether the request carries a session cookie at all (valid or not).
    pub fn has_cookie(headers: &HeaderMap) -> bool {
        cookie_value(headers).is_some()
    }

    /// The live session of a request: none without a validly signed
    /// cookie, or when the session expired (then deleted) or was revoked.
    pub async fn session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<HumanSession>, HumanAuthError> {
        let Some(session_id) = self.session_id(headers) else {
            return Ok(None);
        };
        let Some(row) = self
            .store
            .human_session(&session_hash(&session_id), now_ms())
            .await?
        else {
            return Ok(None);
        };
        let identity: HumanIdentity = serde_json::from_str(&row.identity)
            .map_err(|e| HumanAuthError::GitHub(format!("stored identity: {e}")))?;
        Ok(Some(HumanSession {
            identity,
            csrf_token: row.csrf_token,
        }))
    }

    /// Revokes the request's session; false when it had none.
    pub async fn close_session(&self, headers: &HeaderMap) -> Result<bool, HumanAuthError> {
        match self.session_id(headers) {
            None => Ok(false),
            Some(session_id) => Ok(self
                .store
                .delete_human_session(&session_hash(&session_id))
                .await?),
        }
    }

    /// `Set-Cookie` for a newly opened session.
    pub fn set_cookie(&self, session: &NewSession) -> String {
        let max_age = i64::try_from(self.config.session_ttl.as_secs()).unwrap_or(i64::MAX);
        cookie::set_cookie(&session.cookie_value, max_age, self.config.cookie_secure)
    }

    /// `Set-Cookie` that clears the session cookie.
    pub fn clear_cookie(&self) -> String {
        cookie::clear_cookie(self.config.cookie_secure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_keeps_same_origin_paths_only() {
        assert_eq!(sanitize_return_to("/ui/lanes?x=1"), "/ui/lanes?x=1");
        for bad in [
            "",
            "ui",
            "//evil.example",
            "/\\evil.example",
            "https://x",
            "/a\nb",
        ] {
            assert_eq!(sanitize_return_to(bad), "/", "{bad:?}");
        }
    }
}
