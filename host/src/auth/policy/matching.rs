//! Matching: an [`AuthzRequest`] against the `github_actions` rules, and
//! the [`Decision`] it gets (see the module docs' table).

use serde::Serialize;

use super::{AuthzPolicy, GithubActionsRule, PULL_REQUEST_TARGET};
use crate::auth::glob::glob_match_any;
use crate::auth::oidc::GithubActionsClaims;

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
    /// A request for `action` on `product`'s `context`, no instance.
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

    /// The same request for one instance.
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

impl AuthzPolicy {
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
}

impl GithubActionsRule {
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
}

/// Whether `list` holds exactly `value`.
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
