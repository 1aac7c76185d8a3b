//! Request checks the original service made before touching anything.
//!
//! They run first in every handler, so a bad request is refused with a message
//! that names the offending field, whatever the handler does afterwards. The
//! host also validates the declared JSON Schemas; these checks cover what a
//! schema cannot say (trimmed non-blank strings, cross-field rules) and keep
//! the driver correct when it is called without the host, as in native tests.
//!
//! Each driver crate carries its own copy of the checks it uses: a driver
//! crate cannot depend on another one, whose component exports would be
//! linked into it.

use launchplane_sdk::prelude::*;

/// JSON Schema pattern for strings the original strips and requires to be
/// non-empty.
pub const NON_BLANK: &str = r"\S";

/// An `invalid_request` answer whose message starts with the field name.
pub fn invalid(field: &str, problem: impl std::fmt::Display) -> DriverError {
    DriverError::InvalidRequest(format!("{field} {problem}"))
}

/// The original stripped these strings and refused empty ones.
pub fn non_blank(field: &str, value: &str) -> Result<(), DriverError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be blank"));
    }
    Ok(())
}

/// Lower bounds the original declared with `ge=`.
pub fn at_least(field: &str, value: u64, min: u64) -> Result<(), DriverError> {
    if value < min {
        return Err(invalid(field, format_args!("must be at least {min}")));
    }
    Ok(())
}

/// [`at_least`] for fields the caller may leave out.
pub fn optional_at_least(field: &str, value: Option<u32>, min: u64) -> Result<(), DriverError> {
    match value {
        Some(value) => at_least(field, u64::from(value), min),
        None => Ok(()),
    }
}

/// The original compares strings after trimming and lower-casing them.
pub fn normalized(value: &str) -> String {
    value.trim().to_lowercase()
}

/// A payload that repeats the product must repeat the envelope's product:
/// a workflow authorized for one product cannot act for another by naming it
/// only inside the payload.
pub fn envelope_product(ctx: &Ctx<'_>, field: &str, value: &str) -> Result<(), DriverError> {
    non_blank(field, value)?;
    let envelope = ctx.product().trim();
    if !envelope.is_empty() && envelope != value.trim() {
        return Err(invalid(
            field,
            format_args!(
                "`{}` does not match the envelope product `{envelope}`",
                value.trim()
            ),
        ));
    }
    Ok(())
}
