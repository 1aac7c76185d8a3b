//! Which driver actions a caller may take on a product or lane, and why
//! not (the original's action availability): the product driver's
//! operator-visible actions, each with the lane context its authorization
//! would use, the profile's support for it (previews enabled, a prod lane)
//! and the caller's grants. Lifecycle actions the driver lacks are listed
//! as unsupported on the product and lane views.

use serde_json::{Value, json};

use crate::records::models::product_profile::ProductProfile;
use crate::registry::{ActionDescriptor, DriverDescriptor, Scope};

/// The lifecycle actions an operator expects, with label, safety and
/// scope, listed as unsupported when the driver has no such action.
const OPERATOR_ACTIONS: &[(&str, &str, &str, &str)] = &[
    ("stable_deploy", "Deploy lane", "mutation", "instance"),
    (
        "prod_promotion",
        "Promote testing to prod",
        "mutation",
        "instance",
    ),
    (
        "prod_promotion_workflow",
        "Dispatch promote workflow",
        "mutation",
        "instance",
    ),
    (
        "prod_backup_gate",
        "Capture prod backup gate",
        "safe_write",
        "instance",
    ),
    ("prod_rollback", "Roll back prod", "destructive", "instance"),
    (
        "preview_desired_state",
        "Discover desired previews",
        "safe_write",
        "context",
    ),
    (
        "preview_inventory",
        "Read preview inventory",
        "read",
        "context",
    ),
    ("preview_refresh", "Refresh preview", "mutation", "preview"),
    (
        "preview_readiness",
        "Evaluate preview readiness",
        "read",
        "context",
    ),
    (
        "preview_destroy",
        "Destroy preview",
        "destructive",
        "preview",
    ),
];

/// Context-scoped preview actions that need previews enabled.
const PREVIEW_CONTEXT_ACTIONS: [&str; 3] = [
    "preview_desired_state",
    "preview_inventory",
    "preview_readiness",
];

/// Where an action's availability is judged.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// The product as a whole: each action on the lane it would act on.
    Product,
    /// One lane: every action on that lane's context.
    Lane(&'a str),
}

/// The caller's grants: (action, product, context) → allowed.
pub type Allowed<'a> = dyn Fn(&str, &str, &str) -> bool + Send + Sync + 'a;

fn lane_context<'p>(profile: &'p ProductProfile, instance: &str) -> Option<&'p str> {
    profile
        .lanes
        .iter()
        .find(|l| l.instance == instance && !l.context.trim().is_empty())
        .map(|l| l.context.as_str())
}

fn preferred_context<'p>(profile: &'p ProductProfile, order: [&str; 2]) -> &'p str {
    order
        .iter()
        .find_map(|instance| lane_context(profile, instance))
        .unwrap_or("")
}

fn is_preview_action(action: &ActionDescriptor) -> bool {
    action.scope == Scope::Preview || action.action_id.starts_with("preview_")
}

/// The base lifecycle's own promotion (not an extension's): it promotes
/// within one context, so testing and prod must share it.
fn is_same_context_promotion(driver: &DriverDescriptor, action: &ActionDescriptor) -> bool {
    action.action_id == "prod_promotion" && driver.base().is_none() && action.base_action.is_none()
}

fn same_context_lanes(profile: &ProductProfile) -> bool {
    matches!(
        (lane_context(profile, "testing"), lane_context(profile, "prod")),
        (Some(testing), Some(prod)) if testing == prod
    )
}

/// The context the product view authorizes `action` on.
fn product_context<'p>(
    profile: &'p ProductProfile,
    driver: &DriverDescriptor,
    action: &ActionDescriptor,
) -> &'p str {
    let id = action.action_id.as_str();
    if is_preview_action(action) {
        let preview = profile.preview.context.trim();
        if !preview.is_empty() {
            return profile.preview.context.as_str();
        }
        return preferred_context(profile, ["prod", "testing"]);
    }
    if is_same_context_promotion(driver, action) {
        return if same_context_lanes(profile) {
            lane_context(profile, "prod").unwrap_or("")
        } else {
            ""
        };
    }
    if id.starts_with("testing_") || id == "stable_deploy" || id == "prod_promotion_workflow" {
        return preferred_context(profile, ["testing", "prod"]);
    }
    if id.starts_with("prod_") {
        return lane_context(profile, "prod").unwrap_or("");
    }
    match action.scope {
        Scope::Context if profile.preview.enabled => profile.preview.context.as_str(),
        Scope::Instance => preferred_context(profile, ["prod", "testing"]),
        _ => "",
    }
}

/// Why the profile cannot support `action`, if it cannot.
fn support_reason(
    profile: &ProductProfile,
    driver: &DriverDescriptor,
    action: &ActionDescriptor,
) -> Option<&'static str> {
    if is_same_context_promotion(driver, action) {
        return (!same_context_lanes(profile))
            .then_some("Prod promotion requires testing and prod lanes to share a context.");
    }
    if action.action_id.starts_with("prod_") && lane_context(profile, "prod").is_none() {
        return Some("Product profile does not define a prod lane.");
    }
    None
}

fn as_text<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn availability(
    profile: &ProductProfile,
    driver: &DriverDescriptor,
    action: &ActionDescriptor,
    place: Place<'_>,
    allowed: &Allowed<'_>,
) -> Value {
    let mut reasons: Vec<&str> = Vec::new();
    let preview_only = action.scope == Scope::Preview
        || PREVIEW_CONTEXT_ACTIONS.contains(&action.action_id.as_str());
    if !profile.preview.enabled && preview_only {
        reasons.push("Product previews are not enabled.");
    }
    if let Some(reason) = support_reason(profile, driver, action) {
        reasons.push(reason);
    }
    let context = match place {
        Place::Product => product_context(profile, driver, action),
        Place::Lane(context) => context,
    };
    if !allowed(&action.authz_action, &profile.product, context) {
        reasons.push("Caller is not authorized for this action.");
    }
    json!({
        "action_id": action.action_id,
        "label": action.label,
        "description": action.description,
        "safety": as_text(action.safety),
        "scope": as_text(action.scope),
        "method": action.method.as_str(),
        "route_path": action.route_path,
        "authz_action": action.authz_action,
        "enabled": reasons.is_empty(),
        "disabled_reasons": reasons,
        "trust_state": "recorded",
    })
}

fn unsupported(action_id: &str, label: &str, safety: &str, scope: &str) -> Value {
    json!({
        "action_id": action_id,
        "label": label,
        "description": "",
        "safety": safety,
        "scope": scope,
        "method": "",
        "route_path": "",
        "authz_action": "",
        "enabled": false,
        "disabled_reasons": ["Driver does not support this action."],
        "trust_state": "unsupported",
    })
}

/// The actions of `driver` (none when the product's driver is not
/// loaded) for `profile` at `place`; with `include_unsupported`, the
/// operator lifecycle actions the driver lacks too.
pub fn available_actions(
    profile: &ProductProfile,
    driver: Option<&DriverDescriptor>,
    place: Place<'_>,
    include_unsupported: bool,
    allowed: &Allowed<'_>,
) -> Vec<Value> {
    let visible: Vec<&ActionDescriptor> = driver
        .map(|d| d.actions.iter().filter(|a| a.operator_visible).collect())
        .unwrap_or_default();
    let mut out: Vec<Value> = match driver {
        Some(driver) => visible
            .iter()
            .map(|action| availability(profile, driver, action, place, allowed))
            .collect(),
        None => Vec::new(),
    };
    if include_unsupported {
        for (id, label, safety, scope) in OPERATOR_ACTIONS {
            if !visible.iter().any(|a| a.action_id == *id) {
                out.push(unsupported(id, label, safety, scope));
            }
        }
    }
    out
}
