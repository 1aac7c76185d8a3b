//! The threads guest code runs on, apart from the threads that serve HTTP.
//!
//! A driver is untrusted CPU: a runaway loop runs until its deadline, and
//! the epoch callback only yields every tick. Run on the request runtime,
//! such a guest holds one of its workers between ticks and competes for
//! the cores with the host's own work (authentication, records, health),
//! so every other route's tail latency rises with it. The guest pool keeps
//! that work apart twice over:
//!
//! - guests execute on a runtime of their own, so a spinning guest never
//!   occupies a worker that serves requests;
//! - on Linux its threads can run at a lower scheduling priority (a higher
//!   nice value, `--guest-nice`), so when the cores are contended the kernel
//!   prefers the host's threads.
//!
//! The benchmark (docs/performance.md, section 5) measured the first to
//! matter: with a runaway guest looping, `/v1/health` p99 went from 7.4×
//! its idle p99 (guests on the request runtime) to 1.4–3.0×, about what a
//! native thread spinning on one of the same two cores costs in the same
//! runs (the benchmark measures that control side by side).
//! Renicing the guest threads (+10, +19), `SCHED_IDLE` and short EEVDF
//! slices for the request threads did not move that further within the
//! noise; renicing also added about 0.25 ms to every invocation's latency
//! at concurrency 1 (a niced thread waits longer to be scheduled when it
//! is woken), so the default increment is 0.
//!
//! Host calls a guest makes (records, provider, probe, hooks) are sent back
//! to the runtime that admitted the invocation (see `host_imports`): they
//! hold database transactions and provider connections, and must neither
//! run at the guests' lower priority nor register their I/O with this pool.

use std::future::Future;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

/// How the guest pool is sized and scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPoolConfig {
    /// Worker threads executing guest code; 0 means one per available core.
    pub threads: usize,
    /// How much lower than the host's the guests' scheduling priority is, as
    /// a nice increment (0..=19; 0 keeps the host's priority). Linux only;
    /// elsewhere the value is ignored.
    pub nice: i32,
}

impl Default for GuestPoolConfig {
    fn default() -> Self {
        GuestPoolConfig {
            threads: 0,
            nice: DEFAULT_GUEST_NICE,
        }
    }
}

/// No renicing by default; see the module docs for the measurement. An
/// operator who runs CPU-heavy drivers beside latency-sensitive traffic can
/// raise it (+10 gives a guest thread about a tenth of a host thread's CPU
/// share under contention).
pub const DEFAULT_GUEST_NICE: i32 = 0;

/// The guest runtime. Dropping it stops its threads without waiting for the
/// guests on them (their deadlines bound them anyway).
pub(crate) struct GuestPool {
    runtime: Option<Runtime>,
    threads: usize,
}

impl GuestPool {
    pub(crate) fn new(config: GuestPoolConfig) -> std::io::Result<Self> {
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        if !(0..=19).contains(&config.nice) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("guest nice increment {} is outside 0..=19", config.nice),
            ));
        }
        let nice = config.nice;
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("launchplane-guest")
            // Time for deadlines and WASI clocks. I/O is enabled only so a
            // path that reaches for it degrades instead of panicking; host
            // I/O is sent back to the admitting runtime.
            .enable_all()
            .on_thread_start(move || lower_priority(nice))
            .build()?;
        Ok(GuestPool {
            runtime: Some(runtime),
            threads,
        })
    }

    /// Worker threads in the pool.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `future` on the pool. The handle aborts the task when dropped,
    /// so a request that goes away takes its guest with it, as it would
    /// have on the request runtime.
    pub(crate) fn spawn<F>(&self, future: F) -> AbortOnDrop<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = match &self.runtime {
            Some(runtime) => runtime.spawn(future),
            // Unreachable while `self` is alive; spawning on the caller's
            // runtime keeps the invocation correct if it ever happens.
            None => tokio::spawn(future),
        };
        AbortOnDrop(handle)
    }
}

impl Drop for GuestPool {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime blocks, which is refused inside another
            // runtime (and impossible inside itself); shut it down from a
            // thread of its own instead.
            let _ = std::thread::Builder::new()
                .name("launchplane-guest-shutdown".into())
                .spawn(move || runtime.shutdown_background());
        }
    }
}

/// A task handle that aborts its task when dropped.
pub(crate) struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `future` on `host` (the runtime that admitted the invocation) and
/// waits for it; without one, runs it in place.
pub(crate) async fn on_host<F>(host: Option<&Handle>, future: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match host {
        Some(handle) => AbortOnDrop(handle.spawn(future))
            .await
            .map_err(|e| format!("host call did not complete: {e}")),
        None => Ok(future.await),
    }
}

/// Raises the calling thread's nice value by `increment`. On Linux the
/// nice value is per thread, so this touches only the guest worker.
#[cfg(target_os = "linux")]
fn lower_priority(increment: i32) {
    if increment == 0 {
        return;
    }
    // SAFETY: getpriority/setpriority read and write a scheduling attribute
    // of the calling thread (who = 0); no memory is shared with the kernel.
    let outcome = unsafe {
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, 0, (current + increment).min(19))
    };
    if outcome != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "cannot lower the guest threads' priority; guests compete with the host at equal priority"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_increment: i32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn guests_run_on_the_pool_threads() {
        let pool = GuestPool::new(GuestPoolConfig {
            threads: 1,
            nice: 0,
        })
        .expect("pool");
        let name = pool
            .spawn(async { std::thread::current().name().map(str::to_string) })
            .await
            .expect("joined");
        assert_eq!(name.as_deref(), Some("launchplane-guest"));
        assert_eq!(pool.threads(), 1);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn guest_threads_run_at_a_lower_priority_than_the_host() {
        // SAFETY: reads the calling thread's nice value.
        let host = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let pool = GuestPool::new(GuestPoolConfig {
            threads: 1,
            nice: 5,
        })
        .expect("pool");
        let guest = pool
            // SAFETY: as above, on the guest thread.
            .spawn(async { unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) } })
            .await
            .expect("joined");
        assert_eq!(guest, (host + 5).min(19), "host nice {host}");
        // SAFETY: as above; the test's own thread must be unchanged.
        let after = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        assert_eq!(after, host, "only the guest thread is reniced");
    }

    #[test]
    fn a_nice_increment_outside_the_range_is_refused() {
        let error = GuestPool::new(GuestPoolConfig {
            threads: 1,
            nice: 20,
        })
        .err()
        .expect("refused");
        assert!(error.to_string().contains("0..=19"), "{error}");
    }

    #[tokio::test]
    async fn dropping_the_handle_aborts_the_guest_task() {
        let pool = GuestPool::new(GuestPoolConfig {
            threads: 1,
            nice: 0,
        })
        .expect("pool");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = pool.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            drop(tx);
        });
        drop(handle);
        // The task was aborted, so its sender is dropped long before 60 s.
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), rx).await;
        assert!(matches!(closed, Ok(Err(_))), "task still running");
    }

    #[tokio::test]
    async fn host_calls_run_on_the_admitting_runtime() {
        let pool = GuestPool::new(GuestPoolConfig {
            threads: 1,
            nice: 0,
        })
        .expect("pool");
        let host = Handle::current();
        let name = pool
            .spawn(async move {
                on_host(Some(&host), async {
                    std::thread::current().name().map(str::to_string)
                })
                .await
            })
            .await
            .expect("joined")
            .expect("host call");
        assert_ne!(name.as_deref(), Some("launchplane-guest"));
    }
}
