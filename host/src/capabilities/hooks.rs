//! Extension hooks: a base driver calls a named hook; the host routes it to
//! the product's driver (from its profile's `driver_id`) when that driver
//! declares the hook in `hooks_implemented`, and otherwise answers `{}` (a
//! no-op success). Hook invocations get the caller's scope without write
//! rights and cannot call further hooks.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::records::Store;
use crate::registry::Registry;
use crate::runtime::{DriverError, HookRouter, HostServices, Invocation, InvocationScope};

/// Routes hooks by product profile.
pub struct ProductHooks {
    registry: Arc<Registry>,
    store: Store,
    /// Capabilities of the hook invocation (no hook router: no recursion).
    services: HostServices,
}

impl ProductHooks {
    pub fn new(registry: Arc<Registry>, store: Store, mut services: HostServices) -> Self {
        services.hooks = None;
        ProductHooks {
            registry,
            store,
            services,
        }
    }
}

#[async_trait]
impl HookRouter for ProductHooks {
    async fn call(
        &self,
        scope: &InvocationScope,
        invocation: &Invocation,
        hook: &str,
        payload: &str,
    ) -> Result<String, DriverError> {
        let profile = self
            .store
            .get_record("product_profile", &scope.product)
            .await
            .map_err(|e| DriverError::Internal(format!("cannot read the product profile: {e}")))?;
        let Some(driver_id) = profile
            .as_ref()
            .and_then(|p| p.document.get("driver_id"))
            .and_then(Value::as_str)
        else {
            return Ok("{}".to_string());
        };
        let driver = self.registry.driver(driver_id).ok_or_else(|| {
            DriverError::Internal(format!(
                "product `{}` names driver `{driver_id}`, which is not loaded",
                scope.product
            ))
        })?;
        if !driver
            .descriptor
            .hooks_implemented
            .iter()
            .any(|h| h == hook)
        {
            return Ok("{}".to_string());
        }
        let hook_scope = InvocationScope {
            writes_records: Vec::new(),
            ..scope.clone()
        };
        let invoked = driver
            .component
            .on_hook(
                hook,
                invocation.clone(),
                payload,
                hook_scope,
                self.services.clone(),
            )
            .await
            .map_err(|e| {
                DriverError::Internal(format!("hook `{hook}` of driver `{driver_id}`: {e}"))
            })?;
        tracing::info!(driver_id, hook, product = %scope.product, ok = invoked.value.is_ok(), "extension hook called");
        invoked.value
    }
}
