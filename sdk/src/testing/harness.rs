//! [`Harness`]: runs a driver's actions and hooks natively against a
//! [`FakeHost`].

use serde_json::Value;

use super::FakeHost;
use crate::action::Reply;
use crate::context::{Caller, Invocation};
use crate::driver::Driver;
use crate::error::DriverError;

/// Runs a driver's actions and hooks natively.
pub struct Harness {
    driver: Driver,
    pub host: FakeHost,
    product: String,
    context: String,
}

impl Harness {
    pub fn new(driver: Driver) -> Self {
        let product = driver.describe().product;
        Harness {
            driver,
            host: FakeHost::new(),
            product,
            context: "testing".to_string(),
        }
    }

    pub fn with_host(mut self, host: FakeHost) -> Self {
        self.host = host;
        self
    }

    /// The product and lane context invocations are made for.
    pub fn for_product(mut self, product: &str, context: &str) -> Self {
        self.product = product.to_string();
        self.context = context.to_string();
        self
    }

    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// An invocation of `action_id` on `instance` with a JSON request.
    pub fn invocation(&self, action_id: &str, instance: &str, request: Value) -> Invocation {
        Invocation {
            trace_id: "launchplane_req_test".to_string(),
            driver_id: self.driver.driver_id().to_string(),
            action_id: action_id.to_string(),
            product: self.product.clone(),
            context: self.context.clone(),
            instance: instance.to_string(),
            request: request.to_string(),
            caller: Caller {
                kind: "test".to_string(),
                subject: "test-harness".to_string(),
                claims: Vec::new(),
            },
            idempotency_key: None,
            extension: None,
            dry_run: request
                .get("dry_run")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// Calls an action the way the host would: only the declared record
    /// kinds are writable.
    pub fn call(
        &self,
        action_id: &str,
        instance: &str,
        request: Value,
    ) -> Result<Reply<Value>, DriverError> {
        self.call_with(&self.invocation(action_id, instance, request))
    }

    pub fn call_with(&self, invocation: &Invocation) -> Result<Reply<Value>, DriverError> {
        let writes = self
            .driver
            .describe()
            .actions
            .into_iter()
            .find(|a| a.action_id == invocation.action_id)
            .map(|a| a.writes_records)
            .unwrap_or_default();
        self.host.set_allowed_writes(&writes);
        self.driver.handle(invocation, &self.host)
    }

    /// Calls hook `hook` for action `action_id` of an action that runs a
    /// base action, as the host does: `adapt-request` (the action's own
    /// step) with the record kinds the action declares, any other hook
    /// with none.
    pub fn base_step(
        &self,
        action_id: &str,
        hook: &str,
        instance: &str,
        payload: Value,
    ) -> Result<String, DriverError> {
        let writes = match hook {
            "adapt-request" => self
                .driver
                .describe()
                .actions
                .into_iter()
                .find(|a| a.action_id == action_id)
                .map(|a| a.writes_records)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        self.host.set_allowed_writes(&writes);
        let invocation = self.invocation(action_id, instance, Value::Object(Default::default()));
        self.driver
            .on_hook(hook, &invocation, &payload.to_string(), &self.host)
    }

    /// Calls one of the driver's hooks.
    pub fn hook(&self, hook: &str, instance: &str, payload: Value) -> Result<String, DriverError> {
        let invocation = self.invocation("", instance, Value::Object(Default::default()));
        self.host.set_allowed_writes(&[]);
        self.driver
            .on_hook(hook, &invocation, &payload.to_string(), &self.host)
    }
}
