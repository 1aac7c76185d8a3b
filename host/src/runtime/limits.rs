//! Per-driver resource limits.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::ResourceLimiter;

/// Limits for one driver, from its registry entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DriverLimits {
    /// Linear memory cap per invocation, in MiB.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// Wall-clock budget per invocation (guest execution and host calls).
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

fn default_memory_mib() -> u64 {
    64
}

fn default_deadline_ms() -> u64 {
    30_000
}

impl Default for DriverLimits {
    fn default() -> Self {
        DriverLimits {
            memory_mib: default_memory_mib(),
            deadline_ms: default_deadline_ms(),
        }
    }
}

impl DriverLimits {
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// The limiter for one invocation.
    pub fn limiter(&self) -> InvocationLimiter {
        InvocationLimiter {
            memory_cap: self.memory_bytes(),
            exceeded: false,
        }
    }
}

/// The memory cap was reached; carried as the trap's error so the host can
/// tell this apart from any other trap.
#[derive(Debug, thiserror::Error)]
#[error("driver exceeded its memory cap of {cap} bytes (asked for {desired})")]
pub struct MemoryCapExceeded {
    pub cap: usize,
    pub desired: usize,
}

/// Enforces the per-invocation memory cap. Growth past the cap traps
/// instead of failing softly, so a runaway allocation ends the invocation at
/// once rather than leaving the guest to handle `memory.grow == -1`.
#[derive(Debug)]
pub struct InvocationLimiter {
    memory_cap: usize,
    exceeded: bool,
}

impl InvocationLimiter {
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl ResourceLimiter for InvocationLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.exceeded = true;
            return Err(MemoryCapExceeded {
                cap: self.memory_cap,
                desired,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        32
    }

    fn memories(&self) -> usize {
        4
    }
}

const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// The invocation ran past its wall-clock budget; carried as the trap's
/// error (epoch callback) or returned when a host call outlives it.
#[derive(Debug, thiserror::Error)]
#[error("driver exceeded its deadline of {deadline_ms} ms")]
pub struct DeadlineExceeded {
    pub deadline_ms: u64,
}
