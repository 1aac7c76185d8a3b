//! Backup gate evidence (`BackupGateRecord`, reference §4.1).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::deployment::{ReleaseStatus, pending};
use crate::validation::{
    ValidationError, default_schema_version, default_true, require_all_non_blank, require_positive,
};

/// The outcome of a backup taken before a destructive step. Its status has
/// the same four values as [`ReleaseStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupGateRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub record_id: String,
    pub context: String,
    pub instance: String,
    pub created_at: String,
    pub source: String,
    #[serde(default = "default_true")]
    pub required: bool,
    #[serde(default = "pending")]
    pub status: ReleaseStatus,
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
}

impl BackupGateRecord {
    /// `record_id`, `context`, `instance`, `created_at`, `source` non-blank;
    /// `status = pass` needs non-empty `evidence`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_all_non_blank(&[
            ("record_id", &self.record_id),
            ("context", &self.context),
            ("instance", &self.instance),
            ("created_at", &self.created_at),
            ("source", &self.source),
        ])?;
        if self.status == ReleaseStatus::Pass && self.evidence.is_empty() {
            return Err(ValidationError::new(
                "evidence",
                "passing backup gate record requires evidence",
            ));
        }
        Ok(())
    }
}

crate::impl_validate!(BackupGateRecord);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::*;

    #[test]
    fn record_round_trips_with_defaults() {
        let record: BackupGateRecord = parse(backup_gate());
        let value = round_trip(&record);
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["required"], true);
        let minimal = remove(remove(backup_gate(), "", "status"), "", "evidence");
        let record: BackupGateRecord = parse(minimal);
        let value = round_trip(&record);
        assert_eq!(value["status"], "pending");
        assert_eq!(value["evidence"], json!({}));
    }

    #[test]
    fn required_strings_must_not_be_blank() {
        for field in ["record_id", "context", "instance", "created_at", "source"] {
            let value = set(backup_gate(), &format!("/{field}"), json!(""));
            assert_rejected_at::<BackupGateRecord>(value, field);
        }
    }

    #[test]
    fn passing_gate_needs_evidence() {
        let value = set(backup_gate(), "/evidence", json!({}));
        let error = reject::<BackupGateRecord>(value.clone());
        assert_eq!(
            error.to_string(),
            "evidence: passing backup gate record requires evidence"
        );
        for status in ["pending", "fail", "skipped"] {
            parse::<BackupGateRecord>(set(value.clone(), "/status", json!(status)));
        }
    }

    #[test]
    fn status_values_are_exact() {
        let value = set(backup_gate(), "/status", json!("PASS"));
        let error = reject::<BackupGateRecord>(value);
        assert_eq!(error.field, "status");
        assert!(
            error.message.starts_with("unknown variant `PASS`"),
            "{error}"
        );
    }
}
