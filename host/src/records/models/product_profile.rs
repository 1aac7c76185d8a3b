//! Product profiles (`LaunchplaneProductProfileRecord`, reference §6.8): a
//! product's driver, lanes, preview contract and promotion workflow.
//!
//! The [S] fields plus these later ([L]) fields, all optional with
//! defaults: `lifecycle_state`, `repository_id`, `repository_owner_id`,
//! `default_branch`, `expected_config`, the preview profile's
//! `enable_label` / `domain_certificate_type` and the promotion workflow's
//! extra input names. Where [L] relaxed an [S] rule the relaxed rule is
//! used (`image.repository` may be blank, `runtime_port` 0 with an empty
//! `health_path` means "no HTTP runtime"), so every [S] profile stays valid.
//! Not modelled (so refused as unknown fields): the lanes' Odoo
//! bootstrap / prelaunch / data policies and `health_monitoring`.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{
    ValidationError, default_schema_version, impl_validate, require_all_non_blank,
    require_non_blank, require_positive,
};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductImageProfile {
    /// The image repository; may be blank unless previews are enabled.
    pub repository: String,
}

/// One stable lane of a product (`instance` in `context`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductLaneProfile {
    pub instance: String,
    pub context: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub health_url: String,
}

impl ProductLaneProfile {
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_all_non_blank(&[("instance", &self.instance), ("context", &self.context)])
    }
}

/// `none | letsencrypt` [L].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainCertificateType {
    #[default]
    None,
    Letsencrypt,
}

/// How a preview gets its data: `none | clone | bootstrap | migrate_seed | driver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `patch | minor | major`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    #[default]
    Patch,
    Minor,
    Major,
}

fn default_workflow_id() -> String {
    "promote-prod.yml".to_string()
}
fn default_ref() -> String {
    "main".to_string()
}
fn default_dry_run_input() -> String {
    "dry_run".to_string()
}
fn default_bump_input() -> String {
    "bump".to_string()
}
fn default_artifact_id_input() -> String {
    "artifact_id".to_string()
}
fn default_deploy_reference_input() -> String {
    "deploy_reference".to_string()
}
fn default_source_git_ref_input() -> String {
    "source_git_ref".to_string()
}
fn default_promotion_intent_input() -> String {
    "promotion_intent_id".to_string()
}

/// The GitHub workflow that promotes the product to prod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductPromotionWorkflowProfile {
    #[serde(default = "default_workflow_id")]
    pub workflow_id: String,
    #[serde(default = "default_ref", rename = "ref")]
    pub git_ref: String,
    #[serde(default = "default_dry_run_input")]
    pub dry_run_input: String,
    #[serde(default = "default_bump_input")]
    pub bump_input: String,
    /// [L]
    #[serde(default = "default_artifact_id_input")]
    pub artifact_id_input: String,
    /// [L]
    #[serde(default = "default_deploy_reference_input")]
    pub deploy_reference_input: String,
    /// [L]
    #[serde(default = "default_source_git_ref_input")]
    pub source_git_ref_input: String,
    /// [L]
    #[serde(default = "default_promotion_intent_input")]
    pub promotion_intent_input: String,
    #[serde(default)]
    pub default_bump: Bump,
}

impl Default for ProductPromotionWorkflowProfile {
    fn default() -> Self {
        ProductPromotionWorkflowProfile {
            workflow_id: default_workflow_id(),
            git_ref: default_ref(),
            dry_run_input: default_dry_run_input(),
            bump_input: default_bump_input(),
            artifact_id_input: default_artifact_id_input(),
            deploy_reference_input: default_deploy_reference_input(),
            source_git_ref_input: default_source_git_ref_input(),
            promotion_intent_input: default_promotion_intent_input(),
            default_bump: Bump::Patch,
        }
    }
}

impl ProductPromotionWorkflowProfile {
    /// `workflow_id`, `ref` and every input name non-blank; input names
    /// unique.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_all_non_blank(&[("workflow_id", &self.workflow_id), ("ref", &self.git_ref)])?;
        let inputs = [
            ("dry_run_input", &self.dry_run_input),
            ("bump_input", &self.bump_input),
            ("artifact_id_input", &self.artifact_id_input),
            ("deploy_reference_input", &self.deploy_reference_input),
            ("source_git_ref_input", &self.source_git_ref_input),
            ("promotion_intent_input", &self.promotion_intent_input),
        ];
        let mut seen = HashSet::new();
        for (field, value) in inputs {
            require_non_blank(value, field)?;
            if !seen.insert(value.trim()) {
                return Err(ValidationError::new(
                    field,
                    format!("workflow input name `{}` is used twice", value.trim()),
                ));
            }
        }
        Ok(())
    }
}

/// `active | retiring | retired` [L].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleState {
    #[default]
    Active,
    Retiring,
    Retired,
}

impl LifecycleState {
    pub fn as_str(&self) -> &'static str {
        match self {
            LifecycleState::Active => "active",
            LifecycleState::Retiring => "retiring",
            LifecycleState::Retired => "retired",
        }
    }
}

/// A runtime environment key the product expects [L].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

fn default_branch() -> String {
    "main".to_string()
}

/// Accepts a numeric id as a JSON string or a non-negative integer; keeps it
/// as a string.
fn numeric_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct NumericId;
    impl Visitor<'_> for NumericId {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a numeric id (string of digits or non-negative integer)")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    deserializer.deserialize_any(NumericId)
}

/// A product: its driver, lanes, preview contract and promotion workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductProfile {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub display_name: String,
    pub repository: String,
    pub driver_id: String,
    pub image: ProductImageProfile,
    /// `0` = no HTTP runtime ([L]); otherwise 1…65535.
    #[serde(default)]
    pub runtime_port: u32,
    /// Starts with `/` when set; empty exactly when `runtime_port` is 0.
    #[serde(default)]
    pub health_path: String,
    #[serde(default)]
    pub lanes: Vec<ProductLaneProfile>,
    #[serde(default)]
    pub historical_contexts: Vec<String>,
    #[serde(default)]
    pub preview: ProductPreviewProfile,
    #[serde(default)]
    pub promotion_workflow: ProductPromotionWorkflowProfile,
    pub updated_at: String,
    pub source: String,
    /// [L]
    #[serde(default)]
    pub lifecycle_state: LifecycleState,
    /// [L] GitHub numeric repository id; set together with
    /// `repository_owner_id`.
    #[serde(default, deserialize_with = "numeric_id")]
    pub repository_id: String,
    /// [L]
    #[serde(default, deserialize_with = "numeric_id")]
    pub repository_owner_id: String,
    /// [L]
    #[serde(default = "default_branch")]
    pub default_branch: String,
    /// [L]
    #[serde(default)]
    pub expected_config: ExpectedConfig,
}

impl ProductProfile {
    /// Every rule of reference §6.8 for the modelled fields; see the module
    /// documentation for the [S]/[L] choices.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_all_non_blank(&[
            ("product", &self.product),
            ("display_name", &self.display_name),
            ("repository", &self.repository),
            ("driver_id", &self.driver_id),
            ("updated_at", &self.updated_at),
            ("source", &self.source),
        ])?;
        if self.runtime_port > 65535 {
            return Err(ValidationError::new(
                "runtime_port",
                "must be between 1 and 65535 (0 = no HTTP runtime)",
            ));
        }
        if !self.health_path.is_empty() && !self.health_path.starts_with('/') {
            return Err(ValidationError::new(
                "health_path",
                "product profile health_path must start with /",
            ));
        }
        if self.runtime_port == 0 && !self.health_path.is_empty() {
            return Err(ValidationError::new(
                "runtime_port",
                "a health_path needs a runtime_port",
            ));
        }
        if self.runtime_port != 0 && self.health_path.is_empty() {
            return Err(ValidationError::new(
                "health_path",
                "a runtime_port needs a health_path",
            ));
        }
        self.check_repository_ids()?;
        if self.default_branch.trim().is_empty()
            || self.default_branch.chars().any(char::is_whitespace)
        {
            return Err(ValidationError::new(
                "default_branch",
                "must be a branch name without whitespace",
            ));
        }
        self.check_lanes()?;
        self.check_historical_contexts()?;
        self.preview.validate().map_err(|e| e.within("preview"))?;
        if self.preview.enabled {
            if self.lifecycle_state != LifecycleState::Active {
                return Err(ValidationError::new(
                    "preview.enabled",
                    format!(
                        "a {} product cannot keep previews enabled",
                        self.lifecycle_state.as_str()
                    ),
                ));
            }
            if self.image.repository.trim().is_empty() {
                return Err(ValidationError::new(
                    "image.repository",
                    "required when previews are enabled",
                ));
            }
            if self.runtime_port == 0 {
                return Err(ValidationError::new(
                    "runtime_port",
                    "required when previews are enabled",
                ));
            }
        }
        self.promotion_workflow
            .validate()
            .map_err(|e| e.within("promotion_workflow"))?;
        self.expected_config
            .validate()
            .map_err(|e| e.within("expected_config"))?;
        Ok(())
    }

    fn check_repository_ids(&self) -> Result<(), ValidationError> {
        for (field, value) in [
            ("repository_id", &self.repository_id),
            ("repository_owner_id", &self.repository_owner_id),
        ] {
            if !value.is_empty() && !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ValidationError::new(field, "must be numeric"));
            }
        }
        match (
            self.repository_id.is_empty(),
            self.repository_owner_id.is_empty(),
        ) {
            (true, false) => Err(ValidationError::new(
                "repository_id",
                "repository_id and repository_owner_id are set together",
            )),
            (false, true) => Err(ValidationError::new(
                "repository_owner_id",
                "repository_id and repository_owner_id are set together",
            )),
            _ => Ok(()),
        }
    }

    fn check_lanes(&self) -> Result<(), ValidationError> {
        let mut instances = HashSet::new();
        for (index, lane) in self.lanes.iter().enumerate() {
            let at = format!("lanes[{index}]");
            lane.validate().map_err(|e| e.within(&at))?;
            if !instances.insert(lane.instance.trim().to_lowercase()) {
                return Err(ValidationError::new(
                    format!("{at}.instance"),
                    format!(
                        "lane instance `{}` is declared twice (case-insensitive)",
                        lane.instance.trim()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_historical_contexts(&self) -> Result<(), ValidationError> {
        for (index, context) in self.historical_contexts.iter().enumerate() {
            require_non_blank(context, &format!("historical_contexts[{index}]"))?;
        }
        let historical: HashSet<&str> = self.historical_contexts.iter().map(|c| c.trim()).collect();
        for (index, lane) in self.lanes.iter().enumerate() {
            if historical.contains(lane.context.trim()) {
                return Err(ValidationError::new(
                    format!("lanes[{index}].context"),
                    format!(
                        "context `{}` is a historical context and cannot be reused",
                        lane.context.trim()
                    ),
                ));
            }
        }
        let preview_context = self.preview.context.trim();
        if !preview_context.is_empty() && historical.contains(preview_context) {
            return Err(ValidationError::new(
                "preview.context",
                format!("context `{preview_context}` is a historical context and cannot be reused"),
            ));
        }
        Ok(())
    }

    /// What the original stores: `historical_contexts` trimmed and
    /// de-duplicated (first occurrence kept).
    pub fn normalize(&mut self) {
        let mut seen = HashSet::new();
        self.historical_contexts = std::mem::take(&mut self.historical_contexts)
            .into_iter()
            .map(|c| c.trim().to_string())
            .filter(|c| seen.insert(c.clone()))
            .collect();
    }

    /// The lane of `instance` (trimmed, case-insensitive: instances are
    /// unique case-insensitively).
    pub fn lane(&self, instance: &str) -> Option<&ProductLaneProfile> {
        let instance = instance.trim();
        self.lanes
            .iter()
            .find(|lane| lane.instance.trim().eq_ignore_ascii_case(instance))
    }

    /// The contexts the product currently owns: its lanes' contexts plus the
    /// preview context when previews are enabled — trimmed, de-duplicated
    /// and sorted, as the original's driver registry computes them.
    /// Historical contexts are not included.
    pub fn contexts(&self) -> Vec<String> {
        let mut contexts: BTreeSet<String> = self
            .lanes
            .iter()
            .map(|lane| lane.context.trim())
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if self.preview.enabled && !self.preview.context.trim().is_empty() {
            contexts.insert(self.preview.context.trim().to_string());
        }
        contexts.into_iter().collect()
    }

    /// The effective preview application name prefix
    /// (`app_name_prefix`, default `<product>-preview`).
    pub fn preview_app_name_prefix(&self) -> String {
        match self.preview.app_name_prefix.trim() {
            "" => format!("{}-preview", self.product.trim()),
            prefix => prefix.to_string(),
        }
    }
}

impl_validate!(
    ProductLaneProfile,
    ProductPreviewProfile,
    ProductPromotionWorkflowProfile,
    ExpectedConfig,
    ProductProfile,
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::models::fixtures::*;

    fn profile() -> ProductProfile {
        parse(product_profile())
    }

    /// The profile as stored: every field present.
    fn full() -> serde_json::Value {
        serde_json::to_value(profile()).unwrap()
    }

    #[test]
    fn profile_round_trips_and_serialises_defaults() {
        let profile = profile();
        let value = round_trip(&profile);
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["historical_contexts"], json!([]));
        assert_eq!(value["lanes"][0]["health_url"], "");
        assert_eq!(value["preview"]["enable_label"], "launchplane-preview");
        assert_eq!(value["preview"]["slug_template"], "pr-{number}");
        assert_eq!(value["preview"]["template_instance"], "testing");
        assert_eq!(value["preview"]["data_transport_mode"], "none");
        assert_eq!(value["preview"]["domain_certificate_type"], "none");
        assert_eq!(value["preview"]["override_env"], json!({}));
        assert_eq!(
            value["promotion_workflow"],
            json!({
                "workflow_id": "promote-prod.yml",
                "ref": "main",
                "dry_run_input": "dry_run",
                "bump_input": "bump",
                "artifact_id_input": "artifact_id",
                "deploy_reference_input": "deploy_reference",
                "source_git_ref_input": "source_git_ref",
                "promotion_intent_input": "promotion_intent_id",
                "default_bump": "patch"
            })
        );
        assert_eq!(value["lifecycle_state"], "active");
        assert_eq!(value["repository_id"], "");
        assert_eq!(value["default_branch"], "main");
        assert_eq!(
            value["expected_config"],
            json!({"runtime_environment_keys": [], "managed_secret_bindings": []})
        );
    }

    #[test]
    fn later_fields_are_accepted() {
        let value = product_profile();
        let value = set(value, "/lifecycle_state", json!("active"));
        let value = set(value, "/repository_id", json!(123456));
        let value = set(value, "/repository_owner_id", json!("654321"));
        let value = set(value, "/default_branch", json!("trunk"));
        let value = set(
            value,
            "/expected_config",
            json!({
                "runtime_environment_keys": [
                    {"key": "PUBLIC_BASE_URL", "context": "syo-testing", "instance": "testing"},
                    {"key": "GLOBAL"}
                ],
                "managed_secret_bindings": [
                    {"binding_key": "SMTP_PASSWORD", "context": "syo", "instance": "prod"}
                ]
            }),
        );
        let value = set(
            value,
            "/preview/domain_certificate_type",
            json!("letsencrypt"),
        );
        let profile: ProductProfile = parse(value);
        assert_eq!(profile.repository_id, "123456");
        assert_eq!(
            profile.expected_config.managed_secret_bindings[0].integration,
            "runtime_environment"
        );
        let value = round_trip(&profile);
        assert_eq!(value["repository_id"], "123456");
    }

    #[test]
    fn required_strings_must_not_be_blank() {
        for field in [
            "product",
            "display_name",
            "repository",
            "driver_id",
            "updated_at",
            "source",
        ] {
            let value = set(product_profile(), &format!("/{field}"), json!("  "));
            assert_rejected_at::<ProductProfile>(value, field);
        }
        let value = remove(product_profile(), "", "driver_id");
        assert_rejected_at::<ProductProfile>(value, "driver_id");
    }

    #[test]
    fn runtime_port_and_health_path() {
        let value = set(product_profile(), "/runtime_port", json!(65536));
        assert_rejected_at::<ProductProfile>(value, "runtime_port");
        let value = set(product_profile(), "/runtime_port", json!(-1));
        assert_rejected_at::<ProductProfile>(value, "runtime_port");
        let value = set(product_profile(), "/health_path", json!("api/health"));
        let error = reject::<ProductProfile>(value);
        assert_eq!(
            error.to_string(),
            "health_path: product profile health_path must start with /"
        );
        let value = set(product_profile(), "/health_path", json!(""));
        assert_rejected_at::<ProductProfile>(value, "health_path");
        let value = set(product_profile(), "/runtime_port", json!(0));
        assert_rejected_at::<ProductProfile>(value, "runtime_port");
        parse::<ProductProfile>(set(product_profile(), "/runtime_port", json!(65535)));

        // No HTTP runtime at all is fine when previews are off.
        let value = remove(
            remove(product_profile(), "", "runtime_port"),
            "",
            "health_path",
        );
        let value = set(value, "/preview/enabled", json!(false));
        let profile: ProductProfile = parse(value.clone());
        assert_eq!(profile.runtime_port, 0);
        let value = set(value, "/preview/enabled", json!(true));
        assert_rejected_at::<ProductProfile>(value, "runtime_port");
    }

    #[test]
    fn lanes_need_unique_non_blank_instances() {
        let value = set(product_profile(), "/lanes/1/instance", json!("Testing "));
        let error = reject::<ProductProfile>(value);
        assert_eq!(error.field, "lanes[1].instance");
        assert!(error.message.contains("twice"), "{error}");
        let value = set(product_profile(), "/lanes/0/instance", json!(""));
        assert_rejected_at::<ProductProfile>(value, "lanes[0].instance");
        let value = set(product_profile(), "/lanes/1/context", json!(" "));
        assert_rejected_at::<ProductProfile>(value, "lanes[1].context");
        let value = insert(
            product_profile(),
            "/lanes/0",
            "odoo_stable_bootstrap",
            json!({"enabled": false}),
        );
        let error = reject::<ProductProfile>(value);
        assert_eq!(error.field, "lanes[0].odoo_stable_bootstrap");
        assert!(error.message.starts_with("unknown field"), "{error}");
    }

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

    #[test]
    fn lifecycle_blocks_enabled_previews() {
        for state in ["retiring", "retired"] {
            let value = set(product_profile(), "/lifecycle_state", json!(state));
            let error = reject::<ProductProfile>(value.clone());
            assert_eq!(error.field, "preview.enabled");
            assert!(error.message.contains(state), "{error}");
            parse::<ProductProfile>(set(value, "/preview/enabled", json!(false)));
        }
        let value = set(product_profile(), "/lifecycle_state", json!("archived"));
        assert_rejected_at::<ProductProfile>(value, "lifecycle_state");
    }

    #[test]
    fn historical_contexts_rules() {
        let value = set(
            product_profile(),
            "/historical_contexts",
            json!(["old", " "]),
        );
        assert_rejected_at::<ProductProfile>(value, "historical_contexts[1]");
        let value = set(
            product_profile(),
            "/historical_contexts",
            json!(["old", " syo "]),
        );
        assert_rejected_at::<ProductProfile>(value, "lanes[1].context");
        let value = set(
            product_profile(),
            "/historical_contexts",
            json!(["syo-preview"]),
        );
        assert_rejected_at::<ProductProfile>(value, "preview.context");

        let value = set(
            product_profile(),
            "/historical_contexts",
            json!([" old ", "old", "older"]),
        );
        let mut profile: ProductProfile = parse(value);
        profile.normalize();
        assert_eq!(profile.historical_contexts, ["old", "older"]);
    }

    #[test]
    fn repository_ids_and_default_branch() {
        let value = set(product_profile(), "/repository_id", json!("123"));
        assert_rejected_at::<ProductProfile>(value.clone(), "repository_owner_id");
        let value = set(product_profile(), "/repository_owner_id", json!("123"));
        assert_rejected_at::<ProductProfile>(value, "repository_id");
        let value = set(product_profile(), "/repository_id", json!("12a"));
        let value = set(value, "/repository_owner_id", json!("1"));
        assert_rejected_at::<ProductProfile>(value, "repository_id");
        let value = set(product_profile(), "/repository_id", json!(true));
        assert_rejected_at::<ProductProfile>(value, "repository_id");

        let value = set(
            product_profile(),
            "/default_branch",
            json!("release branch"),
        );
        assert_rejected_at::<ProductProfile>(value, "default_branch");
        let value = set(product_profile(), "/default_branch", json!(""));
        assert_rejected_at::<ProductProfile>(value, "default_branch");
    }

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

    #[test]
    fn promotion_workflow_rules() {
        let value = set(full(), "/promotion_workflow/workflow_id", json!(""));
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.workflow_id");
        let value = set(full(), "/promotion_workflow/ref", json!(" "));
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.ref");
        let value = set(full(), "/promotion_workflow/bump_input", json!("dry_run"));
        let error = reject::<ProductProfile>(value);
        assert_eq!(error.field, "promotion_workflow.bump_input");
        assert!(error.message.contains("twice"), "{error}");
        let value = set(
            full(),
            "/promotion_workflow/source_git_ref_input",
            json!(""),
        );
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.source_git_ref_input");
        let value = set(full(), "/promotion_workflow/default_bump", json!("huge"));
        assert_rejected_at::<ProductProfile>(value, "promotion_workflow.default_bump");
        let value = set(full(), "/promotion_workflow/default_bump", json!("minor"));
        assert_eq!(
            parse::<ProductProfile>(value)
                .promotion_workflow
                .default_bump,
            Bump::Minor
        );
    }

    #[test]
    fn lane_lookup_and_contexts() {
        let mut profile = profile();
        assert_eq!(profile.lane("prod").unwrap().context, "syo");
        assert_eq!(profile.lane(" TESTING ").unwrap().context, "syo-testing");
        assert!(profile.lane("dev").is_none());
        assert_eq!(profile.contexts(), ["syo", "syo-preview", "syo-testing"]);
        profile.preview.enabled = false;
        assert_eq!(profile.contexts(), ["syo", "syo-testing"]);
        profile.lanes[0].context = "syo".into();
        assert_eq!(profile.contexts(), ["syo"]);
        assert_eq!(
            profile.preview_app_name_prefix(),
            "sellyouroutboard-preview"
        );
        profile.preview.app_name_prefix = "syo-pr".into();
        assert_eq!(profile.preview_app_name_prefix(), "syo-pr");
    }
}
