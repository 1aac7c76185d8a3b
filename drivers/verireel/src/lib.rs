//! verireel: the VeriReel product driver.
//!
//! VeriReel extends generic-web: its stable deploys, prod promotion and
//! rollback and its previews run generic-web's one lifecycle, and VeriReel
//! adds what is its own through hooks (`hooks.rs`): the rollout check of
//! the build its app reports, Prisma migrations after a promotion, the
//! restore of the backup gate after a rollback, and its preview env. Its
//! own routes keep the original's request shapes (`lifecycle.rs`,
//! `previews.rs` adapt them), and add the VeriReel-only actions: the prod
//! backup gate, the stable environment and runtime verification, the
//! testing verification, app maintenance and the preview inventory.

mod actions;
mod backup_gate;
mod catalogue;
mod checks;
mod failures;
pub mod hooks;
pub mod lifecycle;
mod maintenance;
pub mod models;
mod previews;
mod rollout;
mod verification;

#[cfg(test)]
mod tests;

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks as points;

/// The one driver value: the host's descriptor, routes and dispatch all come
/// from it, so they cannot drift apart.
pub fn driver() -> Driver {
    let driver = Driver::new("verireel", "VeriReel")
        .product("verireel")
        .description("VeriReel stable-lane and preview lifecycle driver.")
        .extends("generic-web")
        .context_patterns(&["verireel", "verireel-testing"]);
    let driver = catalogue::capabilities()
        .into_iter()
        .fold(driver, Driver::capability);
    let driver = catalogue::setting_groups()
        .into_iter()
        .fold(driver, Driver::setting_group);
    let driver = actions::all().into_iter().fold(driver, Driver::action);
    driver
        .hook(points::PROMOTION_GATE, hooks::promotion_gate)
        .hook(points::POST_DEPLOY, hooks::post_deploy)
        .hook(points::VERIFY, hooks::verify)
        .hook(points::PREVIEW_ENV, hooks::preview_env)
        .hook(points::ADAPT_REQUEST, lifecycle::adapt_request)
        .hook(points::ADAPT_RESULT, lifecycle::adapt_result)
        .hook(points::ADMIT_OPERATION, backup_gate::admit)
}

#[cfg(target_arch = "wasm32")]
launchplane_sdk::export_driver!(driver);
