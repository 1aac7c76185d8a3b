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
    /// Neither the version's token nor its binding tag opens under the
    /// configured key: the master key is not the one the store was
    /// written with (or the row is damaged). Answered 503
    /// `secrets_master_key_mismatch`.
    #[error(
        "could not decrypt secret `{secret_id}` with the configured master key \
         (secrets_master_key_mismatch): is {MASTER_KEY_ENV} the key this store was written with?"
    )]
    MasterKeyMismatch { secret_id: String },
    /// The version's token opens under the master key but its binding tag
    /// does not match this secret and version: the ciphertext was moved
    /// here from another row. Answered 500 `secret_binding_mismatch`.
    #[error(
        "the ciphertext of secret `{secret_id}` version `{version_id}` is not bound to that \
         secret and version (secret_binding_mismatch); refusing to use it"
    )]
    BindingMismatch {
        secret_id: String,
        version_id: String,
    },
    #[error("stored secret `{secret_id}` is malformed: {reason}")]
    Corrupt { secret_id: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}
