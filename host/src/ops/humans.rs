//! Humans signed in with GitHub (reference §3.1, §7.2, §7.3): the sign-in
//! routes, `GET /v1/auth/session`, logout, and the session side of
//! authentication: which routes take a session, and the CSRF check on
//! every mutation a session authorizes.
//!
//! * GET routes take a session cookie first, then a bearer token.
//! * POST routes take a session only where the reference lets humans act
//!   ([`HUMAN_POST_ROUTES`], [`HUMAN_DRIVER_ACTIONS`]); elsewhere a
//!   session is ignored and the bearer is required (401 without one).
//! * A POST authorized by a session must send `X-CSRF-Token` equal to the
//!   session's `csrf_token` (403 `csrf_token_invalid`).
//!
//! What the human may then do is the policy's `github_humans` rules'
//! decision (`access.rs`).

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{Reply, Service};
use crate::auth::Caller;
use crate::auth::human::{HumanAuth, HumanAuthError, sanitize_return_to};
use crate::auth::policy::ADMIN_ROLE;
use crate::error::ApiError;
use crate::trace::TraceId;

/// The header a session-authorized mutation echoes its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Host POST routes a signed-in human may call (the policy still decides).
pub const HUMAN_POST_ROUTES: &[&str] = &[
    "/v1/authz-policies/github-actions/grants",
    "/v1/authz-policies/github-actions/removals",
    super::grants::HUMAN_GRANTS_ROUTE,
    super::product_config::ROUTE,
    super::lanes::ROUTE,
];

/// Driver action paths (`/v1/drivers/<driver>/<path>`) a signed-in human
/// may call: promotions and the rollback an operator runs from the
/// console.
pub const HUMAN_DRIVER_ACTIONS: &[&str] = &[
    "prod-promotion",
    "prod-promotion-workflow",
    "prod-rollback-plan",
    "prod-rollback",
];

/// Whether a session may authorize a POST to `path`.
pub fn session_may_post(path: &str) -> bool {
    if HUMAN_POST_ROUTES.contains(&path) {
        return true;
    }
    path.strip_prefix("/v1/drivers/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(driver, action)| {
            !driver.is_empty() && HUMAN_DRIVER_ACTIONS.contains(&action)
        })
}

/// A redirect answer: where to, and the cookie to set.
#[derive(Debug)]
pub struct Redirect {
    pub location: String,
    pub set_cookie: Option<String>,
}

/// 503 `auth_not_configured`.
fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_not_configured",
        "GitHub sign-in is not configured on this host.",
    )
}

/// A sign-in failure as the caller sees it.
fn login_error(error: HumanAuthError) -> ApiError {
    match error {
        HumanAuthError::InvalidCallback(message) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_oauth_callback", message)
        }
        HumanAuthError::GitHub(detail) => {
            let mut error = ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_oauth_callback",
                "GitHub could not confirm the sign-in; try again later.",
            );
            error.detail = Some(detail.into());
            error
        }
        other => ApiError::internal(other),
    }
}

impl Service {
    fn humans(&self) -> Result<&HumanAuth, ApiError> {
        self.humans.as_deref().ok_or_else(not_configured)
    }

    /// `GET /auth/github/login?return_to=`: a redirect to GitHub.
    pub fn begin_github_login(&self, return_to: Option<&str>) -> Result<Redirect, ApiError> {
        let location = self
            .humans()?
            .begin_login(return_to.unwrap_or("/"))
            .map_err(ApiError::internal)?;
        Ok(Redirect {
            location,
            set_cookie: None,
        })
    }

    /// `GET /auth/github/callback?code&state`: the exchange, the role (403
    /// `authorization_denied` without one), a new session and a redirect
    /// to the sanitized `return_to`.
    pub async fn finish_github_login(
        &self,
        code: Option<&str>,
        state: Option<&str>,
    ) -> Result<Redirect, ApiError> {
        let humans = self.humans()?;
        let (profile, return_to) = humans
            .complete_login(code.unwrap_or_default(), state.unwrap_or_default())
            .await
            .map_err(login_error)?;
        let role = if profile.is_bootstrap_admin(&humans.config().bootstrap_admin_emails) {
            Some(ADMIN_ROLE)
        } else {
            self.active_policy()
                .await?
                .and_then(|active| active.policy.human_role_for(&profile.principal()))
        };
        let Some(role) = role else {
            tracing::info!(login = %profile.identity.login, "sign-in refused: no github_humans rule names this human");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "authorization_denied",
                "This GitHub account has no Launchplane role.",
            ));
        };
        let mut identity = profile.identity;
        identity.role = role.to_string();
        let session = humans
            .open_session(&identity)
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(login = %identity.login, role, "human signed in");
        Ok(Redirect {
            location: sanitize_return_to(&return_to),
            set_cookie: Some(humans.set_cookie(&session)),
        })
    }

    /// `GET /v1/auth/session`: the signed-in identity and its CSRF token;
    /// 401 with `configured` without a session.
    pub async fn auth_session(
        &self,
        trace_id: &TraceId,
        headers: &HeaderMap,
    ) -> Result<Reply, ApiError> {
        let no_session = |configured: bool| {
            ApiError::authentication_required("A browser session is required.")
                .with_extra("configured", json!(configured))
        };
        let Some(humans) = self.humans.as_deref() else {
            return Err(no_session(false));
        };
        let session = humans.session(headers).await.map_err(ApiError::internal)?;
        let Some(session) = session else {
            return Err(no_session(true));
        };
        Ok(Reply::ok(
            trace_id,
            json!({"identity": session.identity, "csrf_token": session.csrf_token}),
        ))
    }

    /// `POST /auth/logout`: revokes the session (its CSRF token required)
    /// and answers the cookie that clears it.
    pub async fn logout(
        &self,
        trace_id: &TraceId,
        headers: &HeaderMap,
    ) -> Result<(Reply, Option<String>), ApiError> {
        let Some(humans) = self.humans.as_deref() else {
            return Ok((Reply::ok(trace_id, json!({})), None));
        };
        if let Some(session) = humans.session(headers).await.map_err(ApiError::internal)? {
            check_csrf(headers, &session.csrf_token)?;
            humans
                .close_session(headers)
                .await
                .map_err(ApiError::internal)?;
            tracing::info!(login = %session.identity.login, "human signed out");
        }
        Ok((Reply::ok(trace_id, json!({})), Some(humans.clear_cookie())))
    }

    /// Who is calling, sessions included: on a GET the session cookie
    /// first, then the bearer; on a POST the session only where humans may
    /// act ([`session_may_post`]) and with its CSRF token, else the bearer.
    pub async fn authenticate_request(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<Caller, ApiError> {
        let is_get = method == "GET";
        if let Some(humans) = self.humans.as_deref()
            && (is_get || session_may_post(path))
            && let Some(session) = humans.session(headers).await.map_err(ApiError::internal)?
        {
            if !is_get {
                check_csrf(headers, &session.csrf_token)?;
            }
            return Ok(Caller::from_human(session.identity));
        }
        if !is_get
            && HumanAuth::has_cookie(headers)
            && !headers.contains_key(axum::http::header::AUTHORIZATION)
            && !session_may_post(path)
        {
            return Err(ApiError::authentication_required(
                "A browser session cannot authorize this route; a bearer token is required.",
            ));
        }
        self.authenticate(headers).await
    }
}

/// 403 `csrf_token_invalid` unless `X-CSRF-Token` equals `expected`
/// (compared in constant time).
fn check_csrf(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let sent = headers
        .get(CSRF_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !expected.is_empty() && bool::from(sent.ct_eq(expected.as_bytes())) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_token_invalid",
        "A browser-session mutation must send header X-CSRF-Token with the session's csrf_token.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_may_post_only_where_humans_act() {
        assert!(session_may_post("/v1/drivers/generic-web/prod-promotion"));
        assert!(session_may_post("/v1/drivers/verireel/prod-rollback"));
        assert!(session_may_post("/v1/lanes/release"));
        assert!(session_may_post("/v1/authz-policies/github-humans/grants"));
        assert!(!session_may_post("/v1/drivers/generic-web/deploy"));
        assert!(!session_may_post("/v1/drivers//prod-rollback"));
        assert!(!session_may_post("/v1/evidence/deployments"));
        assert!(!session_may_post("/v1/product-profiles"));
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let mut headers = HeaderMap::new();
        assert!(check_csrf(&headers, "tok").is_err());
        headers.insert(CSRF_HEADER, "tok".parse().unwrap());
        assert!(check_csrf(&headers, "tok").is_ok());
        assert!(check_csrf(&headers, "tok2").is_err());
        assert!(check_csrf(&headers, "").is_err());
    }
}
