//! [`Vault::disable`]: a secret withdrawn, with its configured bindings,
//! so nothing resolves it any more; versions are kept for history.

use std::collections::BTreeMap;

use super::bindings::disable_binding;
use super::rows::{by_product, decode, keyed};
use super::{SecretTarget, Vault};
use crate::records::RecordWrite;
use crate::secrets::SecretError;
use crate::secrets::models::{
    AUDIT_KIND, BINDING_KIND, SECRET_KIND, SecretAuditEvent, SecretBinding, SecretRecord,
    SecretStatus, event_id,
};

/// What [`Vault::disable`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    pub secret_id: String,
    /// `disabled` or `unchanged` (it already was, with no configured
    /// binding).
    pub action: &'static str,
    /// The bindings this call disabled.
    pub binding_ids: Vec<String>,
}

impl Vault {
    /// Withdraws a secret (a leaked value, a retired integration): the
    /// record and its configured bindings become `disabled`, so no lane,
    /// driver or provider call resolves it any more, and a `disabled`
    /// event records who and why. Versions are kept for history; nothing
    /// is decrypted (no master key needed). Writing a value again
    /// ([`Vault::write`]) configures it again, always as a new version.
    /// Already disabled, with no configured binding: `unchanged`, no
    /// writes. Every row is replaced only if unchanged since read, so a
    /// concurrent write makes this a conflict, never half a disable.
    pub async fn disable(
        &self,
        secret_id: &str,
        reason: &str,
        actor: &str,
        trace_id: &str,
    ) -> Result<Disabled, SecretError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(SecretError::Invalid(
                "reason: must not be blank: say why the secret is withdrawn".into(),
            ));
        }
        let (record, document) = self.existing(secret_id).await?;
        let target = SecretTarget::of(&record);
        let now = crate::time::now_rfc3339_micros();
        let mut writes = Vec::new();
        let mut binding_ids = Vec::new();
        let mut binding_keys = Vec::new();
        for stored in self
            .store
            .list_records(BINDING_KIND, &by_product(secret_id))
            .await?
        {
            let binding: SecretBinding = decode(&stored, secret_id)?;
            if binding.status != SecretStatus::Configured {
                continue;
            }
            binding_ids.push(binding.binding_id.clone());
            binding_keys.push(binding.binding_key.clone());
            writes.push(disable_binding(binding, stored.document, &target, &now)?);
        }
        if record.status == SecretStatus::Disabled && writes.is_empty() {
            return Ok(Disabled {
                secret_id: secret_id.to_string(),
                action: "unchanged",
                binding_ids,
            });
        }
        let created_at = record.created_at.clone();
        let disabled = SecretRecord {
            status: SecretStatus::Disabled,
            updated_at: now.clone(),
            updated_by: actor.to_string(),
            ..record
        };
        let mut secret_row = keyed(
            SECRET_KIND,
            secret_id,
            &target.integration,
            &target,
            &disabled,
        )?;
        secret_row.recorded_at = created_at;
        writes.push(RecordWrite::ReplaceIf {
            record: secret_row,
            expected: Some(document),
        });
        let event = disabled_event(secret_id, reason, actor, &binding_keys, now);
        writes.push(RecordWrite::Append {
            record: keyed(AUDIT_KIND, &event.event_id, secret_id, &target, &event)?,
            allow_transition: false,
        });
        self.store.write_records(&writes, trace_id).await?;
        Ok(Disabled {
            secret_id: secret_id.to_string(),
            action: "disabled",
            binding_ids,
        })
    }
}

/// The audit event of a disable: who, why, and the binding keys it
/// disabled.
fn disabled_event(
    secret_id: &str,
    reason: &str,
    actor: &str,
    binding_keys: &[String],
    now: String,
) -> SecretAuditEvent {
    SecretAuditEvent {
        schema_version: 1,
        event_id: event_id(secret_id, "disabled"),
        secret_id: secret_id.to_string(),
        event_type: "disabled".into(),
        recorded_at: now,
        actor: actor.to_string(),
        detail: format!("secret disabled: {reason}"),
        metadata: BTreeMap::from([
            ("reason".to_string(), reason.to_string()),
            ("binding_keys".to_string(), binding_keys.join(",")),
        ]),
    }
}
