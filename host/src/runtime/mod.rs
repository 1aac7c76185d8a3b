//! The wasmtime component host.
//!
//! One [`Engine`] per process, one [`Linker`] built once, one pre-linked
//! instance per driver, and a fresh [`wasmtime::Store`] per invocation.
//! Drivers are sandboxed: the linker provides only `wasi:io`, `wasi:cli`
//! (with an empty environment and stdio sent to the log), `wasi:clocks`,
//! `wasi:random` and the Launchplane host interfaces, whose implementations
//! live in [`capabilities`], one folder each. There is no
//! filesystem and no socket interface to import, so a component that wants
//! one fails to load with a message naming the import.

mod bindings;
mod cache;
pub mod capabilities;
mod component;
mod engine;
mod guest_pool;
mod limits;
mod state;
mod stdio;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker};

pub use bindings::launchplane::driver::{probe, provider, records};
pub use bindings::{
    API_VERSION, ActionDescriptor, Caller, CapabilityDescriptor, Descriptor, DriverError,
    Execution, ExtensionCall, HostError, HttpMethod, Idempotency, Invocation, LanePolicy,
    OperationRoute, PACKAGE, PanelKind, RecordKind, RecordMode, RecordsKey, Response, Safety,
    Scope, SettingGroupDescriptor,
};
pub use cache::CompileSource;
pub use capabilities::{HostServices, InvocationScope, Lane};
pub use component::{DriverComponent, Invoked};
pub use engine::EngineConfig;
pub use guest_pool::{DEFAULT_GUEST_NICE, GuestPoolConfig, MAX_GUEST_NICE};
pub use limits::DriverLimits;
pub use state::HostCall;

use bindings::{Driver, DriverPre};
use state::InvocationState;

/// WASI interfaces a driver may import (by package/interface prefix).
const ALLOWED_WASI: &[&str] = &["wasi:io/", "wasi:cli/", "wasi:clocks/", "wasi:random/"];

/// Runtime configuration.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub engine: EngineConfig,
    /// Precompiled-artifact cache; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// The threads guest code runs on (see `guest_pool`).
    pub guests: GuestPoolConfig,
}

/// Why a component could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("component does not compile: {0}")]
    Compile(String),
    #[error(
        "imports `{import}`, built against {package} {found}; this host implements {API_VERSION}"
    )]
    IncompatibleApi {
        import: String,
        package: &'static str,
        found: String,
    },
    #[error(
        "imports `{0}`, which Launchplane does not provide to drivers (no files, sockets or environment)"
    )]
    ForbiddenImport(String),
    #[error("cannot be linked: {0}")]
    Link(String),
}

/// Why an invocation did not produce a guest answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    #[error("driver `{driver_id}` exceeded its deadline of {deadline_ms} ms")]
    DeadlineExceeded { driver_id: String, deadline_ms: u64 },
    #[error("driver `{driver_id}` exceeded its memory cap of {memory_mib} MiB")]
    MemoryExceeded { driver_id: String, memory_mib: u64 },
    #[error("driver `{driver_id}` trapped: {message}")]
    Trap { driver_id: String, message: String },
    #[error("the driver runtime is shutting down")]
    Closed,
}

/// The component host. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<InvocationState>,
    cache: cache::ComponentCache,
    /// Admission for top-level invocations. Half the instance pool, so hook
    /// calls (one level deep) always find a slot.
    admission: Arc<Semaphore>,
    /// Where guest code executes: apart from the request workers.
    guests: guest_pool::GuestPool,
}

impl Runtime {
    pub fn new(config: &RuntimeConfig) -> wasmtime::Result<Self> {
        let engine = engine::build_engine(&config.engine)?;
        let mut linker = Linker::new(&engine);
        link_sandbox(&mut linker)?;
        Driver::add_to_linker::<InvocationState, HasSelf<InvocationState>>(&mut linker, |state| {
            state
        })?;
        let cache = cache::ComponentCache::new(&engine, config.cache_dir.clone());
        let permits = (config.engine.max_instances / 2).max(1) as usize;
        let guests = guest_pool::GuestPool::new(config.guests, config.engine.epoch_tick)
            .map_err(|e| wasmtime::Error::msg(format!("cannot start the guest threads: {e}")))?;
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                admission: Arc::new(Semaphore::new(permits)),
                guests,
            }),
        })
    }

    /// Worker threads that execute guest code.
    pub fn guest_threads(&self) -> usize {
        self.inner.guests.threads()
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    async fn admit(&self) -> Result<OwnedSemaphorePermit, InvokeError> {
        self.inner
            .admission
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| InvokeError::Closed)
    }

    /// Compiles (or loads from cache) verified component bytes, checks their
    /// imports and pre-links them.
    pub fn prepare(
        &self,
        driver_id: &str,
        digest_hex: &str,
        bytes: &[u8],
        limits: DriverLimits,
    ) -> Result<(DriverComponent, CompileSource), LoadError> {
        let (component, source) = self
            .inner
            .cache
            .load(&self.inner.engine, digest_hex, bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        self.check_imports(&component)?;
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = DriverPre::new(instance_pre).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        Ok((
            DriverComponent::new(driver_id, pre, limits, self.clone()),
            source,
        ))
    }

    /// Names the first import this host will not satisfy, with a reason an
    /// operator can act on, before the linker's generic message would.
    fn check_imports(&self, component: &Component) -> Result<(), LoadError> {
        let ty = component.component_type();
        for (name, item) in ty.imports(&self.inner.engine) {
            if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
                continue;
            }
            if let Some(rest) = name.strip_prefix(PACKAGE) {
                let found = rest
                    .rsplit_once('@')
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default();
                if !api_compatible(&found) {
                    return Err(LoadError::IncompatibleApi {
                        import: name.to_string(),
                        package: PACKAGE,
                        found,
                    });
                }
            } else if !ALLOWED_WASI.iter().any(|allowed| name.starts_with(allowed)) {
                return Err(LoadError::ForbiddenImport(name.to_string()));
            }
        }
        Ok(())
    }
}

/// Whether a driver built against WIT `version` can run on this host:
/// semver-compatible with [`API_VERSION`] (same major; for 0.x, same minor)
/// and not newer than it.
pub fn api_compatible(version: &str) -> bool {
    let (Ok(found), Ok(ours)) = (
        semver::Version::parse(version),
        semver::Version::parse(API_VERSION),
    ) else {
        return false;
    };
    let same_line = if ours.major == 0 {
        found.major == 0 && found.minor == ours.minor
    } else {
        found.major == ours.major
    };
    same_line && found <= ours
}

/// Links the WASI subset drivers may use; see the module docs.
fn link_sandbox(linker: &mut Linker<InvocationState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::WasiView as _;
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, random};
    use wasmtime_wasi::random::WasiRandom;

    wasmtime_wasi_io::add_to_linker_async(linker)?;
    let l = linker;
    cli::exit::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::environment::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::stdin::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::stdout::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::stderr::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::terminal_input::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::terminal_output::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::terminal_stdin::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::terminal_stdout::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    cli::terminal_stderr::add_to_linker::<InvocationState, WasiCli>(l, InvocationState::cli)?;
    clocks::wall_clock::add_to_linker::<InvocationState, WasiClocks>(l, InvocationState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<InvocationState, WasiClocks>(
        l,
        InvocationState::clocks,
    )?;
    random::random::add_to_linker::<InvocationState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<InvocationState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<InvocationState, WasiRandom>(l, |t| {
        t.ctx().ctx.random()
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::api_compatible;

    #[test]
    fn api_versions_follow_semver_for_0_x() {
        assert!(api_compatible("0.3.0"));
        assert!(
            !api_compatible("0.4.0"),
            "a newer minor of 0.x is a breaking change"
        );
        assert!(!api_compatible("1.0.0"));
        assert!(
            !api_compatible("0.2.0"),
            "0.2 drivers predate 0.3's github import, operation routes and lane policies"
        );
        assert!(
            !api_compatible("0.3.1"),
            "a driver may not need more than the host offers"
        );
        assert!(!api_compatible("not-a-version"));
    }
}
