//! The request layer: one trace id and one span per request, the error
//! body, and the log lines.
//!
//! Every request gets a fresh [`TraceId`] in its extensions (handlers and
//! extractors read it from there) and runs inside a `request` span that
//! carries it, so every line logged while serving the request, in this
//! task or in tasks it spawns with the span, names the trace id the client
//! sees. A response that stands for an [`ApiError`] gets its JSON body
//! here; a 5xx is logged with its internal detail; every request ends with
//! one access line at INFO (trace id, method, route template, status,
//! duration, and the caller's repository or operator label once
//! authenticated, `http/extract.rs`) and is counted in the request
//! metrics ([`crate::metrics`]). Tokens never reach a log line: nothing
//! here reads headers.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::render::Refusal;
use crate::ops::Service;
use crate::trace::TraceId;

/// The route template a request matched, passed from [`record_route`]
/// to [`trace_requests`] in the response's extensions.
#[derive(Clone)]
struct RouteTemplate(String);

/// The route label of a request that matched no route (so scans of
/// random paths cannot grow the metrics).
const UNMATCHED: &str = "unmatched";

/// The outer layer: trace id, span, error body, logs.
pub async fn trace_requests(mut request: Request, next: Next) -> Response {
    let trace_id = TraceId::new();
    request.extensions_mut().insert(trace_id.clone());
    let span = tracing::info_span!(
        "request",
        trace_id = %trace_id,
        method = %request.method(),
        route = tracing::field::Empty,
        caller = tracing::field::Empty,
    );
    let method = request.method().clone();
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let _entered = span.enter();
    let route = response
        .extensions_mut()
        .remove::<RouteTemplate>()
        .map(|RouteTemplate(route)| route);
    if let Some(Refusal(error)) = response.extensions_mut().remove::<Refusal>() {
        crate::metrics::error(error.status.as_u16(), &error.code);
        if error.status.is_server_error() {
            tracing::error!(
                code = error.code.as_ref(),
                detail = error.detail.as_deref().unwrap_or(""),
                "request failed"
            );
        }
        let (mut parts, _) = response.into_parts();
        let body = Json(error.body(trace_id.as_str())).into_response();
        let (body_parts, body) = body.into_parts();
        parts.headers.extend(body_parts.headers);
        response = Response::from_parts(parts, body);
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    if route.is_none() {
        span.record("route", UNMATCHED);
    }
    crate::metrics::request(
        method.as_str(),
        route.as_deref().unwrap_or(UNMATCHED),
        status,
        elapsed,
    );
    tracing::info!(
        status,
        duration_ms = elapsed.as_millis() as u64,
        "request served"
    );
    response
}

/// Inside the trace layer: a client over its refusal limit is answered
/// 429 with `Retry-After` before anything else runs (the probes,
/// `/v1/health`, `/v1/ready` and `/metrics`, stay open), and every 401
/// or 403 is charged to its client
/// ([`crate::ops::throttle`]). Without a peer address (a server other
/// than [`super::serve`]) nothing is limited.
pub async fn throttle_clients(
    State(service): State<Service>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let Some(client) = client else {
        return next.run(request).await;
    };
    if !matches!(
        request.uri().path(),
        "/v1/health" | "/v1/ready" | "/metrics"
    ) && let Err(refusal) = service.client_throttle.check(client)
    {
        return refusal.into_response();
    }
    let response = next.run(request).await;
    if matches!(
        response.status(),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        service.client_throttle.charge(client);
    }
    response
}

/// The inner layer (routes only): names the matched route template in the
/// request's span and hands it to [`trace_requests`] for the metrics, so
/// access lines and metrics group by route rather than by id.
pub async fn record_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().to_string());
    if let Some(route) = &route {
        tracing::Span::current().record("route", route.as_str());
    }
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteTemplate(route));
    }
    response
}
