//! Validation of the records: [`ValidationError`] (the path of the
//! offending field and what is wrong), the [`Validate`] trait every record
//! implements, the rule helpers the record families share, and the readers.
//!
//! Every record struct keeps the original's JSON field names, rejects
//! unknown fields at every nesting level and serialises every field
//! (defaults included), so a stored payload is complete and round-trips
//! exactly. Deserialisation only checks shapes and types; the rules of the
//! reference live in each type's `validate`, which reports the dotted /
//! indexed path of the offending field (`deployment.destination_health.urls`,
//! `lanes[1].instance`). [`parse_record`] does both steps and names the field
//! path on either failure.
//!
//! Drivers read stored records with [`read_lenient`] instead: the same
//! shapes, but keys the type does not know are ignored, so a store written
//! by a newer host still reads.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{lenient, path};

/// A payload or record that breaks a rule, with the path of the field.
/// Displays as `<field>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Dotted / indexed path of the offending field
    /// (`deployment.destination_health.urls`, `generation.source_map[0].repo`);
    /// `$` when the problem is the payload as a whole.
    pub field: String,
    /// What is wrong, in one sentence.
    pub message: String,
}

// By hand rather than with thiserror: this crate keeps to serde, serde_json
// and schemars so that it builds inside every driver component.
impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

impl ValidationError {
    /// An error at `field` (`$`, the whole payload, when empty).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
        let field = field.into();
        ValidationError {
            field: if field.is_empty() {
                ROOT.to_string()
            } else {
                field
            },
            message: message.into(),
        }
    }

    /// The same error seen from a containing object: `prefix` is put in
    /// front of the field path (`urls` within `destination_health` becomes
    /// `destination_health.urls`).
    pub fn within(self, prefix: &str) -> ValidationError {
        let inner = if self.field == ROOT { "" } else { &self.field };
        ValidationError::new(join_path(prefix, inner), self.message)
    }
}

/// The path used for an error about the whole payload.
const ROOT: &str = "$";

/// Joins a path prefix and a relative path (`a` + `b` → `a.b`,
/// `a` + `[0].b` → `a[0].b`; either may be empty).
pub fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// Turns the error of deserialising a payload with `serde_json` into a
/// [`ValidationError`]. serde's messages name the field only for unknown and
/// missing fields, so the path is `prefix.<field>` for those and `prefix`
/// otherwise; the ` at line … column …` position suffix is dropped.
///
/// Prefer [`parse_record`] (or the envelopes' `parse`), which tracks the
/// exact path of every failure.
pub fn from_serde_error(err: &serde_json::Error, prefix: &str) -> ValidationError {
    let text = err.to_string();
    let message = match text.rfind(" at line ") {
        Some(at) if err.line() > 0 => text[..at].to_string(),
        _ => text,
    };
    let field = named_field(&message)
        .map(|name| join_path(prefix, name))
        .unwrap_or_else(|| prefix.to_string());
    ValidationError::new(field, message)
}

/// The field a serde message is about: `unknown field `x`…` or
/// `missing field `x``.
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    let name = &rest[..rest.find('`')?];
    (!name.is_empty()).then_some(name)
}

/// Deserialises `value` as `T`, naming the exact path of the first failure
/// (unknown field, missing field, wrong type, unknown enum value) under
/// `prefix`. Shapes only: call `validate` (or use [`parse_record`]) for the
/// rules.
pub fn from_value<T: DeserializeOwned>(value: &Value, prefix: &str) -> Result<T, ValidationError> {
    path::from_value(value).map_err(|e| located(e, prefix))
}

/// A deserialisation failure as a [`ValidationError`] under `prefix`.
fn located(e: path::PathError, prefix: &str) -> ValidationError {
    // A missing field is reported by the object that lacks it; point at the
    // field itself. (Unknown fields are already located at their key.)
    let at = match named_field(&e.message) {
        Some(name) if e.message.starts_with("missing field") => join_path(&e.path, name),
        _ => e.path,
    };
    ValidationError::new(join_path(prefix, &at), e.message)
}

/// A record type with the reference's validation rules.
pub trait Validate {
    /// Checks every rule; the error's field path is relative to the record.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// Deserialises `value` as `T` the way a driver reads a stored record: keys
/// `T` does not know are ignored at every nesting level (a store written by
/// a newer host, or one that adds its own columns such as `record_id`, still
/// reads), while every field `T` has keeps its type and its default.
/// Shapes only: a driver does not re-check the host's rules on what it
/// reads. Errors name the field serde names (a missing or unknown one)
/// under `prefix`, not the full path: the reader stays small because it is
/// built into every driver component.
pub fn read_lenient<T: DeserializeOwned>(
    value: &Value,
    prefix: &str,
) -> Result<T, ValidationError> {
    lenient::from_value(value).map_err(|e| from_serde_error(&e, prefix))
}

/// Deserialises and validates one record (for instance one read back from the
/// store, or an admin payload); every error path starts with `prefix`.
pub fn parse_record<T: DeserializeOwned + Validate>(
    value: &Value,
    prefix: &str,
) -> Result<T, ValidationError> {
    let record: T = from_value(value, prefix)?;
    record.validate().map_err(|e| e.within(prefix))?;
    Ok(record)
}

/// Implements [`Validate`] for each listed type by delegating to its
/// inherent `validate` method.
#[macro_export]
macro_rules! impl_validate {
    ($($ty:ty),+ $(,)?) => {
        $(impl $crate::Validate for $ty {
            fn validate(&self) -> ::core::result::Result<(), $crate::ValidationError> {
                <$ty>::validate(self)
            }
        })+
    };
}

// ---------------------------------------------------------------------------
// Helpers shared by the families.

/// The serde default of `schema_version` fields: 1.
pub fn default_schema_version() -> u32 {
    1
}

/// The serde default of flags that start out set.
pub fn default_true() -> bool {
    true
}

/// `value` must be non-empty after trimming.
pub fn require_non_blank(value: &str, field: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    Ok(())
}

/// Every field in `fields` must be non-empty after trimming.
pub fn require_all_non_blank(fields: &[(&str, &str)]) -> Result<(), ValidationError> {
    for (field, value) in fields {
        require_non_blank(value, field)?;
    }
    Ok(())
}

/// `value` must be at least 1.
pub fn require_positive(value: u64, field: &str) -> Result<(), ValidationError> {
    if value < 1 {
        return Err(ValidationError::new(field, "must be at least 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn display_is_field_colon_message() {
        let e = ValidationError::new("deployment.context", "must not be blank");
        assert_eq!(e.to_string(), "deployment.context: must not be blank");
        assert_eq!(ValidationError::new("", "x").to_string(), "$: x");
    }

    #[test]
    fn within_prefixes_paths() {
        let e = ValidationError::new("urls", "m").within("destination_health");
        assert_eq!(e.field, "destination_health.urls");
        let e = ValidationError::new("[2].repo", "m").within("source_map");
        assert_eq!(e.field, "source_map[2].repo");
        let e = ValidationError::new("", "m").within("deployment");
        assert_eq!(e.field, "deployment");
        let e = ValidationError::new("x", "m").within("");
        assert_eq!(e.field, "x");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[test]
    fn serde_json_error_names_unknown_and_missing_fields() {
        let err = serde_json::from_str::<Outer>(r#"{"inner":{"name":"a","extra":1}}"#).unwrap_err();
        let v = from_serde_error(&err, "deployment");
        assert_eq!(v.field, "deployment.extra");
        assert!(v.message.starts_with("unknown field `extra`"), "{v}");
        assert!(!v.message.contains(" at line "), "{v}");

        let err = serde_json::from_value::<Outer>(json!({"inner": {}})).unwrap_err();
        let v = from_serde_error(&err, "deployment");
        assert_eq!(v.field, "deployment.name");
        assert_eq!(v.message, "missing field `name`");

        let err = serde_json::from_value::<Outer>(json!({"inner": {"name": 3}})).unwrap_err();
        let v = from_serde_error(&err, "deployment");
        assert_eq!(v.field, "deployment");
        assert!(v.message.starts_with("invalid type"), "{v}");
    }

    #[test]
    fn from_value_tracks_exact_paths() {
        let e = from_value::<Outer>(&json!({"inner": {"name": "a", "extra": 1}}), "p").unwrap_err();
        assert_eq!(e.field, "p.inner.extra");
        let e = from_value::<Outer>(&json!({"inner": {}}), "p").unwrap_err();
        assert_eq!(e.field, "p.inner.name");
        assert_eq!(e.message, "missing field `name`");
        let e = from_value::<Outer>(&json!({"inner": {"name": 3}}), "").unwrap_err();
        assert_eq!(e.field, "inner.name");
        assert!(e.message.starts_with("invalid type: integer `3`"), "{e}");
        let e = from_value::<Outer>(&json!([{"name": "a"}]), "").unwrap_err();
        assert_eq!(e.field, "$");
        assert_eq!(e.message, "invalid type: sequence, expected struct Outer");
        let e =
            from_value::<Vec<Inner>>(&json!([{"name": "a"}, {"nam": "b"}]), "list").unwrap_err();
        assert_eq!(e.field, "list[1].nam");
    }

    #[test]
    fn parse_record_prefixes_shape_and_rule_errors() {
        use crate::fixtures;
        use crate::records::deployment::DeploymentRecord;
        let value = fixtures::deployment_minimal();
        let record: DeploymentRecord = parse_record(&value, "deployment").unwrap();
        assert_eq!(record.context, "cm");
        let blank = fixtures::set(value.clone(), "/context", json!(""));
        let e = parse_record::<DeploymentRecord>(&blank, "deployment").unwrap_err();
        assert_eq!(e.field, "deployment.context");
        let bad = fixtures::set(value, "/context", json!(1));
        let e = parse_record::<DeploymentRecord>(&bad, "deployment").unwrap_err();
        assert_eq!(e.field, "deployment.context");
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Stored {
        name: String,
        #[serde(default)]
        tags: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    impl PartialEq for Inner {
        fn eq(&self, other: &Inner) -> bool {
            self.name == other.name
        }
    }

    #[test]
    fn read_lenient_ignores_unknown_keys_at_every_level() {
        let value = json!({
            "name": "a", "record_id": "column",
            "tags": {"kept": "x"},
            "inner": {"name": "b", "newer": 1},
            "list": [{"name": "c", "newer": [1]}]
        });
        let stored: Stored = read_lenient(&value, "p").unwrap();
        assert_eq!(stored.name, "a");
        assert_eq!(
            stored.tags.len(),
            1,
            "map keys are data, not unknown fields"
        );
        assert_eq!(stored.inner, Some(Inner { name: "b".into() }));
        assert_eq!(stored.list, [Inner { name: "c".into() }]);
        // The strict read refuses the first unknown key it meets.
        let e = from_value::<Stored>(&value, "p").unwrap_err();
        assert!(e.message.starts_with("unknown field"), "{e}");
    }

    #[test]
    fn read_lenient_keeps_types_and_required_fields() {
        let e = read_lenient::<Stored>(&json!({"tags": {}}), "p").unwrap_err();
        assert_eq!(e.field, "p.name");
        assert_eq!(e.message, "missing field `name`");
        let e =
            read_lenient::<Stored>(&json!({"name": "a", "list": [{"name": 1}]}), "p").unwrap_err();
        assert_eq!(e.field, "p");
        assert!(e.message.starts_with("invalid type: integer `1`"), "{e}");
        let e = read_lenient::<Stored>(&json!({"name": "a", "inner": {"x": 1}}), "").unwrap_err();
        assert_eq!(e.field, "name");
        let e = read_lenient::<Stored>(&json!(["a"]), "").unwrap_err();
        assert_eq!(e.field, "$");
        assert!(e.message.starts_with("invalid type: sequence"), "{e}");
        let e = read_lenient::<Stored>(&json!({"name": "a", "list": {}}), "").unwrap_err();
        assert!(e.message.starts_with("invalid type: map"), "{e}");
        let minimal: Stored = read_lenient(&json!({"name": "a"}), "").unwrap();
        assert!(minimal.inner.is_none() && minimal.list.is_empty());
    }
}
