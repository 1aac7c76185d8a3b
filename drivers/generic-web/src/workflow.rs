//! `prod-promotion-workflow`: dispatch the product's own promotion workflow
//! (the profile's `promotion_workflow`) through the host's GitHub
//! capability, which holds the token (reference §13 "Promotion workflow
//! dispatch"). The run is not observed yet: `run_id` stays 0 and
//! `run_status` `pending`.

use launchplane_sdk::prelude::*;

use crate::checks::{envelope_product, invalid, non_blank};
use crate::models::*;
use crate::profile::load_profile;
use crate::stable::product_of;

/// `prod-promotion-workflow`: the profile's workflow dispatched on its ref
/// with the dry-run input (`"true"`/`"false"`) and, when a bump is given,
/// the bump input. Host calls: `record_get product_profile`,
/// `github_dispatch_workflow`. A refused dispatch fails the action
/// (`provider_failed`, or `not_found` for an unknown workflow).
pub fn prod_promotion_workflow(
    ctx: &Ctx<'_>,
    req: PromotionWorkflowRequest,
) -> Result<Reply<PromotionWorkflowResult>, DriverError> {
    envelope_product(ctx, "product", &req.product)?;
    non_blank("context", &req.context)?;
    non_blank("instance", &req.instance)?;
    if req.observe_timeout_seconds > 60 {
        return Err(invalid("observe_timeout_seconds", "must be at most 60"));
    }
    let product = product_of(ctx, &req.product);
    let profile = load_profile(ctx)?
        .ok_or_else(|| DriverError::NotFound(format!("no product profile for `{product}`")))?;
    let workflow = &profile.promotion_workflow;
    let repository = profile.repository.trim().to_string();
    let mut inputs = vec![(
        workflow.dry_run_input.trim().to_string(),
        req.dry_run.to_string(),
    )];
    if let Some(bump) = req.bump {
        let bump = serde_json::to_value(bump)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        inputs.push((workflow.bump_input.trim().to_string(), bump));
    }
    let context = ctx.context().to_string();
    ctx.host()
        .github_dispatch_workflow(
            &context,
            &repository,
            workflow.workflow_id.trim(),
            workflow.git_ref.trim(),
            &inputs,
        )
        .map_err(|e| match e {
            HostError::NotFound(m) => DriverError::NotFound(m),
            HostError::Invalid(m) | HostError::Denied(m) => DriverError::InvalidRequest(m),
            other => DriverError::ProviderFailed(other.message().to_string()),
        })?;
    Ok(Reply::new(PromotionWorkflowResult {
        product,
        context,
        repository,
        workflow_id: workflow.workflow_id.trim().to_string(),
        git_ref: workflow.git_ref.trim().to_string(),
        dry_run: req.dry_run,
        bump: req.bump,
        dispatch_status: DispatchStatus::Dispatched,
        run_id: 0,
        run_url: String::new(),
        run_status: "pending".to_string(),
        run_conclusion: String::new(),
    }))
}
