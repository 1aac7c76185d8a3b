//! Why a registry could not be loaded. Every message is one line naming the
//! driver and the field or reason, so an operator reading a refused start
//! knows what to fix.

use std::path::PathBuf;

/// A refused registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("driver registry {path}: cannot read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("driver registry {path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("driver `{driver}`: listed more than once in the registry")]
    DuplicateEntry { driver: String },
    #[error("driver `{driver}`: component file {path} is missing or unreadable: {reason}")]
    ComponentMissing {
        driver: String,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "driver `{driver}`: sha256 mismatch: registry pins {expected}, component file {path} has {actual}"
    )]
    DigestMismatch {
        driver: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("driver `{driver}`: {reason}")]
    Load { driver: String, reason: String },
    #[error("driver `{driver}`: describe() failed: {reason}")]
    Describe { driver: String, reason: String },
    #[error(
        "driver `{driver}`: describe() reports driver_id `{described}`, the registry lists it as `{driver}`"
    )]
    IdMismatch { driver: String, described: String },
    #[error(
        "driver `{driver}`: incompatible WIT version: api_version `{found}` does not match this host's launchplane:driver@{supported}"
    )]
    IncompatibleApi {
        driver: String,
        found: String,
        supported: String,
    },
    #[error("driver `{driver}`: {field}: {reason}")]
    InvalidDescriptor {
        driver: String,
        field: String,
        reason: String,
    },
    #[error("driver `{driver}`: route {method} {route} is already served by driver `{other}`")]
    DuplicateRoute {
        driver: String,
        method: String,
        route: String,
        other: String,
    },
    #[error(
        "driver `{driver}`: authz_action `{authz_action}` of action `{action}` is already declared by driver `{other}`; driver-specific authz actions must be unique"
    )]
    DuplicateAuthzAction {
        driver: String,
        action: String,
        authz_action: String,
        other: String,
    },
    #[error("driver `{driver}`: base_driver_id `{base}` is not loaded")]
    UnknownBase { driver: String, base: String },
}

impl RegistryError {
    pub(crate) fn invalid(
        driver: &str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        RegistryError::InvalidDescriptor {
            driver: driver.to_string(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}
