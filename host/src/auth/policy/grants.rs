//! Grants: a policy with a `github_actions` rule added or removed, rules
//! compared as sets (list order and duplicates ignored).

use super::{AuthzPolicy, GithubActionsRule, PolicyError};

impl AuthzPolicy {
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
}

impl GithubActionsRule {
    /// Same rule, ignoring list order and duplicates.
    pub fn same_rule(&self, other: &GithubActionsRule) -> bool {
        self.canonical() == other.canonical()
    }

    /// The rule with every list sorted and deduplicated.
    fn canonical(&self) -> GithubActionsRule {
        let mut rule = self.clone();
        for list in rule.lists_mut() {
            list.sort();
            list.dedup();
        }
        rule
    }
}
