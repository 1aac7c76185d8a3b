//! Runtime environment records (`RuntimeEnvironmentRecord`, reference
//! §6.11): plain (non-secret) settings for every lane, for a context, or
//! for one instance. Resolution for a lane merges global, then context,
//! then instance records, and managed secrets go on top
//! (`secrets::environment`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ValidationError, default_schema_version, impl_validate};

/// The record kind in the store (host-only: drivers never see it).
pub const KIND: &str = "runtime_environment";

/// Which lanes a record applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentScope {
    Global,
    Context,
    Instance,
}

impl EnvironmentScope {
    pub fn as_str(&self) -> &'static str {
        match self {
            EnvironmentScope::Global => "global",
            EnvironmentScope::Context => "context",
            EnvironmentScope::Instance => "instance",
        }
    }

    /// The scope a target implies: an instance → `instance`, a context
    /// only → `context`, neither → `global`.
    pub fn for_target(context: &str, instance: &str) -> EnvironmentScope {
        match (context.is_empty(), instance.is_empty()) {
            (_, false) => EnvironmentScope::Instance,
            (false, true) => EnvironmentScope::Context,
            (true, true) => EnvironmentScope::Global,
        }
    }
}

/// The id a scope's record is stored under (`:` cannot occur in a
/// context or instance, so the parts never run together).
pub fn record_id(scope: EnvironmentScope, context: &str, instance: &str) -> String {
    match scope {
        EnvironmentScope::Global => "runtime-environment:global".to_string(),
        EnvironmentScope::Context => format!("runtime-environment:context:{context}"),
        EnvironmentScope::Instance => format!("runtime-environment:instance:{context}:{instance}"),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEnvironmentRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub scope: EnvironmentScope,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub instance: String,
    /// Key → scalar (string, number or boolean).
    pub env: BTreeMap<String, Value>,
    pub updated_at: String,
    #[serde(default)]
    pub source_label: String,
}

impl RuntimeEnvironmentRecord {
    pub fn record_id(&self) -> String {
        record_id(self.scope, &self.context, &self.instance)
    }

    /// The reference's rules, plus the secret-shaped key rule: a key such
    /// as `API_KEY` belongs in a managed secret, never here.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.schema_version != 1 {
            return Err(ValidationError::new("schema_version", "must be 1"));
        }
        let (needs_context, needs_instance) = match self.scope {
            EnvironmentScope::Global => (false, false),
            EnvironmentScope::Context => (true, false),
            EnvironmentScope::Instance => (true, true),
        };
        for (field, value, needed) in [
            ("context", &self.context, needs_context),
            ("instance", &self.instance, needs_instance),
        ] {
            if needed && value.trim().is_empty() {
                return Err(ValidationError::new(
                    field,
                    format!("required for scope `{}`", self.scope.as_str()),
                ));
            }
            if !needed && !value.is_empty() {
                return Err(ValidationError::new(
                    field,
                    format!("must be empty for scope `{}`", self.scope.as_str()),
                ));
            }
            if value.contains(':') {
                return Err(ValidationError::new(field, "must not contain `:`"));
            }
        }
        if self.env.is_empty() {
            return Err(ValidationError::new("env", "at least one key is required"));
        }
        for (key, value) in &self.env {
            check_entry(key, value).map_err(|e| e.within("env"))?;
        }
        Ok(())
    }

    /// The keys, sorted (what read models show instead of values).
    pub fn keys(&self) -> Vec<String> {
        self.env.keys().cloned().collect()
    }
}

impl_validate!(RuntimeEnvironmentRecord);

/// What setting some keys on top of a record's env does.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvMerge {
    pub merged: BTreeMap<String, Value>,
    /// Keys new or whose text differs.
    pub changed: Vec<String>,
    /// Keys already holding the same text.
    pub unchanged: Vec<String>,
}

/// Sets `updates` on top of `current` (no record: nothing). Values compare
/// as the text a process would see, so `2` and `"2"` are the same.
pub fn merge_env(
    current: Option<&BTreeMap<String, Value>>,
    updates: &BTreeMap<String, Value>,
) -> EnvMerge {
    let mut merged = current.cloned().unwrap_or_default();
    let (mut changed, mut unchanged) = (Vec::new(), Vec::new());
    for (key, value) in updates {
        match merged.get(key) {
            Some(old) if scalar_text(old) == scalar_text(value) => unchanged.push(key.clone()),
            _ => changed.push(key.clone()),
        }
        merged.insert(key.clone(), value.clone());
    }
    EnvMerge {
        merged,
        changed,
        unchanged,
    }
}

/// The record kind of [`RuntimeEnvironmentDeleteEvent`] (host-only).
pub const DELETE_EVENT_KIND: &str = "runtime_environment_delete_event";

/// What a deleted runtime environment record held (key names and a count,
/// never values), who deleted it and why (reference §6.11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEnvironmentDeleteEvent {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub event_id: String,
    /// Always `deleted`.
    pub event_type: String,
    pub recorded_at: String,
    pub actor: String,
    pub scope: EnvironmentScope,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub instance: String,
    pub source_label: String,
    pub env_keys: Vec<String>,
    /// `env_keys.len()`.
    pub env_value_count: usize,
    #[serde(default)]
    pub detail: String,
}

impl RuntimeEnvironmentDeleteEvent {
    /// The event for deleting `record`, stamped now.
    pub fn for_record(
        record: &RuntimeEnvironmentRecord,
        actor: &str,
        source_label: &str,
        detail: &str,
    ) -> RuntimeEnvironmentDeleteEvent {
        let recorded_at = crate::time::now_rfc3339_micros();
        let env_keys = record.keys();
        let unique = uuid::Uuid::new_v4().simple().to_string();
        RuntimeEnvironmentDeleteEvent {
            schema_version: 1,
            event_id: format!(
                "{}-deleted-{}",
                record.record_id().replace(':', "-"),
                &unique[..12]
            ),
            event_type: "deleted".to_string(),
            recorded_at,
            actor: actor.to_string(),
            scope: record.scope,
            context: record.context.clone(),
            instance: record.instance.clone(),
            source_label: source_label.to_string(),
            env_value_count: env_keys.len(),
            env_keys,
            detail: detail.to_string(),
        }
    }
}

/// One `env` entry: a non-blank, non-secret-shaped key with a scalar value.
pub fn check_entry(key: &str, value: &Value) -> Result<(), ValidationError> {
    if key.trim().is_empty() {
        return Err(ValidationError::new("", "keys must not be blank"));
    }
    if is_secret_shaped(key) {
        return Err(ValidationError::new(
            key,
            "is secret-shaped (a part is PASSWORD, TOKEN, SECRET or KEY); write it as a managed secret",
        ));
    }
    if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
        return Err(ValidationError::new(
            key,
            "must be a string, number or boolean",
        ));
    }
    Ok(())
}

/// A scalar as the text a process environment holds (`true`, `8080`).
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a configuration key must be written as a managed secret: one of
/// its `_`-separated parts (upper-cased) is `PASSWORD`, `TOKEN`, `SECRET`
/// or `KEY`. `GITHUB_TOKEN` and `DB_PASSWORD` are; `KEYCLOAK_URL`, `TOKENS`
/// and `PASSWD` are not.
pub fn is_secret_shaped(key: &str) -> bool {
    key.to_uppercase()
        .split('_')
        .any(|part| matches!(part, "PASSWORD" | "TOKEN" | "SECRET" | "KEY"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::models::parse_record;
    use serde_json::json;

    fn record(scope: &str, context: &str, instance: &str, env: Value) -> Value {
        json!({"schema_version": 1, "scope": scope, "context": context, "instance": instance,
               "env": env, "updated_at": "2026-11-24T00:00:00Z", "source_label": "tests"})
    }

    #[test]
    fn scopes_need_exactly_their_keys() {
        let ok: RuntimeEnvironmentRecord = parse_record(
            &record("instance", "cm", "testing", json!({"ODOO_DB_NAME": "cm"})),
            "",
        )
        .expect("valid");
        assert_eq!(ok.record_id(), "runtime-environment:instance:cm:testing");
        for (scope, context, instance, field) in [
            ("global", "cm", "", "context"),
            ("context", "", "", "context"),
            ("context", "cm", "prod", "instance"),
            ("instance", "cm", "", "instance"),
        ] {
            let error = parse_record::<RuntimeEnvironmentRecord>(
                &record(scope, context, instance, json!({"A": "1"})),
                "",
            )
            .expect_err(scope);
            assert_eq!(error.field, field, "{scope}: {error}");
        }
    }

    #[test]
    fn entries_are_scalar_plain_settings() {
        let parse = |env: Value| {
            parse_record::<RuntimeEnvironmentRecord>(&record("global", "", "", env), "")
        };
        assert!(parse(json!({"PORT": 8080, "DEBUG": false, "URL": "https://x"})).is_ok());
        assert_eq!(parse(json!({})).expect_err("empty").field, "env");
        assert_eq!(
            parse(json!({"A": {"b": 1}})).expect_err("object").field,
            "env.A"
        );
        assert_eq!(parse(json!({"A": null})).expect_err("null").field, "env.A");
        let secret = parse(json!({"GITHUB_TOKEN": "x"})).expect_err("secret-shaped");
        assert_eq!(secret.field, "env.GITHUB_TOKEN");
        assert!(secret.message.contains("managed secret"));
        assert_eq!(scalar_text(&json!(8080)), "8080");
        assert_eq!(scalar_text(&json!("x")), "x");
    }
}
