//! `target-replacement-plan`: the read-only plan of a stable target
//! replacement. It runs the same request checks and prelaunch proof as the
//! apply route and answers `blocked` with the broken rule instead of
//! refusing, so an operator sees what apply would need. It writes nothing
//! and calls no provider mutation.

use launchplane_sdk::prelude::*;
use lifecycle_records::{self as records, EnvironmentInventory};

use crate::checks::normalized;
use crate::models::*;
use crate::prelaunch::{self, PRELAUNCH_REBUILD};
use crate::rebuild::{Replacement, VOLUME_KEYS, prove_replacement};

/// The plan; request-shape errors still refuse (400).
pub fn target_replacement_plan(
    ctx: &Ctx<'_>,
    req: TargetReplacementPlanRequest,
) -> Result<Reply<TargetReplacementPlan>, DriverError> {
    let replacement = Replacement::from(&req);
    let context = ctx.invocation().context.clone();
    let instance = normalized(&req.instance);
    let mut blockers = Vec::new();
    let proof = match prove_replacement(ctx, &replacement) {
        Ok(proof) => Some(proof),
        Err(DriverError::InvalidRequest(message)) if message.starts_with("Rule `") => {
            let code = if message.starts_with("Rule `allow_empty_data`") {
                "allow_empty_data"
            } else {
                "prelaunch_proof"
            };
            blockers.push(json!({"code": code, "message": message}));
            None
        }
        Err(other) => return Err(other),
    };
    if req.strategy != Strategy::RecreateInPlace {
        blockers.push(
            json!({"code": "strategy", "message": "only `recreate-in-place` can be applied"}),
        );
    }
    let policy = prelaunch::lane_policy(ctx, &instance, PRELAUNCH_REBUILD)?.unwrap_or_default();
    let inventory: Option<EnvironmentInventory> = records::read(
        ctx,
        "inventory",
        &records::inventory_id(&context, &instance),
    )?;
    let current = current_target(ctx, &context, &instance, inventory.as_ref());
    let ready = blockers.is_empty();
    let (artifact_id, source_git_ref) = proof
        .map(|p| (p.artifact_id, p.source_git_ref))
        .unwrap_or_default();
    let plan = TargetReplacementPlan {
        plan_status: if ready {
            ReadyBlocked::Ready
        } else {
            ReadyBlocked::Blocked
        },
        product: ctx.product().to_string(),
        context,
        instance,
        strategy: req.strategy,
        target_record_found: current.is_some(),
        target_id_record_found: current.is_some(),
        inventory_found: inventory.is_some(),
        current_target: current,
        expected_next_target_name: policy.expected_target_name.trim().to_string(),
        expected_domain_hosts: policy
            .expected_domains
            .iter()
            .map(|d| prelaunch::domain(d))
            .collect(),
        expected_artifact_id: artifact_id,
        expected_source_git_ref: source_git_ref,
        allow_empty_data: req.allow_empty_data,
        data_source_mode: req.data_source_mode,
        approval_issue_url: policy.approval_issue_url.trim().to_string(),
        blockers,
        warnings: Vec::new(),
        steps: steps(ready),
    };
    Ok(Reply::new(plan))
}

/// The lane's target as the host resolves it, with the env key names (no
/// values) and which Odoo volume keys they name; `None` when it has none.
fn current_target(
    ctx: &Ctx<'_>,
    context: &str,
    instance: &str,
    inventory: Option<&EnvironmentInventory>,
) -> Option<CurrentTarget> {
    let target = ctx.host().resolve_target(context, instance).ok()?;
    let mut env_keys = ctx.host().env_keys(context, instance).unwrap_or_default();
    env_keys.sort();
    let (present, missing): (Vec<String>, Vec<String>) = VOLUME_KEYS
        .iter()
        .map(|key| key.to_string())
        .partition(|key| env_keys.contains(key));
    Some(CurrentTarget {
        target_type: target.target_type.clone(),
        target_id: String::new(),
        target_name: target.target_name.clone(),
        project_name: String::new(),
        source_type: String::new(),
        compose_path: String::new(),
        compose_file_sha256: String::new(),
        domain_hosts: target
            .domains
            .iter()
            .map(|d| prelaunch::domain(d))
            .collect(),
        latest_deployment_status: String::new(),
        latest_deployment_id: inventory
            .map(|i| i.deployment_record_id.clone())
            .unwrap_or_default(),
        env_keys,
        required_volume_keys_present: present,
        required_volume_keys_missing: missing,
        runtime_identity_present: false,
        runtime_identity_deployment_record_id: String::new(),
    })
}

/// The apply's steps, all ready or all blocked.
fn steps(ready: bool) -> Vec<PlanStep> {
    let step = |id: &str, message: &str| PlanStep {
        step_id: id.to_string(),
        status: if ready {
            StepStatus::Ready
        } else {
            StepStatus::Blocked
        },
        message: message.to_string(),
    };
    vec![
        step(
            "prelaunch_proof",
            "lane policy, confirmation, target and artifact proven",
        ),
        step(
            "deploy",
            "redeploy the lane's target with the artifact (generic-web deploy)",
        ),
        step(
            "data",
            "run the data step of data_source_mode as a provider job",
        ),
        step("post_deploy", "apply the lane's overrides in restore phase"),
        step("verify", "verify health and write deployment and inventory"),
    ]
}
