//! The drift guard between the host and the drivers, over every record
//! kind: what the host accepts and stores, a driver reads back (also when
//! the store knows more than the driver), and what the driver writes back
//! is exactly what the host stored and passes the host's rules again.
//!
//! Both sides use these same types, the host strictly
//! ([`parse_record`]) and drivers leniently ([`read_lenient`]); these tests
//! fail when the two reads stop agreeing on a kind, or when a kind is added
//! to [`RecordKind`] without a case here.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::RecordKind;
use super::artifact::ArtifactIdentityManifest;
use super::backup_gate::BackupGateRecord;
use super::deployment::DeploymentRecord;
use super::inventory::EnvironmentInventory;
use super::preview::{PreviewGenerationRecord, PreviewRecord};
use super::preview_inventory_scan::PreviewInventoryScanRecord;
use super::product_profile::ProductProfile;
use super::promotion::PromotionRecord;
use super::release_tuple::ReleaseTupleRecord;
use crate::fixtures::*;
use crate::validation::{Validate, from_value, parse_record, read_lenient};

/// The key a newer host might add to any object of a record.
const NEWER: &str = "field_of_a_newer_host";

/// Fields whose JSON objects are maps (every key is data), not structs:
/// no key is added to them. A profile's lanes are open too: their other
/// keys are driver-declared lane policies, kept as given.
const MAP_FIELDS: &[&str] = &[
    "lanes",
    "runtime_source",
    "evidence",
    "repo_shas",
    "override_env",
    "values",
];

/// `value` with [`NEWER`] added to every struct object, at every level,
/// and how many objects got it.
fn with_unknown_keys(value: &Value) -> (Value, usize) {
    fn walk(value: &mut Value, added: &mut usize) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if !MAP_FIELDS.contains(&key.as_str()) {
                        walk(child, added);
                    }
                }
                map.insert(NEWER.to_string(), Value::Bool(true));
                *added += 1;
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, added)),
            _ => {}
        }
    }
    let mut value = value.clone();
    let mut added = 0;
    walk(&mut value, &mut added);
    (value, added)
}

/// The round trip of one record of `kind`; `nested` is how many struct
/// objects the stored document has (so the unknown keys reach them all).
#[track_caller]
fn check<T>(kind: &str, fixture: Value, nested: usize)
where
    T: Serialize + DeserializeOwned + Validate + PartialEq + Debug,
{
    // What the host accepts and stores: every field, defaults included.
    let host: T = parse_record(&fixture, kind)
        .unwrap_or_else(|e| panic!("{kind}: the host refuses the fixture: {e}"));
    let stored = serde_json::to_value(&host).expect("serialises");
    let (newer, added) = with_unknown_keys(&stored);
    assert_eq!(added, nested, "{kind}: struct objects in {stored}");

    for (what, document) in [("as stored", &stored), ("from a newer host", &newer)] {
        // A driver reads it back…
        let driver: T = read_lenient(document, kind)
            .unwrap_or_else(|e| panic!("{kind} {what}: a driver cannot read it: {e}"));
        assert_eq!(driver, host, "{kind} {what}: the driver reads other values");
        // …and what it writes back is what the host stored, and valid.
        let written = serde_json::to_value(&driver).expect("serialises");
        assert_eq!(
            written, stored,
            "{kind} {what}: the driver writes another shape"
        );
        let again: T = parse_record(&written, kind)
            .unwrap_or_else(|e| panic!("{kind} {what}: the host refuses the driver's write: {e}"));
        assert_eq!(again, host, "{kind} {what}: the host reads other values");
    }

    // The host itself refuses keys it does not model, naming the first.
    let error = from_value::<T>(&newer, kind).expect_err("strict reads refuse unknown keys");
    assert!(
        error.field.ends_with(NEWER) && error.message.starts_with("unknown field"),
        "{kind}: {error}"
    );
}

#[test]
fn every_record_kind_round_trips_between_host_and_driver() {
    for kind in RecordKind::ALL {
        let name = kind.as_str();
        match kind {
            RecordKind::ArtifactManifest => {
                check::<ArtifactIdentityManifest>(name, artifact_manifest(), 7);
                let with_modules = insert(
                    artifact_manifest(),
                    "",
                    "odoo_install_modules",
                    serde_json::json!(["sale"]),
                );
                check::<ArtifactIdentityManifest>(name, with_modules, 7);
            }
            RecordKind::ReleaseTuple => check::<ReleaseTupleRecord>(name, release_tuple(), 1),
            RecordKind::Deployment => {
                check::<DeploymentRecord>(name, deployment_minimal(), 4);
                check::<DeploymentRecord>(name, deployment_full(), 6);
            }
            RecordKind::Promotion => {
                check::<PromotionRecord>(name, promotion_minimal(), 9);
                check::<PromotionRecord>(name, promotion_full(), 9);
            }
            RecordKind::BackupGate => check::<BackupGateRecord>(name, backup_gate(), 1),
            RecordKind::Inventory => check::<EnvironmentInventory>(name, inventory(), 5),
            RecordKind::Preview => check::<PreviewRecord>(name, preview(), 1),
            RecordKind::PreviewGeneration => {
                check::<PreviewGenerationRecord>(name, preview_generation(), 4)
            }
            RecordKind::ProductProfile => check::<ProductProfile>(name, product_profile(), 5),
        }
    }
}

#[test]
fn preview_inventory_scans_round_trip_between_host_and_driver() {
    // Not a `RecordKind` (the host keeps scans as given), but drivers write
    // it with this shape.
    check::<PreviewInventoryScanRecord>("preview_inventory_scan", preview_inventory_scan(), 1);
}

#[test]
fn unknown_keys_are_not_added_to_maps() {
    let (value, _) = with_unknown_keys(&deployment_full());
    assert!(value["runtime_source"].get(NEWER).is_none());
    assert_eq!(value["deploy"][NEWER], true);
    assert_eq!(value[NEWER], true);
}
