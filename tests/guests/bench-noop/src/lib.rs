//! The benchmark's driver (`cargo xtask bench`): a no-op action to measure
//! what dispatching to Wasm costs over a native handler behind the same
//! layers, an action that holds memory for a while (peak RSS with many
//! live instances), and a runaway loop (isolation).
use launchplane_sdk::prelude::*;

/// Every action is instance-scoped (the payload names the lane) and
/// read-only: none changes what runs on a lane, so none takes the lane
/// lease an in-request mutation holds, and many run on one lane at once.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lane {
    pub instance: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    pub instance: String,
    /// MiB of linear memory to allocate and touch.
    pub mib: u32,
    /// How long to keep the instance alive, in milliseconds.
    pub ms: u32,
}

/// Does nothing: the measured cost is the host's.
fn noop(_ctx: &Ctx<'_>, _req: Lane) -> Result<Reply<Value>, DriverError> {
    Ok(Reply::new(json!({})))
}

/// Allocates and touches `mib` MiB, sleeps `ms` (a host clock wait, which
/// yields the host thread) and reports the instance's linear memory size.
fn hold(_ctx: &Ctx<'_>, req: Hold) -> Result<Reply<Value>, DriverError> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    for _ in 0..req.mib {
        chunks.push(std::hint::black_box(vec![1u8; 1024 * 1024]));
    }
    std::thread::sleep(std::time::Duration::from_millis(u64::from(req.ms)));
    Ok(Reply::new(json!({
        "allocated_mib": chunks.len(),
        "memory_bytes": memory_bytes(),
    })))
}

#[cfg(target_arch = "wasm32")]
fn memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65_536
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_bytes() -> u64 {
    0
}

/// Never returns: the host's deadline must stop it.
fn spin(_ctx: &Ctx<'_>, _req: Lane) -> Result<Reply<Value>, DriverError> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

pub fn driver() -> Driver {
    Driver::new("bench-noop", "Benchmark driver")
        .action(
            Action::post("noop", "noop")
                .safety(Safety::Read)
                .authz("bench_noop.execute")
                .envelope("noop")
                .handler(noop),
        )
        .action(
            Action::post("hold", "hold")
                .safety(Safety::Read)
                .authz("bench_hold.execute")
                .envelope("hold")
                .handler(hold),
        )
        .action(
            Action::post("spin", "spin")
                .safety(Safety::Read)
                .authz("bench_spin.execute")
                .envelope("spin")
                .handler(spin),
        )
}

launchplane_sdk::export_driver!(driver);
