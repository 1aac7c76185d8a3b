//! Runtime identity (reference §6.14, the original's
//! `contracts/runtime_identity.py`): what a deployed runtime should report
//! about itself, injected into its environment before a deploy and echoed
//! back by its health endpoint.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The env key carrying the compact sorted JSON.
pub const RUNTIME_IDENTITY_ENV_KEY: &str = "LAUNCHPLANE_RUNTIME_IDENTITY_JSON";
pub const DEPLOYMENT_RECORD_ID_ENV_KEY: &str = "LAUNCHPLANE_DEPLOYMENT_RECORD_ID";
pub const ARTIFACT_ID_ENV_KEY: &str = "LAUNCHPLANE_ARTIFACT_ID";
pub const SOURCE_GIT_REF_ENV_KEY: &str = "LAUNCHPLANE_SOURCE_GIT_REF";

/// The four env keys the host owns on every target.
pub const IDENTITY_ENV_KEYS: [&str; 4] = [
    RUNTIME_IDENTITY_ENV_KEY,
    DEPLOYMENT_RECORD_ID_ENV_KEY,
    ARTIFACT_ID_ENV_KEY,
    SOURCE_GIT_REF_ENV_KEY,
];

/// Keys a health payload may echo the identity under, in lookup order.
pub const HEALTH_PAYLOAD_KEYS: [&str; 4] = [
    "runtime_identity",
    "launchplane_runtime_identity",
    "launchplaneRuntimeIdentity",
    RUNTIME_IDENTITY_ENV_KEY,
];

fn default_schema_version() -> u32 {
    1
}

fn default_environment_kind() -> String {
    "stable".to_string()
}

/// `RuntimeIdentity`: unknown fields refused; `context`, `instance`,
/// `deployment_record_id`, `artifact_id`, `source_git_ref` required
/// (non-blank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeIdentity {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    #[serde(default)]
    pub product: String,
    pub context: String,
    pub instance: String,
    /// `stable` or `preview`.
    #[serde(default = "default_environment_kind")]
    pub environment_kind: String,
    pub deployment_record_id: String,
    pub artifact_id: String,
    pub source_git_ref: String,
    #[serde(default)]
    pub image_reference: String,
    #[serde(default)]
    pub release_tuple_id: String,
    #[serde(default)]
    pub preview_id: String,
    #[serde(default)]
    pub preview_generation_id: String,
    #[serde(default)]
    pub deployed_at: String,
}

/// The outcome of comparing an echoed identity with the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityStatus {
    Match,
    Mismatch,
    Missing,
    Malformed,
    /// The health endpoint answered 2xx without a JSON object.
    Unverifiable,
}

impl IdentityStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            IdentityStatus::Match => "match",
            IdentityStatus::Mismatch => "mismatch",
            IdentityStatus::Missing => "missing",
            IdentityStatus::Malformed => "malformed",
            IdentityStatus::Unverifiable => "unverifiable",
        }
    }

    /// Mismatch and malformed are hard failures (§6.14); missing is
    /// advisory unless the lane requires identity.
    pub fn is_hard_failure(&self) -> bool {
        matches!(self, IdentityStatus::Mismatch | IdentityStatus::Malformed)
    }
}

impl RuntimeIdentity {
    /// A stable-lane identity with the required fields.
    pub fn new(
        context: &str,
        instance: &str,
        deployment_record_id: &str,
        artifact_id: &str,
        source_git_ref: &str,
    ) -> RuntimeIdentity {
        RuntimeIdentity {
            schema_version: 1,
            product: String::new(),
            context: context.to_string(),
            instance: instance.to_string(),
            environment_kind: default_environment_kind(),
            deployment_record_id: deployment_record_id.to_string(),
            artifact_id: artifact_id.to_string(),
            source_git_ref: source_git_ref.to_string(),
            image_reference: String::new(),
            release_tuple_id: String::new(),
            preview_id: String::new(),
            preview_generation_id: String::new(),
            deployed_at: String::new(),
        }
    }

    /// The required fields are non-blank and `schema_version ≥ 1`.
    pub fn validate(&self) -> Result<(), String> {
        if self.schema_version < 1 {
            return Err("runtime identity schema_version must be ≥ 1".to_string());
        }
        for (field, value) in [
            ("context", &self.context),
            ("instance", &self.instance),
            ("deployment_record_id", &self.deployment_record_id),
            ("artifact_id", &self.artifact_id),
            ("source_git_ref", &self.source_git_ref),
        ] {
            if value.trim().is_empty() {
                return Err(format!("runtime identity requires {field}"));
            }
        }
        Ok(())
    }

    /// Compact JSON with sorted keys and ASCII-only output: byte-for-byte
    /// what the original's `json.dumps(sort_keys=True, separators=(",",
    /// ":"))` writes.
    pub fn to_env_json(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        ascii_escape(&crate::records::canonical_json(&value))
    }

    /// The four env entries injected into a target.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (RUNTIME_IDENTITY_ENV_KEY.to_string(), self.to_env_json()),
            (
                DEPLOYMENT_RECORD_ID_ENV_KEY.to_string(),
                self.deployment_record_id.clone(),
            ),
            (ARTIFACT_ID_ENV_KEY.to_string(), self.artifact_id.clone()),
            (
                SOURCE_GIT_REF_ENV_KEY.to_string(),
                self.source_git_ref.clone(),
            ),
        ]
    }

    /// An identity from an object or from JSON text holding one (the
    /// original's `parse_runtime_identity_payload`); anything else, or an
    /// invalid identity, is `None`.
    pub fn parse_payload(value: &Value) -> Option<RuntimeIdentity> {
        match value {
            Value::String(text) => {
                let text = text.trim();
                if text.is_empty() {
                    return None;
                }
                let decoded: Value = serde_json::from_str(text).ok()?;
                RuntimeIdentity::parse_payload(&decoded)
            }
            Value::Object(_) => {
                let identity: RuntimeIdentity = serde_json::from_value(value.clone()).ok()?;
                identity.validate().ok()?;
                Some(identity)
            }
            _ => None,
        }
    }

    /// The identity a health payload echoes, under the first key that
    /// parses.
    pub fn from_health_payload(payload: &Value) -> Option<RuntimeIdentity> {
        let object = payload.as_object()?;
        HEALTH_PAYLOAD_KEYS
            .iter()
            .find_map(|key| object.get(*key).and_then(RuntimeIdentity::parse_payload))
    }

    /// Compares an echo with this (expected) identity: every non-empty
    /// expected field among product, context, instance, environment_kind,
    /// deployment_record_id, artifact_id and source_git_ref must be equal.
    pub fn compare(&self, observed: Option<&RuntimeIdentity>) -> (IdentityStatus, String) {
        let Some(observed) = observed else {
            return (
                IdentityStatus::Missing,
                "Runtime identity was not reported by the health endpoint.".to_string(),
            );
        };
        let fields: [(&str, &str, &str); 7] = [
            ("product", &self.product, &observed.product),
            ("context", &self.context, &observed.context),
            ("instance", &self.instance, &observed.instance),
            (
                "environment_kind",
                &self.environment_kind,
                &observed.environment_kind,
            ),
            (
                "deployment_record_id",
                &self.deployment_record_id,
                &observed.deployment_record_id,
            ),
            ("artifact_id", &self.artifact_id, &observed.artifact_id),
            (
                "source_git_ref",
                &self.source_git_ref,
                &observed.source_git_ref,
            ),
        ];
        let mismatched: Vec<&str> = fields
            .iter()
            .filter(|(_, expected, seen)| !expected.is_empty() && expected != seen)
            .map(|(name, _, _)| *name)
            .collect();
        if mismatched.is_empty() {
            (
                IdentityStatus::Match,
                "Runtime identity matches the expected deployment record.".to_string(),
            )
        } else {
            (
                IdentityStatus::Mismatch,
                format!(
                    "Runtime identity mismatched fields: {}",
                    mismatched.join(", ")
                ),
            )
        }
    }

    /// The status of a health response body (the original's
    /// `health_payload_runtime_identity_status`): no JSON → unverifiable;
    /// a known key whose value does not parse → malformed; no key →
    /// missing; else the comparison.
    pub fn check_health_body(&self, body: &[u8]) -> (IdentityStatus, String) {
        let Ok(payload) = serde_json::from_slice::<Value>(body) else {
            return (
                IdentityStatus::Unverifiable,
                "Health endpoint passed but did not return JSON runtime identity evidence."
                    .to_string(),
            );
        };
        let observed = RuntimeIdentity::from_health_payload(&payload);
        let has_key = payload
            .as_object()
            .is_some_and(|o| HEALTH_PAYLOAD_KEYS.iter().any(|k| o.contains_key(*k)));
        if observed.is_none() && has_key {
            return (
                IdentityStatus::Malformed,
                "Health endpoint returned runtime identity evidence that could not be parsed."
                    .to_string(),
            );
        }
        self.compare(observed.as_ref())
    }
}

/// Escapes every character outside printable ASCII as `\uXXXX` (surrogate
/// pairs above the BMP), as Python's `ensure_ascii`. Applied to JSON text,
/// whose non-ASCII characters only occur inside strings.
fn ascii_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity() -> RuntimeIdentity {
        let mut identity = RuntimeIdentity::new(
            "demo",
            "testing",
            "deployment-1",
            "artifact-1",
            "refs/heads/main",
        );
        identity.product = "demo".into();
        identity
    }

    #[test]
    fn env_json_is_compact_sorted_and_ascii() {
        let mut identity = identity();
        identity.deployed_at = "é😀".into();
        let text = identity.to_env_json();
        assert_eq!(
            text,
            "{\"artifact_id\":\"artifact-1\",\"context\":\"demo\",\"deployed_at\":\"\\u00e9\\ud83d\\ude00\",\
             \"deployment_record_id\":\"deployment-1\",\"environment_kind\":\"stable\",\"image_reference\":\"\",\
             \"instance\":\"testing\",\"preview_generation_id\":\"\",\"preview_id\":\"\",\"product\":\"demo\",\
             \"release_tuple_id\":\"\",\"schema_version\":1,\"source_git_ref\":\"refs/heads/main\"}"
        );
        let env = identity.env();
        assert_eq!(env.len(), 4);
        assert_eq!(
            env[1],
            (DEPLOYMENT_RECORD_ID_ENV_KEY.into(), "deployment-1".into())
        );
        let back = RuntimeIdentity::parse_payload(&json!(text)).expect("round trip");
        assert_eq!(back, identity);
    }

    #[test]
    fn health_bodies_map_to_the_four_outcomes_and_unverifiable() {
        let expected = identity();
        let echo = serde_json::to_value(&expected).expect("value");
        for key in HEALTH_PAYLOAD_KEYS {
            let body = json!({"ok": true, key: echo.clone()}).to_string();
            assert_eq!(
                expected.check_health_body(body.as_bytes()).0,
                IdentityStatus::Match
            );
        }
        let as_text = json!({"runtime_identity": expected.to_env_json()}).to_string();
        assert_eq!(
            expected.check_health_body(as_text.as_bytes()).0,
            IdentityStatus::Match
        );
        let mut other = echo.clone();
        other["artifact_id"] = json!("artifact-2");
        let (status, detail) =
            expected.check_health_body(json!({"runtime_identity": other}).to_string().as_bytes());
        assert_eq!(status, IdentityStatus::Mismatch);
        assert!(detail.contains("artifact_id"), "{detail}");
        let (status, _) = expected.check_health_body(br#"{"ok":true}"#);
        assert_eq!(status, IdentityStatus::Missing);
        let (status, _) = expected.check_health_body(br#"{"runtime_identity":"{not json"}"#);
        assert_eq!(status, IdentityStatus::Malformed);
        let mut extra = echo.clone();
        extra["colour"] = json!("blue");
        let (status, _) =
            expected.check_health_body(json!({"runtime_identity": extra}).to_string().as_bytes());
        assert_eq!(
            status,
            IdentityStatus::Malformed,
            "unknown fields are refused"
        );
        let (status, _) = expected.check_health_body(b"OK");
        assert_eq!(status, IdentityStatus::Unverifiable);
    }

    #[test]
    fn required_fields_are_checked() {
        let mut identity = identity();
        assert!(identity.validate().is_ok());
        identity.artifact_id = " ".into();
        assert!(identity.validate().unwrap_err().contains("artifact_id"));
    }
}
