//! The HTTP surface.
//!
//! Core routes are declared here; driver routes come from the registry's
//! descriptors and are matched by [`dispatch`]. Handlers are thin: they
//! extract, call into the owning module and render. Every error is an
//! [`ApiError`] with the original's JSON shape.

pub mod access;
mod catalogue;
pub mod dispatch;
pub mod envelope;
mod evidence;
mod grants;
mod health;
mod lanes;
mod live_target;
pub mod mutation;
mod onboarding;
mod openapi;
mod product_config;
mod profiles;
mod reads;
mod secrets;
mod services;
mod trace;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{OriginalUri, Request};
use axum::http::Method;
use axum::routing::{any, get, post};

pub use dispatch::{driver_error, invoke_error};
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
    /// This process's identity as an owner of idempotency reservations
    /// and operation leases.
    pub host_id: String,
    /// How long a reservation or lease is held before another host may
    /// take it over.
    pub lease_ms: i64,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl_ms: i64,
    /// Capabilities drivers reach besides records (provider, probe, hooks).
    pub services: crate::runtime::HostServices,
    /// The active authorization policy, cached briefly.
    pub policy_cache: Arc<access::PolicyCache>,
    /// The key managed secret values are encrypted with
    /// (`LAUNCHPLANE_MASTER_ENCRYPTION_KEY`); without it secret values
    /// can be neither written nor read.
    pub master_key: Option<Arc<crate::secrets::MasterKey>>,
    /// The runtime provider itself, for host routes that act on a lane's
    /// target (drivers reach it through `services.provider`). Set both
    /// with [`AppState::set_provider`].
    pub deploy_provider: Option<Arc<dyn crate::providers::DeployProvider>>,
}

impl AppState {
    pub fn new(registry: Registry, store: Store, authenticator: Arc<dyn Authenticator>) -> Self {
        AppState {
            registry: Arc::new(RwLock::new(Arc::new(registry))),
            store,
            authenticator,
            body_limit: 1024 * 1024,
            host_id: format!("host-{}", uuid::Uuid::new_v4().simple()),
            lease_ms: 5 * 60 * 1000,
            idempotency_ttl_ms: 24 * 60 * 60 * 1000,
            services: crate::runtime::HostServices::default(),
            policy_cache: Arc::new(access::PolicyCache::new(std::time::Duration::from_secs(5))),
            master_key: None,
            deploy_provider: None,
        }
    }

    /// Wires the runtime provider: for drivers (as the provider
    /// capability) and for the host's own lane routes.
    pub fn set_provider(&mut self, provider: Arc<dyn crate::providers::DeployProvider>) {
        self.services.provider = Some(Arc::new(crate::capabilities::ProviderCapability::new(
            provider.clone(),
        )) as Arc<dyn crate::runtime::ProviderAccess>);
        self.deploy_provider = Some(provider);
    }

    /// Managed secrets over this state's store and master key.
    pub fn vault(&self) -> crate::secrets::Vault {
        crate::secrets::Vault::new(self.store.clone(), self.master_key.clone())
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
            post(grants::grants),
        )
        .route(
            "/v1/authz-policies/github-actions/removals",
            post(grants::removals),
        )
        .route(
            "/v1/product-profiles",
            get(profiles::list).post(profiles::write),
        )
        .route("/v1/product-profiles/{product}", get(profiles::show))
        .route(onboarding::ROUTE, post(onboarding::apply))
        .route(product_config::ROUTE, post(product_config::apply))
        .route(live_target::ROUTE, post(live_target::apply))
        .route(
            "/v1/contexts/{context}/secrets",
            get(secrets::list_for_context),
        )
        .route(
            "/v1/contexts/{context}/instances/{instance}/secrets",
            get(secrets::list_for_instance),
        )
        .route("/v1/secrets/{secret_id}", get(secrets::show))
        .route("/v1/deployments/{record_id}", get(reads::deployment))
        .route("/v1/promotions/{record_id}", get(reads::promotion))
        .route("/v1/inventory/{context}/{instance}", get(reads::inventory))
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
