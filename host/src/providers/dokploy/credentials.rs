//! Where the Dokploy URL and API key come from.
//!
//! A running service reads them only from Launchplane's managed secrets of
//! integration `dokploy`, global scope, bound to the keys `DOKPLOY_HOST`
//! and `DOKPLOY_TOKEN` (reference §9 and §10.1). Process environment,
//! files in a product repository and request bodies are never consulted,
//! so the only way to point Launchplane at a Dokploy is an audited secret
//! write (`launchplane secrets put`). They are read on every API call: a
//! rotation applies to the next call without a restart, and a missing or
//! unusable value fails that call closed, naming the keys, never the
//! values.
//!
//! Fixed credentials exist for the tests against the fake Dokploy server
//! and for tools that are handed an endpoint explicitly.

use std::fmt;

use zeroize::Zeroizing;

use crate::providers::ProviderError;
use crate::secrets::{SecretError, Vault};

/// The managed-secret integration holding the Dokploy credentials.
pub const INTEGRATION: &str = "dokploy";
/// The binding key of the Dokploy base URL.
pub const HOST_KEY: &str = "DOKPLOY_HOST";
/// The binding key of the Dokploy API key.
pub const TOKEN_KEY: &str = "DOKPLOY_TOKEN";

/// The Dokploy API key. `Debug` never prints it, and it is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct DokployToken(Zeroizing<String>);

impl DokployToken {
    /// A trimmed, non-empty key without control characters (it travels as
    /// a header value).
    pub fn new(token: &str) -> Result<DokployToken, ProviderError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(ProviderError::Config(format!("{TOKEN_KEY} is empty")));
        }
        if token.contains(|c: char| c.is_control()) {
            return Err(ProviderError::Config(format!(
                "{TOKEN_KEY} contains control characters"
            )));
        }
        Ok(DokployToken(Zeroizing::new(token.to_string())))
    }

    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DokployToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DokployToken([redacted])")
    }
}

/// A Dokploy base URL and the API key that goes with it.
#[derive(Clone)]
pub struct DokployEndpoint {
    host: String,
    token: DokployToken,
}

impl DokployEndpoint {
    /// `host` must be an http(s) URL; a trailing `/` is dropped.
    pub fn new(host: &str, token: DokployToken) -> Result<DokployEndpoint, ProviderError> {
        let host = host.trim().trim_end_matches('/').to_string();
        let invalid = || {
            ProviderError::Config(format!(
                "{HOST_KEY} must be an http(s) URL such as https://dokploy.example.com"
            ))
        };
        if host.is_empty() {
            return Err(ProviderError::Config(format!("{HOST_KEY} is empty")));
        }
        let parsed = reqwest::Url::parse(&host).map_err(|_| invalid())?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none()
            || host.contains(char::is_control)
        {
            return Err(invalid());
        }
        Ok(DokployEndpoint { host, token })
    }

    /// The base URL, without a trailing `/`.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub(super) fn token(&self) -> &DokployToken {
        &self.token
    }
}

impl fmt::Debug for DokployEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DokployEndpoint")
            .field("host", &self.host)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// Where a [`super::DokployProvider`] gets its endpoint for each call.
#[derive(Clone, Debug)]
pub enum DokployCredentials {
    /// One endpoint for the provider's lifetime (tests, tools).
    Fixed(DokployEndpoint),
    /// The global `dokploy` managed secrets, read on every call.
    ManagedSecrets(Vault),
}

impl DokployCredentials {
    /// The endpoint to use now. Managed secrets that are missing, disabled
    /// or unreadable are a [`ProviderError::Config`] naming the keys.
    pub async fn endpoint(&self) -> Result<DokployEndpoint, ProviderError> {
        let vault = match self {
            DokployCredentials::Fixed(endpoint) => return Ok(endpoint.clone()),
            DokployCredentials::ManagedSecrets(vault) => vault,
        };
        let values = vault
            .resolve(INTEGRATION, "", "")
            .await
            .map_err(unreadable)?;
        let value = |key: &str| {
            values
                .get(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match (value(HOST_KEY), values.get(TOKEN_KEY)) {
            (Some(host), Some(token)) if !token.trim().is_empty() => {
                DokployEndpoint::new(&host, DokployToken::new(token)?)
            }
            _ => Err(ProviderError::Config(missing_message())),
        }
    }
}

/// The fail-closed message when either credential is not configured.
pub fn missing_message() -> String {
    format!(
        "Missing {HOST_KEY} or {TOKEN_KEY} in Launchplane-managed `{INTEGRATION}` secrets \
         (global scope); write them with `launchplane secrets put --integration {INTEGRATION} \
         --name {HOST_KEY}` (and `--name {TOKEN_KEY}`). Process environment is not read."
    )
}

fn unreadable(error: SecretError) -> ProviderError {
    match error {
        SecretError::Store(e) => {
            ProviderError::failed(format!("cannot read the Dokploy credentials: {e}"))
        }
        other => ProviderError::Config(format!("cannot read the Dokploy credentials: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_never_print_the_token_and_check_the_url() {
        let endpoint = DokployEndpoint::new(
            "https://dokploy.example/",
            DokployToken::new("secret-token-value").expect("token"),
        )
        .expect("endpoint");
        assert_eq!(endpoint.host(), "https://dokploy.example");
        let debug = format!(
            "{endpoint:?} {:?}",
            DokployCredentials::Fixed(endpoint.clone())
        );
        assert!(!debug.contains("secret-token-value"), "{debug}");
        for bad in ["ftp://x", "dokploy.example", "", "https://", "https://a\nb"] {
            let error =
                DokployEndpoint::new(bad, DokployToken::new("t").expect("t")).expect_err(bad);
            assert!(error.to_string().contains(HOST_KEY), "{bad}: {error}");
        }
        assert!(DokployToken::new(" \n").is_err());
        assert!(DokployToken::new("a\u{7}b").is_err());
        assert_eq!(DokployToken::new(" k \n").expect("trim").expose(), "k");
    }
}
