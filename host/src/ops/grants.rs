//! Policy administration (reference §7.5): `POST
//! /v1/authz-policies/github-actions/grants` and `…/removals`, and `POST
//! /v1/authz-policies/github-humans/grants` (a `github_humans` rule naming
//! at least one login, organization or team).
//!
//! Guarded by `authz_policy_grant.write` on (`launchplane`, `launchplane`).
//! `mode` is `dry_run` or `apply`; apply needs a `reason`. Writes are
//! compare-and-write against the active revision, so a concurrent change
//! is a 409, never a lost rule. Responses carry record metadata, rule counts
//! and a compact diff, never the policy body or workflow refs.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::access::policy_record;
use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::auth::AuthzPolicy;
use crate::auth::policy::{GithubActionsRule, GithubHumanRule, RuleCounts};
use crate::error::ApiError;
use crate::records::hygiene::check_id_pattern;
use crate::records::{StoreError, Tx};

const ACTION: &str = "authz_policy_grant.write";

/// The github-humans grants route.
pub const HUMAN_GRANTS_ROUTE: &str = "/v1/authz-policies/github-humans/grants";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    DryRun,
    Apply,
}

/// Grant or removal of a `github_actions` rule, or grant of a
/// `github_humans` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Grant,
    Removal,
    HumanGrant,
}

impl Change {
    fn key(self) -> &'static str {
        match self {
            Change::Grant | Change::HumanGrant => "grant",
            Change::Removal => "removal",
        }
    }
}

/// The rule a change names.
#[derive(Clone)]
enum Rule {
    Actions(GithubActionsRule),
    Human(GithubHumanRule),
}

/// A parsed request body.
#[derive(Clone)]
struct PolicyChange {
    mode: Mode,
    reason: String,
    related_issue: String,
    source_label: String,
    rule: Rule,
}

fn field_error(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(format!(
        "Request payload failed validation: {field}: {message}"
    ))
}

fn parse(body: &Value, change: Change) -> Result<PolicyChange, ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::invalid_request(
            "Request body must be a JSON object.",
        ));
    };
    let key = change.key();
    for field in map.keys() {
        if ![
            "schema_version",
            "product",
            "mode",
            "reason",
            "related_issue",
            key,
        ]
        .contains(&field.as_str())
        {
            return Err(field_error(field, "unknown field"));
        }
    }
    if map.get("product").and_then(Value::as_str).map(str::trim) != Some("launchplane") {
        return Err(field_error("product", "must be `launchplane`"));
    }
    let mode = match map.get("mode") {
        None => match change {
            Change::Grant | Change::HumanGrant => Mode::Apply,
            Change::Removal => Mode::DryRun,
        },
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|_| field_error("mode", "must be `dry_run` or `apply`"))?,
    };
    let text = |name: &str| {
        map.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let reason = text("reason");
    if mode == Mode::Apply && reason.is_empty() {
        return Err(field_error(
            "reason",
            "is required to apply a policy change",
        ));
    }
    let Some(Value::Object(rule)) = map.get(key) else {
        return Err(field_error(key, "is required and must be an object"));
    };
    let mut rule: Map<String, Value> = rule.clone();
    let default_label = match change {
        Change::Grant => "service:authz-policy-grant",
        Change::Removal => "service:authz-policy-removal",
        Change::HumanGrant => "service:authz-human-policy-grant",
    };
    let source_label = match rule.remove("source_label") {
        Some(Value::String(label)) if !label.trim().is_empty() => label.trim().to_string(),
        Some(Value::String(_)) | None => default_label.to_string(),
        Some(_) => {
            return Err(field_error(
                &format!("{key}.source_label"),
                "must be a string",
            ));
        }
    };
    if change == Change::HumanGrant {
        let mut rule: GithubHumanRule =
            serde_json::from_value(Value::Object(rule)).map_err(|e| field_error(key, e))?;
        rule.normalize();
        if rule.logins.is_empty() && rule.organizations.is_empty() && rule.teams.is_empty() {
            return Err(field_error(
                &format!("{key}.logins"),
                "a grant must name at least one login, organization or team",
            ));
        }
        check_scopes(key, &rule.products, &rule.contexts, &rule.instances)?;
        return Ok(PolicyChange {
            mode,
            reason,
            related_issue: text("related_issue"),
            source_label,
            rule: Rule::Human(rule),
        });
    }
    let rule: GithubActionsRule =
        serde_json::from_value(Value::Object(rule)).map_err(|e| field_error(key, e))?;
    if change == Change::Grant
        && (rule.repository_id.is_none() || rule.repository_owner_id.is_none())
    {
        return Err(field_error(
            &format!("{key}.repository_id"),
            "grants must pin repository_id and repository_owner_id",
        ));
    }
    if change == Change::Grant {
        // What a new grant may name follows the id rule (globs allowed);
        // a removal may still name an older rule exactly as it was written.
        check_scopes(key, &rule.products, &rule.contexts, &rule.instances)?;
    }
    Ok(PolicyChange {
        mode,
        reason,
        related_issue: text("related_issue"),
        source_label,
        rule: Rule::Actions(rule),
    })
}

/// A new grant's products, contexts and instances follow the id rule
/// (globs allowed).
fn check_scopes(
    key: &str,
    products: &[String],
    contexts: &[String],
    instances: &[String],
) -> Result<(), ApiError> {
    for (field, patterns) in [
        ("products", products),
        ("contexts", contexts),
        ("instances", instances),
    ] {
        for (index, pattern) in patterns.iter().enumerate() {
            check_id_pattern(&format!("{key}.{field}[{index}]"), pattern.trim())
                .map_err(super::input::input_error)?;
        }
    }
    Ok(())
}

fn metadata(
    record_id: &str,
    status: &str,
    source: &str,
    updated_at: &str,
    sha: &str,
    counts: &RuleCounts,
) -> Value {
    json!({
        "record_id": record_id,
        "status": status,
        "source": source,
        "updated_at": updated_at,
        "policy_sha256": sha,
        "github_actions_rule_count": counts.github_actions,
        "github_humans_rule_count": counts.github_humans,
    })
}

impl Service {
    /// `POST /v1/authz-policies/github-actions/grants` (`Change::Grant`),
    /// `…/removals` (`Change::Removal`) and
    /// `/v1/authz-policies/github-humans/grants` (`Change::HumanGrant`).
    pub async fn change_policy(
        &self,
        call: &Call,
        body: Value,
        change: Change,
    ) -> Result<Reply, ApiError> {
        super::input::check_body(&body)?;
        let request = parse(&body, change)?;
        self.authorize(call, ACTION, "launchplane", "launchplane", "")
            .await?;
        let mutation = Mutation::host(call, ACTION, "launchplane", "launchplane", &body);
        let reply = self
            .run_mutation_tx(mutation, |mut tx: Tx| {
                let request = request.clone();
                async move {
                    let outcome = apply(self, &mut tx, request, change).await;
                    (tx, outcome)
                }
            })
            .await;
        // Again after the commit: a read between the change and its commit
        // may have cached the old policy.
        self.policy_cache.invalidate();
        reply
    }
}

async fn apply(
    state: &Service,
    tx: &mut Tx,
    request: PolicyChange,
    change: Change,
) -> Result<Accepted, ApiError> {
    // Always decide against the database, never a cached copy.
    let current = tx
        .active_policy()
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "authz_policy_unavailable",
                "No active authorization policy to change; import one first.",
            )
        })?;
    let before =
        AuthzPolicy::from_json_value(current.policy.clone()).map_err(ApiError::internal)?;
    let outcome = match (change, request.rule) {
        (Change::Removal, Rule::Actions(rule)) => before.with_rule_removed(&rule),
        (_, Rule::Actions(rule)) => before.with_rule_added(rule),
        (_, Rule::Human(rule)) => before.with_human_rule_added(rule),
    };
    let (after, changed) = outcome.map_err(|e| {
        ApiError::invalid_request(format!("Request payload failed validation: {e}"))
    })?;
    let diff = before.diff_summary(&after);
    let mode = if request.mode == Mode::Apply {
        "apply"
    } else {
        "dry_run"
    };
    let mut result = json!({
        "mode": mode,
        "changed": changed,
        "reason": request.reason,
        "related_issue": request.related_issue,
        "diff": diff,
    });
    if request.mode == Mode::DryRun || !changed {
        result["authz_policy"] = metadata(
            &current.record_id,
            &current.status,
            &current.source,
            &current.updated_at,
            &current.policy_sha256,
            &RuleCounts::of(&before),
        );
        let mut accepted =
            Accepted::new().record("authz_policy_record_id", current.record_id.clone());
        accepted.result = Some(result);
        return Ok(accepted);
    }
    let record = policy_record(&after, &request.source_label);
    let stored = match tx.replace_policy(current.revision, &record).await {
        Ok(stored) => stored,
        Err(StoreError::PolicyConflict { .. }) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "authz_policy_conflict",
                "The authorization policy changed while this request was processed; retry against the new policy.",
            ));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    state.policy_cache.invalidate();
    result["authz_policy"] = metadata(
        &stored.record_id,
        &stored.status,
        &stored.source,
        &stored.updated_at,
        &stored.policy_sha256,
        &RuleCounts::of(&after),
    );
    let mut accepted = Accepted::new().record("authz_policy_record_id", stored.record_id.clone());
    accepted.result = Some(result);
    accepted.written = vec![stored.record_id];
    Ok(accepted)
}
