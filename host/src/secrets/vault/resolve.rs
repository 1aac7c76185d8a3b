//! [`Vault::resolve`]: the values of an integration's configured, bound
//! secrets that apply to a lane, narrowest and newest winning.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::Vault;
use super::rows::{by_product, decode};
use crate::secrets::SecretError;
use crate::secrets::models::{SECRET_KIND, SecretRecord, SecretStatus};

impl Vault {
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
}
