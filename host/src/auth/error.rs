//! Why a caller could not be authenticated.

/// An authentication failure. The service answers
/// [`AuthError::Unauthenticated`] with 401 `authentication_required` and
/// the message as written (it never contains the credential), and
/// [`AuthError::Unavailable`] with 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential the host trusts: missing, malformed, expired,
    /// revoked, for another audience.
    #[error("{0}")]
    Unauthenticated(String),
    /// The credential could not be checked (the store failed).
    #[error("cannot check the credential: {0}")]
    Unavailable(String),
}
