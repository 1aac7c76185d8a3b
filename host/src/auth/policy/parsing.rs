//! Reading a policy (TOML, JSON text or a JSON value), normalising it
//! (strings trimmed, blank list entries dropped) before validation, and
//! writing it back out.

use serde_json::Value;

use super::{AuthzPolicy, GithubActionsRule, GithubHumanRule, PolicyError};

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

    /// Normalises, then validates.
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
            rule.normalize();
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
}

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

    /// Every list field, to normalise or compare them alike.
    pub(super) fn lists_mut(&mut self) -> [&mut Vec<String>; 9] {
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
}

impl GithubHumanRule {
    /// Trims every string and drops blank list entries.
    pub fn normalize(&mut self) {
        for list in self.lists_mut() {
            normalize_list(list);
        }
    }

    /// Every list field, to normalise or compare them alike.
    pub(super) fn lists_mut(&mut self) -> [&mut Vec<String>; 9] {
        [
            &mut self.github_ids,
            &mut self.logins,
            &mut self.organizations,
            &mut self.teams,
            &mut self.roles,
            &mut self.products,
            &mut self.contexts,
            &mut self.instances,
            &mut self.actions,
        ]
    }
}

/// `list` with entries trimmed and blank ones dropped.
fn normalize_list(list: &mut Vec<String>) {
    *list = list
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
}
