//! Errors crossing the driver boundary.

use std::fmt;

/// Why an action or hook did not succeed. The host maps each case to the
/// HTTP status and error code tenant workflows already expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError {
    /// 400 `invalid_request`: the request is well-formed JSON but not
    /// acceptable (cross-field rules, bad values).
    InvalidRequest(String),
    /// 409: a gate failed, a record is missing, the lane is not ready.
    PreconditionFailed(String),
    /// 404 `not_found`.
    NotFound(String),
    /// 501: the action is declared but this driver version does not do it.
    NotImplemented(String),
    /// 502: a provider operation failed.
    ProviderFailed(String),
    /// 500 `internal_error`.
    Internal(String),
    /// The driver has no handler for the action id it was given.
    UnknownAction(String),
}

impl DriverError {
    /// The standard answer of a declared action whose behaviour has not been
    /// built yet.
    pub fn not_implemented(action_id: &str) -> Self {
        DriverError::NotImplemented(format!(
            "action `{action_id}` is not implemented by this driver version"
        ))
    }

    /// A 400 refusal under a code of the driver's own (it must start with
    /// the driver id, `-` as `_`: `odoo_…`), with a `details` object the
    /// answer carries beside `error`. The host reads the message as JSON;
    /// a code it does not accept leaves an ordinary `invalid_request`.
    pub fn invalid_with_code(code: &str, message: &str, details: serde_json::Value) -> Self {
        DriverError::InvalidRequest(
            serde_json::json!({"code": code, "message": message, "details": details}).to_string(),
        )
    }

    /// The message carried by any case.
    pub fn message(&self) -> &str {
        match self {
            DriverError::InvalidRequest(m)
            | DriverError::PreconditionFailed(m)
            | DriverError::NotFound(m)
            | DriverError::NotImplemented(m)
            | DriverError::ProviderFailed(m)
            | DriverError::Internal(m)
            | DriverError::UnknownAction(m) => m,
        }
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for DriverError {}

/// Why a host import refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// Outside the invocation's scope or the action's declared writes.
    Denied(String),
    NotFound(String),
    Invalid(String),
    /// The capability is not configured on this host.
    Unavailable(String),
    ProviderFailed(String),
    Timeout(String),
}

impl HostError {
    /// The message carried by any case.
    pub fn message(&self) -> &str {
        match self {
            HostError::Denied(m)
            | HostError::NotFound(m)
            | HostError::Invalid(m)
            | HostError::Unavailable(m)
            | HostError::ProviderFailed(m)
            | HostError::Timeout(m) => m,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for HostError {}

/// A host failure inside an action usually fails the action. Provider
/// failures keep their meaning; a denial is a driver defect (it reached for
/// something its descriptor did not declare), so it is internal.
impl From<HostError> for DriverError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::NotFound(m) => DriverError::NotFound(m),
            HostError::Invalid(m) => DriverError::InvalidRequest(m),
            HostError::ProviderFailed(m) | HostError::Timeout(m) => DriverError::ProviderFailed(m),
            HostError::Unavailable(m) => DriverError::PreconditionFailed(m),
            HostError::Denied(m) => DriverError::Internal(m),
        }
    }
}
