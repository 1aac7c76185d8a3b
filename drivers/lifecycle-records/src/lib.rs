//! lifecycle_records: the drivers' helpers around the records of the web
//! lifecycle (deployments, promotions, inventory, backup gates, release
//! tuples, artifact manifests, product profiles, previews).
//!
//! The shapes are not defined here: they are `launchplane_wire`'s, the very
//! types the host validates with, re-exported under their usual names
//! ([`DeploymentRecord`], [`PromotionRecord`], …). What this crate adds is
//! how drivers use them: record ids stamped with the host clock's text
//! ([`deployment_record_id`], [`promotion_record_id`]), the `runtime_source`
//! keys drivers write ([`source_keys`]), small builders
//! ([`target_type_of`], [`DeploymentExt`]), and the store calls ([`read`],
//! [`parse`], [`write`], [`list`]).
//!
//! generic-web writes these records, and so do the drivers that extend it
//! (VeriReel's own stable deploys fold into the same deployment records).
//!
//! Writes serialise every field of the shared model and nothing else (the
//! host rejects unknown fields). Reads are lenient
//! ([`launchplane_wire::read_lenient`]): a stored document may carry keys
//! the host adds (such as its own `record_id` column) or that a newer host
//! knows, and a driver must not fail a lifecycle step because the store
//! knows more than it does; those keys are ignored at every level. Missing
//! fields take the shared model's defaults, as on the host.
//!
//! A driver never writes `inventory`: the host rebuilds a lane's inventory
//! from the `deployment` and `promotion` records written here (deploy `pass`
//! and destination health `pass` or `skipped`).

pub mod hooks;

use launchplane_sdk::prelude::*;

pub use launchplane_wire::records::artifact::{
    ArtifactAddonSelector, ArtifactAddonSource, ArtifactBuildFlags, ArtifactIdentityManifest,
    ArtifactImageReference, ArtifactOpenUpgradeInputs,
};
pub use launchplane_wire::records::backup_gate::BackupGateRecord;
pub use launchplane_wire::records::deployment::{
    ArtifactIdentityRef, DelegatedExecutor, DeploymentEvidence, DeploymentRecord,
    HealthcheckEvidence, PostDeployUpdateEvidence, ReleaseStatus, ResolvedTarget, TargetType,
    pending, skipped,
};
pub use launchplane_wire::records::inventory::{EnvironmentInventory, inventory_id};
pub use launchplane_wire::records::preview::{
    PreviewGenerationRecord, PreviewGenerationState, PreviewPullRequestSummary, PreviewRecord,
    PreviewSourceRecord, PreviewSourceSelection, PreviewState, generation_id, preview_id,
    preview_label,
};
pub use launchplane_wire::records::preview_inventory_scan::{PassFail, PreviewInventoryScanRecord};
pub use launchplane_wire::records::product_profile::{
    DataTransportMode, DomainCertificateType, ProductImageProfile, ProductLaneProfile,
    ProductPreviewProfile, ProductProfile,
};
pub use launchplane_wire::records::promotion::{
    BackupGateEvidence, PromotionRecord, RollbackExecutionEvidence,
};
pub use launchplane_wire::records::release_tuple::{ReleaseTupleRecord, tuple_id};
pub use launchplane_wire::{Validate, ValidationError};

/// The timestamp used in record ids: `2026-04-29T19:58:38Z` becomes
/// `20260429T195838Z` (UTC basic format). Sub-second digits, which the host
/// clock provides, are kept (`…T195838.123456Z`) so that two records of one
/// lane written within the same second get distinct ids.
pub fn compact_timestamp(now: &str) -> String {
    let now = now.trim();
    if let Some((date, time)) = now.split_once('T') {
        let date: String = date.chars().filter(char::is_ascii_digit).collect();
        let clock = time
            .split(['.', 'Z', 'z', '+', '-'])
            .next()
            .unwrap_or_default();
        let clock: String = clock.chars().filter(char::is_ascii_digit).collect();
        let fraction: String = time
            .split_once('.')
            .map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        if date.len() == 8 && clock.len() == 6 {
            return if fraction.is_empty() {
                format!("{date}T{clock}Z")
            } else {
                format!("{date}T{clock}.{fraction}Z")
            };
        }
    }
    now.chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | '+'))
        .collect()
}

/// `runtime_source` keys the web lifecycle drivers write on deployment
/// records.
pub mod source_keys {
    /// The immutable image reference the lane was pointed at.
    pub const IMAGE_REFERENCE: &str = "image_reference";
    /// The compact sorted runtime identity JSON set on the lane.
    pub const RUNTIME_IDENTITY: &str = "runtime_identity";
    /// The step that failed, on failed deployments.
    pub const FAILURE_STAGE: &str = "failure_stage";
    /// Why it failed, on failed deployments.
    pub const FAILURE_DETAIL: &str = "failure_detail";
}

/// The evidence target kind of a provider-neutral target type: a compose
/// stack is `compose`; anything else deploys as an `application`.
pub fn target_type_of(target_type: &str) -> TargetType {
    if target_type.trim().eq_ignore_ascii_case("compose") {
        TargetType::Compose
    } else {
        TargetType::Application
    }
}

/// What drivers read off a deployment record beyond its fields.
pub trait DeploymentExt {
    /// The image reference the lane was pointed at
    /// (`runtime_source.image_reference`), or `""`.
    fn image_reference(&self) -> &str;
}

impl DeploymentExt for DeploymentRecord {
    fn image_reference(&self) -> &str {
        self.runtime_source
            .get(source_keys::IMAGE_REFERENCE)
            .map_or("", String::as_str)
    }
}

/// `deployment-<compact ts>-<context>-<instance>`.
pub fn deployment_record_id(now: &str, context: &str, instance: &str) -> String {
    format!("deployment-{}-{context}-{instance}", compact_timestamp(now))
}

/// `promotion-<compact ts>-<context>-<from>-to-<to>`.
pub fn promotion_record_id(now: &str, context: &str, from: &str, to: &str) -> String {
    format!(
        "promotion-{}-{context}-{from}-to-{to}",
        compact_timestamp(now)
    )
}

/// Checks `record` of `kind` as the host does when a driver writes it: the
/// shared model's strict shape (unknown fields refused) and the host's
/// rules. Kinds the host keeps as given, and drivers' own kinds, pass.
/// Driver tests use it to prove that what a driver writes is what the host
/// accepts.
pub fn check_host_rules(kind: &str, record: &Value) -> Result<(), ValidationError> {
    fn strict<T: serde::de::DeserializeOwned + Validate>(
        kind: &str,
        record: &Value,
    ) -> Result<(), ValidationError> {
        launchplane_wire::parse_record::<T>(record, kind).map(|_| ())
    }
    match kind {
        "artifact_manifest" => strict::<ArtifactIdentityManifest>(kind, record),
        "backup_gate" => strict::<BackupGateRecord>(kind, record),
        "deployment" => strict::<DeploymentRecord>(kind, record),
        "inventory" => strict::<EnvironmentInventory>(kind, record),
        "preview" => strict::<PreviewRecord>(kind, record),
        "preview_generation" => strict::<PreviewGenerationRecord>(kind, record),
        "preview_inventory_scan" => strict::<PreviewInventoryScanRecord>(kind, record),
        "product_profile" => strict::<ProductProfile>(kind, record),
        "promotion" => strict::<PromotionRecord>(kind, record),
        "release_tuple" => strict::<ReleaseTupleRecord>(kind, record),
        _ => Ok(()),
    }
}

/// Reads a record and parses it leniently; a malformed stored record is the
/// store's defect, reported as internal.
pub fn read<T: serde::de::DeserializeOwned>(
    ctx: &Ctx<'_>,
    kind: &str,
    record_id: &str,
) -> Result<Option<T>, DriverError> {
    match ctx.host().record_get(kind, record_id)? {
        Some(value) => parse(kind, value).map(Some),
        None => Ok(None),
    }
}

/// Parses a stored document of `kind` leniently (keys the type does not
/// know are ignored).
pub fn parse<T: serde::de::DeserializeOwned>(kind: &str, value: Value) -> Result<T, DriverError> {
    launchplane_wire::read_lenient(&value, "")
        .map_err(|e| DriverError::Internal(format!("a stored {kind} record is malformed: {e}")))
}

/// Serialises and writes a record, returning the id the host stored it
/// under.
pub fn write<T: Serialize>(ctx: &Ctx<'_>, kind: &str, record: &T) -> Result<String, DriverError> {
    let value = serde_json::to_value(record)
        .map_err(|e| DriverError::Internal(format!("{kind} record does not serialise: {e}")))?;
    Ok(ctx.host().record_put(kind, &value)?)
}

/// Lists records of a kind, newest first.
pub fn list(
    ctx: &Ctx<'_>,
    kind: &str,
    context: Option<&str>,
    instance: Option<&str>,
    limit: u32,
) -> Result<Vec<Value>, DriverError> {
    let query = RecordQuery {
        context: context.map(str::to_string),
        instance: instance.map(str::to_string),
        limit,
    };
    Ok(ctx.host().record_list(kind, &query)?)
}

/// The latest promotion into `context`/`instance` (among the context's 20
/// newest promotions), if any: the one a rollback undoes or annotates.
pub fn latest_promotion(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
) -> Result<Option<PromotionRecord>, DriverError> {
    for value in list(ctx, "promotion", Some(context), None, 20)? {
        let promotion: PromotionRecord = parse("promotion", value)?;
        if promotion.to_instance == instance {
            return Ok(Some(promotion));
        }
    }
    Ok(None)
}

/// Seconds from `then` to `now` (RFC 3339, UTC), or `None` when either
/// does not read as a timestamp. A gate from the future counts as fresh.
pub fn age_seconds(then: &str, now: &str) -> Option<i64> {
    Some((epoch_seconds(now)? - epoch_seconds(then)?).max(0))
}

/// Seconds since 1970 of an RFC 3339 UTC timestamp (`…Z` or `+00:00`).
/// Written here rather than taken from a date crate: a driver component
/// reads only the host's clock format, and stays small.
fn epoch_seconds(timestamp: &str) -> Option<i64> {
    let t = timestamp.trim();
    let (date, time) = t.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (date.next()??, date.next()??, date.next()??);
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '-']).next()?;
    let mut hms = time.split(':');
    let (h, mi) = (
        hms.next()?.parse::<i64>().ok()?,
        hms.next()?.parse::<i64>().ok()?,
    );
    let s = hms
        .next()
        .and_then(|s| s.split('.').next())
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped_health() -> HealthcheckEvidence {
        HealthcheckEvidence::skipped()
    }

    /// A deployment as the web lifecycle drivers build one before the deploy
    /// runs.
    fn pending_deployment() -> DeploymentRecord {
        let now = "2026-04-29T19:58:38.123Z";
        DeploymentRecord {
            schema_version: 1,
            record_id: deployment_record_id(now, "shop-testing", "testing"),
            artifact_identity: Some(ArtifactIdentityRef::new("ghcr.io/acme/shop@sha256:aa")),
            context: "shop-testing".into(),
            instance: "testing".into(),
            source_git_ref: "abc1234".into(),
            wait_for_completion: true,
            verify_destination_health: true,
            no_cache: false,
            delegated_executor: DelegatedExecutor::default(),
            resolved_target: None,
            runtime_source: [(
                source_keys::IMAGE_REFERENCE.to_string(),
                "ghcr.io/acme/shop@sha256:aa".to_string(),
            )]
            .into(),
            deploy: DeploymentEvidence {
                target_name: "shop-testing-app".into(),
                target_type: target_type_of("application"),
                deploy_mode: "image-reference".into(),
                deployment_id: String::new(),
                status: ReleaseStatus::Pending,
                started_at: now.into(),
                finished_at: String::new(),
            },
            post_deploy_update: PostDeployUpdateEvidence::default(),
            destination_health: skipped_health(),
        }
    }

    #[test]
    fn what_drivers_build_the_host_accepts_and_drivers_read_back() {
        let deployment = pending_deployment();
        let written = serde_json::to_value(&deployment).unwrap();
        check_host_rules("deployment", &written).expect("the host accepts it");
        let mut stored = written.clone();
        stored["added_by_a_newer_host"] = json!(true);
        let back: DeploymentRecord = parse("deployment", stored).unwrap();
        assert_eq!(back, deployment);
        assert_eq!(back.image_reference(), "ghcr.io/acme/shop@sha256:aa");
        assert_eq!(
            back.record_id,
            "deployment-20260429T195838.123Z-shop-testing-testing"
        );

        let mut extra = written;
        extra["not_a_field"] = json!(1);
        let error = check_host_rules("deployment", &extra).unwrap_err();
        assert_eq!(error.field, "deployment.not_a_field");
        assert!(check_host_rules("odoo_instance_override", &json!({"any": 1})).is_ok());
    }

    #[test]
    fn target_types_map_onto_the_evidence_kinds() {
        assert_eq!(target_type_of(" Compose "), TargetType::Compose);
        assert_eq!(target_type_of("application"), TargetType::Application);
        assert_eq!(target_type_of("static-site"), TargetType::Application);
    }

    #[test]
    fn compact_timestamps() {
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38Z"),
            "20260429T195838Z"
        );
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38.123456Z"),
            "20260429T195838.123456Z"
        );
        assert_eq!(
            compact_timestamp("2026-04-29T19:58:38+00:00"),
            "20260429T195838Z"
        );
        assert_eq!(compact_timestamp("odd:value-1"), "oddvalue1");
    }
}
