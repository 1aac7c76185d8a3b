//! [`DevIssuer`]: an issuer URL and its RSA-2048 key, from generation or
//! PKCS#8, and the public key in the forms verifiers want (DER, PEM, JWK).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rsa::{KeyPair, PublicKeyComponents};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::DevIssuerError;

/// The development issuer: an issuer URL and an RSA-2048 signing key.
///
/// ring signs (constant-time, and the same library that verifies);
/// ring cannot generate RSA keys, so the RustCrypto `rsa` crate makes
/// them and encodes the public key.
pub struct DevIssuer {
    pub(super) issuer: String,
    pub(super) kid: String,
    pub(super) key_pair: KeyPair,
    /// The same private key as PKCS#8 DER, for [`Self::private_key_pkcs8_pem`];
    /// wiped when the issuer is dropped.
    pkcs8_der: Zeroizing<Vec<u8>>,
    /// X.509 SubjectPublicKeyInfo DER.
    public_key_der: Vec<u8>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// A new issuer with a freshly generated RSA-2048 key.
    pub fn generate(issuer: impl Into<String>) -> Result<Self, DevIssuerError> {
        let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
            .map_err(|_| DevIssuerError::KeyGeneration)?;
        let der = private
            .to_pkcs8_der()
            .map_err(|_| DevIssuerError::KeyGeneration)?;
        Self::from_pkcs8_der(issuer, der.as_bytes())
    }

    /// An issuer from a PKCS#8 DER RSA private key.
    pub fn from_pkcs8_der(issuer: impl Into<String>, der: &[u8]) -> Result<Self, DevIssuerError> {
        let key_pair =
            KeyPair::from_pkcs8(der).map_err(|e| DevIssuerError::InvalidKey(e.to_string()))?;
        let components = PublicKeyComponents::<Vec<u8>>::from(key_pair.public());
        let invalid = |e: &dyn std::fmt::Display| DevIssuerError::InvalidKey(e.to_string());
        let public_key_der = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&components.n),
            rsa::BigUint::from_bytes_be(&components.e),
        )
        .map_err(|e| invalid(&e))?
        .to_public_key_der()
        .map_err(|e| invalid(&e))?
        .into_vec();
        let kid = jwk_thumbprint(&components.n, &components.e);
        Ok(DevIssuer {
            issuer: issuer.into(),
            kid,
            key_pair,
            pkcs8_der: Zeroizing::new(der.to_vec()),
            public_key_der,
            modulus: components.n,
            exponent: components.e,
        })
    }

    /// An issuer from a PKCS#8 PEM-encoded private key.
    pub fn from_pkcs8_pem(issuer: impl Into<String>, pem: &str) -> Result<Self, DevIssuerError> {
        let der = pem_decode("PRIVATE KEY", pem).map_err(DevIssuerError::InvalidKey)?;
        Self::from_pkcs8_der(issuer, &der)
    }

    /// The issuer URL (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key, so
    /// every process using the same key file publishes the same `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as PKCS#8 PEM. Secret: write it only to a 0600 file.
    pub fn private_key_pkcs8_pem(&self) -> Result<String, DevIssuerError> {
        Ok(pem_encode("PRIVATE KEY", &self.pkcs8_der))
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.public_key_der.clone()
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.public_key_der())
    }

    /// The public key as a JWK (`kty`, `use`, `alg`, `kid`, `n`, `e`).
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(&self.exponent),
        })
    }

    /// `{"keys": [public_jwk]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk()] })
    }
}

/// RFC 7638 thumbprint of an RSA public key, base64url.
fn jwk_thumbprint(modulus: &[u8], exponent: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(exponent),
        URL_SAFE_NO_PAD.encode(modulus)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// PEM text of `der` under `label`, in 64-character lines.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the `label` block of `pem`.
fn pem_decode(label: &str, pem: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| format!("no `{begin}` line"))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("no `{end}` line"))?
        + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| format!("PEM body is not base64: {e}"))
}
