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
//! A lane's other fields (the original's Odoo bootstrap / prelaunch
//! policies, say) are lane policies its driver declares: kept opaque here,
//! validated by the host against the driver's schema (see
//! [`ProductLaneProfile`]). Fields no driver declares are refused.
//!
//! One noun per module: the profile itself here, its [`preview`] contract,
//! its [`promotion_workflow`] and its [`expected_config`]; every type is
//! re-exported here.

mod expected_config;
mod preview;
mod promotion_workflow;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

pub use expected_config::{
    ExpectedConfig, ExpectedManagedSecretBinding, ExpectedRuntimeEnvironmentKey,
};
pub use preview::{DataTransportMode, DomainCertificateType, ProductPreviewProfile};
pub use promotion_workflow::{Bump, ProductPromotionWorkflowProfile};

use crate::validation::{
    ValidationError, default_schema_version, require_all_non_blank, require_non_blank,
    require_positive,
};

/// The product's image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductImageProfile {
    /// The image repository; may be blank unless previews are enabled.
    pub repository: String,
}

/// One stable lane of a product (`instance` in `context`).
///
/// Any other field is a lane policy (`policies`): a field the product's
/// driver declares in its descriptor with a JSON Schema. The host refuses a
/// field no driver of the product declares, validates the value against the
/// declared schema when the profile is written, and keeps it as given; only
/// the driver reads its meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductLaneProfile {
    pub instance: String,
    pub context: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub health_url: String,
    /// Driver-declared lane policies, by field name.
    #[serde(flatten)]
    pub policies: BTreeMap<String, serde_json::Value>,
}

impl ProductLaneProfile {
    /// `instance` and `context` non-blank.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_all_non_blank(&[("instance", &self.instance), ("context", &self.context)])
    }
}

/// `active | retiring | retired` [L].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleState {
    #[default]
    Active,
    Retiring,
    Retired,
}

impl LifecycleState {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            LifecycleState::Active => "active",
            LifecycleState::Retiring => "retiring",
            LifecycleState::Retired => "retired",
        }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// An empty profile: every required string blank (so not valid), every
/// optional field at its serde default. What a driver works with when a
/// product has no stored profile.
impl Default for ProductProfile {
    fn default() -> Self {
        ProductProfile {
            schema_version: default_schema_version(),
            product: String::new(),
            display_name: String::new(),
            repository: String::new(),
            driver_id: String::new(),
            image: ProductImageProfile::default(),
            runtime_port: 0,
            health_path: String::new(),
            lanes: Vec::new(),
            historical_contexts: Vec::new(),
            preview: ProductPreviewProfile::default(),
            promotion_workflow: ProductPromotionWorkflowProfile::default(),
            updated_at: String::new(),
            source: String::new(),
            lifecycle_state: LifecycleState::default(),
            repository_id: String::new(),
            repository_owner_id: String::new(),
            default_branch: default_branch(),
            expected_config: ExpectedConfig::default(),
        }
    }
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

crate::impl_validate!(ProductLaneProfile, ProductProfile);

/// The profile fixture of the tests, parsed and as stored.
#[cfg(test)]
mod profiles {
    use super::ProductProfile;
    use crate::fixtures::*;

    pub fn profile() -> ProductProfile {
        parse(product_profile())
    }

    /// The profile as stored: every field present.
    pub fn full() -> serde_json::Value {
        serde_json::to_value(profile()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::profiles::*;
    use super::*;
    use crate::fixtures::*;

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
        // Other lane fields are kept as lane policies, for the host to
        // check against the product driver's declared schemas.
        let profile: ProductProfile = parse(value);
        assert_eq!(
            profile.lanes[0].policies.get("odoo_stable_bootstrap"),
            Some(&json!({"enabled": false}))
        );
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
    fn the_default_profile_is_empty_with_serde_defaults() {
        let empty = ProductProfile::default();
        assert_eq!(empty.schema_version, 1);
        assert_eq!(empty.default_branch, "main");
        assert_eq!(empty.preview, ProductPreviewProfile::default());
        assert!(empty.lanes.is_empty());
        assert_eq!(empty.validate().unwrap_err().field, "product");
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
