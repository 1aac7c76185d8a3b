//! Request and result shapes of the Odoo routes.
//!
//! Field names, defaults and enum spellings are the original service's, so
//! the Odoo product workflows keep sending the payloads they already send.
//! Every struct refuses unknown fields, as the original's `extra="forbid"`
//! models did. Contexts and instances are compared lower-cased, as the
//! original normalised them.

mod artifact;
mod preview;
mod promotion;
mod replacement;
mod settings;

pub use artifact::*;
pub use preview::*;
pub use promotion::*;
pub use replacement::*;
pub use settings::*;

use launchplane_sdk::prelude::*;

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

pub(crate) fn launchplane_service() -> String {
    "launchplane-service".to_string()
}

pub use lifecycle_records::{PassFail, ReleaseStatus};

/// A step that ran, failed or was not needed.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PassFailSkipped {
    Pass,
    Fail,
    #[default]
    Skipped,
}

/// Plans and input checks never fail: they are ready or name what blocks them.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadyBlocked {
    Ready,
    Blocked,
}
