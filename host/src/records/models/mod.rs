//! Pure, database-free record models: the JSON shapes Launchplane stores and
//! accepts as evidence, their validation rules and the derived-state
//! transitions between them.
//!
//! The record families drivers also write or read (deployments, promotions,
//! backup gates, inventory, release tuples, artifact manifests, product
//! profiles, previews, preview inventory scans) live in the shared
//! `launchplane-wire` crate (`sdk/wire`), so the host and the drivers build
//! from one set of shapes; they are re-exported here under their usual
//! paths (`crate::records::models::deployment::…`). What stays in the host
//! is host-only: the evidence routes' envelopes ([`evidence`]), the ids the
//! server generates ([`ids`]) and the runtime environment records
//! ([`runtime_environment`], which refuse secret-shaped keys).
//!
//! Every struct keeps the original's JSON field names, rejects unknown
//! fields at every nesting level and serialises every field (defaults
//! included), so a stored payload is complete and round-trips exactly.
//! Deserialisation only checks shapes and types; the rules of the
//! reference live in each type's `validate`, which reports the dotted /
//! indexed path of the offending field (`deployment.destination_health.urls`,
//! `lanes[1].instance`). [`parse_record`] and the evidence envelopes'
//! `parse` do both steps and name the field path on either failure.

pub use launchplane_wire::records::{
    RecordKind, artifact, backup_gate, deployment, inventory, preview, preview_inventory_scan,
    product_profile, promotion, release_tuple,
};
pub use launchplane_wire::validation::{
    Validate, ValidationError, default_schema_version, from_serde_error, from_value, parse_record,
};

pub mod evidence;
pub mod ids;
pub mod runtime_environment;

#[cfg(test)]
pub(crate) use launchplane_wire::fixtures;
pub(crate) use launchplane_wire::impl_validate;
pub(crate) use launchplane_wire::validation::{require_non_blank, require_positive};
