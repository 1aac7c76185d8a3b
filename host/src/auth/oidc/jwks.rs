//! The issuer's key set: the usable RSA signing keys of a JWKS document,
//! and [`RsaVerifyingKey`], which checks RS256 signatures.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// RSA keys with a smaller modulus are ignored.
const MIN_RSA_MODULUS_BITS: usize = 2048;

/// The usable keys of a JWKS document: RSA, `use` absent or `sig`, `alg`
/// absent or `RS256`, `key_ops` absent or containing `verify`, a non-empty
/// `kid`, modulus ≥ 2048 bits. A `kid` listed twice is dropped (ambiguous).
/// An empty result is an error.
pub(super) fn parse_jwks(doc: &Value) -> Result<HashMap<String, RsaVerifyingKey>, String> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "no `keys` array".to_string())?;
    let mut usable: HashMap<String, RsaVerifyingKey> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut ambiguous: HashSet<String> = HashSet::new();
    for jwk in keys {
        let Some(kid) = jwk.get("kid").and_then(Value::as_str) else {
            continue;
        };
        if kid.is_empty() {
            continue;
        }
        if !seen.insert(kid.to_string()) {
            ambiguous.insert(kid.to_string());
            continue;
        }
        match usable_rsa_key(jwk) {
            Some(key) => {
                usable.insert(kid.to_string(), key);
            }
            None => {
                tracing::debug!(kid, "ignoring a JWKS key that is not an RSA signing key");
            }
        }
    }
    for kid in &ambiguous {
        tracing::warn!(kid = %kid, "JWKS lists a key id twice; ignoring it");
        usable.remove(kid);
    }
    if usable.is_empty() {
        return Err("the key set has no usable RSA signing keys".to_string());
    }
    Ok(usable)
}

/// One JWK as a key, when it is an RSA signing key fit for RS256.
fn usable_rsa_key(jwk: &Value) -> Option<RsaVerifyingKey> {
    let field = |name: &str| jwk.get(name);
    if field("kty").and_then(Value::as_str) != Some("RSA") {
        return None;
    }
    match field("use") {
        None | Some(Value::Null) => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(_) => return None,
    }
    match field("alg") {
        None | Some(Value::Null) => {}
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(_) => return None,
    }
    match field("key_ops") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op.as_str() == Some("verify")) => {}
        Some(_) => return None,
    }
    let decode = |name: &str| -> Option<Vec<u8>> {
        let text = field(name)?.as_str()?.trim_end_matches('=');
        URL_SAFE_NO_PAD.decode(text).ok()
    };
    let n = decode("n")?;
    let e = decode("e")?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < MIN_RSA_MODULUS_BITS || e.is_empty() || e.len() > 8 {
        return None;
    }
    Some(RsaVerifyingKey {
        modulus: n.to_vec(),
        exponent: e.to_vec(),
    })
}

/// An RSA public key from the issuer's key set, used only to check RS256
/// (RSASSA-PKCS1-v1_5 with SHA-256) signatures.
#[derive(Clone)]
pub(super) struct RsaVerifyingKey {
    /// Big-endian, without leading zeros.
    modulus: Vec<u8>,
    /// Big-endian, without leading zeros.
    exponent: Vec<u8>,
}

impl RsaVerifyingKey {
    /// Whether `signature` (unpadded base64url) is this key's RS256
    /// signature of `message`. ring refuses moduli under 2048 or over 8192
    /// bits and exponents outside 3..2^33, whatever the key set said.
    pub(super) fn verifies_rs256(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        ring::signature::RsaPublicKeyComponents {
            n: &self.modulus,
            e: &self.exponent,
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            message,
            &signature,
        )
        .is_ok()
    }
}

/// `bytes` without its leading zero bytes.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}
