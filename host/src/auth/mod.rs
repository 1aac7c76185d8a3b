//! Caller authentication.
//!
//! Every driver route requires an authenticated caller. The host decides who
//! a caller is through an [`Authenticator`]; until a verifier is configured
//! the host uses [`Closed`], which refuses every request, so no driver code
//! can ever run for an anonymous caller.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::error::ApiError;

/// A verified caller. Holds claims, never the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `github-actions`, `operator`, ...
    pub kind: String,
    /// Stable scope string used for idempotency and audit.
    pub subject: String,
    /// Non-secret claims (repository, workflow_ref, ...).
    pub claims: Vec<(String, String)>,
}

/// Decides who is calling.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<CallerIdentity, ApiError>;
}

/// Refuses every request with 401: the posture of a host with no verifier.
#[derive(Debug, Default, Clone, Copy)]
pub struct Closed;

#[async_trait::async_trait]
impl Authenticator for Closed {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<CallerIdentity, ApiError> {
        let message = match bearer_token(headers) {
            Err(message) => message,
            Ok(_) => "No token verifier is configured on this host; driver routes are closed."
                .to_string(),
        };
        Err(ApiError::authentication_required(message))
    }
}

/// The bearer token of a request: exactly one `Authorization` header with
/// the `Bearer` scheme and a non-empty token.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, String> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err("Missing bearer token.".to_string());
    };
    if values.next().is_some() {
        return Err("More than one Authorization header.".to_string());
    }
    let value = value
        .to_str()
        .map_err(|_| "Authorization header is not ASCII.".to_string())?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Authorization scheme must be Bearer.".to_string());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err("Missing bearer token.".to_string());
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).expect("header"));
        }
        map
    }

    #[test]
    fn bearer_token_is_strict() {
        assert_eq!(bearer_token(&headers(&["Bearer abc"])), Ok("abc"));
        assert!(bearer_token(&headers(&[])).is_err());
        assert!(bearer_token(&headers(&["Bearer"])).is_err());
        assert!(bearer_token(&headers(&["Bearer   "])).is_err());
        assert!(bearer_token(&headers(&["Basic dXNlcjpwYXNz"])).is_err());
        assert!(bearer_token(&headers(&["Bearer a", "Bearer b"])).is_err());
    }
}
