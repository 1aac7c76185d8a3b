//! Read models (reference §3.2): records by id, lane inventory, preview
//! history, recent activity per context (with the mutations holding its
//! lanes now), operations. Record-level reads authorize against product
//! `launchplane` and the stored record's context, as the original does.

use serde_json::{Value, json};

use super::input::{check_path_id, store_error};
use super::{Call, Reply, Service};
use crate::error::ApiError;
use crate::records::{Operation, RecordQuery, StoredRecord};
use crate::registry::RouteTarget;

const LAUNCHPLANE: &str = "launchplane";

/// A record kind readable by id, with the action its read needs.
#[derive(Debug, Clone, Copy)]
pub enum RecordRead {
    Deployment,
    Promotion,
    Preview,
}

impl RecordRead {
    fn kind(self) -> &'static str {
        match self {
            RecordRead::Deployment => "deployment",
            RecordRead::Promotion => "promotion",
            RecordRead::Preview => "preview",
        }
    }

    fn action(self) -> &'static str {
        match self {
            RecordRead::Deployment => "deployment.read",
            RecordRead::Promotion => "promotion.read",
            RecordRead::Preview => "preview.read",
        }
    }
}

impl Service {
    /// One record by id. It is read first (the original's order): a
    /// missing record is 404 before authorization.
    async fn record_by_id(
        &self,
        call: &Call,
        read: RecordRead,
        record_id: &str,
    ) -> Result<StoredRecord, ApiError> {
        let field = match read {
            RecordRead::Preview => "preview_id",
            RecordRead::Deployment | RecordRead::Promotion => "record_id",
        };
        check_path_id(field, record_id)?;
        let record = self
            .store
            .get_record(read.kind(), record_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::no_route(&call.route))?;
        self.authorize(call, read.action(), LAUNCHPLANE, &record.context, "")
            .await?;
        Ok(record)
    }

    /// `GET /v1/deployments/{id}`, `/v1/promotions/{id}`, `/v1/previews/{id}`:
    /// `{"status":"ok","trace_id","record":…}`.
    pub async fn read_record(
        &self,
        call: &Call,
        read: RecordRead,
        record_id: &str,
    ) -> Result<Reply, ApiError> {
        let record = self.record_by_id(call, read, record_id).await?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({"record": record.document}),
        ))
    }

    /// `GET /v1/previews/{preview_id}/history`.
    pub async fn preview_history(&self, call: &Call, preview_id: &str) -> Result<Reply, ApiError> {
        let record = self
            .record_by_id(call, RecordRead::Preview, preview_id)
            .await?;
        // Generations key their `instance` column by preview id.
        let query = RecordQuery {
            instance: Some(preview_id.to_string()),
            limit: 1000,
            ..Default::default()
        };
        let generations = self
            .store
            .list_records("preview_generation", &query)
            .await
            .map_err(ApiError::internal)?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({
                "preview": record.document,
                "generations": generations.into_iter().map(|g| g.document).collect::<Vec<_>>(),
            }),
        ))
    }

    /// `GET /v1/inventory/{context}/{instance}`.
    pub async fn read_inventory(
        &self,
        call: &Call,
        context: &str,
        instance: &str,
    ) -> Result<Reply, ApiError> {
        check_path_id("context", context)?;
        check_path_id("instance", instance)?;
        self.authorize(call, "inventory.read", LAUNCHPLANE, context, instance)
            .await?;
        let record = self
            .store
            .get_record("inventory", &format!("{context}-{instance}"))
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!("No inventory for lane {context}/{instance}."))
            })?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({"record": record.document}),
        ))
    }

    /// `GET /v1/contexts/{context}/operations/recent`.
    pub async fn recent_operations(&self, call: &Call, context: &str) -> Result<Reply, ApiError> {
        check_path_id("context", context)?;
        self.authorize(call, "operations.read", LAUNCHPLANE, context, "")
            .await?;
        let recent = |kind: &'static str| {
            let query = RecordQuery {
                context: Some(context.to_string()),
                limit: 10,
                ..Default::default()
            };
            async move {
                self.store
                    .list_records(kind, &query)
                    .await
                    .map(|records| records.into_iter().map(|r| r.document).collect::<Vec<_>>())
                    .map_err(ApiError::internal)
            }
        };
        let lane_leases = self
            .store
            .live_lane_leases(context)
            .await
            .map_err(ApiError::internal)?;
        let active_operations = self
            .store
            .active_operations_in(context)
            .await
            .map_err(ApiError::internal)?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({
                "context": context,
                "storage_backend": self.store.backend(),
                "inventory": recent("inventory").await?,
                "recent_deployments": recent("deployment").await?,
                "recent_promotions": recent("promotion").await?,
                "recent_previews": recent("preview").await?,
                // Not in the original: which mutation holds which lane now,
                // the holder a `lane_busy` 409 would name.
                "lane_leases": lane_leases,
                "active_operations": active_operations.iter().map(operation_summary).collect::<Vec<_>>(),
            }),
        ))
    }

    /// `GET /v1/operations/{operation_id}`: authorized with the action that
    /// created the operation, on the operation's own product and lane.
    pub async fn read_operation(&self, call: &Call, operation_id: &str) -> Result<Reply, ApiError> {
        self.answer_operation(call, operation_id, None).await
    }

    /// A driver's poll route for one of its action's operations (declared
    /// `operation.poll_path`, reference §3.2): the same answer as
    /// `GET /v1/operations/{id}`, and 404 before authorization for an
    /// unknown id or an operation of another action.
    pub async fn read_driver_operation(
        &self,
        call: &Call,
        target: &RouteTarget,
        operation_id: &str,
    ) -> Result<Reply, ApiError> {
        self.answer_operation(call, operation_id, Some(target))
            .await
    }

    /// One operation, authorized with the action that created it; with
    /// `only`, an operation of another action is unknown here.
    async fn answer_operation(
        &self,
        call: &Call,
        operation_id: &str,
        only: Option<&RouteTarget>,
    ) -> Result<Reply, ApiError> {
        check_path_id("operation_id", operation_id)?;
        let operation = self
            .store
            .get_operation(operation_id)
            .await
            .map_err(ApiError::internal)?
            .filter(|op| {
                only.is_none_or(|t| t.driver_id == op.driver_id && t.action_id == op.action_id)
            })
            .ok_or_else(|| ApiError::no_route(&call.route))?;
        let authz_action = self
            .registry()
            .driver(&operation.driver_id)
            .and_then(|d| d.descriptor.action(&operation.action_id))
            .map(|a| a.authz_action.clone())
            .unwrap_or_else(|| "operations.read".to_string());
        self.authorize(
            call,
            &authz_action,
            &operation.product,
            &operation.context,
            &operation.instance,
        )
        .await?;
        let result = operation.result.clone();
        let mut record = serde_json::to_value(&operation).map_err(ApiError::internal)?;
        record["poll_url"] = json!(call.route);
        let mut body = json!({"operation": record, "poll_url": call.route});
        if let Some(result) = result {
            body["result"] = result;
        }
        Ok(Reply::ok(&call.trace_id, body))
    }
}

/// An active operation as the context's recent view lists it: which action
/// holds which lane, in what phase, since when. Its request and caller are
/// left to `GET /v1/operations/{id}`, which authorizes with the operation's
/// own action rather than `operations.read`.
fn operation_summary(operation: &Operation) -> Value {
    json!({
        "operation_id": operation.operation_id,
        "product": operation.product,
        "context": operation.context,
        "instance": operation.instance,
        "driver_id": operation.driver_id,
        "action_id": operation.action_id,
        "status": operation.status,
        "phase": operation.phase,
        "trace_id": operation.trace_id,
        "created_at": operation.created_at,
        "started_at": operation.started_at,
    })
}
