//! The session cookie (reference §7.3):
//! `launchplane_session=<session_id>.<hex HMAC-SHA256(secret, session_id)>;
//! Path=/; Max-Age=43200; HttpOnly; SameSite=Lax[; Secure]`. A tampered,
//! unsigned, foreign-secret or whitespace-containing value reads as no
//! session; the signature is checked in constant time.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use cookie::{Cookie, SameSite};
use ring::hmac;

/// The cookie's name.
pub const COOKIE_NAME: &str = "launchplane_session";

fn key(secret: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())
}

/// `<session_id>.<hex signature>`.
pub fn sign(secret: &str, session_id: &str) -> String {
    let tag = hmac::sign(&key(secret), session_id.as_bytes());
    format!("{session_id}.{}", hex::encode(tag.as_ref()))
}

/// The session id of a signed value, when its signature holds.
pub fn verify(secret: &str, value: &str) -> Option<String> {
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        return None;
    }
    let (session_id, signature) = value.rsplit_once('.')?;
    if session_id.is_empty() {
        return None;
    }
    let signature = hex::decode(signature).ok()?;
    hmac::verify(&key(secret), session_id.as_bytes(), &signature).ok()?;
    Some(session_id.to_string())
}

/// The raw value of the session cookie among the request's `Cookie`
/// headers (the first one named `launchplane_session`).
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == COOKIE_NAME)
        .map(|cookie| cookie.value().to_string())
}

/// `Set-Cookie` for a new session of `max_age_secs`.
pub fn set_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    Cookie::build((COOKIE_NAME, value.to_string()))
        .path("/")
        .max_age(time::Duration::seconds(max_age_secs))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
        .to_string()
}

/// `Set-Cookie` that clears the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn signed_values_round_trip_and_refuse_tampering() {
        let value = sign(SECRET, "abc_DEF-1");
        assert_eq!(verify(SECRET, &value).as_deref(), Some("abc_DEF-1"));
        assert_eq!(verify("another secret entirely, 32 bytes!", &value), None);
        assert_eq!(verify(SECRET, "abc_DEF-1"), None);
        assert_eq!(verify(SECRET, &format!(" {value}")), None);
        assert_eq!(verify(SECRET, &value.replace("abc", "abd")), None);
        let (id, sig) = value.rsplit_once('.').unwrap();
        let flipped = format!("{id}.{}0", &sig[..sig.len() - 1]);
        assert_eq!(verify(SECRET, &flipped), None);
        assert_eq!(verify(SECRET, &format!(".{sig}")), None);
        assert_eq!(verify(SECRET, ""), None);
    }

    #[test]
    fn cookies_carry_the_originals_attributes() {
        assert_eq!(
            set_cookie("v", 43200, true),
            "launchplane_session=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=43200"
        );
        let cleared = clear_cookie(false);
        assert!(cleared.contains("Max-Age=0") && !cleared.contains("Secure"));
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; launchplane_session=x.y; b=2"),
        );
        assert_eq!(cookie_value(&headers).as_deref(), Some("x.y"));
        assert_eq!(cookie_value(&HeaderMap::new()), None);
    }
}
