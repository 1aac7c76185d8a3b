//! Lane policies: product-profile lane fields a driver declares in its
//! descriptor (`lane_policies`, each with a JSON Schema). The host knows no
//! policy by name: it refuses a lane field no driver of the product
//! declares, validates a declared one against its schema when the profile
//! is written, stores it as given, and shows in read models which lanes a
//! policy marks (a policy object with `enabled: true` gives the lane the
//! policy's declared status, with its `approval_issue_url` and its allowed
//! strategy, `data_source_mode`). What a policy permits is the driver's
//! decision, made when its actions run.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::records::models::product_profile::ProductProfile;
use crate::registry::{LanePolicy, Registry};

/// Every lane policy of `profile` is declared by its driver (or a base)
/// and valid by the declared schema; the 400 names the field.
pub fn check_lane_policies(registry: &Registry, profile: &ProductProfile) -> Result<(), ApiError> {
    let declared = registry.lane_policies(&profile.driver_id);
    for (index, lane) in profile.lanes.iter().enumerate() {
        for (field, value) in &lane.policies {
            let at = format!("lanes[{index}].{field}");
            let Some(policy) = declared.iter().find(|p| &p.field == field) else {
                return Err(ApiError::invalid_request(format!(
                    "Field `{at}`: unknown field; driver `{}` declares no such lane policy.",
                    profile.driver_id
                )));
            };
            check_value(policy, value, &at)?;
        }
    }
    Ok(())
}

/// `value` against the policy's schema; the first error names the field.
fn check_value(policy: &LanePolicy, value: &Value, at: &str) -> Result<(), ApiError> {
    let validator = jsonschema::validator_for(&policy.schema)
        .map_err(|e| ApiError::internal(format!("lane policy `{}` schema: {e}", policy.field)))?;
    let Some(error) = validator.iter_errors(value).next() else {
        return Ok(());
    };
    let path = error.instance_path().to_string();
    let field = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .fold(at.to_string(), |acc, part| format!("{acc}.{part}"));
    Err(ApiError::invalid_request(format!(
        "Field `{field}`: {error}"
    )))
}

/// Each lane of `profile` as read models show it: `status` is `active`, or
/// the declared status of the first enabled policy; `provisional` says a
/// policy marks it; `policies` lists each declared policy it carries.
pub fn lane_views(registry: &Registry, profile: &ProductProfile) -> Vec<Value> {
    let declared = registry.lane_policies(&profile.driver_id);
    profile
        .lanes
        .iter()
        .map(|lane| {
            let policies: Vec<Value> = declared
                .iter()
                .filter_map(|policy| {
                    let value = lane.policies.get(&policy.field)?;
                    let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or("");
                    let enabled = value.get("enabled").and_then(Value::as_bool) == Some(true);
                    Some(json!({
                        "field": policy.field,
                        "enabled": enabled,
                        "lane_status": if enabled { policy.lane_status.as_str() } else { "" },
                        "approval_issue_url": text("approval_issue_url"),
                        "allowed_strategy": text("data_source_mode"),
                    }))
                })
                .collect();
            let status = policies
                .iter()
                .find(|p| p["enabled"] == true)
                .and_then(|p| p["lane_status"].as_str())
                .unwrap_or("active")
                .to_string();
            json!({
                "instance": lane.instance,
                "context": lane.context,
                "status": status,
                "provisional": status != "active",
                "policies": policies,
            })
        })
        .collect()
}
