//! The policy and its rule types, as TOML and JSON documents spell them
//! (unknown fields refused; numeric ids as strings or integers).

use serde::{Deserialize, Deserializer, Serialize};

/// The whole policy (`LaunchplaneAuthzPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthzPolicy {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    #[serde(default)]
    pub github_actions: Vec<GithubActionsRule>,
    /// Matched for signed-in humans (`humans.rs`).
    #[serde(default)]
    pub github_humans: Vec<GithubHumanRule>,
    /// Parsed and kept; never matched here.
    #[serde(default)]
    pub terminal_agents: Vec<TokenBoundRule>,
    /// Parsed and kept; never matched here.
    #[serde(default)]
    pub local_operators: Vec<TokenBoundRule>,
    /// Parsed and kept; never matched here.
    #[serde(default)]
    pub local_admins: Vec<TokenBoundRule>,
}

/// Schema 1, when a document names none.
fn default_schema_version() -> u32 {
    1
}

impl Default for AuthzPolicy {
    /// The empty policy (schema 1, no rules): denies everything.
    fn default() -> Self {
        AuthzPolicy {
            schema_version: 1,
            github_actions: Vec::new(),
            github_humans: Vec::new(),
            terminal_agents: Vec::new(),
            local_operators: Vec::new(),
            local_admins: Vec::new(),
        }
    }
}

/// A `[[github_actions]]` rule (`GitHubActionsPolicyRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubActionsRule {
    /// `owner/name`, exact.
    #[serde(default)]
    pub repository: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_id"
    )]
    pub repository_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_id"
    )]
    pub repository_owner_id: Option<String>,
    #[serde(default)]
    pub workflow_refs: Vec<String>,
    #[serde(default)]
    pub job_workflow_refs: Vec<String>,
    #[serde(default)]
    pub event_names: Vec<String>,
    #[serde(default)]
    pub refs: Vec<String>,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub contexts: Vec<String>,
    #[serde(default)]
    pub instances: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
}

/// A `[[github_humans]]` rule (`GitHubHumanPolicyRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubHumanRule {
    #[serde(default, deserialize_with = "id_list")]
    pub github_ids: Vec<String>,
    #[serde(default)]
    pub logins: Vec<String>,
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub contexts: Vec<String>,
    #[serde(default)]
    pub instances: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
}

/// A `[[local_operators]]` (or `terminal_agents`, `local_admins`) rule
/// (`TokenBoundRule`); kept, not matched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBoundRule {
    #[serde(default)]
    pub subjects: Vec<String>,
    #[serde(default)]
    pub token_labels: Vec<String>,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub contexts: Vec<String>,
    #[serde(default)]
    pub instances: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
}

/// A numeric id written as a string or an integer.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(u64),
}

impl IdValue {
    fn into_string(self) -> String {
        match self {
            IdValue::Text(s) => s,
            IdValue::Number(n) => n.to_string(),
        }
    }
}

fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<IdValue>::deserialize(deserializer)?.map(IdValue::into_string))
}

fn id_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<IdValue>::deserialize(deserializer)?
        .into_iter()
        .map(IdValue::into_string)
        .collect())
}

impl AuthzPolicy {
    /// True when the policy has no rules of any kind.
    pub fn is_empty(&self) -> bool {
        self.github_actions.is_empty()
            && self.github_humans.is_empty()
            && self.terminal_agents.is_empty()
            && self.local_operators.is_empty()
            && self.local_admins.is_empty()
    }
}
