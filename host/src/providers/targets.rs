//! Neutral provider targets (reference §6.9): which provider object serves a
//! stable lane.
//!
//! Stored through the [`Store`] as record kind `provider_target`, record id
//! `<provider_id>-<context>-<instance>`, replaced in place (history kept).
//! Only the stable lanes `testing` and `prod` are tracked; previews are
//! provider applications created from a template lane, never targets.
//! Reading fails closed: a stored record that does not validate is an error,
//! not a skipped row.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ProviderError;
use crate::records::Lane;
use crate::records::models::product_profile::{DomainCertificateType, ProductProfile};
use crate::records::{RecordQuery, RecordWrite, Store, StoredRecord, Tx};

/// A stored target record with its owner, parsed.
fn owned(
    record_id: &str,
    record: Option<StoredRecord>,
) -> Result<Option<OwnedTarget>, ProviderError> {
    let Some(record) = record else {
        return Ok(None);
    };
    let target = parse_stored(record_id, &record.document)?;
    Ok(Some(OwnedTarget {
        product: record.product,
        target,
    }))
}

/// The record kind.
pub const PROVIDER_TARGET_KIND: &str = "provider_target";

/// Health path when a target sets none (the original's
/// `DEFAULT_DOKPLOY_HEALTHCHECK_PATH`).
pub const DEFAULT_HEALTHCHECK_PATH: &str = "/web/health";

/// Providers a target may name.
pub const PROVIDER_IDS: [&str; 2] = ["dokploy", "simulated"];

/// The only lanes with tracked targets.
pub const STABLE_INSTANCES: [&str; 2] = ["testing", "prod"];

/// `application` or `compose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    Application,
    Compose,
}

impl TargetType {
    pub fn as_str(&self) -> &'static str {
        match self {
            TargetType::Application => "application",
            TargetType::Compose => "compose",
        }
    }
}

fn default_schema_version() -> u32 {
    1
}

fn default_healthcheck_path() -> String {
    DEFAULT_HEALTHCHECK_PATH.to_string()
}

/// One `provider_target` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderTarget {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    /// `dokploy` or `simulated`.
    pub provider_id: String,
    pub context: String,
    pub instance: String,
    pub target_type: TargetType,
    /// The provider's id of the object (Dokploy `applicationId` /
    /// `composeId`).
    pub target_id: String,
    #[serde(default)]
    pub target_name: String,
    /// Public hosts (scheme optional) the target serves.
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default = "default_healthcheck_path")]
    pub healthcheck_path: String,
    #[serde(default)]
    pub deploy_timeout_seconds: Option<u32>,
    pub updated_at: String,
    #[serde(default)]
    pub source: String,
}

/// A target as an onboarding manifest states it (unknown fields refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderTargetInput {
    pub provider_id: String,
    pub context: String,
    pub instance: String,
    pub target_type: TargetType,
    pub target_id: String,
    #[serde(default)]
    pub target_name: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub healthcheck_path: String,
    #[serde(default)]
    pub deploy_timeout_seconds: Option<u32>,
}

/// `<provider_id>-<context>-<instance>`.
pub fn provider_target_record_id(provider_id: &str, context: &str, instance: &str) -> String {
    format!("{provider_id}-{context}-{instance}")
}

/// A health path with a leading `/`; blank means the default.
pub fn normalize_healthcheck_path(path: &str) -> String {
    let path = path.trim();
    if path.is_empty() {
        DEFAULT_HEALTHCHECK_PATH.to_string()
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

impl ProviderTargetInput {
    /// The record this input describes, normalised (trimmed, default health
    /// path) and validated.
    pub fn into_target(
        self,
        updated_at: &str,
        source: &str,
    ) -> Result<ProviderTarget, ProviderError> {
        let mut target = ProviderTarget {
            schema_version: 1,
            provider_id: self.provider_id,
            context: self.context,
            instance: self.instance,
            target_type: self.target_type,
            target_id: self.target_id,
            target_name: self.target_name,
            domains: self.domains,
            healthcheck_path: self.healthcheck_path,
            deploy_timeout_seconds: self.deploy_timeout_seconds,
            updated_at: updated_at.to_string(),
            source: source.to_string(),
        };
        target.normalize();
        target.validate()?;
        Ok(target)
    }
}

impl ProviderTarget {
    /// Trims identity fields and domains, lower-cases the provider id,
    /// normalises the health path.
    pub fn normalize(&mut self) {
        self.provider_id = self.provider_id.trim().to_ascii_lowercase();
        self.context = self.context.trim().to_string();
        self.instance = self.instance.trim().to_string();
        self.target_id = self.target_id.trim().to_string();
        self.target_name = self.target_name.trim().to_string();
        self.domains = self.domains.iter().map(|d| d.trim().to_string()).collect();
        self.healthcheck_path = normalize_healthcheck_path(&self.healthcheck_path);
        self.source = self.source.trim().to_string();
    }

    /// Known provider, stable lane, non-blank ids, sane domains and timeout.
    pub fn validate(&self) -> Result<(), ProviderError> {
        let lane = format!("{}/{}", self.context, self.instance);
        if !PROVIDER_IDS.contains(&self.provider_id.as_str()) {
            return Err(ProviderError::Invalid(format!(
                "provider target {lane}: provider_id must be one of {} (got `{}`)",
                PROVIDER_IDS.join(", "),
                self.provider_id
            )));
        }
        for (field, value) in [
            ("context", &self.context),
            ("instance", &self.instance),
            ("target_id", &self.target_id),
            ("updated_at", &self.updated_at),
        ] {
            if value.trim().is_empty() {
                return Err(ProviderError::Invalid(format!(
                    "provider target {lane}: {field} must not be blank"
                )));
            }
        }
        if !STABLE_INSTANCES.contains(&self.instance.as_str()) {
            return Err(ProviderError::Invalid(format!(
                "provider target {lane}: only the stable lanes {} have tracked provider targets; \
                 use preview records for PR previews instead of another tracked lane",
                STABLE_INSTANCES.join(", ")
            )));
        }
        if self.schema_version < 1 {
            return Err(ProviderError::Invalid(format!(
                "provider target {lane}: schema_version must be ≥ 1"
            )));
        }
        let mut seen = HashSet::new();
        for (index, domain) in self.domains.iter().enumerate() {
            if domain.is_empty() || domain.contains(char::is_whitespace) {
                return Err(ProviderError::Invalid(format!(
                    "provider target {lane}: domains[{index}] must be a non-blank host without spaces"
                )));
            }
            if !seen.insert(domain.to_ascii_lowercase()) {
                return Err(ProviderError::Invalid(format!(
                    "provider target {lane}: domains[{index}] `{domain}` is listed twice"
                )));
            }
        }
        if self.deploy_timeout_seconds == Some(0) {
            return Err(ProviderError::Invalid(format!(
                "provider target {lane}: deploy_timeout_seconds must be ≥ 1"
            )));
        }
        Ok(())
    }

    pub fn record_id(&self) -> String {
        provider_target_record_id(&self.provider_id, &self.context, &self.instance)
    }

    pub fn lane(&self) -> Lane {
        Lane {
            context: self.context.clone(),
            instance: self.instance.clone(),
        }
    }

    /// The neutral category of the target ([L] `target_category`).
    pub fn target_category(&self) -> &'static str {
        self.target_type.as_str()
    }

    /// Health URLs: each domain (https added when it has no scheme, trailing
    /// `/` removed, deduplicated) + the health path (§9).
    pub fn health_urls(&self) -> Vec<String> {
        let mut bases: Vec<String> = Vec::new();
        for domain in &self.domains {
            let domain = domain.trim();
            if domain.is_empty() {
                continue;
            }
            let with_scheme = if domain.contains("://") {
                domain.to_string()
            } else {
                format!("https://{domain}")
            };
            let base = with_scheme.trim_end_matches('/').to_string();
            if !base.is_empty() && !bases.contains(&base) {
                bases.push(base);
            }
        }
        let path = normalize_healthcheck_path(&self.healthcheck_path);
        bases.into_iter().map(|b| format!("{b}{path}")).collect()
    }

    /// The record with the [L] read fields `target_category`,
    /// `provider_target_type` (and `record_id`) added.
    pub fn read_model(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Some(map) = value.as_object_mut() {
            map.insert("record_id".into(), json!(self.record_id()));
            map.insert("target_category".into(), json!(self.target_category()));
            map.insert(
                "provider_target_type".into(),
                json!(self.target_type.as_str()),
            );
        }
        value
    }

    /// Whether two records describe the same target (ignoring when and by
    /// whom they were written).
    pub fn same_target(&self, other: &ProviderTarget) -> bool {
        let strip = |t: &ProviderTarget| {
            let mut t = t.clone();
            t.updated_at = String::new();
            t.source = String::new();
            t
        };
        strip(self) == strip(other)
    }
}

/// Refuses two targets for the same (provider, context, instance).
pub fn check_unique(targets: &[ProviderTarget]) -> Result<(), ProviderError> {
    let mut seen = HashSet::new();
    for target in targets {
        if !seen.insert(target.record_id()) {
            return Err(ProviderError::Invalid(format!(
                "duplicate provider target for {}/{} (provider `{}`)",
                target.context, target.instance, target.provider_id
            )));
        }
    }
    Ok(())
}

fn store_failed(error: crate::records::StoreError) -> ProviderError {
    tracing::error!(%error, "provider target records could not be read or written");
    ProviderError::failed("provider target records could not be read or written; see service logs")
}

/// Parses a stored `provider_target` document, failing closed.
pub fn parse_stored(record_id: &str, document: &Value) -> Result<ProviderTarget, ProviderError> {
    let mut target: ProviderTarget = serde_json::from_value(document.clone()).map_err(|e| {
        ProviderError::Config(format!(
            "stored provider target `{record_id}` is malformed: {e}"
        ))
    })?;
    target.normalize();
    target.validate().map_err(|e| {
        ProviderError::Config(format!(
            "stored provider target `{record_id}` is invalid: {e}"
        ))
    })?;
    if target.record_id() != record_id {
        return Err(ProviderError::Config(format!(
            "stored provider target `{record_id}` names lane {}/{} of provider `{}`",
            target.context, target.instance, target.provider_id
        )));
    }
    Ok(target)
}

/// Lookup and writes of provider targets over the store.
#[derive(Debug, Clone)]
pub struct ProviderTargets {
    store: Store,
}

/// A stored target with the product that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedTarget {
    pub product: String,
    pub target: ProviderTarget,
}

impl ProviderTargets {
    pub fn new(store: Store) -> Self {
        ProviderTargets { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The stored target of `provider_id` for a lane, if any.
    pub async fn find(
        &self,
        provider_id: &str,
        lane: &Lane,
    ) -> Result<Option<OwnedTarget>, ProviderError> {
        let record_id = provider_target_record_id(provider_id, &lane.context, &lane.instance);
        let record = self
            .store
            .get_record(PROVIDER_TARGET_KIND, &record_id)
            .await
            .map_err(store_failed)?;
        owned(&record_id, record)
    }

    /// [`ProviderTargets::find`] as the transaction `tx` sees it.
    pub async fn find_in(
        tx: &mut Tx,
        provider_id: &str,
        lane: &Lane,
    ) -> Result<Option<OwnedTarget>, ProviderError> {
        let record_id = provider_target_record_id(provider_id, &lane.context, &lane.instance);
        let record = tx
            .get_record(PROVIDER_TARGET_KIND, &record_id)
            .await
            .map_err(store_failed)?;
        owned(&record_id, record)
    }

    /// The lane's target; none is [`ProviderError::NotFound`] naming the
    /// lane.
    pub async fn require(
        &self,
        provider_id: &str,
        lane: &Lane,
    ) -> Result<ProviderTarget, ProviderError> {
        self.find(provider_id, lane)
            .await?
            .map(|owned| owned.target)
            .ok_or_else(|| {
                ProviderError::NotFound(format!(
                    "lane {}/{} has no {provider_id} provider target; onboard it with POST /v1/product-onboarding/apply",
                    lane.context, lane.instance
                ))
            })
    }

    /// Every stored target (of one provider when given), failing closed on
    /// a malformed record.
    pub async fn list(&self, provider_id: Option<&str>) -> Result<Vec<OwnedTarget>, ProviderError> {
        let records = self
            .store
            .list_records(
                PROVIDER_TARGET_KIND,
                &RecordQuery {
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .map_err(store_failed)?;
        let mut out = Vec::new();
        for record in records {
            let target = parse_stored(&record.record_id, &record.document)?;
            if provider_id.is_none_or(|p| p == target.provider_id) {
                out.push(OwnedTarget {
                    product: record.product,
                    target,
                });
            }
        }
        out.sort_by_key(|owned| owned.target.record_id());
        Ok(out)
    }

    /// Writes targets for `product` in one transaction; returns the ids.
    pub async fn put(
        &self,
        product: &str,
        targets: &[ProviderTarget],
        trace_id: &str,
    ) -> Result<Vec<String>, ProviderError> {
        let writes = target_writes(product, targets)?;
        self.store
            .write_records(&writes, trace_id)
            .await
            .map_err(store_failed)
    }

    /// [`ProviderTargets::put`] in the caller's transaction.
    pub async fn put_in(
        tx: &mut crate::records::Tx,
        product: &str,
        targets: &[ProviderTarget],
        trace_id: &str,
    ) -> Result<Vec<String>, ProviderError> {
        let writes = target_writes(product, targets)?;
        tx.write_records(&writes, trace_id)
            .await
            .map_err(store_failed)
    }
}

/// The record writes of `targets` for `product`, each checked.
fn target_writes(
    product: &str,
    targets: &[ProviderTarget],
) -> Result<Vec<RecordWrite>, ProviderError> {
    check_unique(targets)?;
    let mut writes = Vec::with_capacity(targets.len());
    for target in targets {
        target.validate()?;
        let document = serde_json::to_value(target)
            .map_err(|e| ProviderError::failed(format!("provider target not serialisable: {e}")))?;
        let mut record =
            StoredRecord::new(PROVIDER_TARGET_KIND, &target.record_id(), product, document);
        record.updated_at = target.updated_at.clone();
        writes.push(RecordWrite::Replace { record });
    }
    Ok(writes)
}

/// Where previews of a context come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewTemplate {
    /// The template lane: the profile lane whose instance is
    /// `preview.template_instance`.
    pub lane: Lane,
    /// The product whose `preview.context` is the context, if one is.
    pub product: Option<String>,
    /// The product's `runtime_port` (0 when unknown).
    pub runtime_port: u32,
    /// `none` or `letsencrypt`.
    pub certificate_type: &'static str,
    /// Keys whose values the preview copies from the template
    /// application's env (`preview.copied_env_keys`); values never reach
    /// a driver.
    pub copied_env_keys: Vec<String>,
}

/// The template of preview `context`: from the product profile whose
/// `preview.context` is `context` (template lane = its lane with instance
/// `preview.template_instance`); without such a profile, lane
/// `(context, testing)`.
pub async fn preview_template(
    store: &Store,
    context: &str,
) -> Result<PreviewTemplate, ProviderError> {
    let records = store
        .list_records(
            "product_profile",
            &RecordQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .map_err(store_failed)?;
    for record in records {
        let Ok(profile) = serde_json::from_value::<ProductProfile>(record.document) else {
            continue;
        };
        if profile.preview.context != context {
            continue;
        }
        let instance = profile.preview.template_instance.trim().to_string();
        let lane = profile
            .lanes
            .iter()
            .find(|l| l.instance == instance)
            .ok_or_else(|| {
                ProviderError::Config(format!(
                    "product `{}` has no lane `{instance}` to use as its preview template",
                    profile.product
                ))
            })?;
        return Ok(PreviewTemplate {
            lane: Lane {
                context: lane.context.clone(),
                instance: lane.instance.clone(),
            },
            product: Some(profile.product.clone()),
            runtime_port: profile.runtime_port,
            certificate_type: match profile.preview.domain_certificate_type {
                DomainCertificateType::None => "none",
                DomainCertificateType::Letsencrypt => "letsencrypt",
            },
            copied_env_keys: profile
                .preview
                .copied_env_keys
                .iter()
                .map(|k| k.trim().to_string())
                .collect(),
        });
    }
    Ok(PreviewTemplate {
        lane: Lane {
            context: context.to_string(),
            instance: "testing".to_string(),
        },
        product: None,
        runtime_port: 0,
        certificate_type: "none",
        copied_env_keys: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProviderTargetInput {
        ProviderTargetInput {
            provider_id: "dokploy".into(),
            context: " demo ".into(),
            instance: "testing".into(),
            target_type: TargetType::Application,
            target_id: "app-1".into(),
            target_name: "demo-testing".into(),
            domains: vec!["testing.demo.example".into(), "https://alt.example/".into()],
            healthcheck_path: "healthz".into(),
            deploy_timeout_seconds: None,
        }
    }

    #[test]
    fn inputs_are_normalised_and_validated() {
        let target = input()
            .into_target("2026-11-01T00:00:00Z", "tests")
            .expect("valid");
        assert_eq!(target.context, "demo");
        assert_eq!(target.healthcheck_path, "/healthz");
        assert_eq!(target.record_id(), "dokploy-demo-testing");
        assert_eq!(
            target.health_urls(),
            vec![
                "https://testing.demo.example/healthz".to_string(),
                "https://alt.example/healthz".to_string()
            ]
        );
        let read = target.read_model();
        assert_eq!(read["target_category"], "application");
        assert_eq!(read["provider_target_type"], "application");
        assert_eq!(read["provider_id"], "dokploy");

        let mut blank_path = input();
        blank_path.healthcheck_path = String::new();
        let target = blank_path.into_target("t", "s").expect("valid");
        assert_eq!(target.healthcheck_path, DEFAULT_HEALTHCHECK_PATH);

        type Change = Box<dyn Fn(&mut ProviderTargetInput)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|i| i.instance = "dev".into()), "stable lanes"),
            (Box::new(|i| i.instance = "pr-12".into()), "stable lanes"),
            (Box::new(|i| i.target_id = "  ".into()), "target_id"),
            (Box::new(|i| i.context = "".into()), "context"),
            (Box::new(|i| i.provider_id = "heroku".into()), "provider_id"),
            (
                Box::new(|i| i.domains.push("testing.demo.example".into())),
                "twice",
            ),
            (
                Box::new(|i| i.deploy_timeout_seconds = Some(0)),
                "deploy_timeout_seconds",
            ),
        ];
        for (change, expected) in cases {
            let mut bad = input();
            change(&mut bad);
            let error = bad.into_target("t", "s").expect_err("refused").to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn duplicates_are_refused_and_stored_records_fail_closed() {
        let a = input().into_target("t", "s").expect("valid");
        assert!(check_unique(&[a.clone(), a.clone()]).is_err());
        let mut prod = a.clone();
        prod.instance = "prod".into();
        assert!(check_unique(&[a.clone(), prod]).is_ok());
        let mut document = serde_json::to_value(&a).expect("json");
        assert!(parse_stored("dokploy-demo-testing", &document).is_ok());
        assert!(matches!(
            parse_stored("dokploy-demo-prod", &document),
            Err(ProviderError::Config(_))
        ));
        document["instance"] = json!("dev");
        assert!(parse_stored("dokploy-demo-dev", &document).is_err());
    }
}
