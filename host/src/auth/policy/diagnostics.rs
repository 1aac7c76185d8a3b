//! What a denial or a policy change may show: the `authz` object of a 403
//! and [`PolicyDiff`], never workflow refs or a policy body.

use serde::Serialize;
use serde_json::{Value, json};

use super::{AuthzPolicy, AuthzRequest, GithubActionsRule, GithubHumanRule};
use crate::auth::oidc::GithubActionsClaims;

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

impl AuthzPolicy {
    /// A compact summary of what changed from `self` to `after`: rule counts
    /// and the added/removed `github_actions` rules summarised without
    /// workflow refs (only their counts), and `github_humans` rules without
    /// whom they name.
    pub fn diff_summary(&self, after: &AuthzPolicy) -> PolicyDiff {
        let (added, removed) = rule_changes(
            &self.github_actions,
            &after.github_actions,
            GithubActionsRule::same_rule,
            RuleSummary::of,
        );
        let (humans_added, humans_removed) = rule_changes(
            &self.github_humans,
            &after.github_humans,
            GithubHumanRule::same_rule,
            HumanRuleSummary::of,
        );
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
            github_humans_added: humans_added,
            github_humans_removed: humans_removed,
        }
    }
}

/// The rules of `after` not in `before` and those of `before` not in
/// `after` (as multisets under `same`), each summarised.
fn rule_changes<R, S>(
    before: &[R],
    after: &[R],
    same: impl Fn(&R, &R) -> bool,
    summary: impl Fn(&R) -> S,
) -> (Vec<S>, Vec<S>) {
    let mut remaining: Vec<&R> = before.iter().collect();
    let mut added = Vec::new();
    for rule in after {
        match remaining.iter().position(|r| same(r, rule)) {
            Some(position) => {
                remaining.remove(position);
            }
            None => added.push(summary(rule)),
        }
    }
    let removed = remaining.into_iter().map(summary).collect();
    (added, removed)
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
    /// The rule counts of `policy`.
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
    /// The summary of `rule`.
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
    pub github_humans_added: Vec<HumanRuleSummary>,
    pub github_humans_removed: Vec<HumanRuleSummary>,
}

/// A `github_humans` rule without whom it names (ids, logins,
/// organizations and teams are counted instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HumanRuleSummary {
    pub github_id_count: usize,
    pub login_count: usize,
    pub organization_count: usize,
    pub team_count: usize,
    pub roles: Vec<String>,
    pub products: Vec<String>,
    pub contexts: Vec<String>,
    pub instances: Vec<String>,
    pub actions: Vec<String>,
}

impl HumanRuleSummary {
    /// The summary of `rule`.
    pub fn of(rule: &GithubHumanRule) -> Self {
        HumanRuleSummary {
            github_id_count: rule.github_ids.len(),
            login_count: rule.logins.len(),
            organization_count: rule.organizations.len(),
            team_count: rule.teams.len(),
            roles: rule.roles.clone(),
            products: rule.products.clone(),
            contexts: rule.contexts.clone(),
            instances: rule.instances.clone(),
            actions: rule.actions.clone(),
        }
    }
}
