//! The metadata read model: one secret's status and the secret lists,
//! never a value or ciphertext.

use serde_json::{Value, json};

use super::Vault;
use super::rows::{by_product, decode};
use crate::records::RecordQuery;
use crate::secrets::SecretError;
use crate::secrets::models::{
    AUDIT_KIND, SECRET_KIND, SecretAuditEvent, SecretRecord, VERSION_KIND,
};

impl Vault {
    /// The metadata read model of one secret (reference §10.1): never a
    /// value or ciphertext.
    pub async fn status(&self, secret_id: &str) -> Result<Option<Value>, SecretError> {
        match self.record(secret_id).await? {
            Some((record, _)) => Ok(Some(self.read_model(&record).await?)),
            None => Ok(None),
        }
    }

    /// The secrets that apply to (`context`, `instance`), newest first (by
    /// update time, then id). An instance without a context lists nothing.
    pub async fn list(&self, context: &str, instance: &str) -> Result<Vec<Value>, SecretError> {
        if context.is_empty() && !instance.is_empty() {
            return Ok(Vec::new());
        }
        self.list_where(|record| {
            record
                .scope
                .applies(&record.context, &record.instance, context, instance)
        })
        .await
    }

    /// Every secret, or only `integration`'s, newest first: the operator's
    /// inventory (`launchplane secrets list`).
    pub async fn list_all(&self, integration: Option<&str>) -> Result<Vec<Value>, SecretError> {
        self.list_where(|record| integration.is_none_or(|i| record.integration == i))
            .await
    }

    /// The read models of the secrets `keep` accepts, newest first.
    async fn list_where(
        &self,
        keep: impl Fn(&SecretRecord) -> bool,
    ) -> Result<Vec<Value>, SecretError> {
        let query = RecordQuery {
            limit: 1000,
            ..Default::default()
        };
        let mut records = Vec::new();
        for stored in self.store.list_records(SECRET_KIND, &query).await? {
            let record: SecretRecord = decode(&stored, &stored.record_id)?;
            if keep(&record) {
                records.push(record);
            }
        }
        records.sort_by(|a, b| (&b.updated_at, &b.secret_id).cmp(&(&a.updated_at, &a.secret_id)));
        let mut out = Vec::with_capacity(records.len());
        for record in &records {
            out.push(self.read_model(record).await?);
        }
        Ok(out)
    }

    /// One secret's read model: its record, version count, configured
    /// binding and five most recent audit events.
    async fn read_model(&self, record: &SecretRecord) -> Result<Value, SecretError> {
        let id = &record.secret_id;
        let versions = self
            .store
            .list_records(VERSION_KIND, &by_product(id))
            .await?;
        let current_version_created_at = versions
            .iter()
            .find(|v| v.record_id == record.current_version_id)
            .and_then(|v| v.document.get("created_at").cloned())
            .unwrap_or(Value::String(String::new()));
        let binding = self.configured_binding(id).await?.map(|b| {
            json!({
                "binding_id": b.binding_id,
                "binding_type": b.binding_type,
                "binding_key": b.binding_key,
                "status": b.status,
                "context": b.context,
                "instance": b.instance,
                "updated_at": b.updated_at,
            })
        });
        let mut events = Vec::new();
        for stored in self
            .store
            .list_records(AUDIT_KIND, &by_product(id))
            .await?
            .into_iter()
            .take(5)
        {
            let event: SecretAuditEvent = decode(&stored, id)?;
            events.push(json!({
                "event_id": event.event_id,
                "event_type": event.event_type,
                "recorded_at": event.recorded_at,
                "actor": event.actor,
                "detail": event.detail,
                "metadata": event.metadata,
            }));
        }
        Ok(json!({
            "secret_id": id,
            "scope": record.scope,
            "integration": record.integration,
            "name": record.name,
            "context": record.context,
            "instance": record.instance,
            "policy": record.policy,
            "status": record.status,
            "description": record.description,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "updated_by": record.updated_by,
            "last_validated_at": record.last_validated_at,
            "current_version_id": record.current_version_id,
            "version_count": versions.len(),
            "current_version_created_at": current_version_created_at,
            "binding": binding,
            "recent_audit_events": events,
        }))
    }
}
