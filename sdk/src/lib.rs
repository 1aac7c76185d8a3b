//! Write Launchplane product drivers in plain Rust.
//!
//! A driver is a WebAssembly component (`wasm32-wasip2`) that the Launchplane
//! host loads from a digest-pinned registry. Everything the host knows about a
//! driver comes from its descriptor, and this crate builds that descriptor from
//! the same declarations that dispatch requests, so the two cannot drift:
//!
//! ```no_run
//! use launchplane_sdk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Ping { message: String }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Pong { echoed: String }
//!
//! fn ping(_ctx: &Ctx<'_>, req: Ping) -> Result<Reply<Pong>, DriverError> {
//!     Ok(Reply::new(Pong { echoed: req.message }))
//! }
//!
//! pub fn driver() -> Driver {
//!     Driver::new("example", "Example")
//!         .product("example")
//!         .action(
//!             Action::post("ping", "ping")
//!                 .label("Ping")
//!                 .authz("example_ping.execute")
//!                 .envelope("ping")
//!                 .handler(ping),
//!         )
//! }
//!
//! // In the component crate (cdylib, built for wasm32-wasip2):
//! // launchplane_sdk::export_driver!(driver);
//! ```
//!
//! The [`testing`] module runs the same driver natively against a scripted
//! fake host, so driver logic is unit-tested without Wasm.

// The generated bindings name this crate by its public path so that the
// export macro works from driver crates; make that path resolve here too.
extern crate self as launchplane_sdk;

pub mod action;
pub mod checks;
pub mod context;
pub mod descriptor;
pub mod driver;
pub mod error;
pub mod host;
pub mod testing;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod guest;

pub use action::{Action, Reply};
pub use context::{Caller, Ctx, ExtensionCall, Invocation};
pub use descriptor::{
    ActionDescriptor, CapabilityDescriptor, Descriptor, Execution, Idempotency, Method, PanelKind,
    RecordKindDeclaration, RecordMode, RecordsKey, Safety, Scope, SettingGroupDescriptor,
};
pub use driver::{Capability, Driver, SettingGroup};
pub use error::{DriverError, HostError};
pub use host::Host;

/// The version of the `launchplane:driver` WIT package this SDK implements.
/// The host refuses drivers built against an incompatible version.
pub const API_VERSION: &str = "0.3.0";

/// The provider-boundary note every descriptor carries: drivers describe
/// intent, the host owns every provider call.
pub const PROVIDER_BOUNDARY: &str = "Launchplane owns provider targets, credentials and every runtime provider call; \
this driver expresses product intent and evidence only.";

/// Everything a driver module usually needs.
pub mod prelude {
    pub use crate::host::{
        ContentCheck, DeployOutcome, HealthCheck, HealthResult, JobOutcome, LogLevel, PreviewApp,
        PullRequest, PullRequestComment, RecordQuery, Target,
    };
    pub use crate::{
        Action, Capability, Ctx, Driver, DriverError, Execution, Host, HostError, Idempotency,
        PanelKind, RecordMode, Reply, Safety, Scope, SettingGroup,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};
}
