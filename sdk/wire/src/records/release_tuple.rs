//! Release tuples (`ReleaseTupleRecord`, reference §6.3): the exact source
//! revisions an artifact on a stable channel was built from, minted on ship
//! and copied on promotion (§8 rules 3–4).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::artifact::ArtifactIdentityManifest;
use super::promotion::PromotionRecord;
use crate::validation::{
    ValidationError, default_schema_version, require_all_non_blank, require_positive,
};

/// The only channels release tuples exist for.
pub const STABLE_CHANNELS: [&str; 2] = ["testing", "prod"];

/// Whether `channel` (trimmed) is a stable remote channel.
pub fn is_stable_channel(channel: &str) -> bool {
    STABLE_CHANNELS.contains(&channel.trim())
}

/// `^[0-9a-fA-F]{7,40}$`.
pub fn is_git_sha(value: &str) -> bool {
    (7..=40).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `<context>-<channel>-<artifact_id>`.
pub fn tuple_id(context: &str, channel: &str, artifact_id: &str) -> String {
    format!("{context}-{channel}-{artifact_id}")
}

/// How a tuple came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseTupleProvenance {
    Ship,
    Promotion,
}

/// The tuple of a stable channel, keyed by `<context>-<channel>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseTupleRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub tuple_id: String,
    pub context: String,
    pub channel: String,
    pub artifact_id: String,
    pub repo_shas: BTreeMap<String, String>,
    #[serde(default)]
    pub image_repository: String,
    #[serde(default)]
    pub image_digest: String,
    #[serde(default)]
    pub deployment_record_id: String,
    #[serde(default)]
    pub promotion_record_id: String,
    #[serde(default)]
    pub promoted_from_channel: String,
    pub provenance: ReleaseTupleProvenance,
    pub minted_at: String,
}

fn channel_error(field: &str, channel: &str) -> ValidationError {
    ValidationError::new(
        field,
        format!(
            "release tuples only support stable remote channels prod, testing; got `{}`. \
             Use Launchplane preview records for preview/dev runtime instead of minting or \
             tracking release tuples there",
            channel.trim()
        ),
    )
}

impl ReleaseTupleRecord {
    /// `tuple_id`, `context`, `channel`, `artifact_id`, `minted_at`
    /// non-blank; `channel` ∈ {testing, prod}; ≥ 1 `repo_shas` entry, every
    /// key non-blank and every sha (trimmed) matching `^[0-9a-fA-F]{7,40}$`;
    /// `provenance = promotion` needs `promoted_from_channel`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        require_positive(self.schema_version.into(), "schema_version")?;
        require_all_non_blank(&[
            ("tuple_id", &self.tuple_id),
            ("context", &self.context),
            ("channel", &self.channel),
            ("artifact_id", &self.artifact_id),
            ("minted_at", &self.minted_at),
        ])?;
        if !is_stable_channel(&self.channel) {
            return Err(channel_error("channel", &self.channel));
        }
        if self.repo_shas.is_empty() {
            return Err(ValidationError::new(
                "repo_shas",
                "release tuple record requires at least one repo sha",
            ));
        }
        for (repo, sha) in &self.repo_shas {
            if repo.trim().is_empty() {
                return Err(ValidationError::new(
                    "repo_shas",
                    "release tuple repo_shas keys must be non-empty",
                ));
            }
            if !is_git_sha(sha.trim()) {
                return Err(ValidationError::new(
                    format!("repo_shas.{}", repo.trim()),
                    "must be a 7-40 character hexadecimal git sha",
                ));
            }
        }
        if self.provenance == ReleaseTupleProvenance::Promotion
            && self.promoted_from_channel.trim().is_empty()
        {
            return Err(ValidationError::new(
                "promoted_from_channel",
                "promoted release tuple records require promoted_from_channel",
            ));
        }
        Ok(())
    }

    /// Trims the fields the original stores trimmed (`tuple_id`, `context`,
    /// `channel`, `artifact_id`, `minted_at`, every `repo_shas` key and
    /// value).
    pub fn normalize(&mut self) {
        for value in [
            &mut self.tuple_id,
            &mut self.context,
            &mut self.channel,
            &mut self.artifact_id,
            &mut self.minted_at,
        ] {
            *value = value.trim().to_string();
        }
        self.repo_shas = std::mem::take(&mut self.repo_shas)
            .into_iter()
            .map(|(repo, sha)| (repo.trim().to_string(), sha.trim().to_string()))
            .collect();
    }
}

/// Reference §8 rule 3 (`release-tuples write-from-promotion`): the tuple of
/// the promotion's destination channel, copied from the source channel's
/// tuple. Refused unless both instances are stable channels, the promotion
/// links a deployment, carries an artifact id, and `source` is the current
/// tuple of `<context>/<from_instance>` for that same artifact. Errors name
/// promotion fields.
pub fn mint_from_promotion(
    source: &ReleaseTupleRecord,
    promotion: &PromotionRecord,
    minted_at: &str,
) -> Result<ReleaseTupleRecord, ValidationError> {
    for (field, channel) in [
        ("from_instance", &promotion.from_instance),
        ("to_instance", &promotion.to_instance),
    ] {
        if !is_stable_channel(channel) {
            return Err(channel_error(field, channel));
        }
    }
    let Some(deployment_record_id) = promotion.linked_deployment_id() else {
        return Err(ValidationError::new(
            "deployment_record_id",
            "promotion record is missing deployment_record_id; write a promotion record with \
             explicit deployment linkage before minting a promoted release tuple",
        ));
    };
    let artifact_id = promotion.artifact_identity.artifact_id.as_str();
    if artifact_id.trim().is_empty() {
        return Err(ValidationError::new(
            "artifact_identity.artifact_id",
            "promotion record is missing artifact_identity.artifact_id required for release \
             tuple promotion",
        ));
    }
    if source.context != promotion.context || source.channel != promotion.from_instance {
        return Err(ValidationError::new(
            "from_instance",
            format!(
                "promotion source release tuple does not match the requested source lane: \
                 tuple={}/{} request={}/{}",
                source.context, source.channel, promotion.context, promotion.from_instance
            ),
        ));
    }
    if source.artifact_id != artifact_id {
        return Err(ValidationError::new(
            "artifact_identity.artifact_id",
            format!(
                "promotion requires the source lane release tuple to match the requested \
                 artifact: tuple artifact={} request artifact={artifact_id}",
                source.artifact_id
            ),
        ));
    }
    let channel = promotion.to_instance.trim().to_string();
    let mut record = ReleaseTupleRecord {
        schema_version: 1,
        tuple_id: tuple_id(&source.context, &channel, &source.artifact_id),
        context: source.context.clone(),
        channel,
        artifact_id: source.artifact_id.clone(),
        repo_shas: source.repo_shas.clone(),
        image_repository: source.image_repository.clone(),
        image_digest: source.image_digest.clone(),
        deployment_record_id: deployment_record_id.to_string(),
        promotion_record_id: promotion.record_id.clone(),
        promoted_from_channel: source.channel.clone(),
        provenance: ReleaseTupleProvenance::Promotion,
        minted_at: minted_at.to_string(),
    };
    record.normalize();
    record.validate()?;
    Ok(record)
}

/// The repo name of an addon source: last path segment of the repository,
/// without `.git` and without an `odoo-` prefix.
fn addon_repo_name(repository: &str) -> &str {
    let trimmed = repository.trim();
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    name.strip_prefix("odoo-").unwrap_or(name)
}

/// Reference §6.3: `{"tenant-<context>": source_commit}` plus one entry per
/// addon source (repo name → ref). Every value must be a commit sha (branch
/// names are refused); two refs for the same repo name are refused.
/// Selectors are metadata and ignored.
pub fn repo_shas_from_manifest(
    context: &str,
    manifest: &ArtifactIdentityManifest,
) -> Result<BTreeMap<String, String>, ValidationError> {
    let mut repo_shas = BTreeMap::new();
    let source_commit = manifest.source_commit.trim();
    if !is_git_sha(source_commit) {
        return Err(ValidationError::new(
            "source_commit",
            "must be a 7-40 character hexadecimal git sha before it can mint a release tuple",
        ));
    }
    repo_shas.insert(
        format!("tenant-{}", context.trim()),
        source_commit.to_string(),
    );
    for (index, source) in manifest.addon_sources.iter().enumerate() {
        let name = addon_repo_name(&source.repository);
        if name.is_empty() {
            return Err(ValidationError::new(
                format!("addon_sources[{index}].repository"),
                "artifact manifest addon source requires a repository name",
            ));
        }
        let sha = source.git_ref.trim();
        if !is_git_sha(sha) {
            return Err(ValidationError::new(
                format!("addon_sources[{index}].ref"),
                "must be a 7-40 character hexadecimal git sha before it can mint a release tuple",
            ));
        }
        if let Some(previous) = repo_shas.get(name)
            && previous != sha
        {
            return Err(ValidationError::new(
                format!("addon_sources[{index}].ref"),
                format!(
                    "artifact manifest cannot mint a release tuple because it has conflicting \
                     refs for repo {name}: {previous} and {sha}"
                ),
            ));
        }
        repo_shas.insert(name.to_string(), sha.to_string());
    }
    Ok(repo_shas)
}

/// Reference §6.3/§8 rule 4: the `ship` tuple of a stable channel minted from
/// the artifact manifest that was deployed there. Errors name manifest
/// fields, or `channel`.
pub fn mint_from_manifest(
    context: &str,
    channel: &str,
    manifest: &ArtifactIdentityManifest,
    deployment_record_id: &str,
    minted_at: &str,
) -> Result<ReleaseTupleRecord, ValidationError> {
    if !is_stable_channel(channel) {
        return Err(channel_error("channel", channel));
    }
    let channel = channel.trim().to_string();
    let mut record = ReleaseTupleRecord {
        schema_version: 1,
        tuple_id: tuple_id(context, &channel, &manifest.artifact_id),
        context: context.to_string(),
        channel,
        artifact_id: manifest.artifact_id.clone(),
        repo_shas: repo_shas_from_manifest(context, manifest)?,
        image_repository: manifest.image.repository.clone(),
        image_digest: manifest.image.digest.clone(),
        deployment_record_id: deployment_record_id.to_string(),
        promotion_record_id: String::new(),
        promoted_from_channel: String::new(),
        provenance: ReleaseTupleProvenance::Ship,
        minted_at: minted_at.to_string(),
    };
    record.normalize();
    record.validate()?;
    Ok(record)
}

crate::impl_validate!(ReleaseTupleRecord);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::*;

    fn source() -> ReleaseTupleRecord {
        parse(release_tuple())
    }

    fn promotion() -> PromotionRecord {
        parse(promotion_full())
    }

    #[test]
    fn tuple_id_format() {
        assert_eq!(
            tuple_id("cm", "prod", "artifact-cm-0123456"),
            "cm-prod-artifact-cm-0123456"
        );
    }

    #[test]
    fn git_sha_pattern() {
        assert!(is_git_sha("abcdef1"));
        assert!(is_git_sha("ABCDEF0123456789abcdef0123456789abcdef01"));
        assert!(!is_git_sha("abcdef"));
        assert!(!is_git_sha("0123456789abcdef0123456789abcdef012345678"));
        assert!(!is_git_sha("main"));
        assert!(!is_git_sha("abcdefg"));
        assert!(!is_git_sha(""));
    }

    #[test]
    fn record_round_trips_with_defaults() {
        let record = source();
        let value = round_trip(&record);
        assert_eq!(value["promotion_record_id"], "");
        assert_eq!(value["promoted_from_channel"], "");
        assert_eq!(value["schema_version"], 1);
        let value = remove(release_tuple(), "", "image_repository");
        let record: ReleaseTupleRecord = parse(value);
        assert_eq!(round_trip(&record)["image_repository"], "");
    }

    #[test]
    fn required_strings_must_not_be_blank() {
        for field in ["tuple_id", "context", "channel", "artifact_id", "minted_at"] {
            let value = set(release_tuple(), &format!("/{field}"), json!(""));
            assert_rejected_at::<ReleaseTupleRecord>(value, field);
        }
    }

    #[test]
    fn only_stable_channels() {
        for channel in ["dev", "preview", "staging", "Prod"] {
            let value = set(release_tuple(), "/channel", json!(channel));
            let error = reject::<ReleaseTupleRecord>(value);
            assert_eq!(error.field, "channel");
            assert!(error.message.contains("preview records"), "{error}");
        }
        parse::<ReleaseTupleRecord>(set(release_tuple(), "/channel", json!("prod")));
    }

    #[test]
    fn repo_shas_rules() {
        let value = set(release_tuple(), "/repo_shas", json!({}));
        assert_rejected_at::<ReleaseTupleRecord>(value, "repo_shas");
        let value = set(release_tuple(), "/repo_shas", json!({" ": "abcdef1"}));
        assert_rejected_at::<ReleaseTupleRecord>(value, "repo_shas");
        let value = set(release_tuple(), "/repo_shas/shared-addons", json!("main"));
        let error = reject::<ReleaseTupleRecord>(value);
        assert_eq!(error.field, "repo_shas.shared-addons");
        assert!(error.message.contains("7-40"), "{error}");
        let value = remove(release_tuple(), "", "repo_shas");
        assert_rejected_at::<ReleaseTupleRecord>(value, "repo_shas");
    }

    #[test]
    fn promotion_provenance_needs_promoted_from_channel() {
        let value = set(release_tuple(), "/provenance", json!("promotion"));
        assert_rejected_at::<ReleaseTupleRecord>(value.clone(), "promoted_from_channel");
        parse::<ReleaseTupleRecord>(set(value, "/promoted_from_channel", json!("testing")));
        let value = set(release_tuple(), "/provenance", json!("manual"));
        assert_rejected_at::<ReleaseTupleRecord>(value, "provenance");
    }

    #[test]
    fn normalize_trims() {
        let mut record = source();
        record.channel = " testing ".into();
        record
            .repo_shas
            .insert(" extra ".into(), " 1234567 ".into());
        record.normalize();
        assert_eq!(record.channel, "testing");
        assert_eq!(record.repo_shas["extra"], "1234567");
    }

    #[test]
    fn mint_from_promotion_copies_the_source_tuple() {
        let source = source();
        let promotion = promotion();
        let minted = mint_from_promotion(&source, &promotion, "2026-04-29T21:00:00Z").unwrap();
        assert_eq!(minted.tuple_id, "cm-prod-artifact-cm-0123456");
        assert_eq!(minted.context, "cm");
        assert_eq!(minted.channel, "prod");
        assert_eq!(minted.artifact_id, source.artifact_id);
        assert_eq!(minted.repo_shas, source.repo_shas);
        assert_eq!(minted.image_repository, source.image_repository);
        assert_eq!(minted.image_digest, source.image_digest);
        assert_eq!(
            minted.deployment_record_id,
            "deployment-20260429T200000Z-cm-prod"
        );
        assert_eq!(minted.promotion_record_id, promotion.record_id);
        assert_eq!(minted.promoted_from_channel, "testing");
        assert_eq!(minted.provenance, ReleaseTupleProvenance::Promotion);
        assert_eq!(minted.minted_at, "2026-04-29T21:00:00Z");
        minted.validate().unwrap();
        round_trip(&minted);
    }

    #[test]
    fn mint_from_promotion_refusals() {
        let source = source();

        let mut p = promotion();
        p.from_instance = "dev".into();
        let e = mint_from_promotion(&source, &p, "t").unwrap_err();
        assert_eq!(e.field, "from_instance");

        let mut p = promotion();
        p.to_instance = "preview".into();
        let e = mint_from_promotion(&source, &p, "t").unwrap_err();
        assert_eq!(e.field, "to_instance");

        let mut p = promotion();
        p.deployment_record_id = "".into();
        let e = mint_from_promotion(&source, &p, "t").unwrap_err();
        assert_eq!(e.field, "deployment_record_id");

        let mut p = promotion();
        p.artifact_identity.artifact_id = " ".into();
        let e = mint_from_promotion(&source, &p, "t").unwrap_err();
        assert_eq!(e.field, "artifact_identity.artifact_id");

        let mut p = promotion();
        p.artifact_identity.artifact_id = "artifact-cm-other".into();
        let e = mint_from_promotion(&source, &p, "t").unwrap_err();
        assert_eq!(e.field, "artifact_identity.artifact_id");
        assert!(e.message.contains("artifact-cm-other"), "{e}");

        let mut wrong_channel = source.clone();
        wrong_channel.channel = "prod".into();
        let e = mint_from_promotion(&wrong_channel, &promotion(), "t").unwrap_err();
        assert_eq!(e.field, "from_instance");

        let mut wrong_context = source.clone();
        wrong_context.context = "opw".into();
        let e = mint_from_promotion(&wrong_context, &promotion(), "t").unwrap_err();
        assert_eq!(e.field, "from_instance");

        let e = mint_from_promotion(&source, &promotion(), " ").unwrap_err();
        assert_eq!(e.field, "minted_at");
    }

    #[test]
    fn repo_shas_from_manifest_maps_addon_repos() {
        let manifest: ArtifactIdentityManifest = parse(artifact_manifest());
        let shas = repo_shas_from_manifest("cm", &manifest).unwrap();
        assert_eq!(
            shas,
            BTreeMap::from([
                (
                    "tenant-cm".to_string(),
                    "0123456789abcdef0123456789abcdef01234567".to_string()
                ),
                ("shared-addons".to_string(), "abcdef1234567".to_string()),
                ("tools".to_string(), "1234567".to_string()),
            ])
        );
    }

    #[test]
    fn repo_shas_from_manifest_refusals() {
        let value = set(artifact_manifest(), "/addon_sources/1/ref", json!("main"));
        let manifest: ArtifactIdentityManifest = parse(value);
        let e = repo_shas_from_manifest("cm", &manifest).unwrap_err();
        assert_eq!(e.field, "addon_sources[1].ref");

        let value = set(artifact_manifest(), "/source_commit", json!("release-1"));
        let manifest: ArtifactIdentityManifest = parse(value);
        let e = repo_shas_from_manifest("cm", &manifest).unwrap_err();
        assert_eq!(e.field, "source_commit");

        let value = set(
            artifact_manifest(),
            "/addon_sources/1/repository",
            json!("git@github.com:acme/odoo-shared-addons.git"),
        );
        let manifest: ArtifactIdentityManifest = parse(value);
        let e = repo_shas_from_manifest("cm", &manifest).unwrap_err();
        assert_eq!(e.field, "addon_sources[1].ref");
        assert!(e.message.contains("conflicting refs"), "{e}");

        let value = set(
            artifact_manifest(),
            "/addon_sources/1/repository",
            json!("acme/"),
        );
        let manifest: ArtifactIdentityManifest = parse(value);
        let e = repo_shas_from_manifest("cm", &manifest).unwrap_err();
        assert_eq!(e.field, "addon_sources[1].repository");
    }

    #[test]
    fn mint_from_manifest_makes_ship_tuples_for_stable_channels() {
        let manifest: ArtifactIdentityManifest = parse(artifact_manifest());
        let tuple = mint_from_manifest("cm", "testing", &manifest, "deployment-1", "t").unwrap();
        assert_eq!(tuple.tuple_id, "cm-testing-artifact-cm-0123456");
        assert_eq!(tuple.provenance, ReleaseTupleProvenance::Ship);
        assert_eq!(tuple.image_repository, "ghcr.io/acme/cm");
        assert_eq!(tuple.image_digest, "sha256:aaaa");
        assert_eq!(tuple.deployment_record_id, "deployment-1");
        assert_eq!(tuple.repo_shas.len(), 3);
        let e = mint_from_manifest("cm", "dev", &manifest, "deployment-1", "t").unwrap_err();
        assert_eq!(e.field, "channel");
    }
}
