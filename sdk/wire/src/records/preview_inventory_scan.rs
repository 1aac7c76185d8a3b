//! Preview inventory scans (`preview_inventory_scan`): which preview
//! applications a driver found in a preview context, written by
//! generic-web's `preview-inventory` action and keyed by `record_id`
//! (= `scan_id`).
//!
//! The host stores this kind as given (it has no rules of its own for it);
//! this is the one shape drivers write and operators read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// Outcome of an action that either worked or did not: `pass | fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassFail {
    Pass,
    Fail,
}

impl PassFail {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PassFail::Pass => "pass",
            PassFail::Fail => "fail",
        }
    }
}

/// What one scan of a preview context found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInventoryScanRecord {
    pub record_id: String,
    pub scan_id: String,
    pub context: String,
    pub scanned_at: String,
    /// Who asked for the scan (the request's `source`).
    pub source: String,
    pub status: PassFail,
    pub preview_count: u64,
    /// The previews found, by slug (`pr-<n>` unless the product's slug
    /// template says otherwise).
    pub preview_slugs: Vec<String>,
    /// Why the scan failed; empty when it passed.
    #[serde(default)]
    pub error_message: String,
}

impl PreviewInventoryScanRecord {
    /// The host states no rule beyond the field types for this kind.
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

crate::impl_validate!(PreviewInventoryScanRecord);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::*;

    #[test]
    fn scan_round_trips_and_refuses_unknown_fields() {
        let scan: PreviewInventoryScanRecord = parse(preview_inventory_scan());
        assert_eq!(scan.status, PassFail::Pass);
        assert_eq!(scan.status.as_str(), "pass");
        let value = round_trip(&scan);
        assert_eq!(value["preview_slugs"], json!(["pr-7", "pr-9"]));
        let minimal = remove(preview_inventory_scan(), "", "error_message");
        assert_eq!(
            parse::<PreviewInventoryScanRecord>(minimal).error_message,
            ""
        );
        let value = insert(preview_inventory_scan(), "", "slugs", json!([]));
        assert_rejected_at::<PreviewInventoryScanRecord>(value, "slugs");
        let value = set(preview_inventory_scan(), "/status", json!("skipped"));
        assert_rejected_at::<PreviewInventoryScanRecord>(value, "status");
    }
}
