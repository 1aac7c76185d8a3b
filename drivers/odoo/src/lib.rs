//! odoo: the Odoo product driver.
//!
//! Odoo extends generic-web: its products may also call the generic-web
//! routes. Its own routes cover what generic-web cannot know about Odoo:
//! artifact manifests built by product CI, typed instance settings applied
//! inside the container after a deploy, database-and-filestore backup gates,
//! release tuples, and the guarded rebuilds of stable lanes.

mod actions;
mod backup_gate;
mod catalogue;
mod checks;
mod failures;
pub mod lifecycle;
pub mod models;
pub mod overrides;
pub mod post_deploy;
pub mod prelaunch;
pub mod previews;
mod promotion_inputs;
pub mod promotion_run;
pub mod rebuild;
mod replacement_plan;
pub mod verification;

#[cfg(test)]
mod tests;

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks;

/// The one driver value: the host's descriptor, routes and dispatch all come
/// from it, so they cannot drift apart.
pub fn driver() -> Driver {
    let driver = Driver::new("odoo", "Odoo")
        .product("odoo")
        .description(
            "Odoo artifact, deploy, preview, backup, promotion, rollback, and settings driver.",
        )
        .extends("generic-web")
        .context_patterns(&["cm", "opw"])
        .record_kind(
            "odoo_instance_override",
            RecordMode::State,
            "An Odoo lane's config-parameter, addon-setting and website overrides, applied by post-deploy.",
        )
        .records_keys(&[
            "odoo_stable_bootstrap_operation_id",
            "odoo_stable_target_replacement_operation_id",
        ])
        // Seed 003's issue-backed prelaunch policies (`prelaunch.rs`).
        .lane_policy(
            prelaunch::STABLE_BOOTSTRAP,
            "Allows stable-bootstrap to empty and bootstrap this lane before launch, backed by an approval issue.",
            prelaunch::schema(&["empty"], true),
            prelaunch::LANE_STATUS,
        )
        .lane_policy(
            prelaunch::PRELAUNCH_REBUILD,
            "Allows target-replacement to recreate this lane before launch, with empty or upstream-restored data, backed by an approval issue.",
            prelaunch::schema(&["empty", "upstream_restore"], false),
            prelaunch::LANE_STATUS,
        );
    let driver = catalogue::capabilities()
        .into_iter()
        .fold(driver, Driver::capability);
    let driver = catalogue::setting_groups()
        .into_iter()
        .fold(driver, Driver::setting_group);
    let driver = actions::all().into_iter().fold(driver, Driver::action);
    // Odoo's part of generic-web's lifecycle (lifecycle.rs, post_deploy.rs,
    // previews.rs; promotion_run.rs through the adapters).
    driver
        .hook(hooks::POST_DEPLOY, post_deploy::post_deploy_hook)
        .hook(hooks::PROMOTION_GATE, lifecycle::promotion_gate)
        .hook(hooks::ROLLBACK_SELECT, lifecycle::rollback_select)
        .hook(hooks::PREVIEW_ENV, previews::preview_env)
        .hook(hooks::VERIFY, verification::verify)
        .hook(hooks::ADAPT_REQUEST, lifecycle::adapt_request)
        .hook(hooks::ADAPT_RESULT, lifecycle::adapt_result)
        .hook(hooks::ADMIT_OPERATION, rebuild::admit)
}

#[cfg(target_arch = "wasm32")]
launchplane_sdk::export_driver!(driver);
