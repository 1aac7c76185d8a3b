//! Input hygiene: the one rule for ids, and the one rule for text that may
//! be stored.
//!
//! **Ids** (products, contexts, instances, record ids, and the other ids a
//! caller names: preview, generation, operation, secret ids) are 1 to
//! [`ID_MAX_LEN`] ASCII characters from `A-Z a-z 0-9 . _ -`, starting with
//! a letter or digit. That admits every id the original generates
//! (`deployment-20261205T215112.574545Z-cm-testing`,
//! `backup-gate-cm-prod-release-1`, `cm-testing`,
//! `promotion-20260429T195838Z-cm-testing-to-prod`, `secret-dokploy-dokploy-host`)
//! and refuses path tricks (`../x`, `a/b`), spaces, and any character a
//! terminal or browser would render misleadingly (right-to-left overrides,
//! zero-width characters).
//!
//! **Stored text**: no string anywhere in a stored record (key columns,
//! JSON documents, object keys included) may hold a control character
//! (Unicode `Cc`: U+0000–U+001F, U+007F–U+009F) other than tab, line feed
//! and carriage return, or a bidirectional formatting character (U+202A–
//! U+202E, U+2066–U+2069, U+200E, U+200F, U+061C). The store checks every
//! write ([`check_document`], [`check_columns`]) so both backends answer
//! the same; PostgreSQL alone would refuse only NUL, and with a 500.

use serde_json::Value;

/// The longest id accepted, in characters (all ASCII).
pub const ID_MAX_LEN: usize = 128;

/// Why a value was refused, naming the field (a dotted path from the body
/// or record root, `deployment.context`, `lanes[1].instance`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InputError {
    /// The field's path.
    pub field: String,
    /// What rule it broke (never the value itself).
    pub reason: &'static str,
}

impl InputError {
    fn new(field: impl Into<String>, reason: &'static str) -> InputError {
        InputError {
            field: field.into(),
            reason,
        }
    }
}

const ID_RULE: &str =
    "must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit";
const TEXT_RULE: &str = "must not contain NUL, control or bidirectional formatting characters";

/// Whether `value` follows the id rule.
pub fn is_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= ID_MAX_LEN
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `value` as an id of `field`; the error names the field.
pub fn check_id(field: &str, value: &str) -> Result<(), InputError> {
    if is_id(value) {
        Ok(())
    } else {
        Err(InputError::new(field, ID_RULE))
    }
}

/// Like [`check_id`], but an empty value (an optional id left out) passes.
pub fn check_optional_id(field: &str, value: &str) -> Result<(), InputError> {
    if value.is_empty() {
        Ok(())
    } else {
        check_id(field, value)
    }
}

/// A glob over ids (authorization rules): the id characters plus `*`, `?`,
/// `[`, `]` and `!`, at most [`ID_MAX_LEN`] characters.
pub fn check_id_pattern(field: &str, value: &str) -> Result<(), InputError> {
    let ok = !value.is_empty()
        && value.len() <= ID_MAX_LEN
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'_' | b'-' | b'*' | b'?' | b'[' | b']' | b'!')
        });
    if ok {
        Ok(())
    } else {
        Err(InputError::new(
            field,
            "must be a pattern of A-Z a-z 0-9 . _ - * ? [ ] ! of at most 128 characters",
        ))
    }
}

/// Whether `c` may never be stored (see the module documentation).
pub fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `value` as storable text of `field`.
pub fn check_text(field: &str, value: &str) -> Result<(), InputError> {
    if value.chars().any(is_forbidden_char) {
        Err(InputError::new(field, TEXT_RULE))
    } else {
        Ok(())
    }
}

/// Every string of a JSON document (values and object keys, at any depth)
/// as storable text; the error names the first offending path under
/// `root` (empty for the document itself).
pub fn check_document(root: &str, value: &Value) -> Result<(), InputError> {
    match value {
        Value::String(s) => check_text(display_root(root), s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_document(&format!("{root}[{i}]"), item)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            let path = join(root, key);
            check_text(&path, key)?;
            check_document(&path, item)
        }),
        _ => Ok(()),
    }
}

/// Named plain columns (`("context", value)`) as storable text.
pub fn check_columns(columns: &[(&str, &str)]) -> Result<(), InputError> {
    columns
        .iter()
        .try_for_each(|(field, value)| check_text(field, value))
}

/// The key names whose string values are ids wherever they appear in a
/// request body: `product`, `context`, `instance`, `record_id`,
/// `preview_id`, `generation_id`, `operation_id`, `secret_id`, and any key
/// ending in `_context`, `_instance` or `_record_id`.
pub fn is_id_key(key: &str) -> bool {
    matches!(
        key,
        "product"
            | "context"
            | "instance"
            | "record_id"
            | "preview_id"
            | "generation_id"
            | "operation_id"
            | "secret_id"
    ) || key.ends_with("_context")
        || key.ends_with("_instance")
        || key.ends_with("_record_id")
}

/// A request body: every string storable ([`check_document`]), and every
/// non-blank string under an id key ([`is_id_key`]) an id, compared after
/// trimming, as the routes trim them.
pub fn check_request_body(body: &Value) -> Result<(), InputError> {
    check_document("", body)?;
    check_ids_in("", body)
}

fn check_ids_in(root: &str, value: &Value) -> Result<(), InputError> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_ids_in(&format!("{root}[{i}]"), item)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            let path = join(root, key);
            match item {
                Value::String(s) if is_id_key(key) => check_optional_id(&path, s.trim()),
                other => check_ids_in(&path, other),
            }
        }),
        _ => Ok(()),
    }
}

fn join(root: &str, key: &str) -> String {
    if root.is_empty() {
        key.to_string()
    } else {
        format!("{root}.{key}")
    }
}

fn display_root(root: &str) -> &str {
    if root.is_empty() { "(document)" } else { root }
}

/// `value` with every forbidden character written as a visible escape
/// (`\u{0}`), for text that must be kept even when it is hostile (audit
/// rows of refused requests). Backslashes are kept as they are.
pub fn escape_forbidden(value: &str) -> String {
    if !value.chars().any(is_forbidden_char) {
        return value.to_string();
    }
    value
        .chars()
        .map(|c| {
            if is_forbidden_char(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_the_original_generates_pass() {
        for id in [
            "deployment-20261205T215112.574545Z-cm-testing",
            "deployment-20260429T195838Z-cm-testing",
            "backup-gate-cm-prod-release-1",
            "cm-testing",
            "promotion-20260429T195838Z-cm-testing-to-prod",
            "preview-demo-preview-tenant-shop-pr-12-generation-0001",
            "secret-runtime-environment-github-webhook-secret-opw",
            "secret-runtime-environment-api-token-demo-testing-version-0123456789ab",
            "launchplane-authz-policy-20260429T195838.123456Z-0123456789ab",
            "odoo-target-replacement-cm-prod-2026-04-29T195838.123456z0000-0123456789abcdef",
            "verireel-testing",
            "runtime_environment",
            "op-1",
            "prod",
            "x",
        ] {
            assert!(is_id(id), "{id}");
        }
    }

    #[test]
    fn hostile_ids_are_refused_naming_the_field() {
        for id in [
            "",
            "../../../../etc/passwd",
            "a/b",
            ".hidden",
            "-flag",
            "cm testing",
            "shop\u{202E}gnp",
            "cm\u{0}",
            "ünï",
            &"a".repeat(ID_MAX_LEN + 1),
            &"p".repeat(5000),
        ] {
            let error = check_id("deployment.record_id", id).expect_err(id);
            assert_eq!(error.field, "deployment.record_id");
            assert!(!error.to_string().contains(id) || id.is_empty());
        }
        assert!(is_id(&"a".repeat(ID_MAX_LEN)));
        assert!(check_optional_id("instance", "").is_ok());
    }

    #[test]
    fn documents_name_the_path_of_a_control_character() {
        let ok = json!({"a": "line\nbreak\ttab\r", "b": [1, {"c": "ok"}]});
        assert!(check_document("", &ok).is_ok());
        let bad = json!({"deploy": {"urls": ["https://x", "https://y\u{0}"]}});
        assert_eq!(
            check_document("", &bad).expect_err("nul").field,
            "deploy.urls[1]"
        );
        let key = json!({"k\u{1b}[31m": 1});
        assert!(check_document("", &key).is_err());
        assert!(check_document("", &json!("\u{2066}x")).is_err());
        assert!(check_document("", &json!("\u{85}")).is_err());
    }

    #[test]
    fn request_bodies_check_ids_by_key_at_any_depth() {
        let ok = json!({"product": " demo ", "deployment": {"context": "cm", "instance": "",
            "record_id": "deployment-20261205T215112.574545Z-cm-testing", "artifact_id": "ghcr.io/o/x:1"},
            "lanes": [{"instance": "prod", "context": "cm"}]});
        assert!(check_request_body(&ok).is_ok());
        let bad = json!({"product": "demo", "lanes": [{"instance": "prod"}, {"instance": "a/b"}]});
        assert_eq!(
            check_request_body(&bad).expect_err("slash").field,
            "lanes[1].instance"
        );
        let nul = json!({"product": "demo", "promotion": {"to_instance": "prod\u{0}"}});
        assert_eq!(
            check_request_body(&nul).expect_err("nul").field,
            "promotion.to_instance"
        );
    }

    #[test]
    fn escaping_keeps_hostile_text_visible() {
        assert_eq!(escape_forbidden("cm\u{0}x\u{202E}"), "cm\\u{0}x\\u{202e}");
        assert_eq!(escape_forbidden("plain\n"), "plain\n");
    }

    #[test]
    fn patterns_allow_globs_only() {
        assert!(check_id_pattern("contexts[0]", "cm-*").is_ok());
        assert!(check_id_pattern("contexts[0]", "*").is_ok());
        assert!(check_id_pattern("contexts[0]", "../*").is_err());
        assert!(check_id_pattern("contexts[0]", "").is_err());
    }
}
