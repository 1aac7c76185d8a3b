//! The HTTP surface.
//!
//! Core routes are declared here; driver routes come from the registry's
//! descriptors and are matched by [`dispatch`]. Handlers are thin: they
//! extract, call into the owning module and render. Every error is an
//! [`ApiError`] with the original's JSON shape.

mod catalogue;
mod dispatch;
pub mod envelope;
mod health;
mod openapi;
mod trace;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{OriginalUri, Request};
use axum::http::Method;
use axum::routing::{any, get};

pub use openapi::openapi_document;
pub use trace::TraceId;

use crate::auth::Authenticator;
use crate::error::ApiError;
use crate::records::Store;
use crate::registry::Registry;

/// Shared state of the service. Explicit, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    registry: Arc<RwLock<Arc<Registry>>>,
    pub store: Store,
    pub authenticator: Arc<dyn Authenticator>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
}

impl AppState {
    pub fn new(registry: Registry, store: Store, authenticator: Arc<dyn Authenticator>) -> Self {
        AppState {
            registry: Arc::new(RwLock::new(Arc::new(registry))),
            store,
            authenticator,
            body_limit: 1024 * 1024,
        }
    }

    /// The current registry. In-flight requests keep the one they started
    /// with when a reload swaps it.
    pub fn registry(&self) -> Arc<Registry> {
        match self.registry.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Swaps in a newly loaded registry.
    pub fn replace_registry(&self, registry: Registry) {
        let mut guard = match self.registry.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(registry);
    }
}

/// The service router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health::health))
        .route("/v1/drivers", get(catalogue::list_drivers))
        .route("/v1/drivers/{driver_id}", get(catalogue::show_driver))
        .route("/v1/openapi.json", get(openapi::serve))
        .route(
            "/v1/drivers/{driver_id}/{*action_path}",
            any(dispatch::dispatch),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(no_route)
        .with_state(state)
}

async fn no_route(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::no_route(uri.path())
}

async fn method_not_allowed(method: Method, request: Request) -> ApiError {
    ApiError::method_not_allowed(method.as_str(), request.uri().path())
}
