//! Issue-backed prelaunch policies (seed 003): the lane fields that allow a
//! destructive rebuild of an Odoo lane before it launches, and the proof
//! `stable-bootstrap` and `target-replacement-*` make before anything runs.
//!
//! A lane's name is no authority: `prod` may be rebuilt while it is not
//! live yet, and `testing` may not be rebuilt without a policy. The
//! authority is the lane's policy in the product profile, linked to the
//! approval issue:
//!
//! * `odoo_stable_bootstrap`: `stable-bootstrap` may empty the lane's data
//!   and bootstrap it (`data_source_mode` `empty`).
//! * `odoo_prelaunch_rebuild`: `target-replacement-apply` may recreate the
//!   lane's target, with data `empty` or restored from upstream
//!   (`upstream_restore`).
//!
//! The host validates both against the schemas declared here ([`schemas`])
//! and shows enabled ones as `prelaunch` in read models; this module reads
//! them. The proof ([`prove`]) runs at request time (hook
//! `admit-operation`, before the operation is enqueued) and again when the
//! operation runs (hook `adapt-request`), and refuses with the rule broken:
//! policy present and enabled, approval issue, strategy, confirmation,
//! expected target name and domains equal to the lane's target, an artifact
//! with a source ref. Retiring a policy at launch is removing it (or
//! `enabled: false`) from the profile.

use launchplane_sdk::prelude::*;
use lifecycle_records::{
    self as records, ArtifactIdentityManifest, EnvironmentInventory, ReleaseTupleRecord,
};

use crate::checks::{invalid, normalized};
use crate::models::DataSourceMode;

/// The lane policy of `stable-bootstrap`.
pub const STABLE_BOOTSTRAP: &str = "odoo_stable_bootstrap";
/// The lane policy of `target-replacement-*` with a data source other than
/// the existing data.
pub const PRELAUNCH_REBUILD: &str = "odoo_prelaunch_rebuild";
/// How read models show a lane whose policy is enabled.
pub const LANE_STATUS: &str = "prelaunch";

/// The JSON Schema of a policy: the original's fields, defaults and enums
/// (reference §6.8); enabled needs the approval issue, the confirmation,
/// the target name and at least one domain.
pub fn schema(modes: &[&str], bootstrap: bool) -> Value {
    let mut properties = json!({
        "enabled": {"type": "boolean", "default": false},
        "approval_issue_url": {"type": "string", "default": ""},
        "data_source_mode": {"type": "string", "enum": modes, "default": "empty"},
        "confirmation": {"type": "string", "default": ""},
        "expected_target_name": {"type": "string", "default": ""},
        "expected_domains": {"type": "array", "items": {"type": "string"}, "default": []},
    });
    if bootstrap {
        for key in [
            "require_health_verification",
            "require_canonical_verification",
            "require_logo_verification",
        ] {
            properties[key] = json!({"type": "boolean", "default": true});
        }
    }
    let filled = json!({"type": "string", "pattern": "\\S"});
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
        "if": {"properties": {"enabled": {"const": true}}, "required": ["enabled"]},
        "then": {
            "required": ["approval_issue_url", "confirmation", "expected_target_name", "expected_domains"],
            "properties": {
                "approval_issue_url": filled,
                "confirmation": filled,
                "expected_target_name": filled,
                "expected_domains": {"type": "array", "minItems": 1},
            },
        },
    })
}

/// A lane policy as this driver reads it.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Policy {
    pub enabled: bool,
    pub approval_issue_url: String,
    pub data_source_mode: String,
    pub confirmation: String,
    pub expected_target_name: String,
    pub expected_domains: Vec<String>,
    /// Bootstrap policies only (§6.8): the checks a request may not turn
    /// off, each required unless the policy says otherwise.
    #[serde(default = "required")]
    pub require_health_verification: bool,
    #[serde(default = "required")]
    pub require_canonical_verification: bool,
    #[serde(default = "required")]
    pub require_logo_verification: bool,
}

fn required() -> bool {
    true
}

/// What a destructive lane action asks for.
pub struct Ask<'a> {
    /// The lane policy that must allow it.
    pub policy: &'static str,
    pub context: &'a str,
    pub instance: &'a str,
    pub confirmation: &'a str,
    /// The data source asked for (`empty`, `upstream_restore`); `None` when
    /// the existing data is kept.
    pub mode: Option<&'static str>,
    /// An explicit artifact (with its source ref), else the lane's own.
    pub artifact: Option<(&'a str, &'a str)>,
    pub expected_current_artifact_id: &'a str,
}

/// What the proof established.
#[derive(Debug, Clone)]
pub struct Proof {
    pub policy: Policy,
    pub target: Target,
    pub artifact_id: String,
    pub source_git_ref: String,
}

/// The refusal naming `rule`.
pub(crate) fn refuse(rule: &str, message: impl std::fmt::Display) -> DriverError {
    DriverError::InvalidRequest(format!("Rule `{rule}` refused the request: {message}."))
}

/// The request's data source as a policy mode.
pub fn mode_name(mode: DataSourceMode) -> Option<&'static str> {
    match mode {
        DataSourceMode::Existing => None,
        DataSourceMode::Empty => Some("empty"),
        DataSourceMode::UpstreamRestore => Some("upstream_restore"),
    }
}

/// A domain as policies compare them: lower-case, no scheme, no trailing
/// `/`.
pub fn domain(text: &str) -> String {
    let lower = text.trim().to_ascii_lowercase();
    let bare = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    bare.trim_end_matches('/').to_string()
}

/// The lane's `policy` field from the product profile; `None` when the
/// product has no profile, the lane is not in it or carries no such policy.
pub fn lane_policy(
    ctx: &Ctx<'_>,
    instance: &str,
    policy: &str,
) -> Result<Option<Policy>, DriverError> {
    let Some(profile) = ctx.host().record_get("product_profile", ctx.product())? else {
        return Ok(None);
    };
    let lanes = profile["lanes"].as_array().cloned().unwrap_or_default();
    let Some(value) = lanes
        .iter()
        .find(|lane| lane["instance"].as_str().map(normalized).as_deref() == Some(instance))
        .and_then(|lane| lane.get(policy))
    else {
        return Ok(None);
    };
    serde_json::from_value(value.clone())
        .map(Some)
        .map_err(|e| refuse(policy, format_args!("the lane's policy does not read: {e}")))
}

/// The whole proof, in the original's order; the first broken rule
/// refuses.
pub fn prove(ctx: &Ctx<'_>, ask: &Ask<'_>) -> Result<Proof, DriverError> {
    let (name, lane) = (ask.policy, format!("{}/{}", ask.context, ask.instance));
    let policy = lane_policy(ctx, ask.instance, name)?
        .filter(|p| p.enabled)
        .ok_or_else(|| {
            refuse(
                &format!("{name}.enabled"),
                format_args!(
                    "lane {lane} has no enabled `{name}` policy; a lane's name is no authority, \
                     only an issue-backed policy in the product profile is"
                ),
            )
        })?;
    if policy.approval_issue_url.trim().is_empty() {
        return Err(refuse(
            &format!("{name}.approval_issue_url"),
            format_args!("the {lane} policy names no approval issue"),
        ));
    }
    if let Some(mode) = ask.mode
        && policy.data_source_mode.trim() != mode
    {
        return Err(refuse(
            &format!("{name}.data_source_mode"),
            format_args!(
                "lane {lane} allows `{}`, not `{mode}`",
                policy.data_source_mode.trim()
            ),
        ));
    }
    let phrase = normalized(&policy.confirmation);
    if phrase.is_empty() || normalized(ask.confirmation) != phrase {
        return Err(refuse(
            &format!("{name}.confirmation"),
            "the confirmation does not match the lane policy's phrase",
        ));
    }
    let target = check_target(ctx, ask, &policy)?;
    let (artifact_id, source_git_ref) = artifact(ctx, ask)?;
    Ok(Proof {
        policy,
        target,
        artifact_id,
        source_git_ref,
    })
}

/// The lane's target, as the host resolves it, must be the one the policy
/// expects: its name, and its domains (all of them for a bootstrap, at
/// least the expected ones for a rebuild).
fn check_target(ctx: &Ctx<'_>, ask: &Ask<'_>, policy: &Policy) -> Result<Target, DriverError> {
    let name = ask.policy;
    let target = ctx
        .host()
        .resolve_target(ask.context, ask.instance)
        .map_err(|e| {
            refuse(
                &format!("{name}.expected_target_name"),
                format_args!("the lane's target cannot be read: {}", e.message()),
            )
        })?;
    if target.target_name.trim() != policy.expected_target_name.trim() {
        return Err(refuse(
            &format!("{name}.expected_target_name"),
            format_args!(
                "the lane's target is `{}`, the policy expects `{}`",
                target.target_name,
                policy.expected_target_name.trim()
            ),
        ));
    }
    let mut live: Vec<String> = target.domains.iter().map(|d| domain(d)).collect();
    let mut expected: Vec<String> = policy.expected_domains.iter().map(|d| domain(d)).collect();
    live.sort();
    live.dedup();
    expected.sort();
    expected.dedup();
    let matches = if ask.policy == STABLE_BOOTSTRAP {
        live == expected
    } else {
        expected.iter().all(|d| live.contains(d))
    };
    if expected.is_empty() || !matches {
        return Err(refuse(
            &format!("{name}.expected_domains"),
            format_args!(
                "the lane's target serves [{}], the policy expects [{}]",
                live.join(", "),
                expected.join(", ")
            ),
        ));
    }
    Ok(target)
}

/// The artifact the rebuild deploys and its source ref: the explicit pair
/// (both must match the stored manifest), else the lane inventory's, else
/// (a lane never deployed) the context's testing release.
fn artifact(ctx: &Ctx<'_>, ask: &Ask<'_>) -> Result<(String, String), DriverError> {
    let inventory: Option<EnvironmentInventory> = records::read(
        ctx,
        "inventory",
        &records::inventory_id(ask.context, ask.instance),
    )?;
    let current = inventory.as_ref().and_then(|i| {
        i.artifact_identity
            .as_ref()
            .map(|a| (a.artifact_id.clone(), i.source_git_ref.clone()))
    });
    let expected_current = ask.expected_current_artifact_id.trim();
    if !expected_current.is_empty()
        && current.as_ref().map(|(a, _)| a.as_str()) != Some(expected_current)
    {
        return Err(refuse(
            "expected_current_artifact_id",
            format_args!("the lane does not run `{expected_current}`"),
        ));
    }
    if let Some((artifact_id, source_git_ref)) = ask.artifact {
        let manifest = manifest(ctx, artifact_id.trim())?;
        if manifest.source_commit.trim() != source_git_ref.trim() {
            return Err(refuse(
                "source_git_ref",
                format_args!(
                    "artifact `{}` was built from `{}`, not `{}`",
                    artifact_id.trim(),
                    manifest.source_commit.trim(),
                    source_git_ref.trim()
                ),
            ));
        }
        return Ok((artifact_id.trim().into(), source_git_ref.trim().into()));
    }
    let (artifact_id, source_git_ref) = match current {
        Some(pair) => pair,
        None => {
            let tuple: Option<ReleaseTupleRecord> = records::read(
                ctx,
                "release_tuple",
                &records::inventory_id(ask.context, "testing"),
            )?;
            let tuple = tuple.ok_or_else(|| {
                refuse(
                    "artifact_id",
                    format_args!(
                        "lane {}/{} runs no artifact and {}/testing has no release: name \
                         artifact_id and source_git_ref",
                        ask.context, ask.instance, ask.context
                    ),
                )
            })?;
            (tuple.artifact_id, String::new())
        }
    };
    let manifest = manifest(ctx, artifact_id.trim())?;
    let source_git_ref = match source_git_ref.trim() {
        "" => manifest.source_commit.trim().to_string(),
        known => known.to_string(),
    };
    if source_git_ref.is_empty() {
        return Err(refuse(
            "source_git_ref",
            format_args!("artifact `{artifact_id}` has no source ref"),
        ));
    }
    Ok((artifact_id.trim().to_string(), source_git_ref))
}

fn manifest(ctx: &Ctx<'_>, artifact_id: &str) -> Result<ArtifactIdentityManifest, DriverError> {
    records::read(ctx, "artifact_manifest", artifact_id)?.ok_or_else(|| {
        refuse(
            "artifact_id",
            format_args!("artifact `{artifact_id}` has no stored manifest"),
        )
    })
}

/// A lane instance the profile must own; the context is the lane's.
pub fn lane_instance(ctx: &Ctx<'_>, instance: &str) -> Result<String, DriverError> {
    let instance = normalized(instance);
    if instance != normalized(&ctx.invocation().instance) {
        return Err(invalid(
            "instance",
            format_args!(
                "must be the lane's instance `{}`",
                ctx.invocation().instance
            ),
        ));
    }
    Ok(instance)
}
