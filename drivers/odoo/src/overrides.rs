//! The lane's instance override record (`OdooInstanceOverrideRecord`,
//! reference §6.10): typed Odoo settings written ahead of time and applied
//! inside the container by post-deploy.
//!
//! One record per (context, instance), replaced in place. The service routes
//! change one part of it (the `web.base.url` parameter, the website
//! bootstrap) and must keep everything else an administrator put there, so
//! a write is always read, merge, write; a stored record this driver cannot
//! read whole is refused rather than rewritten without the parts it did not
//! understand.

use launchplane_sdk::host::HostExt;
use launchplane_sdk::prelude::*;

use crate::checks::normalized;
use crate::models::{OverrideStatus, Phase, Scalar, WebsiteBootstrap, schema_version};

/// The record kind, as declared in the actions' `writes_records`.
pub const KIND: &str = "odoo_instance_override";

/// Where a setting's value comes from. Secret values never live here: a
/// binding names the secret, and the container resolves it from its env.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum OverrideValue {
    Literal { value: Option<Scalar> },
    SecretBinding { secret_binding_id: String },
}

/// One `ir.config_parameter` the lane must carry.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigParameter {
    /// Lower-cased, unique within the record.
    pub key: String,
    pub value: OverrideValue,
}

/// One addon setting the lane must carry.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AddonSetting {
    pub addon: String,
    pub setting: String,
    pub value: OverrideValue,
}

/// What the last post-deploy did with the record.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct LastApply {
    #[serde(default)]
    pub attempted: bool,
    #[serde(default)]
    pub status: OverrideStatus,
    #[serde(default)]
    pub applied_at: String,
    #[serde(default)]
    pub detail: String,
}

/// The stored record.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct InstanceOverrideRecord {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// `<context>-<instance>`: the one record of the lane.
    pub record_id: String,
    pub context: String,
    pub instance: String,
    /// Phases whose post-deploy applies the record; never empty.
    pub apply_on: Vec<Phase>,
    #[serde(default)]
    pub config_parameters: Vec<ConfigParameter>,
    #[serde(default)]
    pub addon_settings: Vec<AddonSetting>,
    #[serde(default)]
    pub website_bootstrap: Option<WebsiteBootstrap>,
    #[serde(default)]
    pub last_apply: LastApply,
    pub updated_at: String,
    pub source_label: String,
}

/// The id of the lane's record.
pub fn record_id(context: &str, instance: &str) -> String {
    format!("{context}-{instance}")
}

impl InstanceOverrideRecord {
    /// A lane's record before anything was put in it.
    pub fn empty(context: &str, instance: &str) -> Self {
        InstanceOverrideRecord {
            schema_version: 1,
            record_id: record_id(context, instance),
            context: context.to_string(),
            instance: instance.to_string(),
            apply_on: Vec::new(),
            config_parameters: Vec::new(),
            addon_settings: Vec::new(),
            website_bootstrap: None,
            last_apply: LastApply::default(),
            updated_at: String::new(),
            source_label: String::new(),
        }
    }

    /// Sets `key` (lower-cased) to `value`, replacing an earlier value of the
    /// same key and keeping every other parameter in its place.
    pub fn set_config_parameter(&mut self, key: &str, value: OverrideValue) {
        let key = key.trim().to_lowercase();
        match self.config_parameters.iter_mut().find(|p| p.key == key) {
            Some(parameter) => parameter.value = value,
            None => self.config_parameters.push(ConfigParameter { key, value }),
        }
    }

    /// Adds each of `phases` to `apply_on` that is not there yet.
    pub fn apply_on_also(&mut self, phases: &[Phase]) {
        for phase in phases {
            if !self.apply_on.contains(phase) {
                self.apply_on.push(*phase);
            }
        }
    }

    /// The parameter keys, in record order.
    pub fn config_parameter_keys(&self) -> Vec<String> {
        self.config_parameters
            .iter()
            .map(|p| p.key.clone())
            .collect()
    }
}

/// The one way to change a lane's record: read it (or start an empty one),
/// let `change` edit its part, then stamp and write it back. A changed
/// override applies on deploys and promotions from now on, whatever phases
/// it was limited to before. Contexts and instances are compared
/// lower-cased, as the original normalised them.
pub fn update(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
    source_label: &str,
    change: impl FnOnce(&mut InstanceOverrideRecord),
) -> Result<InstanceOverrideRecord, DriverError> {
    let (context, instance) = (normalized(context), normalized(instance));
    let mut record = load(ctx, &context, &instance)?;
    change(&mut record);
    record.apply_on_also(&[Phase::Deploy, Phase::Promotion]);
    record.updated_at = ctx.host().now();
    record.source_label = source_label.trim().to_string();
    ctx.host().put(KIND, &record)?;
    Ok(record)
}

/// The lane's record, or an empty one when it has none yet. A stored record
/// this driver cannot read whole is the lane's problem, not the caller's: a
/// 409 that names it, and nothing is written.
fn load(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
) -> Result<InstanceOverrideRecord, DriverError> {
    let id = record_id(context, instance);
    let stored = ctx
        .host()
        .get::<InstanceOverrideRecord>(KIND, &id)
        .map_err(|error| match error {
            HostError::Invalid(message) => DriverError::PreconditionFailed(format!(
                "{message}; repair it before changing it through the service"
            )),
            other => other.into(),
        })?;
    Ok(stored.unwrap_or_else(|| InstanceOverrideRecord::empty(context, instance)))
}
