//! Writing a value: [`Vault::prepare`] plans the record writes (a new
//! version, the secret record, its binding, an audit event) and
//! [`Vault::write`] commits them alone.

use std::collections::BTreeMap;

use super::rows::keyed;
use super::{SecretTarget, Vault};
use crate::records::RecordWrite;
use crate::secrets::SecretError;
use crate::secrets::cipher::{CIPHER_ALG, KEY_ID, MasterKey};
use crate::secrets::models::{
    AUDIT_KIND, SECRET_KIND, SecretAuditEvent, SecretRecord, SecretStatus, SecretVersion,
    VERSION_KIND, event_id, version_id,
};

/// What writing a value does (or would do) to a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretAction {
    /// No record yet.
    Created,
    /// The current version holds a different value.
    Rotated,
    /// The current version already holds this value.
    Unchanged,
}

impl SecretAction {
    /// The action's name, as audit events spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            SecretAction::Created => "created",
            SecretAction::Rotated => "rotated",
            SecretAction::Unchanged => "unchanged",
        }
    }
}

/// A planned secret write: what it does, and the record writes that do it
/// (empty for an unchanged value with an unchanged binding). The caller
/// commits them, with any others of the same request, in one batch.
#[derive(Debug, Clone)]
pub struct PreparedWrite {
    pub secret_id: String,
    pub action: SecretAction,
    /// The version that will be current (new for created/rotated).
    pub version_id: String,
    pub writes: Vec<RecordWrite>,
}

/// Who writes and why, stamped on records and audit events.
#[derive(Debug, Clone)]
pub struct WriteContext<'a> {
    pub actor: &'a str,
    /// Recorded in the audit event's metadata (`product-config-api`, ...).
    pub source: &'a str,
    pub description: &'a str,
    pub binding_key: &'a str,
}

impl Vault {
    /// Plans writing `value` to `target`: compares it with the current
    /// version (decrypting it) and prepares the record writes. Nothing is
    /// written. The secret record is replaced only if it is still the one
    /// read here, so a concurrent rotation makes the commit a conflict
    /// rather than a lost version.
    pub async fn prepare(
        &self,
        target: &SecretTarget,
        value: &str,
        write: &WriteContext<'_>,
    ) -> Result<PreparedWrite, SecretError> {
        check_write(target, value, write)?;
        let key = self.key()?;
        let id = target.secret_id();
        let now = crate::time::now_rfc3339_micros();
        let existing = self.record(&id).await?;
        let reenabled = existing
            .as_ref()
            .is_some_and(|(record, _)| record.status == SecretStatus::Disabled);
        let action = match &existing {
            None => SecretAction::Created,
            // A disabled secret's value was withdrawn: writing one, even
            // the same, is a new version and configures the secret again.
            Some(_) if reenabled => SecretAction::Rotated,
            Some((record, _)) if *self.current_value(record).await? == *value => {
                SecretAction::Unchanged
            }
            Some(_) => SecretAction::Rotated,
        };

        let mut writes = self
            .bind_only(&id, target, write.binding_key, &now)
            .await?
            .writes;

        if action == SecretAction::Unchanged {
            if let Some((record, _)) = &existing {
                writes.extend(self.tag_legacy_version(record, key).await?);
            }
            let version_id = existing
                .as_ref()
                .map(|(r, _)| r.current_version_id.clone())
                .unwrap_or_default();
            return Ok(PreparedWrite {
                secret_id: id,
                action,
                version_id,
                writes,
            });
        }

        let version = new_version(&id, key, value, write, &now);
        let (previous, expected) = match existing {
            Some((record, document)) => (Some(record), Some(document)),
            None => (None, None),
        };
        let record = next_record(
            target,
            &id,
            write,
            previous.as_ref(),
            &version.version_id,
            &now,
        );
        let event = write_event(&id, action, reenabled, write, now);
        let mut secret_row = keyed(SECRET_KIND, &id, &target.integration, target, &record)?;
        if let Some(previous) = &previous {
            secret_row.recorded_at = previous.created_at.clone();
        }
        writes.push(RecordWrite::Append {
            record: keyed(VERSION_KIND, &version.version_id, &id, target, &version)?,
            allow_transition: false,
        });
        writes.push(RecordWrite::ReplaceIf {
            record: secret_row,
            expected,
        });
        writes.push(RecordWrite::Append {
            record: keyed(AUDIT_KIND, &event.event_id, &id, target, &event)?,
            allow_transition: false,
        });
        Ok(PreparedWrite {
            secret_id: id,
            action,
            version_id: version.version_id,
            writes,
        })
    }

    /// [`Vault::prepare`] and commit, alone in one transaction: for writers
    /// that have no other records to commit with it (the command line). A
    /// concurrent write to the same secret makes this a
    /// [`crate::records::StoreError::Conflict`], never a lost version.
    pub async fn write(
        &self,
        target: &SecretTarget,
        value: &str,
        write: &WriteContext<'_>,
        trace_id: &str,
    ) -> Result<PreparedWrite, SecretError> {
        let prepared = self.prepare(target, value, write).await?;
        if !prepared.writes.is_empty() {
            self.store.write_records(&prepared.writes, trace_id).await?;
        }
        Ok(prepared)
    }
}

impl Vault {
    /// For a current version written before binding tags (a legacy row,
    /// just checked to hold the value being written), the write that adds
    /// its tag; nothing for a tagged row. Guarded by the row as read.
    async fn tag_legacy_version(
        &self,
        record: &SecretRecord,
        key: &MasterKey,
    ) -> Result<Option<RecordWrite>, SecretError> {
        let (mut version, stored) = self.current_version(record).await?;
        if !version.binding_tag.is_empty() {
            return Ok(None);
        }
        version.binding_tag = key.binding_tag(
            &record.secret_id,
            &record.current_version_id,
            &version.ciphertext,
        );
        let mut row = stored.clone();
        row.document = serde_json::to_value(&version).map_err(|e| SecretError::Corrupt {
            secret_id: record.secret_id.clone(),
            reason: e.to_string(),
        })?;
        row.updated_at = crate::time::now_rfc3339();
        Ok(Some(RecordWrite::ReplaceIf {
            record: row,
            expected: Some(stored.document),
        }))
    }
}

/// A write needs a valid target, a value and a binding key.
fn check_write(
    target: &SecretTarget,
    value: &str,
    write: &WriteContext<'_>,
) -> Result<(), SecretError> {
    target.check().map_err(SecretError::Invalid)?;
    if value.is_empty() {
        return Err(SecretError::Invalid("value: must not be empty".into()));
    }
    if write.binding_key.trim().is_empty() {
        return Err(SecretError::Invalid(
            "binding_key: must not be blank".into(),
        ));
    }
    Ok(())
}

/// A new version of secret `id` holding `value`, encrypted under `key`.
fn new_version(
    id: &str,
    key: &MasterKey,
    value: &str,
    write: &WriteContext<'_>,
    now: &str,
) -> SecretVersion {
    let version_id = version_id(id);
    let ciphertext = key.encrypt(value.as_bytes());
    SecretVersion {
        schema_version: 1,
        binding_tag: key.binding_tag(id, &version_id, &ciphertext),
        version_id,
        secret_id: id.to_string(),
        created_at: now.to_string(),
        created_by: write.actor.to_string(),
        cipher_alg: CIPHER_ALG.into(),
        key_id: KEY_ID.into(),
        ciphertext,
    }
}

/// The secret record once `version_id` is current: the target's fields,
/// configured, keeping the previous record's description (unless a new
/// one is given), creation and validation times.
fn next_record(
    target: &SecretTarget,
    id: &str,
    write: &WriteContext<'_>,
    previous: Option<&SecretRecord>,
    version_id: &str,
    now: &str,
) -> SecretRecord {
    SecretRecord {
        schema_version: 1,
        secret_id: id.to_string(),
        scope: target.scope,
        integration: target.integration.clone(),
        name: target.name.clone(),
        context: target.context.clone(),
        instance: target.instance.clone(),
        description: if write.description.is_empty() {
            previous.map(|p| p.description.clone()).unwrap_or_default()
        } else {
            write.description.to_string()
        },
        policy: "write_only".into(),
        status: SecretStatus::Configured,
        current_version_id: version_id.to_string(),
        created_at: previous
            .map(|p| p.created_at.clone())
            .unwrap_or_else(|| now.to_string()),
        updated_at: now.to_string(),
        last_validated_at: previous
            .map(|p| p.last_validated_at.clone())
            .unwrap_or_default(),
        updated_by: write.actor.to_string(),
    }
}

/// The audit event of a created or rotated value.
fn write_event(
    id: &str,
    action: SecretAction,
    reenabled: bool,
    write: &WriteContext<'_>,
    now: String,
) -> SecretAuditEvent {
    let event_type = action.as_str();
    SecretAuditEvent {
        schema_version: 1,
        event_id: event_id(id, event_type),
        secret_id: id.to_string(),
        event_type: event_type.into(),
        recorded_at: now,
        actor: write.actor.to_string(),
        detail: if reenabled {
            format!("secret value {event_type}; the disabled secret is configured again")
        } else {
            format!("secret value {event_type}")
        },
        metadata: BTreeMap::from([
            ("source".to_string(), write.source.to_string()),
            ("binding_key".to_string(), write.binding_key.to_string()),
        ]),
    }
}
