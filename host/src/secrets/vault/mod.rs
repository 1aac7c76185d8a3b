//! Secret records over the record store: planning and writing values,
//! resolving them for a target, and the metadata read model.
//!
//! Key columns: a `secret` row's product column holds its integration (so
//! one integration's secrets are one indexed query); its versions,
//! bindings and audit events hold their secret id there (so one secret's
//! history is one indexed query). Secrets have no product of their own.
//!
//! ## Where to start
//!
//! [`Vault`] is the one type; its operations live by noun:
//!
//! - `target.rs`: [`SecretTarget`], which secret, and its scope rules.
//! - `write.rs`: [`Vault::prepare`] and [`Vault::write`]: planning and
//!   writing a value ([`SecretAction`], [`PreparedWrite`],
//!   [`WriteContext`]).
//! - `bindings.rs`: keeping one configured binding per secret.
//! - `relabel.rs`: [`Vault::relabel`], a binding moved to another key.
//! - `disable.rs`: [`Vault::disable`], a secret withdrawn.
//! - `resolve.rs`: [`Vault::resolve`], the values that apply to a lane.
//! - `read_model.rs`: [`Vault::status`] and the lists: metadata only.
//! - `rows.rs`: reading and encoding the vault's rows in the record store.

mod bindings;
mod disable;
mod read_model;
mod relabel;
mod resolve;
mod rows;
mod target;
mod write;

use std::sync::Arc;

use super::SecretError;
use super::cipher::MasterKey;
use crate::records::Store;

pub use disable::Disabled;
pub use relabel::Relabelled;
pub use target::SecretTarget;
pub use write::{PreparedWrite, SecretAction, WriteContext};

/// Secret storage over a [`Store`], with the master key if one is set.
#[derive(Debug, Clone)]
pub struct Vault {
    store: Store,
    key: Option<Arc<MasterKey>>,
}

impl Vault {
    /// A vault over `store`; without `key`, values can be neither read
    /// nor written.
    pub fn new(store: Store, key: Option<Arc<MasterKey>>) -> Vault {
        Vault { store, key }
    }

    /// Whether secret values can be read or written here.
    pub fn is_configured(&self) -> bool {
        self.key.is_some()
    }

    /// The master key, or [`SecretError::NotConfigured`].
    fn key(&self) -> Result<&MasterKey, SecretError> {
        self.key.as_deref().ok_or(SecretError::NotConfigured)
    }

    /// A keyed digest of a value, for idempotency fingerprints.
    pub fn digest(&self, value: &str) -> Result<String, SecretError> {
        Ok(self.key()?.digest(value))
    }
}
