//! [`TokenError`]: why a token was refused, its stable code, and the 401
//! an unauthenticated caller sees.

use super::{AUTHENTICATION_REQUIRED_MESSAGE, MAX_TOKEN_BYTES};
use crate::auth::AuthError;

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
    pub fn to_auth_error(&self) -> AuthError {
        AuthError::Unauthenticated(format!(
            "{AUTHENTICATION_REQUIRED_MESSAGE} Reason: {}.",
            self.client_reason()
        ))
    }
}
