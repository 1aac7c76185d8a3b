//! What drivers declare beyond their own actions: the record kinds and
//! `records` keys only they know, and the base-driver actions an extension
//! runs under routes of its own. Checked alone (names, no clash with the
//! host's table) and together (a written kind is known, a base action
//! exists and has the extension action's shape, two drivers declaring one
//! kind or key agree).

use std::collections::HashMap;

use super::descriptor::{ActionDescriptor, DriverDescriptor, Execution, RecordMode};
use super::error::RegistryError;
use crate::records::kinds::{self, Access};

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// One descriptor's declarations, alone.
pub fn validate_declarations(d: &DriverDescriptor) -> Result<(), RegistryError> {
    let driver = d.driver_id.as_str();
    let mut seen = HashMap::new();
    for (i, k) in d.record_kinds.iter().enumerate() {
        let field = format!("record_kinds[{i}] `{}`", k.kind);
        if !is_name(&k.kind) {
            return Err(RegistryError::invalid(
                driver,
                field,
                "must be lower-case letters, digits and `_`",
            ));
        }
        if kinds::rule_of(&k.kind).is_some() {
            return Err(RegistryError::invalid(
                driver,
                field,
                "is a kind the host keeps itself; only new kinds are declared",
            ));
        }
        if seen.insert(k.kind.as_str(), ()).is_some() {
            return Err(RegistryError::invalid(driver, field, "is declared twice"));
        }
    }
    let mut seen = HashMap::new();
    for (i, k) in d.records_keys.iter().enumerate() {
        let field = format!("records_keys[{i}] `{}`", k.key);
        if !is_name(&k.key) {
            return Err(RegistryError::invalid(
                driver,
                field,
                "must be lower-case letters, digits and `_`",
            ));
        }
        if kinds::is_host_records_key(&k.key) {
            return Err(RegistryError::invalid(
                driver,
                field,
                "is a key the host knows; only new keys are declared",
            ));
        }
        if seen.insert(k.key.as_str(), ()).is_some() {
            return Err(RegistryError::invalid(driver, field, "is declared twice"));
        }
    }
    check_lane_policies(d)?;
    for (i, a) in d.actions.iter().enumerate() {
        if let Some(operation) = &a.operation {
            check_operation_route(d, i, a, operation)?;
        }
        if a.base_action.is_some() && d.base().is_none() {
            return Err(RegistryError::invalid(
                driver,
                format!("actions[{i}] `{}`.base_action", a.action_id),
                "only a driver that extends a base driver runs base actions",
            ));
        }
    }
    Ok(())
}

/// The lane fields a profile always has; a lane policy cannot be one.
const CORE_LANE_FIELDS: [&str; 4] = ["instance", "context", "base_url", "health_url"];

/// Lane policies: named fields, once each, not a core lane field, with a
/// schema that compiles and a lane status.
fn check_lane_policies(d: &DriverDescriptor) -> Result<(), RegistryError> {
    let driver = d.driver_id.as_str();
    let mut seen = HashMap::new();
    for (i, p) in d.lane_policies.iter().enumerate() {
        let field = format!("lane_policies[{i}] `{}`", p.field);
        if !is_name(&p.field) || CORE_LANE_FIELDS.contains(&p.field.as_str()) {
            return Err(RegistryError::invalid(
                driver,
                field,
                "must be lower-case letters, digits and `_`, and not a core lane field",
            ));
        }
        if seen.insert(p.field.as_str(), ()).is_some() {
            return Err(RegistryError::invalid(driver, field, "is declared twice"));
        }
        if let Err(e) = jsonschema::validator_for(&p.schema) {
            return Err(RegistryError::invalid(
                driver,
                format!("{field}.schema"),
                format!("is not a usable JSON Schema: {e}"),
            ));
        }
        if !is_name(&p.lane_status) {
            return Err(RegistryError::invalid(
                driver,
                format!("{field}.lane_status"),
                "must be lower-case letters, digits and `_`",
            ));
        }
    }
    Ok(())
}

/// An async action's operation route: a poll path under the driver's
/// routes ending with `/{operation_id}`, a named busy code, a declared
/// `records` key.
fn check_operation_route(
    d: &DriverDescriptor,
    i: usize,
    a: &ActionDescriptor,
    operation: &super::descriptor::OperationRoute,
) -> Result<(), RegistryError> {
    let driver = d.driver_id.as_str();
    let field = format!("actions[{i}] `{}`.operation", a.action_id);
    if a.execution != Execution::Async {
        return Err(RegistryError::invalid(
            driver,
            field,
            "only an async action has operations",
        ));
    }
    let prefix = format!("/v1/drivers/{driver}/");
    let path = &operation.poll_path;
    let stem = path.strip_suffix("/{operation_id}").unwrap_or_default();
    let stem_ok = stem.len() > prefix.len()
        && stem.starts_with(&prefix)
        && stem.split('/').skip(1).all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        });
    if !stem_ok {
        return Err(RegistryError::invalid(
            driver,
            format!("{field}.poll_path"),
            format!("must be `{prefix}<segments>/{{operation_id}}`"),
        ));
    }
    if !is_name(&operation.active_code) {
        return Err(RegistryError::invalid(
            driver,
            format!("{field}.active_code"),
            "must be lower-case letters, digits and `_`",
        ));
    }
    if !d
        .records_keys
        .iter()
        .any(|k| k.key == operation.records_key)
    {
        return Err(RegistryError::invalid(
            driver,
            format!("{field}.records_key"),
            "must be one of the driver's records_keys",
        ));
    }
    Ok(())
}

/// The drivers' declarations, together.
pub fn validate_together(drivers: &[&DriverDescriptor]) -> Result<(), RegistryError> {
    check_shared_declarations(drivers)?;
    for d in drivers {
        let chain = base_chain(drivers, d);
        for (i, a) in d.actions.iter().enumerate() {
            let at = |field: &str| format!("actions[{i}] `{}`.{field}", a.action_id);
            check_writes(d, &chain, a, &at)?;
            if let Some(base_action) = &a.base_action {
                check_base_action(drivers, d, a, base_action, &at)?;
            }
        }
    }
    Ok(())
}

/// The described driver with this id, if any.
fn find<'a>(drivers: &[&'a DriverDescriptor], id: &str) -> Option<&'a DriverDescriptor> {
    drivers.iter().copied().find(|d| d.driver_id == id)
}

/// Refuses a record kind declared with two modes, or a records key
/// declared with two shapes, by different drivers.
fn check_shared_declarations(drivers: &[&DriverDescriptor]) -> Result<(), RegistryError> {
    let mut modes: HashMap<&str, (RecordMode, &str)> = HashMap::new();
    let mut keys: HashMap<&str, (bool, &str)> = HashMap::new();
    for d in drivers {
        for k in &d.record_kinds {
            if let Some((mode, other)) = modes.insert(&k.kind, (k.mode, &d.driver_id))
                && mode != k.mode
            {
                return Err(RegistryError::invalid(
                    &d.driver_id,
                    format!("record_kinds `{}`", k.kind),
                    format!("is declared by driver `{other}` with another mode"),
                ));
            }
        }
        for k in &d.records_keys {
            if let Some((object, other)) = keys.insert(&k.key, (k.object, &d.driver_id))
                && object != k.object
            {
                return Err(RegistryError::invalid(
                    &d.driver_id,
                    format!("records_keys `{}`", k.key),
                    format!("is declared by driver `{other}` with another shape"),
                ));
            }
        }
    }
    Ok(())
}

/// The driver and its bases, nearest first; a cycle ends the chain.
fn base_chain<'a>(
    drivers: &[&'a DriverDescriptor],
    d: &'a DriverDescriptor,
) -> Vec<&'a DriverDescriptor> {
    let mut chain = vec![d];
    while let Some(base) = chain
        .last()
        .and_then(|c| c.base())
        .and_then(|id| find(drivers, id))
    {
        if chain.iter().any(|c| c.driver_id == base.driver_id) {
            break;
        }
        chain.push(base);
    }
    chain
}

/// Checks the kinds an action writes. It may write the host's
/// driver-writable kinds, its own and its bases'.
fn check_writes(
    d: &DriverDescriptor,
    chain: &[&DriverDescriptor],
    a: &ActionDescriptor,
    at: &dyn Fn(&str) -> String,
) -> Result<(), RegistryError> {
    for kind in &a.writes_records {
        let known = match kinds::rule_of(kind) {
            Some(rule) => rule.access == Access::DriverWrite,
            None => chain
                .iter()
                .any(|c| c.record_kinds.iter().any(|k| &k.kind == kind)),
        };
        if !known {
            return Err(RegistryError::invalid(
                &d.driver_id,
                at("writes_records"),
                format!(
                    "`{kind}` is neither a kind drivers may write nor one this driver or its base declares"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks an action that runs `base_action`: the base driver has it, it
/// runs no base action itself, it matches scope and method, and its
/// execution matches too (except that an async action may run a sync base
/// action: its durable operation runs it). Writes the action declares are
/// its own step's (`adapt-request`); the base handler runs with the base
/// action's.
fn check_base_action(
    drivers: &[&DriverDescriptor],
    d: &DriverDescriptor,
    a: &ActionDescriptor,
    base_action: &str,
    at: &dyn Fn(&str) -> String,
) -> Result<(), RegistryError> {
    let base = d.base().and_then(|id| find(drivers, id));
    let Some(target) = base.and_then(|b| b.action(base_action)) else {
        return Err(RegistryError::invalid(
            &d.driver_id,
            at("base_action"),
            format!(
                "`{base_action}` is not an action of base driver `{}`",
                d.base().unwrap_or_default()
            ),
        ));
    };
    if target.base_action.is_some() {
        return Err(RegistryError::invalid(
            &d.driver_id,
            at("base_action"),
            format!("`{base_action}` runs a base action itself"),
        ));
    }
    let execution_fits = target.execution == a.execution
        || (a.execution == Execution::Async && target.execution == Execution::Sync);
    if target.scope != a.scope || !execution_fits || target.method != a.method {
        return Err(RegistryError::invalid(
            &d.driver_id,
            at("base_action"),
            format!("`{base_action}` has another scope, execution or method than this action"),
        ));
    }
    Ok(())
}
