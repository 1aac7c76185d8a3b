//! Input hygiene at every entry (the rule itself is
//! [`crate::records::hygiene`]): request bodies before anything else is
//! decided, ids named in paths before any lookup, and a store's refusal of
//! unstorable text, all as 400 `invalid_request` naming the field.

use crate::error::ApiError;
use crate::records::StoreError;
use crate::records::hygiene::{self, InputError};

/// 400 `invalid_request` naming the field and the rule it broke.
pub fn input_error(error: InputError) -> ApiError {
    ApiError::invalid_request(format!("Request payload failed validation: {error}"))
}

/// A request body: no control characters anywhere, and every id-named
/// field an id ([`hygiene::check_request_body`]).
pub fn check_body(body: &serde_json::Value) -> Result<(), ApiError> {
    hygiene::check_request_body(body).map_err(input_error)
}

/// An id named in a path (`record_id`, `context`, ...).
pub fn check_path_id(field: &str, value: &str) -> Result<(), ApiError> {
    hygiene::check_id(field, value).map_err(|e| {
        ApiError::invalid_request(format!("Path parameter `{}` {}.", e.field, e.reason))
    })
}

/// A store failure: unstorable input is the caller's 400, anything else an
/// internal error.
pub fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Invalid(input) => input_error(input),
        other => ApiError::internal(other),
    }
}
