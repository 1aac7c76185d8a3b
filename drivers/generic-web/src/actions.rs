//! The generic-web action catalogue.
//!
//! Each declaration mirrors one row of the original registry (route, authz
//! action, safety, scope, record kinds, operator visibility) so the host can
//! derive the same routes and grants. Two rows differ from reference §5.2
//! because this driver writes what the later original wrote: `preview_refresh`
//! writes the preview and its generation, and `prod_rollback` annotates the
//! latest promotion of the lane (`promotion`).
//!
//! Handlers live in [`crate::stable`], [`crate::rollback`],
//! [`crate::previews`] and [`crate::verification`]; each first repeats the
//! request checks the original made before doing anything.

use launchplane_sdk::prelude::*;

use crate::previews::{
    preview_desired_state, preview_destroy, preview_inventory, preview_readiness, preview_refresh,
};
use crate::rollback::{prod_rollback, prod_rollback_plan};
use crate::stable::{prod_promotion, stable_deploy};
use crate::verification::{preview_verification, stable_verification};
use crate::workflow::prod_promotion_workflow;

/// Every action of the driver, in the original registry's order.
pub fn all() -> Vec<Action> {
    vec![
        Action::post("stable_deploy", "deploy")
            .label("Deploy lane")
            .description("Deploy an immutable container image to a configured generic-web product lane.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("generic_web_deploy.execute")
            .writes(&["deployment"])
            .envelope("deploy")
            .handler(stable_deploy),
        Action::post("prod_promotion", "prod-promotion")
            .label("Promote testing to prod")
            .description("Promote a generic-web testing image to prod and record promotion health evidence.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("generic_web_prod_promotion.execute")
            .writes(&["deployment", "promotion", "inventory"])
            .envelope("promotion")
            .handler(prod_promotion),
        Action::post("prod_promotion_workflow", "prod-promotion-workflow")
            .label("Dispatch promote workflow")
            .description("Dispatch the product-owned GitHub workflow that promotes testing to prod.")
            .safety(Safety::Mutation)
            .scope(Scope::Instance)
            .authz("generic_web_prod_promotion.dispatch")
            .envelope("workflow")
            .handler(prod_promotion_workflow),
        Action::post("prod_rollback_plan", "prod-rollback-plan")
            .label("Plan prod rollback")
            .description("Build and persist a generic-web rollback plan from a previous good deployment record.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("generic_web_prod_rollback.plan")
            .writes(&["generic_web_rollback_plan"])
            .envelope("rollback_plan")
            .handler(prod_rollback_plan),
        Action::post("prod_rollback", "prod-rollback")
            .label("Apply prod rollback")
            .description("Revalidate and apply a generic-web rollback by deploying a previous immutable artifact.")
            .safety(Safety::Destructive)
            .scope(Scope::Instance)
            .authz("generic_web_prod_rollback.execute")
            .writes(&["generic_web_rollback_plan", "deployment", "promotion", "inventory"])
            .envelope("rollback")
            .handler(prod_rollback),
        Action::post("stable_verification", "stable-verification")
            .label("Record stable verification")
            .description("Record smoke verification for an existing generic-web stable deployment or promotion.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Instance)
            .authz("deployment.write")
            .hidden()
            .writes(&["deployment", "promotion", "inventory"])
            .envelope("verification")
            .handler(stable_verification),
        Action::post("preview_desired_state", "preview-desired-state")
            .label("Discover desired previews")
            .description(
                "Discover labeled pull requests for a generic-web product profile and record desired preview state.",
            )
            .safety(Safety::SafeWrite)
            .scope(Scope::Context)
            .authz("preview_desired_state.discover")
            .writes(&["preview_desired_state"])
            .envelope("desired_state")
            .handler(preview_desired_state),
        Action::post("preview_refresh", "preview-refresh")
            .label("Refresh preview")
            .description("Create or update a generic-web preview application after readiness passes.")
            .safety(Safety::Mutation)
            .scope(Scope::Preview)
            .authz("preview_refresh.execute")
            .writes(&["preview", "preview_generation"])
            .envelope("refresh")
            .handler(preview_refresh),
        Action::post("preview_inventory", "preview-inventory")
            .label("Read preview inventory")
            .description("Scan provider state for active generic-web previews and record inventory evidence.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Context)
            .authz("preview_inventory.read")
            .writes(&["preview_inventory_scan"])
            .envelope("inventory")
            .idempotency(Idempotency::None)
            .handler(preview_inventory),
        Action::post("preview_readiness", "preview-readiness")
            .label("Evaluate preview readiness")
            .description("Validate generic-web preview template settings before provider mutation.")
            .safety(Safety::Read)
            .scope(Scope::Context)
            .authz("preview_readiness.evaluate")
            .envelope("readiness")
            .idempotency(Idempotency::None)
            .handler(preview_readiness),
        Action::post("preview_destroy", "preview-destroy")
            .label("Destroy preview")
            .description("Destroy a generic-web preview application and record cleanup evidence.")
            .safety(Safety::Destructive)
            .scope(Scope::Preview)
            .authz("preview_destroy.execute")
            .writes(&["preview"])
            .envelope("destroy")
            .handler(preview_destroy),
        Action::post("preview_verification", "preview-verification")
            .label("Record preview verification")
            .description("Record product smoke verification for the latest generic-web preview generation.")
            .safety(Safety::SafeWrite)
            .scope(Scope::Preview)
            .authz("preview_generation.write")
            .hidden()
            .writes(&["preview", "preview_generation"])
            .envelope("verification")
            .handler(preview_verification),
    ]
}
