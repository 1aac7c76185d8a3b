//! `GET /v1/artifacts/protected?product=&context=&retention_days=`
//! ([L] §3.2, `artifact_protection.read`): the artifacts a registry
//! cleanup job must keep, as a deny list.
//!
//! An entry per reason: what a stable lane serves now (`stable-inventory`),
//! each lane's release tuple (`release-tuple`), what served a stable lane
//! within the retention window, so a rollback can go back to it
//! (`rollback-target`, from the inventory's history), the artifacts of
//! promotions within the window (`recent-promotion`), live previews'
//! generations (`active-preview-generation`) and their ready PR feedback
//! images (`active-preview-feedback`). `artifact_ids`, `image_references`
//! and `image_digests` are the flat, sorted, deduplicated lists a cleanup
//! job checks against; `warnings` name live artifacts without a stored
//! manifest (a cleanup must then fail closed for that scope).
//!
//! Order (the original's): `product` missing is 400 `invalid_query`
//! before authorization; a whole-product read (no `context`) needs a grant
//! on context `*`.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::input::check_path_id;
use super::{Call, Reply, Service};
use crate::error::ApiError;
use crate::records::models::product_profile::ProductProfile;
use crate::records::{RecordQuery, Store};

/// Days of history protected by default.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
/// The longest window a caller may ask for.
pub const MAX_RETENTION_DAYS: i64 = 3650;

/// Preview states whose generations are still live.
const LIVE_PREVIEW_STATES: [&str; 5] =
    ["pending", "active", "failed", "paused", "teardown_pending"];
/// Generation states whose artifact may be serving or about to.
const LIVE_GENERATION_STATES: [&str; 5] =
    ["resolving", "building", "deploying", "verifying", "ready"];

/// The query of the route, as given.
#[derive(Debug, Default, Clone)]
pub struct ProtectedQuery {
    pub product: Option<String>,
    pub context: Option<String>,
    pub retention_days: Option<String>,
}

fn invalid_query(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Collects entries and warnings for one product.
struct Builder<'a> {
    store: &'a Store,
    product: &'a str,
    manifests: HashMap<String, Value>,
    since: OffsetDateTime,
    entries: Vec<Value>,
    warnings: BTreeSet<String>,
}

impl Builder<'_> {
    /// The manifest's image references (digest and tags) and repository
    /// and digest, warning when a live artifact has no manifest.
    fn images(&mut self, artifact_id: &str, source: &str) -> (Vec<String>, String, String) {
        if artifact_id.is_empty() {
            return (Vec::new(), String::new(), String::new());
        }
        let Some(manifest) = self.manifests.get(artifact_id) else {
            self.warnings.insert(format!(
                "Protected artifact {artifact_id} from {source} has no stored artifact manifest; cleanup consumers must still treat the artifact id as protected."
            ));
            return (Vec::new(), String::new(), String::new());
        };
        let repository = text(manifest, "/image/repository").to_string();
        let digest = text(manifest, "/image/digest").to_string();
        let mut references = BTreeSet::new();
        if !repository.is_empty() && !digest.is_empty() {
            references.insert(format!("{repository}@{digest}"));
        }
        for tag in manifest
            .pointer("/image/tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|t| !t.trim().is_empty())
        {
            references.insert(format!("{repository}:{}", tag.trim()));
        }
        (references.into_iter().collect(), repository, digest)
    }

    #[allow(clippy::too_many_arguments)]
    fn stable(
        &mut self,
        context: &str,
        instance: &str,
        artifact_id: &str,
        source_git_ref: &str,
        reason: &str,
        record: (&str, &str),
    ) {
        let (images, repository, digest) = self.images(artifact_id, record.0);
        if artifact_id.is_empty() {
            self.warnings.insert(format!(
                "Live {} record {} has no artifact id or image reference; cleanup consumers must fail closed for this scope.",
                record.0, record.1
            ));
            return;
        }
        self.entries.push(json!({
            "schema_version": 1,
            "product": self.product,
            "context": context,
            "instance": instance,
            "environment_kind": "stable",
            "artifact_id": artifact_id,
            "image_references": images,
            "source_git_ref": source_git_ref,
            "reason": reason,
            "source_record_type": record.0,
            "source_record_id": record.1,
            "image_repository": repository,
            "image_digest": digest,
            "preview_id": "",
            "preview_generation_id": "",
            "anchor_repo": "",
            "anchor_pr_number": 0,
        }));
    }

    fn within_window(&self, at: &str) -> bool {
        OffsetDateTime::parse(at.trim(), &Rfc3339).is_ok_and(|t| t >= self.since)
    }

    async fn list(&self, kind: &str, context: &str) -> Result<Vec<Value>, ApiError> {
        super::products::activity::documents(self.store, kind, context, None, 1000).await
    }

    /// Inventory now and within the window, release tuples and recent
    /// promotions of one stable lane.
    async fn lane(&mut self, context: &str, instance: &str) -> Result<(), ApiError> {
        let lane_id = format!("{context}-{instance}");
        let history = self
            .store
            .record_history("inventory", &lane_id)
            .await
            .map_err(ApiError::internal)?;
        if let Some((current, earlier)) = history.split_last() {
            self.stable(
                context,
                instance,
                text(current, "/artifact_identity/artifact_id"),
                text(current, "/source_git_ref"),
                "stable-inventory",
                ("environment_inventory", &lane_id),
            );
            let current_id = text(current, "/artifact_identity/artifact_id").to_string();
            let mut seen = BTreeSet::from([current_id]);
            for version in earlier.iter().rev() {
                let artifact = text(version, "/artifact_identity/artifact_id");
                if artifact.is_empty()
                    || !self.within_window(text(version, "/updated_at"))
                    || !seen.insert(artifact.to_string())
                {
                    continue;
                }
                let deployment = text(version, "/deployment_record_id").to_string();
                self.stable(
                    context,
                    instance,
                    artifact,
                    text(version, "/source_git_ref"),
                    "rollback-target",
                    ("deployment", &deployment),
                );
            }
        }
        if let Some(tuple) = self
            .store
            .get_record("release_tuple", &lane_id)
            .await
            .map_err(ApiError::internal)?
        {
            let tuple = tuple.document;
            let source = tuple["repo_shas"]
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let tuple_id = text(&tuple, "/tuple_id").to_string();
            self.stable(
                context,
                instance,
                text(&tuple, "/artifact_id"),
                &source,
                "release-tuple",
                ("release_tuple", &tuple_id),
            );
        }
        let query = RecordQuery {
            context: Some(context.to_string()),
            instance: Some(instance.to_string()),
            limit: 1000,
            ..Default::default()
        };
        for promotion in self
            .store
            .list_records("promotion", &query)
            .await
            .map_err(ApiError::internal)?
        {
            let doc = &promotion.document;
            let at = match text(doc, "/deploy/finished_at") {
                "" => promotion.recorded_at.as_str(),
                finished => finished,
            };
            if !self.within_window(at) {
                continue;
            }
            self.stable(
                context,
                instance,
                text(doc, "/artifact_identity/artifact_id"),
                "",
                "recent-promotion",
                ("promotion", &promotion.record_id),
            );
        }
        Ok(())
    }

    /// Live previews of the product's repository in `context`.
    async fn previews(&mut self, context: &str, anchor: &str) -> Result<(), ApiError> {
        let feedback = self.list("preview_pr_feedback", context).await?;
        for preview in self.list("preview", context).await? {
            if text(&preview, "/anchor_repo") != anchor
                || !LIVE_PREVIEW_STATES.contains(&text(&preview, "/state"))
            {
                continue;
            }
            let preview_id = text(&preview, "/preview_id").to_string();
            let pr = preview["anchor_pr_number"].as_u64().unwrap_or(0);
            let query = RecordQuery {
                instance: Some(preview_id.clone()),
                limit: 1000,
                ..Default::default()
            };
            let generations: Vec<Value> = self
                .store
                .list_records("preview_generation", &query)
                .await
                .map_err(ApiError::internal)?
                .into_iter()
                .map(|r| r.document)
                .collect();
            let named: Vec<&str> = [
                "/serving_generation_id",
                "/active_generation_id",
                "/latest_generation_id",
            ]
            .iter()
            .map(|p| text(&preview, p))
            .filter(|id| !id.is_empty())
            .collect();
            let live = |g: &&Value| LIVE_GENERATION_STATES.contains(&text(g, "/state"));
            let mut chosen: Vec<&Value> = generations
                .iter()
                .filter(|g| named.contains(&text(g, "/generation_id")))
                .filter(live)
                .collect();
            if chosen.is_empty() {
                chosen = generations
                    .iter()
                    .filter(|g| text(g, "/state") == "ready")
                    .collect();
            }
            for generation in chosen {
                let generation_id = text(generation, "/generation_id").to_string();
                let artifact = text(generation, "/artifact_id").to_string();
                let (images, repository, digest) = self.images(&artifact, "preview_generation");
                if artifact.is_empty() {
                    self.warnings.insert(format!(
                        "Live preview_generation record {generation_id} has no artifact id or image reference; cleanup consumers must fail closed for this scope."
                    ));
                    continue;
                }
                self.entries.push(preview_entry(
                    self.product,
                    &preview,
                    &artifact,
                    images,
                    text(generation, "/anchor_summary/head_sha"),
                    "active-preview-generation",
                    ("preview_generation", &generation_id),
                    &repository,
                    &digest,
                ));
            }
            let ready = feedback.iter().find(|f| {
                text(f, "/anchor_repo") == anchor
                    && f["anchor_pr_number"].as_u64() == Some(pr)
                    && text(f, "/status") == "ready"
            });
            if let Some(f) = ready {
                let images: BTreeSet<String> =
                    ["/immutable_image_reference", "/refresh_image_reference"]
                        .iter()
                        .map(|p| text(f, p).trim().to_string())
                        .filter(|r| !r.is_empty())
                        .collect();
                if !images.is_empty() {
                    let feedback_id = text(f, "/feedback_id").to_string();
                    self.entries.push(preview_entry(
                        self.product,
                        &preview,
                        "",
                        images.into_iter().collect(),
                        text(f, "/revision"),
                        "active-preview-feedback",
                        ("preview_pr_feedback", &feedback_id),
                        "",
                        "",
                    ));
                }
            }
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn preview_entry(
    product: &str,
    preview: &Value,
    artifact_id: &str,
    images: Vec<String>,
    source_git_ref: &str,
    reason: &str,
    record: (&str, &str),
    repository: &str,
    digest: &str,
) -> Value {
    json!({
        "schema_version": 1,
        "product": product,
        "context": text(preview, "/context"),
        "instance": "",
        "environment_kind": "preview",
        "artifact_id": artifact_id,
        "image_references": images,
        "source_git_ref": source_git_ref,
        "reason": reason,
        "source_record_type": record.0,
        "source_record_id": record.1,
        "image_repository": repository,
        "image_digest": digest,
        "preview_id": text(preview, "/preview_id"),
        "preview_generation_id": if record.0 == "preview_generation" { record.1 } else { "" },
        "anchor_repo": text(preview, "/anchor_repo"),
        "anchor_pr_number": preview["anchor_pr_number"].as_u64().unwrap_or(0),
    })
}

/// The sorted, deduplicated, non-empty values of `field` over `entries`.
fn flat(entries: &[Value], field: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for entry in entries {
        match &entry[field] {
            Value::String(s) if !s.is_empty() => {
                out.insert(s.clone());
            }
            Value::Array(items) => {
                out.extend(items.iter().filter_map(Value::as_str).map(String::from))
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// The protected set of `profile`, optionally one of its contexts.
pub async fn protected_set(
    store: &Store,
    profile: &ProductProfile,
    context: &str,
    retention_days: i64,
) -> Result<Value, ApiError> {
    let manifests = store
        .list_records(
            "artifact_manifest",
            &RecordQuery {
                limit: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|r| (r.record_id, r.document))
        .collect();
    let mut builder = Builder {
        store,
        product: &profile.product,
        manifests,
        since: OffsetDateTime::now_utc() - time::Duration::days(retention_days),
        entries: Vec::new(),
        warnings: BTreeSet::new(),
    };
    // Current lanes and historical contexts: artifacts recorded before a
    // cutover stay protected until the window passes.
    let mut lanes: Vec<(String, String)> = Vec::new();
    for lane in &profile.lanes {
        for ctx in std::iter::once(&lane.context).chain(&profile.historical_contexts) {
            let pair = (ctx.clone(), lane.instance.clone());
            if (context.is_empty() || ctx == context) && !lanes.contains(&pair) {
                lanes.push(pair);
            }
        }
    }
    for (ctx, instance) in &lanes {
        builder.lane(ctx, instance).await?;
    }
    let preview_context = profile.preview.context.trim();
    if profile.preview.enabled
        && !preview_context.is_empty()
        && (context.is_empty() || context == preview_context)
    {
        let anchor = super::products::activity::anchor_repo(profile).to_string();
        builder.previews(preview_context, &anchor).await?;
    }
    let entries = builder.entries;
    Ok(json!({
        "schema_version": 1,
        "product": profile.product,
        "context": context,
        "retention_days": retention_days,
        "artifact_ids": flat(&entries, "artifact_id"),
        "image_references": flat(&entries, "image_references"),
        "image_digests": flat(&entries, "image_digest"),
        "warnings": builder.warnings.into_iter().collect::<Vec<_>>(),
        "entries": entries,
    }))
}

impl Service {
    /// `GET /v1/artifacts/protected`.
    pub async fn protected_artifacts(
        &self,
        call: &Call,
        query: &ProtectedQuery,
    ) -> Result<Reply, ApiError> {
        let product = query.product.as_deref().map(str::trim).unwrap_or("");
        if product.is_empty() {
            return Err(invalid_query(
                "Protected artifact inventory requires a product query parameter.",
            ));
        }
        check_path_id("product", product)?;
        let context = query.context.as_deref().map(str::trim).unwrap_or("");
        if !context.is_empty() {
            check_path_id("context", context)?;
        }
        let retention_days = match query.retention_days.as_deref() {
            None => DEFAULT_RETENTION_DAYS,
            Some(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (0..=MAX_RETENTION_DAYS).contains(d))
                .ok_or_else(|| {
                    invalid_query(format!(
                        "Query parameter `retention_days` must be an integer between 0 and {MAX_RETENTION_DAYS}."
                    ))
                })?,
        };
        let authz_context = if context.is_empty() { "*" } else { context };
        self.authorize(call, "artifact_protection.read", product, authz_context, "")
            .await?;
        let profile = self.require_product_profile(product).await?;
        let set = protected_set(&self.store, &profile, context, retention_days).await?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({"protected_artifacts": set}),
        ))
    }
}
