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
use crate::rebuild::{Replacement, prove_replacement};

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
            blockers.push(json!({"code": "prelaunch_proof", "message": message}));
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
    let target = ctx.host().resolve_target(&context, &instance).ok();
    let inventory: Option<EnvironmentInventory> = records::read(
        ctx,
        "inventory",
        &records::inventory_id(&context, &instance),
    )?;
    let ready = blockers.is_empty();
    let step = |id: &str, message: &str| PlanStep {
        step_id: id.to_string(),
        status: if ready {
            StepStatus::Ready
        } else {
            StepStatus::Blocked
        },
        message: message.to_string(),
    };
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
        target_record_found: target.is_some(),
        target_id_record_found: target.is_some(),
        inventory_found: inventory.is_some(),
        current_target: target.as_ref().map(|t| CurrentTarget {
            target_type: t.target_type.clone(),
            target_id: String::new(),
            target_name: t.target_name.clone(),
            project_name: String::new(),
            source_type: String::new(),
            compose_path: String::new(),
            compose_file_sha256: String::new(),
            domain_hosts: t.domains.iter().map(|d| prelaunch::domain(d)).collect(),
            latest_deployment_status: String::new(),
            latest_deployment_id: inventory
                .as_ref()
                .map(|i| i.deployment_record_id.clone())
                .unwrap_or_default(),
            env_keys: Vec::new(),
            required_volume_keys_present: Vec::new(),
            required_volume_keys_missing: Vec::new(),
            runtime_identity_present: false,
            runtime_identity_deployment_record_id: String::new(),
        }),
        expected_next_target_name: policy.expected_target_name.trim().to_string(),
        expected_domain_hosts: policy
            .expected_domains
            .iter()
            .map(|d| prelaunch::domain(d))
            .collect(),
        expected_artifact_id: proof
            .as_ref()
            .map(|p| p.artifact_id.clone())
            .unwrap_or_default(),
        expected_source_git_ref: proof
            .as_ref()
            .map(|p| p.source_git_ref.clone())
            .unwrap_or_default(),
        allow_empty_data: req.allow_empty_data,
        data_source_mode: req.data_source_mode,
        approval_issue_url: policy.approval_issue_url.trim().to_string(),
        blockers,
        warnings: Vec::new(),
        steps: vec![
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
        ],
    };
    Ok(Reply::new(plan))
}
