//! Odoo post-deploy (reference §11.1): the lane's instance override record,
//! rendered as one typed payload for the phase, persisted to the lane's
//! runtime env, read back, and applied inside the running container by the
//! provider job `platform-data-workflow`, with the required modules merged
//! into `ODOO_INSTALL_MODULES`.
//!
//! Two ways in, one code path ([`apply`]):
//!
//! * the `post-deploy` hook, which generic-web calls after a deploy's
//!   health check passed (phase `promotion` for a promotion, `deploy` for a
//!   stable deploy or a rollback). It answers `{}` when nothing applies and
//!   `{"attempted": true, "detail": …}` after an apply; any failure is an
//!   error, so generic-web records `post_deploy_update` as failed and fails
//!   the deploy. Hook invocations have no write rights: the apply is
//!   recorded in the deployment's `post_deploy_update`, not in the
//!   override record's `last_apply`.
//! * the route `/v1/drivers/odoo/post-deploy`, for a lane and a phase named
//!   in the request. It answers the original's result (a failed apply is a
//!   `fail` result, as there) and writes the record's `last_apply`.
//!
//! Fail-closed rules: an override record this driver cannot read whole, a
//! secret-shaped setting given as a literal, a secret binding whose env key
//! the lane does not hold, a deployed artifact without a stored manifest, an
//! env update the provider did not keep, and a job that did not pass each
//! stop the apply with an error. Secret values never pass through here:
//! a binding travels as the env key the container resolves it from.

use launchplane_sdk::host::HostExt;
use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::DeployHookPayload;
use lifecycle_records::{self as records, ArtifactIdentityManifest};

use crate::checks::{invalid, non_blank, normalized};
use crate::models::{
    OverrideStatus, PassFail, Phase, PostDeployRequest, PostDeployResult, Scalar, WebsiteBootstrap,
};
use crate::overrides::{self, InstanceOverrideRecord, LastApply, OverrideValue};

/// The env key the rendered payload is persisted under (base64 of compact
/// JSON with sorted keys).
pub const PAYLOAD_ENV_KEY: &str = "ODOO_INSTANCE_OVERRIDES_PAYLOAD_B64";
/// The env key of the modules Odoo installs or updates at start.
pub const INSTALL_MODULES_ENV_KEY: &str = "ODOO_INSTALL_MODULES";
/// Modules every Launchplane-managed Odoo lane carries.
pub const REQUIRED_MODULES: [&str; 2] = ["launchplane_settings", "disable_odoo_online"];
/// The provider job that applies the payload (the original's schedule).
pub const JOB_NAME: &str = "platform-data-workflow";
/// What the job runs in the lane's container (the original's schedule
/// command), after the payload env.
pub const APPLY_COMMAND: [&str; 3] = ["control-plane", "post-deploy", "update"];
/// `source_label` of override records whose `last_apply` the route wrote.
pub const SOURCE_LABEL: &str = "odoo-post-deploy-driver";
/// How long the job may run.
pub const JOB_TIMEOUT_SECONDS: u32 = 1800;
/// Lane settings passed to the job beside the payload when the lane sets
/// them (the original runner's env overlay allow-list).
pub const OVERLAY_SETTINGS: [&str; 3] = [
    "ODOO_DB_NAME",
    "ODOO_FILESTORE_PATH",
    "ODOO_DATA_WORKFLOW_LOCK_FILE",
];

// ------------------------------------------------------------ payload

/// A value in the payload: a literal, or the env key a secret binding is
/// resolved from inside the container. Never a secret value.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PayloadValue {
    Literal {
        value: Option<Scalar>,
    },
    SecretBinding {
        secret_binding_id: String,
        environment_variable: String,
    },
}

/// One config parameter of the payload.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PayloadConfigParameter {
    pub key: String,
    pub value: PayloadValue,
}

/// One addon setting of the payload.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PayloadAddonSetting {
    pub addon: String,
    pub setting: String,
    pub value: PayloadValue,
}

/// The payload the container applies: the override record's settings for
/// one phase, in the original's shape.
#[derive(Serialize, Debug, Clone)]
pub struct OverridePayload {
    pub schema_version: u32,
    pub context: String,
    pub instance: String,
    pub config_parameters: Vec<PayloadConfigParameter>,
    pub addon_settings: Vec<PayloadAddonSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website_bootstrap: Option<WebsiteBootstrap>,
}

/// A rendered payload and the env keys the container must hold for it.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub payload: OverridePayload,
    /// Sorted, unique env key names of the secret bindings.
    pub required_env_keys: Vec<String>,
}

/// `ODOO_OVERRIDE_SECRET__CONFIG_PARAM__` + the key upper-cased, `.` → `__`
/// (hyphens kept), as the original names it.
pub fn config_parameter_env_key(key: &str) -> String {
    format!(
        "ODOO_OVERRIDE_SECRET__CONFIG_PARAM__{}",
        key.trim().to_uppercase().replace('.', "__")
    )
}

/// `ODOO_OVERRIDE_SECRET__ADDON__<ADDON>__<SETTING>`, each part
/// upper-cased with `.` → `__` and `-` → `_`.
pub fn addon_setting_env_key(addon: &str, setting: &str) -> String {
    let part = |s: &str| s.trim().to_uppercase().replace('.', "__").replace('-', "_");
    format!(
        "ODOO_OVERRIDE_SECRET__ADDON__{}__{}",
        part(addon),
        part(setting)
    )
}

/// Reference §10.2 for override names: `.` and `-` become `_`, then any
/// `_`-part `PASSWORD`, `TOKEN`, `SECRET` or `KEY` makes it secret-shaped.
pub fn secret_shaped(name: &str) -> bool {
    name.to_uppercase()
        .replace(['.', '-'], "_")
        .split('_')
        .any(|part| matches!(part, "PASSWORD" | "TOKEN" | "SECRET" | "KEY"))
}

fn payload_value(
    name: &str,
    value: &OverrideValue,
    env_key: String,
    required: &mut Vec<String>,
) -> Result<PayloadValue, String> {
    match value {
        OverrideValue::Literal { .. } if secret_shaped(name) => Err(format!(
            "`{name}` is secret-shaped and must be a secret binding, not a literal"
        )),
        OverrideValue::Literal { value } => Ok(PayloadValue::Literal {
            value: value.clone(),
        }),
        OverrideValue::SecretBinding { secret_binding_id } => {
            if secret_binding_id.trim().is_empty() {
                return Err(format!("`{name}` names no secret binding"));
            }
            required.push(env_key.clone());
            Ok(PayloadValue::SecretBinding {
                secret_binding_id: secret_binding_id.trim().to_string(),
                environment_variable: env_key,
            })
        }
    }
}

/// Renders the record's payload; an error says what in the record is wrong.
pub fn render(record: &InstanceOverrideRecord) -> Result<Rendered, String> {
    let mut required = Vec::new();
    let mut config_parameters = Vec::new();
    for parameter in &record.config_parameters {
        let key = parameter.key.trim().to_lowercase();
        if key.is_empty() {
            return Err("a config parameter has a blank key".to_string());
        }
        if config_parameters
            .iter()
            .any(|p: &PayloadConfigParameter| p.key == key)
        {
            return Err(format!("config parameter `{key}` appears twice"));
        }
        let env_key = config_parameter_env_key(&key);
        let value = payload_value(&key, &parameter.value, env_key, &mut required)?;
        config_parameters.push(PayloadConfigParameter { key, value });
    }
    let mut addon_settings = Vec::new();
    for setting in &record.addon_settings {
        let (addon, name) = (
            setting.addon.trim().to_lowercase(),
            setting.setting.trim().to_lowercase(),
        );
        if addon.is_empty() || name.is_empty() {
            return Err("an addon setting has a blank addon or setting".to_string());
        }
        if addon_settings
            .iter()
            .any(|s: &PayloadAddonSetting| s.addon == addon && s.setting == name)
        {
            return Err(format!("addon setting `{addon}.{name}` appears twice"));
        }
        let env_key = addon_setting_env_key(&addon, &name);
        let value = payload_value(&name, &setting.value, env_key, &mut required)?;
        addon_settings.push(PayloadAddonSetting {
            addon,
            setting: name,
            value,
        });
    }
    if config_parameters.is_empty()
        && addon_settings.is_empty()
        && record.website_bootstrap.is_none()
    {
        return Err("it holds no config parameter, addon setting or website bootstrap".to_string());
    }
    required.sort();
    required.dedup();
    Ok(Rendered {
        payload: OverridePayload {
            schema_version: 1,
            context: record.context.trim().to_lowercase(),
            instance: record.instance.trim().to_lowercase(),
            config_parameters,
            addon_settings,
            website_bootstrap: record.website_bootstrap.clone(),
        },
        required_env_keys: required,
    })
}

/// Keys sorted at every level, whatever order the JSON map keeps.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The env value: standard base64 of the compact JSON, keys sorted.
pub fn encode(payload: &OverridePayload) -> Result<String, DriverError> {
    let value = serde_json::to_value(payload).map_err(|e| {
        DriverError::Internal(format!("the override payload does not serialise: {e}"))
    })?;
    Ok(base64(sorted(value).to_string().as_bytes()))
}

/// Standard base64 with padding. Written here rather than taken from a
/// crate: it is all a driver component needs of one.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ALPHABET[index]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The lane's modules (from its `ODOO_INSTALL_MODULES` setting), then the
/// required ones, then the artifact's: comma-separated, each once, in first
/// appearance order.
pub fn merge_modules(current: &str, artifact_modules: &[String]) -> String {
    let mut merged: Vec<String> = Vec::new();
    let current = current.split([',', ' ', '\t']).map(str::to_string);
    let required = REQUIRED_MODULES.iter().map(|m| m.to_string());
    for module in current
        .chain(required)
        .chain(artifact_modules.iter().cloned())
    {
        let module = module.trim().to_string();
        if !module.is_empty() && !merged.contains(&module) {
            merged.push(module);
        }
    }
    merged.join(",")
}

// ------------------------------------------------------------ apply

/// The lane and phase to apply, and the deployed artifact when the caller
/// knows it (the hook does; the route reads the lane's inventory).
pub struct Lane<'a> {
    pub context: &'a str,
    pub instance: &'a str,
    pub phase: Phase,
    pub artifact_id: Option<&'a str>,
}

/// How far an apply got; filled in as it goes, so a failure still says
/// what was found and rendered.
#[derive(Debug, Default)]
pub struct Progress {
    /// The lane's override record, when it has one.
    pub record: Option<InstanceOverrideRecord>,
    /// The record applies to the phase: an apply was attempted.
    pub attempted: bool,
    pub rendered: bool,
    pub required_env_keys: Vec<String>,
    pub website_bootstrap_included: bool,
    /// What was applied, for evidence.
    pub detail: String,
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Restore => "restore",
        Phase::Deploy => "deploy",
        Phase::Promotion => "promotion",
        Phase::Preview => "preview",
        Phase::Manual => "manual",
    }
}

/// Applies the lane's override record for the phase; see the module docs.
/// `Ok` with `progress.attempted == false` when there is nothing to apply.
pub fn apply(ctx: &Ctx<'_>, lane: &Lane<'_>, progress: &mut Progress) -> Result<(), DriverError> {
    let (context, instance) = (lane.context, lane.instance);
    let host = ctx.host();
    let record_id = overrides::record_id(context, instance);
    let record = host
        .get::<InstanceOverrideRecord>(overrides::KIND, &record_id)
        .map_err(|error| match error {
            HostError::Invalid(message) => DriverError::PreconditionFailed(format!(
                "{message}; post-deploy applies only a record it can read whole"
            )),
            other => other.into(),
        })?;
    let Some(record) = record else {
        return Ok(());
    };
    let applies = record.apply_on.contains(&lane.phase);
    progress.record = Some(record.clone());
    if !applies {
        return Ok(());
    }
    progress.attempted = true;
    let phase = phase_name(lane.phase);

    let rendered = render(&record).map_err(|problem| {
        DriverError::PreconditionFailed(format!(
            "override record `{record_id}` cannot be applied: {problem}"
        ))
    })?;
    progress.rendered = true;
    progress.required_env_keys = rendered.required_env_keys.clone();
    progress.website_bootstrap_included = rendered.payload.website_bootstrap.is_some();
    let encoded = encode(&rendered.payload)?;

    let manifest = deployed_manifest(ctx, context, instance, lane.artifact_id)?;
    let mut wanted: Vec<String> = vec![INSTALL_MODULES_ENV_KEY.to_string()];
    wanted.extend(OVERLAY_SETTINGS.iter().map(|k| k.to_string()));
    let settings = host.settings(context, instance, &wanted)?;
    let setting = |key: &str| {
        settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let modules = merge_modules(
        &setting(INSTALL_MODULES_ENV_KEY),
        &manifest.odoo_install_modules,
    );

    // Secret bindings resolve from the container's env: every key must be
    // there before anything changes on the lane.
    require_env_keys(ctx, context, instance, &rendered.required_env_keys)?;
    let set = vec![
        (PAYLOAD_ENV_KEY.to_string(), encoded.clone()),
        (INSTALL_MODULES_ENV_KEY.to_string(), modules.clone()),
    ];
    persist(ctx, context, instance, &set)?;
    // The running container was started before this env update, so the job
    // gets the payload (names and literals only) in its own env too.
    let mut job_env = set;
    for key in OVERLAY_SETTINGS {
        let value = setting(key);
        if !value.trim().is_empty() {
            job_env.push((key.to_string(), value.trim().to_string()));
        }
    }
    run_apply_job(ctx, context, instance, &job_env)?;

    let payload = &rendered.payload;
    progress.detail = format!(
        "applied override record `{record_id}` for phase {phase}: {} config parameter(s), {} addon \
         setting(s){}; {INSTALL_MODULES_ENV_KEY}={modules}; job {JOB_NAME} passed",
        payload.config_parameters.len(),
        payload.addon_settings.len(),
        if progress.website_bootstrap_included {
            ", website bootstrap"
        } else {
            ""
        },
    );
    Ok(())
}

/// Refuses before any change when the lane's env lacks a key the
/// secret-bound overrides resolve from.
fn require_env_keys(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
    required: &[String],
) -> Result<(), DriverError> {
    let present = ctx.host().env_keys(context, instance)?;
    let missing: Vec<&str> = required
        .iter()
        .filter(|key| !present.contains(key))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(DriverError::PreconditionFailed(format!(
        "lane {context}/{instance} does not hold the env keys its secret-bound overrides \
         resolve from: {}; bind the secrets to the lane first",
        missing.join(", ")
    )))
}

/// Writes `set` to the lane's env and reads the key names back: a provider
/// that did not keep them fails the apply before anything runs.
fn persist(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
    set: &[(String, String)],
) -> Result<(), DriverError> {
    let host = ctx.host();
    host.update_env(context, instance, set, &[]).map_err(|e| {
        DriverError::ProviderFailed(format!(
            "the override payload was not persisted to lane {context}/{instance}: {}",
            e.message()
        ))
    })?;
    let kept = host.env_keys(context, instance)?;
    let lost: Vec<&str> = set
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|key| !kept.iter().any(|k| k == key))
        .collect();
    if lost.is_empty() {
        return Ok(());
    }
    Err(DriverError::ProviderFailed(format!(
        "lane {context}/{instance} did not keep {} after the env update; post-deploy \
         stops before running anything",
        lost.join(", ")
    )))
}

/// Runs the apply job on the lane with `env` in its own environment.
fn run_apply_job(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
    env: &[(String, String)],
) -> Result<(), DriverError> {
    let mut command = vec!["env".to_string()];
    command.extend(env.iter().map(|(key, value)| format!("{key}={value}")));
    command.extend(APPLY_COMMAND.iter().map(|c| c.to_string()));
    let job = ctx
        .host()
        .run_job(context, instance, JOB_NAME, &command, JOB_TIMEOUT_SECONDS)
        .map_err(|e| {
            DriverError::ProviderFailed(format!(
                "the {JOB_NAME} job could not run on lane {context}/{instance}: {}",
                e.message()
            ))
        })?;
    if job.status != "pass" {
        return Err(DriverError::ProviderFailed(format!(
            "the {JOB_NAME} job ended {} on lane {context}/{instance}: {}",
            job.status, job.detail
        )));
    }
    Ok(())
}

/// The manifest of the artifact running on the lane: the one named, else
/// the lane inventory's. Post-deploy needs it (its modules), so no
/// artifact or no manifest stops the apply.
fn deployed_manifest(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
    artifact_id: Option<&str>,
) -> Result<ArtifactIdentityManifest, DriverError> {
    let artifact_id = match artifact_id.map(str::trim).filter(|a| !a.is_empty()) {
        Some(artifact_id) => artifact_id.to_string(),
        None => {
            let inventory = ctx
                .host()
                .record_get("inventory", &records::inventory_id(context, instance))?;
            inventory
                .as_ref()
                .and_then(|i| i.pointer("/artifact_identity/artifact_id"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    DriverError::PreconditionFailed(format!(
                        "lane {context}/{instance} has no deployed artifact on record; \
                         post-deploy needs its manifest: deploy the lane first"
                    ))
                })?
        }
    };
    records::read::<ArtifactIdentityManifest>(ctx, "artifact_manifest", &artifact_id)?.ok_or_else(
        || {
            DriverError::PreconditionFailed(format!(
                "lane {context}/{instance} runs `{artifact_id}`, whose manifest is not stored; \
                 post-deploy needs it"
            ))
        },
    )
}

// ------------------------------------------------------------ hook

/// The phase of a generic-web action's deploy: promotions apply
/// `promotion` overrides; stable deploys and rollbacks are deploys.
pub fn phase_of(action: &str) -> Phase {
    match action {
        "prod_promotion" => Phase::Promotion,
        _ => Phase::Deploy,
    }
}

/// `post-deploy`: applies the lane's overrides after generic-web's deploy.
pub fn post_deploy_hook(ctx: &Ctx<'_>, payload: DeployHookPayload) -> Result<Value, DriverError> {
    let (context, instance) = (normalized(&payload.context), normalized(&payload.instance));
    // A guarded rebuild's data step runs first; its overrides then apply
    // in that step's phase (`rebuild.rs`).
    let data_phase = crate::rebuild::data_step(ctx, &context, &instance)?;
    let lane = Lane {
        context: &context,
        instance: &instance,
        phase: data_phase.unwrap_or_else(|| phase_of(&payload.action)),
        artifact_id: Some(&payload.artifact_id),
    };
    let mut progress = Progress::default();
    apply(ctx, &lane, &mut progress)?;
    if !progress.attempted {
        return Ok(json!({}));
    }
    Ok(json!({"attempted": true, "detail": progress.detail}))
}

// ------------------------------------------------------------ route

/// `/v1/drivers/odoo/post-deploy`: the same apply for the lane and phase
/// of the request, with the original's result and the record's
/// `last_apply`.
pub fn post_deploy(
    ctx: &Ctx<'_>,
    req: PostDeployRequest,
) -> Result<Reply<PostDeployResult>, DriverError> {
    non_blank("context", &req.context)?;
    non_blank("instance", &req.instance)?;
    let (context, instance) = (normalized(&req.context), normalized(&req.instance));
    let invocation = ctx.invocation();
    if context != normalized(&invocation.context) {
        return Err(invalid(
            "context",
            format_args!("must be the lane's context `{}`", invocation.context),
        ));
    }
    if instance != normalized(&invocation.instance) {
        return Err(invalid(
            "instance",
            format_args!("must be the lane's instance `{}`", invocation.instance),
        ));
    }
    let lane = Lane {
        context: &context,
        instance: &instance,
        phase: req.phase,
        artifact_id: None,
    };
    let mut progress = Progress::default();
    let outcome = apply(ctx, &lane, &mut progress);
    if !progress.attempted {
        // Nothing applied: an unreadable record (or a read failure) is an
        // error; no record, or one for other phases, is a skipped pass.
        outcome.clone()?;
    }
    let now = ctx.host().now();
    let mut result = PostDeployResult {
        context: context.clone(),
        instance: instance.clone(),
        phase: req.phase,
        post_deploy_status: PassFail::Pass,
        override_status: OverrideStatus::Skipped,
        override_record_found: progress.record.is_some(),
        override_payload_rendered: progress.rendered,
        required_container_environment_keys: progress.required_env_keys.clone(),
        applied_at: String::new(),
        error_message: String::new(),
        website_bootstrap_included: progress.website_bootstrap_included,
    };
    let (Some(mut record), true) = (progress.record.take(), progress.attempted) else {
        return Ok(Reply::new(result));
    };
    let (status, detail) = match &outcome {
        Ok(()) => (OverrideStatus::Pass, progress.detail.clone()),
        Err(error) => (OverrideStatus::Fail, error.message().to_string()),
    };
    record.last_apply = LastApply {
        attempted: true,
        status,
        applied_at: now.clone(),
        detail: detail.clone(),
    };
    record.updated_at = now.clone();
    record.source_label = SOURCE_LABEL.to_string();
    ctx.host().put(overrides::KIND, &record)?;
    result.override_status = status;
    result.applied_at = now;
    let failed = outcome.is_err();
    if failed {
        result.post_deploy_status = PassFail::Fail;
        result.error_message = detail;
    }
    // A failed apply is asked again under the same key, not replayed.
    Ok(Reply::new(result).replayable_unless(failed))
}
