//! [`OidcAuthenticator`]: the [`Authenticator`] of GitHub Actions callers,
//! a bearer header verified by an [`OidcVerifier`].

use axum::http::HeaderMap;

use super::{AUTHENTICATION_REQUIRED_MESSAGE, GithubActionsClaims, OidcVerifier};
use crate::auth::{AuthError, Authenticator, Caller, CallerIdentity, bearer_token};
use crate::trace::LogLimiter;

/// How often a refused token is logged, whatever the traffic.
static REFUSALS_LOGGED: LogLimiter = LogLimiter::new(20, std::time::Duration::from_secs(10));

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
    /// token. Failures are logged at `info` with their code (never the token),
    /// at most 20 lines per 10 s.
    pub async fn verify_headers(
        &self,
        headers: &HeaderMap,
    ) -> Result<GithubActionsClaims, AuthError> {
        let token = bearer_token(headers).map_err(|message| {
            AuthError::Unauthenticated(format!("{AUTHENTICATION_REQUIRED_MESSAGE} {message}"))
        })?;
        self.verifier.verify(token).await.map_err(|error| {
            // A flood of bad tokens must not flood the log: at most 20
            // lines per 10 s, the next one counting those suppressed.
            if let Some(suppressed) = REFUSALS_LOGGED.admit() {
                tracing::info!(
                    code = error.code(),
                    %error,
                    suppressed,
                    "GitHub OIDC token refused"
                );
            }
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
            human: None,
        })
    }
}
