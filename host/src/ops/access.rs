//! Authorization: the active policy (cached briefly, re-read from the
//! database so every host sees a grant within seconds) decides each
//! (action, product, context, instance) a caller asks for. Anything
//! unmatched is denied with 403 `authorization_denied` and the original's
//! `authz` diagnostics block, and the denial is audited.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::completion::audit_event;
use super::{Call, Service};
use crate::auth::glob::glob_match_any;
use crate::auth::human::{HUMAN_KIND, HumanIdentity};
use crate::auth::operator::OPERATOR_KIND;
use crate::auth::policy::{HumanPrincipal, authz_diagnostics};
use crate::auth::{AuthzPolicy, AuthzRequest, Caller};
use crate::error::ApiError;
use crate::records::{PolicyRecord, Store, StoreError};

/// Authorization actions of the host's own routes, as policy rules name
/// them (driver actions come from the descriptors).
pub const CORE_ACTIONS: &[&str] = &[
    "deployment.write",
    "promotion.write",
    "backup_gate.write",
    "preview_generation.write",
    "preview_destroyed.write",
    "product_profile.read",
    "product_profile.write",
    "deployment.read",
    "promotion.read",
    "inventory.read",
    "preview.read",
    "operations.read",
    "driver.read",
    "product_onboarding.apply",
];

/// The active policy, parsed.
#[derive(Debug, Clone)]
pub struct ActivePolicy {
    pub record: PolicyRecord,
    pub policy: AuthzPolicy,
}

/// A short-lived cache of the active policy.
#[derive(Debug)]
pub struct PolicyCache {
    ttl: Duration,
    slot: RwLock<Option<(Instant, Option<Arc<ActivePolicy>>)>>,
}

impl PolicyCache {
    pub fn new(ttl: Duration) -> Self {
        PolicyCache {
            ttl,
            slot: RwLock::new(None),
        }
    }

    fn fresh(&self) -> Option<Option<Arc<ActivePolicy>>> {
        let guard = match self.slot.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, p)| p.clone())
    }

    fn put(&self, value: Option<Arc<ActivePolicy>>) {
        let mut guard = match self.slot.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some((Instant::now(), value));
    }

    /// Forgets the cached policy (after a local write).
    pub fn invalidate(&self) {
        let mut guard = match self.slot.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = None;
    }
}

/// `launchplane-authz-policy-<updated_at compact>-<first 12 of sha>`.
pub fn policy_record_id(updated_at: &str, sha256: &str) -> String {
    let compact: String = updated_at
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    format!(
        "launchplane-authz-policy-{}-{}",
        compact.replace("+0000", "Z"),
        &sha256[..12.min(sha256.len())]
    )
}

/// A policy record for `policy` from `source`, stamped now.
pub fn policy_record(policy: &AuthzPolicy, source: &str) -> PolicyRecord {
    let updated_at = crate::time::now_rfc3339_micros();
    let sha = policy.sha256();
    PolicyRecord {
        record_id: policy_record_id(&updated_at, &sha),
        revision: 0,
        status: "active".into(),
        source: source.to_string(),
        updated_at,
        policy_sha256: sha,
        policy: policy.to_json_value(),
    }
}

/// Writes the bootstrap policy as the active record when the store has
/// none; a store that already has a policy keeps it (grants are not lost on
/// restart). Returns whether it wrote.
pub async fn bootstrap_policy(
    store: &Store,
    policy: &AuthzPolicy,
    source: &str,
) -> Result<bool, StoreError> {
    if store.active_policy().await?.is_some() {
        return Ok(false);
    }
    match store
        .replace_policy(0, &policy_record(policy, source))
        .await
    {
        Ok(_) => Ok(true),
        // Another host bootstrapped at the same moment.
        Err(StoreError::PolicyConflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

impl Service {
    /// The active policy (cached for a few seconds), or none.
    pub async fn active_policy(&self) -> Result<Option<Arc<ActivePolicy>>, ApiError> {
        if let Some(cached) = self.policy_cache.fresh() {
            return Ok(cached);
        }
        let active = match self
            .store
            .active_policy()
            .await
            .map_err(ApiError::internal)?
        {
            None => None,
            Some(record) => {
                let policy = AuthzPolicy::from_json_value(record.policy.clone()).map_err(|e| {
                    ApiError::internal(format!(
                        "stored policy {} is invalid: {e}",
                        record.record_id
                    ))
                })?;
                Some(Arc::new(ActivePolicy { record, policy }))
            }
        };
        self.policy_cache.put(active.clone());
        Ok(active)
    }

    /// Allows or denies `action` on (product, context, instance) for
    /// `caller`. A denial is audited and answered with diagnostics.
    pub async fn authorize(
        &self,
        call: &Call,
        action: &str,
        product: &str,
        context: &str,
        instance: &str,
    ) -> Result<(), ApiError> {
        self.authorize_any(call, &[action], product, context, instance)
            .await
    }

    /// The caller's grants as a predicate on (action, product, context),
    /// for read models that show which actions the caller may take.
    /// Nothing is audited: these are questions, not requests.
    pub async fn grants_of<'a>(
        &self,
        call: &'a Call,
    ) -> Result<Box<dyn Fn(&str, &str, &str) -> bool + Send + Sync + 'a>, ApiError> {
        let active = self.active_policy().await?;
        Ok(Box::new(
            move |action: &str, product: &str, context: &str| {
                let request = AuthzRequest::new(action, product, context);
                decide(call, active.as_deref(), &request).0
            },
        ))
    }

    /// Allows the request when any of `actions` is granted (the original's
    /// fallback grants, such as PR feedback's); a denial is audited and
    /// answered for the first action.
    pub async fn authorize_any(
        &self,
        call: &Call,
        actions: &[&str],
        product: &str,
        context: &str,
        instance: &str,
    ) -> Result<(), ApiError> {
        let active = self.active_policy().await?;
        let mut denied: Option<(&str, String, Value)> = None;
        for &action in actions {
            let mut request = AuthzRequest::new(action, product, context);
            if !instance.is_empty() {
                request = request.with_instance(instance);
            }
            let (allowed, reason, diagnostics) = decide(call, active.as_deref(), &request);
            if allowed {
                return Ok(());
            }
            denied.get_or_insert((action, reason, diagnostics));
        }
        let (action, reason, diagnostics) = denied.unwrap_or_default();
        let mut event = audit_event(call, action, "denied", 403);
        event.product = product.to_string();
        event.context = context.to_string();
        event.instance = instance.to_string();
        event.detail = json!({"reason": reason});
        self.audit(&event).await;
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "authorization_denied",
            format!("Caller is not authorized for `{action}` on product `{product}` context `{context}`."),
        )
        .with_extra("authz", diagnostics))
    }
}

/// The policy's decision on `request` for the caller: allowed, the reason
/// and the diagnostics a denial shows.
fn decide(
    call: &Call,
    active: Option<&ActivePolicy>,
    request: &AuthzRequest,
) -> (bool, String, Value) {
    let caller = &call.caller;
    if let Some(human) = &caller.human {
        return human_decision(human, active, request);
    }
    match (&caller.github_actions, active) {
        (None, _) if caller.identity.kind == OPERATOR_KIND => {
            let (allowed, reason) = operator_decision(caller, active, request);
            (
                allowed,
                reason,
                json!({"identity": {"type": OPERATOR_KIND, "subject": caller.identity.subject}, "request": request}),
            )
        }
        (Some(claims), Some(active)) => {
            let decision = active.policy.decide(claims, request);
            let diagnostics = authz_diagnostics(
                claims,
                request,
                &active.record.source,
                &active.record.policy_sha256,
            );
            (decision.allowed, decision.reason, diagnostics)
        }
        (Some(claims), None) => (
            false,
            "no authorization policy is configured".to_string(),
            authz_diagnostics(claims, request, "", ""),
        ),
        (None, _) => (
            false,
            format!(
                "callers of kind `{}` have no policy rules",
                caller.identity.kind
            ),
            json!({"identity": {"type": caller.identity.kind}, "request": request}),
        ),
    }
}

/// A signed-in human: the `github_humans` rules decide, for the role the
/// human signed in with (a `read_only` human only reads).
fn human_decision(
    human: &HumanIdentity,
    active: Option<&ActivePolicy>,
    request: &AuthzRequest,
) -> (bool, String, Value) {
    let github_id = human.github_id.to_string();
    let principal = HumanPrincipal {
        login: &human.login,
        github_id: &github_id,
        organizations: &human.organizations,
        teams: &human.teams,
    };
    let (allowed, reason) = match active {
        Some(active) => {
            let decision = active.policy.decide_human(&principal, &human.role, request);
            (decision.allowed, decision.reason)
        }
        None => (false, "no authorization policy is configured".to_string()),
    };
    let diagnostics = json!({
        "identity": {"type": HUMAN_KIND, "login": human.login, "role": human.role},
        "policy_source": active.map(|a| a.record.source.as_str()).unwrap_or_default(),
        "policy_sha256": active.map(|a| a.record.policy_sha256.as_str()).unwrap_or_default(),
        "request": request,
    });
    (allowed, reason, diagnostics)
}

/// Operators may read; anything more needs a `[[local_operators]]` rule
/// whose `token_labels` (and `subjects`, when set) match, and whose
/// products, contexts, instances and actions cover the request.
fn operator_decision(
    caller: &Caller,
    active: Option<&ActivePolicy>,
    request: &AuthzRequest,
) -> (bool, String) {
    let label = caller
        .identity
        .claims
        .iter()
        .find(|(k, _)| k == "token_label")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let any_or =
        |patterns: &[String], value: &str| patterns.is_empty() || glob_match_any(patterns, value);
    let granted = active.is_some_and(|active| {
        active.policy.local_operators.iter().any(|rule| {
            !rule.token_labels.is_empty()
                && glob_match_any(&rule.token_labels, label)
                && any_or(&rule.subjects, &caller.identity.subject)
                && any_or(&rule.products, &request.product)
                && any_or(&rule.contexts, &request.context)
                && (rule.instances.is_empty()
                    || request
                        .instance
                        .as_deref()
                        .is_some_and(|i| rule.instances.iter().any(|r| r == "*" || r == i)))
                && rule.actions.iter().any(|a| a == &request.action)
        })
    });
    if granted {
        return (true, "a local_operators rule grants the action".to_string());
    }
    if request.action.ends_with(".read") {
        return (true, "operators may read".to_string());
    }
    (
        false,
        format!(
            "no local_operators rule grants `{}` to token label `{label}`",
            request.action
        ),
    )
}
