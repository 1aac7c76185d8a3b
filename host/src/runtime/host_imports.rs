//! The driver world's imports, implemented over [`HostServices`] and
//! enforced against the invocation's [`InvocationScope`].
//!
//! Every call is bounded by what is left of the invocation deadline, leaves
//! a line in the transcript, and is denied (not forwarded) when it reaches
//! outside the scope: a record kind the action did not declare, a lane that
//! is not one of the product's.

use std::future::Future;
use std::time::Duration;

use super::bindings::launchplane::driver::{
    clock, hooks, log, probe, provider, records, settings, types,
};
use tokio::runtime::Handle;

use super::bindings::{DriverError, HostError};
use super::guest_pool;
use super::limits::DeadlineExceeded;
use super::services::{DEFAULT_JOB_NAME, InvocationScope, Lane};
use super::state::InvocationState;

type HostResult<T> = wasmtime::Result<Result<T, HostError>>;

fn outcome<T>(result: &Result<T, HostError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(HostError::Denied(_)) => "denied",
        Err(HostError::NotFound(_)) => "not-found",
        Err(HostError::Invalid(_)) => "invalid",
        Err(HostError::Unavailable(_)) => "unavailable",
        Err(HostError::ProviderFailed(_)) => "provider-failed",
        Err(HostError::Timeout(_)) => "timeout",
    }
}

/// Where and for how long a host call may run: what is left of the
/// invocation's budget, on the runtime that admitted it.
struct HostCallSite {
    remaining: Duration,
    deadline_ms: u64,
    host: Option<Handle>,
}

impl HostCallSite {
    /// Runs a host-side future on the admitting runtime, not on the guest
    /// thread (see `guest_pool`); a call that outlives the budget ends the
    /// invocation, and is cancelled.
    async fn run<T: Send + 'static>(
        self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> wasmtime::Result<T> {
        let call = guest_pool::on_host(self.host.as_ref(), future);
        match tokio::time::timeout(self.remaining, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(wasmtime::Error::msg(message)),
            Err(_) => Err(DeadlineExceeded {
                deadline_ms: self.deadline_ms,
            }
            .into()),
        }
    }
}

impl InvocationState {
    /// What is left of the invocation's budget, and where host calls run;
    /// no budget left ends the invocation.
    fn call_site(&self) -> wasmtime::Result<HostCallSite> {
        let deadline = self.limits.deadline();
        let spent = self.started.elapsed();
        let deadline_ms = self.limits.deadline_ms;
        if spent >= deadline {
            return Err(DeadlineExceeded { deadline_ms }.into());
        }
        Ok(HostCallSite {
            remaining: deadline - spent,
            deadline_ms,
            host: self.host.clone(),
        })
    }

    fn scope_for(&mut self, function: &str) -> Result<InvocationScope, HostError> {
        match &self.scope {
            Some(scope) => Ok(scope.clone()),
            None => {
                self.note(function, String::new(), "denied");
                Err(HostError::Denied(format!(
                    "`{function}` is not available outside an action invocation"
                )))
            }
        }
    }

    fn lane_for(
        &mut self,
        function: &str,
        context: &str,
        instance: &str,
    ) -> Result<Lane, HostError> {
        let scope = self.scope_for(function)?;
        if !scope.allows_lane(context, instance) {
            self.note(function, format!("{context}/{instance}"), "denied");
            tracing::warn!(driver_id = %self.driver_id, trace_id = %self.trace_id, function, context, instance,
                "driver reached for a lane outside its product");
            return Err(HostError::Denied(format!(
                "lane {context}/{instance} is not a lane of product `{}`",
                scope.product
            )));
        }
        Ok(Lane {
            context: context.to_string(),
            instance: instance.to_string(),
        })
    }

    fn context_for(&mut self, function: &str, context: &str) -> Result<(), HostError> {
        let scope = self.scope_for(function)?;
        if !scope.allows_context(context) {
            self.note(function, context.to_string(), "denied");
            return Err(HostError::Denied(format!(
                "context `{context}` is not a context of product `{}`",
                scope.product
            )));
        }
        Ok(())
    }

    fn unavailable(&mut self, function: &str, capability: &str) -> HostError {
        self.note(function, String::new(), "unavailable");
        HostError::Unavailable(format!(
            "the {capability} capability is not configured on this host"
        ))
    }
}

impl types::Host for InvocationState {}

impl log::Host for InvocationState {
    async fn emit(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let (driver_id, trace_id) = (&*self.driver_id, &*self.trace_id);
        match level {
            log::Level::Trace => tracing::trace!(driver_id, trace_id, "{message}"),
            log::Level::Debug => tracing::debug!(driver_id, trace_id, "{message}"),
            log::Level::Info => tracing::info!(driver_id, trace_id, "{message}"),
            log::Level::Warn => tracing::warn!(driver_id, trace_id, "{message}"),
            log::Level::Error => tracing::error!(driver_id, trace_id, "{message}"),
        }
        Ok(())
    }
}

impl clock::Host for InvocationState {
    async fn now(&mut self) -> wasmtime::Result<String> {
        // Microseconds: drivers derive record ids from this timestamp, and
        // two lifecycle steps within one second must not share an id.
        Ok(crate::time::now_rfc3339_micros())
    }
}

impl records::Host for InvocationState {
    async fn get(&mut self, kind: String, record_id: String) -> HostResult<Option<String>> {
        let scope = match self.scope_for("records.get") {
            Ok(scope) => scope,
            Err(e) => return Ok(Err(e)),
        };
        let Some(records) = self.services.records.clone() else {
            return Ok(Err(self.unavailable("records.get", "records")));
        };
        let (k, id) = (kind.clone(), record_id.clone());
        let result = self
            .call_site()?
            .run(async move { records.get(&scope, &k, &id).await })
            .await?;
        self.note(
            "records.get",
            format!("{kind} {record_id}"),
            outcome(&result),
        );
        Ok(result)
    }

    async fn list(&mut self, kind: String, query: records::RecordQuery) -> HostResult<Vec<String>> {
        let scope = match self.scope_for("records.list") {
            Ok(scope) => scope,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(context) = &query.context
            && let Err(e) = self.context_for("records.list", context)
        {
            return Ok(Err(e));
        }
        let Some(records) = self.services.records.clone() else {
            return Ok(Err(self.unavailable("records.list", "records")));
        };
        let k = kind.clone();
        let result = self
            .call_site()?
            .run(async move { records.list(&scope, &k, &query).await })
            .await?;
        self.note("records.list", kind, outcome(&result));
        Ok(result)
    }

    async fn put(&mut self, kind: String, document: String) -> HostResult<String> {
        let scope = match self.scope_for("records.put") {
            Ok(scope) => scope,
            Err(e) => return Ok(Err(e)),
        };
        if !scope.allows_write(&kind) {
            self.note("records.put", kind.clone(), "denied");
            tracing::warn!(driver_id = %self.driver_id, trace_id = %self.trace_id, kind,
                "driver tried to write a record kind its action does not declare");
            return Ok(Err(HostError::Denied(format!(
                "this action does not declare `{kind}` in writes_records"
            ))));
        }
        let Some(records) = self.services.records.clone() else {
            return Ok(Err(self.unavailable("records.put", "records")));
        };
        let k = kind.clone();
        let result = self
            .call_site()?
            .run(async move { records.put(&scope, &k, &document).await })
            .await?;
        self.note("records.put", kind, outcome(&result));
        Ok(result)
    }
}

/// Provider calls share one shape: check the lane, find the provider, run
/// the call within the budget, note the outcome.
macro_rules! lane_call {
    ($self:ident, $function:literal, $context:expr, $instance:expr, |$provider:ident, $lane:ident| $call:expr) => {{
        let $lane = match $self.lane_for($function, &$context, &$instance) {
            Ok(lane) => lane,
            Err(e) => return Ok(Err(e)),
        };
        let Some($provider) = $self.services.provider.clone() else {
            return Ok(Err($self.unavailable($function, "provider")));
        };
        let summary = format!("{}/{}", $lane.context, $lane.instance);
        let result = $self.call_site()?.run(async move { $call.await }).await?;
        $self.note($function, summary, outcome(&result));
        Ok(result)
    }};
}

macro_rules! context_call {
    ($self:ident, $function:literal, $context:expr, $summary:expr, |$provider:ident| $call:expr) => {{
        if let Err(e) = $self.context_for($function, &$context) {
            return Ok(Err(e));
        }
        let Some($provider) = $self.services.provider.clone() else {
            return Ok(Err($self.unavailable($function, "provider")));
        };
        let summary = $summary;
        let result = $self.call_site()?.run(async move { $call.await }).await?;
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
        lane_call!(self, "provider.update-env", context, instance, |p, lane| p
            .update_env(&lane, &set, &unset))
    }

    async fn set_image(
        &mut self,
        context: String,
        instance: String,
        image_reference: String,
    ) -> HostResult<()> {
        lane_call!(self, "provider.set-image", context, instance, |p, lane| p
            .set_image(&lane, &image_reference))
    }

    async fn deploy(
        &mut self,
        context: String,
        instance: String,
        timeout_seconds: u32,
    ) -> HostResult<provider::DeployOutcome> {
        lane_call!(self, "provider.deploy", context, instance, |p, lane| p
            .deploy(&lane, timeout_seconds))
    }

    async fn run_job(
        &mut self,
        context: String,
        instance: String,
        command: Vec<String>,
        timeout_seconds: u32,
    ) -> HostResult<provider::JobOutcome> {
        lane_call!(self, "provider.run-job", context, instance, |p, lane| p
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
            self,
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
            self,
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
            self,
            "provider.run-preview-job",
            context,
            format!("{context}/{app_name} {name}"),
            |p| p.run_preview_job(&context, &app_name, &name, &command, timeout_seconds)
        )
    }

    async fn delete_preview_app(&mut self, context: String, name: String) -> HostResult<()> {
        context_call!(
            self,
            "provider.delete-preview-app",
            context,
            name.clone(),
            |p| p.delete_preview_app(&context, &name)
        )
    }
}

impl probe::Host for InvocationState {
    async fn check(&mut self, check: probe::HealthCheck) -> HostResult<probe::HealthResult> {
        if let Err(e) = self.scope_for("probe.check") {
            return Ok(Err(e));
        }
        let Some(probe) = self.services.probe.clone() else {
            return Ok(Err(self.unavailable("probe.check", "probe")));
        };
        let summary = check.urls.join(" ");
        let result = self
            .call_site()?
            .run(async move { probe.check(&check).await })
            .await?;
        self.note("probe.check", summary, outcome(&result));
        Ok(result)
    }

    async fn check_content(
        &mut self,
        check: probe::ContentCheck,
    ) -> HostResult<probe::HealthResult> {
        if let Err(e) = self.scope_for("probe.check-content") {
            return Ok(Err(e));
        }
        let Some(probe) = self.services.probe.clone() else {
            return Ok(Err(self.unavailable("probe.check-content", "probe")));
        };
        let summary = check.urls.join(" ");
        let result = self
            .call_site()?
            .run(async move { probe.check_content(&check).await })
            .await?;
        self.note("probe.check-content", summary, outcome(&result));
        Ok(result)
    }
}

/// At most this many keys per `settings.resolve` call.
const MAX_SETTING_KEYS: usize = 64;

impl settings::Host for InvocationState {
    async fn resolve(
        &mut self,
        context: String,
        instance: String,
        keys: Vec<String>,
    ) -> HostResult<Vec<(String, String)>> {
        const FUNCTION: &str = "settings.resolve";
        let lane = match self.lane_for(FUNCTION, &context, &instance) {
            Ok(lane) => lane,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_setting_keys(&keys) {
            self.note(FUNCTION, format!("{context}/{instance}"), "invalid");
            return Ok(Err(e));
        }
        let Some(settings) = self.services.settings.clone() else {
            return Ok(Err(self.unavailable(FUNCTION, "settings")));
        };
        // The transcript names the keys asked for, never a value.
        let summary = format!("{context}/{instance} {}", keys.join(","));
        let result = self
            .call_site()?
            .run(async move { settings.resolve(&lane, &keys).await })
            .await?;
        self.note(FUNCTION, summary, outcome(&result));
        Ok(result)
    }
}

/// Keys a driver may ask for: a bounded list of non-blank keys, none of
/// them secret-shaped (those live in managed secrets, which drivers never
/// see; asking is a driver bug worth a clear refusal).
fn check_setting_keys(keys: &[String]) -> Result<(), HostError> {
    if keys.len() > MAX_SETTING_KEYS {
        return Err(HostError::Invalid(format!(
            "at most {MAX_SETTING_KEYS} keys per call (got {})",
            keys.len()
        )));
    }
    for key in keys {
        if key.trim().is_empty() || key.len() > 256 {
            return Err(HostError::Invalid(
                "setting keys must be non-blank and at most 256 bytes".into(),
            ));
        }
        if crate::secrets::is_secret_shaped(key) {
            return Err(HostError::Invalid(format!(
                "`{key}` is secret-shaped: secrets are never given to drivers"
            )));
        }
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_may_ask_for_plain_settings_only() {
        let keys = |list: &[&str]| list.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert!(check_setting_keys(&keys(&["ODOO_VERSION", "KEYCLOAK_URL", "TOKENS"])).is_ok());
        for secret in ["GITHUB_TOKEN", "api_key", "DB_PASSWORD", "WEBHOOK_SECRET"] {
            let error = check_setting_keys(&keys(&["ODOO_VERSION", secret])).expect_err(secret);
            assert!(
                matches!(&error, HostError::Invalid(m) if m.contains(secret)),
                "{error:?}"
            );
        }
        assert!(check_setting_keys(&keys(&[" "])).is_err());
        let many: Vec<String> = (0..=MAX_SETTING_KEYS).map(|i| format!("K{i}")).collect();
        assert!(check_setting_keys(&many).is_err());
    }
}
