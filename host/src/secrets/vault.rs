//! Secret records over the record store: planning and writing values,
//! resolving them for a target, and the metadata read model.
//!
//! Key columns: a `secret` row's product column holds its integration (so
//! one integration's secrets are one indexed query); its versions,
//! bindings and audit events hold their secret id there (so one secret's
//! history is one indexed query). Secrets have no product of their own.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::SecretError;
use super::cipher::{CIPHER_ALG, KEY_ID, MasterKey};
use super::models::{
    AUDIT_KIND, BINDING_KIND, SECRET_KIND, SecretAuditEvent, SecretBinding, SecretRecord,
    SecretScope, SecretStatus, SecretVersion, VERSION_KIND, binding_id, event_id, secret_id,
    version_id,
};
use crate::records::{RecordQuery, RecordWrite, Store, StoredRecord};

/// Which secret: the lookup key of a secret record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretTarget {
    pub scope: SecretScope,
    pub integration: String,
    pub name: String,
    pub context: String,
    pub instance: String,
}

impl SecretTarget {
    /// The record id this target is stored under.
    /// The target a stored secret was written to.
    fn of(record: &SecretRecord) -> SecretTarget {
        SecretTarget {
            scope: record.scope,
            integration: record.integration.clone(),
            name: record.name.clone(),
            context: record.context.clone(),
            instance: record.instance.clone(),
        }
    }

    pub fn secret_id(&self) -> String {
        secret_id(&self.integration, &self.name, &self.context, &self.instance)
    }

    /// The reference's scope rules: a context for `context` and
    /// `context_instance`, an instance only for `context_instance`.
    pub fn check(&self) -> Result<(), String> {
        if self.integration.trim().is_empty() {
            return Err("integration: must not be blank".into());
        }
        if self.name.trim().is_empty() {
            return Err("name: must not be blank".into());
        }
        match self.scope {
            SecretScope::Global if !self.context.is_empty() || !self.instance.is_empty() => {
                Err("scope: a global secret has no context or instance".into())
            }
            SecretScope::Context | SecretScope::ContextInstance if self.context.is_empty() => Err(
                format!("context: required for scope `{}`", self.scope.as_str()),
            ),
            SecretScope::ContextInstance if self.instance.is_empty() => {
                Err("instance: required for scope `context_instance`".into())
            }
            SecretScope::Context if !self.instance.is_empty() => {
                Err("instance: only a `context_instance` secret has one".into())
            }
            _ => Ok(()),
        }
    }
}

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

/// What [`Vault::bind_only`] would write, and the binding that was
/// configured before.
struct Rebinding {
    writes: Vec<RecordWrite>,
    previous: Option<SecretBinding>,
}

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

/// Who writes and why, stamped on records and audit events.
#[derive(Debug, Clone)]
pub struct WriteContext<'a> {
    pub actor: &'a str,
    /// Recorded in the audit event's metadata (`product-config-api`, ...).
    pub source: &'a str,
    pub description: &'a str,
    pub binding_key: &'a str,
}

/// Secret storage over a [`Store`], with the master key if one is set.
#[derive(Debug, Clone)]
pub struct Vault {
    store: Store,
    key: Option<Arc<MasterKey>>,
}

impl Vault {
    pub fn new(store: Store, key: Option<Arc<MasterKey>>) -> Vault {
        Vault { store, key }
    }

    /// Whether secret values can be read or written here.
    pub fn is_configured(&self) -> bool {
        self.key.is_some()
    }

    fn key(&self) -> Result<&MasterKey, SecretError> {
        self.key.as_deref().ok_or(SecretError::NotConfigured)
    }

    /// A keyed digest of a value, for idempotency fingerprints.
    pub fn digest(&self, value: &str) -> Result<String, SecretError> {
        Ok(self.key()?.digest(value))
    }

    async fn record(&self, secret_id: &str) -> Result<Option<(SecretRecord, Value)>, SecretError> {
        let Some(stored) = self.store.get_record(SECRET_KIND, secret_id).await? else {
            return Ok(None);
        };
        let record = decode(&stored, secret_id)?;
        Ok(Some((record, stored.document)))
    }

    /// The stored secret, or [`SecretError::NotFound`] naming it.
    async fn existing(&self, secret_id: &str) -> Result<(SecretRecord, Value), SecretError> {
        self.record(secret_id)
            .await?
            .ok_or_else(|| SecretError::NotFound {
                secret_id: secret_id.to_string(),
            })
    }

    async fn current_value(&self, record: &SecretRecord) -> Result<Zeroizing<String>, SecretError> {
        let stored = self
            .store
            .get_record(VERSION_KIND, &record.current_version_id)
            .await?
            .ok_or_else(|| SecretError::Corrupt {
                secret_id: record.secret_id.clone(),
                reason: format!("current version `{}` is missing", record.current_version_id),
            })?;
        let version: SecretVersion = decode(&stored, &record.secret_id)?;
        let plaintext =
            self.key()?
                .decrypt(&version.ciphertext)
                .map_err(|_| SecretError::Undecryptable {
                    secret_id: record.secret_id.clone(),
                })?;
        let text = String::from_utf8(plaintext.to_vec()).map_err(|_| SecretError::Corrupt {
            secret_id: record.secret_id.clone(),
            reason: "the stored value is not UTF-8".into(),
        })?;
        Ok(Zeroizing::new(text))
    }

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
        target.check().map_err(SecretError::Invalid)?;
        if value.is_empty() {
            return Err(SecretError::Invalid("value: must not be empty".into()));
        }
        if write.binding_key.trim().is_empty() {
            return Err(SecretError::Invalid(
                "binding_key: must not be blank".into(),
            ));
        }
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

        let version = SecretVersion {
            schema_version: 1,
            version_id: version_id(&id),
            secret_id: id.clone(),
            created_at: now.clone(),
            created_by: write.actor.to_string(),
            cipher_alg: CIPHER_ALG.into(),
            key_id: KEY_ID.into(),
            ciphertext: key.encrypt(value.as_bytes()),
        };
        let (previous, expected) = match existing {
            Some((record, document)) => (Some(record), Some(document)),
            None => (None, None),
        };
        let record = SecretRecord {
            schema_version: 1,
            secret_id: id.clone(),
            scope: target.scope,
            integration: target.integration.clone(),
            name: target.name.clone(),
            context: target.context.clone(),
            instance: target.instance.clone(),
            description: if write.description.is_empty() {
                previous
                    .as_ref()
                    .map(|p| p.description.clone())
                    .unwrap_or_default()
            } else {
                write.description.to_string()
            },
            policy: "write_only".into(),
            status: SecretStatus::Configured,
            current_version_id: version.version_id.clone(),
            created_at: previous
                .as_ref()
                .map(|p| p.created_at.clone())
                .unwrap_or_else(|| now.clone()),
            updated_at: now.clone(),
            last_validated_at: previous
                .as_ref()
                .map(|p| p.last_validated_at.clone())
                .unwrap_or_default(),
            updated_by: write.actor.to_string(),
        };
        let event_type = action.as_str();
        let event = SecretAuditEvent {
            schema_version: 1,
            event_id: event_id(&id, event_type),
            secret_id: id.clone(),
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
        };
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

    /// The writes that leave `binding_key`'s binding the secret's only
    /// configured one: every other configured binding disabled (kept for
    /// history), this one written unless it is already configured (its
    /// `created_at` kept when it existed). No writes when it already is the
    /// only one. Each row is replaced only if it is still what was read, so
    /// two concurrent writers cannot both leave a configured binding.
    async fn bind_only(
        &self,
        secret_id: &str,
        target: &SecretTarget,
        binding_key: &str,
        now: &str,
    ) -> Result<Rebinding, SecretError> {
        let wanted = binding_id(secret_id, binding_key);
        let mut writes = Vec::new();
        let mut previous = None;
        let mut current: Option<(SecretBinding, Value)> = None;
        for stored in self
            .store
            .list_records(BINDING_KIND, &by_product(secret_id))
            .await?
        {
            let binding: SecretBinding = decode(&stored, secret_id)?;
            if binding.status == SecretStatus::Configured && previous.is_none() {
                previous = Some(binding.clone());
            }
            if binding.binding_id == wanted {
                current = Some((binding, stored.document));
            } else if binding.status == SecretStatus::Configured {
                writes.push(disable_binding(binding, stored.document, target, now)?);
            }
        }
        let configured = current
            .as_ref()
            .is_some_and(|(b, _)| b.status == SecretStatus::Configured);
        if !configured {
            let binding = SecretBinding {
                schema_version: 1,
                binding_id: wanted.clone(),
                secret_id: secret_id.to_string(),
                integration: target.integration.clone(),
                binding_type: "env".into(),
                binding_key: binding_key.to_string(),
                context: target.context.clone(),
                instance: target.instance.clone(),
                status: SecretStatus::Configured,
                created_at: current
                    .as_ref()
                    .map(|(b, _)| b.created_at.clone())
                    .unwrap_or_else(|| now.to_string()),
                updated_at: now.to_string(),
            };
            writes.push(RecordWrite::ReplaceIf {
                record: keyed(BINDING_KIND, &wanted, secret_id, target, &binding)?,
                expected: current.map(|(_, document)| document),
            });
        }
        Ok(Rebinding { writes, previous })
    }

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
        let event = SecretAuditEvent {
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
        };
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

    /// The values of `integration`'s configured, bound secrets that apply
    /// to (`context`, `instance`), keyed by binding key. Broader scopes are
    /// applied first (global, then context, then instance; within a scope
    /// by update time, then id), so the narrowest, newest value wins.
    pub async fn resolve(
        &self,
        integration: &str,
        context: &str,
        instance: &str,
    ) -> Result<BTreeMap<String, Zeroizing<String>>, SecretError> {
        let mut candidates: Vec<SecretRecord> = Vec::new();
        for stored in self
            .store
            .list_records(SECRET_KIND, &by_product(integration))
            .await?
        {
            let record: SecretRecord = decode(&stored, &stored.record_id)?;
            if record.integration == integration
                && record.status == SecretStatus::Configured
                && record
                    .scope
                    .applies(&record.context, &record.instance, context, instance)
            {
                candidates.push(record);
            }
        }
        candidates.sort_by(|a, b| {
            (a.scope, &a.updated_at, &a.secret_id).cmp(&(b.scope, &b.updated_at, &b.secret_id))
        });
        let mut values = BTreeMap::new();
        for record in candidates {
            let Some(binding) = self.configured_binding(&record.secret_id).await? else {
                continue;
            };
            let value = self.current_value(&record).await?;
            values.insert(binding.binding_key, value);
        }
        Ok(values)
    }

    async fn configured_binding(
        &self,
        secret_id: &str,
    ) -> Result<Option<SecretBinding>, SecretError> {
        let bindings = self
            .store
            .list_records(BINDING_KIND, &by_product(secret_id))
            .await?;
        for stored in bindings {
            let binding: SecretBinding = decode(&stored, secret_id)?;
            if binding.status == SecretStatus::Configured {
                return Ok(Some(binding));
            }
        }
        Ok(None)
    }

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

fn by_product(product: &str) -> RecordQuery {
    RecordQuery {
        product: Some(product.to_string()),
        limit: 1000,
        ..Default::default()
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    stored: &StoredRecord,
    secret_id: &str,
) -> Result<T, SecretError> {
    serde_json::from_value(stored.document.clone()).map_err(|e| SecretError::Corrupt {
        secret_id: secret_id.to_string(),
        reason: format!("{} `{}`: {e}", stored.kind, stored.record_id),
    })
}

/// A row of `kind` whose product column is `product_key` and whose lane
/// columns are the secret's.
/// The write that disables a configured binding, replacing the row only if
/// it is still `read` (two writers cannot both decide about it).
fn disable_binding(
    binding: SecretBinding,
    read: Value,
    target: &SecretTarget,
    now: &str,
) -> Result<RecordWrite, SecretError> {
    let disabled = SecretBinding {
        status: SecretStatus::Disabled,
        updated_at: now.to_string(),
        ..binding
    };
    Ok(RecordWrite::ReplaceIf {
        record: keyed(
            BINDING_KIND,
            &disabled.binding_id,
            &disabled.secret_id,
            target,
            &disabled,
        )?,
        expected: Some(read),
    })
}

fn keyed<T: serde::Serialize>(
    kind: &str,
    record_id: &str,
    product_key: &str,
    target: &SecretTarget,
    document: &T,
) -> Result<StoredRecord, SecretError> {
    let document = serde_json::to_value(document).map_err(|e| SecretError::Corrupt {
        secret_id: target.secret_id(),
        reason: e.to_string(),
    })?;
    let mut record = StoredRecord::new(kind, record_id, product_key, document);
    record.context = target.context.clone();
    record.instance = target.instance.clone();
    Ok(record)
}
