//! The master key and the Fernet tokens secret versions are stored as.
//!
//! Fernet (AES-128-CBC, then HMAC-SHA256 over the whole token) is the
//! original's format (reference §10.1): a port that chose another cipher
//! could not read the ciphertexts an existing installation already holds.
//! The key derivation keeps both of the original's branches: a value that is
//! itself a Fernet key (32 bytes, URL-safe base64) is used as is; any other
//! value is hashed with SHA-256 into one.
//!
//! Beside each token a version row carries a binding tag
//! ([`MasterKey::binding_tag`]): an HMAC-SHA256, under a key derived from
//! the master key, over the secret id, the version id and the token. A
//! token copied into another secret's (or version's) row still opens as
//! Fernet, but its tag no longer matches, and the vault refuses it.

use aes::Aes128;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ring::hmac;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The only environment variable the master key is read from.
pub const MASTER_KEY_ENV: &str = "LAUNCHPLANE_MASTER_ENCRYPTION_KEY";

/// The `cipher_alg` of every version this host writes.
pub const CIPHER_ALG: &str = "fernet-v1";

/// The `key_id` of every version (the original has no key rotation).
pub const KEY_ID: &str = "launchplane-master-key";

const VERSION: u8 = 0x80;
const HEADER: usize = 1 + 8 + 16;
const MAC: usize = 32;

/// URL-safe base64 that accepts tokens with or without their `=` padding
/// and writes them padded, as Python's `urlsafe_b64encode` does.
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a token could not be opened. Deliberately vague: which check failed
/// tells an attacker nothing useful and an operator only "wrong key or
/// damaged row".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the token is not a Fernet token")]
    Malformed,
    #[error("the token was not made with this master key, or was altered")]
    Unauthentic,
}

/// The prefix of every binding tag: the scheme's version.
pub const BINDING_TAG_PREFIX: &str = "hmac-sha256-v1:";

/// The label the binding key is derived under (HMAC of the label with the
/// master key's signing half), so a binding tag can never be confused with
/// a Fernet MAC or a [`MasterKey::digest`].
const BINDING_LABEL: &[u8] = b"launchplane secret version binding v1";

/// The service's master key: a signing half, an encryption half, and the
/// binding key derived from the signing half.
///
/// Never printed: `Debug` shows nothing of it, and the halves are wiped
/// when it is dropped.
pub struct MasterKey {
    signing: hmac::Key,
    encryption: Zeroizing<[u8; 16]>,
    binding: hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// The key named by `value` (the variable's text). Blank → `None`: the
    /// host then serves everything but secret values.
    pub fn from_text(value: &str) -> Option<MasterKey> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let raw: Zeroizing<Vec<u8>> = match URL_SAFE.decode(value) {
            Ok(bytes) if bytes.len() == 32 && value.len() == 44 => Zeroizing::new(bytes),
            _ => Zeroizing::new(Sha256::digest(value.as_bytes()).to_vec()),
        };
        let mut encryption = Zeroizing::new([0u8; 16]);
        encryption.copy_from_slice(&raw[16..]);
        let signing = hmac::Key::new(hmac::HMAC_SHA256, &raw[..16]);
        let derived = hmac::sign(&signing, BINDING_LABEL);
        Some(MasterKey {
            binding: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            signing,
            encryption,
        })
    }

    /// The key from [`MASTER_KEY_ENV`], if set and not blank.
    pub fn from_env() -> Option<MasterKey> {
        std::env::var(MASTER_KEY_ENV)
            .ok()
            .and_then(|v| MasterKey::from_text(&v))
    }

    /// A new Fernet token for `plaintext`, stamped now with a random IV.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut iv = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut iv);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.encrypt_with(plaintext, now, iv)
    }

    fn encrypt_with(&self, plaintext: &[u8], timestamp: u64, iv: [u8; 16]) -> String {
        let ciphertext = cbc::Encryptor::<Aes128>::new(self.encryption.as_ref().into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        let mut token = Vec::with_capacity(HEADER + ciphertext.len() + MAC);
        token.push(VERSION);
        token.extend_from_slice(&timestamp.to_be_bytes());
        token.extend_from_slice(&iv);
        token.extend_from_slice(&ciphertext);
        let tag = hmac::sign(&self.signing, &token);
        token.extend_from_slice(tag.as_ref());
        URL_SAFE.encode(token)
    }

    /// The plaintext of a token this key made. The MAC is checked (in
    /// constant time) before anything is decrypted. Tokens never expire
    /// here: a stored secret stays readable until it is rotated.
    pub fn decrypt(&self, token: &str) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        let bytes = URL_SAFE
            .decode(token.trim())
            .map_err(|_| CipherError::Malformed)?;
        let body_len = bytes
            .len()
            .checked_sub(HEADER + MAC)
            .ok_or(CipherError::Malformed)?;
        if bytes[0] != VERSION || body_len == 0 || body_len % 16 != 0 {
            return Err(CipherError::Malformed);
        }
        let (signed, tag) = bytes.split_at(bytes.len() - MAC);
        hmac::verify(&self.signing, signed, tag).map_err(|_| CipherError::Unauthentic)?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&signed[9..HEADER]);
        let plaintext = cbc::Decryptor::<Aes128>::new(self.encryption.as_ref().into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&signed[HEADER..])
            .map_err(|_| CipherError::Unauthentic)?;
        Ok(Zeroizing::new(plaintext))
    }

    /// The binding tag of `token` as version `version_id` of secret
    /// `secret_id`: [`BINDING_TAG_PREFIX`] and the hex HMAC-SHA256, under
    /// the derived binding key, of the three values, each preceded by its
    /// length (so no two triples share a message).
    pub fn binding_tag(&self, secret_id: &str, version_id: &str, token: &str) -> String {
        let tag = hmac::sign(
            &self.binding,
            &binding_message(secret_id, version_id, token),
        );
        format!("{BINDING_TAG_PREFIX}{}", hex::encode(tag.as_ref()))
    }

    /// Whether `tag` binds `token` to (`secret_id`, `version_id`) under
    /// this key (compared in constant time).
    pub fn verify_binding(
        &self,
        secret_id: &str,
        version_id: &str,
        token: &str,
        tag: &str,
    ) -> bool {
        let Some(Ok(tag)) = tag.strip_prefix(BINDING_TAG_PREFIX).map(hex::decode) else {
            return false;
        };
        hmac::verify(
            &self.binding,
            &binding_message(secret_id, version_id, token),
            &tag,
        )
        .is_ok()
    }

    /// A keyed digest of `value` (hex HMAC-SHA256 under the signing half).
    /// Stands in for a secret value where a request must be compared with
    /// a later one (idempotency fingerprints) without storing the value or
    /// a plain hash anyone could test guesses against.
    pub fn digest(&self, value: &str) -> String {
        hex::encode(hmac::sign(&self.signing, value.as_bytes()).as_ref())
    }
}

/// `len(secret_id) ‖ secret_id ‖ len(version_id) ‖ version_id ‖
/// len(token) ‖ token`, lengths as 8-byte big-endian.
fn binding_message(secret_id: &str, version_id: &str, token: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(24 + secret_id.len() + version_id.len() + token.len());
    for part in [secret_id, version_id, token.trim()] {
        message.extend_from_slice(&(part.len() as u64).to_be_bytes());
        message.extend_from_slice(part.as_bytes());
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Fernet specification's generate.json / verify.json vector.
    const SPEC_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    const SPEC_TOKEN: &str = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";

    fn iv() -> [u8; 16] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn a_fernet_key_is_used_as_is_and_matches_the_specification() {
        let key = MasterKey::from_text(SPEC_KEY).expect("key");
        assert_eq!(key.encrypt_with(b"hello", 499_162_800, iv()), SPEC_TOKEN);
        assert_eq!(key.decrypt(SPEC_TOKEN).expect("opens").as_slice(), b"hello");
        // Without its padding the token still opens (lenient decode).
        let unpadded = SPEC_TOKEN.trim_end_matches('=');
        assert_eq!(key.decrypt(unpadded).expect("opens").as_slice(), b"hello");
    }

    #[test]
    fn any_other_value_is_hashed_into_a_key() {
        let phrase = MasterKey::from_text("  correct horse battery staple \n").expect("key");
        // Python: Fernet(urlsafe_b64encode(sha256(b"correct horse battery staple")))
        let derived = URL_SAFE.encode(Sha256::digest(b"correct horse battery staple"));
        let explicit = MasterKey::from_text(&derived).expect("key");
        let token = phrase.encrypt(b"value");
        assert_eq!(
            explicit.decrypt(&token).expect("same key").as_slice(),
            b"value"
        );
        assert!(MasterKey::from_text("   ").is_none());
    }

    #[test]
    fn tokens_are_fresh_and_round_trip() {
        let key = MasterKey::from_text("a passphrase").expect("key");
        let one = key.encrypt(b"s3cr3t value");
        let two = key.encrypt(b"s3cr3t value");
        assert_ne!(one, two, "a random IV per token");
        assert!(!one.contains("s3cr3t"));
        assert_eq!(
            key.decrypt(&two).expect("opens").as_slice(),
            b"s3cr3t value"
        );
        assert_eq!(key.decrypt(&key.encrypt(b"")).expect("opens").len(), 0);
    }

    #[test]
    fn a_wrong_key_or_an_altered_token_is_refused() {
        let key = MasterKey::from_text(SPEC_KEY).expect("key");
        let other = MasterKey::from_text("another key").expect("key");
        assert_eq!(other.decrypt(SPEC_TOKEN), Err(CipherError::Unauthentic));
        let mut bytes = URL_SAFE.decode(SPEC_TOKEN).expect("b64");
        bytes[30] ^= 1;
        assert_eq!(
            key.decrypt(&URL_SAFE.encode(&bytes)),
            Err(CipherError::Unauthentic)
        );
        assert_eq!(key.decrypt("not a token!"), Err(CipherError::Malformed));
        assert_eq!(key.decrypt("gAAAAA"), Err(CipherError::Malformed));
    }

    #[test]
    fn binding_tags_bind_a_token_to_its_secret_and_version() {
        let key = MasterKey::from_text(SPEC_KEY).expect("key");
        let tag = key.binding_tag("secret-a", "secret-a-version-1", SPEC_TOKEN);
        assert!(tag.starts_with(BINDING_TAG_PREFIX));
        assert!(key.verify_binding("secret-a", "secret-a-version-1", SPEC_TOKEN, &tag));
        assert!(!key.verify_binding("secret-b", "secret-a-version-1", SPEC_TOKEN, &tag));
        assert!(!key.verify_binding("secret-a", "secret-a-version-2", SPEC_TOKEN, &tag));
        assert!(!key.verify_binding("secret-a", "secret-a-version-1", "other", &tag));
        // Length prefixes: moving a character between fields changes the tag.
        assert!(!key.verify_binding(
            "secret-a-",
            "version-1",
            SPEC_TOKEN,
            &key.binding_tag("secret-a", "-version-1", SPEC_TOKEN)
        ));
        let other = MasterKey::from_text("another key").expect("key");
        assert!(!other.verify_binding("secret-a", "secret-a-version-1", SPEC_TOKEN, &tag));
        assert!(!key.verify_binding("secret-a", "secret-a-version-1", SPEC_TOKEN, "garbage"));
        // Neither the Fernet MAC key nor the digest is the binding key.
        assert_ne!(
            tag.trim_start_matches(BINDING_TAG_PREFIX),
            key.digest("secret-a")
        );
    }

    #[test]
    fn the_key_never_prints() {
        let key = MasterKey::from_text(SPEC_KEY).expect("key");
        assert_eq!(format!("{key:?}"), "MasterKey(..)");
        assert_eq!(key.digest("x"), key.digest("x"));
        assert_ne!(key.digest("x"), key.digest("y"));
    }
}
