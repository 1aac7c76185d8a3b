//! The one `Engine` of the process and its epoch ticker.

use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How the engine is sized.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Concurrent driver instances the pooling allocator reserves slots for.
    pub max_instances: u32,
    /// The largest per-driver memory cap the pool must accommodate, in MiB.
    pub max_memory_mib: u64,
    /// Epoch tick; deadlines are checked at this granularity.
    pub epoch_tick: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_instances: 256,
            max_memory_mib: 256,
            epoch_tick: Duration::from_millis(10),
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Deadlines: the guest checks the epoch at loop headers and function
    // entries; our callback yields to the async runtime on every tick so a
    // busy guest never starves other requests, and traps past the deadline.
    config.epoch_interruption(true);
    // We use Rust-level async host calls, not component-model async; turning
    // the latter off makes export calls markedly cheaper (wasm-hosts §2.2).
    config.concurrency_support(false);
    config
}

/// Builds the engine: pooling allocator when the address space allows it,
/// on-demand allocation otherwise (as Spin does), and starts the ticker.
pub fn build_engine(settings: &EngineConfig) -> wasmtime::Result<Engine> {
    let mut pooled = base_config();
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(settings.max_instances)
        .total_core_instances(settings.max_instances.saturating_mul(4))
        .total_memories(settings.max_instances.saturating_mul(2))
        .total_tables(settings.max_instances.saturating_mul(4))
        .max_memory_size(
            usize::try_from(settings.max_memory_mib.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
        );
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = match Engine::new(&pooled) {
        Ok(engine) => engine,
        Err(error) => {
            tracing::warn!(%error, "pooling allocator unavailable; falling back to on-demand instance allocation");
            Engine::new(&base_config())?
        }
    };
    start_epoch_ticker(&engine, settings.epoch_tick);
    Ok(engine)
}

/// A dedicated OS thread, not a tokio task, so a saturated runtime cannot
/// starve the clock that enforces deadlines. It ends with the engine.
fn start_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("launchplane-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(error) = spawned {
        // Without a ticker no deadline could ever fire; refuse loudly rather
        // than run guests unbounded.
        panic!("cannot start the epoch ticker thread: {error}");
    }
}
