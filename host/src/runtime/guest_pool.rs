//! The threads guest code runs on, apart from the threads that serve HTTP.
//!
//! A driver is untrusted CPU: a runaway loop runs until its deadline, and
//! the epoch callback only yields every tick. Run on the request runtime,
//! such a guest holds one of its workers between ticks and competes for
//! the cores with the host's own work (authentication, records, health),
//! so every other route's tail latency rises with it. The guest pool keeps
//! that work apart:
//!
//! - guests execute on threads of their own, so a spinning guest never
//!   occupies a worker that serves requests;
//! - each guest thread is a single-threaded executor, and an invocation
//!   stays on the thread it was placed on. A work-stealing runtime wakes an
//!   idle worker every time a task yields, so it can steal it; a runaway
//!   yields on every epoch tick, which made the idle guest thread wake
//!   100 times a second for nothing. On the benchmark's 2-vCPU machine
//!   those wake-ups alone raised `/v1/health` p99 under a runaway from
//!   about what a native spinning thread costs (1.06× that control, mean
//!   of six runs) to 1.29× (docs/performance.md, section 5);
//! - placement prefers the thread with the fewest long-running invocations,
//!   then the fewest in flight, so a short invocation does not queue
//!   behind a runaway while another thread is free of one;
//! - on Linux the threads can run at a lower scheduling priority (a higher
//!   nice value, `--guest-nice`), so when the cores are contended the
//!   kernel prefers the host's threads.
//!
//! Confining the thread of a long-running invocation to a few cores of
//! its own (the host's threads kept off them) was tried and removed: over
//! eight alternating pairs it did not change `/v1/health`'s p99 ratio
//! under a runaway beyond the spread (docs/performance.md, section 5).
//!
//! Renicing the guest threads (+10, +19), `SCHED_IDLE` and short EEVDF
//! slices for the request threads did not move the benchmark within the
//! noise; renicing also added about 0.25 ms to every invocation's latency
//! at concurrency 1 (a niced thread waits longer to be scheduled when it
//! is woken), so the default increment is 0.
//!
//! Host calls a guest makes (records, provider, probe, hooks) are sent back
//! to the runtime that admitted the invocation (see `host_imports`): they
//! hold database transactions and provider connections, and must neither
//! run at the guests' lower priority nor register their I/O with this pool.
#![allow(
    unsafe_code,
    reason = "setpriority/getpriority system calls for the guest threads"
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
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

/// The largest nice increment: Linux's lowest priority is nice 19.
pub const MAX_GUEST_NICE: i32 = 19;

/// The guest threads. Dropping the pool stops them without waiting for the
/// guests on them (their deadlines bound them anyway).
pub(crate) struct GuestPool {
    workers: Vec<GuestWorker>,
    /// A single poll that takes this long marks its invocation as
    /// long-running: half an epoch tick. Guest code returns to the executor
    /// on every tick, so only a guest that computes through most of one
    /// polls this long.
    long_poll: Duration,
}

/// One guest thread: a single-threaded executor and what is placed on it.
struct GuestWorker {
    handle: Handle,
    load: Arc<WorkerLoad>,
    /// Ends the thread's executor when sent or dropped.
    stop: Option<oneshot::Sender<()>>,
}

/// What a placement decision reads, updated by the tasks themselves.
#[derive(Default)]
struct WorkerLoad {
    in_flight: AtomicUsize,
    long_running: AtomicUsize,
}

impl GuestPool {
    /// Starts the guest threads; `epoch_tick` is the engine's (see
    /// `engine`), which bounds how long guest code runs between yields.
    pub(crate) fn new(config: GuestPoolConfig, epoch_tick: Duration) -> std::io::Result<Self> {
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        if !(0..=MAX_GUEST_NICE).contains(&config.nice) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "guest nice increment {} is outside 0..={MAX_GUEST_NICE}",
                    config.nice
                ),
            ));
        }
        let workers = (0..threads)
            .map(|_| GuestWorker::start(config.nice))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(GuestPool {
            workers,
            long_poll: epoch_tick / 2,
        })
    }

    /// Worker threads in the pool.
    pub(crate) fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Runs `future` on the least loaded guest thread, where it stays. The
    /// handle aborts the task when dropped, so a request that goes away
    /// takes its guest with it, as it would have on the request runtime.
    pub(crate) fn spawn<F>(&self, future: F) -> AbortOnDrop<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let worker = self.least_loaded();
        let tracked = Tracked::new(future, worker.load.clone(), self.long_poll);
        AbortOnDrop(worker.handle.spawn(tracked))
    }

    /// Fewest long-running invocations first, then fewest in flight; ties
    /// go to the lowest index, so a lightly loaded service keeps its short invocations on
    /// one warm thread.
    fn least_loaded(&self) -> &GuestWorker {
        let mut best = &self.workers[0];
        let mut best_key = best.load.key();
        for worker in &self.workers[1..] {
            let key = worker.load.key();
            if key < best_key {
                (best, best_key) = (worker, key);
            }
        }
        best
    }
}

impl GuestWorker {
    fn start(nice: i32) -> std::io::Result<GuestWorker> {
        let (started, handle) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("launchplane-guest".into())
            .spawn(move || {
                lower_priority(nice);
                let runtime = Builder::new_current_thread()
                    // A task woken from another thread (a new invocation, a
                    // host call's answer) waits in the remote queue, which
                    // tokio checks only every 31st task by default: behind
                    // a runaway that yields each tick, that is 310 ms.
                    .global_queue_interval(1)
                    // Timers and I/O, likewise, are polled every 61st task
                    // by default; a guest waiting on a WASI clock beside a
                    // runaway would wake up to 610 ms late.
                    .event_interval(1)
                    // Time for deadlines and WASI clocks. I/O is enabled only
                    // so a path that reaches for it degrades instead of
                    // panicking; host I/O is sent back to the admitting
                    // runtime.
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started.send(Err(error));
                        return;
                    }
                };
                if started.send(Ok(runtime.handle().clone())).is_err() {
                    return;
                }
                // Runs the placed tasks until the pool goes away; dropping
                // the runtime then drops whatever is still placed here.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                drop(runtime);
            })?;
        let handle = handle
            .recv()
            .map_err(|_| std::io::Error::other("a guest thread ended while starting"))??;
        Ok(GuestWorker {
            handle,
            load: Arc::new(WorkerLoad::default()),
            stop: Some(stop),
        })
    }
}

impl Drop for GuestPool {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            if let Some(stop) = worker.stop.take() {
                let _ = stop.send(());
            }
        }
    }
}

impl WorkerLoad {
    /// Placement order: fewest long-running, then fewest in flight.
    fn key(&self) -> (usize, usize) {
        (
            self.long_running.load(Ordering::Relaxed),
            self.in_flight.load(Ordering::Relaxed),
        )
    }
}

/// A placed task: counts itself in its worker's load from placement until
/// it ends (completed, aborted or dropped with the pool), and as
/// long-running once one of its polls takes `long_poll`.
struct Tracked<F> {
    future: Pin<Box<F>>,
    load: Arc<WorkerLoad>,
    long_poll: Duration,
    long_running: bool,
}

impl<F> Tracked<F> {
    fn new(future: F, load: Arc<WorkerLoad>, long_poll: Duration) -> Self {
        load.in_flight.fetch_add(1, Ordering::Relaxed);
        Tracked {
            future: Box::pin(future),
            load,
            long_poll,
            long_running: false,
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = Instant::now();
        let outcome = self.future.as_mut().poll(cx);
        if outcome.is_pending() && !self.long_running && started.elapsed() >= self.long_poll {
            self.long_running = true;
            self.load.long_running.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        self.load.in_flight.fetch_sub(1, Ordering::Relaxed);
        if self.long_running {
            self.load.long_running.fetch_sub(1, Ordering::Relaxed);
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
    // The call keeps the invocation's span (and so the request's trace id)
    // on the runtime it moves to.
    let future = tracing::Instrument::instrument(future, tracing::Span::current());
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
        libc::setpriority(
            libc::PRIO_PROCESS,
            0,
            (current + increment).min(MAX_GUEST_NICE),
        )
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
    use std::sync::atomic::AtomicBool;

    const TICK: Duration = Duration::from_millis(10);

    fn pool(threads: usize) -> GuestPool {
        GuestPool::new(GuestPoolConfig { threads, nice: 0 }, TICK).expect("pool")
    }

    /// Stands in for a runaway guest: each poll computes for `per_poll`,
    /// then yields the way the epoch callback does (wake, then pending).
    struct Spinner {
        per_poll: Duration,
        polls: Arc<AtomicUsize>,
        stop: Arc<AtomicBool>,
    }

    impl Future for Spinner {
        type Output = std::thread::ThreadId;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.stop.load(Ordering::Relaxed) {
                return Poll::Ready(std::thread::current().id());
            }
            let started = Instant::now();
            while started.elapsed() < self.per_poll {
                std::hint::spin_loop();
            }
            self.polls.fetch_add(1, Ordering::Relaxed);
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn spinner(per_poll: Duration) -> (Spinner, Arc<AtomicUsize>, Arc<AtomicBool>) {
        let (polls, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let spinner = Spinner {
            per_poll,
            polls: polls.clone(),
            stop: stop.clone(),
        };
        (spinner, polls, stop)
    }

    async fn wait_until(what: &str, condition: impl Fn() -> bool) {
        let waited = Instant::now();
        while !condition() {
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    #[tokio::test]
    async fn a_short_invocation_is_placed_away_from_a_long_running_one() {
        let pool = pool(2);
        let (runaway, polls, stop) = spinner(TICK);
        let runaway = pool.spawn(runaway);
        wait_until("the runaway to count as long-running", || {
            polls.load(Ordering::Relaxed) >= 1 && pool.workers.iter().any(|w| w.load.key().0 == 1)
        })
        .await;
        // One short invocation in flight on the free thread...
        let (release, held) = oneshot::channel::<()>();
        let first = pool.spawn(async move {
            let _ = held.await;
            std::thread::current().id()
        });
        wait_until("the first short invocation to be placed", || {
            pool.workers.iter().map(|w| w.load.key().1).sum::<usize>() == 2
        })
        .await;
        // ...and a second one still goes there: a thread with one short
        // invocation is a better place than a thread with a runaway, though
        // each has one in flight.
        let second = pool
            .spawn(async { std::thread::current().id() })
            .await
            .expect("second");
        release.send(()).expect("first still waiting");
        let first = first.await.expect("first");
        stop.store(true, Ordering::Relaxed);
        let runaway = runaway.await.expect("runaway");
        assert_eq!(
            first, second,
            "both short invocations share the free thread"
        );
        assert_ne!(
            first, runaway,
            "no short invocation is placed behind the runaway"
        );
    }

    #[tokio::test]
    async fn a_task_placed_beside_a_runaway_runs_at_its_next_yield() {
        let pool = pool(1);
        let (runaway, polls, stop) = spinner(Duration::from_millis(1));
        let runaway = pool.spawn(runaway);
        wait_until("the runaway to start", || {
            polls.load(Ordering::Relaxed) >= 1
        })
        .await;
        let placed_at = polls.load(Ordering::Relaxed);
        let polls_seen = polls.clone();
        let ran_at = pool
            .spawn(async move { polls_seen.load(Ordering::Relaxed) })
            .await
            .expect("short task");
        stop.store(true, Ordering::Relaxed);
        runaway.await.expect("runaway");
        // tokio's default would let the runaway run 31 polls first.
        assert!(
            ran_at - placed_at <= 2,
            "the short task waited {} runaway polls",
            ran_at - placed_at
        );
    }

    #[tokio::test]
    async fn finished_and_aborted_invocations_leave_the_load() {
        let pool = pool(1);
        pool.spawn(async {}).await.expect("joined");
        let (runaway, polls, _stop) = spinner(TICK);
        let runaway = pool.spawn(runaway);
        let counts = || pool.workers[0].load.key();
        wait_until("the runaway to count as long-running", || {
            polls.load(Ordering::Relaxed) >= 1 && counts() == (1, 1)
        })
        .await;
        drop(runaway);
        wait_until("the aborted runaway to leave", || counts() == (0, 0)).await;
    }

    #[tokio::test]
    async fn guests_run_on_the_pool_threads() {
        let pool = pool(1);
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
        let pool = GuestPool::new(
            GuestPoolConfig {
                threads: 1,
                nice: 5,
            },
            TICK,
        )
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
        let error = GuestPool::new(
            GuestPoolConfig {
                threads: 1,
                nice: 20,
            },
            TICK,
        )
        .err()
        .expect("refused");
        assert!(error.to_string().contains("0..=19"), "{error}");
    }

    #[tokio::test]
    async fn dropping_the_handle_aborts_the_guest_task() {
        let pool = pool(1);
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
        let pool = pool(1);
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
