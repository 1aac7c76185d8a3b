//! Request and result shapes of the generic-web routes.
//!
//! Field names, defaults and enum spellings are the original service's, so
//! tenant workflows keep sending the payloads they already send. Every struct
//! refuses unknown fields, as the original's `extra="forbid"` models did.

use launchplane_sdk::prelude::*;

mod previews;
mod rollback;
mod stable;
mod verification;

pub use previews::*;
pub use rollback::*;
pub use stable::*;
pub use verification::*;

/// A JSON object whose fields the reference does not name; kept as an object
/// (not any JSON value) because results always are one.
pub type UntypedResult = serde_json::Map<String, Value>;

pub(crate) fn schema_version() -> u32 {
    1
}

pub(crate) fn testing() -> String {
    "testing".to_string()
}

pub(crate) fn prod() -> String {
    "prod".to_string()
}

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn three_hundred() -> u32 {
    300
}

pub use lifecycle_records::{DataTransportMode, PassFail, ReleaseStatus};
