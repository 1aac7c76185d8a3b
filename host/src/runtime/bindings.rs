//! Host-side bindings of the `launchplane:driver` WIT world.
//!
//! Every import is async (provider and probe calls do network I/O and must
//! count against the invocation deadline without blocking a runtime thread)
//! and trappable (a host-side fatal condition aborts the guest).

wasmtime::component::bindgen!({
    world: "driver",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
});

// `Descriptor`, `DriverError`, `Invocation` and `Response` are already at
// the root: the world `use`s them.
pub use launchplane::driver::types::{
    ActionDescriptor, Caller, CapabilityDescriptor, Execution, HostError, HttpMethod, Idempotency,
    PanelKind, RecordKind, RecordMode, RecordsKey, Safety, Scope, SettingGroupDescriptor,
};

/// The WIT package version this host implements.
pub const API_VERSION: &str = "0.3.0";

/// The WIT package name, as it appears in component import names.
pub const PACKAGE: &str = "launchplane:driver";
