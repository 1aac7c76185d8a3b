//! A product's recent activity (the original's activity read model):
//! deployments, promotions and rollbacks, backup gates, previews and their
//! lifecycle records, and the active authorization policy when it names
//! the product, as events with links to their records, never the records'
//! payloads. Lanes are read in their current context and every historical
//! context, so history stays visible after a cutover; the limit applies
//! after merging.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::records::models::product_profile::ProductProfile;
use crate::records::{RecordQuery, Store};

/// Events listed by default.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most events one read lists.
pub const MAX_LIMIT: u32 = 500;

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn first_non_empty<'a>(values: &[&'a str]) -> &'a str {
    values.iter().find(|v| !v.is_empty()).copied().unwrap_or("")
}

/// One event of the read model.
struct Event<'a> {
    event_type: &'a str,
    context: &'a str,
    environment: &'a str,
    action_id: &'a str,
    status: String,
    occurred_at: String,
    title: String,
    summary: String,
    records: Vec<(&'a str, String)>,
}

impl Event<'_> {
    fn render(self, profile: &ProductProfile, driver_id: &str) -> Value {
        let key = self.records.first().map_or_else(
            || format!("{}:{}:{}", self.context, self.environment, self.occurred_at),
            |(_, id)| id.clone(),
        );
        json!({
            "event_id": format!("{}:{key}", self.event_type),
            "event_type": self.event_type,
            "product": profile.product,
            "context": self.context,
            "environment": self.environment,
            "driver_id": driver_id,
            "action_id": self.action_id,
            "status": self.status,
            "occurred_at": self.occurred_at,
            "title": self.title,
            "summary": self.summary,
            "records": self.records.iter().map(|(t, id)| json!({"record_type": t, "record_id": id})).collect::<Vec<_>>(),
            "trust_state": "recorded",
        })
    }
}

/// The documents of `kind` in `context` (and `instance`), newest first,
/// at most `limit`.
pub async fn documents(
    store: &Store,
    kind: &str,
    context: &str,
    instance: Option<&str>,
    limit: u32,
) -> Result<Vec<Value>, ApiError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let query = RecordQuery {
        context: Some(context.to_string()),
        instance: instance.map(str::to_string),
        limit,
        ..Default::default()
    };
    Ok(store
        .list_records(kind, &query)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|r| r.document)
        .collect())
}

/// The (context, instance) pairs to read: each lane in its context and in
/// every historical context, once.
fn activity_lanes(profile: &ProductProfile) -> Vec<(String, String)> {
    let mut lanes: Vec<(String, String)> = Vec::new();
    for lane in &profile.lanes {
        for context in std::iter::once(&lane.context).chain(&profile.historical_contexts) {
            let pair = (context.trim().to_string(), lane.instance.clone());
            if !pair.0.is_empty() && !lanes.contains(&pair) {
                lanes.push(pair);
            }
        }
    }
    lanes
}

fn preview_contexts(profile: &ProductProfile) -> Vec<String> {
    let mut contexts: Vec<String> = Vec::new();
    for context in std::iter::once(&profile.preview.context).chain(&profile.historical_contexts) {
        let context = context.trim().to_string();
        if !context.is_empty() && !contexts.contains(&context) {
            contexts.push(context);
        }
    }
    contexts
}

/// The repository name previews of this product are anchored on.
pub fn anchor_repo(profile: &ProductProfile) -> &str {
    let repository = profile.repository.trim();
    match repository.split_once('/') {
        Some((_, repo)) if !repo.trim().is_empty() && !repo.contains('/') => repo.trim(),
        _ => repository,
    }
}

/// The activity read model of `profile`, newest first, at most `limit`.
pub async fn activity(
    store: &Store,
    profile: &ProductProfile,
    limit: u32,
) -> Result<Value, ApiError> {
    let name = &profile.display_name;
    let mut events: Vec<Value> = Vec::new();
    let driver = profile.driver_id.as_str();
    for (context, instance) in activity_lanes(profile) {
        let (context, instance) = (context.as_str(), instance.as_str());
        for record in documents(store, "deployment", context, Some(instance), limit).await? {
            let status = text(&record, "/deploy/status").to_string();
            events.push(
                Event {
                    event_type: "deployment",
                    context,
                    environment: instance,
                    action_id: "stable_deploy",
                    occurred_at: first_non_empty(&[
                        text(&record, "/deploy/finished_at"),
                        text(&record, "/deploy/started_at"),
                    ])
                    .to_string(),
                    title: format!("{name} {instance} deployment"),
                    summary: format!("Deployment {status} for {context}/{instance}."),
                    status,
                    records: vec![("deployment", text(&record, "/record_id").to_string())],
                }
                .render(profile, driver),
            );
        }
        for record in documents(store, "promotion", context, Some(instance), limit).await? {
            events.push(promotion_event(&record, context, instance, name).render(profile, driver));
        }
        for record in documents(store, "backup_gate", context, Some(instance), limit).await? {
            let status = text(&record, "/status").to_string();
            events.push(
                Event {
                    event_type: "backup_gate",
                    context,
                    environment: instance,
                    action_id: "prod_backup_gate",
                    occurred_at: text(&record, "/created_at").to_string(),
                    title: format!("{name} {instance} backup gate"),
                    summary: format!("Backup gate {status} for {context}/{instance}."),
                    status,
                    records: vec![("backup_gate", text(&record, "/record_id").to_string())],
                }
                .render(profile, driver),
            );
        }
    }
    for context in preview_contexts(profile) {
        preview_events(store, profile, &context, limit, &mut events).await?;
    }
    if let Some(event) = policy_event(store, profile).await? {
        events.push(event);
    }
    events.sort_by(|a, b| {
        (text(b, "/occurred_at"), text(b, "/event_id"))
            .cmp(&(text(a, "/occurred_at"), text(a, "/event_id")))
    });
    events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(json!({
        "schema_version": 1,
        "product": profile.product,
        "display_name": profile.display_name,
        "repository": profile.repository,
        "driver_id": profile.driver_id,
        "events": events,
    }))
}

fn promotion_event<'a>(
    record: &Value,
    context: &'a str,
    instance: &'a str,
    name: &str,
) -> Event<'a> {
    let rolled_back = record
        .pointer("/rollback/attempted")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let part = if rolled_back { "rollback" } else { "deploy" };
    let status = text(record, &format!("/{part}/status")).to_string();
    let action_id = if rolled_back {
        "prod_rollback"
    } else {
        "prod_promotion"
    };
    let mut records = vec![("promotion", text(record, "/record_id").to_string())];
    for (kind, field) in [
        ("deployment", "/deployment_record_id"),
        ("backup_gate", "/backup_record_id"),
    ] {
        let id = text(record, field);
        if !id.is_empty() {
            records.push((kind, id.to_string()));
        }
    }
    Event {
        event_type: if rolled_back { "rollback" } else { "promotion" },
        context,
        environment: instance,
        action_id,
        occurred_at: first_non_empty(&[
            text(record, &format!("/{part}/finished_at")),
            text(record, &format!("/{part}/started_at")),
        ])
        .to_string(),
        title: format!("{name} {instance} {}", action_id.replace('_', " ")),
        summary: format!(
            "{} to {} {status}.",
            text(record, "/from_instance"),
            text(record, "/to_instance")
        ),
        status,
        records,
    }
}

/// Previews of the product's repository in `context`, and the desired
/// state, cleanup and PR feedback records of the product there.
async fn preview_events(
    store: &Store,
    profile: &ProductProfile,
    context: &str,
    limit: u32,
    events: &mut Vec<Value>,
) -> Result<(), ApiError> {
    let name = &profile.display_name;
    let driver = profile.driver_id.as_str();
    let repo = anchor_repo(profile);
    for record in documents(store, "preview", context, None, limit).await? {
        if text(&record, "/anchor_repo") != repo {
            continue;
        }
        let state = text(&record, "/state").to_string();
        events.push(
            Event {
                event_type: "preview",
                context,
                environment: "preview",
                action_id: if state == "destroyed" {
                    "preview_destroy"
                } else {
                    "preview_refresh"
                },
                occurred_at: text(&record, "/updated_at").to_string(),
                title: format!("{name} preview {state}"),
                summary: text(&record, "/preview_label").to_string(),
                status: state,
                records: vec![("preview", text(&record, "/preview_id").to_string())],
            }
            .render(profile, driver),
        );
    }
    let lifecycle = [
        (
            "preview_desired_state",
            "preview_desired_state",
            "/desired_state_id",
            "/discovered_at",
            "desired previews discovered",
        ),
        (
            "preview_lifecycle_cleanup",
            "preview_cleanup",
            "/cleanup_id",
            "/requested_at",
            "preview cleanup",
        ),
        (
            "preview_pr_feedback",
            "preview_pr_feedback",
            "/feedback_id",
            "/requested_at",
            "preview PR feedback",
        ),
    ];
    for (kind, event_type, id_field, at_field, what) in lifecycle {
        for record in documents(store, kind, context, None, limit).await? {
            if text(&record, "/product") != profile.product {
                continue;
            }
            let summary = if kind == "preview_desired_state" {
                let count = record
                    .get("desired_count")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                format!("{count} desired preview(s).")
            } else {
                String::new()
            };
            events.push(
                Event {
                    event_type,
                    context,
                    environment: "preview",
                    action_id: match kind {
                        "preview_lifecycle_cleanup" => "preview_destroy",
                        other => other,
                    },
                    status: text(&record, "/status").to_string(),
                    occurred_at: text(&record, at_field).to_string(),
                    title: format!("{name} {what}"),
                    summary,
                    records: vec![(kind, text(&record, id_field).to_string())],
                }
                .render(profile, driver),
            );
        }
    }
    Ok(())
}

/// The active policy record, when one of its rules names the product.
async fn policy_event(store: &Store, profile: &ProductProfile) -> Result<Option<Value>, ApiError> {
    let Some(record) = store.active_policy().await.map_err(ApiError::internal)? else {
        return Ok(None);
    };
    let names_product = ["github_actions", "github_humans"].iter().any(|kind| {
        record.policy[*kind].as_array().is_some_and(|rules| {
            rules.iter().any(|rule| {
                rule["products"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|v| v.as_str() == Some(&profile.product)))
            })
        })
    });
    if !names_product {
        return Ok(None);
    }
    let event = Event {
        event_type: "authz_policy",
        context: "launchplane",
        environment: "",
        action_id: "authz_policy.update",
        status: record.status.clone(),
        occurred_at: record.updated_at.clone(),
        title: format!("{} authorization policy updated", profile.display_name),
        summary: record.source.clone(),
        records: vec![("authz_policy", record.record_id.clone())],
    };
    Ok(Some(event.render(profile, "launchplane")))
}
