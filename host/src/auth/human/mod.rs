//! GitHub sign-in for humans (reference §7.3): OAuth with PKCE against a
//! configurable GitHub, the identity a human signs in with, and browser
//! sessions stored in the database behind a signed cookie.
//!
//! * `config.rs`: [`HumanAuthConfig`] from `LAUNCHPLANE_GITHUB_*` and
//!   friends; sign-in is enabled only when the client id and secret, the
//!   public URL and the session secret are all set.
//! * `oauth.rs`: the authorize URL (PKCE S256), the code exchange and the
//!   profile reads (`/user`, `/user/emails`, `/user/orgs`, `/user/teams`).
//! * `identity.rs`: [`HumanIdentity`] and how its email, organizations
//!   and teams are derived.
//! * `cookie.rs`: the `launchplane_session=<id>.<hex HMAC-SHA256>` cookie.
//! * `sessions.rs`: [`HumanAuth`], pending logins (10 minutes, in memory)
//!   and sessions (12 hours, in the store, revocable, each with its CSRF
//!   token).
//!
//! What a human may do is decided by the policy's `github_humans` rules
//! (`auth/policy/humans.rs`); which routes take a session and the CSRF
//! check are decided by `ops/humans.rs`.

mod config;
pub mod cookie;
mod identity;
mod oauth;
mod sessions;

pub use config::HumanAuthConfig;
pub use identity::{GithubProfile, HumanIdentity};
pub use sessions::{HumanAuth, HumanSession, NewSession, sanitize_return_to};

/// The caller kind of a signed-in human.
pub const HUMAN_KIND: &str = "github_human";

/// Why a sign-in step failed. Messages never carry a code, token or
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum HumanAuthError {
    /// A configuration value is malformed (names the variable).
    #[error("invalid {env}: {reason}")]
    Config { env: &'static str, reason: String },
    /// The callback is missing `code`/`state`, the state is unknown or
    /// expired, or GitHub refused the exchange.
    #[error("{0}")]
    InvalidCallback(String),
    /// GitHub could not be reached or answered unexpectedly.
    #[error("github: {0}")]
    GitHub(String),
    /// The session store failed.
    #[error("session store: {0}")]
    Store(#[from] crate::records::StoreError),
}
