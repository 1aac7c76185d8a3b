//! The GitHub side of sign-in: the authorize URL with a PKCE (S256)
//! challenge, the code exchange, and the profile reads. Tokens and codes
//! never reach a log or an error message.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::identity::{EmailEntry, GithubProfile, OrgEntry, TeamEntry, UserEntry};
use super::{HumanAuthConfig, HumanAuthError};

/// The scopes sign-in asks for.
pub const SCOPES: &str = "read:user read:org user:email";
/// How long one GitHub call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// `n` random bytes as URL-safe base64 without padding (the original's
/// `token_urlsafe(n)`).
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 challenge of a PKCE verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// GitHub's authorize URL for `state` and the challenge of `verifier`.
pub fn authorize_url(
    config: &HumanAuthConfig,
    state: &str,
    verifier: &str,
) -> Result<String, HumanAuthError> {
    let base = format!("{}/login/oauth/authorize", config.web_url);
    let redirect_uri = config.redirect_uri();
    let challenge = pkce_challenge(verifier);
    reqwest::Url::parse_with_params(
        &base,
        [
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", SCOPES),
            ("state", state),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .map(String::from)
    .map_err(|e| HumanAuthError::GitHub(format!("cannot build the authorize URL: {e}")))
}

/// GitHub's answer to the code exchange.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Exchanges `code` (with the PKCE `verifier`) for an access token. A
/// refusal by GitHub is an invalid callback; its error code, never the
/// code itself, is kept.
pub async fn exchange(
    client: &reqwest::Client,
    config: &HumanAuthConfig,
    code: &str,
    verifier: &str,
) -> Result<Zeroizing<String>, HumanAuthError> {
    let response = client
        .post(format!("{}/login/oauth/access_token", config.web_url))
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(CALL_TIMEOUT)
        .json(&serde_json::json!({
            "client_id": config.client_id,
            "client_secret": config.client_secret.as_str(),
            "code": code,
            "redirect_uri": config.redirect_uri(),
            "code_verifier": verifier,
        }))
        .send()
        .await
        .map_err(|e| HumanAuthError::GitHub(format!("token exchange: {}", e.without_url())))?;
    let status = response.status();
    let answer: Option<TokenAnswer> = response.json().await.ok();
    match answer {
        Some(TokenAnswer {
            access_token: Some(token),
            ..
        }) if status.is_success() && !token.trim().is_empty() => Ok(Zeroizing::new(token)),
        Some(TokenAnswer {
            error: Some(error), ..
        }) if status.is_success() || status.is_client_error() => {
            Err(HumanAuthError::InvalidCallback(format!(
                "GitHub refused the sign-in code ({}).",
                error
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect::<String>()
            )))
        }
        _ if status.is_client_error() => Err(HumanAuthError::InvalidCallback(format!(
            "GitHub refused the sign-in code (HTTP {}).",
            status.as_u16()
        ))),
        _ => Err(HumanAuthError::GitHub(format!(
            "token exchange answered HTTP {} without a token",
            status.as_u16()
        ))),
    }
}

/// One authenticated `GET` of the API, parsed.
async fn get<T: DeserializeOwned>(
    client: &reqwest::Client,
    config: &HumanAuthConfig,
    token: &str,
    path: &str,
) -> Result<T, HumanAuthError> {
    let response = client
        .get(format!("{}{path}", config.api_url))
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .header(reqwest::header::USER_AGENT, "launchplane")
        .timeout(CALL_TIMEOUT)
        .send()
        .await
        .map_err(|e| HumanAuthError::GitHub(format!("GET {path}: {}", e.without_url())))?;
    let status = response.status();
    if !status.is_success() {
        let limited = response
            .headers()
            .get("x-ratelimit-remaining")
            .is_some_and(|v| v.as_bytes() == b"0");
        return Err(HumanAuthError::GitHub(format!(
            "GET {path} answered HTTP {}{}",
            status.as_u16(),
            if limited { " (rate limited)" } else { "" }
        )));
    }
    response
        .json()
        .await
        .map_err(|e| HumanAuthError::GitHub(format!("GET {path}: unexpected answer: {e}")))
}

/// Who the token belongs to: user, emails, organizations and teams (the
/// first 100 of each list).
pub async fn profile(
    client: &reqwest::Client,
    config: &HumanAuthConfig,
    token: &str,
) -> Result<GithubProfile, HumanAuthError> {
    let user: UserEntry = get(client, config, token, "/user").await?;
    let emails: Vec<EmailEntry> = get(client, config, token, "/user/emails?per_page=100").await?;
    let orgs: Vec<OrgEntry> = get(client, config, token, "/user/orgs?per_page=100").await?;
    let teams: Vec<TeamEntry> = get(client, config, token, "/user/teams?per_page=100").await?;
    Ok(GithubProfile::from_parts(user, &emails, &orgs, &teams))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let a = random_token(64);
        assert_eq!(a.len(), 86);
        assert_ne!(a, random_token(64));
    }
}
