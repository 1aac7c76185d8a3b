//! The service layer: it admits and executes every request the HTTP layer
//! hands it, in the original's order, and owns idempotency, lane leases,
//! durable operations and audit.
//!
//! Start with [`Service`] and [`Call`]: `http/` extracts a [`Call`] (trace
//! id, authenticated caller, route, `Idempotency-Key`) and a parsed body,
//! calls one method of [`Service`] and renders the [`Reply`] or
//! [`ApiError`]. Nothing here knows about axum handlers or response
//! bodies on the wire.
//!
//! * [`driver`]: every `/v1/drivers/…` action, sync or async, from route to
//!   commit ([`Service::run_driver_action`]), and the operation worker.
//! * [`access`]: authorization against the active policy, and its audit.
//! * [`idempotency`] and [`completion`]: the front and the tail of every
//!   mutation (reserve a key; store the answer and audit the outcome);
//!   [`mutation`] joins them for host routes that act on a provider, and
//!   `one_tx` runs a pure-database mutation in one transaction; [`attempt`] keeps a running
//!   attempt's holds alive and fences its first effect; [`maintenance`]
//!   sweeps expired keys and old denial audit rows in the background.
//! * The host routes, one file each: [`evidence`], [`grants`], [`profiles`],
//!   [`onboarding`], [`product_config`], [`live_target`], [`reads`],
//!   [`secrets`], [`catalogue`], [`products`] (product read models), [`protected_artifacts`], [`previews`] (desired state, lifecycle
//!   plan and cleanup, PR feedback).
//! * [`humans`]: GitHub sign-in, sessions and their CSRF check;
//!   the github-humans grants route is in [`grants`].
//! * [`throttle`]: per-client limits on refused (401/403) requests.
//! * [`readiness`]: whether this host can serve now (`GET /v1/ready`).

pub mod access;
pub mod attempt;
mod call;
pub mod catalogue;
pub mod completion;
pub mod driver;
pub mod evidence;
pub mod grants;
pub mod humans;
pub mod idempotency;
pub mod input;
pub mod lane_policies;
pub mod lanes;
pub mod live_target;
pub mod maintenance;
pub mod mutation;
pub mod onboarding;
mod one_tx;
pub mod previews;
pub mod product_config;
pub mod products;
pub mod profiles;
pub mod protected_artifacts;
pub mod readiness;
pub mod reads;
pub mod secrets;
pub mod service_runtime;
pub mod throttle;

use std::sync::{Arc, RwLock};

pub use call::{Accepted, Call, KeyHeader, Reply};
pub use driver::{DriverRoute, Worker, WorkerConfig};
pub use one_tx::TxOutcome;

use crate::auth::{AuthError, Authenticator, Caller};
use crate::error::ApiError;
use crate::records::Store;
use crate::registry::Registry;
use crate::runtime::HostServices;
use crate::runtime::capabilities::{ProductHooks, ProviderCapability, StoreRecords, StoreSettings};

/// The service: explicit state shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    registry: Arc<RwLock<Arc<Registry>>>,
    pub store: Store,
    pub authenticator: Arc<dyn Authenticator>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// This process's identity as an owner of idempotency reservations
    /// and operation leases.
    pub host_id: String,
    /// How long a reservation or lease is held before another host may
    /// take it over; its holder renews it every third of this while it
    /// runs, so a dead host's holds run out within one `lease_ms`.
    pub lease_ms: i64,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl_ms: i64,
    /// Capabilities drivers reach besides records (provider, probe, hooks).
    pub services: HostServices,
    /// The active authorization policy, cached briefly.
    pub policy_cache: Arc<access::PolicyCache>,
    /// The key managed secret values are encrypted with
    /// (`LAUNCHPLANE_MASTER_ENCRYPTION_KEY`); without it secret values
    /// can be neither written nor read.
    pub master_key: Option<Arc<crate::secrets::MasterKey>>,
    /// The runtime provider itself, for host routes that act on a lane's
    /// target (drivers reach it through `services.provider`). Set both
    /// with [`Service::set_provider`].
    pub deploy_provider: Option<Arc<dyn crate::providers::DeployProvider>>,
    /// The lane leases and reservations this host's running attempts hold
    /// (released at once when a shutdown times out).
    pub attempts: Arc<attempt::Attempts>,
    /// Per-client limit on refused (401/403) requests.
    pub client_throttle: Arc<throttle::ClientThrottle>,
    /// The host's `LAUNCHPLANE_PREVIEW_BASE_URL`: previews' URLs derive
    /// from it when their context's runtime settings name none.
    pub preview_base_url: Option<String>,
    /// GitHub sign-in for humans and their sessions; `None` when not
    /// configured (the session routes then answer 503/401).
    pub humans: Option<Arc<crate::auth::human::HumanAuth>>,
    /// What `GET /v1/service/runtime` shows of this host's start.
    pub runtime_facts: Arc<service_runtime::RuntimeFacts>,
}

impl Service {
    pub fn new(registry: Registry, store: Store, authenticator: Arc<dyn Authenticator>) -> Self {
        Service {
            registry: Arc::new(RwLock::new(Arc::new(registry))),
            store,
            authenticator,
            body_limit: 1024 * 1024,
            host_id: format!("host-{}", uuid::Uuid::new_v4().simple()),
            lease_ms: 30 * 1000,
            idempotency_ttl_ms: 24 * 60 * 60 * 1000,
            services: HostServices::default(),
            policy_cache: Arc::new(access::PolicyCache::new(std::time::Duration::from_secs(5))),
            master_key: None,
            deploy_provider: None,
            attempts: Arc::default(),
            client_throttle: Arc::new(throttle::ClientThrottle::new(
                throttle::DEFAULT_DENIED_LIMIT,
                throttle::DEFAULT_DENIED_WINDOW,
            )),
            preview_base_url: None,
            humans: None,
            runtime_facts: Arc::default(),
        }
    }

    /// Wires the runtime provider: for drivers (as the provider
    /// capability) and for the host's own lane routes.
    pub fn set_provider(&mut self, provider: Arc<dyn crate::providers::DeployProvider>) {
        self.services.provider = Some(ProviderCapability::new(provider.clone()));
        self.deploy_provider = Some(provider);
    }

    /// Managed secrets over this service's store and master key.
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

    /// Who is calling: 401 `authentication_required` when nobody the host
    /// trusts, 500 when the credential could not be checked.
    pub async fn authenticate(&self, headers: &axum::http::HeaderMap) -> Result<Caller, ApiError> {
        self.authenticator
            .authenticate_caller(headers)
            .await
            .map_err(|error| match error {
                AuthError::Unauthenticated(message) => ApiError::authentication_required(message),
                AuthError::Unavailable(detail) => ApiError::internal(detail),
            })
    }

    /// Host capabilities for one driver invocation of request `trace_id`.
    /// `effects` fences its provider mutations and record writes
    /// ([`attempt::ReservationFence`]).
    pub fn host_services_for(
        &self,
        trace_id: &str,
        effects: Option<Arc<dyn crate::runtime::capabilities::EffectFence>>,
    ) -> HostServices {
        let registry = self.registry();
        let mut services = self.services.clone();
        let mut records =
            StoreRecords::new(self.store.clone(), trace_id, registry.declared_kinds());
        if let Some(deferred) = effects.as_ref().and_then(|fence| fence.deferred_writes()) {
            records = records.deferring(deferred);
        }
        services.effects = effects;
        services.records = Some(records);
        services.settings = Some(
            StoreSettings::new(self.store.clone())
                .with_preview_base_url(self.preview_base_url.clone()),
        );
        // Hooks reach the product's extension driver with the same
        // capabilities (minus hooks: no recursion).
        services.hooks = Some(Arc::new(ProductHooks::new(
            registry,
            self.store.clone(),
            services.clone(),
        )));
        services
    }
}
