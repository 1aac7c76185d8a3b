//! What a call leaves behind: the response JSON (stdout or `--output`),
//! step outputs in `$GITHUB_OUTPUT`, a Markdown summary in
//! `$GITHUB_STEP_SUMMARY`. Every write is masked by the console.

use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value};

use super::{ClientError, Console};

fn append(path: &Path, text: &str, what: &str) -> Result<(), ClientError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            ClientError::internal(format!("Cannot open {what} {}: {e}.", path.display()))
        })?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.flush())
        .map_err(|e| ClientError::internal(format!("Cannot write {what} {}: {e}.", path.display())))
}

/// Appends `name=value` lines (the multi-line form with a random delimiter
/// when a value has a line break, so no value can inject another output).
pub fn append_github_output(
    path: &Path,
    entries: &[(String, String)],
    console: &Console,
) -> Result<(), ClientError> {
    let mut text = String::new();
    for (name, value) in entries {
        let value = console.redact(value);
        if value.contains('\n') || value.contains('\r') {
            let mut delimiter = format!("launchplane_{}", uuid::Uuid::new_v4().simple());
            while value.contains(&delimiter) {
                delimiter = format!("launchplane_{}", uuid::Uuid::new_v4().simple());
            }
            text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    append(path, &text, "$GITHUB_OUTPUT")
}

/// Appends Markdown to the step summary.
pub fn append_step_summary(
    path: &Path,
    markdown: &str,
    console: &Console,
) -> Result<(), ClientError> {
    append(path, &console.redact(markdown), "$GITHUB_STEP_SUMMARY")
}

/// Writes the response document to a file (replacing it).
pub fn write_output_file(path: &Path, text: &str, console: &Console) -> Result<(), ClientError> {
    std::fs::write(path, console.redact(text)).map_err(|e| {
        ClientError::internal(format!("Cannot write --output {}: {e}.", path.display()))
    })
}

/// The final operation status in a call's response document, if async.
pub fn operation_status_of(response: &Value) -> Option<&str> {
    response["operation"]["status"].as_str()
}

/// A record value as a step output string.
pub fn output_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The step outputs of a response: every `records` key, then `trace_id`,
/// `status`, `replayed`, `operation_status` (async) and `response` (the
/// whole document, compact).
pub fn output_entries(response: &Value, idempotency_key: Option<&str>) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    if let Some(records) = response["records"].as_object() {
        for (key, value) in records {
            if key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                entries.push((key.clone(), output_value(value)));
            }
        }
    }
    for key in ["trace_id", "status"] {
        if let Some(value) = response[key].as_str() {
            entries.push((key.to_string(), value.to_string()));
        }
    }
    entries.push((
        "replayed".to_string(),
        response["replayed"].as_bool().unwrap_or(false).to_string(),
    ));
    if let Some(status) = operation_status_of(response) {
        entries.push(("operation_status".to_string(), status.to_string()));
    }
    if let Some(key) = idempotency_key {
        entries.push(("idempotency_key".to_string(), key.to_string()));
    }
    entries.push(("response".to_string(), response.to_string()));
    entries
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The step summary of a call.
pub struct Summary<'a> {
    pub driver_id: &'a str,
    pub action_id: &'a str,
    pub product: &'a str,
    pub instance: &'a str,
    pub outcome: &'a str,
    pub response: Option<&'a Value>,
    pub error: Option<&'a str>,
}

impl Summary<'_> {
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "### Launchplane `{}` · `{}` — {}\n\n",
            cell(self.driver_id),
            cell(self.action_id),
            cell(self.outcome)
        );
        md.push_str("| | |\n| --- | --- |\n");
        md.push_str(&format!("| product | `{}` |\n", cell(self.product)));
        if !self.instance.is_empty() {
            md.push_str(&format!("| instance | `{}` |\n", cell(self.instance)));
        }
        if let Some(response) = self.response {
            if let Some(trace) = response["trace_id"].as_str() {
                md.push_str(&format!("| trace_id | `{}` |\n", cell(trace)));
            }
            if response["replayed"] == Value::Bool(true) {
                md.push_str(&format!(
                    "| replayed | yes (original trace `{}`) |\n",
                    cell(response["original_trace_id"].as_str().unwrap_or_default())
                ));
            }
            let empty = Map::new();
            for (key, value) in response["records"].as_object().unwrap_or(&empty) {
                md.push_str(&format!(
                    "| {} | `{}` |\n",
                    cell(key),
                    cell(&output_value(value))
                ));
            }
            if let Some(operation) = response["operation"].as_object() {
                let get = |k: &str| operation.get(k).and_then(Value::as_str).unwrap_or_default();
                md.push_str(&format!(
                    "| operation | `{}` {} |\n",
                    cell(get("operation_id")),
                    cell(get("status"))
                ));
                if !get("error_code").is_empty() {
                    md.push_str(&format!(
                        "| operation error | `{}` {} |\n",
                        cell(get("error_code")),
                        cell(get("error_message"))
                    ));
                }
            }
            if let Some(code) = response["error"]["code"].as_str() {
                md.push_str(&format!(
                    "| error | `{}` {} |\n",
                    cell(code),
                    cell(response["error"]["message"].as_str().unwrap_or_default())
                ));
            }
        }
        if let Some(error) = self.error {
            md.push_str(&format!(
                "\n> {}\n",
                error.lines().collect::<Vec<_>>().join("\n> ")
            ));
        }
        md.push('\n');
        md
    }
}
