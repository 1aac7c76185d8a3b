//! The product read models themselves: a product's overview with its
//! lanes and previews, one environment's detail, and its configuration
//! status against the profile's expected configuration. Values are never
//! shown: runtime settings are key names, secrets binding metadata.

use serde_json::{Value, json};

use super::actions::{Allowed, Place, available_actions};
use super::lane::{LaneSummary, Provenance, combine_trust_states};
use crate::error::ApiError;
use crate::records::models::product_profile::{ProductLaneProfile, ProductProfile};
use crate::records::{RecordQuery, Store};
use crate::registry::DriverDescriptor;

/// The header every product read model starts with.
fn header(profile: &ProductProfile, driver: Option<&DriverDescriptor>) -> Value {
    json!({
        "schema_version": 1,
        "product": profile.product,
        "display_name": profile.display_name,
        "repository": profile.repository,
        "driver_id": profile.driver_id,
        "base_driver_id": driver.map(|d| d.base_driver_id.as_str()).unwrap_or(""),
    })
}

/// A warning when the product's driver is not loaded.
fn warnings(profile: &ProductProfile, driver: Option<&DriverDescriptor>) -> Vec<String> {
    match driver {
        Some(_) => Vec::new(),
        None => vec![format!(
            "Product driver `{}` is not registered in Launchplane.",
            profile.driver_id
        )],
    }
}

fn merge(mut base: Value, fields: Value) -> Value {
    if let (Some(base), Value::Object(fields)) = (base.as_object_mut(), fields) {
        base.extend(fields);
    }
    base
}

fn provenance(value: &Provenance) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One lane of a product's overview or environment list.
pub async fn environment_summary(
    store: &Store,
    profile: &ProductProfile,
    driver: Option<&DriverDescriptor>,
    lane: &ProductLaneProfile,
    allowed: &Allowed<'_>,
) -> Result<Value, ApiError> {
    let summary = LaneSummary::read(store, &lane.context, &lane.instance).await?;
    Ok(json!({
        "environment": lane.instance,
        "context": lane.context,
        "base_url": lane.base_url,
        "health_url": lane.health_url,
        "trust_state": summary.provenance.freshness_status,
        "provenance": provenance(&summary.provenance),
        "warnings": [],
        "available_actions": available_actions(profile, driver, Place::Lane(&lane.context), false, allowed),
    }))
}

/// The summaries of every lane of `profile`, and their combined trust.
pub async fn environment_summaries(
    store: &Store,
    profile: &ProductProfile,
    driver: Option<&DriverDescriptor>,
    allowed: &Allowed<'_>,
) -> Result<(Vec<Value>, &'static str), ApiError> {
    let mut out = Vec::new();
    for lane in &profile.lanes {
        out.push(environment_summary(store, profile, driver, lane, allowed).await?);
    }
    let trust = combine_trust_states(
        out.iter().filter_map(|e| e["trust_state"].as_str()),
        "recorded",
    );
    Ok((out, trust))
}

/// The profile record's own provenance.
pub fn profile_provenance(profile: &ProductProfile) -> Value {
    provenance(&Provenance::recorded(
        &profile.product,
        &profile.updated_at,
        "Launchplane product profile record.",
    ))
}

/// `GET /v1/products[/{product}]`: one product's overview.
pub async fn overview(
    store: &Store,
    profile: &ProductProfile,
    driver: Option<&DriverDescriptor>,
    allowed: &Allowed<'_>,
) -> Result<Value, ApiError> {
    let (environments, trust) = environment_summaries(store, profile, driver, allowed).await?;
    Ok(merge(
        header(profile, driver),
        json!({
            "environments": environments,
            "preview": preview_summary(store, profile).await?,
            "warnings": warnings(profile, driver),
            "trust_state": trust,
            "provenance": profile_provenance(profile),
            "available_actions": available_actions(profile, driver, Place::Product, true, allowed),
        }),
    ))
}

/// The product's live previews (not destroyed) of its own repository in
/// its preview context, newest first.
async fn preview_summary(store: &Store, profile: &ProductProfile) -> Result<Value, ApiError> {
    if !profile.preview.enabled {
        return Ok(json!({
            "enabled": false,
            "context": "",
            "slug_template": "",
            "active_count": 0,
            "latest_preview_id": "",
            "trust_state": "unsupported",
            "provenance": provenance(&Provenance::unsupported(
                "Product previews are not enabled for this product profile.",
            )),
        }));
    }
    let anchor = super::activity::anchor_repo(profile);
    let query = RecordQuery {
        context: Some(profile.preview.context.clone()),
        limit: 1000,
        ..Default::default()
    };
    let previews: Vec<Value> = store
        .list_records("preview", &query)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|r| r.document)
        .filter(|p| p["anchor_repo"].as_str() == Some(anchor) && p["state"] != "destroyed")
        .collect();
    let text = |v: &Value, f: &str| v[f].as_str().unwrap_or("").to_string();
    let (latest_id, source) = match previews.first() {
        Some(p) => (
            text(p, "preview_id"),
            Provenance::recorded(
                &text(p, "preview_id"),
                &text(p, "updated_at"),
                "Launchplane preview identity record.",
            ),
        ),
        None => (
            String::new(),
            Provenance::missing("Launchplane has not recorded previews for this product profile."),
        ),
    };
    Ok(json!({
        "enabled": true,
        "context": profile.preview.context,
        "slug_template": profile.preview.slug_template,
        "active_count": previews.len(),
        "latest_preview_id": latest_id,
        "trust_state": source.freshness_status,
        "provenance": provenance(&source),
    }))
}

/// The profile's lane for `environment` (its instance); 404 naming both.
pub fn find_lane<'p>(
    profile: &'p ProductProfile,
    environment: &str,
) -> Result<&'p ProductLaneProfile, ApiError> {
    let environment = environment.trim();
    profile
        .lanes
        .iter()
        .find(|l| l.instance == environment)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Product `{}` has no environment `{environment}`.",
                profile.product
            ))
        })
}

/// `GET /v1/products/{product}/environments/{environment}`.
pub async fn environment_detail(
    store: &Store,
    profile: &ProductProfile,
    driver: Option<&DriverDescriptor>,
    lane: &ProductLaneProfile,
    allowed: &Allowed<'_>,
) -> Result<Value, ApiError> {
    let summary = LaneSummary::read(store, &lane.context, &lane.instance).await?;
    Ok(merge(
        header(profile, driver),
        json!({
            "environment": lane.instance,
            "context": lane.context,
            "base_url": lane.base_url,
            "health_url": lane.health_url,
            "target": summary.target(),
            "runtime_settings": summary.runtime_settings(),
            "managed_secrets": summary.managed_secrets(),
            "available_actions": available_actions(profile, driver, Place::Lane(&lane.context), true, allowed),
            "warnings": warnings(profile, driver),
            "trust_state": summary.provenance.freshness_status,
            "provenance": provenance(&summary.provenance),
        }),
    ))
}

/// Whether an expected-config entry of (`context`, `instance`) concerns
/// `lane`: no context means every lane.
fn applies(context: &str, instance: &str, lane: &ProductLaneProfile) -> bool {
    context.is_empty()
        || (context == lane.context && (instance.is_empty() || instance == lane.instance))
}

/// Where a missing entry was expected: its own scope, or the lane's.
fn missing_scope<'a>(
    context: &'a str,
    instance: &'a str,
    lane: &'a ProductLaneProfile,
) -> (&'a str, &'a str) {
    match (context.is_empty(), instance.is_empty()) {
        (true, _) => (&lane.context, instance),
        (false, true) => (context, &lane.instance),
        (false, false) => (context, instance),
    }
}

/// `GET /v1/products/{product}/environments/{environment}/config-status`:
/// each expected runtime key and managed secret binding of the profile
/// that concerns the lane, `configured`, `missing` or `disabled`, by the
/// lane's records. Key names and metadata only; no secret ids.
pub async fn config_status(
    store: &Store,
    profile: &ProductProfile,
    driver: Option<&DriverDescriptor>,
    lane: &ProductLaneProfile,
) -> Result<Value, ApiError> {
    let summary = LaneSummary::read(store, &lane.context, &lane.instance).await?;
    let expected = &profile.expected_config;
    let mut freshness: Vec<&'static str> = vec![summary.provenance.freshness_status];
    let mut runtime = Vec::new();
    for req in &expected.runtime_environment_keys {
        if !applies(&req.context, &req.instance, lane) {
            continue;
        }
        // The most specific record that sets the key wins.
        let found = summary
            .runtime_environment_records
            .iter()
            .rev()
            .find(|r| r.env.contains_key(&req.key));
        runtime.push(match found {
            Some(record) => {
                freshness.push("recorded");
                json!({"key": req.key, "status": "configured", "context": record.context, "instance": record.instance, "source_label": record.source_label, "updated_at": record.updated_at, "trust_state": "recorded"})
            }
            None => {
                freshness.push("missing");
                let (context, instance) = missing_scope(&req.context, &req.instance, lane);
                json!({"key": req.key, "status": "missing", "context": context, "instance": instance, "source_label": "", "updated_at": "", "trust_state": "missing"})
            }
        });
    }
    let mut secrets = Vec::new();
    for req in &expected.managed_secret_bindings {
        if !applies(&req.context, &req.instance, lane) {
            continue;
        }
        let found = summary
            .secret_bindings
            .iter()
            .find(|b| b.integration == req.integration && b.binding_key == req.binding_key);
        secrets.push(match found {
            Some(binding) => {
                let configured =
                    matches!(binding.status, crate::secrets::models::SecretStatus::Configured);
                let (status, trust) = if configured { ("configured", "recorded") } else { ("disabled", "disabled") };
                freshness.push(if configured { "recorded" } else { "missing" });
                json!({"binding_key": req.binding_key, "status": status, "integration": binding.integration, "context": binding.context, "instance": binding.instance, "updated_at": binding.updated_at, "trust_state": trust})
            }
            None => {
                freshness.push("missing");
                let (context, instance) = missing_scope(&req.context, &req.instance, lane);
                json!({"binding_key": req.binding_key, "status": "missing", "integration": req.integration, "context": context, "instance": instance, "updated_at": "", "trust_state": "missing"})
            }
        });
    }
    Ok(merge(
        header(profile, driver),
        json!({
            "environment": lane.instance,
            "context": lane.context,
            "runtime_settings": runtime,
            "managed_secrets": secrets,
            "warnings": warnings(profile, driver),
            "trust_state": combine_trust_states(freshness, summary.provenance.freshness_status),
            "provenance": provenance(&summary.provenance),
        }),
    ))
}
