//! How the VeriReel actions are grouped for operators, and the settings they
//! read.
//!
//! Capabilities drive the operator views (which panels a product shows and
//! whether it has previews), so they keep the original registry's ids.

use launchplane_sdk::prelude::*;

/// The operator-facing groups, in the original registry's order.
pub fn capabilities() -> Vec<Capability> {
    vec![
        Capability::new("stable_deploy", "Stable deploy")
            .description("Deploy and inspect stable VeriReel environments through Launchplane evidence records.")
            .actions(&["testing_deploy", "prod_deploy", "stable_environment", "runtime_verification", "app_maintenance"])
            .panels(&[PanelKind::LaneHealth, PanelKind::DeploymentEvidence, PanelKind::Settings]),
        Capability::new("stable_promotion", "Stable promotion")
            .description("Capture backup evidence, promote testing to prod, and roll back prod from backup snapshots.")
            .actions(&["prod_backup_gate", "prod_promotion", "prod_rollback"])
            .panels(&[PanelKind::PromotionEvidence, PanelKind::BackupEvidence]),
        Capability::new("preview_lifecycle", "Preview lifecycle")
            .description("Refresh, inspect, and destroy ephemeral preview environments from stored preview records.")
            .actions(&["preview_refresh", "preview_inventory", "preview_destroy"])
            .panels(&[PanelKind::PreviewInventory, PanelKind::DeploymentEvidence, PanelKind::Audit]),
    ]
}

/// Settings and secret bindings the driver's actions read, shown to operators
/// so missing configuration is visible before an action fails on it.
pub fn setting_groups() -> Vec<SettingGroup> {
    vec![
        SettingGroup::new(
            "runtime_environment",
            "Runtime environment",
            Scope::Instance,
        )
        .description("DB-backed runtime settings used by VeriReel driver actions.")
        .fields(&["VERIREEL_*", "LAUNCHPLANE_PREVIEW_BASE_URL"]),
        SettingGroup::new(
            "managed_secrets",
            "Managed secret bindings",
            Scope::Instance,
        )
        .description("Write-only managed secret bindings surfaced as status metadata.")
        .secret_bindings(&["*_TOKEN", "*_SECRET", "*_KEY"]),
    ]
}
