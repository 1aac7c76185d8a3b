//! Human sign-in routes (reference §3.1): `GET /auth/github/login`,
//! `GET /auth/github/callback`, `POST /auth/logout`, `GET
//! /v1/auth/session`, and `POST /v1/authz-policies/github-humans/grants`.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::extract::JsonObject;
use crate::error::ApiError;
use crate::ops::grants::Change;
use crate::ops::humans::Redirect;
use crate::ops::{Call, Reply, Service};
use crate::trace::TraceId;

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// The query parameters, or 400 `invalid_oauth_callback`.
fn params(query: Params) -> Result<HashMap<String, String>, ApiError> {
    query.map(|Query(map)| map).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_oauth_callback",
            "The query string could not be read.",
        )
    })
}

/// A 302 with `Location`, the cookie when one is set, and no caching.
fn redirect(redirect: Redirect) -> Result<Response, ApiError> {
    let location = HeaderValue::from_str(&redirect.location).map_err(ApiError::internal)?;
    let mut response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = redirect.set_cookie {
        headers.insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
        );
    }
    Ok(response)
}

/// `GET /auth/github/login?return_to=/…`.
pub async fn login(State(service): State<Service>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    redirect(service.begin_github_login(params.get("return_to").map(String::as_str))?)
}

/// `GET /auth/github/callback?code&state`.
pub async fn callback(State(service): State<Service>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    let outcome = service
        .finish_github_login(
            params.get("code").map(String::as_str),
            params.get("state").map(String::as_str),
        )
        .await?;
    redirect(outcome)
}

/// `POST /auth/logout`.
pub async fn logout(
    State(service): State<Service>,
    trace_id: TraceId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (reply, clear) = service.logout(&trace_id, &headers).await?;
    let mut response = reply.into_response();
    if let Some(cookie) = clear {
        response.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
        );
    }
    Ok(response)
}

/// `GET /v1/auth/session`.
pub async fn session(
    State(service): State<Service>,
    trace_id: TraceId,
    headers: HeaderMap,
) -> Result<Reply, ApiError> {
    service.auth_session(&trace_id, &headers).await
}

/// `POST /v1/authz-policies/github-humans/grants`.
pub async fn grants(
    State(service): State<Service>,
    call: Call,
    body: JsonObject,
) -> Result<Reply, ApiError> {
    service
        .change_policy(&call, body.value(), Change::HumanGrant)
        .await
}
