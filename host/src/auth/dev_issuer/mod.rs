//! A local OIDC issuer for development (`launchplane dev`) and tests.
//!
//! It signs GitHub-Actions-shaped tokens with an RSA-2048 key generated at
//! runtime, and serves its discovery document and JWKS so a normal
//! [`OidcVerifier`](super::oidc::OidcVerifier) configured with this issuer
//! verifies them exactly as it verifies GitHub's. The key can be saved as a
//! PKCS#8 PEM file (mode 0600) so another process (`launchplane dev token`)
//! can mint tokens for a running `launchplane dev`. No private key is ever
//! committed: it is generated on first use.
//!
//! Only for loopback: [`ensure_loopback_bind`] refuses any other address.
//!
//! ## Where to start
//!
//! [`DevIssuer`] (`issuer.rs`) is the issuer and its key; the rest is by
//! noun:
//!
//! - `token.rs`: [`DevTokenRequest`], and minting and signing tokens.
//! - `key_file.rs`: the key saved as a private PEM file, shared by
//!   processes.
//! - `server.rs`: the discovery document, the JWKS and the loopback-only
//!   [`router`].
//! - `error.rs`: [`DevIssuerError`].

mod error;
mod issuer;
mod key_file;
mod server;
mod token;

use std::time::Duration;

pub use error::DevIssuerError;
pub use issuer::DevIssuer;
pub use server::{discovery_document, ensure_loopback_bind, issuer_url_for, router};
pub use token::DevTokenRequest;

/// File name of the saved key inside the key folder.
pub const KEY_FILE_NAME: &str = "dev-oidc-issuer-key.pem";

/// The repository of a default token request.
pub const DEFAULT_REPOSITORY: &str = "launchplane/demo";
/// The workflow of a default token request (`deploy.yml` on `main`).
pub const DEFAULT_WORKFLOW_REF: &str =
    "launchplane/demo/.github/workflows/deploy.yml@refs/heads/main";
/// The event of a default token request.
pub const DEFAULT_EVENT_NAME: &str = "push";
/// The `ref` of a default token request.
pub const DEFAULT_REF: &str = "refs/heads/main";
/// The repository id of a default token request.
pub const DEFAULT_REPOSITORY_ID: &str = "1";
/// The repository owner id of a default token request.
pub const DEFAULT_REPOSITORY_OWNER_ID: &str = "1";
/// The commit of a default token request.
pub const DEFAULT_SHA: &str = "0000000000000000000000000000000000000000";
/// The lifetime of a default token request.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Longest lifetime [`DevIssuer::mint`] accepts.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

#[cfg(test)]
mod tests;
