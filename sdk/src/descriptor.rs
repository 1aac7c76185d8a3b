//! The descriptor: what a driver declares about itself.
//!
//! These are plain Rust mirrors of the WIT `descriptor` record. Field names
//! follow the JSON shape of `GET /v1/drivers`.

use serde::Serialize;

/// How much an action can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    Read,
    SafeWrite,
    Mutation,
    Destructive,
}

/// What an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Global,
    Context,
    Instance,
    Preview,
}

/// HTTP method of an action's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
}

/// Whether the host runs the action inside the request or as a durable
/// operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    Sync,
    Async,
}

/// Whether the route honours, demands or ignores `Idempotency-Key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Idempotency {
    Optional,
    Required,
    None,
}

/// Operator UI panels a capability feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    Summary,
    LaneHealth,
    ArtifactEvidence,
    DeploymentEvidence,
    PromotionEvidence,
    BackupEvidence,
    PreviewInventory,
    Settings,
    SecretBindings,
    Audit,
}

/// One callable action, as the host sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionDescriptor {
    pub action_id: String,
    pub label: String,
    pub description: String,
    pub safety: Safety,
    pub scope: Scope,
    pub method: Method,
    pub route_path: String,
    pub authz_action: String,
    pub operator_visible: bool,
    pub input_schema: serde_json::Value,
    pub output_schema: serde_json::Value,
    pub writes_records: Vec<String>,
    pub envelope_key: String,
    pub execution: Execution,
    pub idempotency: Idempotency,
}

/// A named group of actions and the panels they feed.
#[derive(Debug, Clone, Serialize)]
pub struct CapabilityDescriptor {
    pub capability_id: String,
    pub label: String,
    pub description: String,
    pub actions: Vec<String>,
    pub panels: Vec<PanelKind>,
}

/// Runtime settings and secret bindings a driver reads.
#[derive(Debug, Clone, Serialize)]
pub struct SettingGroupDescriptor {
    pub group_id: String,
    pub label: String,
    pub description: String,
    pub scope: Scope,
    pub fields: Vec<String>,
    pub secret_bindings: Vec<String>,
}

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
}
