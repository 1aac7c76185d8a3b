//! Outbound HTTPS: one TLS crypto provider for the whole process.
//!
//! Every outbound call (GitHub's JWKS, the Dokploy API, readiness probes,
//! `launchplane call` to a remote Launchplane) goes through reqwest on
//! rustls, and rustls needs a crypto provider. Launchplane uses *ring*:
//! it also verifies the OIDC tokens' RS256 signatures
//! (`auth/oidc.rs`), and it builds in a fraction of the time of aws-lc's
//! C library, which reqwest would otherwise bring in for the same job
//! (docs/performance.md, "Build time").
//!
//! reqwest is built without a provider of its own, so a client built
//! before a provider is installed would panic. Build clients with
//! [`client_builder`], which installs ring first.

use std::sync::Once;

/// Makes ring the process-wide rustls crypto provider. Idempotent; a
/// provider some other code installed first is left in place.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `reqwest::Client::builder()`, with the crypto provider installed.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// A client with reqwest's defaults (no timeout: callers set one per
/// request), for tests and tools.
///
/// # Panics
/// Only if the TLS backend cannot be initialised at all, as
/// `reqwest::Client::new` does.
pub fn default_client() -> reqwest::Client {
    client_builder()
        .build()
        .expect("the TLS backend initialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_with_the_ring_provider_installed() {
        let client = client_builder().build();
        assert!(client.is_ok(), "{client:?}");
        let installed = rustls::crypto::CryptoProvider::get_default().expect("installed");
        // Building more clients neither panics nor replaces the provider.
        let _ = default_client();
        install_crypto_provider();
        let after = rustls::crypto::CryptoProvider::get_default().expect("still installed");
        assert!(std::sync::Arc::ptr_eq(installed, after));
    }
}
