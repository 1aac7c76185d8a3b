//! One mutation at a time per product lane, for driver actions that run
//! inside the request.
//!
//! Durable operations already reserve their lane when they are enqueued
//! (`records/operations.rs`). An in-request action of scope `instance`
//! leases the lane for as long as its driver code runs when it changes what
//! runs on the lane (safety `mutation` or `destructive`: a deploy, a
//! promotion, a rollback; dry runs too, since the host cannot tell that
//! driver code makes no provider call) or when it declares a write of lane
//! state replaced in place (inventory, an override record, a rollback
//! plan): drivers change such a record by reading, merging and writing it
//! back, and two of those interleaved lose one caller's change. So two such
//! requests, or one and a queued operation, never interleave on one lane,
//! whichever host serves them. A second caller is refused at once with 409
//! `lane_busy` naming the holder, and can retry once it finishes;
//! append-only evidence writes, reads and preview or context actions (many
//! previews share a context) take no lease.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::invocation::ActionCall;
use crate::error::ApiError;
use crate::ops::Service;
use crate::records::{LaneLease, NewLaneLease, StoreError};
use crate::registry::{ActionDescriptor, RecordMode, Registry, Safety, Scope};

/// Whether an in-request action must hold its lane while it runs: an
/// instance-scoped action that changes what runs on the lane, or that
/// writes state replaced in place (`registry` knows how every kind is
/// kept, the host's and the drivers' declared ones).
pub fn needs_lane(action: &ActionDescriptor, registry: &Registry) -> bool {
    action.scope == Scope::Instance
        && (matches!(action.safety, Safety::Mutation | Safety::Destructive)
            || action
                .writes_records
                .iter()
                .any(|kind| registry.record_mode(kind) == Some(RecordMode::State)))
}

impl Service {
    /// Leases the invocation's lane for an in-request mutation, or says who
    /// holds it. The lease lasts `lease_ms`; the holder's heartbeat
    /// (`ops/attempt.rs`) renews it while the driver runs, so a host that
    /// dies frees it within one `lease_ms`.
    pub async fn lease_lane(&self, call: &ActionCall) -> Result<LaneLease, ApiError> {
        let new = NewLaneLease {
            product: call.product.clone(),
            context: call.context.clone(),
            instance: call.instance.clone(),
            driver_id: call.driver_id.clone(),
            action_id: call.action_id.clone(),
            trace_id: call.trace_id.clone(),
            owner: self.host_id.clone(),
        };
        match self.store.acquire_lane(&new, self.lease_ms).await {
            Ok(lease) => Ok(lease),
            Err(StoreError::LaneBusy { operation_id, .. }) => {
                let active = self.holding_operation(&operation_id).await;
                Err(lane_busy(
                    &new.product,
                    &new.context,
                    &new.instance,
                    format!("operation `{operation_id}`"),
                )
                .with_extra("operation", active))
            }
            Err(StoreError::LaneLeased { holder }) => Err(leased_error(&holder)),
            Err(error) => Err(ApiError::internal(error)),
        }
    }

    /// The operation holding a lane, as a 409 shows it: `null` when it
    /// cannot be read (it may have ended meanwhile).
    pub(crate) async fn holding_operation(&self, operation_id: &str) -> Value {
        let active = self.store.get_operation(operation_id).await.ok().flatten();
        serde_json::to_value(active).unwrap_or(Value::Null)
    }

    /// Ends a lease; a failure is logged (the lease expires on its own).
    pub async fn release_lane(&self, lease: &LaneLease) {
        match self.store.release_lane(lease).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                trace_id = %lease.trace_id, product = %lease.product, instance = %lease.instance,
                "the lane lease had expired before its mutation finished"
            ),
            Err(error) => tracing::error!(
                trace_id = %lease.trace_id, product = %lease.product, instance = %lease.instance,
                %error, "could not release a lane lease; it frees itself when it expires"
            ),
        }
    }
}

/// 409 for a lane held by another in-request mutation.
pub fn leased_error(holder: &LaneLease) -> ApiError {
    lane_busy(
        &holder.product,
        &holder.context,
        &holder.instance,
        format!(
            "`{}` (trace `{}`, since {})",
            holder.action_id, holder.trace_id, holder.acquired_at
        ),
    )
    .with_extra("lease", serde_json::to_value(holder).unwrap_or(Value::Null))
}

fn lane_busy(product: &str, context: &str, instance: &str, holder: String) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "lane_busy",
        format!(
            "Lane {context}/{instance} of product `{product}` is busy with {holder}; retry when it finishes."
        ),
    )
    .with_extra(
        "lane",
        json!({"product": product, "context": context, "instance": instance}),
    )
}
