//! Runaway guests on a few cores of their own, the host's threads off them.
//!
//! The guest pool keeps a spinning guest off the threads that serve
//! requests, but not off their cores: the kernel still places host threads
//! on the core a runaway occupies, where they wait for it to be preempted.
//! On the benchmark's 2-vCPU machine that doubled `/v1/health`'s p99 under
//! a runaway, and neither priority (nice, `SCHED_IDLE`) nor short slices
//! changed it; a native thread spinning on one core cost the same. Keeping
//! the host's threads on the other core did (docs/performance.md,
//! section 5).
//!
//! So, while at least one guest thread runs a long-running invocation (one
//! that computed through half an epoch tick in a single poll; see
//! `guest_pool`), that thread is *confined* to the quarantine cores (the
//! last `k` of the cores the process may use), and every other registered
//! thread (the request runtime's workers, the epoch ticker, the other guest
//! threads) runs on the remaining cores. When the last long-running
//! invocation ends, and [`LINGER`] has passed without another one starting,
//! every registered thread gets all the cores back. Short invocations never
//! touch any of this: only the start and the end of a long-running
//! invocation (and the linger's expiry) change an affinity.
//!
//! The linger is for a runaway invoked again and again, the case
//! isolation is about: without it every invocation paid two repartitions
//! (every registered thread migrated off the quarantine cores and back),
//! and the next invocation computed unconfined, wherever the kernel put
//! it, until its first poll ended and marked it long-running: up to an
//! epoch tick on the host's cores, every few hundred milliseconds. With
//! it, the thread that ran the runaway stays on the quarantine cores for a
//! moment, the next invocation is placed there (placement prefers the thread
//! that just ran one, see `guest_pool`), and the host keeps its cores.
//!
//! The price: while a runaway runs, the host's work has `n - k` cores
//! instead of `n` (on 2 cores, one; which is what the runaway left it
//! anyway), and CPU-heavy guests share `k` cores between them.
//!
//! Thread affinity belongs to the process, not to a runtime, so the
//! registry is process-wide: runtimes register their threads with
//! [`host_thread_started`] / [`host_thread_stopped`] (tokio's
//! `on_thread_start` / `on_thread_stop`). A thread nobody registered keeps
//! whatever affinity it has; one spawned by a registered thread while a
//! runaway is confined inherits the remaining cores. Linux only; elsewhere
//! every function here does nothing.
#![allow(
    unsafe_code,
    reason = "gettid and sched_getaffinity/sched_setaffinity system calls"
)]

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a guest thread stays confined after its last long-running
/// invocation ended, so a runaway invoked back to back does not
/// repartition the cores twice per invocation. Long enough to span a
/// client's round trip and the next request's admission; short enough
/// that the host gets its cores back soon after CPU-heavy work stops.
pub(crate) const LINGER: Duration = Duration::from_millis(100);

/// How many cores long-running guests are confined to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuarantineCpus {
    /// A quarter of the cores the process may use, at least one; off on a
    /// single core, where there is nothing to partition.
    #[default]
    Auto,
    /// No confinement: guests and host share every core.
    Off,
    /// This many cores (at least one, fewer than the cores available).
    Cpus(usize),
}

impl std::str::FromStr for QuarantineCpus {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "auto" => Ok(QuarantineCpus::Auto),
            "off" | "0" => Ok(QuarantineCpus::Off),
            count => match count.parse::<usize>() {
                Ok(n) => Ok(QuarantineCpus::Cpus(n)),
                Err(_) => Err(format!(
                    "`{count}` is not `auto`, `off` or a number of cores"
                )),
            },
        }
    }
}

impl std::fmt::Display for QuarantineCpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuarantineCpus::Auto => f.write_str("auto"),
            QuarantineCpus::Off => f.write_str("off"),
            QuarantineCpus::Cpus(n) => write!(f, "{n}"),
        }
    }
}

/// The cores, split once per process by the first guest pool that asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    all: Vec<usize>,
    quarantine: Vec<usize>,
    rest: Vec<usize>,
}

impl Split {
    /// Splits `allowed` (sorted core ids): the last cores are the
    /// quarantine. `None` when there is nothing to split.
    fn new(allowed: &[usize], wanted: QuarantineCpus) -> Result<Option<Split>, String> {
        let n = allowed.len();
        let k = match wanted {
            QuarantineCpus::Off => return Ok(None),
            QuarantineCpus::Auto if n < 2 => return Ok(None),
            QuarantineCpus::Auto => (n / 4).max(1),
            QuarantineCpus::Cpus(k) if k == 0 || k >= n => {
                return Err(format!(
                    "cannot confine long-running guests to {k} of the {n} cores this process may use (1..={})",
                    n.saturating_sub(1)
                ));
            }
            QuarantineCpus::Cpus(k) => k,
        };
        Ok(Some(Split {
            all: allowed.to_vec(),
            quarantine: allowed[n - k..].to_vec(),
            rest: allowed[..n - k].to_vec(),
        }))
    }

    /// The cores long-running guests are confined to.
    pub(crate) fn quarantine(&self) -> &[usize] {
        &self.quarantine
    }
}

/// An OS thread id.
pub(crate) type Tid = i32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Host,
    /// A guest thread, how many long-running invocations it runs, and,
    /// once the last has ended, until when it stays confined.
    Guest {
        long_running: usize,
        lingers_until: Option<Instant>,
    },
}

impl Role {
    /// A guest thread before its first long-running invocation.
    const GUEST: Role = Role::Guest {
        long_running: 0,
        lingers_until: None,
    };
}

/// Which threads are registered and which are confined. Its methods
/// return the affinity changes to make, so the bookkeeping is tested
/// without touching the process's threads or waiting for the clock.
struct Registry {
    threads: HashMap<Tid, Role>,
    /// Guest threads on the quarantine cores: running a long-running
    /// invocation, or lingering after one.
    confined: usize,
    linger: Duration,
}

/// One affinity change: thread, cores.
type Pin<'a> = (Tid, &'a [usize]);

impl Registry {
    fn register<'a>(&mut self, tid: Tid, role: Role, split: &'a Split) -> Vec<Pin<'a>> {
        self.threads.insert(tid, role);
        // Explicitly, so a thread spawned during a confinement does not
        // keep the remaining cores it inherited once the confinement ends.
        let cores = if self.confined > 0 {
            &split.rest
        } else {
            &split.all
        };
        vec![(tid, cores)]
    }

    fn unregister<'a>(&mut self, tid: Tid, split: &'a Split) -> Vec<Pin<'a>> {
        match self.threads.remove(&tid) {
            Some(role) if is_confined(&role) => self.release(split).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn new(linger: Duration) -> Registry {
        Registry {
            threads: HashMap::new(),
            confined: 0,
            linger,
        }
    }

    fn long_running_started<'a>(&mut self, tid: Tid, split: &'a Split) -> Vec<Pin<'a>> {
        let Some(Role::Guest {
            long_running,
            lingers_until,
        }) = self.threads.get_mut(&tid)
        else {
            return Vec::new();
        };
        *long_running += 1;
        // Still confined from its last one: nothing moves.
        if lingers_until.take().is_some() || *long_running > 1 {
            return Vec::new();
        }
        self.confined += 1;
        let mut pins = vec![(tid, split.quarantine.as_slice())];
        if self.confined == 1 {
            pins.extend(
                self.threads
                    .iter()
                    .filter(|&(&other, role)| other != tid && !is_confined(role))
                    .map(|(&other, _)| (other, split.rest.as_slice())),
            );
        }
        pins
    }

    /// The thread's last long-running invocation ending starts its linger;
    /// [`Registry::expire`] releases it once that has passed.
    fn long_running_ended<'a>(&mut self, tid: Tid, now: Instant, split: &'a Split) -> Vec<Pin<'a>> {
        let linger = self.linger;
        let Some(Role::Guest {
            long_running,
            lingers_until,
        }) = self.threads.get_mut(&tid)
        else {
            return Vec::new();
        };
        if *long_running == 0 {
            return Vec::new();
        }
        *long_running -= 1;
        if *long_running > 0 {
            return Vec::new();
        }
        if !linger.is_zero() {
            *lingers_until = Some(now + linger);
            return Vec::new();
        }
        self.release_thread(tid, split)
    }

    /// Releases every thread whose linger has passed by `now`; returns the
    /// affinity changes and the earliest linger still running, if any.
    fn expire<'a>(&mut self, now: Instant, split: &'a Split) -> (Vec<Pin<'a>>, Option<Instant>) {
        let mut expired = Vec::new();
        let mut next: Option<Instant> = None;
        for (&tid, role) in &mut self.threads {
            if let Role::Guest {
                lingers_until: lingers @ Some(_),
                ..
            } = role
            {
                match *lingers {
                    Some(until) if until <= now => {
                        *lingers = None;
                        expired.push(tid);
                    }
                    Some(until) => next = Some(next.map_or(until, |n| n.min(until))),
                    None => {}
                }
            }
        }
        let mut pins = Vec::new();
        for tid in expired {
            pins.extend(self.release_thread(tid, split));
        }
        (pins, next)
    }

    /// Confined thread `tid` is no longer: everyone gets every core back if
    /// it was the last, else it joins the host's cores.
    fn release_thread<'a>(&mut self, tid: Tid, split: &'a Split) -> Vec<Pin<'a>> {
        self.release(split)
            .unwrap_or_else(|| vec![(tid, split.rest.as_slice())])
    }

    /// One confined thread is no longer: when it was the last, every
    /// registered thread gets all the cores back (`Some`); otherwise the
    /// confinement stays and the caller decides about that thread (`None`).
    fn release<'a>(&mut self, split: &'a Split) -> Option<Vec<Pin<'a>>> {
        self.confined -= 1;
        (self.confined == 0).then(|| {
            self.threads
                .keys()
                .map(|&tid| (tid, split.all.as_slice()))
                .collect()
        })
    }
}

fn is_confined(role: &Role) -> bool {
    matches!(role, Role::Guest { long_running, lingers_until } if *long_running > 0 || lingers_until.is_some())
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);
/// Wakes the thread that ends lingers ([`expire_lingers`]).
static LINGERING: Condvar = Condvar::new();
static SPLIT: OnceLock<Option<Split>> = OnceLock::new();

/// Runs `change` on the registry and applies the affinity changes it
/// returns, under the lock, so changes from two threads cannot interleave.
///
/// Threads register before any guest pool has split the cores (the
/// request runtime is built first), so the bookkeeping runs without a
/// split too, against one with no cores, and changes nothing.
fn update<T>(change: impl FnOnce(&mut Registry, &'static Split) -> (Vec<Pin<'static>>, T)) -> T {
    static NO_SPLIT: Split = Split {
        all: Vec::new(),
        quarantine: Vec::new(),
        rest: Vec::new(),
    };
    let split = SPLIT.get().and_then(Option::as_ref).unwrap_or(&NO_SPLIT);
    // A panic while holding the lock leaves a consistent map (each update
    // is an insert, a removal or a counter change), so keep using it.
    let mut guard = REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let registry = guard.get_or_insert_with(|| Registry::new(LINGER));
    let (pins, out) = change(registry, split);
    for (tid, cores) in pins {
        if !cores.is_empty() {
            os::pin(tid, cores);
        }
    }
    out
}

/// The body of the thread that ends lingers: sleeps until the earliest
/// linger is due (or until told a new one began), releases what is due.
/// Started with the first linger; it lives as long as the process, idle
/// on its condition variable between runaways.
fn expire_lingers() {
    // One of the host's threads: off the quarantine cores while a runaway
    // is there (it was spawned by a confined guest thread, whose cores it
    // inherited).
    host_thread_started();
    let mut guard = REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let next = match (guard.as_mut(), SPLIT.get().and_then(Option::as_ref)) {
            (Some(registry), Some(split)) => {
                let (pins, next) = registry.expire(Instant::now(), split);
                for (tid, cores) in pins {
                    os::pin(tid, cores);
                }
                next
            }
            _ => None,
        };
        guard = match next {
            Some(until) => {
                let wait = until.saturating_duration_since(Instant::now());
                LINGERING
                    .wait_timeout(guard, wait)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0
            }
            None => LINGERING
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        };
    }
}

/// Splits the cores for the process: the first caller's setting wins (a
/// process runs one service). Returns the split in force, `None` when
/// confinement is off.
pub(crate) fn configure(wanted: QuarantineCpus) -> Result<Option<&'static Split>, String> {
    if let Some(split) = SPLIT.get() {
        return Ok(split.as_ref());
    }
    let allowed = match os::allowed_cpus() {
        Ok(allowed) => allowed,
        Err(error) if wanted == QuarantineCpus::Auto => {
            tracing::warn!(%error, "cannot read the cores this process may use; long-running guests are not confined");
            Vec::new()
        }
        Err(error) => {
            return Err(format!(
                "cannot read the cores this process may use: {error}"
            ));
        }
    };
    let split = Split::new(&allowed, wanted)?;
    let in_force = SPLIT.get_or_init(|| split).as_ref();
    if let Some(split) = in_force {
        tracing::info!(
            quarantine = ?split.quarantine(),
            host = ?split.rest,
            "long-running guests will be confined to the quarantine cores"
        );
    }
    Ok(in_force)
}

/// Registers the calling thread as one of the host's: it stays off the
/// quarantine cores while a long-running guest is confined there. For a
/// runtime's `on_thread_start`.
pub fn host_thread_started() {
    let tid = os::current_tid();
    update(|registry, split| (registry.register(tid, Role::Host, split), ()));
}

/// Forgets the calling thread. For a runtime's `on_thread_stop`.
pub fn host_thread_stopped() {
    let tid = os::current_tid();
    update(|registry, split| (registry.unregister(tid, split), ()));
}

/// Registers the calling thread as a guest thread; returns its id.
pub(crate) fn guest_thread_started() -> Tid {
    let tid = os::current_tid();
    update(|registry, split| (registry.register(tid, Role::GUEST, split), ()));
    tid
}

/// Forgets a guest thread that is ending; releases it if confined.
pub(crate) fn guest_thread_stopped(tid: Tid) {
    update(|registry, split| (registry.unregister(tid, split), ()));
}

/// A long-running invocation started on guest thread `tid`: confine the
/// thread, and move everything else off its cores if it is the first.
pub(crate) fn long_running_started(tid: Tid) {
    update(|registry, split| (registry.long_running_started(tid, split), ()));
}

/// A long-running invocation on guest thread `tid` ended: once [`LINGER`]
/// has passed without another, release the thread, and give every thread
/// all the cores back if it was the last.
pub(crate) fn long_running_ended(tid: Tid) {
    let now = Instant::now();
    let lingering = update(|registry, split| {
        let pins = registry.long_running_ended(tid, now, split);
        let lingering = matches!(
            registry.threads.get(&tid),
            Some(Role::Guest {
                lingers_until: Some(_),
                ..
            })
        );
        (pins, lingering)
    });
    if lingering {
        start_expiring_lingers();
        LINGERING.notify_one();
    }
}

/// Starts the thread that ends lingers, once per process.
fn start_expiring_lingers() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("launchplane-cpu-linger".into())
            .spawn(expire_lingers);
        if let Err(error) = spawned {
            // Without it a lingering thread would stay confined until the
            // next long-running invocation on it; say so, and go on.
            tracing::warn!(%error, "cannot start the thread that gives confined guests their cores back");
        }
    });
}

#[cfg(target_os = "linux")]
mod os {
    use super::Tid;
    use std::sync::atomic::{AtomicBool, Ordering};

    pub(super) fn current_tid() -> Tid {
        // SAFETY: gettid has no preconditions and touches no memory.
        unsafe { libc::gettid() }
    }

    /// The cores the calling thread may run on, in order.
    pub(super) fn allowed_cpus() -> std::io::Result<Vec<usize>> {
        // SAFETY: an all-zero cpu_set_t is a valid empty set;
        // sched_getaffinity writes at most size_of::<cpu_set_t>() bytes
        // into it.
        let set = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            set
        };
        let setsize = usize::try_from(libc::CPU_SETSIZE).unwrap_or(0);
        // SAFETY: CPU_ISSET reads the set for indices below CPU_SETSIZE.
        Ok((0..setsize)
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect())
    }

    /// Sets thread `tid`'s cores. A thread that has just ended (`ESRCH`)
    /// is not an error; anything else is logged once, and the thread runs
    /// where it ran.
    pub(super) fn pin(tid: Tid, cores: &[usize]) {
        static WARNED: AtomicBool = AtomicBool::new(false);
        // SAFETY: an all-zero cpu_set_t is a valid empty set; CPU_SET
        // writes within it for indices below CPU_SETSIZE (the cores came
        // from sched_getaffinity, so they are); sched_setaffinity reads
        // size_of::<cpu_set_t>() bytes of it.
        let outcome = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in cores {
                libc::CPU_SET(cpu, &mut set);
            }
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        if outcome != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::ESRCH) && !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(%error, tid, "cannot set a thread's cores; runaway guests may share cores with the host");
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use super::Tid;

    pub(super) fn current_tid() -> Tid {
        0
    }

    pub(super) fn allowed_cpus() -> std::io::Result<Vec<usize>> {
        Ok(Vec::new())
    }

    pub(super) fn pin(_tid: Tid, _cores: &[usize]) {}
}

/// The calling thread's cores, for tests elsewhere in the runtime.
#[cfg(test)]
pub(crate) fn current_cores() -> Vec<usize> {
    os::allowed_cpus().unwrap_or_default()
}

/// The split in force, for tests elsewhere in the runtime.
#[cfg(test)]
pub(crate) fn split_in_force() -> Option<(Vec<usize>, Vec<usize>)> {
    SPLIT
        .get()
        .and_then(Option::as_ref)
        .map(|split| (split.rest.clone(), split.quarantine.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_a_quarter_of_the_cores_and_at_least_one() {
        let two = Split::new(&[0, 1], QuarantineCpus::Auto)
            .expect("split")
            .expect("on");
        assert_eq!(
            (two.rest.as_slice(), two.quarantine()),
            (&[0][..], &[1][..])
        );
        let eight: Vec<usize> = (0..8).collect();
        let split = Split::new(&eight, QuarantineCpus::Auto)
            .expect("split")
            .expect("on");
        assert_eq!(split.quarantine(), &[6, 7]);
        assert_eq!(split.rest, (0..6).collect::<Vec<_>>());
        assert_eq!(split.all, eight);
    }

    #[test]
    fn one_core_or_off_means_no_split() {
        assert_eq!(Split::new(&[3], QuarantineCpus::Auto), Ok(None));
        assert_eq!(Split::new(&[0, 1, 2], QuarantineCpus::Off), Ok(None));
    }

    #[test]
    fn a_count_that_leaves_the_host_no_core_is_refused() {
        for k in [0, 2, 3] {
            let error = Split::new(&[0, 1], QuarantineCpus::Cpus(k)).expect_err("refused");
            assert!(error.contains("of the 2 cores"), "{error}");
        }
        let split = Split::new(&[2, 5, 7], QuarantineCpus::Cpus(2))
            .expect("split")
            .expect("on");
        assert_eq!(
            (split.rest.as_slice(), split.quarantine()),
            (&[2][..], &[5, 7][..])
        );
    }

    #[test]
    fn the_setting_parses_from_its_command_line_spelling() {
        assert_eq!("auto".parse(), Ok(QuarantineCpus::Auto));
        assert_eq!("off".parse(), Ok(QuarantineCpus::Off));
        assert_eq!("0".parse(), Ok(QuarantineCpus::Off));
        assert_eq!("3".parse(), Ok(QuarantineCpus::Cpus(3)));
        let error = "many".parse::<QuarantineCpus>().expect_err("refused");
        assert!(error.contains("`many`"), "{error}");
        assert_eq!(QuarantineCpus::Cpus(3).to_string(), "3");
    }

    fn two_cores() -> Split {
        Split::new(&[0, 1], QuarantineCpus::Auto)
            .expect("split")
            .expect("on")
    }

    fn sorted(mut pins: Vec<Pin<'_>>) -> Vec<(Tid, Vec<usize>)> {
        pins.sort();
        pins.into_iter().map(|(t, c)| (t, c.to_vec())).collect()
    }

    #[test]
    fn a_runaway_is_confined_and_everything_else_moves_off_its_cores() {
        let split = two_cores();
        let mut registry = Registry::new(Duration::ZERO);
        registry.register(1, Role::Host, &split);
        registry.register(2, Role::Host, &split);
        registry.register(10, Role::GUEST, &split);
        registry.register(11, Role::GUEST, &split);

        assert_eq!(
            sorted(registry.long_running_started(10, &split)),
            vec![(1, vec![0]), (2, vec![0]), (10, vec![1]), (11, vec![0])]
        );
        // A second long-running invocation on the same thread changes
        // nothing; its end neither, while the first still runs.
        assert!(registry.long_running_started(10, &split).is_empty());
        assert!(
            registry
                .long_running_ended(10, Instant::now(), &split)
                .is_empty()
        );
        // A thread that starts now gets the remaining cores explicitly.
        assert_eq!(
            registry.register(3, Role::Host, &split),
            vec![(3, &[0][..])]
        );

        assert_eq!(
            sorted(registry.long_running_ended(10, Instant::now(), &split)),
            vec![
                (1, vec![0, 1]),
                (2, vec![0, 1]),
                (3, vec![0, 1]),
                (10, vec![0, 1]),
                (11, vec![0, 1])
            ]
        );
        assert_eq!(registry.confined, 0);
    }

    #[test]
    fn everyone_gets_every_core_back_only_when_the_last_runaway_ends() {
        let split = two_cores();
        let mut registry = Registry::new(Duration::ZERO);
        registry.register(1, Role::Host, &split);
        registry.register(10, Role::GUEST, &split);
        registry.register(11, Role::GUEST, &split);
        registry.long_running_started(10, &split);
        // The second runaway joins the first on the quarantine cores.
        assert_eq!(
            registry.long_running_started(11, &split),
            vec![(11, &[1][..])]
        );
        // The first ends: its thread goes back to the host's cores.
        assert_eq!(
            registry.long_running_ended(10, Instant::now(), &split),
            vec![(10, &[0][..])]
        );
        // The second ends with its thread: everyone gets both cores.
        assert_eq!(
            sorted(registry.unregister(11, &split)),
            vec![(1, vec![0, 1]), (10, vec![0, 1])]
        );
        assert_eq!(registry.confined, 0);
    }

    #[test]
    fn a_runaway_invoked_again_within_the_linger_moves_nothing() {
        let split = two_cores();
        let linger = Duration::from_millis(100);
        let mut registry = Registry::new(linger);
        registry.register(1, Role::Host, &split);
        registry.register(10, Role::GUEST, &split);
        registry.register(11, Role::GUEST, &split);
        let start = Instant::now();
        registry.long_running_started(10, &split);

        // It ends: nothing moves yet, and the linger is due in 100 ms.
        assert!(registry.long_running_ended(10, start, &split).is_empty());
        assert_eq!(registry.confined, 1);
        let (pins, next) = registry.expire(start + linger / 2, &split);
        assert!(pins.is_empty());
        assert_eq!(next, Some(start + linger));

        // The next one starts on the same thread before that: still
        // nothing moves, and there is no linger left to expire.
        assert!(registry.long_running_started(10, &split).is_empty());
        assert_eq!(registry.expire(start + linger * 2, &split), (vec![], None));

        // It ends; once the linger has passed, everyone gets both cores.
        let end = start + linger * 3;
        assert!(registry.long_running_ended(10, end, &split).is_empty());
        let (pins, next) = registry.expire(end + linger, &split);
        assert_eq!(
            sorted(pins),
            vec![(1, vec![0, 1]), (10, vec![0, 1]), (11, vec![0, 1])]
        );
        assert_eq!(next, None);
        assert_eq!(registry.confined, 0);
    }

    #[test]
    fn a_lingering_thread_leaves_the_quarantine_for_the_host_cores_while_another_runs() {
        let split = two_cores();
        let linger = Duration::from_millis(100);
        let mut registry = Registry::new(linger);
        registry.register(1, Role::Host, &split);
        registry.register(10, Role::GUEST, &split);
        registry.register(11, Role::GUEST, &split);
        let start = Instant::now();
        registry.long_running_started(10, &split);
        registry.long_running_ended(10, start, &split);
        // Another thread's runaway joins the lingering one.
        assert_eq!(
            registry.long_running_started(11, &split),
            vec![(11, &[1][..])]
        );
        assert_eq!(registry.confined, 2);
        // The linger passes: that thread goes to the host's cores only.
        let (pins, next) = registry.expire(start + linger, &split);
        assert_eq!(pins, vec![(10, &[0][..])]);
        assert_eq!(next, None);
        // A lingering thread that ends is released like a confined one.
        registry.long_running_ended(11, start + linger, &split);
        assert_eq!(
            sorted(registry.unregister(11, &split)),
            vec![(1, vec![0, 1]), (10, vec![0, 1])]
        );
        assert_eq!(registry.confined, 0);
    }

    #[test]
    fn host_threads_and_unknown_threads_are_never_confined() {
        let split = two_cores();
        let mut registry = Registry::new(Duration::ZERO);
        registry.register(1, Role::Host, &split);
        assert!(registry.long_running_started(1, &split).is_empty());
        assert!(registry.long_running_started(99, &split).is_empty());
        assert!(
            registry
                .long_running_ended(99, Instant::now(), &split)
                .is_empty()
        );
        assert!(registry.unregister(99, &split).is_empty());
        assert_eq!(registry.confined, 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pin_sets_a_threads_cores() {
        let allowed = os::allowed_cpus().expect("cores");
        let first = allowed[0];
        let seen = std::thread::spawn(move || {
            os::pin(os::current_tid(), &[first]);
            os::allowed_cpus().expect("cores")
        })
        .join()
        .expect("thread");
        assert_eq!(seen, vec![first]);
        // Only that thread: this one still has all of them.
        assert_eq!(os::allowed_cpus().expect("cores"), allowed);
    }
}
