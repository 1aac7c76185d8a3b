//! generic-web: the common web lifecycle driver.
//!
//! The base every web product driver extends: stable deploys and promotions,
//! rollbacks, verification evidence and the preview lifecycle. Extension
//! drivers (odoo, verireel) reach these routes for their own products and hook
//! into them through the hooks listed in `calls_hooks`.

mod actions;
mod catalogue;
mod checks;
pub use lifecycle_records::hooks;
mod lane;
pub mod models;
mod previews;
mod profile;
pub use lifecycle_records as records;
mod rollback;
mod stable;
mod verification;
mod workflow;

#[cfg(test)]
mod tests;

use launchplane_sdk::prelude::*;

/// The one driver value: the host's descriptor, routes and dispatch all come
/// from it, so they cannot drift apart.
pub fn driver() -> Driver {
    let driver = Driver::new("generic-web", "Generic web")
        .product("generic-web")
        .description(
            "Reusable containerized web-app lifecycle driver for image deploys, health checks, previews, and PR feedback.",
        )
        .calls_hooks(&hooks::ALL)
        .record_kind(
            "generic_web_rollback_plan",
            RecordMode::State,
            "A lane's current rollback plan: the deployment a rollback would return to, or why it cannot.",
        )
        .records_keys(&["generic_web_rollback_plan_id"])
        .records_object_key("generic_web_preview_verification");
    let driver = catalogue::capabilities()
        .into_iter()
        .fold(driver, Driver::capability);
    let driver = catalogue::setting_groups()
        .into_iter()
        .fold(driver, Driver::setting_group);
    actions::all().into_iter().fold(driver, Driver::action)
}

#[cfg(target_arch = "wasm32")]
launchplane_sdk::export_driver!(driver);
