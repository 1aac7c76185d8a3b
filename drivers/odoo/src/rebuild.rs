//! `stable-bootstrap` and `target-replacement-*`: guarded rebuilds of a
//! stable Odoo lane on generic-web's one lifecycle.
//!
//! Both apply routes run generic-web's `stable_deploy` (declared with
//! `runs_base`): the lane is redeployed with its artifact, then Odoo's
//! `post-deploy` hook runs the data step the request asked for (an empty
//! bootstrap or a restore from upstream, as a named provider job) before it
//! applies the lane's overrides in `restore` phase, and generic-web verifies
//! health and writes the deployment (the host moves the lane's inventory
//! only when everything passed). Nothing here deploys.
//!
//! Every rebuild proves itself first ([`crate::prelaunch::prove`]): at
//! request time through hook `admit-operation`, before the operation is
//! enqueued, and again when the operation runs (`adapt-request`). The plan
//! route runs the same proof and reports what blocks.

use launchplane_sdk::prelude::*;

use crate::checks::{envelope_product, invalid, non_blank, normalized, optional_at_least};
use crate::models::*;
use crate::prelaunch::{self, Ask, PRELAUNCH_REBUILD, Proof, STABLE_BOOTSTRAP};
use crate::verification;

/// The provider job that empties and bootstraps the lane's database.
pub const BOOTSTRAP_JOB: &str = "odoo-bootstrap";
/// The provider job that restores the lane's data from its upstream.
pub const RESTORE_JOB: &str = "odoo-restore";
const BOOTSTRAP_COMMAND: [&str; 4] = ["odoo-devkit", "data", "bootstrap", "--empty"];
const RESTORE_COMMAND: [&str; 4] = ["odoo-devkit", "data", "restore", "--from-upstream"];
const DATA_JOB_TIMEOUT_SECONDS: u32 = 3600;

/// A replacement request, plan or apply.
pub struct Replacement {
    pub product: String,
    pub instance: String,
    pub strategy: Strategy,
    pub data_source_mode: DataSourceMode,
    pub allow_empty_data: bool,
    pub confirmation: String,
    pub artifact_id: String,
    pub source_git_ref: String,
    pub expected_current_artifact_id: String,
}

impl From<&TargetReplacementPlanRequest> for Replacement {
    fn from(r: &TargetReplacementPlanRequest) -> Self {
        Replacement {
            product: r.product.clone(),
            instance: r.instance.clone(),
            strategy: r.strategy,
            data_source_mode: r.data_source_mode,
            allow_empty_data: r.allow_empty_data,
            confirmation: r.confirmation.clone(),
            artifact_id: r.artifact_id.clone(),
            source_git_ref: r.source_git_ref.clone(),
            expected_current_artifact_id: r.expected_current_artifact_id.clone(),
        }
    }
}

impl From<&TargetReplacementApplyRequest> for Replacement {
    fn from(r: &TargetReplacementApplyRequest) -> Self {
        Replacement {
            product: r.product.clone(),
            instance: r.instance.clone(),
            strategy: r.strategy,
            data_source_mode: r.data_source_mode,
            allow_empty_data: r.allow_empty_data,
            confirmation: r.confirmation.clone(),
            artifact_id: r.artifact_id.clone(),
            source_git_ref: r.source_git_ref.clone(),
            expected_current_artifact_id: r.expected_current_artifact_id.clone(),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(request: Value) -> Result<T, DriverError> {
    serde_json::from_value(request)
        .map_err(|e| DriverError::InvalidRequest(format!("request is invalid: {e}")))
}

/// The request checks and the proof of a bootstrap.
pub fn prove_bootstrap(ctx: &Ctx<'_>, req: &StableBootstrapRequest) -> Result<Proof, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("context", &req.context)?;
    non_blank("instance", &req.instance)?;
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    optional_at_least("health_timeout_seconds", req.health_timeout_seconds, 1)?;
    let context = &ctx.invocation().context;
    if normalized(&req.context) != *context {
        return Err(invalid(
            "context",
            format_args!("must be the lane's context `{context}`"),
        ));
    }
    let instance = prelaunch::lane_instance(ctx, &req.instance)?;
    let proof = prelaunch::prove(
        ctx,
        &Ask {
            policy: STABLE_BOOTSTRAP,
            context,
            instance: &instance,
            confirmation: &req.confirmation,
            mode: Some("empty"),
            artifact: None,
            expected_current_artifact_id: "",
        },
    )?;
    crate::verification::check_required(&proof.policy, req)?;
    Ok(proof)
}

/// The request checks of a replacement (plan or apply): both or neither of
/// `artifact_id` and `source_git_ref`.
fn check_replacement(ctx: &Ctx<'_>, req: &Replacement) -> Result<String, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("instance", &req.instance)?;
    match (
        req.artifact_id.trim().is_empty(),
        req.source_git_ref.trim().is_empty(),
    ) {
        (false, true) => {
            return Err(invalid(
                "source_git_ref",
                "is required together with artifact_id",
            ));
        }
        (true, false) => {
            return Err(invalid(
                "artifact_id",
                "is required together with source_git_ref",
            ));
        }
        _ => {}
    }
    prelaunch::lane_instance(ctx, &req.instance)
}

/// The proof of a replacement. Recreating a target is destructive whatever
/// the data source, so the lane's rebuild policy is needed in every mode;
/// a data source other than `existing` must be the one it allows. Then the
/// original's data rules ([`check_empty_data`]).
pub fn prove_replacement(ctx: &Ctx<'_>, req: &Replacement) -> Result<Proof, DriverError> {
    let instance = check_replacement(ctx, req)?;
    let artifact = (!req.artifact_id.trim().is_empty())
        .then_some((req.artifact_id.as_str(), req.source_git_ref.as_str()));
    let context = ctx.invocation().context.clone();
    let proof = prelaunch::prove(
        ctx,
        &Ask {
            policy: PRELAUNCH_REBUILD,
            context: &context,
            instance: &instance,
            confirmation: &req.confirmation,
            mode: prelaunch::mode_name(req.data_source_mode),
            artifact,
            expected_current_artifact_id: &req.expected_current_artifact_id,
        },
    )?;
    check_empty_data(ctx, req, &context, &instance)?;
    Ok(proof)
}

/// The env keys that keep an Odoo lane's data, logs and database on named
/// volumes: a target recreated without them starts empty.
pub const VOLUME_KEYS: [&str; 3] = ["ODOO_DATA_VOLUME", "ODOO_LOG_VOLUME", "ODOO_DB_VOLUME"];

/// The volume keys the lane's target env does not name.
pub fn missing_volume_keys(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
) -> Result<Vec<String>, DriverError> {
    let present = ctx.host().env_keys(context, instance).map_err(|e| {
        prelaunch::refuse(
            "allow_empty_data",
            format_args!("the lane's target env cannot be read: {}", e.message()),
        )
    })?;
    Ok(VOLUME_KEYS
        .iter()
        .filter(|key| !present.iter().any(|p| p == *key))
        .map(|key| key.to_string())
        .collect())
}

/// The original's data rules of a replacement, unless the request sets
/// `allow_empty_data`: a data source other than `existing` replaces the
/// lane's data, and a target whose env does not name the Odoo volume keys
/// would come back empty; either must be asked for explicitly.
fn check_empty_data(
    ctx: &Ctx<'_>,
    req: &Replacement,
    context: &str,
    instance: &str,
) -> Result<(), DriverError> {
    if req.allow_empty_data {
        return Ok(());
    }
    if let Some(mode) = prelaunch::mode_name(req.data_source_mode) {
        return Err(prelaunch::refuse(
            "allow_empty_data",
            format_args!(
                "data_source_mode `{mode}` replaces the lane's data: set allow_empty_data to ask for it"
            ),
        ));
    }
    let missing = missing_volume_keys(ctx, context, instance)?;
    if !missing.is_empty() {
        return Err(prelaunch::refuse(
            "allow_empty_data",
            format_args!(
                "the lane's target env names no {}: its data would not survive the recreate; \
                 set allow_empty_data if the lane holds nothing to keep",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

/// `admit-operation`: the request-time proof of the async routes, before
/// the host enqueues anything.
pub fn admit(ctx: &Ctx<'_>, request: Value) -> Result<Value, DriverError> {
    match ctx.invocation().action_id.as_str() {
        "stable_bootstrap" => {
            prove_bootstrap(ctx, &parse(request)?)?;
        }
        "target_replacement_apply" => {
            let req: TargetReplacementApplyRequest = parse(request)?;
            apply_only_in_place(&req)?;
            prove_replacement(ctx, &Replacement::from(&req))?;
        }
        _ => {}
    }
    Ok(json!({}))
}

fn apply_only_in_place(req: &TargetReplacementApplyRequest) -> Result<(), DriverError> {
    if req.strategy != Strategy::RecreateInPlace {
        return Err(invalid(
            "strategy",
            "must be `recreate-in-place`: the only strategy that can be applied",
        ));
    }
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    optional_at_least("health_timeout_seconds", req.health_timeout_seconds, 1)
}

/// `adapt-request` of the two apply routes: the proof again (the lane may
/// have changed since the request), then generic-web's deploy request for
/// the proven artifact.
pub fn deploy_request(ctx: &Ctx<'_>, request: Value) -> Result<Value, DriverError> {
    let (instance, proof, timeout, no_cache, verify_health, health_timeout) =
        match ctx.invocation().action_id.as_str() {
            "stable_bootstrap" => {
                let req: StableBootstrapRequest = parse(request)?;
                let proof = prove_bootstrap(ctx, &req)?;
                let verify = req.verify_health;
                (
                    req.instance,
                    proof,
                    req.timeout_seconds,
                    false,
                    verify,
                    req.health_timeout_seconds,
                )
            }
            _ => {
                let req: TargetReplacementApplyRequest = parse(request)?;
                apply_only_in_place(&req)?;
                let proof = prove_replacement(ctx, &Replacement::from(&req))?;
                let verify = req.verify_health;
                (
                    req.instance,
                    proof,
                    req.timeout_seconds,
                    req.no_cache,
                    verify,
                    req.health_timeout_seconds,
                )
            }
        };
    Ok(json!({
        "product": ctx.product(),
        "instance": normalized(&instance),
        "artifact_id": proof.artifact_id,
        "source_git_ref": proof.source_git_ref,
        "timeout_seconds": timeout,
        "no_cache": no_cache,
        "verify_health": verify_health,
        "health_timeout_seconds": health_timeout.unwrap_or(60),
    }))
}

/// Part of `post-deploy`: the data step the extension request asked for,
/// run as its own provider job on the freshly deployed lane. `Some(phase)`
/// (`restore`) when a step ran, so the overrides apply in that phase;
/// `None` for a plain deploy.
pub fn data_step(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
) -> Result<Option<Phase>, DriverError> {
    let Some(extension) = &ctx.invocation().extension else {
        return Ok(None);
    };
    let mode = match extension.action_id.as_str() {
        "stable_bootstrap" => DataSourceMode::Empty,
        "target_replacement_apply" => {
            let request: Value = serde_json::from_str(&extension.request)
                .map_err(|e| DriverError::Internal(format!("extension request: {e}")))?;
            parse::<TargetReplacementApplyRequest>(request)?.data_source_mode
        }
        _ => return Ok(None),
    };
    let (job, command) = match mode {
        DataSourceMode::Existing => return Ok(None),
        DataSourceMode::Empty => (BOOTSTRAP_JOB, BOOTSTRAP_COMMAND),
        DataSourceMode::UpstreamRestore => (RESTORE_JOB, RESTORE_COMMAND),
    };
    let command: Vec<String> = command.iter().map(|c| c.to_string()).collect();
    let outcome = ctx
        .host()
        .run_job(context, instance, job, &command, DATA_JOB_TIMEOUT_SECONDS)
        .map_err(|e| {
            DriverError::ProviderFailed(format!(
                "the {job} job could not run on lane {context}/{instance}: {}",
                e.message()
            ))
        })?;
    if outcome.status != "pass" {
        return Err(DriverError::ProviderFailed(format!(
            "the {job} job ended {} on lane {context}/{instance}: {}",
            outcome.status, outcome.detail
        )));
    }
    Ok(Some(Phase::Restore))
}

/// `adapt-result` of the two apply routes: generic-web's deploy answer in
/// the original's result shape. It runs only after the deploy passed (a
/// failed step fails the operation with its error, and the lane's
/// inventory stays where it was).
pub fn result(
    ctx: &Ctx<'_>,
    payload: &lifecycle_records::hooks::AdaptResultPayload,
) -> Result<Value, DriverError> {
    let r = &payload.result;
    let deployment_record_id = text(&r["deployment_record_id"]);
    let deployment = ctx
        .host()
        .record_get("deployment", &deployment_record_id)?
        .unwrap_or(Value::Null);
    let health = match r["destination_health_status"].as_str() {
        Some("pass") => "pass",
        Some("fail") => "fail",
        _ => "skipped",
    };
    let mut result = json!({
        "product": ctx.product(),
        "context": text(&r["context"]),
        "instance": text(&r["instance"]),
        "deployment_record_id": deployment_record_id,
        "health_status": health,
        "health_url": text(&deployment["destination_health"]["urls"][0]),
        "verification_evidence": {},
        "target_id": text(&r["target_id"]),
        "target_name": text(&r["target_name"]),
        "artifact_id": text(&deployment["artifact_identity"]["artifact_id"]),
        "error_message": text(&r["error_message"]),
    });
    let extra = if ctx.invocation().action_id == "stable_bootstrap" {
        json!({
            "bootstrap_status": "pass",
            "bootstrap_run_status": "pass",
            "readiness_status": if health == "fail" { "verification_failed" } else { "pass" },
            "post_deploy_status": "pass",
            "source_git_ref": text(&deployment["source_git_ref"]),
        })
    } else {
        replacement_fields(payload, &deployment)
    };
    for part in [verified(ctx, payload)?, extra] {
        if let (Some(into), Some(from)) = (result.as_object_mut(), part.as_object()) {
            into.extend(from.clone());
        }
    }
    Ok(result)
}

/// Text of a JSON string, or empty.
fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The canonical URL and logo fields: the deploy passed, so `verify`
/// passed every check the request asked for (`verification.rs`).
fn verified(
    ctx: &Ctx<'_>,
    payload: &lifecycle_records::hooks::AdaptResultPayload,
) -> Result<Value, DriverError> {
    let r = &payload.result;
    let checks = verification::checks_of(&ctx.invocation().action_id, payload.request.clone())?;
    let base_url = if checks.canonical || checks.logo {
        verification::base_url(ctx, &text(&r["context"]), &text(&r["instance"]))?
    } else {
        String::new()
    };
    let status = |asked: bool| if asked { "pass" } else { "skipped" };
    Ok(json!({
        "canonical_status": status(checks.canonical),
        "logo_status": status(checks.logo),
        "canonical_url": if checks.canonical { base_url.clone() } else { String::new() },
        "logo_urls": if checks.logo {
            vec![format!("{base_url}{}", verification::LOGO_PATH)]
        } else {
            Vec::new()
        },
    }))
}

/// The fields only a target replacement answers.
fn replacement_fields(
    payload: &lifecycle_records::hooks::AdaptResultPayload,
    deployment: &Value,
) -> Value {
    let r = &payload.result;
    let post_deploy = &deployment["post_deploy_update"];
    let attempted = post_deploy["attempted"] == true;
    json!({
        "strategy": "recreate-in-place",
        "release_tuple_id": payload.records.get("release_tuple_id").cloned().unwrap_or_default(),
        "deploy_status": text(&r["deploy_status"]),
        "post_deploy_status": "pass",
        "post_deploy_override_status": if attempted { text(&post_deploy["status"]) } else { "skipped".to_string() },
        "post_deploy_override_record_found": attempted,
        "post_deploy_override_payload_rendered": attempted,
        "image_reference": text(&r["image_reference"]),
        "runtime_source": deployment["runtime_source"].clone(),
    })
}
