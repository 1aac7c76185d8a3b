//! [`SecretTarget`]: which secret (scope, integration, name, lane), its
//! record id, and the reference's scope rules.

use crate::secrets::models::{SecretRecord, SecretScope, secret_id};

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
    /// The target a stored secret was written to.
    pub(super) fn of(record: &SecretRecord) -> SecretTarget {
        SecretTarget {
            scope: record.scope,
            integration: record.integration.clone(),
            name: record.name.clone(),
            context: record.context.clone(),
            instance: record.instance.clone(),
        }
    }

    /// The record id this target is stored under.
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
