//! The request body: the payload object from `--json` and `--set`, the
//! envelope around it, and the client-side schema check.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::catalogue::RemoteAction;
use super::{ClientError, Console};

/// Where `--json` reads the payload from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonSource {
    /// `@path`.
    File(PathBuf),
    /// `-` or `@-`.
    Stdin,
    /// Anything else: the JSON text itself.
    Inline(String),
}

impl JsonSource {
    pub fn parse(arg: &str) -> JsonSource {
        match arg.trim() {
            "-" | "@-" => JsonSource::Stdin,
            text => match text.strip_prefix('@') {
                Some(path) => JsonSource::File(PathBuf::from(path)),
                None => JsonSource::Inline(arg.to_string()),
            },
        }
    }

    /// Reads and parses the source as a JSON object.
    pub fn load(&self, console: &Console) -> Result<Map<String, Value>, ClientError> {
        let (text, origin) = match self {
            JsonSource::File(path) => (
                std::fs::read_to_string(path).map_err(|e| {
                    ClientError::config(format!("Cannot read --json file {}: {e}.", path.display()))
                })?,
                format!("--json file {}", path.display()),
            ),
            JsonSource::Stdin => (
                console.read_stdin().map_err(|e| {
                    ClientError::config(format!("Cannot read --json from stdin: {e}."))
                })?,
                "--json from stdin".to_string(),
            ),
            JsonSource::Inline(text) => (text.clone(), "--json".to_string()),
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ClientError::config(format!(
                "{origin} must hold a JSON object."
            ))),
            Err(e) => Err(ClientError::config(format!(
                "{origin} is not valid JSON (line {}, column {}).",
                e.line(),
                e.column()
            ))),
        }
    }
}

/// Splits `key.path=value`: the dotted path and the raw value.
pub fn parse_set(arg: &str) -> Result<(Vec<String>, String), ClientError> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| ClientError::config(format!("--set `{arg}` is not `key=value`.")))?;
    let path: Vec<String> = key
        .trim()
        .split('.')
        .map(|s| s.trim().to_string())
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(ClientError::config(format!(
            "--set `{arg}`: the key `{key}` has an empty segment."
        )));
    }
    Ok((path, value.to_string()))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The declared `type`s of a schema (empty: unconstrained).
fn declared_types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn admits(types: &[&str], value: &Value) -> bool {
    let name = type_name(value);
    types.is_empty() || types.contains(&name) || (name == "integer" && types.contains(&"number"))
}

/// The subschema at `path` under `properties`, when the schema says.
fn subschema<'a>(schema: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = schema;
    for segment in path {
        current = current.get("properties")?.get(segment)?;
    }
    Some(current)
}

/// A `--set` value: JSON when it parses as JSON, else the text. When the
/// action's schema declares the field a string and the JSON type is not
/// allowed there (`--set source_git_ref=1234567`), the text is kept.
pub fn typed_value(raw: &str, field_schema: Option<&Value>) -> Value {
    match serde_json::from_str::<Value>(raw) {
        Ok(value) => {
            if let Some(schema) = field_schema {
                let types = declared_types(schema);
                if !value.is_string() && !admits(&types, &value) && types.contains(&"string") {
                    return Value::String(raw.to_string());
                }
            }
            value
        }
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Sets `path` in `payload`, creating objects on the way.
pub fn apply_set(
    payload: &mut Map<String, Value>,
    path: &[String],
    value: Value,
) -> Result<(), ClientError> {
    let Some((last, parents)) = path.split_last() else {
        return Err(ClientError::config("--set needs a key."));
    };
    let mut current = payload;
    for (depth, segment) in parents.iter().enumerate() {
        let slot = current
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        current = slot.as_object_mut().ok_or_else(|| {
            ClientError::config(format!(
                "--set {}: `{}` is not an object.",
                path.join("."),
                parents[..=depth].join(".")
            ))
        })?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// The envelope to send and the facts the client derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub product: String,
    /// The lane instance named (flag or payload), `""` when none.
    pub instance: String,
    pub payload: Value,
    pub body: Value,
    /// Things the caller should know (printed on stderr).
    pub notes: Vec<String>,
}

/// Payload fields that name the lane, in the order the service reads them.
const LANE_FIELDS: [&str; 3] = ["instance", "to_instance", "destination_instance"];

fn declares(action: &RemoteAction, field: &str) -> bool {
    action.input_schema["properties"].get(field).is_some()
}

/// Fills a top-level payload field from a flag: conflicting values are an
/// error, a missing one is set when the schema declares the field.
fn fill(
    payload: &mut Map<String, Value>,
    action: &RemoteAction,
    field: &str,
    flag: &str,
    value: &str,
    notes: &mut Vec<String>,
) -> Result<(), ClientError> {
    match payload.get(field) {
        Some(Value::String(existing)) if existing.trim() != value => {
            Err(ClientError::config(format!(
                "{flag} `{value}` disagrees with the payload's `{}.{field}` `{existing}`.",
                action.envelope_key
            )))
        }
        Some(Value::String(_)) => Ok(()),
        Some(other) => Err(ClientError::config(format!(
            "The payload's `{}.{field}` must be a string, not {other}.",
            action.envelope_key
        ))),
        None if declares(action, field) => {
            payload.insert(field.to_string(), Value::String(value.to_string()));
            Ok(())
        }
        // The envelope carries the product anyway.
        None if field == "product" => Ok(()),
        None => {
            notes.push(format!(
                "{flag} `{value}` is not a field of `{}`; it is used for the idempotency key only.",
                action.action_id
            ));
            Ok(())
        }
    }
}

/// Builds `{"schema_version":1,"product":…,"<envelope_key>":{…}}`.
///
/// `base` is the `--json` object: either the payload itself or a whole
/// envelope (an object whose keys are `schema_version`, `product` and the
/// envelope key only). `sets` are applied on top, in order. `--product`
/// becomes the envelope's product (and the payload's `product` when the
/// schema declares one); `--instance` becomes the payload's `instance` (or,
/// for actions without one, `to_instance` / `destination_instance`) when
/// the schema declares it.
pub fn build_envelope(
    action: &RemoteAction,
    base: Option<Map<String, Value>>,
    sets: &[String],
    product: Option<&str>,
    instance: Option<&str>,
) -> Result<Built, ClientError> {
    let key = action.envelope_key.as_str();
    let (mut payload, envelope_product) = split_base(key, base)?;
    for set in sets {
        let (path, raw) = parse_set(set)?;
        let value = typed_value(&raw, subschema(&action.input_schema, &path));
        apply_set(&mut payload, &path, value)?;
    }

    let mut notes = Vec::new();
    let product = choose_product(product, envelope_product, &payload)?;
    fill(
        &mut payload,
        action,
        "product",
        "--product",
        &product,
        &mut notes,
    )?;
    let instance = choose_instance(&mut payload, action, instance, &mut notes)?;

    let payload = Value::Object(payload);
    let mut body = Map::new();
    body.insert("schema_version".into(), Value::from(1));
    body.insert("product".into(), Value::String(product.clone()));
    body.insert(key.to_string(), payload.clone());
    Ok(Built {
        product,
        instance,
        payload,
        body: Value::Object(body),
        notes,
    })
}

/// Splits the `--json` object into the payload and the envelope's product.
///
/// A whole envelope (only `schema_version`, `product` and the envelope
/// key, which holds an object) gives its inner payload and its product;
/// any other object is the payload itself.
fn split_base(
    key: &str,
    base: Option<Map<String, Value>>,
) -> Result<(Map<String, Value>, Option<String>), ClientError> {
    let mut envelope_product: Option<String> = None;
    let payload = match base {
        Some(mut map)
            if map.get(key).is_some_and(Value::is_object)
                && map
                    .keys()
                    .all(|k| k == key || k == "product" || k == "schema_version") =>
        {
            if let Some(p) = map.get("product") {
                envelope_product = Some(
                    p.as_str()
                        .ok_or_else(|| {
                            ClientError::config("The envelope's `product` must be a string.")
                        })?
                        .trim()
                        .to_string(),
                );
            }
            match map.remove(key) {
                Some(Value::Object(inner)) => inner,
                _ => Map::new(),
            }
        }
        Some(map) => map,
        None => Map::new(),
    };
    Ok((payload, envelope_product))
}

/// The product: the flag, else the envelope's, else the payload's. A flag
/// that disagrees with the envelope is an error, and so is no product.
fn choose_product(
    flag: Option<&str>,
    envelope_product: Option<String>,
    payload: &Map<String, Value>,
) -> Result<String, ClientError> {
    let payload_product = payload
        .get("product")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string());
    match (
        flag.map(str::trim).filter(|p| !p.is_empty()),
        envelope_product,
        payload_product,
    ) {
        (Some(flag), Some(env), _) if flag != env => Err(ClientError::config(format!(
            "--product `{flag}` disagrees with the envelope's product `{env}`."
        ))),
        (Some(flag), _, _) => Ok(flag.to_string()),
        (None, Some(env), _) if !env.is_empty() => Ok(env),
        (None, _, Some(p)) if !p.is_empty() => Ok(p),
        _ => Err(ClientError::config(
            "No product: pass --product (or put `product` in the --json payload).",
        )),
    }
}

/// The lane instance: the `--instance` flag, filled into the first lane
/// field the schema declares, else the first lane field in the payload.
fn choose_instance(
    payload: &mut Map<String, Value>,
    action: &RemoteAction,
    instance: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<String, ClientError> {
    match instance.map(str::trim).filter(|i| !i.is_empty()) {
        Some(instance) => {
            // The lane field the service reads, in its order.
            let field = LANE_FIELDS
                .iter()
                .copied()
                .find(|f| declares(action, f))
                .unwrap_or("instance");
            fill(payload, action, field, "--instance", instance, notes)?;
            Ok(instance.to_string())
        }
        None => Ok(LANE_FIELDS
            .iter()
            .find_map(|f| payload.get(*f).and_then(Value::as_str))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()),
    }
}

/// Checks the payload against the action's published input schema. The
/// message names each failing field as `/<envelope_key>/<field>`.
pub fn validate_payload(action: &RemoteAction, payload: &Value) -> Result<(), ClientError> {
    if action.input_schema.is_null() || action.input_schema == Value::Bool(true) {
        return Ok(());
    }
    let validator = match jsonschema::validator_for(&action.input_schema) {
        Ok(validator) => validator,
        // The service validates too; a schema this client cannot compile
        // is left to it.
        Err(_) => return Ok(()),
    };
    let errors: Vec<String> = validator
        .iter_errors(payload)
        .map(|error| {
            let path = error.instance_path().to_string();
            format!("/{}{path}: {error}", action.envelope_key)
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(ClientError::config(format!(
        "The payload does not match the input schema of `{}` (nothing was sent):\n  {}",
        action.action_id,
        errors.join("\n  ")
    )))
}
