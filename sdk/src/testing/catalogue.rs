//! Catalogue assertions: a driver's declared actions against the table a
//! test expects, and every input schema closed to unknown fields.

use serde_json::Value;

use crate::driver::Driver;

/// One row of a driver's expected catalogue, for [`assert_catalogue`].
#[derive(Debug, Clone, Copy)]
pub struct ExpectedAction {
    pub action_id: &'static str,
    /// The last route segment (`/v1/drivers/{driver_id}/{path}`).
    pub path: &'static str,
    pub authz: &'static str,
    pub safety: crate::Safety,
    pub writes: &'static [&'static str],
    pub visible: bool,
    pub envelope: &'static str,
    pub idempotency: crate::Idempotency,
}

/// An [`ExpectedAction`] in table form.
#[allow(clippy::too_many_arguments)]
pub const fn expected(
    action_id: &'static str,
    path: &'static str,
    authz: &'static str,
    safety: crate::Safety,
    writes: &'static [&'static str],
    visible: bool,
    envelope: &'static str,
    idempotency: crate::Idempotency,
) -> ExpectedAction {
    ExpectedAction {
        action_id,
        path,
        authz,
        safety,
        writes,
        visible,
        envelope,
        idempotency,
    }
}

/// Asserts that a driver declares exactly `rows`, in order, as POST actions
/// with a label and a description; the actions named in `async_actions` run
/// as durable operations, all others in-request.
pub fn assert_catalogue(driver: &Driver, rows: &[ExpectedAction], async_actions: &[&str]) {
    let descriptor = driver.describe();
    let ids: Vec<&str> = descriptor
        .actions
        .iter()
        .map(|a| a.action_id.as_str())
        .collect();
    let expected_ids: Vec<&str> = rows.iter().map(|r| r.action_id).collect();
    assert_eq!(ids, expected_ids);
    for (action, row) in descriptor.actions.iter().zip(rows) {
        let id = row.action_id;
        assert_eq!(
            action.route_path,
            format!("/v1/drivers/{}/{}", descriptor.driver_id, row.path),
            "{id}"
        );
        assert_eq!(action.method, crate::Method::Post, "{id}");
        assert_eq!(action.authz_action, row.authz, "{id}");
        assert_eq!(action.safety, row.safety, "{id}");
        assert_eq!(action.writes_records, row.writes, "{id}");
        assert_eq!(action.operator_visible, row.visible, "{id}");
        assert_eq!(action.envelope_key, row.envelope, "{id}");
        assert_eq!(action.idempotency, row.idempotency, "{id}");
        let execution = if async_actions.contains(&id) {
            crate::Execution::Async
        } else {
            crate::Execution::Sync
        };
        assert_eq!(action.execution, execution, "{id}");
        assert!(
            !action.label.is_empty() && !action.description.is_empty(),
            "{id}"
        );
    }
}

/// Asserts that every action's input schema is an object that refuses
/// unknown fields at every depth, as the host requires before it loads a
/// driver: call it from a driver's own tests to fail early and locally.
pub fn assert_input_schemas_closed(driver: &Driver) {
    for action in driver.describe().actions {
        let id = &action.action_id;
        assert_eq!(action.input_schema["type"], Value::from("object"), "{id}");
        assert_eq!(
            action.input_schema["additionalProperties"],
            Value::Bool(false),
            "{id}"
        );
        assert_closed(&action.input_schema, id);
    }
}

fn assert_closed(schema: &Value, path: &str) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") {
                assert_eq!(
                    map.get("additionalProperties"),
                    Some(&Value::Bool(false)),
                    "{path}"
                );
            }
            for (key, value) in map {
                assert_closed(value, &format!("{path}/{key}"));
            }
        }
        Value::Array(items) => items.iter().for_each(|item| assert_closed(item, path)),
        _ => {}
    }
}
