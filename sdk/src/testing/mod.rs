//! Run a driver natively against a scripted fake host.
//!
//! Start with [`Harness`] (`harness.rs`): it runs a driver's actions and
//! hooks against a [`FakeHost`] (`fake_host.rs`), which behaves like the
//! real host where drivers can observe it: it refuses writes of record
//! kinds the action did not declare, keeps records in memory, tracks lane
//! images and preview apps, answers hooks from a script, and records every
//! call so tests can assert what a driver did. `catalogue.rs` checks a
//! driver's declared actions against an expected table.

mod catalogue;
mod fake_host;
mod harness;

pub use catalogue::{ExpectedAction, assert_catalogue, assert_input_schemas_closed, expected};
pub use fake_host::{FakeHost, HostCall};
pub use harness::Harness;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Write {
        record_id: String,
        kind: String,
    }

    fn write(ctx: &Ctx<'_>, req: Write) -> Result<Reply<Value>, DriverError> {
        let id = ctx
            .host()
            .record_put(&req.kind, &json!({"record_id": req.record_id}))?;
        Ok(Reply::new(json!({})).record("deployment_record_id", id))
    }

    fn driver() -> Driver {
        Driver::new("fake", "Fake").action(
            Action::post("write", "write")
                .authz("fake.write")
                .envelope("write")
                .writes(&["deployment"])
                .handler(write),
        )
    }

    #[test]
    fn declared_writes_are_stored_and_reported() {
        let harness = Harness::new(driver());
        let reply = harness
            .call(
                "write",
                "testing",
                json!({"record_id": "deployment-1", "kind": "deployment"}),
            )
            .expect("write succeeds");
        assert_eq!(
            reply.records,
            vec![(
                "deployment_record_id".to_string(),
                "deployment-1".to_string()
            )]
        );
        assert_eq!(harness.host.records("deployment").len(), 1);
    }

    #[test]
    fn undeclared_writes_are_denied() {
        let harness = Harness::new(driver());
        let error = harness
            .call(
                "write",
                "testing",
                json!({"record_id": "x", "kind": "promotion"}),
            )
            .expect_err("promotion is not declared");
        assert!(
            matches!(error, DriverError::Internal(ref m) if m.contains("`promotion`")),
            "{error:?}"
        );
        assert!(harness.host.records("promotion").is_empty());
    }

    #[test]
    fn unknown_fields_and_unknown_actions_are_rejected() {
        let harness = Harness::new(driver());
        let error = harness
            .call(
                "write",
                "testing",
                json!({"record_id": "x", "kind": "deployment", "extra": 1}),
            )
            .expect_err("unknown field");
        assert!(
            matches!(error, DriverError::InvalidRequest(ref m) if m.contains("extra")),
            "{error:?}"
        );
        let error = harness
            .call("nope", "testing", json!({}))
            .expect_err("unknown action");
        assert!(matches!(error, DriverError::UnknownAction(_)));
    }

    #[derive(Deserialize, JsonSchema)]
    struct Open {
        #[allow(dead_code)]
        anything: String,
    }

    #[test]
    #[should_panic(expected = "open")]
    fn an_input_schema_admitting_unknown_fields_is_caught() {
        let driver = Driver::new("fake", "Fake").action(
            Action::post("open", "open")
                .authz("fake.open")
                .envelope("open")
                .handler(|_: &Ctx<'_>, _: Open| Ok(Reply::new(json!({})))),
        );
        assert_input_schemas_closed(&driver);
    }

    #[test]
    fn descriptor_carries_route_and_schema_from_the_declaration() {
        let descriptor = driver().describe();
        let action = &descriptor.actions[0];
        assert_eq!(action.route_path, "/v1/drivers/fake/write");
        assert_eq!(action.input_schema["additionalProperties"], json!(false));
        assert_eq!(
            action.input_schema["required"],
            json!(["record_id", "kind"])
        );
    }
}
