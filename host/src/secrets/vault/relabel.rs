//! [`Vault::relabel`]: a secret's configured binding moved to another
//! key, the old one disabled and kept for history.

use std::collections::BTreeMap;

use super::bindings::Rebinding;
use super::rows::keyed;
use super::{SecretTarget, Vault};
use crate::records::RecordWrite;
use crate::secrets::SecretError;
use crate::secrets::models::{AUDIT_KIND, SecretAuditEvent, binding_id, event_id};

/// What [`Vault::relabel`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relabelled {
    pub secret_id: String,
    /// `relabelled` or `unchanged`.
    pub action: &'static str,
    /// Empty when the secret had no configured binding.
    pub old_binding_key: String,
    pub binding_key: String,
    pub binding_id: String,
}

impl Vault {
    /// Moves a secret's configured binding to `binding_key` (reference
    /// §10.1): the old binding is disabled (kept for history), the new one
    /// configured under its recomputed id, and a `relabelled` event names
    /// both; the key it already has is `unchanged` and writes nothing. The
    /// value is not touched (no master key needed). Every binding row is
    /// replaced only if it is still what was read, so two concurrent
    /// relabels cannot both leave a configured binding.
    pub async fn relabel(
        &self,
        secret_id: &str,
        binding_key: &str,
        actor: &str,
        trace_id: &str,
    ) -> Result<Relabelled, SecretError> {
        let binding_key = binding_key.trim();
        if binding_key.is_empty() {
            return Err(SecretError::Invalid(
                "binding_key: must not be blank".into(),
            ));
        }
        let (record, _) = self.existing(secret_id).await?;
        let target = SecretTarget::of(&record);
        let wanted = binding_id(secret_id, binding_key);
        let now = crate::time::now_rfc3339_micros();
        let Rebinding {
            mut writes,
            previous,
        } = self
            .bind_only(secret_id, &target, binding_key, &now)
            .await?;
        if writes.is_empty() {
            return Ok(Relabelled {
                secret_id: secret_id.to_string(),
                action: "unchanged",
                old_binding_key: binding_key.to_string(),
                binding_key: binding_key.to_string(),
                binding_id: wanted,
            });
        }
        let old_binding_key = previous
            .as_ref()
            .map(|b| b.binding_key.clone())
            .unwrap_or_default();
        let old_binding_id = previous.map(|b| b.binding_id).unwrap_or_default();
        let event = SecretAuditEvent {
            schema_version: 1,
            event_id: event_id(secret_id, "relabelled"),
            secret_id: secret_id.to_string(),
            event_type: "relabelled".into(),
            recorded_at: now,
            actor: actor.to_string(),
            detail: format!("binding relabelled from `{old_binding_key}` to `{binding_key}`"),
            metadata: BTreeMap::from([
                ("old_binding_id".to_string(), old_binding_id),
                ("new_binding_id".to_string(), wanted.clone()),
                ("old_binding_key".to_string(), old_binding_key.clone()),
                ("new_binding_key".to_string(), binding_key.to_string()),
            ]),
        };
        writes.push(RecordWrite::Append {
            record: keyed(AUDIT_KIND, &event.event_id, secret_id, &target, &event)?,
            allow_transition: false,
        });
        self.store.write_records(&writes, trace_id).await?;
        Ok(Relabelled {
            secret_id: secret_id.to_string(),
            action: "relabelled",
            old_binding_key,
            binding_key: binding_key.to_string(),
            binding_id: wanted,
        })
    }
}
