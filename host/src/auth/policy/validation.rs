//! Load-time validation: refuses rules that could match more than their
//! author can see; every error names the section, rule index and field.

use super::{
    AuthzPolicy, GithubActionsRule, GithubHumanRule, PolicyError, SUPPORTED_SCHEMA_VERSIONS,
    TokenBoundRule,
};
use crate::auth::glob::{has_glob_chars, literal_prefix};

/// What separates a workflow ref's repository from its workflow file.
const WORKFLOWS_DIR: &str = "/.github/workflows/";

impl AuthzPolicy {
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
}

impl GithubActionsRule {
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
}

/// Load-time checks for rule `index` of `github_humans`.
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
    // An empty `actions` list means any action, as in the original
    // (reference §7.4); listed actions are still exact names.
    if !rule.actions.is_empty() {
        check_actions(&rule.actions).map_err(|m| fail("actions", m))?;
    }
    // Hardening: a rule naming nobody would match every GitHub account.
    if rule.github_ids.is_empty()
        && rule.logins.is_empty()
        && rule.organizations.is_empty()
        && rule.teams.is_empty()
    {
        return Err(fail(
            "logins",
            "a rule must name at least one of github_ids, logins, organizations or teams"
                .to_string(),
        ));
    }
    Ok(())
}

/// Load-time checks for rule `index` of a token-bound section.
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

/// Non-empty ASCII digits.
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

/// Exact-match entries carry no glob character.
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

/// Instances are exact names or a lone `*`.
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

/// At least one action, none globbed or with whitespace.
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
