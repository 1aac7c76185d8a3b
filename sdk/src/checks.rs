//! Request checks drivers share: the original service's rules for strings,
//! numbers, URLs and CI status spellings, answering `invalid_request` with a
//! message that starts with the field name. Drivers run them first in every
//! handler; the host's JSON Schema validation covers shapes, these cover what
//! a schema cannot say (trimmed non-blank strings, cross-field rules).

use crate::context::Ctx;
use crate::error::DriverError;
use serde_json::{Value, json};

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

/// The host name of an absolute `http`/`https` URL, if it has one.
pub fn url_host(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, rest) = value.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    (!host.is_empty()).then_some(host)
}

/// Workflow check outcomes arrive in the spellings of several CI systems; the
/// original folds them onto its four statuses and refuses anything else.
pub const RELEASE_STATUS_SPELLINGS: [&str; 16] = [
    "pass",
    "passed",
    "success",
    "fail",
    "failed",
    "failure",
    "cancelled",
    "canceled",
    "timed_out",
    "skipped",
    "not-run",
    "not_run",
    "",
    "pending",
    "in_progress",
    "in-progress",
];

/// Folds a workflow outcome onto `pass`, `fail`, `skipped` or `pending`.
pub fn release_status(field: &str, value: &str) -> Result<&'static str, DriverError> {
    match normalized(value).as_str() {
        "success" | "passed" | "pass" => Ok("pass"),
        "failure" | "failed" | "fail" | "cancelled" | "canceled" | "timed_out" => Ok("fail"),
        "skipped" | "not-run" | "not_run" | "" => Ok("skipped"),
        "pending" | "in_progress" | "in-progress" => Ok("pending"),
        _ => Err(invalid(field, "must be pass, fail, skipped, or pending")),
    }
}

/// Schema transform listing every spelling [`release_status`] accepts, so the
/// host's schema check admits exactly what the original admitted.
pub fn release_status_schema(schema: &mut schemars::Schema) {
    let spellings = RELEASE_STATUS_SPELLINGS.iter().map(|s| json!(s)).collect();
    schema.insert("enum".to_string(), Value::Array(spellings));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://pr-1.example.com/x?y"),
            Some("pr-1.example.com")
        );
        assert_eq!(url_host("HTTP://user@host:8080"), Some("host"));
        assert_eq!(url_host("ftp://host"), None);
        assert_eq!(url_host("https:///path"), None);
        assert_eq!(url_host("example.com"), None);
    }

    #[test]
    fn release_status_folds_spellings() {
        assert_eq!(release_status("s", " Success "), Ok("pass"));
        assert_eq!(release_status("s", "timed_out"), Ok("fail"));
        assert_eq!(release_status("s", ""), Ok("skipped"));
        assert_eq!(release_status("s", "in-progress"), Ok("pending"));
        assert!(
            matches!(release_status("s", "maybe"), Err(DriverError::InvalidRequest(m)) if m.starts_with("s "))
        );
    }
}
