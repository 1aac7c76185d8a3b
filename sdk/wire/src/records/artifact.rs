//! Artifact manifests (`ArtifactIdentityManifest`, reference §6.2): what an
//! immutable image was built from.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation::{
    ValidationError, default_schema_version, require_non_blank, require_positive,
};

/// An addon repository at a ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactAddonSource {
    pub repository: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
}

/// An addon selector and what it resolved to (metadata only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactAddonSelector {
    pub repository: String,
    pub selector: String,
    pub resolved_ref: String,
}

/// What an OpenUpgrade run would take (metadata only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactOpenUpgradeInputs {
    #[serde(default)]
    pub addon_repository: String,
    #[serde(default)]
    pub install_spec: String,
}

/// The build's flags: addons skipped and named values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactBuildFlags {
    #[serde(default)]
    pub addon_skip_flags: Vec<String>,
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// The built image: repository, digest and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactImageReference {
    pub repository: String,
    pub digest: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The manifest of one built artifact, keyed by `artifact_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactIdentityManifest {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub artifact_id: String,
    pub source_commit: String,
    pub enterprise_base_digest: String,
    #[serde(default)]
    pub addon_sources: Vec<ArtifactAddonSource>,
    #[serde(default)]
    pub addon_selectors: Vec<ArtifactAddonSelector>,
    #[serde(default)]
    pub openupgrade_inputs: ArtifactOpenUpgradeInputs,
    #[serde(default)]
    pub build_flags: ArtifactBuildFlags,
    pub image: ArtifactImageReference,
    /// Modules a target replacement installs besides the required ones (a
    /// later addition of the original's manifest; absent in older ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub odoo_install_modules: Vec<String>,
}

impl ArtifactIdentityManifest {
    /// `schema_version ≥ 1` and a non-blank `artifact_id` (its primary key;
    /// the original checks only the field types).
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_non_blank(&self.artifact_id, "artifact_id")
    }

    /// The deployable image reference `<image.repository>@<image.digest>`.
    pub fn image_reference(&self) -> String {
        format!("{}@{}", self.image.repository, self.image.digest)
    }
}

crate::impl_validate!(ArtifactIdentityManifest);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::*;

    #[test]
    fn manifest_round_trips_with_defaults() {
        let manifest: ArtifactIdentityManifest = parse(artifact_manifest());
        assert_eq!(manifest.addon_sources[0].git_ref, "abcdef1234567");
        let value = round_trip(&manifest);
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["addon_sources"][0]["ref"], "abcdef1234567");
        assert_eq!(
            value["openupgrade_inputs"],
            json!({"addon_repository": "", "install_spec": ""})
        );
        assert_eq!(
            value["build_flags"],
            json!({"addon_skip_flags": [], "values": {}})
        );
        assert_eq!(manifest.image_reference(), "ghcr.io/acme/cm@sha256:aaaa");
        assert!(value.get("odoo_install_modules").is_none());
    }

    #[test]
    fn install_modules_are_kept_when_given() {
        let value = insert(
            artifact_manifest(),
            "",
            "odoo_install_modules",
            json!(["sale", "stock"]),
        );
        let manifest: ArtifactIdentityManifest = parse(value);
        assert_eq!(manifest.odoo_install_modules, ["sale", "stock"]);
        assert_eq!(
            round_trip(&manifest)["odoo_install_modules"],
            json!(["sale", "stock"])
        );
    }

    #[test]
    fn artifact_id_must_not_be_blank() {
        let value = set(artifact_manifest(), "/artifact_id", json!(" "));
        assert_rejected_at::<ArtifactIdentityManifest>(value, "artifact_id");
        let value = set(artifact_manifest(), "/schema_version", json!(0));
        assert_rejected_at::<ArtifactIdentityManifest>(value, "schema_version");
    }

    #[test]
    fn unknown_nested_fields_are_refused() {
        let value = insert(artifact_manifest(), "/image", "platform", json!("amd64"));
        assert_rejected_at::<ArtifactIdentityManifest>(value, "image.platform");
        let value = insert(
            artifact_manifest(),
            "/addon_sources/1",
            "branch",
            json!("main"),
        );
        assert_rejected_at::<ArtifactIdentityManifest>(value, "addon_sources[1].branch");
        let value = remove(artifact_manifest(), "/image", "digest");
        assert_rejected_at::<ArtifactIdentityManifest>(value, "image.digest");
    }
}
