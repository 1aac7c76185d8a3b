//! `provider`: provider operations in provider-neutral words. The binding
//! checks that the lane or context is the invocation's product's;
//! [`ProviderCapability`] (`capability.rs`) maps the calls onto the
//! backend, [`crate::providers::DeployProvider`] (Dokploy, simulated).
//!
//! A new provider operation touches: the WIT (`wit/driver.wit`), this
//! folder (binding and mapping), `providers/mod.rs` (the backend trait) and
//! its implementations (`providers/dokploy/`, `providers/simulated.rs`), and
//! the SDK (`sdk/src/host.rs`, `guest.rs`, `testing.rs`).

mod capability;

pub use capability::{ProviderCapability, host_error};

use super::super::bindings::launchplane::driver::provider;
use super::super::state::InvocationState;
use super::call::{HostResult, fenced, outcome};

/// The job name of the WIT's unnamed `run-job`.
pub const DEFAULT_JOB_NAME: &str = "launchplane-job";

/// Provider calls share one shape: check the lane, find the provider, run
/// the call within the budget, note the outcome and count it
/// ([`crate::metrics::provider_call`]).
/// `effect` calls (they change the lane) pass the invocation's effect
/// fence first (`../effects.rs`).
macro_rules! lane_call {
    (effect $self:ident, $function:literal, $context:expr, $instance:expr, |$provider:ident, $lane:ident| $call:expr) => {{
        let fence = $self.services.effects.clone();
        lane_call!(
            $self,
            $function,
            $context,
            $instance,
            |$provider, $lane| async move {
                fenced(fence).await?;
                $call.await
            }
        )
    }};
    ($self:ident, $function:literal, $context:expr, $instance:expr, |$provider:ident, $lane:ident| $call:expr) => {{
        let $lane = match $self.lane_for($function, &$context, &$instance) {
            Ok(lane) => lane,
            Err(e) => return Ok(Err(e)),
        };
        let Some($provider) = $self.services.provider.clone() else {
            return Ok(Err($self.unavailable($function, "provider")));
        };
        let summary = format!("{}/{}", $lane.context, $lane.instance);
        let started = std::time::Instant::now();
        let result = $self.call_site()?.run(async move { $call.await }).await?;
        crate::metrics::provider_call($function, outcome(&result), started.elapsed());
        $self.note($function, summary, outcome(&result));
        Ok(result)
    }};
}

macro_rules! context_call {
    (effect $self:ident, $function:literal, $context:expr, $summary:expr, |$provider:ident| $call:expr) => {{
        let fence = $self.services.effects.clone();
        context_call!(
            $self,
            $function,
            $context,
            $summary,
            |$provider| async move {
                fenced(fence).await?;
                $call.await
            }
        )
    }};
    ($self:ident, $function:literal, $context:expr, $summary:expr, |$provider:ident| $call:expr) => {{
        if let Err(e) = $self.context_for($function, &$context) {
            return Ok(Err(e));
        }
        let Some($provider) = $self.services.provider.clone() else {
            return Ok(Err($self.unavailable($function, "provider")));
        };
        let summary = $summary;
        let started = std::time::Instant::now();
        let result = $self.call_site()?.run(async move { $call.await }).await?;
        crate::metrics::provider_call($function, outcome(&result), started.elapsed());
        $self.note($function, summary, outcome(&result));
        Ok(result)
    }};
}

impl provider::Host for InvocationState {
    async fn resolve_target(
        &mut self,
        context: String,
        instance: String,
    ) -> HostResult<provider::Target> {
        lane_call!(
            self,
            "provider.resolve-target",
            context,
            instance,
            |p, lane| p.resolve_target(&lane)
        )
    }

    async fn env_keys(&mut self, context: String, instance: String) -> HostResult<Vec<String>> {
        lane_call!(self, "provider.env-keys", context, instance, |p, lane| p
            .env_keys(&lane))
    }

    async fn update_env(
        &mut self,
        context: String,
        instance: String,
        set: Vec<(String, String)>,
        unset: Vec<String>,
    ) -> HostResult<()> {
        lane_call!(effect self, "provider.update-env", context, instance, |p, lane| p
            .update_env(&lane, &set, &unset))
    }

    async fn set_image(
        &mut self,
        context: String,
        instance: String,
        image_reference: String,
    ) -> HostResult<()> {
        lane_call!(effect self, "provider.set-image", context, instance, |p, lane| p
            .set_image(&lane, &image_reference))
    }

    async fn deploy(
        &mut self,
        context: String,
        instance: String,
        timeout_seconds: u32,
    ) -> HostResult<provider::DeployOutcome> {
        lane_call!(effect self, "provider.deploy", context, instance, |p, lane| p
            .deploy(&lane, timeout_seconds))
    }

    async fn run_job(
        &mut self,
        context: String,
        instance: String,
        command: Vec<String>,
        timeout_seconds: u32,
    ) -> HostResult<provider::JobOutcome> {
        lane_call!(effect self, "provider.run-job", context, instance, |p, lane| p
            .run_job(&lane, DEFAULT_JOB_NAME, &command, timeout_seconds))
    }

    async fn run_named_job(
        &mut self,
        context: String,
        instance: String,
        name: String,
        command: Vec<String>,
        timeout_seconds: u32,
    ) -> HostResult<provider::JobOutcome> {
        lane_call!(
            effect self,
            "provider.run-named-job",
            context,
            instance,
            |p, lane| p.run_job(&lane, &name, &command, timeout_seconds)
        )
    }

    async fn list_preview_apps(
        &mut self,
        context: String,
        name_prefix: String,
    ) -> HostResult<Vec<provider::PreviewApp>> {
        context_call!(
            self,
            "provider.list-preview-apps",
            context,
            name_prefix.clone(),
            |p| p.list_preview_apps(&context, &name_prefix)
        )
    }

    async fn create_preview_app(
        &mut self,
        context: String,
        name: String,
        image_reference: String,
        domains: Vec<String>,
        env: Vec<(String, String)>,
    ) -> HostResult<provider::PreviewApp> {
        context_call!(
            effect self,
            "provider.create-preview-app",
            context,
            name.clone(),
            |p| p.create_preview_app(&context, &name, &image_reference, &domains, &env)
        )
    }

    async fn run_preview_job(
        &mut self,
        context: String,
        app_name: String,
        name: String,
        command: Vec<String>,
        timeout_seconds: u32,
    ) -> HostResult<provider::JobOutcome> {
        context_call!(
            effect self,
            "provider.run-preview-job",
            context,
            format!("{context}/{app_name} {name}"),
            |p| p.run_preview_job(&context, &app_name, &name, &command, timeout_seconds)
        )
    }

    async fn delete_preview_app(&mut self, context: String, name: String) -> HostResult<()> {
        context_call!(
            effect self,
            "provider.delete-preview-app",
            context,
            name.clone(),
            |p| p.delete_preview_app(&context, &name)
        )
    }
}
