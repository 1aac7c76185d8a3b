//! The rules a descriptor must meet before any of its routes exist.
//!
//! Single-driver rules run on each descriptor as it is described; the
//! cross-driver rules run once every driver is described. Each refusal names
//! the driver and the field.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::descriptor::{ActionDescriptor, DriverDescriptor, Method, Safety};
use super::error::RegistryError;
use crate::runtime;

/// Authorization actions of the host's own routes (evidence ingest and the
/// product-neutral preview lifecycle). Drivers may reuse these for actions
/// that write the same kind of evidence, as the original's verification
/// routes do; every other authz action belongs to exactly one driver.
pub const SHARED_AUTHZ_ACTIONS: &[&str] = &[
    "deployment.write",
    "promotion.write",
    "backup_gate.write",
    "preview_generation.write",
    "preview_destroyed.write",
    "preview_desired_state.discover",
    "preview_lifecycle.plan",
    "preview_lifecycle.cleanup",
    "preview_pr_feedback.write",
];

/// Envelope keys that would collide with the envelope's own fields.
const RESERVED_ENVELOPE_KEYS: &[&str] = &["schema_version", "product"];

fn is_slug(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

/// Checks one descriptor against its registry entry.
///
/// The checks run in the original service's order: the descriptor's own
/// identity, then each action, then the capabilities, hooks and extension
/// declarations. The first failing check is the one reported.
pub fn validate_descriptor(registry_id: &str, d: &DriverDescriptor) -> Result<(), RegistryError> {
    let driver = registry_id;
    check_identity(registry_id, d)?;
    let action_ids = check_actions(driver, d)?;
    check_capabilities(driver, d, &action_ids)?;
    check_hooks(driver, d)?;
    super::extension::validate_declarations(d)
}

/// Checks the descriptor's identity: id, API version, label and wording.
fn check_identity(registry_id: &str, d: &DriverDescriptor) -> Result<(), RegistryError> {
    let driver = registry_id;
    if d.driver_id != registry_id {
        return Err(RegistryError::IdMismatch {
            driver: driver.to_string(),
            described: d.driver_id.clone(),
        });
    }
    if !runtime::api_compatible(&d.api_version) {
        return Err(RegistryError::IncompatibleApi {
            driver: driver.to_string(),
            found: d.api_version.clone(),
            supported: runtime::API_VERSION.to_string(),
        });
    }
    if !is_slug(&d.driver_id, &['-']) {
        return Err(RegistryError::invalid(
            driver,
            "driver_id",
            "must be lower-case letters, digits and `-`",
        ));
    }
    if d.base_driver_id == d.driver_id {
        return Err(RegistryError::invalid(
            driver,
            "base_driver_id",
            "a driver cannot extend itself",
        ));
    }
    if d.label.trim().is_empty() {
        return Err(RegistryError::invalid(driver, "label", "must not be empty"));
    }
    let serialized = serde_json::to_string(d)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if serialized.contains("dokploy") {
        return Err(RegistryError::invalid(
            driver,
            "descriptor",
            "mentions a provider by name; drivers describe intent in provider-neutral words",
        ));
    }
    Ok(())
}

/// What the action checks have seen so far in one descriptor.
#[derive(Default)]
struct SeenActions<'a> {
    /// Action ids declared so far.
    action_ids: HashSet<&'a str>,
    /// Method and route pairs declared so far.
    routes: HashSet<(Method, &'a str)>,
    /// The safety of the first action naming each authz action.
    authz_safety: HashMap<&'a str, Safety>,
}

/// Checks every action in order and returns the declared action ids.
fn check_actions<'a>(
    driver: &str,
    d: &'a DriverDescriptor,
) -> Result<HashSet<&'a str>, RegistryError> {
    let prefix = format!("/v1/drivers/{}/", d.driver_id);
    let mut seen = SeenActions::default();
    for (i, a) in d.actions.iter().enumerate() {
        let at = |field: &str| format!("actions[{i}] `{}`.{field}", a.action_id);
        check_action_route(driver, i, a, &prefix, &mut seen, &at)?;
        check_action_authz(driver, a, &mut seen, &at)?;
        check_action_method(driver, a, &at)?;
        check_action_records(driver, a, &at)?;
        check_action_schemas(driver, a, &at)?;
    }
    Ok(seen.action_ids)
}

/// Checks an action's id and route: slug, unique, under the driver prefix.
fn check_action_route<'a>(
    driver: &str,
    i: usize,
    a: &'a ActionDescriptor,
    prefix: &str,
    seen: &mut SeenActions<'a>,
    at: &dyn Fn(&str) -> String,
) -> Result<(), RegistryError> {
    if !is_slug(&a.action_id, &['_']) {
        return Err(RegistryError::invalid(
            driver,
            format!("actions[{i}].action_id"),
            "must be lower-case letters, digits and `_`",
        ));
    }
    if !seen.action_ids.insert(a.action_id.as_str()) {
        return Err(RegistryError::invalid(
            driver,
            at("action_id"),
            "is declared twice",
        ));
    }
    let Some(rest) = a.route_path.strip_prefix(prefix) else {
        return Err(RegistryError::invalid(
            driver,
            at("route_path"),
            format!("`{}` is outside {prefix}", a.route_path),
        ));
    };
    if !is_slug(rest, &['-', '/'])
        || rest.starts_with('/')
        || rest.ends_with('/')
        || rest.contains("//")
    {
        return Err(RegistryError::invalid(
            driver,
            at("route_path"),
            format!(
                "`{}` must continue with lower-case path segments",
                a.route_path
            ),
        ));
    }
    if !seen.routes.insert((a.method, a.route_path.as_str())) {
        return Err(RegistryError::invalid(
            driver,
            at("route_path"),
            format!("{} {} is declared twice", a.method.as_str(), a.route_path),
        ));
    }
    Ok(())
}

/// Checks an action's authz action: present, `noun.verb`, one safety.
fn check_action_authz<'a>(
    driver: &str,
    a: &'a ActionDescriptor,
    seen: &mut SeenActions<'a>,
    at: &dyn Fn(&str) -> String,
) -> Result<(), RegistryError> {
    if a.authz_action.trim().is_empty() {
        return Err(RegistryError::invalid(
            driver,
            at("authz_action"),
            "is missing: every driver route must name the authorization action it checks",
        ));
    }
    let authz_ok = a
        .authz_action
        .split_once('.')
        .is_some_and(|(noun, verb)| is_slug(noun, &['_']) && is_slug(verb, &['_']));
    if !authz_ok {
        return Err(RegistryError::invalid(
            driver,
            at("authz_action"),
            format!("`{}` must look like `noun.verb`", a.authz_action),
        ));
    }
    if let Some(previous) = seen.authz_safety.insert(&a.authz_action, a.safety)
        && previous != a.safety
    {
        return Err(RegistryError::invalid(
            driver,
            at("authz_action"),
            format!(
                "`{}` is shared by actions of different safety; a grant must not widen silently",
                a.authz_action
            ),
        ));
    }
    Ok(())
}

/// Checks an action's method against its safety and envelope key.
fn check_action_method(
    driver: &str,
    a: &ActionDescriptor,
    at: &dyn Fn(&str) -> String,
) -> Result<(), RegistryError> {
    if a.safety == Safety::Destructive && a.method == Method::Get {
        return Err(RegistryError::invalid(
            driver,
            at("method"),
            "a destructive action cannot be declared as GET",
        ));
    }
    if a.method == Method::Post {
        if !is_slug(&a.envelope_key, &['_']) {
            return Err(RegistryError::invalid(
                driver,
                at("envelope_key"),
                "a POST action must name its envelope payload key",
            ));
        }
        if RESERVED_ENVELOPE_KEYS.contains(&a.envelope_key.as_str()) {
            return Err(RegistryError::invalid(
                driver,
                at("envelope_key"),
                format!("`{}` is a reserved envelope field", a.envelope_key),
            ));
        }
    }
    Ok(())
}

/// Checks the record kinds an action writes: named, and not host-only.
fn check_action_records(
    driver: &str,
    a: &ActionDescriptor,
    at: &dyn Fn(&str) -> String,
) -> Result<(), RegistryError> {
    for kind in &a.writes_records {
        if !is_slug(kind, &['_']) {
            return Err(RegistryError::invalid(
                driver,
                at("writes_records"),
                format!("`{kind}` is not a record kind name"),
            ));
        }
        if crate::records::kinds::is_host_only(kind) {
            return Err(RegistryError::invalid(
                driver,
                at("writes_records"),
                format!("`{kind}` records belong to the host; a driver cannot write them"),
            ));
        }
    }
    Ok(())
}

/// Checks an action's schemas; the input schema must be closed.
fn check_action_schemas(
    driver: &str,
    a: &ActionDescriptor,
    at: &dyn Fn(&str) -> String,
) -> Result<(), RegistryError> {
    check_schema(driver, &at("input_schema"), &a.input_schema)?;
    check_schema(driver, &at("output_schema"), &a.output_schema)?;
    if let Some(pointer) = admits_unknown_fields(&a.input_schema, "") {
        return Err(RegistryError::invalid(
            driver,
            at("input_schema"),
            format!(
                "the object at `{}` admits unknown fields; set additionalProperties to false",
                if pointer.is_empty() { "/" } else { &pointer }
            ),
        ));
    }
    Ok(())
}

/// Checks that each capability names only declared actions.
fn check_capabilities(
    driver: &str,
    d: &DriverDescriptor,
    action_ids: &HashSet<&str>,
) -> Result<(), RegistryError> {
    for (i, c) in d.capabilities.iter().enumerate() {
        for action in &c.actions {
            if !action_ids.contains(action.as_str()) {
                return Err(RegistryError::invalid(
                    driver,
                    format!("capabilities[{i}] `{}`.actions", c.capability_id),
                    format!("names unknown action `{action}`"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks that every called and implemented hook has a hook name.
fn check_hooks(driver: &str, d: &DriverDescriptor) -> Result<(), RegistryError> {
    for (field, hooks) in [
        ("hooks_called", &d.hooks_called),
        ("hooks_implemented", &d.hooks_implemented),
    ] {
        for hook in hooks {
            if !is_slug(hook, &['-']) {
                return Err(RegistryError::invalid(
                    driver,
                    field,
                    format!("`{hook}` is not a hook name"),
                ));
            }
        }
    }
    Ok(())
}

fn check_schema(driver: &str, field: &str, schema: &Value) -> Result<(), RegistryError> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err(RegistryError::invalid(
            driver,
            field,
            "is not a JSON Schema (expected an object)",
        ));
    }
    jsonschema::meta::validate(schema).map_err(|e| {
        RegistryError::invalid(driver, field, format!("is not a valid JSON Schema: {e}"))
    })?;
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| RegistryError::invalid(driver, field, format!("does not compile: {e}")))
}

/// The JSON pointer of the first object schema with declared properties
/// that still admits unknown ones, if any. Requests must be rejected on an
/// unknown field at every depth (the original's `extra=forbid`).
fn admits_unknown_fields(schema: &Value, pointer: &str) -> Option<String> {
    let Value::Object(map) = schema else {
        return None;
    };
    if map.contains_key("properties") {
        let closed = |key: &str| map.get(key).is_some_and(|v| v == &Value::Bool(false));
        if !closed("additionalProperties") && !closed("unevaluatedProperties") {
            return Some(pointer.to_string());
        }
    }
    for (key, child) in map {
        let found = match key.as_str() {
            "properties" | "$defs" | "definitions" | "patternProperties" => {
                child.as_object().and_then(|props| {
                    props.iter().find_map(|(name, sub)| {
                        admits_unknown_fields(sub, &format!("{pointer}/{key}/{name}"))
                    })
                })
            }
            "items" | "additionalProperties" | "not" | "if" | "then" | "else" => {
                admits_unknown_fields(child, &format!("{pointer}/{key}"))
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => child.as_array().and_then(|subs| {
                subs.iter().enumerate().find_map(|(i, sub)| {
                    admits_unknown_fields(sub, &format!("{pointer}/{key}/{i}"))
                })
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Checks the loaded drivers against each other.
pub fn validate_together(drivers: &[&DriverDescriptor]) -> Result<(), RegistryError> {
    let ids: HashSet<&str> = drivers.iter().map(|d| d.driver_id.as_str()).collect();
    let mut routes: HashMap<(Method, &str), &str> = HashMap::new();
    let mut authz: HashMap<&str, &str> = HashMap::new();
    for d in drivers {
        if let Some(base) = d.base()
            && !ids.contains(base)
        {
            return Err(RegistryError::UnknownBase {
                driver: d.driver_id.clone(),
                base: base.to_string(),
            });
        }
        for a in &d.actions {
            if let Some(other) = routes.insert((a.method, a.route_path.as_str()), &d.driver_id) {
                return Err(RegistryError::DuplicateRoute {
                    driver: d.driver_id.clone(),
                    method: a.method.as_str().to_string(),
                    route: a.route_path.clone(),
                    other: other.to_string(),
                });
            }
            if SHARED_AUTHZ_ACTIONS.contains(&a.authz_action.as_str()) {
                continue;
            }
            if let Some(other) = authz.insert(&a.authz_action, &d.driver_id)
                && other != d.driver_id
            {
                return Err(RegistryError::DuplicateAuthzAction {
                    driver: d.driver_id.clone(),
                    action: a.action_id.clone(),
                    authz_action: a.authz_action.clone(),
                    other: other.to_string(),
                });
            }
        }
    }
    // A base chain must end: no driver may (transitively) extend itself.
    for d in drivers {
        let mut seen = HashSet::from([d.driver_id.as_str()]);
        let mut next = d.base();
        while let Some(base) = next {
            if !seen.insert(base) {
                return Err(RegistryError::invalid(
                    &d.driver_id,
                    "base_driver_id",
                    "forms a cycle",
                ));
            }
            next = drivers
                .iter()
                .find(|o| o.driver_id == base)
                .and_then(|o| o.base());
        }
    }
    super::extension::validate_together(drivers)
}
