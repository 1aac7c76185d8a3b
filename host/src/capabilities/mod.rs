//! Host capabilities offered to driver invocations, one module each (the
//! Spin "factor" shape). The runtime enforces each invocation's scope before
//! calling in; these adapters do the work against the store, the provider
//! and the network.

mod hooks;
mod probe;
mod provider;
mod records;
mod settings;

pub use hooks::ProductHooks;
pub use probe::HttpProbe;
pub use provider::{ProviderCapability, host_error as provider_host_error};
pub use records::{StoreRecords, is_state_kind};
pub use settings::StoreSettings;
