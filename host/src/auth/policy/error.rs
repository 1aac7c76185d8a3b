//! [`PolicyError`]: why a policy could not be read or is not acceptable.

/// A policy could not be read or is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not a policy document (syntax, types, unknown fields).
    #[error("authz policy is not valid {format}: {message}")]
    Parse {
        format: &'static str,
        message: String,
    },
    #[error("authz policy schema_version {0} is not supported (expected 1 or 2)")]
    UnsupportedSchemaVersion(u32),
    /// One rule is refused; names the section, the rule index and the field.
    #[error("authz policy {section}[{index}].{field}: {message}")]
    InvalidRule {
        section: &'static str,
        index: usize,
        field: &'static str,
        message: String,
    },
    /// A bootstrap source could not be used; names the variable.
    #[error("{variable}: {message}")]
    Source {
        variable: &'static str,
        message: String,
    },
}
