//! One declaration per action: its descriptor entry and its dispatch.

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::context::Ctx;
use crate::descriptor::{
    ActionDescriptor, Execution, Idempotency, Method, OperationRoute, Safety, Scope,
};
use crate::error::DriverError;

/// A handler's successful answer: the `result` object, the ids of the
/// records the action wrote or references, and whether the host may keep
/// the answer for idempotent replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<R> {
    pub result: R,
    pub records: Vec<(String, String)>,
    /// `false` for an answer about a state that will change while nothing
    /// was done (see [`Reply::not_replayable`]).
    pub replayable: bool,
}

impl<R> Reply<R> {
    pub fn new(result: R) -> Self {
        Reply {
            result,
            records: Vec::new(),
            replayable: true,
        }
    }

    /// An answer the host must not keep for replay: it describes a state
    /// that will change while nothing was done (blocked: no testing release
    /// to promote yet, a refused rollback plan), so a retry with the same
    /// `Idempotency-Key` asks again instead of replaying it forever.
    pub fn not_replayable(mut self) -> Self {
        self.replayable = false;
        self
    }

    /// [`Reply::not_replayable`] when `blocked`.
    pub fn replayable_unless(self, blocked: bool) -> Self {
        if blocked { self.not_replayable() } else { self }
    }

    /// Adds a record id under a name such as `deployment_record_id`.
    pub fn record(mut self, name: impl Into<String>, id: impl Into<String>) -> Self {
        self.records.push((name.into(), id.into()));
        self
    }
}

pub(crate) type ErasedHandler = Box<dyn Fn(&Ctx<'_>, &str) -> Result<Reply<Value>, DriverError>>;
type SchemaFn = fn() -> Value;

/// A declared action. Build it with [`Action::post`] or [`Action::get`] and
/// attach a typed handler with [`Action::handler`]; the handler's request and
/// result types become the action's JSON Schemas.
pub struct Action {
    pub(crate) action_id: String,
    pub(crate) label: String,
    pub(crate) description: String,
    pub(crate) safety: Safety,
    pub(crate) scope: Scope,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) authz_action: String,
    pub(crate) operator_visible: bool,
    pub(crate) writes_records: Vec<String>,
    pub(crate) envelope_key: String,
    pub(crate) execution: Execution,
    pub(crate) idempotency: Idempotency,
    pub(crate) base_action: Option<String>,
    /// Poll path (relative like `path`), busy code and `records` key of an
    /// async action's operations.
    pub(crate) operation: Option<(String, String, String)>,
    input_schema: SchemaFn,
    output_schema: SchemaFn,
    pub(crate) handler: Option<ErasedHandler>,
}

impl Action {
    /// A write action at `/v1/drivers/{driver_id}/{path}`. Defaults: safety
    /// `mutation`, scope `instance`, idempotency `optional`, run in-request.
    pub fn post(action_id: &str, path: &str) -> Self {
        Action::new(
            action_id,
            path,
            Method::Post,
            Safety::Mutation,
            Idempotency::Optional,
        )
    }

    /// A read action. Defaults: safety `read`, scope `instance`, no
    /// idempotency, no envelope.
    pub fn get(action_id: &str, path: &str) -> Self {
        Action::new(
            action_id,
            path,
            Method::Get,
            Safety::Read,
            Idempotency::None,
        )
    }

    fn new(
        action_id: &str,
        path: &str,
        method: Method,
        safety: Safety,
        idempotency: Idempotency,
    ) -> Self {
        Action {
            action_id: action_id.to_string(),
            label: action_id.replace('_', " "),
            description: String::new(),
            safety,
            scope: Scope::Instance,
            method,
            path: path.to_string(),
            authz_action: String::new(),
            operator_visible: true,
            writes_records: Vec::new(),
            envelope_key: String::new(),
            execution: Execution::Sync,
            idempotency,
            base_action: None,
            operation: None,
            input_schema: empty_object_schema,
            output_schema: empty_object_schema,
            handler: None,
        }
    }

    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_string();
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    pub fn safety(mut self, safety: Safety) -> Self {
        self.safety = safety;
        self
    }

    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// The authorization action the host checks before dispatch.
    pub fn authz(mut self, authz_action: &str) -> Self {
        self.authz_action = authz_action.to_string();
        self
    }

    /// Hide the action from operator views (machine-only routes).
    pub fn hidden(mut self) -> Self {
        self.operator_visible = false;
        self
    }

    /// Record kinds this action may write; the host refuses any other.
    pub fn writes(mut self, kinds: &[&str]) -> Self {
        self.writes_records = kinds.iter().map(|k| k.to_string()).collect();
        self
    }

    /// The name of the payload object in the request envelope
    /// `{schema_version, product, <envelope_key>: {...}}`.
    pub fn envelope(mut self, key: &str) -> Self {
        self.envelope_key = key.to_string();
        self
    }

    /// Run as a durable asynchronous operation.
    pub fn run_async(mut self) -> Self {
        self.execution = Execution::Async;
        self
    }

    pub fn idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// How this async action's operations answer beside
    /// `GET /v1/operations/{id}`: the `GET` route `poll_path` (relative to
    /// the driver's routes like the action's path, ending with
    /// `/{operation_id}`), the 409 code `active_code` when the lane already
    /// has an active operation, and the `records` key naming the operation
    /// (declare it with [`crate::Driver::records_keys`] too).
    pub fn operation_route(
        mut self,
        poll_path: &str,
        active_code: &str,
        records_key: &str,
    ) -> Self {
        self.operation = Some((
            poll_path.to_string(),
            active_code.to_string(),
            records_key.to_string(),
        ));
        self
    }

    /// Runs the base driver's action `base_action_id` (an extension
    /// driver's route for a lifecycle step the base owns): the host admits
    /// the request with this action's route, authz action and input schema
    /// (`Req`), lets this driver adapt the request (hook `adapt-request`)
    /// and the result (`adapt-result`, whose answer `Resp` describes), and
    /// runs the base driver's handler with this driver's hooks. Such an
    /// action has no handler of its own.
    pub fn runs_base<Req, Resp>(mut self, base_action_id: &str) -> Self
    where
        Req: JsonSchema + 'static,
        Resp: JsonSchema + 'static,
    {
        self.input_schema = schema_of::<Req>;
        self.output_schema = schema_of::<Resp>;
        self.base_action = Some(base_action_id.to_string());
        self
    }

    /// Attaches the handler. `Req` must reject unknown fields
    /// (`#[serde(deny_unknown_fields)]`); the host refuses to load a driver
    /// whose input schema admits them.
    pub fn handler<Req, Resp, F>(mut self, handler: F) -> Self
    where
        Req: DeserializeOwned + JsonSchema + 'static,
        Resp: Serialize + JsonSchema + 'static,
        F: Fn(&Ctx<'_>, Req) -> Result<Reply<Resp>, DriverError> + 'static,
    {
        self.input_schema = schema_of::<Req>;
        self.output_schema = schema_of::<Resp>;
        let action_id = self.action_id.clone();
        self.handler = Some(Box::new(move |ctx, request| {
            let request: Req = serde_json::from_str(request).map_err(|e| {
                DriverError::InvalidRequest(format!("request for `{action_id}` is invalid: {e}"))
            })?;
            let reply = handler(ctx, request)?;
            let result = serde_json::to_value(&reply.result).map_err(|e| {
                DriverError::Internal(format!("result of `{action_id}` does not serialise: {e}"))
            })?;
            Ok(Reply {
                result,
                records: reply.records,
                replayable: reply.replayable,
            })
        }));
        self
    }

    pub(crate) fn route_path(&self, driver_id: &str) -> String {
        full_path(driver_id, &self.path)
    }

    pub(crate) fn describe(&self, driver_id: &str) -> ActionDescriptor {
        ActionDescriptor {
            action_id: self.action_id.clone(),
            label: self.label.clone(),
            description: self.description.clone(),
            safety: self.safety,
            scope: self.scope,
            method: self.method,
            route_path: self.route_path(driver_id),
            authz_action: self.authz_action.clone(),
            operator_visible: self.operator_visible,
            input_schema: (self.input_schema)(),
            output_schema: (self.output_schema)(),
            writes_records: self.writes_records.clone(),
            envelope_key: self.envelope_key.clone(),
            execution: self.execution,
            idempotency: self.idempotency,
            base_action: self.base_action.clone(),
            operation: self
                .operation
                .as_ref()
                .map(|(poll, code, key)| OperationRoute {
                    poll_path: full_path(driver_id, poll),
                    active_code: code.clone(),
                    records_key: key.clone(),
                }),
        }
    }
}

/// A driver route path: `path` when absolute, else under
/// `/v1/drivers/{driver_id}/`.
fn full_path(driver_id: &str, path: &str) -> String {
    if path.starts_with("/v1/") {
        path.to_string()
    } else {
        format!("/v1/drivers/{driver_id}/{}", path.trim_start_matches('/'))
    }
}

/// The JSON Schema of `T`, with every subschema inlined so it can be embedded
/// anywhere (an OpenAPI document, a descriptor) without dangling `$ref`s.
pub fn schema_of<T: JsonSchema>() -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object", "additionalProperties": false})
}
