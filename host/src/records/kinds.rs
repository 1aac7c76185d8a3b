//! Record kind names the host itself keeps, for modules below the ones
//! that write them (the store refuses them to drivers by name).

/// A managed secret's metadata.
pub const SECRET_KIND: &str = "secret";
/// One encrypted version of a managed secret.
pub const VERSION_KIND: &str = "secret_version";
/// Where a managed secret is bound (integration, key, scope).
pub const BINDING_KIND: &str = "secret_binding";
/// A managed secret's audit trail.
pub const AUDIT_KIND: &str = "secret_audit_event";
