//! The typed invocation a driver action runs with: built once at
//! admission, run at once for a sync action, stored with serde for an
//! async one and decoded by the worker into the same value. A stored
//! operation that does not decode fails loudly; nothing is guessed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::CallerIdentity;
use crate::runtime::{self, InvocationScope, Lane};

/// Everything one driver action invocation needs, beyond the component.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub trace_id: String,
    pub driver_id: String,
    pub action_id: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub caller: CallerIdentity,
    pub idempotency_key: Option<String>,
    /// For a base action an extension action runs: the extension's action
    /// id and payload (set by `base_action.rs`, never stored).
    pub extension: Option<(String, Value)>,
    /// The payload, its lanes and the dry-run flag: what an operation
    /// stores as its `request`.
    pub request: OperationRequest,
}

/// The part of an [`ActionCall`] an operation stores as its `request`
/// (its other fields have columns of their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationRequest {
    /// The validated payload object.
    pub payload: Value,
    pub dry_run: bool,
    /// The product's lanes: where provider calls may go.
    pub lanes: Vec<Lane>,
}

impl ActionCall {
    /// The WIT invocation record.
    pub fn invocation(&self) -> runtime::Invocation {
        runtime::Invocation {
            trace_id: self.trace_id.clone(),
            driver_id: self.driver_id.clone(),
            action_id: self.action_id.clone(),
            product: self.product.clone(),
            context: self.context.clone(),
            instance: self.instance.clone(),
            request: self.request.payload.to_string(),
            caller: runtime::Caller {
                kind: self.caller.kind.clone(),
                subject: self.caller.subject.clone(),
                claims: self.caller.claims.clone(),
            },
            idempotency_key: self.idempotency_key.clone(),
            dry_run: self.request.dry_run,
            extension: self
                .extension
                .as_ref()
                .map(|(action_id, request)| runtime::ExtensionCall {
                    action_id: action_id.clone(),
                    request: request.to_string(),
                }),
        }
    }

    /// What the invocation may touch: the product's lanes and the record
    /// kinds the action declares.
    pub fn scope(&self, writes_records: &[String]) -> InvocationScope {
        InvocationScope {
            product: self.product.clone(),
            context: self.context.clone(),
            instance: self.instance.clone(),
            lanes: self.request.lanes.clone(),
            writes_records: writes_records.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stored_request_round_trips_and_a_malformed_one_is_refused() {
        let request = OperationRequest {
            payload: json!({"instance": "prod"}),
            dry_run: true,
            lanes: vec![Lane {
                context: "cm".into(),
                instance: "prod".into(),
            }],
        };
        let stored = serde_json::to_value(&request).expect("serialise");
        assert_eq!(
            stored,
            json!({"payload": {"instance": "prod"}, "dry_run": true,
                   "lanes": [{"context": "cm", "instance": "prod"}]})
        );
        let back: OperationRequest = serde_json::from_value(stored).expect("decode");
        assert_eq!(back, request);
        for bad in [
            json!({"payload": {}, "dry_run": false, "lanes": "cm/prod"}),
            json!({"payload": {}, "dry_run": false, "lanes": [{"context": "cm"}]}),
            json!({"payload": {}, "lanes": []}),
        ] {
            assert!(serde_json::from_value::<OperationRequest>(bad).is_err());
        }
    }
}
