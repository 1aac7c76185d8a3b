//! Artifact publish: product CI builds the image, Launchplane keeps the
//! immutable manifest that later deploys and promotions must name.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

use super::{PassFail, schema_version, testing};
use crate::checks::NON_BLANK;

/// `inputs`: the build settings CI needs, without exposing anything else of
/// the lane's runtime environment.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPublishInputsRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// `testing` or `prod`, lower-cased.
    #[serde(default = "testing")]
    pub instance: String,
}

/// Build settings for CI, resolved from Launchplane's records.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPublishInputsResult {
    pub context: String,
    pub instance: String,
    /// Only the non-empty build-scoped keys (`ODOO_VERSION`,
    /// `ODOO_BASE_RUNTIME_IMAGE`, ...).
    pub environment: BTreeMap<String, String>,
}

/// An addon repository pinned at the commit the image was built from.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AddonSource {
    pub repository: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
}

/// How an addon ref was chosen, kept for provenance only.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AddonSelector {
    pub repository: String,
    pub selector: String,
    pub resolved_ref: String,
}

/// Upgrade tooling baked into the image, if any.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct OpenUpgradeInputs {
    #[serde(default)]
    pub addon_repository: String,
    #[serde(default)]
    pub install_spec: String,
}

/// Build switches, recorded so the build can be repeated.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct BuildFlags {
    #[serde(default)]
    pub addon_skip_flags: Vec<String>,
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// The deployable image is `<repository>@<digest>`: tags are informative only.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ImageReference {
    pub repository: String,
    pub digest: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `ArtifactIdentityManifest`: everything that went into one image, so a
/// release can be reproduced and its sources minted into a release tuple.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ArtifactManifest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    /// `artifact-<context>-...`.
    pub artifact_id: String,
    pub source_commit: String,
    pub enterprise_base_digest: String,
    #[serde(default)]
    pub addon_sources: Vec<AddonSource>,
    #[serde(default)]
    pub addon_selectors: Vec<AddonSelector>,
    #[serde(default)]
    pub openupgrade_inputs: OpenUpgradeInputs,
    #[serde(default)]
    pub build_flags: BuildFlags,
    pub image: ImageReference,
    /// Modules a target replacement installs besides the required ones.
    #[serde(default)]
    pub odoo_install_modules: Vec<String>,
}

/// `publish`: record the manifest of an image CI just built.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPublishRequest {
    #[serde(default = "schema_version")]
    #[schemars(range(min = 1))]
    pub schema_version: u32,
    #[schemars(pattern(NON_BLANK))]
    pub context: String,
    /// `testing` or `prod`, lower-cased.
    #[serde(default = "testing")]
    pub instance: String,
    pub manifest: ArtifactManifest,
}

/// What was recorded, named from the manifest.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPublishResult {
    pub status: PassFail,
    pub context: String,
    pub instance: String,
    pub artifact_id: String,
    pub image_repository: String,
    pub image_digest: String,
    pub source_commit: String,
    pub output_file: String,
    pub error_message: String,
}
