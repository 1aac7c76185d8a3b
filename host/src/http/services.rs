//! What handlers need from the store beyond plain records: product
//! profiles, host capabilities for driver invocations, and operations.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use crate::capabilities::{ProductHooks, StoreRecords, StoreSettings};
use crate::error::ApiError;
use crate::records::models::product_profile::ProductProfile;
use crate::records::{NewOperation, Operation, StoreError};
use crate::registry::{ActionDescriptor, RouteTarget};
use crate::runtime::{HostServices, Invocation};

impl AppState {
    /// The stored profile of `product`, if any.
    pub async fn product_profile(&self, product: &str) -> Result<Option<ProductProfile>, ApiError> {
        let Some(record) = self
            .store
            .get_record("product_profile", product)
            .await
            .map_err(ApiError::internal)?
        else {
            return Ok(None);
        };
        serde_json::from_value(record.document)
            .map(Some)
            .map_err(|e| {
                ApiError::internal(format!(
                    "stored product profile `{product}` is malformed: {e}"
                ))
            })
    }

    /// The stored profile of `product`; 404 naming the product when there
    /// is none (every route that acts for a product needs its profile).
    pub async fn require_product_profile(&self, product: &str) -> Result<ProductProfile, ApiError> {
        self.product_profile(product).await?.ok_or_else(|| {
            ApiError::not_found(format!(
                "No Launchplane product profile for product `{product}`."
            ))
        })
    }

    /// Host capabilities for a driver invocation.
    pub fn host_services(&self) -> HostServices {
        self.host_services_for("")
    }

    pub fn host_services_for(&self, trace_id: &str) -> HostServices {
        let mut services = self.services.clone();
        services.records = Some(std::sync::Arc::new(StoreRecords::new(
            self.store.clone(),
            trace_id,
        )));
        services.settings = Some(std::sync::Arc::new(StoreSettings::new(self.store.clone())));
        // Hooks reach the product's extension driver with the same
        // capabilities (minus hooks: no recursion).
        services.hooks = Some(std::sync::Arc::new(ProductHooks::new(
            self.registry(),
            self.store.clone(),
            services.clone(),
        )));
        services
    }

    /// Creates the durable operation of an async action, reserving its lane.
    pub async fn enqueue_operation(
        &self,
        target: &RouteTarget,
        action: &ActionDescriptor,
        invocation: &Invocation,
        caller: Value,
        lanes: Value,
    ) -> Result<Operation, ApiError> {
        let created = crate::time::now_rfc3339().replace([':', '-'], "");
        let operation_id = format!(
            "{}-{}-{}-{}-{}-{}",
            target.driver_id,
            action.action_id.replace('_', "-"),
            invocation.context,
            invocation.instance,
            created,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let request: Value = serde_json::from_str(&invocation.request).unwrap_or(Value::Null);
        let new = NewOperation {
            operation_id,
            product: invocation.product.clone(),
            context: invocation.context.clone(),
            instance: invocation.instance.clone(),
            driver_id: target.driver_id.clone(),
            action_id: action.action_id.clone(),
            request: json!({"payload": request, "dry_run": invocation.dry_run, "lanes": lanes}),
            idempotency_key: invocation.idempotency_key.clone().unwrap_or_default(),
            trace_id: invocation.trace_id.clone(),
            caller,
        };
        match self.store.create_operation(&new).await {
            Ok(operation) => Ok(operation),
            Err(StoreError::LaneBusy { operation_id, .. }) => {
                let active = self.holding_operation(&operation_id).await;
                Err(ApiError::new(
                    StatusCode::CONFLICT,
                    // `odoo_stable_bootstrap_operation_active`, as the original.
                    leak_code(format!("{}_{}_operation_active", target.driver_id.replace('-', "_"), action.action_id)),
                    format!(
                        "Lane {}/{} of product `{}` already has an active operation `{operation_id}`.",
                        new.context, new.instance, new.product
                    ),
                )
                .with_extra("operation", active))
            }
            Err(StoreError::LaneLeased { holder }) => Err(super::lanes::leased_error(&holder)),
            Err(error) => Err(ApiError::internal(error)),
        }
    }
}

/// Error codes are `&'static str`; per-action codes are few and fixed by the
/// loaded descriptors, so interning them once is bounded.
fn leak_code(code: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static CODES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let codes = CODES.get_or_init(|| Mutex::new(HashSet::new()));
    let mut codes = match codes.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(existing) = codes.get(code.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(code.into_boxed_str());
    codes.insert(leaked);
    leaked
}
