//! The HTTP surface: routes, extraction and rendering, nothing else.
//!
//! Start with [`router`]. Core routes are declared here; driver routes
//! come from the registry's descriptors and are matched by the service
//! ([`crate::ops::Service::driver_route`]). A handler takes its inputs
//! through extractors (`extract.rs`: the caller is authenticated there),
//! calls one method of [`Service`] and returns its [`crate::ops::Reply`]
//! or [`ApiError`] (`render.rs`). `layer.rs` gives every request its trace
//! id and span, writes error bodies and logs, and refuses clients over
//! their refusal limit. `server.rs` is the front door: connections,
//! timeouts and the connection cap ([`serve`]).

mod admin;
mod drivers;
mod evidence;
pub mod extract;
mod health;
mod humans;
mod layer;
mod openapi;
mod previews;
mod products;
mod reads;
pub mod render;
pub mod server;

use axum::Router;
use axum::extract::{OriginalUri, Request};
use axum::http::Method;
use axum::middleware;
use axum::routing::{any, get, post};

pub use openapi::openapi_document;
pub use server::serve;

use crate::error::ApiError;
use crate::ops::grants::HUMAN_GRANTS_ROUTE;
use crate::ops::{
    Service, lanes, live_target, onboarding, previews as preview_routes, product_config,
};

/// The service router, `GET /metrics` included.
pub fn router(service: Service) -> Router {
    router_with(service, Router::new())
}

/// The service router without `GET /metrics` (served on a bind of its own
/// instead, [`metrics_router`]).
pub fn router_without_metrics(service: Service) -> Router {
    build(service, Router::new(), false)
}

/// `GET /metrics` alone, for `--metrics-bind`.
pub fn metrics_router() -> Router {
    crate::metrics::install();
    Router::new().route("/metrics", get(health::metrics))
}

/// The service router with `extra` routes merged in before the layers, so
/// they get the same trace ids, error bodies and logs (the benchmark adds
/// its native stand-in for driver code this way).
pub fn router_with(service: Service, extra: Router<Service>) -> Router {
    build(service, extra, true)
}

/// Installs the metrics recorder ([`crate::metrics::install`]) and builds
/// the router.
fn build(service: Service, extra: Router<Service>, metrics: bool) -> Router {
    crate::metrics::install();
    let extra = if metrics {
        extra.route("/metrics", get(health::metrics))
    } else {
        extra
    };
    Router::new()
        .route("/v1/health", get(health::health))
        .route("/v1/ready", get(health::ready))
        .route("/v1/drivers", get(drivers::list))
        .route("/v1/drivers/{driver_id}", get(drivers::show))
        .route("/v1/openapi.json", get(openapi::serve))
        .route(
            "/v1/drivers/{driver_id}/{*action_path}",
            any(drivers::dispatch),
        )
        .route("/v1/evidence/deployments", post(evidence::deployments))
        .route("/v1/evidence/promotions", post(evidence::promotions))
        .route("/v1/evidence/backup-gates", post(evidence::backup_gates))
        .route(
            "/v1/evidence/previews/generations",
            post(evidence::preview_generations),
        )
        .route(
            "/v1/evidence/previews/destroyed",
            post(evidence::previews_destroyed),
        )
        .route(
            "/v1/authz-policies/github-actions/grants",
            post(admin::grants),
        )
        .route(
            "/v1/authz-policies/github-actions/removals",
            post(admin::removals),
        )
        .route(HUMAN_GRANTS_ROUTE, post(humans::grants))
        .route("/auth/github/login", get(humans::login))
        .route("/auth/github/callback", get(humans::callback))
        .route("/auth/logout", post(humans::logout))
        .route("/v1/auth/session", get(humans::session))
        .route(
            "/v1/product-profiles",
            get(reads::profiles).post(admin::write_profile),
        )
        .route("/v1/product-profiles/{product}", get(reads::profile))
        .route(onboarding::ROUTE, post(admin::onboarding))
        .route(product_config::ROUTE, post(admin::product_config))
        .route(live_target::ROUTE, post(admin::live_target))
        .route(lanes::ROUTE, post(admin::release_lane))
        .route(
            "/v1/contexts/{context}/secrets",
            get(reads::context_secrets),
        )
        .route(
            "/v1/contexts/{context}/instances/{instance}/secrets",
            get(reads::instance_secrets),
        )
        .route("/v1/secrets/{secret_id}", get(reads::secret))
        .route("/v1/deployments/{record_id}", get(reads::deployment))
        .route("/v1/promotions/{record_id}", get(reads::promotion))
        .route("/v1/inventory/{context}/{instance}", get(reads::inventory))
        .route(
            preview_routes::DESIRED_STATE_ROUTE,
            post(previews::desired_state),
        )
        .route(preview_routes::PLAN_ROUTE, post(previews::lifecycle_plan))
        .route(
            preview_routes::CLEANUP_ROUTE,
            post(previews::lifecycle_cleanup),
        )
        .route(preview_routes::FEEDBACK_ROUTE, post(previews::pr_feedback))
        .route("/v1/previews/{preview_id}", get(reads::preview))
        .route(
            "/v1/previews/{preview_id}/history",
            get(reads::preview_history),
        )
        .route(
            "/v1/contexts/{context}/operations/recent",
            get(reads::recent_operations),
        )
        .route("/v1/operations/{operation_id}", get(reads::operation))
        .route("/v1/artifacts/protected", get(products::protected))
        .route("/v1/service/runtime", get(products::service_runtime))
        .route("/v1/products", get(products::list))
        .route("/v1/products/{product}", get(products::show))
        .route("/v1/products/{product}/activity", get(products::activity))
        .route(
            "/v1/products/{product}/environments",
            get(products::environments),
        )
        .route(
            "/v1/products/{product}/environments/{environment}",
            get(products::environment),
        )
        .route(
            "/v1/products/{product}/environments/{environment}/config-status",
            get(products::config_status),
        )
        .merge(extra)
        .route_layer(middleware::from_fn(layer::record_route))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(
            service.clone(),
            layer::throttle_clients,
        ))
        .layer(middleware::from_fn(layer::trace_requests))
        .with_state(service)
}

async fn no_route(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::no_route(uri.path())
}

async fn method_not_allowed(method: Method, request: Request) -> ApiError {
    ApiError::method_not_allowed(method.as_str(), request.uri().path())
}
