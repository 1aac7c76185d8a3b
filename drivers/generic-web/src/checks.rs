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

/// URLs handed to the provider must be absolute, or they would resolve
/// against whatever the provider considers current.
pub fn http_url(field: &str, value: &str) -> Result<(), DriverError> {
    if url_host(value).is_none() {
        return Err(invalid(field, "must be an absolute http(s) URL"));
    }
    Ok(())
}

/// Whether `value` is `sha256:` followed by exactly 64 lower-case hex digits.
fn is_sha256_digest(value: &str) -> bool {
    value.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// The immutable image reference an artifact id names. For generic-web the
/// artifact id *is* the image reference, pinned by digest:
/// `repo@sha256:<64 hex>` or `repo:tag@sha256:<64 hex>`. A bare
/// `sha256:<64 hex>` digest is accepted when the product profile names its
/// image repository (`<repository>@<digest>`, as the original's rollback
/// did). A tag alone (`repo:latest`) can move under a running lane, so it is
/// refused naming `field`.
pub fn immutable_image_reference(
    field: &str,
    value: &str,
    image_repository: &str,
) -> Result<String, DriverError> {
    let value = value.trim();
    if value.chars().any(char::is_whitespace) {
        return Err(invalid(field, "must not contain whitespace"));
    }
    if let Some((name, digest)) = value.rsplit_once('@') {
        if name.is_empty() || name.ends_with(':') || name.ends_with('/') {
            return Err(invalid(
                field,
                format_args!("`{value}` names no image repository before the digest"),
            ));
        }
        if !is_sha256_digest(digest) {
            return Err(invalid(
                field,
                format_args!("`{value}` must pin a `sha256:` digest of 64 lower-case hex digits"),
            ));
        }
        return Ok(value.to_string());
    }
    let repository = image_repository.trim().trim_end_matches('/');
    if is_sha256_digest(value) && !repository.is_empty() {
        return Ok(format!("{repository}@{value}"));
    }
    Err(invalid(
        field,
        format_args!(
            "`{value}` is not an immutable image reference: use `repo@sha256:<64 hex>` \
             (a tag such as `repo:latest` can change under a running lane)"
        ),
    ))
}

/// The timestamp used in record ids: `2026-04-29T19:58:38Z` becomes
/// `20260429T195838Z` (UTC basic format). Sub-second digits, which the host
/// clock provides, are kept (`…T195838.123456Z`) so that two records of one
/// lane written within the same second get distinct ids.
pub fn compact_timestamp(now: &str) -> String {
    let now = now.trim();
    if let Some((date, time)) = now.split_once('T') {
        let date: String = date.chars().filter(char::is_ascii_digit).collect();
        let clock = time
            .split(['.', 'Z', 'z', '+', '-'])
            .next()
            .unwrap_or_default();
        let clock: String = clock.chars().filter(char::is_ascii_digit).collect();
        let fraction: String = time
            .split_once('.')
            .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        if date.len() == 8 && clock.len() == 6 {
            return if fraction.is_empty() {
                format!("{date}T{clock}Z")
            } else {
                format!("{date}T{clock}.{fraction}Z")
            };
        }
    }
    now.chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | '+'))
        .collect()
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

    #[test]
    fn image_references_must_pin_a_digest() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = format!("ghcr.io/o/shop@{digest}");
        assert_eq!(
            immutable_image_reference("artifact_id", &pinned, ""),
            Ok(pinned.clone())
        );
        let tagged = format!("ghcr.io/o/shop:1.2@{digest}");
        assert_eq!(
            immutable_image_reference("artifact_id", &tagged, ""),
            Ok(tagged.clone())
        );
        assert_eq!(
            immutable_image_reference("artifact_id", &digest, "ghcr.io/o/shop/"),
            Ok(pinned)
        );
        for bad in [
            "ghcr.io/o/shop:latest".to_string(),
            "ghcr.io/o/shop".to_string(),
            digest.clone(),
            "ghcr.io/o/shop@sha256:abc".to_string(),
            format!("ghcr.io/o/shop@sha256:{}", "A".repeat(64)),
            format!("@{digest}"),
            format!("shop @{digest}"),
        ] {
            let error = immutable_image_reference("artifact_id", &bad, "").expect_err(&bad);
            assert!(
                matches!(&error, DriverError::InvalidRequest(m) if m.starts_with("artifact_id ")),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn compact_timestamps() {
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38Z"),
            "20260429T195838Z"
        );
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38.123456Z"),
            "20260429T195838.123456Z"
        );
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38+00:00"),
            "20260429T195838Z"
        );
        assert_eq!(compact_timestamp("odd:value-1"), "oddvalue1");
    }
}
