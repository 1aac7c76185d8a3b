//! Request checks the original service made before touching anything.
//!
//! They run first in every handler, so a bad request is refused with a message
//! that names the offending field, whatever the handler does afterwards. The
//! host also validates the declared JSON Schemas; these checks cover what a
//! schema cannot say (trimmed non-blank strings, cross-field rules) and keep
//! the driver correct when it is called without the host, as in native tests.
//!
//! The shared rules live in [`launchplane_sdk::checks`].

use launchplane_sdk::DriverError;

pub use launchplane_sdk::checks::*;

/// A rollout is given at least a second, and polled at most once a second.
pub fn rollout_window(timeout_seconds: u32, interval_seconds: u32) -> Result<(), DriverError> {
    at_least("rollout_timeout_seconds", timeout_seconds.into(), 1)?;
    at_least("rollout_interval_seconds", interval_seconds.into(), 1)
}
