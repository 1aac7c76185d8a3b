//! Human sign-in configuration from the environment (reference §14.1).

use std::fmt;
use std::time::Duration;

use zeroize::Zeroizing;

use super::HumanAuthError;

/// GitHub OAuth app client id.
pub const CLIENT_ID_ENV: &str = "LAUNCHPLANE_GITHUB_CLIENT_ID";
/// GitHub OAuth app client secret.
pub const CLIENT_SECRET_ENV: &str = "LAUNCHPLANE_GITHUB_CLIENT_SECRET";
/// The service's public base URL; the callback is `<url>/auth/github/callback`.
pub const PUBLIC_URL_ENV: &str = "LAUNCHPLANE_PUBLIC_URL";
/// The key session cookies are signed with.
pub const SESSION_SECRET_ENV: &str = "LAUNCHPLANE_SESSION_SECRET";
/// `0`, `false` or `no` drops the cookie's `Secure` attribute.
pub const COOKIE_SECURE_ENV: &str = "LAUNCHPLANE_COOKIE_SECURE";
/// Comma list of emails whose owners sign in as admins.
pub const BOOTSTRAP_ADMIN_EMAILS_ENV: &str = "LAUNCHPLANE_BOOTSTRAP_ADMIN_EMAILS";
/// GitHub's web base (authorize and token endpoints).
pub const WEB_URL_ENV: &str = "LAUNCHPLANE_GITHUB_WEB_URL";
/// GitHub's REST API base (shared with the GitHub capability).
pub const API_URL_ENV: &str = "LAUNCHPLANE_GITHUB_API_URL";

/// Shortest accepted session secret, in bytes.
const MIN_SESSION_SECRET: usize = 32;

/// Everything human sign-in needs.
#[derive(Clone)]
pub struct HumanAuthConfig {
    pub client_id: String,
    pub client_secret: Zeroizing<String>,
    /// Without a trailing `/`.
    pub public_url: String,
    pub session_secret: Zeroizing<String>,
    pub cookie_secure: bool,
    /// Lower-cased.
    pub bootstrap_admin_emails: Vec<String>,
    /// Without a trailing `/` (default `https://github.com`).
    pub web_url: String,
    /// Without a trailing `/` (default `https://api.github.com`).
    pub api_url: String,
    /// How long a session lives (12 hours).
    pub session_ttl: Duration,
    /// How long a started sign-in may take (10 minutes).
    pub login_ttl: Duration,
}

impl fmt::Debug for HumanAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HumanAuthConfig")
            .field("client_id", &self.client_id)
            .field("public_url", &self.public_url)
            .field("cookie_secure", &self.cookie_secure)
            .field("web_url", &self.web_url)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl HumanAuthConfig {
    /// A configuration with the defaults for everything optional.
    pub fn new(
        client_id: &str,
        client_secret: &str,
        public_url: &str,
        session_secret: &str,
    ) -> Result<Self, HumanAuthError> {
        let lookup = |name: &str| match name {
            CLIENT_ID_ENV => Some(client_id.to_string()),
            CLIENT_SECRET_ENV => Some(client_secret.to_string()),
            PUBLIC_URL_ENV => Some(public_url.to_string()),
            SESSION_SECRET_ENV => Some(session_secret.to_string()),
            _ => None,
        };
        HumanAuthConfig::from_lookup(lookup)?.ok_or_else(|| HumanAuthError::Config {
            env: CLIENT_ID_ENV,
            reason: "every required value must be non-empty".to_string(),
        })
    }

    /// The configuration `lookup` (an environment) describes: none when any
    /// of the client id, client secret, public URL or session secret is
    /// unset or blank (sign-in is then disabled); an error for a malformed
    /// value.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, HumanAuthError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (Some(client_id), Some(client_secret), Some(public_url), Some(session_secret)) = (
            get(CLIENT_ID_ENV),
            get(CLIENT_SECRET_ENV),
            get(PUBLIC_URL_ENV),
            get(SESSION_SECRET_ENV),
        ) else {
            return Ok(None);
        };
        if session_secret.len() < MIN_SESSION_SECRET {
            return Err(HumanAuthError::Config {
                env: SESSION_SECRET_ENV,
                reason: format!("must be at least {MIN_SESSION_SECRET} bytes"),
            });
        }
        let url = |env: &'static str, value: String| -> Result<String, HumanAuthError> {
            let parsed = reqwest::Url::parse(&value).map_err(|e| HumanAuthError::Config {
                env,
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(HumanAuthError::Config {
                    env,
                    reason: "must be an http(s) URL with a host".to_string(),
                });
            }
            Ok(value.trim_end_matches('/').to_string())
        };
        let cookie_secure = !matches!(
            get(COOKIE_SECURE_ENV)
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str(),
            "0" | "false" | "no"
        );
        Ok(Some(HumanAuthConfig {
            client_id,
            client_secret: Zeroizing::new(client_secret),
            public_url: url(PUBLIC_URL_ENV, public_url)?,
            session_secret: Zeroizing::new(session_secret),
            cookie_secure,
            bootstrap_admin_emails: get(BOOTSTRAP_ADMIN_EMAILS_ENV)
                .unwrap_or_default()
                .split(',')
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            web_url: url(
                WEB_URL_ENV,
                get(WEB_URL_ENV).unwrap_or_else(|| "https://github.com".to_string()),
            )?,
            api_url: url(
                API_URL_ENV,
                get(API_URL_ENV).unwrap_or_else(|| "https://api.github.com".to_string()),
            )?,
            session_ttl: Duration::from_secs(12 * 60 * 60),
            login_ttl: Duration::from_secs(10 * 60),
        }))
    }

    /// The OAuth callback URL GitHub redirects to.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/github/callback", self.public_url)
    }

    /// Whether sign-in was asked for but left incomplete: some, not all, of
    /// the four required variables are set (names the missing ones).
    pub fn missing_from(lookup: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
        let set = |name: &str| lookup(name).is_some_and(|v| !v.trim().is_empty());
        let required = [
            CLIENT_ID_ENV,
            CLIENT_SECRET_ENV,
            PUBLIC_URL_ENV,
            SESSION_SECRET_ENV,
        ];
        let missing: Vec<&'static str> =
            required.iter().copied().filter(|name| !set(name)).collect();
        if missing.len() == required.len() {
            Vec::new()
        } else {
            missing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn sign_in_needs_all_four_values() {
        let full = [
            (CLIENT_ID_ENV, "id"),
            (CLIENT_SECRET_ENV, "secret"),
            (PUBLIC_URL_ENV, "https://lp.example.com/"),
            (SESSION_SECRET_ENV, SECRET),
            (BOOTSTRAP_ADMIN_EMAILS_ENV, " A@Example.com, ,b@example.com"),
            (COOKIE_SECURE_ENV, "No"),
        ];
        let config = HumanAuthConfig::from_lookup(env(&full)).unwrap().unwrap();
        assert_eq!(
            config.redirect_uri(),
            "https://lp.example.com/auth/github/callback"
        );
        assert_eq!(
            config.bootstrap_admin_emails,
            vec!["a@example.com", "b@example.com"]
        );
        assert!(!config.cookie_secure);
        assert_eq!(config.web_url, "https://github.com");
        assert!(!format!("{config:?}").contains(SECRET));
        assert!(
            HumanAuthConfig::from_lookup(env(&full[1..]))
                .unwrap()
                .is_none()
        );
        assert_eq!(
            HumanAuthConfig::missing_from(env(&full[1..])),
            vec![CLIENT_ID_ENV]
        );
        assert!(HumanAuthConfig::missing_from(env(&[])).is_empty());
        let mut short = full;
        short[3] = (SESSION_SECRET_ENV, "short");
        assert!(HumanAuthConfig::from_lookup(env(&short)).is_err());
        let mut bad_url = full;
        bad_url[2] = (PUBLIC_URL_ENV, "ftp://x");
        assert!(HumanAuthConfig::from_lookup(env(&bad_url)).is_err());
    }
}
