//! The descriptor: what a driver declares about itself.
//!
//! Its parts (the action enums, the action, capability and setting-group
//! entries) are the shared definitions of `launchplane_wire::descriptor`,
//! the same types the host publishes on `GET /v1/drivers`; [`Descriptor`]
//! is the whole as a driver declares it. `guest.rs` is the one place these
//! become the WIT binding types.

use serde::Serialize;

pub use launchplane_wire::descriptor::{
    ActionDescriptor, CapabilityDescriptor, Execution, Idempotency, LanePolicy, Method,
    OperationRoute, PanelKind, RecordKindDeclaration, RecordMode, RecordsKey, Safety, Scope,
    SettingGroupDescriptor,
};

/// Everything a driver is.
#[derive(Debug, Clone, Serialize)]
pub struct Descriptor {
    pub api_version: String,
    pub driver_id: String,
    pub base_driver_id: Option<String>,
    pub label: String,
    pub product: String,
    pub description: String,
    pub context_patterns: Vec<String>,
    pub provider_boundary: String,
    pub capabilities: Vec<CapabilityDescriptor>,
    pub actions: Vec<ActionDescriptor>,
    pub setting_groups: Vec<SettingGroupDescriptor>,
    pub hooks_called: Vec<String>,
    pub hooks_implemented: Vec<String>,
    /// Record kinds only this driver knows.
    pub record_kinds: Vec<RecordKindDeclaration>,
    /// `records` keys only this driver reports.
    pub records_keys: Vec<RecordsKey>,
    /// Lane fields this driver's product profiles may carry.
    pub lane_policies: Vec<LanePolicy>,
}
