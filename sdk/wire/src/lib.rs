//! launchplane-wire: the one set of wire shapes Launchplane's host, SDK and
//! drivers share, so that what a driver writes is what the host accepts.
//!
//! - [`records`]: the record families both sides handle (deployments,
//!   promotions, backup gates, inventory, release tuples, artifact
//!   manifests, product profiles, previews and their generations, preview
//!   inventory scans), each with the host's validation rules.
//! - [`validation`]: [`ValidationError`], the [`Validate`] trait, and the two
//!   ways to read a JSON value: strictly with a field path on every failure
//!   ([`from_value`], [`parse_record`]) as the host does, or leniently
//!   ([`read_lenient`]) as drivers read stored records.
//! - [`descriptor`]: the driver descriptor's enums and entries, as the SDK
//!   builds them and the host publishes them.
//!
//! Start with [`records`] for a record's shape and rules. The crate depends
//! on serde, serde_json and schemars only: it builds for `wasm32-wasip2`
//! inside every driver component.

/// The driver descriptor's enums and entries.
pub mod descriptor;
/// JSON fixtures of every record family, for tests (feature `fixtures`).
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod lenient;
mod path;
/// The record families, their shapes and rules.
pub mod records;
/// Validation errors, the `Validate` trait and the readers.
pub mod validation;

pub use validation::{
    Validate, ValidationError, from_serde_error, from_value, parse_record, read_lenient,
};
