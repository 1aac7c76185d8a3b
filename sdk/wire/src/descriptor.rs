//! The driver descriptor's parts, as the SDK builds them from a driver's
//! declarations and the host publishes them on `GET /v1/drivers`: the enums
//! of an action (safety, scope, method, execution, idempotency), the panels
//! a capability feeds, and the action, capability and setting-group
//! entries.
//!
//! These are the Rust side of the WIT `descriptor` record. The WIT-generated
//! binding types stay with each side's bindings; the SDK converts these into
//! them (`sdk/src/guest.rs`) and the host converts them back
//! (`host/src/registry/descriptor.rs`). The whole descriptor differs per
//! side (the SDK's `Descriptor` is what a driver declares; the host's
//! `DriverDescriptor` adds the component digest), so it is not here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How much an action can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    Read,
    SafeWrite,
    Mutation,
    Destructive,
}

/// What an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Global,
    Context,
    Instance,
    Preview,
}

/// HTTP method of an action's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Whether the host runs the action inside the request or as a durable
/// operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    Sync,
    Async,
}

/// Whether the route honours, demands or ignores `Idempotency-Key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Idempotency {
    Optional,
    Required,
    None,
}

/// Operator UI panels a capability feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// JSON Schema of the request payload.
    pub input_schema: Value,
    /// JSON Schema of the result.
    pub output_schema: Value,
    /// The record kinds the action may write.
    pub writes_records: Vec<String>,
    /// The key the request payload sits under in the route's envelope.
    pub envelope_key: String,
    pub execution: Execution,
    pub idempotency: Idempotency,
    /// For an extension driver's action: the base driver's action it runs
    /// (under this action's route, authz action and input schema, with the
    /// extension's hooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_action: Option<String>,
    /// For an async action: its driver poll route, its lane-busy error
    /// code and the `records` key naming the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationRoute>,
}

/// The driver's own face of an async action's operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRoute {
    /// `GET` path polling one operation, ending with `/{operation_id}`.
    pub poll_path: String,
    /// Error code of the 409 when the lane already has an active operation.
    pub active_code: String,
    /// `records` key naming the operation id in the accepted answer.
    pub records_key: String,
}

impl OperationRoute {
    /// The poll URL of one operation.
    pub fn poll_url(&self, operation_id: &str) -> String {
        self.poll_path.replace("{operation_id}", operation_id)
    }
}

/// A field a product profile's lanes may carry for the declaring driver's
/// products: validated by the host against `schema`, stored as given,
/// read by the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanePolicy {
    pub field: String,
    pub description: String,
    /// JSON Schema of the field's value.
    pub schema: Value,
    /// The lane's status in read models while the policy is enabled.
    pub lane_status: String,
}

/// How the host keeps records of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordMode {
    /// Append-only evidence; may move from pending to final under its id.
    Evidence,
    /// Written once; the same document again is a no-op.
    Immutable,
    /// Current state (a lane's, a preview's), replaced in place (history
    /// kept); instance-scoped actions that write one hold their lane.
    State,
}

/// A record kind only the declaring driver knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordKindDeclaration {
    pub kind: String,
    pub mode: RecordMode,
    pub description: String,
}

/// A `records` key of an accepted answer only the declaring driver reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsKey {
    pub key: String,
    /// Passed on as a JSON object rather than a string.
    pub object: bool,
}

/// A named group of actions and the panels they feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityDescriptor {
    pub capability_id: String,
    pub label: String,
    pub description: String,
    pub actions: Vec<String>,
    pub panels: Vec<PanelKind>,
}

/// Runtime settings and secret bindings a driver reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingGroupDescriptor {
    pub group_id: String,
    pub label: String,
    pub description: String,
    pub scope: Scope,
    pub fields: Vec<String>,
    pub secret_bindings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn enums_use_the_published_names() {
        assert_eq!(
            serde_json::to_value([Safety::Read, Safety::SafeWrite, Safety::Destructive]).unwrap(),
            json!(["read", "safe_write", "destructive"])
        );
        assert_eq!(serde_json::to_value(Method::Post).unwrap(), json!("POST"));
        assert_eq!(Method::Get.as_str(), "GET");
        assert_eq!(
            serde_json::to_value(PanelKind::SecretBindings).unwrap(),
            json!("secret_bindings")
        );
        assert_eq!(
            serde_json::to_value(Idempotency::None).unwrap(),
            json!("none")
        );
        let scope: Scope = serde_json::from_value(json!("preview")).unwrap();
        assert_eq!(scope, Scope::Preview);
    }

    #[test]
    fn entries_round_trip() {
        let action = ActionDescriptor {
            action_id: "deploy".into(),
            label: "Deploy".into(),
            description: String::new(),
            safety: Safety::Mutation,
            scope: Scope::Instance,
            method: Method::Post,
            route_path: "/v1/drivers/x/deploy".into(),
            authz_action: "x_deploy.execute".into(),
            operator_visible: true,
            input_schema: json!({"type": "object"}),
            output_schema: json!({"type": "object"}),
            writes_records: vec!["deployment".into()],
            envelope_key: "deploy".into(),
            execution: Execution::Async,
            idempotency: Idempotency::Optional,
            base_action: None,
            operation: Some(OperationRoute {
                poll_path: "/v1/drivers/x/deploy/operations/{operation_id}".into(),
                active_code: "x_deploy_operation_active".into(),
                records_key: "x_deploy_operation_id".into(),
            }),
        };
        let value = serde_json::to_value(&action).unwrap();
        assert_eq!(value["execution"], "async");
        assert_eq!(
            action.operation.as_ref().map(|o| o.poll_url("op-1")),
            Some("/v1/drivers/x/deploy/operations/op-1".to_string())
        );
        let back: ActionDescriptor = serde_json::from_value(value).unwrap();
        assert_eq!(back, action);
    }
}
