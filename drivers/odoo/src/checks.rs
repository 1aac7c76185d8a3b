//! Request checks the original service made before touching anything.
//!
//! They run first in every handler, so a bad request is refused with a message
//! that names the offending field, whatever the handler does afterwards. The
//! host also validates the declared JSON Schemas; these checks cover what a
//! schema cannot say (trimmed non-blank strings, cross-field rules) and keep
//! the driver correct when it is called without the host, as in native tests.
//!
//! The shared rules live in [`launchplane_sdk::checks`].

pub use launchplane_sdk::checks::*;
