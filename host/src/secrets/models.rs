//! The four secret records (reference §10.1), their ids, and the rule that
//! decides which configuration keys must be secrets.
//!
//! The records hold metadata and ciphertext only; nothing here ever holds
//! a plaintext value.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::records::models::default_schema_version;

/// Record kinds in the store. Host-only: no driver reads or writes them
/// (`records::kinds`).
pub use crate::records::kinds::{AUDIT_KIND, BINDING_KIND, SECRET_KIND, VERSION_KIND};

/// Where a secret applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretScope {
    Global,
    Context,
    ContextInstance,
}

impl SecretScope {
    pub fn as_str(&self) -> &'static str {
        match self {
            SecretScope::Global => "global",
            SecretScope::Context => "context",
            SecretScope::ContextInstance => "context_instance",
        }
    }

    /// The scope a target implies: an instance → `context_instance`, a
    /// context only → `context`, neither → `global`.
    pub fn for_target(context: &str, instance: &str) -> SecretScope {
        match (context.is_empty(), instance.is_empty()) {
            (_, false) => SecretScope::ContextInstance,
            (false, true) => SecretScope::Context,
            (true, true) => SecretScope::Global,
        }
    }

    /// Whether a secret of this scope stored for (`context`, `instance`)
    /// applies to a lookup for (`want_context`, `want_instance`).
    pub fn applies(
        &self,
        context: &str,
        instance: &str,
        want_context: &str,
        want_instance: &str,
    ) -> bool {
        match self {
            SecretScope::Global => true,
            SecretScope::Context => !want_context.is_empty() && context == want_context,
            SecretScope::ContextInstance => {
                !want_instance.is_empty() && context == want_context && instance == want_instance
            }
        }
    }
}

/// `configured` or `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStatus {
    Configured,
    Disabled,
}

/// A secret's metadata: what it is and which version is current.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub secret_id: String,
    pub scope: SecretScope,
    pub integration: String,
    pub name: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub instance: String,
    #[serde(default)]
    pub description: String,
    /// Always `write_only`: values go in, never come out over the API.
    #[serde(default = "write_only")]
    pub policy: String,
    pub status: SecretStatus,
    pub current_version_id: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub last_validated_at: String,
    #[serde(default)]
    pub updated_by: String,
}

/// One encrypted value of a secret. Append-only: a rotation adds one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretVersion {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub version_id: String,
    pub secret_id: String,
    pub created_at: String,
    #[serde(default)]
    pub created_by: String,
    pub cipher_alg: String,
    pub key_id: String,
    /// A Fernet token under the master key.
    pub ciphertext: String,
    /// The token's binding to this secret and version
    /// (`MasterKey::binding_tag`). Not in the original: rows it wrote have
    /// none and stay readable; the next write of the secret adds one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub binding_tag: String,
}

/// Where a secret's value goes: an environment key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretBinding {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub binding_id: String,
    pub secret_id: String,
    pub integration: String,
    #[serde(default = "env")]
    pub binding_type: String,
    pub binding_key: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub instance: String,
    pub status: SecretStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// What happened to a secret, by whom. Never the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretAuditEvent {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub event_id: String,
    pub secret_id: String,
    /// `created`, `rotated`, `imported`, `validated`, `disabled`, `relabelled`.
    pub event_type: String,
    pub recorded_at: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

fn write_only() -> String {
    "write_only".to_string()
}

fn env() -> String {
    "env".to_string()
}

/// Lower case, every run of non-alphanumerics one `-`, trimmed; `secret`
/// when nothing is left.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "secret".to_string()
    } else {
        out.to_string()
    }
}

/// `secret-<integration>-<name>[-<context>][-<instance>]`, each part slugged.
pub fn secret_id(integration: &str, name: &str, context: &str, instance: &str) -> String {
    let mut id = format!("secret-{}-{}", slug(integration), slug(name));
    for part in [context, instance] {
        if !part.is_empty() {
            id.push('-');
            id.push_str(&slug(part));
        }
    }
    id
}

/// `<secret_id>-binding-<binding_key>`.
pub fn binding_id(secret_id: &str, binding_key: &str) -> String {
    format!("{secret_id}-binding-{}", slug(binding_key))
}

/// `<secret_id>-version-<12 hex>`.
pub fn version_id(secret_id: &str) -> String {
    format!("{secret_id}-version-{}", short_hex())
}

/// `<secret_id>-event-<type>-<12 hex>`.
pub fn event_id(secret_id: &str, event_type: &str) -> String {
    format!("{secret_id}-event-{}-{}", slug(event_type), short_hex())
}

fn short_hex() -> String {
    let mut hex = uuid::Uuid::new_v4().simple().to_string();
    hex.truncate(12);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::models::runtime_environment::is_secret_shaped;

    #[test]
    fn ids_follow_the_reference() {
        assert_eq!(
            secret_id("runtime_environment", "GITHUB_WEBHOOK_SECRET", "opw", ""),
            "secret-runtime-environment-github-webhook-secret-opw"
        );
        assert_eq!(
            secret_id("dokploy", "DOKPLOY_TOKEN", "", ""),
            "secret-dokploy-dokploy-token"
        );
        assert_eq!(
            secret_id("runtime_environment", "API_KEY", "cm", "testing"),
            "secret-runtime-environment-api-key-cm-testing"
        );
        assert_eq!(slug("--A..b__C--"), "a-b-c");
        assert_eq!(slug("!!!"), "secret");
        assert_eq!(
            binding_id("secret-x-y", "API_KEY"),
            "secret-x-y-binding-api-key"
        );
        let version = version_id("secret-x-y");
        assert!(version.starts_with("secret-x-y-version-") && version.len() == 19 + 12);
        assert!(event_id("secret-x-y", "created").starts_with("secret-x-y-event-created-"));
    }

    #[test]
    fn secret_shaped_keys() {
        for key in [
            "GITHUB_TOKEN",
            "API_KEY",
            "DB_PASSWORD",
            "secret",
            "odoo_admin_password",
        ] {
            assert!(is_secret_shaped(key), "{key}");
        }
        for key in ["KEYCLOAK_URL", "TOKENS", "PASSWD", "ODOO_DB_NAME", ""] {
            assert!(!is_secret_shaped(key), "{key}");
        }
    }

    #[test]
    fn scope_matching() {
        use SecretScope::*;
        assert_eq!(SecretScope::for_target("", ""), Global);
        assert_eq!(SecretScope::for_target("cm", ""), Context);
        assert_eq!(SecretScope::for_target("cm", "prod"), ContextInstance);
        assert!(Global.applies("", "", "cm", "prod"));
        assert!(Context.applies("cm", "", "cm", "prod"));
        assert!(!Context.applies("cm", "", "other", "prod"));
        assert!(!Context.applies("cm", "", "", ""));
        assert!(ContextInstance.applies("cm", "prod", "cm", "prod"));
        assert!(!ContextInstance.applies("cm", "prod", "cm", ""));
        assert!(!ContextInstance.applies("cm", "prod", "cm", "testing"));
    }
}
