//! How the generic-web actions are grouped for operators, and the settings
//! they read.
//!
//! Capabilities drive the operator views (which panels a product shows and
//! whether it has previews), so they keep the original registry's ids.

use launchplane_sdk::prelude::*;

/// The operator-facing groups, in the original registry's order.
pub fn capabilities() -> Vec<Capability> {
    let preview_panels = [
        PanelKind::PreviewInventory,
        PanelKind::DeploymentEvidence,
        PanelKind::Audit,
    ];
    vec![
        Capability::new("image_deployable", "Image deployable")
            .description("Deploy immutable container images and record stable-lane deployment evidence.")
            .actions(&["stable_deploy", "prod_promotion", "prod_rollback_plan", "prod_rollback"])
            .panels(&[PanelKind::LaneHealth, PanelKind::DeploymentEvidence, PanelKind::PromotionEvidence]),
        Capability::new("health_checked", "Health checked")
            .description("Verify HTTP health endpoints and surface freshness through Launchplane read models.")
            .panels(&[PanelKind::LaneHealth]),
        Capability::new("previewable", "Previewable")
            .description(
                "Model desired preview state, creation, refresh, cleanup, and preview evidence for web products.",
            )
            .actions(&["preview_desired_state"])
            .panels(&preview_panels),
        Capability::new("preview_inventory_managed", "Preview inventory managed")
            .description("Read provider inventory and reconcile current preview state through Launchplane records.")
            .actions(&["preview_inventory", "preview_destroy"])
            .panels(&preview_panels),
        Capability::new("pr_feedback", "PR feedback")
            .description("Render and persist pull-request feedback from Launchplane preview and deploy records.")
            .panels(&[PanelKind::Audit]),
    ]
}

/// Settings and secret bindings the driver's actions read, shown to operators
/// so missing configuration is visible before an action fails on it.
pub fn setting_groups() -> Vec<SettingGroup> {
    vec![
        SettingGroup::new("preview_runtime_environment", "Preview runtime environment", Scope::Context)
            .description(
                "DB-backed preview routing and runtime settings shared by generic-web preview lifecycle actions.",
            )
            .fields(&[
                "LAUNCHPLANE_PREVIEW_BASE_URL",
                "preview.required_template_env_keys",
                "preview.copied_env_keys",
                "preview.omitted_env_keys",
                "preview.override_env",
                "preview.preview_url_env_keys",
                "preview.preview_domain_env_keys",
            ])
            .secret_bindings(&["preview.copied_env_keys"]),
    ]
}
