//! The record families the host stores and drivers write or read, one
//! module per family: its JSON shape, its validation rules (the host's,
//! reference §4–§8) and the pure derivations between families (ids,
//! inventory from a deployment, release tuples from a promotion, a preview's
//! transitions).
//!
//! Start with [`deployment`] (it also holds the evidence blocks promotions
//! and inventory share) or [`preview`]. Each struct refuses unknown fields
//! and serialises every field; see [`crate::validation`] for how to read
//! one strictly (the host) or leniently (a driver).

use std::fmt;

/// Artifact manifests: what an immutable image was built from.
pub mod artifact;
/// Backup gates: the backup taken before a destructive step.
pub mod backup_gate;
/// Deployments, and the evidence blocks promotions and inventory share.
pub mod deployment;
/// Inventory: what is deployed on each lane now.
pub mod inventory;
/// Previews, their generations, evidence payloads and transitions.
pub mod preview;
/// Preview inventory scans: which preview apps a driver found.
pub mod preview_inventory_scan;
/// Product profiles: driver, lanes, preview contract, promotion workflow.
pub mod product_profile;
/// Promotions from one instance of a context to another.
pub mod promotion;
/// Release tuples: the source revisions of a stable channel's artifact.
pub mod release_tuple;
#[cfg(test)]
mod round_trip;

/// The record families, named as drivers name them in `writes_records`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    ArtifactManifest,
    ReleaseTuple,
    Deployment,
    Promotion,
    BackupGate,
    Inventory,
    Preview,
    PreviewGeneration,
    ProductProfile,
}

impl RecordKind {
    /// Every kind, in the order the host lists them.
    pub const ALL: [RecordKind; 9] = [
        RecordKind::ArtifactManifest,
        RecordKind::ReleaseTuple,
        RecordKind::Deployment,
        RecordKind::Promotion,
        RecordKind::BackupGate,
        RecordKind::Inventory,
        RecordKind::Preview,
        RecordKind::PreviewGeneration,
        RecordKind::ProductProfile,
    ];

    /// The kind's name in the store and in `writes_records`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordKind::ArtifactManifest => "artifact_manifest",
            RecordKind::ReleaseTuple => "release_tuple",
            RecordKind::Deployment => "deployment",
            RecordKind::Promotion => "promotion",
            RecordKind::BackupGate => "backup_gate",
            RecordKind::Inventory => "inventory",
            RecordKind::Preview => "preview",
            RecordKind::PreviewGeneration => "preview_generation",
            RecordKind::ProductProfile => "product_profile",
        }
    }

    /// The kind named `name` (exact, snake_case), if any.
    pub fn parse(name: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_kind_names() {
        let names: Vec<&str> = RecordKind::ALL.iter().map(RecordKind::as_str).collect();
        assert_eq!(
            names,
            [
                "artifact_manifest",
                "release_tuple",
                "deployment",
                "promotion",
                "backup_gate",
                "inventory",
                "preview",
                "preview_generation",
                "product_profile"
            ]
        );
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(RecordKind::parse("Deployment"), None);
    }
}
