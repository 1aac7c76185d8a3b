//! Canonical JSON (keys sorted, compact, non-ASCII escaped, as Python's
//! `json.dumps(..., sort_keys=True)`) and the policy hash built on it.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AuthzPolicy;

impl AuthzPolicy {
    /// SHA-256 hex of the compact, key-sorted JSON of the policy with
    /// None-valued fields omitted (reference §6.1). Non-ASCII characters are
    /// written as `\uXXXX`, as Python's `json.dumps` does by default.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(
            canonical_json(&self.to_json_value()).as_bytes(),
        ))
    }
}

/// Compact JSON with object keys sorted at every depth and every non-ASCII
/// character escaped (`json.dumps(v, sort_keys=True, separators=(",", ":"))`).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// Writes `value` as canonical JSON.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_ascii_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_ascii_string(key, out);
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
    }
}

/// Writes `s` as a JSON string, every non-ASCII character as `\uXXXX`.
fn write_ascii_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}
