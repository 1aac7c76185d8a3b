//! One lane's recorded state, as the product read models see it (the
//! original's lane summary): its inventory, release tuple, latest
//! deployment, promotion and backup gate, provider target, runtime
//! environment records (global, context, instance) and managed secret
//! bindings, with the provenance of what it shows.
//!
//! Values never leave this module: runtime records are summarised as key
//! names and counts, bindings as metadata.

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;
use crate::providers::targets::{PROVIDER_TARGET_KIND, ProviderTarget, parse_stored};
use crate::records::models::runtime_environment::{
    EnvironmentScope, RuntimeEnvironmentRecord, record_id as runtime_record_id,
};
use crate::records::{RecordQuery, Store};
use crate::secrets::models::{BINDING_KIND, SecretBinding, SecretStatus};

/// How long recorded lane evidence stays fresh (the original's
/// `LANE_STALE_AFTER`, 30 minutes).
const LANE_STALE_AFTER: time::Duration = time::Duration::minutes(30);

/// Where a read model's data comes from and how fresh it is (the
/// original's `DataProvenance`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// `record`, `provider`, `descriptor` or `unsupported`.
    pub source_kind: &'static str,
    pub source_record_id: String,
    pub recorded_at: String,
    pub refreshed_at: String,
    /// `verified`, `recorded`, `stale`, `missing` or `unsupported`.
    pub freshness_status: &'static str,
    pub stale_after: String,
    pub detail: String,
}

impl Provenance {
    /// Nothing recorded, with `detail` saying what is missing.
    pub fn missing(detail: impl Into<String>) -> Provenance {
        Provenance {
            source_kind: "record",
            source_record_id: String::new(),
            recorded_at: String::new(),
            refreshed_at: String::new(),
            freshness_status: "missing",
            stale_after: String::new(),
            detail: detail.into(),
        }
    }

    /// A record read as is, without a freshness window.
    pub fn recorded(record_id: &str, at: &str, detail: &str) -> Provenance {
        Provenance {
            source_kind: "record",
            source_record_id: record_id.to_string(),
            recorded_at: at.to_string(),
            refreshed_at: at.to_string(),
            freshness_status: "recorded",
            stale_after: String::new(),
            detail: detail.to_string(),
        }
    }

    /// Not supported for this product.
    pub fn unsupported(detail: &str) -> Provenance {
        Provenance {
            source_kind: "unsupported",
            freshness_status: "unsupported",
            ..Provenance::missing(detail)
        }
    }

    /// Evidence recorded at `at`: stale after the lane window, verified
    /// when its health check said so.
    fn windowed(record_id: &str, at: &str, verified: bool, detail: &str) -> Provenance {
        let (status, stale_after) = freshness(at, verified);
        Provenance {
            freshness_status: status,
            stale_after,
            ..Provenance::recorded(record_id, at, detail)
        }
    }
}

/// `(freshness_status, stale_after)` of evidence recorded at `at`.
fn freshness(at: &str, verified: bool) -> (&'static str, String) {
    let Ok(recorded) = OffsetDateTime::parse(at.trim(), &Rfc3339) else {
        return ("recorded", String::new());
    };
    let stale_at = recorded + LANE_STALE_AFTER;
    let stale_after = stale_at.format(&Rfc3339).unwrap_or_default();
    if OffsetDateTime::now_utc() > stale_at {
        ("stale", stale_after)
    } else if verified {
        ("verified", stale_after)
    } else {
        ("recorded", stale_after)
    }
}

/// The most cautious of `states` (missing, then stale, recorded,
/// verified, unsupported), or `fallback` when there are none.
pub fn combine_trust_states<'a>(
    states: impl IntoIterator<Item = &'a str>,
    fallback: &'static str,
) -> &'static str {
    let states: Vec<&str> = states.into_iter().filter(|s| !s.is_empty()).collect();
    ["missing", "stale", "recorded", "verified", "unsupported"]
        .into_iter()
        .find(|p| states.contains(p))
        .unwrap_or(fallback)
}

/// One lane's recorded state.
#[derive(Debug, Clone)]
pub struct LaneSummary {
    pub context: String,
    pub instance: String,
    pub inventory: Option<Value>,
    pub release_tuple: Option<Value>,
    pub latest_deployment: Option<Value>,
    pub latest_promotion: Option<Value>,
    pub latest_backup_gate: Option<Value>,
    pub provider_target: Option<ProviderTarget>,
    pub runtime_environment_records: Vec<RuntimeEnvironmentRecord>,
    pub secret_bindings: Vec<SecretBinding>,
    pub provenance: Provenance,
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn verified(value: &Value) -> bool {
    value
        .pointer("/destination_health/verified")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The newest record of `kind` on the lane, by its document.
async fn latest(
    store: &Store,
    kind: &str,
    context: &str,
    instance: &str,
) -> Result<Option<Value>, ApiError> {
    Ok(
        super::activity::documents(store, kind, context, Some(instance), 1)
            .await?
            .into_iter()
            .next(),
    )
}

async fn document(store: &Store, kind: &str, id: &str) -> Result<Option<Value>, ApiError> {
    Ok(store
        .get_record(kind, id)
        .await
        .map_err(ApiError::internal)?
        .map(|r| r.document))
}

impl LaneSummary {
    /// Reads the lane's records from `store`.
    pub async fn read(store: &Store, context: &str, instance: &str) -> Result<Self, ApiError> {
        let lane_id = format!("{context}-{instance}");
        let inventory = document(store, "inventory", &lane_id).await?;
        let release_tuple = document(store, "release_tuple", &lane_id).await?;
        let latest_deployment = latest(store, "deployment", context, instance).await?;
        let latest_promotion = latest(store, "promotion", context, instance).await?;
        let latest_backup_gate = latest(store, "backup_gate", context, instance).await?;
        let provider_target = provider_target(store, context, instance).await?;
        let mut runtime_environment_records = Vec::new();
        for scope in [
            EnvironmentScope::Global,
            EnvironmentScope::Context,
            EnvironmentScope::Instance,
        ] {
            let id = runtime_record_id(scope, context, instance);
            if let Some(doc) = document(store, "runtime_environment", &id).await? {
                let record = serde_json::from_value(doc).map_err(|e| {
                    ApiError::internal(format!("runtime environment record `{id}`: {e}"))
                })?;
                runtime_environment_records.push(record);
            }
        }
        let secret_bindings = secret_bindings(store, context, instance).await?;
        let mut summary = LaneSummary {
            context: context.to_string(),
            instance: instance.to_string(),
            inventory,
            release_tuple,
            latest_deployment,
            latest_promotion,
            latest_backup_gate,
            provider_target,
            runtime_environment_records,
            secret_bindings,
            provenance: Provenance::missing(""),
        };
        summary.provenance = summary.lane_provenance();
        Ok(summary)
    }

    /// From the inventory when there is one, else the latest deployment.
    fn lane_provenance(&self) -> Provenance {
        if let Some(inventory) = &self.inventory {
            return Provenance::windowed(
                text(inventory, "/deployment_record_id"),
                text(inventory, "/updated_at"),
                verified(inventory),
                "Launchplane environment inventory record.",
            );
        }
        if let Some(deployment) = &self.latest_deployment {
            let at = match text(deployment, "/deploy/finished_at") {
                "" => text(deployment, "/deploy/started_at"),
                finished => finished,
            };
            return Provenance::windowed(
                text(deployment, "/record_id"),
                at,
                verified(deployment),
                "Latest Launchplane deployment record; environment inventory is missing.",
            );
        }
        Provenance::missing(format!(
            "Launchplane has not recorded lane evidence for {}/{}.",
            self.context, self.instance
        ))
    }

    /// The runtime records as key names and counts, never values.
    pub fn runtime_settings(&self) -> Vec<Value> {
        self.runtime_environment_records
            .iter()
            .map(|record| {
                json!({
                    "scope": record.scope.as_str(),
                    "context": record.context,
                    "instance": record.instance,
                    "env_keys": record.keys(),
                    "env_value_count": record.env.len(),
                    "updated_at": record.updated_at,
                    "source_label": record.source_label,
                    "trust_state": "recorded",
                })
            })
            .collect()
    }

    /// The managed secret bindings as metadata; a binding that is not
    /// configured is `disabled`, still shown.
    pub fn managed_secrets(&self) -> Vec<Value> {
        self.secret_bindings
            .iter()
            .map(|binding| {
                let (status, trust) = match binding.status {
                    SecretStatus::Configured => ("configured", "recorded"),
                    SecretStatus::Disabled => ("disabled", "disabled"),
                };
                json!({
                    "binding_id": binding.binding_id,
                    "secret_id": binding.secret_id,
                    "integration": binding.integration,
                    "binding_type": binding.binding_type,
                    "binding_key": binding.binding_key,
                    "context": binding.context,
                    "instance": binding.instance,
                    "status": status,
                    "updated_at": binding.updated_at,
                    "trust_state": trust,
                })
            })
            .collect()
    }

    /// The lane's provider target, neutral (the original's target summary).
    pub fn target(&self) -> Value {
        match &self.provider_target {
            Some(target) => json!({
                "provider": target.provider_id,
                "target_type": target.target_category(),
                "target_name": target.target_name,
                "target_id": target.target_id,
                "provider_target_type": target.target_type.as_str(),
                "target_id_recorded": true,
                "trust_state": "recorded",
            }),
            None => json!({
                "provider": "",
                "target_type": "",
                "target_name": "",
                "target_id": "",
                "provider_target_type": "",
                "target_id_recorded": false,
                "trust_state": "missing",
            }),
        }
    }
}

/// The lane's provider target (any provider), if one is recorded.
async fn provider_target(
    store: &Store,
    context: &str,
    instance: &str,
) -> Result<Option<ProviderTarget>, ApiError> {
    let query = RecordQuery {
        context: Some(context.to_string()),
        instance: Some(instance.to_string()),
        limit: 10,
        ..Default::default()
    };
    let records = store
        .list_records(PROVIDER_TARGET_KIND, &query)
        .await
        .map_err(ApiError::internal)?;
    match records.first() {
        Some(record) => parse_stored(&record.record_id, &record.document)
            .map(Some)
            .map_err(ApiError::internal),
        None => Ok(None),
    }
}

/// The bindings of the lane's context and instance (global ones, the
/// service's own credentials, are not a product's), newest first.
async fn secret_bindings(
    store: &Store,
    context: &str,
    instance: &str,
) -> Result<Vec<SecretBinding>, ApiError> {
    let query = RecordQuery {
        limit: 1000,
        ..Default::default()
    };
    let mut bindings = Vec::new();
    for stored in store
        .list_records(BINDING_KIND, &query)
        .await
        .map_err(ApiError::internal)?
    {
        let binding: SecretBinding = serde_json::from_value(stored.document).map_err(|e| {
            ApiError::internal(format!("secret binding `{}`: {e}", stored.record_id))
        })?;
        if binding.context == context
            && (binding.instance.is_empty() || binding.instance == instance)
        {
            bindings.push(binding);
        }
    }
    Ok(bindings)
}
