//! A bearer token that cannot be printed by accident.

use std::fmt;

/// A credential. It has no `Display`; `Debug` prints `Secret(***)`; the
/// only way to the value is [`Secret::expose`], used to build a header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// An `Authorization: Bearer …` header value marked sensitive, so the
    /// HTTP stack never logs it.
    pub fn bearer_header(&self) -> Option<reqwest::header::HeaderValue> {
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
