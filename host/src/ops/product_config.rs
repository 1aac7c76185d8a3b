//! `POST /v1/product-config/apply` (reference §10.4): one request sets a
//! target's plain runtime settings and its managed secrets.
//!
//! ```json
//! {"schema_version": 1, "mode": "dry-run" | "apply", "product": "demo",
//!  "context": "demo", "instance": "testing", "source_label": "deploy.yml",
//!  "runtime_env": {"PUBLIC_URL": "https://testing.demo.example", "WORKERS": 2},
//!  "secrets": [{"name": "API_TOKEN", "value": "…"}]}
//! ```
//!
//! The target (`context`, `instance`) decides the scope of both the
//! runtime environment record (`global` / `context` / `instance`) and the
//! secrets (`global` / `context` / `context_instance`); a block or item
//! that names another scope or target is refused. Secret-shaped keys
//! (`API_KEY`, `DB_PASSWORD`) are refused as plain settings.
//!
//! Order: validation (400), authorization (`product_config.plan` for a
//! dry run, `product_config.apply` otherwise, on (product, context)), the
//! product's boundary (403), the master key when secrets are present
//! (503 `secret_configuration_required`), then idempotency. `apply`
//! commits the runtime record and every secret's records in one
//! transaction, each replaced only if it is still what the plan read (a
//! concurrent change answers 409 `record_conflict`, nothing written). A dry
//! run writes nothing and is never replayed.
//!
//! Stricter than the original, without refusing a valid caller's request:
//! secrets here are only of integration `runtime_environment` (a product's
//! workflow cannot replace the provider credentials), contexts must belong
//! to the product's profile, and a global target is the `launchplane`
//! product's alone. Values appear nowhere in answers, errors, logs or
//! idempotency records (its fingerprint holds a keyed digest instead).
//!
//! An apply that changed something answers `next_actions`: one
//! `live_target_runtime_apply` per affected lane, because records change
//! here and running apps only through `POST /v1/live-target-runtime/apply`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::mutation::Mutation;
use super::secrets::secret_error;
use super::{Accepted, Call, Reply, Service};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::records::models::runtime_environment::{
    self, EnvironmentScope, RuntimeEnvironmentRecord, check_entry,
};
use crate::records::{StoredEnvironment, Tx, runtime_environment_write};
use crate::secrets::{PreparedWrite, SecretScope, SecretTarget, WriteContext};

/// The route path.
pub const ROUTE: &str = "/v1/product-config/apply";

const TOP_LEVEL_KEYS: &[&str] = &[
    "schema_version",
    "mode",
    "product",
    "context",
    "instance",
    "source_label",
    "runtime_env",
    "runtime_environment",
    "secrets",
];
const TARGET_KEYS: &[&str] = &["scope", "context", "instance"];
const SECRET_KEYS: &[&str] = &[
    "name",
    "binding_key",
    "value",
    "scope",
    "integration",
    "context",
    "instance",
    "description",
];
const INTEGRATION: &str = "runtime_environment";

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(format!(
        "Product config request failed validation: {message}"
    ))
}

/// A string field of `map` (absent → `default`), named by `at` on error.
/// The message never quotes the value.
fn text(map: &Map<String, Value>, key: &str, default: &str, at: &str) -> Result<String, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(_) => Err(invalid(format!("{at}{key}: must be a string"))),
    }
}

fn refuse_unknown(map: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), ApiError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(invalid(format!("{at}{key}: unknown field"))),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    DryRun,
    Apply,
}

impl Mode {
    fn as_str(&self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::Apply => "apply",
        }
    }

    fn action(&self) -> &'static str {
        match self {
            Mode::DryRun => "product_config.plan",
            Mode::Apply => "product_config.apply",
        }
    }
}

/// One secret item, validated. `value` never leaves this module except
/// into the vault.
struct SecretItem {
    target: SecretTarget,
    binding_key: String,
    description: String,
    value: String,
}

/// The request, validated.
struct ProductConfig {
    mode: Mode,
    product: String,
    context: String,
    instance: String,
    source_label: String,
    env: BTreeMap<String, Value>,
    secrets: Vec<SecretItem>,
}

impl ProductConfig {
    fn parse(map: &Map<String, Value>) -> Result<ProductConfig, ApiError> {
        refuse_unknown(map, TOP_LEVEL_KEYS, "")?;
        match map.get("schema_version") {
            None => {}
            Some(v) if v.as_u64() == Some(1) => {}
            Some(_) => return Err(invalid("schema_version: must be 1")),
        }
        let mode = match text(map, "mode", "", "")?.to_lowercase().as_str() {
            "dry-run" => Mode::DryRun,
            "apply" => Mode::Apply,
            _ => return Err(invalid("mode: must be `dry-run` or `apply`")),
        };
        let product = text(map, "product", "", "")?;
        if product.is_empty() {
            return Err(invalid("product: must not be blank"));
        }
        let context = text(map, "context", "", "")?;
        let instance = text(map, "instance", "", "")?;
        if context.is_empty() && !instance.is_empty() {
            return Err(invalid("instance: needs a context"));
        }
        let source_label = text(map, "source_label", "product-config-api", "")?;
        let runtime = match map.get("runtime_env") {
            Some(v) if !v.is_null() => Some(("runtime_env", v)),
            _ => map
                .get("runtime_environment")
                .filter(|v| !v.is_null())
                .map(|v| ("runtime_environment", v)),
        };
        let env = match runtime {
            Some((key, block)) => runtime_block(block, key, &context, &instance)?,
            None => BTreeMap::new(),
        };
        let secrets = match map.get("secrets") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| secret_item(item, &format!("secrets[{i}]."), &context, &instance))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(invalid("secrets: must be a list")),
        };
        let mut seen = std::collections::BTreeSet::new();
        for (i, item) in secrets.iter().enumerate() {
            if !seen.insert(item.target.secret_id()) {
                return Err(invalid(format!(
                    "secrets[{i}].name: `{}` is listed twice",
                    item.target.name
                )));
            }
            if env.contains_key(&item.binding_key) {
                return Err(invalid(format!(
                    "secrets[{i}].binding_key: `{}` is also a runtime setting",
                    item.binding_key
                )));
            }
        }
        Ok(ProductConfig {
            mode,
            product,
            context,
            instance,
            source_label,
            env,
            secrets,
        })
    }

    fn env_scope(&self) -> EnvironmentScope {
        EnvironmentScope::for_target(&self.context, &self.instance)
    }

    /// The body with each secret value replaced by a keyed digest: what the
    /// idempotency record fingerprints.
    fn fingerprint_body(body: &Map<String, Value>, digest: impl Fn(&str) -> String) -> Value {
        let mut body = body.clone();
        if let Some(Value::Array(items)) = body.get_mut("secrets") {
            for item in items {
                if let Some(Value::String(value)) = item.get_mut("value") {
                    *value = format!("hmac-sha256:{}", digest(value));
                }
            }
        }
        Value::Object(body)
    }
}

/// The runtime block: `{scope?, context?, instance?, env: {…}}` or a flat
/// map whose keys other than scope/context/instance are settings.
fn runtime_block(
    block: &Value,
    key: &str,
    context: &str,
    instance: &str,
) -> Result<BTreeMap<String, Value>, ApiError> {
    let Value::Object(block) = block else {
        return Err(invalid(format!("{key}: must be an object")));
    };
    let at = format!("{key}.");
    let expected = EnvironmentScope::for_target(context, instance);
    let scope = text(block, "scope", expected.as_str(), &at)?;
    if scope != expected.as_str() {
        return Err(invalid(format!(
            "{at}scope: the target implies `{}`",
            expected.as_str()
        )));
    }
    for (field, want) in [("context", context), ("instance", instance)] {
        if text(block, field, want, &at)? != want {
            return Err(invalid(format!(
                "{at}{field}: must equal the top-level {field}"
            )));
        }
    }
    let (entries, entries_at) = match block.get("env") {
        Some(Value::Object(env)) => {
            refuse_unknown(block, &["scope", "context", "instance", "env"], &at)?;
            (env.clone(), format!("{at}env"))
        }
        Some(_) => return Err(invalid(format!("{at}env: must be an object"))),
        None => (
            block
                .iter()
                .filter(|(k, _)| !TARGET_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            key.to_string(),
        ),
    };
    let mut env = BTreeMap::new();
    for (name, value) in entries {
        let name = name.trim().to_string();
        check_entry(&name, &value).map_err(|e| invalid(e.within(&entries_at)))?;
        env.insert(name, value);
    }
    Ok(env)
}

fn secret_item(
    item: &Value,
    at: &str,
    context: &str,
    instance: &str,
) -> Result<SecretItem, ApiError> {
    let Value::Object(item) = item else {
        return Err(invalid(format!(
            "{}: must be an object",
            at.trim_end_matches('.')
        )));
    };
    refuse_unknown(item, SECRET_KEYS, at)?;
    let mut name = text(item, "name", "", at)?;
    let mut binding_key = text(item, "binding_key", "", at)?;
    if name.is_empty() {
        name = binding_key.clone();
    }
    if binding_key.is_empty() {
        binding_key = name.clone();
    }
    if name.is_empty() {
        return Err(invalid(format!(
            "{at}name: `name` or `binding_key` is required"
        )));
    }
    if !binding_key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(invalid(format!(
            "{at}binding_key: only letters, digits and `_` (an environment key)"
        )));
    }
    let value = match item.get("value") {
        Some(Value::String(v)) if !v.is_empty() => v.clone(),
        _ => return Err(invalid(format!("{at}value: must be a non-empty string"))),
    };
    let expected = SecretScope::for_target(context, instance);
    if text(item, "scope", expected.as_str(), at)? != expected.as_str() {
        return Err(invalid(format!(
            "{at}scope: the target implies `{}`",
            expected.as_str()
        )));
    }
    if text(item, "integration", INTEGRATION, at)? != INTEGRATION {
        return Err(invalid(format!(
            "{at}integration: only `{INTEGRATION}` secrets are set through product config"
        )));
    }
    for (field, want) in [("context", context), ("instance", instance)] {
        if text(item, field, want, at)? != want {
            return Err(invalid(format!(
                "{at}{field}: must equal the top-level {field}"
            )));
        }
    }
    let target = SecretTarget {
        scope: expected,
        integration: INTEGRATION.to_string(),
        name,
        context: context.to_string(),
        instance: instance.to_string(),
    };
    // The scope comes from the target and the name is non-blank, so the
    // vault's own `SecretTarget::check` holds for every item built here.
    Ok(SecretItem {
        target,
        binding_key,
        description: text(item, "description", "", at)?,
        value,
    })
}

/// `github-actions:<repository>:<workflow ref>` for workflows,
/// `<kind>:<subject>` for anyone else.
fn actor(caller: &Caller) -> String {
    match &caller.github_actions {
        Some(claims) => {
            let workflow = if claims.workflow_ref.is_empty() {
                claims.job_workflow_ref.clone().unwrap_or_default()
            } else {
                claims.workflow_ref.clone()
            };
            format!("github-actions:{}:{workflow}", claims.repository)
        }
        None => format!("{}:{}", caller.identity.kind, caller.identity.subject),
    }
}

/// The runtime part of the plan.
struct RuntimePlan {
    action: &'static str,
    changed: Vec<String>,
    unchanged: Vec<String>,
    merged: BTreeMap<String, Value>,
    /// The stored record, as read (what the write must still find).
    existing: Option<StoredEnvironment>,
}

async fn plan_runtime(tx: &mut Tx, config: &ProductConfig) -> Result<RuntimePlan, ApiError> {
    let existing = tx
        .runtime_environment(config.env_scope(), &config.context, &config.instance)
        .await
        .map_err(ApiError::internal)?;
    let merge =
        runtime_environment::merge_env(existing.as_ref().map(|e| &e.record.env), &config.env);
    let action = match (&existing, config.env.is_empty(), merge.changed.is_empty()) {
        (_, true, _) => "skipped",
        (None, false, _) => "created",
        (Some(_), false, false) => "updated",
        (Some(_), false, true) => "unchanged",
    };
    Ok(RuntimePlan {
        action,
        changed: merge.changed,
        unchanged: merge.unchanged,
        merged: merge.merged,
        existing,
    })
}

impl Service {
    /// `POST /v1/product-config/apply`.
    pub async fn apply_product_config(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        super::input::check_body(&Value::Object(map.clone()))?;
        let config = ProductConfig::parse(&map)?;
        let action = config.mode.action();
        self.authorize(
            call,
            action,
            &config.product,
            &config.context,
            &config.instance,
        )
        .await?;
        check_boundary(self, &config).await?;
        let vault = self.vault();
        if !config.secrets.is_empty() && !vault.is_configured() {
            return Err(secret_error(crate::secrets::SecretError::NotConfigured));
        }
        let fingerprint =
            ProductConfig::fingerprint_body(&map, |value| vault.digest(value).unwrap_or_default());
        let mutation = Mutation::host(call, action, &config.product, &config.context, &fingerprint)
            .on_instance(&config.instance);
        let actor = actor(&call.caller);
        let (config, actor) = (&config, &actor);
        self.run_mutation_tx(mutation, |mut tx: Tx| async move {
            let outcome = execute(self, &mut tx, config, actor, call).await;
            (tx, outcome)
        })
        .await
    }
}

/// Contexts must be the product's (a lane's or its preview context); a
/// global target is the service's own.
async fn check_boundary(state: &Service, config: &ProductConfig) -> Result<(), ApiError> {
    let outside = |message: String| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "context_not_in_product_boundary",
            message,
        )
    };
    if config.context.is_empty() {
        if config.product == "launchplane" {
            return Ok(());
        }
        return Err(outside(format!(
            "A global product config (no context) belongs to product `launchplane`, not `{}`.",
            config.product
        )));
    }
    let profile = state.require_product_profile(&config.product).await?;
    let owned = profile.lanes.iter().any(|lane| {
        lane.context == config.context
            && (config.instance.is_empty() || lane.instance == config.instance)
    }) || (config.instance.is_empty()
        && !profile.preview.context.is_empty()
        && profile.preview.context == config.context);
    if owned {
        Ok(())
    } else {
        let target = if config.instance.is_empty() {
            config.context.clone()
        } else {
            format!("{}/{}", config.context, config.instance)
        };
        Err(outside(format!(
            "`{target}` is not a lane or context of product `{}`.",
            config.product
        )))
    }
}

/// Plans the runtime record and every secret, writes them in one
/// transaction when applying, and builds the answer.
async fn execute(
    state: &Service,
    tx: &mut Tx,
    config: &ProductConfig,
    actor: &str,
    call: &Call,
) -> Result<Accepted, ApiError> {
    // The runtime plan reads the record in the transaction that writes it.
    let runtime = plan_runtime(tx, config).await?;
    let prepared = prepare_secrets(state, config, actor).await?;
    let record = runtime_record(config, &runtime);
    let writes_runtime = matches!(runtime.action, "created" | "updated");
    let mut accepted = Accepted::new();
    if config.mode == Mode::Apply {
        let runtime_write = writes_runtime.then_some((&runtime, &record));
        commit(tx, config, call, runtime_write, &prepared, &mut accepted).await?;
    } else {
        // A plan describes the store at one moment: never replayed.
        accepted.store_for_replay = false;
    }

    let secret_changes = prepared
        .iter()
        .filter(|(_, p)| p.action != crate::secrets::SecretAction::Unchanged)
        .count();
    let shown = if writes_runtime {
        Some(&record)
    } else {
        runtime.existing.as_ref().map(|e| &e.record)
    };
    let runtime_result = runtime_result(config, &runtime, shown);
    accepted = accepted
        .record(
            "runtime_environment_record_count",
            usize::from(config.mode == Mode::Apply && writes_runtime),
        )
        .record("secret_binding_count", prepared.len());
    accepted.result = Some(json!({
        "status": "ok",
        "mode": config.mode.as_str(),
        "product": config.product,
        "context": config.context,
        "instance": config.instance,
        "actor": actor,
        "source_label": config.source_label,
        "runtime_environment": runtime_result,
        "secrets": secret_items(&prepared),
        "summary": {
            "runtime_changed_key_count": runtime.changed.len(),
            "secret_change_count": secret_changes,
        },
    }));
    let changed = writes_runtime || secret_changes > 0;
    if config.mode == Mode::Apply && changed {
        let lanes = next_lanes(state, config).await?;
        if let Some(result) = accepted.result.as_mut() {
            result["next_actions"] = Value::Array(lanes);
        }
    }
    Ok(accepted)
}

/// Plans each secret's write in request order; nothing is written yet.
async fn prepare_secrets<'a>(
    state: &Service,
    config: &'a ProductConfig,
    actor: &str,
) -> Result<Vec<(&'a SecretItem, PreparedWrite)>, ApiError> {
    let vault = state.vault();
    let mut prepared: Vec<(&SecretItem, PreparedWrite)> = Vec::with_capacity(config.secrets.len());
    for item in &config.secrets {
        let write = WriteContext {
            actor,
            source: &config.source_label,
            description: &item.description,
            binding_key: &item.binding_key,
        };
        let plan = vault
            .prepare(&item.target, &item.value, &write)
            .await
            .map_err(secret_error)?;
        prepared.push((item, plan));
    }
    Ok(prepared)
}

/// The runtime environment record as it would stand after this request.
fn runtime_record(config: &ProductConfig, runtime: &RuntimePlan) -> RuntimeEnvironmentRecord {
    let now = crate::time::now_rfc3339();
    let source_label = if config.source_label.is_empty() {
        "product-config-apply".to_string()
    } else {
        config.source_label.clone()
    };
    RuntimeEnvironmentRecord {
        schema_version: 1,
        scope: config.env_scope(),
        context: config.context.clone(),
        instance: config.instance.clone(),
        env: runtime.merged.clone(),
        updated_at: now,
        source_label,
    }
}

/// Writes the runtime record (when given) and every secret's records in
/// the mutation's transaction, and notes what was written in `accepted`.
async fn commit(
    tx: &mut Tx,
    config: &ProductConfig,
    call: &Call,
    runtime_write: Option<(&RuntimePlan, &RuntimeEnvironmentRecord)>,
    prepared: &[(&SecretItem, PreparedWrite)],
    accepted: &mut Accepted,
) -> Result<(), ApiError> {
    let mut writes = Vec::new();
    if let Some((runtime, record)) = runtime_write {
        writes.push(runtime_environment_write(
            runtime.existing.as_ref(),
            record,
            &config.product,
        ));
    }
    for (_, plan) in prepared {
        writes.extend(plan.writes.iter().cloned());
    }
    if !writes.is_empty() {
        accepted.written = tx
            .write_records(&writes, call.trace_id.as_str())
            .await
            .map_err(|e| secret_error(e.into()))?;
    }
    Ok(())
}

/// The answer's entry for each secret: its target and planned action,
/// never its value.
fn secret_items(prepared: &[(&SecretItem, PreparedWrite)]) -> Vec<Value> {
    prepared
        .iter()
        .map(|(item, plan)| {
            json!({
                "action": plan.action.as_str(),
                "scope": item.target.scope,
                "integration": item.target.integration,
                "name": item.target.name,
                "binding_key": item.binding_key,
                "context": item.target.context,
                "instance": item.target.instance,
                "secret_id": plan.secret_id,
            })
        })
        .collect()
}

/// The answer's `runtime_environment` part: the planned action, the keys
/// and, when there is one, the record's shape (keys only, no values).
fn runtime_result(
    config: &ProductConfig,
    runtime: &RuntimePlan,
    shown: Option<&RuntimeEnvironmentRecord>,
) -> Value {
    let mut runtime_result = json!({
        "action": runtime.action,
        "scope": config.env_scope(),
        "context": config.context,
        "instance": config.instance,
        "keys": config.env.keys().collect::<Vec<_>>(),
        "changed_keys": runtime.changed,
        "unchanged_keys": runtime.unchanged,
        "env_value_count_after": runtime.merged.len(),
    });
    if let Some(shown) = shown {
        runtime_result["record"] = json!({
            "scope": shown.scope,
            "context": shown.context,
            "instance": shown.instance,
            "updated_at": shown.updated_at,
            "source_label": shown.source_label,
            "env_keys": shown.keys(),
            "env_value_count": shown.env.len(),
        });
    }
    runtime_result
}

/// The lanes whose running apps do not see this change until their
/// targets are rewritten (`POST /v1/live-target-runtime/apply`): the
/// target lane, or every product lane in the target context. Records
/// change here; live targets only through that route.
async fn next_lanes(state: &Service, config: &ProductConfig) -> Result<Vec<Value>, ApiError> {
    if config.context.is_empty() {
        return Ok(Vec::new());
    }
    let profile = state.require_product_profile(&config.product).await?;
    Ok(profile
        .lanes
        .iter()
        .filter(|lane| {
            lane.context == config.context
                && (config.instance.is_empty() || lane.instance == config.instance)
        })
        .map(|lane| {
            json!({
                "action": "live_target_runtime_apply",
                "route": super::live_target::ROUTE,
                "product": config.product,
                "context": lane.context,
                "instance": lane.instance,
            })
        })
        .collect())
}
