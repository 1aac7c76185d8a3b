//! Local operator tokens (`lpo_…`): for people at a terminal running
//! `launchplane drivers list --service-url …` against a remote host.
//!
//! Tokens are random, printed once at creation, stored as SHA-256 and
//! revocable. An operator may read (actions ending in `.read`); anything
//! more needs a `[[local_operators]]` policy rule whose `token_labels`
//! match the token's label.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use super::{AuthError, Authenticator, Caller, CallerIdentity, bearer_token};
use crate::records::Store;

/// The prefix that marks an operator token.
pub const TOKEN_PREFIX: &str = "lpo_";
/// The caller kind of an operator.
pub const OPERATOR_KIND: &str = "local_operator";

/// A new random token (`lpo_` + 64 hex digits) and its id.
pub fn new_token() -> (String, String) {
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let token_id = format!(
        "operator-token-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    (format!("{TOKEN_PREFIX}{secret}"), token_id)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Operator tokens first, then the next authenticator (OIDC) for anything
/// that is not an operator token.
pub struct OperatorOr<A> {
    store: Store,
    next: A,
}

impl<A> OperatorOr<A> {
    pub fn new(store: Store, next: A) -> Self {
        OperatorOr { store, next }
    }

    async fn operator(&self, token: &str) -> Result<Caller, AuthError> {
        let found = self
            .store
            .operator_token_by_hash(&token_hash(token))
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))?
            .ok_or_else(|| {
                AuthError::Unauthenticated("Unknown or revoked operator token.".to_string())
            })?;
        let identity = CallerIdentity {
            kind: OPERATOR_KIND.to_string(),
            subject: format!("{OPERATOR_KIND}|{}", found.label),
            claims: vec![
                ("token_label".to_string(), found.label),
                ("token_id".to_string(), found.token_id),
            ],
        };
        Ok(Caller::from_identity(identity))
    }
}

#[async_trait::async_trait]
impl<A: Authenticator> Authenticator for OperatorOr<A> {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<CallerIdentity, AuthError> {
        self.authenticate_caller(headers)
            .await
            .map(|caller| caller.identity)
    }

    async fn authenticate_caller(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        match bearer_token(headers) {
            Ok(token) if token.starts_with(TOKEN_PREFIX) => self.operator(token).await,
            _ => self.next.authenticate_caller(headers).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let (a, id_a) = new_token();
        let (b, id_b) = new_token();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
        assert_ne!(id_a, id_b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
