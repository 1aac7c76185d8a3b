//! A product's PR-preview contract ([`ProductPreviewProfile`]): whether
//! previews are enabled, in which context, how their apps are named and
//! which env and data they take from the template lane.

use std::collections::{BTreeSet, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation::{ValidationError, require_non_blank};

/// `none | letsencrypt` [L].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DomainCertificateType {
    #[default]
    None,
    Letsencrypt,
}

/// How a preview gets its data: `none | clone | bootstrap | migrate_seed | driver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataTransportMode {
    #[default]
    None,
    Clone,
    Bootstrap,
    MigrateSeed,
    Driver,
}

fn default_slug_template() -> String {
    "pr-{number}".to_string()
}

fn default_template_instance() -> String {
    "testing".to_string()
}

fn default_enable_label() -> String {
    "launchplane-preview".to_string()
}

/// The product's PR-preview contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPreviewProfile {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub context: String,
    /// [L]
    #[serde(default = "default_enable_label")]
    pub enable_label: String,
    #[serde(default = "default_slug_template")]
    pub slug_template: String,
    /// Blank means the effective default `<product>-preview`.
    #[serde(default)]
    pub app_name_prefix: String,
    #[serde(default = "default_template_instance")]
    pub template_instance: String,
    #[serde(default)]
    pub required_template_env_keys: Vec<String>,
    #[serde(default)]
    pub copied_env_keys: Vec<String>,
    #[serde(default)]
    pub omitted_env_keys: Vec<String>,
    #[serde(default)]
    pub override_env: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub preview_url_env_keys: Vec<String>,
    #[serde(default)]
    pub preview_domain_env_keys: Vec<String>,
    /// [L]
    #[serde(default)]
    pub domain_certificate_type: DomainCertificateType,
    #[serde(default)]
    pub required_provider_fields: Vec<String>,
    #[serde(default)]
    pub data_transport_mode: DataTransportMode,
    #[serde(default)]
    pub migration_command: String,
    #[serde(default)]
    pub seed_command: String,
}

impl Default for ProductPreviewProfile {
    fn default() -> Self {
        ProductPreviewProfile {
            enabled: false,
            context: String::new(),
            enable_label: default_enable_label(),
            slug_template: default_slug_template(),
            app_name_prefix: String::new(),
            template_instance: default_template_instance(),
            required_template_env_keys: Vec::new(),
            copied_env_keys: Vec::new(),
            omitted_env_keys: Vec::new(),
            override_env: Default::default(),
            preview_url_env_keys: Vec::new(),
            preview_domain_env_keys: Vec::new(),
            domain_certificate_type: DomainCertificateType::None,
            required_provider_fields: Vec::new(),
            data_transport_mode: DataTransportMode::None,
            migration_command: String::new(),
            seed_command: String::new(),
        }
    }
}

/// Every key of a key list must be non-blank and unique (after trimming).
fn check_key_list(keys: &[String], field: &str) -> Result<(), ValidationError> {
    let mut seen = HashSet::new();
    for (index, key) in keys.iter().enumerate() {
        let key = key.trim();
        if key.is_empty() {
            return Err(ValidationError::new(
                format!("{field}[{index}]"),
                "must not be blank",
            ));
        }
        if !seen.insert(key) {
            return Err(ValidationError::new(
                format!("{field}[{index}]"),
                format!("duplicate value `{key}`"),
            ));
        }
    }
    Ok(())
}

impl ProductPreviewProfile {
    /// Enabled ⇒ `context`, a `slug_template` containing `{number}` and a
    /// `template_instance`; key lists non-blank and unique; copied and
    /// omitted env keys disjoint; `override_env` keys non-blank;
    /// migration/seed commands need a data transport mode.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.enabled {
            require_non_blank(&self.context, "context")
                .map_err(|e| ValidationError::new(e.field, "required when previews are enabled"))?;
            if !self.slug_template.contains("{number}") {
                return Err(ValidationError::new(
                    "slug_template",
                    "enabled product preview profile slug_template requires {number}",
                ));
            }
            require_non_blank(&self.template_instance, "template_instance")
                .map_err(|e| ValidationError::new(e.field, "required when previews are enabled"))?;
        }
        for (field, keys) in [
            (
                "required_template_env_keys",
                &self.required_template_env_keys,
            ),
            ("copied_env_keys", &self.copied_env_keys),
            ("omitted_env_keys", &self.omitted_env_keys),
            ("preview_url_env_keys", &self.preview_url_env_keys),
            ("preview_domain_env_keys", &self.preview_domain_env_keys),
            ("required_provider_fields", &self.required_provider_fields),
        ] {
            check_key_list(keys, field)?;
        }
        let copied: BTreeSet<&str> = self.copied_env_keys.iter().map(|k| k.trim()).collect();
        let overlap: Vec<&str> = self
            .omitted_env_keys
            .iter()
            .map(|k| k.trim())
            .filter(|k| copied.contains(k))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !overlap.is_empty() {
            return Err(ValidationError::new(
                "omitted_env_keys",
                format!(
                    "product preview profile cannot both copy and omit env keys: {}",
                    overlap.join(", ")
                ),
            ));
        }
        if self.override_env.keys().any(|k| k.trim().is_empty()) {
            return Err(ValidationError::new(
                "override_env",
                "product preview profile override_env keys must be non-empty",
            ));
        }
        if self.data_transport_mode == DataTransportMode::None {
            for (field, command) in [
                ("migration_command", &self.migration_command),
                ("seed_command", &self.seed_command),
            ] {
                if !command.is_empty() {
                    return Err(ValidationError::new(
                        field,
                        "product preview profile migration_command/seed_command require a data \
                         transport mode",
                    ));
                }
            }
        }
        Ok(())
    }
}

crate::impl_validate!(ProductPreviewProfile);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::ProductProfile;
    use crate::fixtures::*;

    #[test]
    fn preview_rules() {
        let value = set(product_profile(), "/preview/context", json!(""));
        assert_rejected_at::<ProductProfile>(value.clone(), "preview.context");
        parse::<ProductProfile>(set(value, "/preview/enabled", json!(false)));

        let value = set(product_profile(), "/preview/slug_template", json!("pr-{n}"));
        assert_rejected_at::<ProductProfile>(value, "preview.slug_template");
        let value = set(product_profile(), "/preview/template_instance", json!(" "));
        assert_rejected_at::<ProductProfile>(value, "preview.template_instance");

        let value = set(
            product_profile(),
            "/preview/copied_env_keys",
            json!(["A", "B"]),
        );
        let value = set(value, "/preview/omitted_env_keys", json!(["C", " B "]));
        let error = reject::<ProductProfile>(value);
        assert_eq!(error.field, "preview.omitted_env_keys");
        assert!(error.message.ends_with("env keys: B"), "{error}");

        let value = set(
            product_profile(),
            "/preview/copied_env_keys",
            json!(["A", "A "]),
        );
        assert_rejected_at::<ProductProfile>(value, "preview.copied_env_keys[1]");
        let value = set(
            product_profile(),
            "/preview/required_provider_fields",
            json!([""]),
        );
        assert_rejected_at::<ProductProfile>(value, "preview.required_provider_fields[0]");
        let value = set(
            product_profile(),
            "/preview/override_env",
            json!({" ": "x"}),
        );
        assert_rejected_at::<ProductProfile>(value, "preview.override_env");
        let value = set(
            product_profile(),
            "/preview/override_env",
            json!({"K": null}),
        );
        assert_rejected_at::<ProductProfile>(value, "preview.override_env.K");

        let value = set(
            product_profile(),
            "/preview/migration_command",
            json!("npm run migrate"),
        );
        assert_rejected_at::<ProductProfile>(value.clone(), "preview.migration_command");
        parse::<ProductProfile>(set(
            value,
            "/preview/data_transport_mode",
            json!("migrate_seed"),
        ));
        let value = set(product_profile(), "/preview/seed_command", json!("seed"));
        assert_rejected_at::<ProductProfile>(value, "preview.seed_command");
        let value = set(
            product_profile(),
            "/preview/data_transport_mode",
            json!("copy"),
        );
        assert_rejected_at::<ProductProfile>(value, "preview.data_transport_mode");

        let value = set(product_profile(), "/image/repository", json!(""));
        assert_rejected_at::<ProductProfile>(value.clone(), "image.repository");
        parse::<ProductProfile>(set(value, "/preview/enabled", json!(false)));
    }
}
