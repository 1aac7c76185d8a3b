//! The vault's rows in the record store: reading a secret and its current
//! value, and the queries, decoding and encoding every operation shares.

use serde_json::Value;
use zeroize::Zeroizing;

use super::{SecretTarget, Vault};
use crate::records::{RecordQuery, StoredRecord};
use crate::secrets::SecretError;
use crate::secrets::cipher::MasterKey;
use crate::secrets::models::{SECRET_KIND, SecretRecord, SecretVersion, VERSION_KIND};

impl Vault {
    /// The stored secret and its document, if there is one.
    pub(super) async fn record(
        &self,
        secret_id: &str,
    ) -> Result<Option<(SecretRecord, Value)>, SecretError> {
        let Some(stored) = self.store.get_record(SECRET_KIND, secret_id).await? else {
            return Ok(None);
        };
        let record = decode(&stored, secret_id)?;
        Ok(Some((record, stored.document)))
    }

    /// The stored secret, or [`SecretError::NotFound`] naming it.
    pub(super) async fn existing(
        &self,
        secret_id: &str,
    ) -> Result<(SecretRecord, Value), SecretError> {
        self.record(secret_id)
            .await?
            .ok_or_else(|| SecretError::NotFound {
                secret_id: secret_id.to_string(),
            })
    }

    /// The decrypted value of the record's current version, checked
    /// against its binding tag ([`open`]).
    pub(super) async fn current_value(
        &self,
        record: &SecretRecord,
    ) -> Result<Zeroizing<String>, SecretError> {
        let (version, _) = self.current_version(record).await?;
        let plaintext = open(self.key()?, record, &version)?;
        let text = String::from_utf8(plaintext.to_vec()).map_err(|_| SecretError::Corrupt {
            secret_id: record.secret_id.clone(),
            reason: "the stored value is not UTF-8".into(),
        })?;
        Ok(Zeroizing::new(text))
    }

    /// The record's current version row, decoded and as stored.
    pub(super) async fn current_version(
        &self,
        record: &SecretRecord,
    ) -> Result<(SecretVersion, StoredRecord), SecretError> {
        let stored = self
            .store
            .get_record(VERSION_KIND, &record.current_version_id)
            .await?
            .ok_or_else(|| SecretError::Corrupt {
                secret_id: record.secret_id.clone(),
                reason: format!("current version `{}` is missing", record.current_version_id),
            })?;
        let version: SecretVersion = decode(&stored, &record.secret_id)?;
        Ok((version, stored))
    }
}

/// The plaintext of `version`, the current version of `record`. The
/// binding tag is checked against the ids the record expects (not those
/// the version row claims), so a token or a whole row moved here from
/// another secret or version fails closed:
///
/// - tag and token both open: the value;
/// - token opens, tag does not: [`SecretError::BindingMismatch`] (moved);
/// - token does not open: [`SecretError::MasterKeyMismatch`] (a wrong
///   master key fails both checks; so does a damaged row);
/// - no tag (a legacy row, written before tags): the token alone decides,
///   and the next write of the secret adds the tag.
pub(super) fn open(
    key: &MasterKey,
    record: &SecretRecord,
    version: &SecretVersion,
) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let secret_id = &record.secret_id;
    let version_id = &record.current_version_id;
    let plaintext =
        key.decrypt(&version.ciphertext)
            .map_err(|_| SecretError::MasterKeyMismatch {
                secret_id: secret_id.clone(),
            })?;
    let bound = version.binding_tag.is_empty()
        || key.verify_binding(
            secret_id,
            version_id,
            &version.ciphertext,
            &version.binding_tag,
        );
    if bound {
        Ok(plaintext)
    } else {
        Err(SecretError::BindingMismatch {
            secret_id: secret_id.clone(),
            version_id: version_id.clone(),
        })
    }
}

/// The rows whose product column is `product` (a secret's integration, or
/// a version's, binding's or event's secret id).
pub(super) fn by_product(product: &str) -> RecordQuery {
    RecordQuery {
        product: Some(product.to_string()),
        limit: 1000,
        ..Default::default()
    }
}

/// A stored row's document as `T`; a bad one is [`SecretError::Corrupt`].
pub(super) fn decode<T: serde::de::DeserializeOwned>(
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
pub(super) fn keyed<T: serde::Serialize>(
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
