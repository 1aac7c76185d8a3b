//! The compact JWS: its three base64url segments, their JSON objects, and
//! the header rules (RS256 only, a `kid`, no `crit`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::{MAX_TOKEN_BYTES, TokenError};

/// A `kid` longer than this is malformed.
const MAX_KID_CHARS: usize = 256;

/// The three segments of a compact JWS, still encoded.
pub(super) struct Segments<'a> {
    pub(super) header: &'a str,
    pub(super) payload: &'a str,
    pub(super) signature: &'a str,
}

/// The three segments of `token`: empty, oversized and malformed tokens
/// are refused; the signature segment is checked later.
pub(super) fn split_token(token: &str) -> Result<Segments<'_>, TokenError> {
    if token.trim().is_empty() {
        return Err(TokenError::Empty);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "expected three dot-separated segments",
        ));
    };
    if !is_base64url(header) || !is_base64url(payload) {
        return Err(TokenError::Malformed("segments must be unpadded base64url"));
    }
    // The signature segment is checked after the header: an `alg: none`
    // token has an empty one and is refused for its algorithm.
    Ok(Segments {
        header,
        payload,
        signature,
    })
}

/// Non-empty, unpadded base64url text.
pub(super) fn is_base64url(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A base64url segment holding a JSON object.
pub(super) fn decode_json_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// `alg` must be RS256, `crit` absent, `kid` a non-empty string; returns it.
pub(super) fn check_header(header: &Map<String, Value>) -> Result<String, TokenError> {
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        _ => return Err(TokenError::UnsupportedAlgorithm),
    }
    if header.contains_key("crit") {
        return Err(TokenError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    match header.get("kid") {
        None | Some(Value::Null) => Err(TokenError::MissingKeyId),
        Some(Value::String(kid)) if kid.is_empty() => Err(TokenError::MissingKeyId),
        Some(Value::String(kid)) if kid.chars().count() <= MAX_KID_CHARS => Ok(kid.clone()),
        Some(_) => Err(TokenError::Malformed("kid must be a short string")),
    }
}
