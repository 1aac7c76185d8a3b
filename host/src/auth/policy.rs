//! The authorization policy: which verified callers may do what
//! (reference §7.4). Database-agnostic: this module parses, validates,
//! hashes, matches and edits a policy value; storing it is someone else's job.
//!
//! Shape (TOML or JSON, unknown fields refused):
//!
//! ```toml
//! schema_version = 1
//!
//! [[github_actions]]
//! repository = "org/app"                 # exact, required
//! repository_id = "123"                  # optional, numeric, exact
//! repository_owner_id = "456"            # optional, numeric, exact
//! workflow_refs = ["org/app/.github/workflows/deploy.yml@refs/heads/*"]
//! job_workflow_refs = []
//! event_names = ["push"]
//! refs = ["refs/heads/main"]
//! environments = []
//! products = ["app"]
//! contexts = ["app-*"]
//! instances = []
//! actions = ["generic_web_deploy.execute"] # required, exact
//! ```
//!
//! `github_humans`, `terminal_agents`, `local_operators` and `local_admins`
//! rules are parsed, validated and kept (so a policy round-trips and hashes
//! the same), but [`AuthzPolicy::decide`] only ever matches
//! `github_actions` rules: no other caller kind is authorized here.
//!
//! Matching (a request is allowed iff any rule allows it; within a rule all
//! constraints must hold; an empty list means "any"):
//!
//! | field | rule |
//! | --- | --- |
//! | `repository` | exact, never a wildcard |
//! | `repository_id`, `repository_owner_id` | exact when set; a token without the claim fails |
//! | `workflow_refs`, `job_workflow_refs` | [`glob`](super::glob) (`fnmatchcase`); a listed `job_workflow_refs` fails a token without the claim |
//! | `event_names`, `refs`, `environments` | exact membership; a listed `environments` fails a token without one |
//! | `products`, `contexts` | glob |
//! | `instances` | `*` or exact; a request without an instance needs a rule without instances; a request with one also matches rules without instances |
//! | `actions` | exact membership |
//!
//! Hardening beyond the original: `event_name = "pull_request_target"`
//! matches only rules that list it explicitly in `event_names` (an empty
//! list does not admit it), because that event runs with the base
//! repository's credentials on behalf of forks.
//!
//! Load-time validation refuses rules that could match more than their
//! author can see: globbed actions, a non-literal `repository`, workflow
//! patterns whose repository part is not literal (`*/.github/workflows/…`,
//! `org/*`), instances other than `*` or exact names, glob characters in
//! exact-match fields.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::glob::{glob_match_any, has_glob_chars, literal_prefix};
use super::oidc::GithubActionsClaims;

/// Schema versions this host understands.
pub const SUPPORTED_SCHEMA_VERSIONS: [u32; 2] = [1, 2];

/// The event that only matches rules naming it explicitly.
pub const PULL_REQUEST_TARGET: &str = "pull_request_target";

/// The bootstrap policy variables, in the order they are tried.
pub const POLICY_TOML_ENV: &str = "LAUNCHPLANE_POLICY_TOML";
pub const POLICY_B64_ENV: &str = "LAUNCHPLANE_POLICY_B64";
pub const POLICY_FILE_ENV: &str = "LAUNCHPLANE_POLICY_FILE";

const WORKFLOWS_DIR: &str = "/.github/workflows/";

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// A policy could not be read or is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not a policy document (syntax, types, unknown fields).
    #[error("authz policy is not valid {format}: {message}")]
    Parse {
        format: &'static str,
        message: String,
    },
    #[error("authz policy schema_version {0} is not supported (expected 1 or 2)")]
    UnsupportedSchemaVersion(u32),
    /// One rule is refused; names the section, the rule index and the field.
    #[error("authz policy {section}[{index}].{field}: {message}")]
    InvalidRule {
        section: &'static str,
        index: usize,
        field: &'static str,
        message: String,
    },
    /// A bootstrap source could not be used; names the variable.
    #[error("{variable}: {message}")]
    Source {
        variable: &'static str,
        message: String,
    },
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

/// The whole policy (`LaunchplaneAuthzPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthzPolicy {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    #[serde(default)]
    pub github_actions: Vec<GithubActionsRule>,
    /// Parsed and kept; never matched here.
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

/// A `[[github_humans]]` rule (`GitHubHumanPolicyRule`); kept, not matched.
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

// ---------------------------------------------------------------------------
// Requests and decisions
// ---------------------------------------------------------------------------

/// What a caller asks to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthzRequest {
    pub action: String,
    pub product: String,
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl AuthzRequest {
    pub fn new(
        action: impl Into<String>,
        product: impl Into<String>,
        context: impl Into<String>,
    ) -> Self {
        AuthzRequest {
            action: action.into(),
            product: product.into(),
            context: context.into(),
            instance: None,
        }
    }

    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }
}

/// The outcome of [`AuthzPolicy::decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// Index into `github_actions` of the rule that allowed the request.
    pub matched_rule: Option<usize>,
    /// Why; names rule indexes and field names, never workflow refs.
    pub reason: String,
}

/// The `authz` object of a 403 body (reference §7.4):
/// `{identity, policy_source, policy_sha256, request}`.
pub fn authz_diagnostics(
    claims: &GithubActionsClaims,
    request: &AuthzRequest,
    policy_source: &str,
    policy_sha256: &str,
) -> Value {
    json!({
        "identity": claims.diagnostics(),
        "policy_source": policy_source,
        "policy_sha256": policy_sha256,
        "request": request,
    })
}

// ---------------------------------------------------------------------------
// Parsing, validation, hashing
// ---------------------------------------------------------------------------

impl AuthzPolicy {
    /// Parses, normalises (entries trimmed, blank entries dropped) and
    /// validates a TOML policy.
    pub fn from_toml_str(text: &str) -> Result<Self, PolicyError> {
        let policy: AuthzPolicy = toml::from_str(text).map_err(|e| PolicyError::Parse {
            format: "TOML",
            message: e.message().to_string(),
        })?;
        policy.normalized_and_validated()
    }

    /// As [`Self::from_toml_str`], for JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, PolicyError> {
        let policy: AuthzPolicy = serde_json::from_str(text).map_err(|e| PolicyError::Parse {
            format: "JSON",
            message: e.to_string(),
        })?;
        policy.normalized_and_validated()
    }

    /// As [`Self::from_toml_str`], for a JSON value (a stored record).
    pub fn from_json_value(value: Value) -> Result<Self, PolicyError> {
        let policy: AuthzPolicy =
            serde_json::from_value(value).map_err(|e| PolicyError::Parse {
                format: "JSON",
                message: e.to_string(),
            })?;
        policy.normalized_and_validated()
    }

    /// The policy as JSON (None-valued fields omitted).
    pub fn to_json_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The policy as TOML.
    pub fn to_toml_string(&self) -> Result<String, PolicyError> {
        toml::to_string(self).map_err(|e| PolicyError::Parse {
            format: "TOML",
            message: e.to_string(),
        })
    }

    fn normalized_and_validated(mut self) -> Result<Self, PolicyError> {
        self.normalize();
        self.validate()?;
        Ok(self)
    }

    /// Trims every string and drops blank list entries.
    pub fn normalize(&mut self) {
        for rule in &mut self.github_actions {
            rule.normalize();
        }
        for rule in &mut self.github_humans {
            for list in [
                &mut rule.github_ids,
                &mut rule.logins,
                &mut rule.organizations,
                &mut rule.teams,
                &mut rule.roles,
                &mut rule.products,
                &mut rule.contexts,
                &mut rule.instances,
                &mut rule.actions,
            ] {
                normalize_list(list);
            }
        }
        for rule in self
            .terminal_agents
            .iter_mut()
            .chain(&mut self.local_operators)
            .chain(&mut self.local_admins)
        {
            for list in [
                &mut rule.subjects,
                &mut rule.token_labels,
                &mut rule.products,
                &mut rule.contexts,
                &mut rule.instances,
                &mut rule.actions,
            ] {
                normalize_list(list);
            }
        }
    }

    /// Refuses anything that could match more than it says; the error names
    /// the section, rule index and field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !SUPPORTED_SCHEMA_VERSIONS.contains(&self.schema_version) {
            return Err(PolicyError::UnsupportedSchemaVersion(self.schema_version));
        }
        for (index, rule) in self.github_actions.iter().enumerate() {
            rule.validate(index)?;
        }
        for (index, rule) in self.github_humans.iter().enumerate() {
            validate_human_rule(rule, index)?;
        }
        for (section, rules) in [
            ("terminal_agents", &self.terminal_agents),
            ("local_operators", &self.local_operators),
            ("local_admins", &self.local_admins),
        ] {
            for (index, rule) in rules.iter().enumerate() {
                validate_token_bound_rule(rule, section, index)?;
            }
        }
        Ok(())
    }

    /// SHA-256 hex of the compact, key-sorted JSON of the policy with
    /// None-valued fields omitted (reference §6.1). Non-ASCII characters are
    /// written as `\uXXXX`, as Python's `json.dumps` does by default.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(
            canonical_json(&self.to_json_value()).as_bytes(),
        ))
    }

    /// True when the policy has no rules of any kind.
    pub fn is_empty(&self) -> bool {
        self.github_actions.is_empty()
            && self.github_humans.is_empty()
            && self.terminal_agents.is_empty()
            && self.local_operators.is_empty()
            && self.local_admins.is_empty()
    }

    /// May this GitHub Actions caller do `request`? The first matching
    /// `github_actions` rule allows it; no rule (an empty policy included)
    /// denies.
    pub fn decide(&self, claims: &GithubActionsClaims, request: &AuthzRequest) -> Decision {
        if self.github_actions.is_empty() {
            return Decision {
                allowed: false,
                matched_rule: None,
                reason: "the policy has no github_actions rules".to_string(),
            };
        }
        let mut nearest: Option<(usize, &'static str)> = None;
        for (index, rule) in self.github_actions.iter().enumerate() {
            match rule.mismatch(claims, request) {
                None => {
                    return Decision {
                        allowed: true,
                        matched_rule: Some(index),
                        reason: format!("github_actions rule {index} allows the request"),
                    };
                }
                Some(field) => {
                    if field != "repository" && nearest.is_none() {
                        nearest = Some((index, field));
                    }
                }
            }
        }
        let reason = match nearest {
            Some((index, field)) => format!(
                "no github_actions rule allows the request; the first rule for repository {} \
                 (rule {index}) does not match on {field}",
                claims.repository
            ),
            None => format!(
                "no github_actions rule names repository {}",
                claims.repository
            ),
        };
        Decision {
            allowed: false,
            matched_rule: None,
            reason,
        }
    }

    // -- grants -------------------------------------------------------------

    /// This policy with `rule` appended, and whether it changed: a rule
    /// identical to an existing one (same fields; list order and duplicates
    /// ignored) leaves the policy unchanged. The rule is normalised and
    /// validated first.
    pub fn with_rule_added(
        &self,
        rule: GithubActionsRule,
    ) -> Result<(AuthzPolicy, bool), PolicyError> {
        let mut rule = rule;
        rule.normalize();
        rule.validate(self.github_actions.len())?;
        if self.github_actions.iter().any(|r| r.same_rule(&rule)) {
            return Ok((self.clone(), false));
        }
        let mut policy = self.clone();
        policy.github_actions.push(rule);
        Ok((policy, true))
    }

    /// This policy without every rule identical to `rule` (whole-rule match,
    /// list order and duplicates ignored), and whether it changed.
    pub fn with_rule_removed(
        &self,
        rule: &GithubActionsRule,
    ) -> Result<(AuthzPolicy, bool), PolicyError> {
        let mut rule = rule.clone();
        rule.normalize();
        rule.validate(0)?;
        let mut policy = self.clone();
        policy.github_actions.retain(|r| !r.same_rule(&rule));
        let changed = policy.github_actions.len() != self.github_actions.len();
        Ok((policy, changed))
    }

    /// A compact summary of what changed from `self` to `after`: rule counts
    /// and the added/removed `github_actions` rules summarised without
    /// workflow refs (only their counts).
    pub fn diff_summary(&self, after: &AuthzPolicy) -> PolicyDiff {
        let mut remaining: Vec<&GithubActionsRule> = self.github_actions.iter().collect();
        let mut added = Vec::new();
        for rule in &after.github_actions {
            match remaining.iter().position(|r| r.same_rule(rule)) {
                Some(position) => {
                    remaining.remove(position);
                }
                None => added.push(RuleSummary::of(rule)),
            }
        }
        let removed: Vec<RuleSummary> = remaining.into_iter().map(RuleSummary::of).collect();
        let before_sha = self.sha256();
        let after_sha = after.sha256();
        PolicyDiff {
            changed: before_sha != after_sha,
            policy_sha256_before: before_sha,
            policy_sha256_after: after_sha,
            schema_version_before: self.schema_version,
            schema_version_after: after.schema_version,
            rule_counts_before: RuleCounts::of(self),
            rule_counts_after: RuleCounts::of(after),
            github_actions_added: added,
            github_actions_removed: removed,
        }
    }
}

/// Rule counts per caller kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCounts {
    pub github_actions: usize,
    pub github_humans: usize,
    pub terminal_agents: usize,
    pub local_operators: usize,
    pub local_admins: usize,
}

impl RuleCounts {
    pub fn of(policy: &AuthzPolicy) -> Self {
        RuleCounts {
            github_actions: policy.github_actions.len(),
            github_humans: policy.github_humans.len(),
            terminal_agents: policy.terminal_agents.len(),
            local_operators: policy.local_operators.len(),
            local_admins: policy.local_admins.len(),
        }
    }
}

/// A `github_actions` rule without its workflow refs (counted instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSummary {
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_owner_id: Option<String>,
    pub workflow_ref_count: usize,
    pub job_workflow_ref_count: usize,
    pub event_names: Vec<String>,
    pub refs: Vec<String>,
    pub environments: Vec<String>,
    pub products: Vec<String>,
    pub contexts: Vec<String>,
    pub instances: Vec<String>,
    pub actions: Vec<String>,
}

impl RuleSummary {
    pub fn of(rule: &GithubActionsRule) -> Self {
        RuleSummary {
            repository: rule.repository.clone(),
            repository_id: rule.repository_id.clone(),
            repository_owner_id: rule.repository_owner_id.clone(),
            workflow_ref_count: rule.workflow_refs.len(),
            job_workflow_ref_count: rule.job_workflow_refs.len(),
            event_names: rule.event_names.clone(),
            refs: rule.refs.clone(),
            environments: rule.environments.clone(),
            products: rule.products.clone(),
            contexts: rule.contexts.clone(),
            instances: rule.instances.clone(),
            actions: rule.actions.clone(),
        }
    }
}

/// What a grant or removal changed; safe to return and to audit (no
/// workflow refs, no policy body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    pub changed: bool,
    pub policy_sha256_before: String,
    pub policy_sha256_after: String,
    pub schema_version_before: u32,
    pub schema_version_after: u32,
    pub rule_counts_before: RuleCounts,
    pub rule_counts_after: RuleCounts,
    pub github_actions_added: Vec<RuleSummary>,
    pub github_actions_removed: Vec<RuleSummary>,
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

impl GithubActionsRule {
    /// Trims every string and drops blank list entries.
    pub fn normalize(&mut self) {
        self.repository = self.repository.trim().to_string();
        for id in [&mut self.repository_id, &mut self.repository_owner_id] {
            if let Some(value) = id {
                let trimmed = value.trim().to_string();
                *id = (!trimmed.is_empty()).then_some(trimmed);
            }
        }
        for list in self.lists_mut() {
            normalize_list(list);
        }
    }

    fn lists_mut(&mut self) -> [&mut Vec<String>; 9] {
        [
            &mut self.workflow_refs,
            &mut self.job_workflow_refs,
            &mut self.event_names,
            &mut self.refs,
            &mut self.environments,
            &mut self.products,
            &mut self.contexts,
            &mut self.instances,
            &mut self.actions,
        ]
    }

    /// Load-time checks for rule `index` of `github_actions`.
    pub fn validate(&self, index: usize) -> Result<(), PolicyError> {
        let fail = |field: &'static str, message: String| PolicyError::InvalidRule {
            section: "github_actions",
            index,
            field,
            message,
        };
        if self.repository.is_empty() {
            return Err(fail("repository", "is required (`owner/name`)".to_string()));
        }
        if !is_repository_name(&self.repository) {
            return Err(fail(
                "repository",
                format!(
                    "`{}` must be exactly `owner/name` (letters, digits, `-`, `_`, `.`), \
                     with no glob characters",
                    self.repository
                ),
            ));
        }
        for (field, id) in [
            ("repository_id", &self.repository_id),
            ("repository_owner_id", &self.repository_owner_id),
        ] {
            if let Some(id) = id
                && !is_numeric_id(id)
            {
                return Err(fail(field, format!("`{id}` must be a numeric GitHub id")));
            }
        }
        let own_prefix = format!("{}{WORKFLOWS_DIR}", self.repository);
        for pattern in &self.workflow_refs {
            if !literal_prefix(pattern).starts_with(&own_prefix) {
                return Err(fail(
                    "workflow_refs",
                    format!(
                        "pattern `{pattern}` could match across repositories: it must start \
                         with `{own_prefix}` before any glob character"
                    ),
                ));
            }
        }
        for pattern in &self.job_workflow_refs {
            if !has_literal_workflow_repository(pattern) {
                return Err(fail(
                    "job_workflow_refs",
                    format!(
                        "pattern `{pattern}` could match across repositories: it must start \
                         with a literal `owner/name{WORKFLOWS_DIR}` before any glob character"
                    ),
                ));
            }
        }
        for (field, list) in [
            ("event_names", &self.event_names),
            ("refs", &self.refs),
            ("environments", &self.environments),
        ] {
            check_exact_list(list).map_err(|m| fail(field, m))?;
        }
        check_instances(&self.instances).map_err(|m| fail("instances", m))?;
        check_actions(&self.actions).map_err(|m| fail("actions", m))?;
        Ok(())
    }

    /// The first field that does not allow `claims`/`request`, or `None`
    /// when the rule allows them.
    pub fn mismatch(
        &self,
        claims: &GithubActionsClaims,
        request: &AuthzRequest,
    ) -> Option<&'static str> {
        if self.repository.is_empty() || self.repository != claims.repository {
            return Some("repository");
        }
        if let Some(id) = &self.repository_id
            && claims.repository_id.as_ref() != Some(id)
        {
            return Some("repository_id");
        }
        if let Some(id) = &self.repository_owner_id
            && claims.repository_owner_id.as_ref() != Some(id)
        {
            return Some("repository_owner_id");
        }
        if !self.workflow_refs.is_empty()
            && !glob_match_any(&self.workflow_refs, &claims.workflow_ref)
        {
            return Some("workflow_refs");
        }
        if !self.job_workflow_refs.is_empty() {
            match &claims.job_workflow_ref {
                Some(job) if glob_match_any(&self.job_workflow_refs, job) => {}
                _ => return Some("job_workflow_refs"),
            }
        }
        if self.event_names.is_empty() {
            if claims.event_name == PULL_REQUEST_TARGET {
                return Some("event_names");
            }
        } else if !contains(&self.event_names, &claims.event_name) {
            return Some("event_names");
        }
        if !self.refs.is_empty() && !contains(&self.refs, &claims.git_ref) {
            return Some("refs");
        }
        if !self.environments.is_empty() {
            match &claims.environment {
                Some(environment) if contains(&self.environments, environment) => {}
                _ => return Some("environments"),
            }
        }
        if !self.products.is_empty() && !glob_match_any(&self.products, &request.product) {
            return Some("products");
        }
        if !self.contexts.is_empty() && !glob_match_any(&self.contexts, &request.context) {
            return Some("contexts");
        }
        if !instance_allowed(&self.instances, request.instance.as_deref()) {
            return Some("instances");
        }
        if !contains(&self.actions, &request.action) {
            return Some("actions");
        }
        None
    }

    /// Same rule, ignoring list order and duplicates.
    pub fn same_rule(&self, other: &GithubActionsRule) -> bool {
        self.canonical() == other.canonical()
    }

    fn canonical(&self) -> GithubActionsRule {
        let mut rule = self.clone();
        for list in rule.lists_mut() {
            list.sort();
            list.dedup();
        }
        rule
    }
}

fn validate_human_rule(rule: &GithubHumanRule, index: usize) -> Result<(), PolicyError> {
    let fail = |field: &'static str, message: String| PolicyError::InvalidRule {
        section: "github_humans",
        index,
        field,
        message,
    };
    for id in &rule.github_ids {
        if !is_numeric_id(id) {
            return Err(fail(
                "github_ids",
                format!("`{id}` must be a numeric GitHub id"),
            ));
        }
    }
    for role in &rule.roles {
        if role != "read_only" && role != "admin" {
            return Err(fail(
                "roles",
                format!("`{role}` is not a role (expected `read_only` or `admin`)"),
            ));
        }
    }
    check_instances(&rule.instances).map_err(|m| fail("instances", m))?;
    check_actions(&rule.actions).map_err(|m| fail("actions", m))?;
    Ok(())
}

fn validate_token_bound_rule(
    rule: &TokenBoundRule,
    section: &'static str,
    index: usize,
) -> Result<(), PolicyError> {
    let fail = |field: &'static str, message: String| PolicyError::InvalidRule {
        section,
        index,
        field,
        message,
    };
    check_instances(&rule.instances).map_err(|m| fail("instances", m))?;
    check_actions(&rule.actions).map_err(|m| fail("actions", m))?;
    Ok(())
}

fn normalize_list(list: &mut Vec<String>) {
    *list = list
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
}

fn contains(list: &[String], value: &str) -> bool {
    list.iter().any(|item| item == value)
}

/// `instances`: a request without an instance needs a rule without
/// instances; a request with one matches a rule without instances, a lone
/// `*`, or its exact name.
fn instance_allowed(instances: &[String], requested: Option<&str>) -> bool {
    match requested {
        None => instances.is_empty(),
        Some(instance) => {
            instances.is_empty() || instances.iter().any(|i| i == "*" || i == instance)
        }
    }
}

/// `owner/name`: two non-empty segments of `[A-Za-z0-9._-]`.
fn is_repository_name(value: &str) -> bool {
    let mut parts = value.split('/');
    let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    segment_ok(owner) && segment_ok(name)
}

fn is_numeric_id(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

/// The literal part of `pattern` starts with `owner/name/.github/workflows/`.
fn has_literal_workflow_repository(pattern: &str) -> bool {
    let literal = literal_prefix(pattern);
    match literal.find(WORKFLOWS_DIR) {
        Some(position) => is_repository_name(&literal[..position]),
        None => false,
    }
}

fn check_exact_list(list: &[String]) -> Result<(), String> {
    for value in list {
        if has_glob_chars(value) {
            return Err(format!(
                "`{value}` contains a glob character; this field matches exactly"
            ));
        }
    }
    Ok(())
}

fn check_instances(list: &[String]) -> Result<(), String> {
    for value in list {
        if value != "*" && has_glob_chars(value) {
            return Err(format!(
                "`{value}` is not allowed: list exact instance names or a lone `*`"
            ));
        }
    }
    Ok(())
}

fn check_actions(list: &[String]) -> Result<(), String> {
    if list.is_empty() {
        return Err("must list at least one action".to_string());
    }
    for action in list {
        if has_glob_chars(action) {
            return Err(format!(
                "`{action}` contains a glob character; actions are never wildcards"
            ));
        }
        if action.chars().any(char::is_whitespace) {
            return Err(format!("`{action}` contains whitespace"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Canonical JSON
// ---------------------------------------------------------------------------

/// Compact JSON with object keys sorted at every depth and every non-ASCII
/// character escaped (`json.dumps(v, sort_keys=True, separators=(",", ":"))`).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

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

// ---------------------------------------------------------------------------
// Bootstrap sources
// ---------------------------------------------------------------------------

/// The bootstrap policy from the environment: `LAUNCHPLANE_POLICY_TOML`
/// (TOML text), then `LAUNCHPLANE_POLICY_B64` (base64 of TOML), then
/// `LAUNCHPLANE_POLICY_FILE` (a path; one ending `.example` is refused).
/// The first non-blank variable wins; the source string is
/// `bootstrap-env:<VARIABLE>`. `Ok(None)` when none is set.
pub fn bootstrap_policy_from_env(
    vars: impl Fn(&str) -> Option<String>,
) -> Result<Option<(AuthzPolicy, String)>, PolicyError> {
    let source = |variable: &str| format!("bootstrap-env:{variable}");
    let wrap = |variable: &'static str| {
        move |e: PolicyError| PolicyError::Source {
            variable,
            message: e.to_string(),
        }
    };
    let non_blank = |name: &str| vars(name).filter(|v| !v.trim().is_empty());

    if let Some(text) = non_blank(POLICY_TOML_ENV) {
        let policy = AuthzPolicy::from_toml_str(&text).map_err(wrap(POLICY_TOML_ENV))?;
        return Ok(Some((policy, source(POLICY_TOML_ENV))));
    }
    if let Some(encoded) = non_blank(POLICY_B64_ENV) {
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD.decode(compact).map_err(|e| PolicyError::Source {
            variable: POLICY_B64_ENV,
            message: format!("is not valid base64: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| PolicyError::Source {
            variable: POLICY_B64_ENV,
            message: "does not decode to UTF-8 text".to_string(),
        })?;
        let policy = AuthzPolicy::from_toml_str(&text).map_err(wrap(POLICY_B64_ENV))?;
        return Ok(Some((policy, source(POLICY_B64_ENV))));
    }
    if let Some(path) = non_blank(POLICY_FILE_ENV) {
        let path = path.trim();
        if path.ends_with(".example") {
            return Err(PolicyError::Source {
                variable: POLICY_FILE_ENV,
                message: format!(
                    "`{path}` is an example file; copy it, edit it and point at the copy"
                ),
            });
        }
        let text = std::fs::read_to_string(Path::new(path)).map_err(|e| PolicyError::Source {
            variable: POLICY_FILE_ENV,
            message: format!("cannot read `{path}`: {e}"),
        })?;
        let policy = AuthzPolicy::from_toml_str(&text).map_err(wrap(POLICY_FILE_ENV))?;
        return Ok(Some((policy, source(POLICY_FILE_ENV))));
    }
    Ok(None)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
