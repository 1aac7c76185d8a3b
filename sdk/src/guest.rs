//! Component glue: the WIT bindings, a [`Host`] over the imports, and the
//! conversions behind [`export_driver!`](crate::export_driver).

use serde_json::Value;

use crate::action::Reply;
use crate::context::{Caller, Invocation};
use crate::descriptor as sdk;
use crate::driver::Driver;
use crate::error::{DriverError, HostError};
use crate::host::{
    ContentCheck, DeployOutcome, HealthCheck, HealthResult, Host, JobOutcome, LogLevel, PreviewApp,
    PullRequest, PullRequestComment, RecordQuery, Target,
};

pub use wit_bindgen;

#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "driver",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "launchplane_sdk::guest::bindings",
        runtime_path: "launchplane_sdk::guest::wit_bindgen::rt",
    });
}

use bindings::launchplane::driver as wit;

/// [`Host`] over the component's imports.
pub struct ComponentHost;

fn host_error(error: wit::types::HostError) -> HostError {
    use wit::types::HostError as E;
    match error {
        E::Denied(m) => HostError::Denied(m),
        E::NotFound(m) => HostError::NotFound(m),
        E::Invalid(m) => HostError::Invalid(m),
        E::Unavailable(m) => HostError::Unavailable(m),
        E::ProviderFailed(m) => HostError::ProviderFailed(m),
        E::Timeout(m) => HostError::Timeout(m),
    }
}

fn job_outcome(o: wit::provider::JobOutcome) -> JobOutcome {
    JobOutcome {
        status: o.status,
        exit_code: o.exit_code,
        detail: o.detail,
    }
}

fn parse_record(kind: &str, text: &str) -> Result<Value, HostError> {
    serde_json::from_str(text)
        .map_err(|e| HostError::Invalid(format!("host returned a malformed {kind} record: {e}")))
}

impl Host for ComponentHost {
    fn log(&self, level: LogLevel, message: &str) {
        use wit::log::Level;
        let level = match level {
            LogLevel::Trace => Level::Trace,
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warn => Level::Warn,
            LogLevel::Error => Level::Error,
        };
        wit::log::emit(level, message);
    }

    fn now(&self) -> String {
        wit::clock::now()
    }

    fn record_get(&self, kind: &str, record_id: &str) -> Result<Option<Value>, HostError> {
        match wit::records::get(kind, record_id).map_err(host_error)? {
            Some(text) => parse_record(kind, &text).map(Some),
            None => Ok(None),
        }
    }

    fn record_list(&self, kind: &str, query: &RecordQuery) -> Result<Vec<Value>, HostError> {
        let query = wit::records::RecordQuery {
            context: query.context.clone(),
            instance: query.instance.clone(),
            limit: query.limit,
        };
        wit::records::list(kind, &query)
            .map_err(host_error)?
            .iter()
            .map(|text| parse_record(kind, text))
            .collect()
    }

    fn record_put(&self, kind: &str, record: &Value) -> Result<String, HostError> {
        wit::records::put(kind, &record.to_string()).map_err(host_error)
    }

    fn resolve_target(&self, context: &str, instance: &str) -> Result<Target, HostError> {
        let t = wit::provider::resolve_target(context, instance).map_err(host_error)?;
        Ok(Target {
            context: t.context,
            instance: t.instance,
            target_type: t.target_type,
            target_name: t.target_name,
            domains: t.domains,
            healthcheck_path: t.healthcheck_path,
        })
    }

    fn env_keys(&self, context: &str, instance: &str) -> Result<Vec<String>, HostError> {
        wit::provider::env_keys(context, instance).map_err(host_error)
    }

    fn update_env(
        &self,
        context: &str,
        instance: &str,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), HostError> {
        wit::provider::update_env(context, instance, set, unset).map_err(host_error)
    }

    fn set_image(
        &self,
        context: &str,
        instance: &str,
        image_reference: &str,
    ) -> Result<(), HostError> {
        wit::provider::set_image(context, instance, image_reference).map_err(host_error)
    }

    fn deploy(
        &self,
        context: &str,
        instance: &str,
        timeout_seconds: u32,
    ) -> Result<DeployOutcome, HostError> {
        let o = wit::provider::deploy(context, instance, timeout_seconds).map_err(host_error)?;
        Ok(DeployOutcome {
            status: o.status,
            detail: o.detail,
            started_at: o.started_at,
            finished_at: o.finished_at,
        })
    }

    fn run_job(
        &self,
        context: &str,
        instance: &str,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError> {
        let o = wit::provider::run_named_job(context, instance, name, command, timeout_seconds)
            .map_err(host_error)?;
        Ok(job_outcome(o))
    }

    fn run_preview_job(
        &self,
        context: &str,
        app_name: &str,
        name: &str,
        command: &[String],
        timeout_seconds: u32,
    ) -> Result<JobOutcome, HostError> {
        let o = wit::provider::run_preview_job(context, app_name, name, command, timeout_seconds)
            .map_err(host_error)?;
        Ok(job_outcome(o))
    }

    fn sleep(&self, milliseconds: u32) {
        // A WASI clock wait: the host parks the guest, not a thread.
        std::thread::sleep(std::time::Duration::from_millis(milliseconds.into()));
    }

    fn list_preview_apps(
        &self,
        context: &str,
        name_prefix: &str,
    ) -> Result<Vec<PreviewApp>, HostError> {
        Ok(wit::provider::list_preview_apps(context, name_prefix)
            .map_err(host_error)?
            .into_iter()
            .map(preview_app)
            .collect())
    }

    fn create_preview_app(
        &self,
        context: &str,
        name: &str,
        image_reference: &str,
        domains: &[String],
        env: &[(String, String)],
    ) -> Result<PreviewApp, HostError> {
        wit::provider::create_preview_app(context, name, image_reference, domains, env)
            .map(preview_app)
            .map_err(host_error)
    }

    fn delete_preview_app(&self, context: &str, name: &str) -> Result<(), HostError> {
        wit::provider::delete_preview_app(context, name).map_err(host_error)
    }

    fn settings(
        &self,
        context: &str,
        instance: &str,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, HostError> {
        wit::settings::resolve(context, instance, keys).map_err(host_error)
    }

    fn preview_base_url(&self, context: &str) -> Result<Option<String>, HostError> {
        wit::settings::preview_base_url(context).map_err(host_error)
    }

    fn github_open_pull_requests(
        &self,
        context: &str,
        repository: &str,
        label: &str,
        max_pages: u32,
    ) -> Result<Vec<PullRequest>, HostError> {
        Ok(
            wit::github::open_pull_requests(context, repository, label, max_pages)
                .map_err(host_error)?
                .into_iter()
                .map(|p| PullRequest {
                    number: p.number,
                    html_url: p.html_url,
                    head_sha: p.head_sha,
                    labels: p.labels,
                })
                .collect(),
        )
    }

    fn github_upsert_comment(
        &self,
        context: &str,
        repository: &str,
        number: u64,
        marker: &str,
        body: &str,
        delete: bool,
    ) -> Result<PullRequestComment, HostError> {
        wit::github::upsert_comment(context, repository, number, marker, body, delete)
            .map(|c| PullRequestComment {
                action: c.action,
                comment_id: c.comment_id,
                html_url: c.html_url,
            })
            .map_err(host_error)
    }

    fn github_dispatch_workflow(
        &self,
        context: &str,
        repository: &str,
        workflow_id: &str,
        git_ref: &str,
        inputs: &[(String, String)],
    ) -> Result<(), HostError> {
        wit::github::dispatch_workflow(context, repository, workflow_id, git_ref, inputs)
            .map_err(host_error)
    }

    fn health_check(&self, check: &HealthCheck) -> Result<HealthResult, HostError> {
        let check = wit::probe::HealthCheck {
            urls: check.urls.clone(),
            timeout_ms: check.timeout_ms,
            poll_for_ms: check.poll_for_ms,
            expected_identity: check.expected_identity.clone(),
        };
        wit::probe::check(&check)
            .map(health_result)
            .map_err(host_error)
    }

    fn content_check(&self, check: &ContentCheck) -> Result<HealthResult, HostError> {
        let check = wit::probe::ContentCheck {
            urls: check.urls.clone(),
            timeout_ms: check.timeout_ms,
            poll_for_ms: check.poll_for_ms,
            json_fields: check.json_fields.clone(),
            contains: check.contains.clone(),
        };
        wit::probe::check_content(&check)
            .map(health_result)
            .map_err(host_error)
    }

    fn call_hook(&self, hook: &str, payload: &str) -> Result<String, DriverError> {
        wit::hooks::call(hook, payload).map_err(driver_error_from_wit)
    }
}

fn health_result(r: wit::probe::HealthResult) -> HealthResult {
    HealthResult {
        status: r.status,
        url: r.url,
        status_code: r.status_code,
        identity: r.identity,
        detail: r.detail,
    }
}

fn preview_app(app: wit::provider::PreviewApp) -> PreviewApp {
    PreviewApp {
        name: app.name,
        domains: app.domains,
        image_reference: app.image_reference,
    }
}

fn driver_error_from_wit(error: wit::types::DriverError) -> DriverError {
    use wit::types::DriverError as E;
    match error {
        E::InvalidRequest(m) => DriverError::InvalidRequest(m),
        E::PreconditionFailed(m) => DriverError::PreconditionFailed(m),
        E::NotFound(m) => DriverError::NotFound(m),
        E::NotImplemented(m) => DriverError::NotImplemented(m),
        E::ProviderFailed(m) => DriverError::ProviderFailed(m),
        E::Internal(m) => DriverError::Internal(m),
        E::UnknownAction(m) => DriverError::UnknownAction(m),
    }
}

fn driver_error_to_wit(error: DriverError) -> wit::types::DriverError {
    use wit::types::DriverError as E;
    match error {
        DriverError::InvalidRequest(m) => E::InvalidRequest(m),
        DriverError::PreconditionFailed(m) => E::PreconditionFailed(m),
        DriverError::NotFound(m) => E::NotFound(m),
        DriverError::NotImplemented(m) => E::NotImplemented(m),
        DriverError::ProviderFailed(m) => E::ProviderFailed(m),
        DriverError::Internal(m) => E::Internal(m),
        DriverError::UnknownAction(m) => E::UnknownAction(m),
    }
}

fn invocation(call: wit::types::Invocation) -> Invocation {
    Invocation {
        trace_id: call.trace_id,
        driver_id: call.driver_id,
        action_id: call.action_id,
        product: call.product,
        context: call.context,
        instance: call.instance,
        request: call.request,
        caller: Caller {
            kind: call.caller.kind,
            subject: call.caller.subject,
            claims: call.caller.claims,
        },
        idempotency_key: call.idempotency_key,
        dry_run: call.dry_run,
        extension: call.extension.map(|e| crate::context::ExtensionCall {
            action_id: e.action_id,
            request: e.request,
        }),
    }
}

fn safety(s: sdk::Safety) -> wit::types::Safety {
    use wit::types::Safety as W;
    match s {
        sdk::Safety::Read => W::Read,
        sdk::Safety::SafeWrite => W::SafeWrite,
        sdk::Safety::Mutation => W::Mutation,
        sdk::Safety::Destructive => W::Destructive,
    }
}

fn scope(s: sdk::Scope) -> wit::types::Scope {
    use wit::types::Scope as W;
    match s {
        sdk::Scope::Global => W::Global,
        sdk::Scope::Context => W::Context,
        sdk::Scope::Instance => W::Instance,
        sdk::Scope::Preview => W::Preview,
    }
}

fn panel(p: sdk::PanelKind) -> wit::types::PanelKind {
    use wit::types::PanelKind as W;
    match p {
        sdk::PanelKind::Summary => W::Summary,
        sdk::PanelKind::LaneHealth => W::LaneHealth,
        sdk::PanelKind::ArtifactEvidence => W::ArtifactEvidence,
        sdk::PanelKind::DeploymentEvidence => W::DeploymentEvidence,
        sdk::PanelKind::PromotionEvidence => W::PromotionEvidence,
        sdk::PanelKind::BackupEvidence => W::BackupEvidence,
        sdk::PanelKind::PreviewInventory => W::PreviewInventory,
        sdk::PanelKind::Settings => W::Settings,
        sdk::PanelKind::SecretBindings => W::SecretBindings,
        sdk::PanelKind::Audit => W::Audit,
    }
}

/// `describe()` of a driver.
pub fn describe(build: fn() -> Driver) -> wit::types::Descriptor {
    let d = build().describe();
    wit::types::Descriptor {
        api_version: d.api_version,
        driver_id: d.driver_id,
        base_driver_id: d.base_driver_id,
        label: d.label,
        product: d.product,
        description: d.description,
        context_patterns: d.context_patterns,
        provider_boundary: d.provider_boundary,
        capabilities: d
            .capabilities
            .into_iter()
            .map(|c| wit::types::CapabilityDescriptor {
                capability_id: c.capability_id,
                label: c.label,
                description: c.description,
                actions: c.actions,
                panels: c.panels.into_iter().map(panel).collect(),
            })
            .collect(),
        actions: d
            .actions
            .into_iter()
            .map(|a| wit::types::ActionDescriptor {
                action_id: a.action_id,
                label: a.label,
                description: a.description,
                safety: safety(a.safety),
                scope: scope(a.scope),
                method: match a.method {
                    sdk::Method::Get => wit::types::HttpMethod::Get,
                    sdk::Method::Post => wit::types::HttpMethod::Post,
                },
                route_path: a.route_path,
                authz_action: a.authz_action,
                operator_visible: a.operator_visible,
                input_schema: a.input_schema.to_string(),
                output_schema: a.output_schema.to_string(),
                writes_records: a.writes_records,
                envelope_key: a.envelope_key,
                execution: match a.execution {
                    sdk::Execution::Sync => wit::types::Execution::Sync,
                    sdk::Execution::Async => wit::types::Execution::Async,
                },
                idempotency: match a.idempotency {
                    sdk::Idempotency::Optional => wit::types::Idempotency::Optional,
                    sdk::Idempotency::Required => wit::types::Idempotency::Required,
                    sdk::Idempotency::None => wit::types::Idempotency::None,
                },
                base_action: a.base_action,
                operation: a.operation.map(|o| wit::types::OperationRoute {
                    poll_path: o.poll_path,
                    active_code: o.active_code,
                    records_key: o.records_key,
                }),
            })
            .collect(),
        setting_groups: d
            .setting_groups
            .into_iter()
            .map(|g| wit::types::SettingGroupDescriptor {
                group_id: g.group_id,
                label: g.label,
                description: g.description,
                scope: scope(g.scope),
                fields: g.fields,
                secret_bindings: g.secret_bindings,
            })
            .collect(),
        hooks_called: d.hooks_called,
        hooks_implemented: d.hooks_implemented,
        record_kinds: d
            .record_kinds
            .into_iter()
            .map(|k| wit::types::RecordKind {
                kind: k.kind,
                mode: match k.mode {
                    sdk::RecordMode::Evidence => wit::types::RecordMode::Evidence,
                    sdk::RecordMode::Immutable => wit::types::RecordMode::Immutable,
                    sdk::RecordMode::State => wit::types::RecordMode::State,
                },
                description: k.description,
            })
            .collect(),
        records_keys: d
            .records_keys
            .into_iter()
            .map(|k| wit::types::RecordsKey {
                key: k.key,
                object: k.object,
            })
            .collect(),
        lane_policies: d
            .lane_policies
            .into_iter()
            .map(|p| wit::types::LanePolicy {
                field: p.field,
                description: p.description,
                schema: p.schema.to_string(),
                lane_status: p.lane_status,
            })
            .collect(),
    }
}

/// `handle()` of a driver.
pub fn handle(
    build: fn() -> Driver,
    call: wit::types::Invocation,
) -> Result<wit::types::Response, wit::types::DriverError> {
    let invocation = invocation(call);
    let Reply {
        result,
        records,
        replayable,
    } = build()
        .handle(&invocation, &ComponentHost)
        .map_err(driver_error_to_wit)?;
    Ok(wit::types::Response {
        records,
        result: result.to_string(),
        replayable,
    })
}

/// `on-hook()` of a driver.
pub fn on_hook(
    build: fn() -> Driver,
    hook: String,
    call: wit::types::Invocation,
    payload: String,
) -> Result<String, wit::types::DriverError> {
    let invocation = invocation(call);
    build()
        .on_hook(&hook, &invocation, &payload, &ComponentHost)
        .map_err(driver_error_to_wit)
}

/// Exports a driver from a component crate:
/// `launchplane_sdk::export_driver!(my_crate::driver);` where `driver` is a
/// `fn() -> launchplane_sdk::Driver`.
#[macro_export]
macro_rules! export_driver {
    ($build:path) => {
        #[doc(hidden)]
        pub struct __LaunchplaneDriver;

        impl $crate::guest::bindings::Guest for __LaunchplaneDriver {
            fn describe() -> $crate::guest::bindings::launchplane::driver::types::Descriptor {
                $crate::guest::describe($build)
            }

            fn handle(
                call: $crate::guest::bindings::launchplane::driver::types::Invocation,
            ) -> Result<
                $crate::guest::bindings::launchplane::driver::types::Response,
                $crate::guest::bindings::launchplane::driver::types::DriverError,
            > {
                $crate::guest::handle($build, call)
            }

            fn on_hook(
                hook: String,
                call: $crate::guest::bindings::launchplane::driver::types::Invocation,
                payload: String,
            ) -> Result<String, $crate::guest::bindings::launchplane::driver::types::DriverError> {
                $crate::guest::on_hook($build, hook, call, payload)
            }
        }

        $crate::guest::bindings::export!(__LaunchplaneDriver with_types_in $crate::guest::bindings);
    };
}
