//! The one table of record kinds the host knows: how each is written, who
//! may touch it, which model validates a driver's write, and which
//! `records` keys of an accepted answer name it.
//!
//! Read by the records capability (what a driver may read or write, and
//! how a write is kept), lane leasing (actions that write state hold their
//! lane), descriptor validation (what `writes_records` may name) and the
//! accepted envelope (which `records` keys reach the client). Kinds and
//! keys that only a driver knows are not here: the driver declares them in
//! its descriptor (`record_kinds`, `records_keys`), and the registry joins
//! both ([`crate::registry::Registry::record_mode`]).

pub use launchplane_wire::descriptor::RecordMode;

/// A managed secret's metadata.
pub const SECRET_KIND: &str = "secret";
/// One encrypted version of a managed secret.
pub const VERSION_KIND: &str = "secret_version";
/// Where a managed secret is bound (integration, key, scope).
pub const BINDING_KIND: &str = "secret_binding";
/// A managed secret's audit trail.
pub const AUDIT_KIND: &str = "secret_audit_event";

/// Who besides the host may touch records of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The host's alone: drivers neither read nor write them (secrets,
    /// runtime settings, provider targets).
    HostOnly,
    /// Drivers read them; only the host writes them.
    DriverRead,
    /// Drivers read them and write them when an action declares it.
    DriverWrite,
}

/// The host model a driver's write of a kind is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Deployment,
    Promotion,
    BackupGate,
    ArtifactManifest,
    Inventory,
    Preview,
    PreviewGeneration,
    /// Stored as the driver wrote it (a JSON object).
    Document,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct KindRule {
    pub kind: &'static str,
    pub mode: RecordMode,
    pub access: Access,
    pub model: Model,
    /// The `records` keys of an accepted answer that name a record of
    /// this kind.
    pub records_keys: &'static [&'static str],
}

use Access::{DriverRead, DriverWrite, HostOnly};
use RecordMode::{Evidence, Immutable, State};

const fn rule(
    kind: &'static str,
    mode: RecordMode,
    access: Access,
    model: Model,
    records_keys: &'static [&'static str],
) -> KindRule {
    KindRule {
        kind,
        mode,
        access,
        model,
        records_keys,
    }
}

/// Every kind the host knows.
pub const KINDS: &[KindRule] = &[
    rule(
        "deployment",
        Evidence,
        DriverWrite,
        Model::Deployment,
        &["deployment_record_id"],
    ),
    rule(
        "promotion",
        Evidence,
        DriverWrite,
        Model::Promotion,
        &["promotion_record_id"],
    ),
    rule(
        "backup_gate",
        Evidence,
        DriverWrite,
        Model::BackupGate,
        &["backup_gate_record_id", "backup_record_id"],
    ),
    // An artifact id names one image for good.
    rule(
        "artifact_manifest",
        Immutable,
        DriverWrite,
        Model::ArtifactManifest,
        &["artifact_id"],
    ),
    rule(
        "inventory",
        State,
        DriverWrite,
        Model::Inventory,
        &["inventory_record_id"],
    ),
    rule(
        "release_tuple",
        State,
        DriverWrite,
        Model::Document,
        &["release_tuple_id"],
    ),
    rule(
        "preview",
        State,
        DriverWrite,
        Model::Preview,
        &["preview_id"],
    ),
    rule(
        "preview_generation",
        Evidence,
        DriverWrite,
        Model::PreviewGeneration,
        &["generation_id", "preview_generation_id"],
    ),
    rule(
        "preview_desired_state",
        Evidence,
        DriverWrite,
        Model::Document,
        &["preview_desired_state_id"],
    ),
    rule(
        "preview_inventory_scan",
        Evidence,
        DriverWrite,
        Model::Document,
        &["preview_inventory_scan_id"],
    ),
    rule(
        "preview_pr_feedback",
        Evidence,
        DriverWrite,
        Model::Document,
        &["preview_pr_feedback_id"],
    ),
    rule(
        "preview_lifecycle_plan",
        Evidence,
        DriverWrite,
        Model::Document,
        &["preview_lifecycle_plan_id"],
    ),
    rule(
        "preview_lifecycle_cleanup",
        Evidence,
        DriverWrite,
        Model::Document,
        &["preview_lifecycle_cleanup_id"],
    ),
    rule(
        "product_profile",
        State,
        DriverRead,
        Model::Document,
        &["product_profile"],
    ),
    rule("provider_target", State, HostOnly, Model::Document, &[]),
    rule(SECRET_KIND, State, HostOnly, Model::Document, &[]),
    rule(VERSION_KIND, Immutable, HostOnly, Model::Document, &[]),
    rule(BINDING_KIND, State, HostOnly, Model::Document, &[]),
    rule(AUDIT_KIND, Evidence, HostOnly, Model::Document, &[]),
    rule("runtime_environment", State, HostOnly, Model::Document, &[]),
    rule(
        "runtime_environment_delete_event",
        Evidence,
        HostOnly,
        Model::Document,
        &[],
    ),
];

/// `records` keys that name no record kind: counts, states, targets and
/// ids of things kept outside the records table (the original's
/// allow-list, reference §2.1, [S] and [L]).
pub const OTHER_RECORDS_KEYS: &[&str] = &[
    "authz_policy_record_id",
    "target_id",
    "target_type",
    "image_reference",
    "transition",
    "runtime_key_safety_policy_record_id",
    "provider_target_count",
    "provider_target_id_count",
    "runtime_environment_record_count",
    "secret_binding_count",
    "preview_state",
    "verification_status",
    "verified_at",
    "request_id",
    "feedback_id",
    "state",
    "operation_id",
];

/// The host's rule for `kind`, if it knows the kind.
pub fn rule_of(kind: &str) -> Option<&'static KindRule> {
    KINDS.iter().find(|rule| rule.kind == kind)
}

/// Whether records of `kind` are the host's alone.
pub fn is_host_only(kind: &str) -> bool {
    rule_of(kind).is_some_and(|rule| rule.access == HostOnly)
}

/// Whether `key` is a `records` key the host itself knows.
pub fn is_host_records_key(key: &str) -> bool {
    OTHER_RECORDS_KEYS.contains(&key) || KINDS.iter().any(|rule| rule.records_keys.contains(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_keys_are_listed_once() {
        let mut kinds: Vec<&str> = KINDS.iter().map(|r| r.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len(), "a kind is listed twice");
        let mut keys: Vec<&str> = KINDS
            .iter()
            .flat_map(|r| r.records_keys.iter().copied())
            .chain(OTHER_RECORDS_KEYS.iter().copied())
            .collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count, "a records key is listed twice");
    }

    #[test]
    fn secrets_settings_and_targets_are_the_hosts_alone() {
        for kind in [
            SECRET_KIND,
            VERSION_KIND,
            BINDING_KIND,
            AUDIT_KIND,
            "runtime_environment",
            "runtime_environment_delete_event",
            "provider_target",
        ] {
            assert!(is_host_only(kind), "{kind}");
        }
        assert!(!is_host_only("deployment"));
        assert!(!is_host_only("some_driver_kind"));
        assert_eq!(
            rule_of("product_profile").map(|r| r.access),
            Some(DriverRead)
        );
    }
}
