//! `hooks`: a base driver calls a named hook; [`ProductHooks`]
//! (`router.rs`) routes it to the product's extension driver.

mod router;

pub use router::{HookDrivers, ProductHooks};

use super::super::bindings::DriverError;
use super::super::bindings::launchplane::driver::hooks;
use super::super::state::InvocationState;

impl hooks::Host for InvocationState {
    async fn call(
        &mut self,
        hook: String,
        payload: String,
    ) -> wasmtime::Result<Result<String, DriverError>> {
        let (Some(scope), Some(invocation)) = (self.scope.clone(), self.invocation.clone()) else {
            self.note("hooks.call", hook.clone(), "denied");
            return Ok(Err(DriverError::Internal(format!(
                "hook `{hook}` cannot be called outside an action invocation"
            ))));
        };
        let result = match self.services.hooks.clone() {
            // No router: no extension driver can be reached, so every hook is
            // the documented no-op success.
            None => Ok("{}".to_string()),
            Some(router) => {
                let name = hook.clone();
                self.call_site()?
                    .run(async move { router.call(&scope, &invocation, &name, &payload).await })
                    .await?
            }
        };
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.note("hooks.call", hook, outcome);
        Ok(result)
    }
}
