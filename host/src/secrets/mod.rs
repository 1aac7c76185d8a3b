//! Managed secrets (reference §10): values encrypted under the service's
//! master key, bound to environment keys, resolved per target, and shown
//! over the API as metadata only.
//!
//! - [`cipher`]: the master key and the Fernet tokens versions are stored as;
//! - [`models`]: the secret, version, binding and audit event records, their
//!   ids, and the secret-shaped key rule;
//! - [`vault`]: planning, writing and resolving values over the record store.
//!
//! Without `LAUNCHPLANE_MASTER_ENCRYPTION_KEY` the host still serves
//! metadata, but every read or write of a value fails closed
//! ([`SecretError::NotConfigured`]).

pub mod cipher;
pub mod models;
pub mod vault;

pub use crate::records::models::runtime_environment::is_secret_shaped;
pub use cipher::{MASTER_KEY_ENV, MasterKey};
pub use models::SecretScope;
pub use vault::{
    Disabled, PreparedWrite, Relabelled, SecretAction, SecretTarget, Vault, WriteContext,
};

use crate::records::StoreError;

/// Why a secret operation failed. No variant carries a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("managed secrets require {MASTER_KEY_ENV} to be set on the service")]
    NotConfigured,
    #[error("{0}")]
    Invalid(String),
    #[error("no secret `{secret_id}`")]
    NotFound { secret_id: String },
    #[error("could not decrypt secret `{secret_id}` with the configured master key")]
    Undecryptable { secret_id: String },
    #[error("stored secret `{secret_id}` is malformed: {reason}")]
    Corrupt { secret_id: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}
