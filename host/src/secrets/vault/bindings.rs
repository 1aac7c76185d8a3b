//! Bindings: keeping exactly one configured binding per secret (the others
//! disabled, kept for history), and finding it.

use serde_json::Value;

use super::rows::{by_product, decode, keyed};
use super::{SecretTarget, Vault};
use crate::records::RecordWrite;
use crate::secrets::SecretError;
use crate::secrets::models::{BINDING_KIND, SecretBinding, SecretStatus, binding_id};

/// What [`Vault::bind_only`] would write, and the binding that was
/// configured before.
pub(super) struct Rebinding {
    pub(super) writes: Vec<RecordWrite>,
    pub(super) previous: Option<SecretBinding>,
}

impl Vault {
    /// The writes that leave `binding_key`'s binding the secret's only
    /// configured one: every other configured binding disabled (kept for
    /// history), this one written unless it is already configured (its
    /// `created_at` kept when it existed). No writes when it already is the
    /// only one. Each row is replaced only if it is still what was read, so
    /// two concurrent writers cannot both leave a configured binding.
    pub(super) async fn bind_only(
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

    /// The secret's configured binding, if it has one.
    pub(super) async fn configured_binding(
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
}

/// The write that disables a configured binding, replacing the row only if
/// it is still `read` (two writers cannot both decide about it).
pub(super) fn disable_binding(
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
