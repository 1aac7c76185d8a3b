//! A driver: its identity, capabilities, actions and hooks.

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::action::{Action, Reply};
use crate::context::{Ctx, Invocation};
use crate::descriptor::{
    CapabilityDescriptor, Descriptor, LanePolicy, PanelKind, RecordKindDeclaration, RecordMode,
    RecordsKey, Scope, SettingGroupDescriptor,
};
use crate::error::DriverError;
use crate::host::Host;
use crate::{API_VERSION, PROVIDER_BOUNDARY};

type HookHandler = Box<dyn Fn(&Ctx<'_>, &str) -> Result<String, DriverError>>;

struct Hook {
    name: String,
    handler: HookHandler,
}

/// A named group of actions shown to operators.
pub struct Capability(CapabilityDescriptor);

impl Capability {
    pub fn new(capability_id: &str, label: &str) -> Self {
        Capability(CapabilityDescriptor {
            capability_id: capability_id.to_string(),
            label: label.to_string(),
            description: String::new(),
            actions: Vec::new(),
            panels: Vec::new(),
        })
    }

    pub fn description(mut self, description: &str) -> Self {
        self.0.description = description.to_string();
        self
    }

    pub fn actions(mut self, actions: &[&str]) -> Self {
        self.0.actions = actions.iter().map(|a| a.to_string()).collect();
        self
    }

    pub fn panels(mut self, panels: &[PanelKind]) -> Self {
        self.0.panels = panels.to_vec();
        self
    }
}

/// Runtime settings and secret bindings a driver reads.
pub struct SettingGroup(SettingGroupDescriptor);

impl SettingGroup {
    pub fn new(group_id: &str, label: &str, scope: Scope) -> Self {
        SettingGroup(SettingGroupDescriptor {
            group_id: group_id.to_string(),
            label: label.to_string(),
            description: String::new(),
            scope,
            fields: Vec::new(),
            secret_bindings: Vec::new(),
        })
    }

    pub fn description(mut self, description: &str) -> Self {
        self.0.description = description.to_string();
        self
    }

    pub fn fields(mut self, fields: &[&str]) -> Self {
        self.0.fields = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    pub fn secret_bindings(mut self, bindings: &[&str]) -> Self {
        self.0.secret_bindings = bindings.iter().map(|b| b.to_string()).collect();
        self
    }
}

/// A driver definition. The same value answers `describe()`, dispatches
/// `handle()` and `on-hook()`, so descriptor and behaviour cannot drift.
pub struct Driver {
    driver_id: String,
    label: String,
    product: String,
    description: String,
    base_driver_id: Option<String>,
    context_patterns: Vec<String>,
    capabilities: Vec<CapabilityDescriptor>,
    actions: Vec<Action>,
    setting_groups: Vec<SettingGroupDescriptor>,
    hooks_called: Vec<String>,
    hooks: Vec<Hook>,
    record_kinds: Vec<RecordKindDeclaration>,
    records_keys: Vec<RecordsKey>,
    lane_policies: Vec<LanePolicy>,
    api_version: String,
}

impl Driver {
    pub fn new(driver_id: &str, label: &str) -> Self {
        Driver {
            driver_id: driver_id.to_string(),
            label: label.to_string(),
            product: driver_id.to_string(),
            description: String::new(),
            base_driver_id: None,
            context_patterns: Vec::new(),
            capabilities: Vec::new(),
            actions: Vec::new(),
            setting_groups: Vec::new(),
            hooks_called: Vec::new(),
            hooks: Vec::new(),
            record_kinds: Vec::new(),
            records_keys: Vec::new(),
            lane_policies: Vec::new(),
            api_version: API_VERSION.to_string(),
        }
    }

    pub fn product(mut self, product: &str) -> Self {
        self.product = product.to_string();
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    /// Extend another driver: this driver's products may call the base
    /// driver's routes, and the base driver's hooks reach this driver.
    pub fn extends(mut self, base_driver_id: &str) -> Self {
        self.base_driver_id = Some(base_driver_id.to_string());
        self
    }

    pub fn context_patterns(mut self, patterns: &[&str]) -> Self {
        self.context_patterns = patterns.iter().map(|p| p.to_string()).collect();
        self
    }

    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability.0);
        self
    }

    pub fn setting_group(mut self, group: SettingGroup) -> Self {
        self.setting_groups.push(group.0);
        self
    }

    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Declares a record kind only this driver knows, and how the host
    /// keeps it. Actions may then list it in `writes`.
    pub fn record_kind(mut self, kind: &str, mode: RecordMode, description: &str) -> Self {
        self.record_kinds.push(RecordKindDeclaration {
            kind: kind.to_string(),
            mode,
            description: description.to_string(),
        });
        self
    }

    /// Declares `records` keys only this driver reports (string values).
    pub fn records_keys(mut self, keys: &[&str]) -> Self {
        self.records_keys.extend(keys.iter().map(|key| RecordsKey {
            key: key.to_string(),
            object: false,
        }));
        self
    }

    /// Declares a `records` key whose value is JSON object text the host
    /// passes on as an object.
    pub fn records_object_key(mut self, key: &str) -> Self {
        self.records_keys.push(RecordsKey {
            key: key.to_string(),
            object: true,
        });
        self
    }

    /// Declares a lane field this driver's product profiles may carry: the
    /// host validates it against `schema` when a profile is written and
    /// stores it as given; read models show a lane whose policy has
    /// `enabled: true` with `lane_status`.
    pub fn lane_policy(
        mut self,
        field: &str,
        description: &str,
        schema: Value,
        lane_status: &str,
    ) -> Self {
        self.lane_policies.push(LanePolicy {
            field: field.to_string(),
            description: description.to_string(),
            schema,
            lane_status: lane_status.to_string(),
        });
        self
    }

    /// Hooks this driver calls at fixed points of its lifecycle.
    pub fn calls_hooks(mut self, hooks: &[&str]) -> Self {
        self.hooks_called = hooks.iter().map(|h| h.to_string()).collect();
        self
    }

    /// Implements a hook that a base driver calls for this driver's products.
    pub fn hook<P, R, F>(mut self, name: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        R: Serialize + 'static,
        F: Fn(&Ctx<'_>, P) -> Result<R, DriverError> + 'static,
    {
        let hook_name = name.to_string();
        self.hooks.push(Hook {
            name: name.to_string(),
            handler: Box::new(move |ctx, payload| {
                let payload: P = serde_json::from_str(payload).map_err(|e| {
                    DriverError::InvalidRequest(format!(
                        "payload of hook `{hook_name}` is invalid: {e}"
                    ))
                })?;
                let answer = handler(ctx, payload)?;
                serde_json::to_string(&answer).map_err(|e| {
                    DriverError::Internal(format!(
                        "answer of hook `{hook_name}` does not serialise: {e}"
                    ))
                })
            }),
        });
        self
    }

    /// Overrides the declared WIT API version. Only for tests of the host's
    /// version check; real drivers always declare [`API_VERSION`].
    #[doc(hidden)]
    pub fn api_version(mut self, version: &str) -> Self {
        self.api_version = version.to_string();
        self
    }

    pub fn driver_id(&self) -> &str {
        &self.driver_id
    }

    /// The descriptor, as `describe()` answers it.
    pub fn describe(&self) -> Descriptor {
        Descriptor {
            api_version: self.api_version.clone(),
            driver_id: self.driver_id.clone(),
            base_driver_id: self.base_driver_id.clone(),
            label: self.label.clone(),
            product: self.product.clone(),
            description: self.description.clone(),
            context_patterns: self.context_patterns.clone(),
            provider_boundary: PROVIDER_BOUNDARY.to_string(),
            capabilities: self.capabilities.clone(),
            actions: self
                .actions
                .iter()
                .map(|a| a.describe(&self.driver_id))
                .collect(),
            setting_groups: self.setting_groups.clone(),
            hooks_called: self.hooks_called.clone(),
            hooks_implemented: self.hooks.iter().map(|h| h.name.clone()).collect(),
            record_kinds: self.record_kinds.clone(),
            records_keys: self.records_keys.clone(),
            lane_policies: self.lane_policies.clone(),
        }
    }

    /// Serves one action.
    pub fn handle(
        &self,
        invocation: &Invocation,
        host: &dyn Host,
    ) -> Result<Reply<Value>, DriverError> {
        let action = self
            .actions
            .iter()
            .find(|a| a.action_id == invocation.action_id)
            .ok_or_else(|| {
                DriverError::UnknownAction(format!(
                    "driver `{}` has no action `{}`",
                    self.driver_id, invocation.action_id
                ))
            })?;
        // Every action has a handler or runs a base action, which the host
        // runs itself: reaching here without a handler is a host defect.
        let handler = action.handler.as_ref().ok_or_else(|| {
            DriverError::Internal(match &action.base_action {
                Some(base) => format!(
                    "action `{}` runs base action `{base}`: the host runs it, not this driver",
                    action.action_id
                ),
                None => format!("action `{}` has no handler", action.action_id),
            })
        })?;
        handler(&Ctx::new(invocation, host), &invocation.request)
    }

    /// Serves one hook.
    pub fn on_hook(
        &self,
        hook: &str,
        invocation: &Invocation,
        payload: &str,
        host: &dyn Host,
    ) -> Result<String, DriverError> {
        let found = self.hooks.iter().find(|h| h.name == hook).ok_or_else(|| {
            DriverError::UnknownAction(format!(
                "driver `{}` does not implement hook `{hook}`",
                self.driver_id
            ))
        })?;
        (found.handler)(&Ctx::new(invocation, host), payload)
    }
}

/// Helper for declared schemas of types used outside handlers.
pub fn schema<T: JsonSchema>() -> Value {
    crate::action::schema_of::<T>()
}
