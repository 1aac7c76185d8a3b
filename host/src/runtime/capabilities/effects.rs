//! The effect fence: what an invocation must pass before its first change
//! to the world (a provider mutation or a record write).
//!
//! The host runs a request's driver code under an idempotency reservation
//! (`ops/idempotency.rs`). If the host dies, a retry must know whether the
//! dead attempt changed anything: before its first effect it may simply run
//! again; after it, never. So every mutating capability call asks the
//! fence first; the service's fence notes the first effect on the
//! reservation (one database write per invocation) and refuses every
//! effect once the reservation is no longer this attempt's (its lease ran
//! out and another request took it over). Reads never touch the fence.

use std::future::Future;
use std::pin::Pin;

use super::super::bindings::HostError;

/// A future the fence answers with.
pub type FenceFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HostError>> + Send + 'a>>;

/// Decides whether an invocation may make an effect now.
pub trait EffectFence: Send + Sync {
    /// `Ok` to go ahead; an error (usually `denied` or `unavailable`) ends
    /// the call before it changes anything.
    fn before_effect(&self) -> FenceFuture<'_>;

    /// Where the invocation's record writes wait until its request
    /// commits them with its answer; `None`: each write commits at once.
    fn deferred_writes(&self) -> Option<std::sync::Arc<super::DeferredWrites>> {
        None
    }
}
