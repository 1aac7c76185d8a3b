//! [`OidcAuthenticator`]: the [`Authenticator`] of GitHub Actions callers,
//! a bearer header verified by an [`OidcVerifier`].

use axum::http::HeaderMap;

use super::{AUTHENTICATION_REQUIRED_MESSAGE, GithubActionsClaims, OidcVerifier};
use crate::auth::{AuthError, Authenticator, Caller, CallerIdentity, bearer_token};

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
    /// An authenticator verifying with `verifier`.
    pub fn new(verifier: OidcVerifier) -> Self {
        OidcAuthenticator { verifier }
    }

    /// The verifier in use.
    pub fn verifier(&self) -> &OidcVerifier {
        &self.verifier
    }

    /// Bearer token → verified claims, or a 401 that never contains the
    /// token. Failures are logged at `info` with their code.
    pub async fn verify_headers(
        &self,
        headers: &HeaderMap,
    ) -> Result<GithubActionsClaims, AuthError> {
        let token = bearer_token(headers).map_err(|message| {
            AuthError::Unauthenticated(format!("{AUTHENTICATION_REQUIRED_MESSAGE} {message}"))
        })?;
        self.verifier.verify(token).await.map_err(|error| {
            tracing::info!(code = error.code(), %error, "GitHub OIDC token refused");
            error.to_auth_error()
        })
    }
}

#[async_trait::async_trait]
impl Authenticator for OidcAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<CallerIdentity, AuthError> {
        Ok(self.verify_headers(headers).await?.to_identity())
    }

    async fn authenticate_caller(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        let claims = self.verify_headers(headers).await?;
        Ok(Caller {
            identity: claims.to_identity(),
            github_actions: Some(claims),
        })
    }
}
