//! How the Odoo actions are grouped for operators, and the settings they read.
//!
//! Capabilities drive the operator views (which panels a product shows and
//! whether it has previews), so they keep the original registry's ids. Actions
//! the original left out of every capability stay out here too.

use launchplane_sdk::prelude::*;

/// The operator-facing groups, in the original registry's order.
pub fn capabilities() -> Vec<Capability> {
    let preview_panels = [
        PanelKind::PreviewInventory,
        PanelKind::DeploymentEvidence,
        PanelKind::Audit,
    ];
    vec![
        Capability::new("artifact_publish", "Artifact publish")
            .description("Accept and persist immutable Odoo artifact manifests produced by product CI.")
            .actions(&["artifact_publish_inputs", "artifact_publish"])
            .panels(&[PanelKind::ArtifactEvidence]),
        Capability::new("post_deploy_settings", "Post-deploy settings")
            .description("Apply typed Odoo instance settings and managed secret bindings after deploy.")
            .actions(&["post_deploy", "stable_bootstrap"])
            .panels(&[PanelKind::Settings, PanelKind::SecretBindings, PanelKind::Audit]),
        Capability::new("stable_promotion", "Stable promotion")
            .description("Capture backup evidence, promote testing to prod, and roll back prod to stored artifacts.")
            .actions(&["prod_backup_gate", "prod_promotion", "prod_rollback"])
            .panels(&[
                PanelKind::LaneHealth,
                PanelKind::DeploymentEvidence,
                PanelKind::PromotionEvidence,
                PanelKind::BackupEvidence,
            ]),
        Capability::new("previewable", "Previewable")
            .description("Plan, create, refresh and destroy isolated Odoo pull-request previews.")
            .actions(&["preview_apply_inputs", "preview_apply"])
            .panels(&preview_panels),
        Capability::new("preview_inventory_managed", "Preview inventory managed")
            .description("Read provider inventory and reconcile current Odoo preview state.")
            .actions(&["preview_apply_inputs", "preview_apply"])
            .panels(&preview_panels),
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
        .description("DB-backed runtime settings used by Odoo driver actions.")
        .fields(&["ODOO_DB_NAME", "ODOO_DB_USER", "ODOO_BACKUP_ROOT"]),
        SettingGroup::new(
            "odoo_instance_overrides",
            "Odoo instance settings",
            Scope::Instance,
        )
        .description(
            "Typed Odoo config parameters and addon settings applied by the post-deploy driver.",
        )
        .fields(&["config_parameters", "addon_settings", "apply_on"])
        .secret_bindings(&["ODOO_OVERRIDE_SECRET__*"]),
    ]
}
