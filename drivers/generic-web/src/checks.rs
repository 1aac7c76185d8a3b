//! Request checks the original service made before touching anything.
//!
//! They run first in every handler, so a bad request is refused with a message
//! that names the offending field, whatever the handler does afterwards. The
//! host also validates the declared JSON Schemas; these checks cover what a
//! schema cannot say (trimmed non-blank strings, cross-field rules) and keep
//! the driver correct when it is called without the host, as in native tests.
//!
//! The rules drivers share live in [`launchplane_sdk::checks`]; this module
//! adds generic-web's own (URLs, immutable image references, record-id
//! timestamps).

use launchplane_sdk::prelude::*;

pub use launchplane_sdk::checks::{
    NON_BLANK, at_least, envelope_product, invalid, non_blank, normalized, optional_at_least,
    release_status, release_status_schema, url_host,
};
pub use lifecycle_records::compact_timestamp;

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
}
