//! Extension hooks: a base driver calls a named hook; the host routes it to
//! the product's driver (from its profile's `driver_id`, else the driver
//! whose route was called) when that driver
//! declares the hook in `hooks_implemented`, and otherwise answers `{}` (a
//! no-op success). Hook invocations get the caller's scope without write
//! rights and cannot call further hooks.

use std::sync::Arc;

use serde_json::Value;

use crate::records::Store;
use crate::runtime::{DriverComponent, DriverError, HostServices, Invocation, InvocationScope};

/// The loaded drivers, as hook routing sees them (the registry implements
/// it; the runtime sits below the registry, so it asks through this).
pub trait HookDrivers: Send + Sync {
    /// The component of `driver_id` when that driver declares `hook` in
    /// `hooks_implemented`; `Ok(None)` when it does not; `Err` naming the
    /// driver when it is not loaded.
    fn implementer(&self, driver_id: &str, hook: &str) -> Result<Option<DriverComponent>, String>;
}

/// Routes hooks by product profile.
pub struct ProductHooks {
    drivers: Arc<dyn HookDrivers>,
    store: Store,
    /// Capabilities of the hook invocation (no hook router: no recursion).
    services: HostServices,
}

impl ProductHooks {
    pub fn new(drivers: Arc<dyn HookDrivers>, store: Store, mut services: HostServices) -> Self {
        services.hooks = None;
        ProductHooks {
            drivers,
            store,
            services,
        }
    }
}

impl ProductHooks {
    pub async fn call(
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
        // A product without a profile reaches a base lifecycle only through
        // an extension's route (`invocation.driver_id`): that driver's
        // hooks apply, so its gates hold without a profile too.
        let driver_id = profile
            .as_ref()
            .and_then(|p| p.document.get("driver_id"))
            .and_then(Value::as_str)
            .unwrap_or(invocation.driver_id.as_str());
        let Some(component) = self
            .drivers
            .implementer(driver_id, hook)
            .map_err(|e| DriverError::Internal(format!("product `{}`: {e}", scope.product)))?
        else {
            return Ok("{}".to_string());
        };
        let hook_scope = InvocationScope {
            writes_records: Vec::new(),
            ..scope.clone()
        };
        let invoked = component
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
