//! The descriptor as the host keeps and publishes it.
//!
//! The JSON shape is the original service's `GET /v1/drivers` shape
//! (`driver_id, base_driver_id, label, product, description,
//! context_patterns, provider_boundary, capabilities, actions,
//! setting_groups`) plus ours: `api_version`, per action `envelope_key`,
//! `execution`, `idempotency`, per driver `hooks_called`,
//! `hooks_implemented`, `record_kinds`, `records_keys` and the component
//! `digest`.
//!
//! The parts (the action enums, the action, capability and setting-group
//! entries) are the shared definitions of `launchplane_wire::descriptor`,
//! the same types the SDK builds; only the whole [`DriverDescriptor`] (with
//! the component digest) is the host's own. [`DriverDescriptor::from_component`]
//! is the one place the WIT binding types become these.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::RegistryError;
use crate::runtime;

pub use launchplane_wire::descriptor::{
    ActionDescriptor, CapabilityDescriptor, Execution, Idempotency, LanePolicy, Method,
    OperationRoute, PanelKind, RecordKindDeclaration, RecordMode, RecordsKey, Safety, Scope,
    SettingGroupDescriptor,
};

/// A driver's descriptor, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverDescriptor {
    pub schema_version: u32,
    pub driver_id: String,
    /// Empty when the driver extends nothing (the original's convention).
    pub base_driver_id: String,
    pub label: String,
    pub product: String,
    pub description: String,
    pub context_patterns: Vec<String>,
    pub provider_boundary: String,
    pub capabilities: Vec<CapabilityDescriptor>,
    pub actions: Vec<ActionDescriptor>,
    pub setting_groups: Vec<SettingGroupDescriptor>,
    pub api_version: String,
    pub hooks_called: Vec<String>,
    pub hooks_implemented: Vec<String>,
    /// Record kinds only this driver knows.
    #[serde(default)]
    pub record_kinds: Vec<RecordKindDeclaration>,
    /// `records` keys only this driver reports.
    #[serde(default)]
    pub records_keys: Vec<RecordsKey>,
    /// Lane fields this driver's product profiles may carry.
    #[serde(default)]
    pub lane_policies: Vec<LanePolicy>,
    /// `sha256:<hex>` of the component file.
    pub digest: String,
}

impl DriverDescriptor {
    pub fn action(&self, action_id: &str) -> Option<&ActionDescriptor> {
        self.actions.iter().find(|a| a.action_id == action_id)
    }

    pub fn base(&self) -> Option<&str> {
        (!self.base_driver_id.is_empty()).then_some(self.base_driver_id.as_str())
    }
}

fn safety(s: runtime::Safety) -> Safety {
    match s {
        runtime::Safety::Read => Safety::Read,
        runtime::Safety::SafeWrite => Safety::SafeWrite,
        runtime::Safety::Mutation => Safety::Mutation,
        runtime::Safety::Destructive => Safety::Destructive,
    }
}

fn scope(s: runtime::Scope) -> Scope {
    match s {
        runtime::Scope::Global => Scope::Global,
        runtime::Scope::Context => Scope::Context,
        runtime::Scope::Instance => Scope::Instance,
        runtime::Scope::Preview => Scope::Preview,
    }
}

fn panel(p: runtime::PanelKind) -> PanelKind {
    match p {
        runtime::PanelKind::Summary => PanelKind::Summary,
        runtime::PanelKind::LaneHealth => PanelKind::LaneHealth,
        runtime::PanelKind::ArtifactEvidence => PanelKind::ArtifactEvidence,
        runtime::PanelKind::DeploymentEvidence => PanelKind::DeploymentEvidence,
        runtime::PanelKind::PromotionEvidence => PanelKind::PromotionEvidence,
        runtime::PanelKind::BackupEvidence => PanelKind::BackupEvidence,
        runtime::PanelKind::PreviewInventory => PanelKind::PreviewInventory,
        runtime::PanelKind::Settings => PanelKind::Settings,
        runtime::PanelKind::SecretBindings => PanelKind::SecretBindings,
        runtime::PanelKind::Audit => PanelKind::Audit,
    }
}

fn method(m: runtime::HttpMethod) -> Method {
    match m {
        runtime::HttpMethod::Get => Method::Get,
        runtime::HttpMethod::Post => Method::Post,
    }
}

fn execution(e: runtime::Execution) -> Execution {
    match e {
        runtime::Execution::Sync => Execution::Sync,
        runtime::Execution::Async => Execution::Async,
    }
}

fn idempotency(i: runtime::Idempotency) -> Idempotency {
    match i {
        runtime::Idempotency::Optional => Idempotency::Optional,
        runtime::Idempotency::Required => Idempotency::Required,
        runtime::Idempotency::None => Idempotency::None,
    }
}

fn record_mode(m: runtime::RecordMode) -> RecordMode {
    match m {
        runtime::RecordMode::Evidence => RecordMode::Evidence,
        runtime::RecordMode::Immutable => RecordMode::Immutable,
        runtime::RecordMode::State => RecordMode::State,
    }
}

fn parse_schema(driver: &str, field: String, text: &str) -> Result<Value, RegistryError> {
    serde_json::from_str(text)
        .map_err(|e| RegistryError::invalid(driver, field, format!("is not JSON: {e}")))
}

/// Converts the `i`th action; its schemas must parse as JSON.
fn action(
    registry_id: &str,
    i: usize,
    a: runtime::ActionDescriptor,
) -> Result<ActionDescriptor, RegistryError> {
    let input_schema = parse_schema(
        registry_id,
        format!("actions[{i}] `{}`.input_schema", a.action_id),
        &a.input_schema,
    )?;
    let output_schema = parse_schema(
        registry_id,
        format!("actions[{i}] `{}`.output_schema", a.action_id),
        &a.output_schema,
    )?;
    Ok(ActionDescriptor {
        action_id: a.action_id,
        label: a.label,
        description: a.description,
        safety: safety(a.safety),
        scope: scope(a.scope),
        method: method(a.method),
        route_path: a.route_path,
        authz_action: a.authz_action,
        operator_visible: a.operator_visible,
        input_schema,
        output_schema,
        writes_records: a.writes_records,
        envelope_key: a.envelope_key,
        execution: execution(a.execution),
        idempotency: idempotency(a.idempotency),
        base_action: a.base_action,
        operation: a.operation.map(|o| OperationRoute {
            poll_path: o.poll_path,
            active_code: o.active_code,
            records_key: o.records_key,
        }),
    })
}

/// Converts the `i`th lane policy; its schema must parse as JSON.
fn lane_policy(
    registry_id: &str,
    i: usize,
    p: runtime::LanePolicy,
) -> Result<LanePolicy, RegistryError> {
    let schema = parse_schema(
        registry_id,
        format!("lane_policies[{i}] `{}`.schema", p.field),
        &p.schema,
    )?;
    Ok(LanePolicy {
        field: p.field,
        description: p.description,
        schema,
        lane_status: p.lane_status,
    })
}

fn capability(c: runtime::CapabilityDescriptor) -> CapabilityDescriptor {
    CapabilityDescriptor {
        capability_id: c.capability_id,
        label: c.label,
        description: c.description,
        actions: c.actions,
        panels: c.panels.into_iter().map(panel).collect(),
    }
}

fn setting_group(g: runtime::SettingGroupDescriptor) -> SettingGroupDescriptor {
    SettingGroupDescriptor {
        group_id: g.group_id,
        label: g.label,
        description: g.description,
        scope: scope(g.scope),
        fields: g.fields,
        secret_bindings: g.secret_bindings,
    }
}

fn record_kind(k: runtime::RecordKind) -> RecordKindDeclaration {
    RecordKindDeclaration {
        kind: k.kind,
        mode: record_mode(k.mode),
        description: k.description,
    }
}

fn records_key(k: runtime::RecordsKey) -> RecordsKey {
    RecordsKey {
        key: k.key,
        object: k.object,
    }
}

impl DriverDescriptor {
    /// Converts what `describe()` answered. `registry_id` names the driver in
    /// errors (the described id may be wrong).
    pub fn from_component(
        registry_id: &str,
        d: runtime::Descriptor,
        digest_hex: &str,
    ) -> Result<Self, RegistryError> {
        let mut actions = Vec::with_capacity(d.actions.len());
        for (i, a) in d.actions.into_iter().enumerate() {
            actions.push(action(registry_id, i, a)?);
        }
        let mut lane_policies = Vec::with_capacity(d.lane_policies.len());
        for (i, p) in d.lane_policies.into_iter().enumerate() {
            lane_policies.push(lane_policy(registry_id, i, p)?);
        }
        Ok(DriverDescriptor {
            schema_version: 1,
            driver_id: d.driver_id,
            base_driver_id: d.base_driver_id.unwrap_or_default(),
            label: d.label,
            product: d.product,
            description: d.description,
            context_patterns: d.context_patterns,
            provider_boundary: d.provider_boundary,
            capabilities: d.capabilities.into_iter().map(capability).collect(),
            actions,
            setting_groups: d.setting_groups.into_iter().map(setting_group).collect(),
            api_version: d.api_version,
            hooks_called: d.hooks_called,
            hooks_implemented: d.hooks_implemented,
            record_kinds: d.record_kinds.into_iter().map(record_kind).collect(),
            records_keys: d.records_keys.into_iter().map(records_key).collect(),
            lane_policies,
            digest: format!("sha256:{digest_hex}"),
        })
    }
}
