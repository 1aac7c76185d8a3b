//! Policy administration (reference §7.5): `POST
//! /v1/authz-policies/github-actions/grants` and `…/removals`.
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
use crate::auth::policy::{GithubActionsRule, RuleCounts};
use crate::error::ApiError;
use crate::records::hygiene::check_id_pattern;
use crate::records::{PolicyRecord, StoreError, Tx};

const ACTION: &str = "authz_policy_grant.write";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    DryRun,
    Apply,
}

/// Grant or removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Grant,
    Removal,
}

impl Change {
    fn key(self) -> &'static str {
        match self {
            Change::Grant => "grant",
            Change::Removal => "removal",
        }
    }
}

/// A parsed request body.
#[derive(Clone)]
struct PolicyChange {
    mode: Mode,
    reason: String,
    related_issue: String,
    source_label: String,
    rule: GithubActionsRule,
}

fn field_error(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(format!(
        "Request payload failed validation: {field}: {message}"
    ))
}

/// The request body checked field by field, in the original's order.
fn parse(body: &Value, change: Change) -> Result<PolicyChange, ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::invalid_request(
            "Request body must be a JSON object.",
        ));
    };
    let key = change.key();
    check_fields(map, key)?;
    let mode = mode_of(map, change)?;
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
    let (rule, source_label) = rule_of(map, change)?;
    Ok(PolicyChange {
        mode,
        reason,
        related_issue: text("related_issue"),
        source_label,
        rule,
    })
}

/// Only the known fields, and `product` is `launchplane`.
fn check_fields(map: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    let known = [
        "schema_version",
        "product",
        "mode",
        "reason",
        "related_issue",
        key,
    ];
    if let Some(field) = map.keys().find(|f| !known.contains(&f.as_str())) {
        return Err(field_error(field, "unknown field"));
    }
    if map.get("product").and_then(Value::as_str).map(str::trim) != Some("launchplane") {
        return Err(field_error("product", "must be `launchplane`"));
    }
    Ok(())
}

/// `mode`, defaulting to apply for a grant and dry run for a removal.
fn mode_of(map: &Map<String, Value>, change: Change) -> Result<Mode, ApiError> {
    match map.get("mode") {
        None => Ok(match change {
            Change::Grant => Mode::Apply,
            Change::Removal => Mode::DryRun,
        }),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|_| field_error("mode", "must be `dry_run` or `apply`")),
    }
}

/// The `grant` or `removal` object as a rule, and its source label.
fn rule_of(
    map: &Map<String, Value>,
    change: Change,
) -> Result<(GithubActionsRule, String), ApiError> {
    let key = change.key();
    let Some(Value::Object(rule)) = map.get(key) else {
        return Err(field_error(key, "is required and must be an object"));
    };
    let mut rule: Map<String, Value> = rule.clone();
    let default_label = match change {
        Change::Grant => "service:authz-policy-grant",
        Change::Removal => "service:authz-policy-removal",
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
    let rule: GithubActionsRule =
        serde_json::from_value(Value::Object(rule)).map_err(|e| field_error(key, e))?;
    if change == Change::Grant {
        check_grant(&rule)?;
    }
    Ok((rule, source_label))
}

/// A new grant pins the repository and owner ids, and what it names
/// follows the id rule (globs allowed); a removal may still name an older
/// rule exactly as it was written.
fn check_grant(rule: &GithubActionsRule) -> Result<(), ApiError> {
    let key = Change::Grant.key();
    if rule.repository_id.is_none() || rule.repository_owner_id.is_none() {
        return Err(field_error(
            &format!("{key}.repository_id"),
            "grants must pin repository_id and repository_owner_id",
        ));
    }
    for (field, patterns) in [
        ("products", &rule.products),
        ("contexts", &rule.contexts),
        ("instances", &rule.instances),
    ] {
        for (index, pattern) in patterns.iter().enumerate() {
            check_id_pattern(&format!("{key}.{field}[{index}]"), pattern.trim())
                .map_err(super::input::input_error)?;
        }
    }
    Ok(())
}

/// The policy record's metadata in an answer (never its body).
fn metadata(record: &PolicyRecord, counts: &RuleCounts) -> Value {
    json!({
        "record_id": record.record_id,
        "status": record.status,
        "source": record.source,
        "updated_at": record.updated_at,
        "policy_sha256": record.policy_sha256,
        "github_actions_rule_count": counts.github_actions,
        "github_humans_rule_count": counts.github_humans,
    })
}

impl Service {
    /// `POST /v1/authz-policies/github-actions/grants` (`Change::Grant`) and
    /// `…/removals` (`Change::Removal`).
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
    let outcome = match change {
        Change::Grant => before.with_rule_added(request.rule),
        Change::Removal => before.with_rule_removed(&request.rule),
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
        result["authz_policy"] = metadata(&current, &RuleCounts::of(&before));
        return Ok(answer(&current, result, false));
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
    result["authz_policy"] = metadata(&stored, &RuleCounts::of(&after));
    Ok(answer(&stored, result, true))
}

/// The accepted answer naming `record` (listed as written when `written`).
fn answer(record: &PolicyRecord, result: Value, written: bool) -> Accepted {
    let mut accepted = Accepted::new().record("authz_policy_record_id", record.record_id.clone());
    accepted.result = Some(result);
    if written {
        accepted.written = vec![record.record_id.clone()];
    }
    accepted
}
