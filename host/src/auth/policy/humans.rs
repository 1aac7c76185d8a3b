//! `github_humans` rules: a signed-in human's role, the decision on what
//! they ask to do, and adding a rule (the github-humans grant).
//!
//! Matching (every constraint ANDed, an empty list means "any"):
//! `github_ids` exact; `logins`, `organizations`, `teams` glob (an
//! organization or team matches when any of the human's matches any
//! pattern); `roles` holds the human's role; `products`, `contexts` glob;
//! `instances` as for `github_actions` rules; `actions` exact membership.
//! A `read_only` human is further limited to read actions (`*.read`,
//! `*.list`), whatever a rule lists.

use super::{AuthzPolicy, AuthzRequest, Decision, GithubHumanRule, PolicyError};
use crate::auth::glob::glob_match_any;

/// The role that may do anything its rules allow.
pub const ADMIN_ROLE: &str = "admin";
/// The role limited to reads.
pub const READ_ONLY_ROLE: &str = "read_only";

/// Who a signed-in human is, as rules match it.
#[derive(Debug, Clone, Copy)]
pub struct HumanPrincipal<'a> {
    pub login: &'a str,
    pub github_id: &'a str,
    pub organizations: &'a [String],
    pub teams: &'a [String],
}

/// Whether `action` only reads (`*.read`, `*.list`).
pub fn is_read_action(action: &str) -> bool {
    action.ends_with(".read") || action.ends_with(".list")
}

impl AuthzPolicy {
    /// `admin` when a rule matches the human as an admin, else `read_only`
    /// when one matches as read-only, else none (the sign-in is refused).
    pub fn human_role_for(&self, principal: &HumanPrincipal<'_>) -> Option<&'static str> {
        [ADMIN_ROLE, READ_ONLY_ROLE].into_iter().find(|role| {
            self.github_humans
                .iter()
                .any(|rule| rule.matches_principal(principal, role))
        })
    }

    /// May this human, holding `role`, do `request`? The first matching
    /// `github_humans` rule allows it.
    pub fn decide_human(
        &self,
        principal: &HumanPrincipal<'_>,
        role: &str,
        request: &AuthzRequest,
    ) -> Decision {
        let deny = |reason: String| Decision {
            allowed: false,
            matched_rule: None,
            reason,
        };
        if role != ADMIN_ROLE && !is_read_action(&request.action) {
            return deny(format!(
                "principal_role_restricted: role `{role}` may only read; `{}` is not a read action",
                request.action
            ));
        }
        let mut nearest: Option<(usize, &'static str)> = None;
        for (index, rule) in self.github_humans.iter().enumerate() {
            if !rule.matches_principal(principal, role) {
                continue;
            }
            match rule.request_mismatch(request) {
                None => {
                    return Decision {
                        allowed: true,
                        matched_rule: Some(index),
                        reason: format!("github_humans rule {index} allows the request"),
                    };
                }
                Some(field) => {
                    nearest.get_or_insert((index, field));
                }
            }
        }
        deny(match nearest {
            Some((index, field)) => format!(
                "no github_humans rule allows the request; rule {index} names this human but \
                 does not match on {field}"
            ),
            None => "no github_humans rule names this human".to_string(),
        })
    }

    /// This policy with the human `rule` appended, and whether it changed
    /// (an identical rule, list order and duplicates ignored, leaves it
    /// unchanged). The rule is normalised and validated first.
    pub fn with_human_rule_added(
        &self,
        rule: GithubHumanRule,
    ) -> Result<(AuthzPolicy, bool), PolicyError> {
        let mut rule = rule;
        rule.normalize();
        let mut policy = self.clone();
        policy.github_humans.push(rule.clone());
        policy.validate()?;
        if self.github_humans.iter().any(|r| r.same_rule(&rule)) {
            return Ok((self.clone(), false));
        }
        Ok((policy, true))
    }
}

impl GithubHumanRule {
    /// Whether the rule names this human in `role`.
    pub fn matches_principal(&self, principal: &HumanPrincipal<'_>, role: &str) -> bool {
        let any_of = |patterns: &[String], values: &[String]| {
            patterns.is_empty() || values.iter().any(|v| glob_match_any(patterns, v))
        };
        (self.github_ids.is_empty() || self.github_ids.iter().any(|id| id == principal.github_id))
            && (self.logins.is_empty() || glob_match_any(&self.logins, principal.login))
            && any_of(&self.organizations, principal.organizations)
            && any_of(&self.teams, principal.teams)
            && (self.roles.is_empty() || self.roles.iter().any(|r| r == role))
    }

    /// The first field that does not allow `request`, or none.
    fn request_mismatch(&self, request: &AuthzRequest) -> Option<&'static str> {
        if !self.products.is_empty() && !glob_match_any(&self.products, &request.product) {
            return Some("products");
        }
        if !self.contexts.is_empty() && !glob_match_any(&self.contexts, &request.context) {
            return Some("contexts");
        }
        let instance_ok = match request.instance.as_deref() {
            None => self.instances.is_empty(),
            Some(instance) => {
                self.instances.is_empty()
                    || self.instances.iter().any(|i| i == "*" || i == instance)
            }
        };
        if !instance_ok {
            return Some("instances");
        }
        if !self.actions.is_empty() && !self.actions.iter().any(|a| a == &request.action) {
            return Some("actions");
        }
        None
    }

    /// Same rule, ignoring list order and duplicates.
    pub fn same_rule(&self, other: &GithubHumanRule) -> bool {
        let canonical = |rule: &GithubHumanRule| {
            let mut rule = rule.clone();
            for list in rule.lists_mut() {
                list.sort();
                list.dedup();
            }
            rule
        };
        canonical(self) == canonical(other)
    }
}
