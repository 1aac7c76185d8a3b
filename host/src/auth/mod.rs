//! Caller authentication.
//!
//! Every driver route requires an authenticated caller. The host decides who
//! a caller is through an [`Authenticator`]; until a verifier is configured
//! the host uses [`Closed`], which refuses every request, so no driver code
//! can ever run for an anonymous caller.
//!
//! * [`oidc`]: GitHub Actions OIDC verification ([`OidcVerifier`]) and its
//!   [`Authenticator`], [`OidcAuthenticator`].
//! * [`policy`]: the authorization policy model and its matching.
//! * [`glob`]: `fnmatchcase`-style patterns used by the policy.
//! * [`dev_issuer`]: a local OIDC issuer for development and tests.
//! * [`human`]: GitHub sign-in for humans and their browser sessions.

pub mod dev_issuer;
mod error;
pub mod glob;
pub mod human;
pub mod oidc;
pub mod operator;
pub mod policy;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

pub use error::AuthError;

pub use oidc::{
    GITHUB_ACTIONS_KIND, GithubActionsClaims, OidcAuthenticator, OidcConfig, OidcConfigError,
    OidcVerifier, TokenError,
};
pub use policy::{AuthzPolicy, AuthzRequest, Decision, PolicyError};

/// A verified caller. Holds claims, never the credential.
///
/// Serialised as `{"kind","subject","claims":{name: value}}`, the shape
/// audit events and stored operations keep.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallerIdentity {
    /// `github_actions` ([`GITHUB_ACTIONS_KIND`]), `operator`, ...
    pub kind: String,
    /// Stable scope string used for idempotency and audit.
    pub subject: String,
    /// Non-secret claims (repository, workflow_ref, ...).
    #[serde(with = "claims_object")]
    pub claims: Vec<(String, String)>,
}

impl CallerIdentity {
    /// The claims as a JSON object (name → value).
    pub fn claims_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.claims
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
    }
}

/// Claims as a JSON object rather than a list of pairs.
mod claims_object {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(claims: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<&str, &str> = claims
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        map.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

/// A verified caller with its typed claims, when the credential has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub identity: CallerIdentity,
    /// Set when the caller is a verified GitHub Actions workflow
    /// (`identity.kind == "github_actions"`); what authorization matches on.
    pub github_actions: Option<GithubActionsClaims>,
    /// Set when the caller is a signed-in human (`identity.kind ==
    /// "github_human"`); what `github_humans` rules match on.
    pub human: Option<human::HumanIdentity>,
}

impl Caller {
    /// A caller with no typed claims.
    pub fn from_identity(identity: CallerIdentity) -> Self {
        Caller {
            identity,
            github_actions: None,
            human: None,
        }
    }

    /// A signed-in human.
    pub fn from_human(identity: human::HumanIdentity) -> Self {
        Caller {
            identity: CallerIdentity {
                kind: human::HUMAN_KIND.to_string(),
                subject: identity.subject(),
                claims: identity.claims(),
            },
            github_actions: None,
            human: Some(identity),
        }
    }
}

/// Decides who is calling.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<CallerIdentity, AuthError>;

    /// Like [`Self::authenticate`], and also returns the typed claims of
    /// the credential. The default has none; [`OidcAuthenticator`] returns
    /// the verified [`GithubActionsClaims`].
    async fn authenticate_caller(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        self.authenticate(headers).await.map(Caller::from_identity)
    }
}

/// Refuses every request with 401: the posture of a host with no verifier.
#[derive(Debug, Default, Clone, Copy)]
pub struct Closed;

#[async_trait::async_trait]
impl Authenticator for Closed {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<CallerIdentity, AuthError> {
        let message = match bearer_token(headers) {
            Err(message) => message,
            Ok(_) => "No token verifier is configured on this host; driver routes are closed."
                .to_string(),
        };
        Err(AuthError::Unauthenticated(message))
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
