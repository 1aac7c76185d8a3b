//! verireel: VeriReel's stable-lane and preview lifecycle driver.
//!
//! VeriReel extends generic-web: its products may also call the generic-web
//! routes. Its own routes exist because VeriReel's lifecycle differs from the
//! generic one where it matters: prod backups are whole-container snapshots,
//! rollouts are verified against the build identity the app reports, and
//! previews get their own database.

mod actions;
mod catalogue;
mod checks;
mod maintenance;
pub mod models;
mod stable;

#[cfg(test)]
mod tests;

use launchplane_sdk::prelude::*;

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
    actions::all().into_iter().fold(driver, Driver::action)
}

#[cfg(target_arch = "wasm32")]
launchplane_sdk::export_driver!(driver);
