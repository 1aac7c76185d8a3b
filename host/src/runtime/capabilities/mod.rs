//! What a driver invocation reaches: one folder per capability of the WIT
//! world's imports, in the shape of Spin's factors. Each folder holds the
//! capability's binding (`impl <interface>::Host for InvocationState`),
//! its scope check and its backend, so its signatures are written once:
//!
//! | capability | folder | backend |
//! | --- | --- | --- |
//! | records | `records/` | [`StoreRecords`] over the store |
//! | provider | `provider/` | [`ProviderCapability`] over [`crate::providers::DeployProvider`] |
//! | probe | `probe/` | [`HttpProbe`] |
//! | settings | `settings/` | [`StoreSettings`] over runtime environment records |
//! | hooks | `hooks/` | [`ProductHooks`], routed by product profile |
//! | github | `github/` | [`GitHubCapability`] over the GitHub REST API |
//! | log, clock | `log.rs`, `clock.rs` | the host's log and clock |
//!
//! Provider mutations and record writes first pass the invocation's
//! [`EffectFence`] (`effects.rs`), so a crashed attempt is never re-run
//! after it changed something.
//!
//! Every call runs through `call.rs`: within the invocation's budget, on
//! the runtime that admitted it, inside its [`InvocationScope`], leaving a
//! line in its transcript. A capability a host does not wire
//! ([`HostServices`] field `None`) answers `unavailable` naming it; it
//! never pretends to succeed.
//!
//! To add a capability: declare the interface in `wit/driver.wit`, add a
//! folder here with its binding and backend, a field to [`HostServices`],
//! and the guest side to the SDK.

mod call;
mod clock;
pub mod effects;
pub mod github;
pub mod hooks;
mod log;
pub mod probe;
pub mod provider;
pub mod records;
pub mod settings;

use std::sync::Arc;

pub use crate::records::Lane;
pub use effects::{EffectFence, FenceFuture};
pub use github::GitHubCapability;
pub use hooks::{HookDrivers, ProductHooks};
pub use probe::HttpProbe;
pub use provider::{DEFAULT_JOB_NAME, ProviderCapability, host_error as provider_host_error};
pub use records::{DeferredWrites, StoreRecords};
pub use settings::StoreSettings;

use super::bindings::launchplane::driver::types;
use super::state::InvocationState;

impl types::Host for InvocationState {}

/// What one invocation may touch, fixed by the host before dispatch.
#[derive(Debug, Clone)]
pub struct InvocationScope {
    pub product: String,
    pub context: String,
    pub instance: String,
    /// Lanes of the product's profile; provider calls outside them are denied.
    pub lanes: Vec<Lane>,
    /// Record kinds the action declared in `writes_records`.
    pub writes_records: Vec<String>,
}

impl InvocationScope {
    pub fn allows_lane(&self, context: &str, instance: &str) -> bool {
        self.lanes
            .iter()
            .any(|l| l.context == context && l.instance == instance)
    }

    pub fn allows_context(&self, context: &str) -> bool {
        self.context == context || self.lanes.iter().any(|l| l.context == context)
    }

    pub fn allows_write(&self, kind: &str) -> bool {
        self.writes_records.iter().any(|k| k == kind)
    }
}

/// The capabilities wired into this host, for one invocation.
#[derive(Clone, Default)]
pub struct HostServices {
    pub records: Option<StoreRecords>,
    pub provider: Option<ProviderCapability>,
    pub probe: Option<HttpProbe>,
    pub settings: Option<StoreSettings>,
    pub hooks: Option<Arc<ProductHooks>>,
    /// The product's GitHub repository (pull requests, the preview
    /// comment, workflow dispatch).
    pub github: Option<GitHubCapability>,
    /// Asked before every provider mutation and record write (see
    /// [`effects`]); `None` runs without a fence (no reservation to
    /// guard: reads, tests, operations that own their lane record).
    pub effects: Option<Arc<dyn EffectFence>>,
}
