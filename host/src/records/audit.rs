//! Audit events: every accepted mutation and every denial, with the
//! caller's claims (never the credential) and the ids of records written.
//!
//! Denials are coalesced: one row per caller identity (kind and subject)
//! and UTC minute, whose `occurrences` counts the denials it stands for
//! (the first denial's details are kept). A retention sweep
//! ([`Store::purge_denial_audit_events`]) deletes old denial rows; other
//! outcomes are kept.
//!
//! Every plain text column is written with forbidden characters escaped
//! ([`super::hygiene::escape_forbidden`]): an audit row of a hostile
//! request is kept, never refused by the database (PostgreSQL refuses NUL
//! in text).

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::hygiene::escape_forbidden;
use super::tx::on_tx;
use super::{Store, StoreError, Tx, on_pool, unix_millis};

/// The outcome whose rows are coalesced and swept.
pub const DENIED: &str = "denied";

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub event_id: String,
    pub recorded_at: String,
    pub trace_id: String,
    pub caller_kind: String,
    pub caller_subject: String,
    /// Non-secret claims.
    pub caller_claims: Value,
    pub method: String,
    pub route: String,
    pub action: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    /// `accepted`, `denied`, `rejected`, `failed`.
    pub outcome: String,
    pub status_code: u16,
    pub record_ids: Vec<String>,
    pub detail: Value,
    /// How many events this row stands for (denials coalesce; otherwise 1).
    pub occurrences: u64,
}

impl AuditEvent {
    /// A fresh event with a unique id, stamped now.
    pub fn new(
        trace_id: &str,
        method: &str,
        route: &str,
        action: &str,
        outcome: &str,
        status_code: u16,
    ) -> AuditEvent {
        AuditEvent {
            event_id: format!("audit-{}", uuid::Uuid::new_v4().simple()),
            recorded_at: crate::time::now_rfc3339(),
            trace_id: trace_id.to_string(),
            caller_kind: String::new(),
            caller_subject: String::new(),
            caller_claims: Value::Object(Default::default()),
            method: method.to_string(),
            route: route.to_string(),
            action: action.to_string(),
            product: String::new(),
            context: String::new(),
            instance: String::new(),
            outcome: outcome.to_string(),
            status_code,
            record_ids: Vec::new(),
            detail: Value::Object(Default::default()),
            occurrences: 1,
        }
    }
}

/// An event's column values, escaped ([`escape_forbidden`]).
struct AuditRow {
    text: [String; 12],
    claims: String,
    status_code: i64,
    record_ids: String,
    detail: String,
    now: i64,
    coalesce_key: Option<String>,
}

impl AuditRow {
    fn of(event: &AuditEvent) -> AuditRow {
        let record_ids = serde_json::to_string(&event.record_ids).unwrap_or_else(|_| "[]".into());
        let now = unix_millis();
        let text = |value: &str| escape_forbidden(value);
        let coalesce_key = (event.outcome == DENIED).then(|| {
            format!(
                "{DENIED}|{}|{}|{}",
                text(&event.caller_kind),
                text(&event.caller_subject),
                now.div_euclid(60_000)
            )
        });
        AuditRow {
            text: [
                text(&event.event_id),
                text(&event.recorded_at),
                text(&event.trace_id),
                text(&event.caller_kind),
                text(&event.caller_subject),
                text(&event.method),
                text(&event.route),
                text(&event.action),
                text(&event.product),
                text(&event.context),
                text(&event.instance),
                text(&event.outcome),
            ],
            claims: event.caller_claims.to_string(),
            status_code: i64::from(event.status_code),
            record_ids,
            detail: event.detail.to_string(),
            now,
            coalesce_key,
        }
    }
}

const APPEND: &str = "INSERT INTO lp_audit_events (event_id, recorded_at, trace_id, caller_kind, caller_subject, \
     caller_claims, method, route, action, product, context, instance, outcome, status_code, record_ids, detail, \
     occurrences, recorded_ms, coalesce_key) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $18) \
     ON CONFLICT (coalesce_key) DO UPDATE SET occurrences = lp_audit_events.occurrences + 1";

/// Binds [`APPEND`]'s parameters from an [`AuditRow`].
macro_rules! bind_audit {
    ($query:expr, $row:expr) => {{
        let [
            event_id,
            recorded_at,
            trace_id,
            caller_kind,
            caller_subject,
            method,
            route,
            action,
            product,
            context,
            instance,
            outcome,
        ] = &$row.text;
        $query
            .bind(event_id)
            .bind(recorded_at)
            .bind(trace_id)
            .bind(caller_kind)
            .bind(caller_subject)
            .bind(&$row.claims)
            .bind(method)
            .bind(route)
            .bind(action)
            .bind(product)
            .bind(context)
            .bind(instance)
            .bind(outcome)
            .bind($row.status_code)
            .bind(&$row.record_ids)
            .bind(&$row.detail)
            .bind($row.now)
            .bind($row.coalesce_key.as_deref())
    }};
}

impl Tx {
    /// [`Store::append_audit_event`] in this transaction: the event
    /// commits with the mutation it describes, or neither does.
    pub async fn append_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        let row = AuditRow::of(event);
        on_tx!(self, conn => {
            bind_audit!(sqlx::query(APPEND), row).execute(&mut *conn).await?.rows_affected()
        });
        Ok(())
    }
}

impl Store {
    /// Appends `event`; a denial within the same minute as an earlier one
    /// of the same caller identity increments that row's `occurrences`
    /// instead. Text is escaped, never refused.
    pub async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let row = AuditRow::of(event);
        on_pool!(self, pool => {
            bind_audit!(sqlx::query(APPEND), row).execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// Deletes denial rows recorded before `before_ms` (unix milliseconds);
    /// returns how many rows went.
    pub async fn purge_denial_audit_events(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM lp_audit_events WHERE outcome = $1 AND recorded_ms > 0 AND recorded_ms < $2")
                .bind(DENIED)
                .bind(before_ms)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Recent audit events, newest first, optionally for one trace.
    pub async fn list_audit_events(
        &self,
        trace_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT event_id, recorded_at, trace_id, caller_kind, caller_subject, caller_claims, method, route, action, \
                 product, context, instance, outcome, status_code, record_ids, detail, occurrences FROM lp_audit_events \
                 WHERE ($1 IS NULL OR trace_id = $1) ORDER BY seq DESC LIMIT $2",
            )
            .bind(trace_id)
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| {
                let parse = |what: &str, text: String| {
                    serde_json::from_str::<Value>(&text).map_err(|e| StoreError::Corrupt { what: what.into(), reason: e.to_string() })
                };
                Ok(AuditEvent {
                    event_id: row.try_get(0)?,
                    recorded_at: row.try_get(1)?,
                    trace_id: row.try_get(2)?,
                    caller_kind: row.try_get(3)?,
                    caller_subject: row.try_get(4)?,
                    caller_claims: parse("audit claims", row.try_get(5)?)?,
                    method: row.try_get(6)?,
                    route: row.try_get(7)?,
                    action: row.try_get(8)?,
                    product: row.try_get(9)?,
                    context: row.try_get(10)?,
                    instance: row.try_get(11)?,
                    outcome: row.try_get(12)?,
                    status_code: u16::try_from(row.try_get::<i64, _>(13)?).unwrap_or(0),
                    record_ids: serde_json::from_str(&row.try_get::<String, _>(14)?).unwrap_or_default(),
                    detail: parse("audit detail", row.try_get(15)?)?,
                    occurrences: u64::try_from(row.try_get::<i64, _>(16)?).unwrap_or(1),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
        })
    }
}
