//! Configuration a product expects to exist [L] ([`ExpectedConfig`]):
//! runtime environment keys and managed secret bindings, each optionally
//! scoped to a context or an instance.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, require_all_non_blank, require_non_blank};

/// A runtime environment key the product expects [L].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRuntimeEnvironmentKey {
    pub key: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub instance: String,
}

fn default_integration() -> String {
    "runtime_environment".to_string()
}

/// A managed secret binding the product expects [L].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedManagedSecretBinding {
    pub binding_key: String,
    #[serde(default = "default_integration")]
    pub integration: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub instance: String,
}

/// Configuration the product expects to exist [L].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedConfig {
    #[serde(default)]
    pub runtime_environment_keys: Vec<ExpectedRuntimeEnvironmentKey>,
    #[serde(default)]
    pub managed_secret_bindings: Vec<ExpectedManagedSecretBinding>,
}

fn check_scope(context: &str, instance: &str) -> Result<(), ValidationError> {
    if !instance.trim().is_empty() && context.trim().is_empty() {
        return Err(ValidationError::new(
            "context",
            "an instance-scoped entry needs a context",
        ));
    }
    Ok(())
}

impl ExpectedConfig {
    /// Keys non-blank; an `instance` needs a `context`; entries unique.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut seen = HashSet::new();
        for (index, entry) in self.runtime_environment_keys.iter().enumerate() {
            let at = format!("runtime_environment_keys[{index}]");
            require_non_blank(&entry.key, "key")
                .and_then(|()| check_scope(&entry.context, &entry.instance))
                .map_err(|e| e.within(&at))?;
            if !seen.insert((
                entry.key.trim(),
                entry.context.trim(),
                entry.instance.trim(),
            )) {
                return Err(ValidationError::new(at, "duplicate expected runtime key"));
            }
        }
        let mut seen = HashSet::new();
        for (index, entry) in self.managed_secret_bindings.iter().enumerate() {
            let at = format!("managed_secret_bindings[{index}]");
            require_all_non_blank(&[
                ("binding_key", &entry.binding_key),
                ("integration", &entry.integration),
            ])
            .and_then(|()| check_scope(&entry.context, &entry.instance))
            .map_err(|e| e.within(&at))?;
            if !seen.insert((
                entry.binding_key.trim(),
                entry.integration.trim(),
                entry.context.trim(),
                entry.instance.trim(),
            )) {
                return Err(ValidationError::new(
                    at,
                    "duplicate expected managed secret binding",
                ));
            }
        }
        Ok(())
    }
}

crate::impl_validate!(ExpectedConfig);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::ProductProfile;
    use super::super::profiles::*;
    use crate::fixtures::*;

    #[test]
    fn expected_config_rules() {
        let value = set(
            full(),
            "/expected_config/runtime_environment_keys",
            json!([{"key": "A", "instance": "prod"}]),
        );
        assert_rejected_at::<ProductProfile>(
            value,
            "expected_config.runtime_environment_keys[0].context",
        );
        let value = set(
            full(),
            "/expected_config/runtime_environment_keys",
            json!([{"key": " "}]),
        );
        assert_rejected_at::<ProductProfile>(
            value,
            "expected_config.runtime_environment_keys[0].key",
        );
        let value = set(
            full(),
            "/expected_config/runtime_environment_keys",
            json!([{"key": "A", "context": "syo"}, {"key": "A", "context": "syo"}]),
        );
        assert_rejected_at::<ProductProfile>(value, "expected_config.runtime_environment_keys[1]");
        let value = set(
            full(),
            "/expected_config/managed_secret_bindings",
            json!([{"binding_key": "S"}, {"binding_key": "S", "integration": "runtime_environment"}]),
        );
        assert_rejected_at::<ProductProfile>(value, "expected_config.managed_secret_bindings[1]");
        let value = set(
            full(),
            "/expected_config/managed_secret_bindings",
            json!([{"binding_key": ""}]),
        );
        assert_rejected_at::<ProductProfile>(
            value,
            "expected_config.managed_secret_bindings[0].binding_key",
        );
        let value = set(
            full(),
            "/expected_config/managed_secret_bindings",
            json!([{"binding_key": "S", "instance": "prod"}]),
        );
        assert_rejected_at::<ProductProfile>(
            value,
            "expected_config.managed_secret_bindings[0].context",
        );
    }
}
