//! GitHub Actions OIDC verification.
//!
//! A caller presents the JWT its workflow obtained from GitHub's token
//! service. [`OidcVerifier::verify`] accepts it only when all of these hold:
//!
//! * compact JWS with three base64url segments, at most [`MAX_TOKEN_BYTES`];
//! * header `alg` is exactly `RS256` (`none`, `HS*`, `ES*`, `PS*` ... are
//!   refused before any key lookup), a non-empty `kid` is present and no
//!   `crit` extension is used; `jku`, `x5u`, `jwk` and `x5c` headers are
//!   ignored, keys only ever come from the configured issuer's JWKS;
//! * the `kid` names an RSA signing key (`kty` `RSA`, `use` absent or `sig`,
//!   `alg` absent or `RS256`, modulus of at least 2048 bits) in the issuer's
//!   JWKS and the RS256 signature verifies with it;
//! * `iss` equals the configured issuer exactly;
//! * `aud` (a string or a list) contains the configured audience (with
//!   [`OidcConfig::require_single_audience`], it must be the only one);
//! * `exp` and `iat` are present; `exp`, `nbf` (when present) and `iat` are
//!   checked against the clock with [`OidcConfig::leeway`];
//! * `repository` and `workflow_ref` are present and non-blank.
//!
//! Keys are cached in memory. An unknown `kid`, or a cache older than
//! [`OidcConfig::jwks_max_age`], triggers a refetch, but at most one fetch
//! starts per [`OidcConfig::refetch_interval`]; concurrent misses wait for
//! and share that one fetch. A failed fetch (issuer down, HTTP error, garbage,
//! or a key set with no usable key) never replaces the cache, so an outage
//! keeps serving the keys already known, and an empty set is never cached.
//!
//! No error produced here ever contains the token or any part of it.
//!
//! ## Where to start
//!
//! [`OidcVerifier::verify`] (`verify.rs`) is the whole check, in order; the
//! other files hold its parts:
//!
//! - `config.rs`: [`OidcConfig`] (issuer, audience, timings) and the rules
//!   its URLs follow, [`OidcConfigError`].
//! - `token.rs`: the compact JWS: its segments and its header.
//! - `key_cache.rs`: the cached signing keys, refetched from the issuer's
//!   discovery and JWKS documents at most once per interval.
//! - `jwks.rs`: the usable RSA keys of a JWKS document, and RS256 checks.
//! - `claims.rs`: [`GithubActionsClaims`], the GitHub claims Launchplane
//!   uses.
//! - `error.rs`: [`TokenError`], why a token was refused.
//! - `authenticator.rs`: [`OidcAuthenticator`], bearer header to caller.

mod authenticator;
mod claims;
mod config;
mod error;
mod jwks;
mod key_cache;
mod token;
mod verify;

pub use authenticator::OidcAuthenticator;
pub use claims::GithubActionsClaims;
pub use config::{OidcConfig, OidcConfigError};
pub use error::TokenError;
pub use verify::OidcVerifier;

/// GitHub's token service, the default (and production) issuer.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The caller kind of a verified GitHub Actions token.
pub const GITHUB_ACTIONS_KIND: &str = "github_actions";

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The message every OIDC 401 starts with.
pub const AUTHENTICATION_REQUIRED_MESSAGE: &str = "A valid GitHub OIDC token is required.";

#[cfg(test)]
mod tests;
