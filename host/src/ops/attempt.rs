//! One attempt at a reserved mutation, as its host keeps it alive and
//! fences it: the [`Heartbeat`] renews the idempotency reservation and the
//! lane lease while the attempt runs, so a dead host's hold runs out within
//! one lease (`Service::lease_ms`, 30 s by default) instead of the
//! action's whole deadline; the [`ReservationFence`] notes the attempt's
//! first effect on its reservation, which is what lets a retry after a
//! crash tell "nothing happened, run it" from "outcome unknown, never run
//! it again" (`records/idempotency.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Service;
use crate::records::{IdempotencyKey, LaneLease, Store};
use crate::runtime::HostError;
use crate::runtime::capabilities::{DeferredWrites, EffectFence, FenceFuture};

/// The effect fence of an attempt that holds an idempotency reservation.
pub struct ReservationFence {
    store: Store,
    key: IdempotencyKey,
    owner: String,
    trace_id: String,
    began: tokio::sync::Mutex<bool>,
    /// The attempt's record writes, committed with its answer.
    deferred: Arc<DeferredWrites>,
}

impl ReservationFence {
    pub fn new(service: &Service, key: &IdempotencyKey, trace_id: &str) -> Arc<Self> {
        Arc::new(ReservationFence {
            store: service.store.clone(),
            key: key.clone(),
            owner: service.host_id.clone(),
            trace_id: trace_id.to_string(),
            began: tokio::sync::Mutex::new(false),
            deferred: Arc::default(),
        })
    }

    /// The attempt's record writes, waiting for its final transaction.
    pub fn deferred(&self) -> &DeferredWrites {
        &self.deferred
    }
}

impl EffectFence for ReservationFence {
    fn deferred_writes(&self) -> Option<Arc<DeferredWrites>> {
        Some(self.deferred.clone())
    }

    fn before_effect(&self) -> FenceFuture<'_> {
        Box::pin(async move {
            // Held across the write: concurrent host calls of one
            // invocation note the first effect once.
            let mut began = self.began.lock().await;
            if *began {
                return Ok(());
            }
            match self
                .store
                .begin_idempotent_effect(&self.key, &self.owner, &self.trace_id)
                .await
            {
                Ok(true) => {
                    *began = true;
                    Ok(())
                }
                Ok(false) => Err(HostError::Denied(
                    "this request no longer holds its Idempotency-Key reservation (its lease ran \
                     out); it changes nothing"
                        .to_string(),
                )),
                Err(error) => {
                    tracing::error!(%error, trace_id = %self.trace_id,
                        "could not note the first effect of a reserved request; refusing it");
                    Err(HostError::Unavailable(
                        "the host could not record that this request began changing things"
                            .to_string(),
                    ))
                }
            }
        })
    }
}

/// What one attempt holds: its reservation and its lane lease.
type Hold = (Option<IdempotencyKey>, Option<LaneLease>);

/// The holds of this host's running attempts, by heartbeat.
#[derive(Default)]
pub struct Attempts {
    held: std::sync::Mutex<HashMap<u64, Hold>>,
    next: std::sync::atomic::AtomicU64,
}

impl Attempts {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Hold>> {
        match self.held.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Frees every lane lease and reservation still held, at once (a
    /// shutdown that timed out): the lanes are free for other hosts now,
    /// and a retry of a cut-off request is judged as after a crash.
    pub async fn release_all(&self, store: &Store, owner: &str) {
        let held: Vec<_> = self.held().drain().map(|(_, hold)| hold).collect();
        for (key, lease) in held {
            if let Some(lease) = lease {
                crate::metrics::lane_leases_held(-1.0);
                renewed("lane lease", store.release_lane(&lease).await.map(|_| true));
            }
            if let Some(key) = key {
                // A lease that ended a moment ago: retries judge the attempt now.
                renewed(
                    "idempotency reservation",
                    store
                        .renew_idempotency_key(&key, owner, -1)
                        .await
                        .map(|_| true),
                );
            }
        }
    }
}

/// How often a holder renews a lease of `lease_ms`: every third of it
/// (at least every 50 ms), so two renewals may fail before it runs out.
pub fn renew_every(lease_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(1_000).max(50))
}

/// Renews an attempt's holds every third of a lease until dropped.
pub struct Heartbeat {
    task: Option<tokio::task::JoinHandle<()>>,
    attempts: Arc<Attempts>,
    id: u64,
}

impl Heartbeat {
    /// Starts renewing `key` (the attempt's reservation) and `lease` (its
    /// lane); a no-op when it holds neither.
    pub fn start(
        service: &Service,
        key: Option<&IdempotencyKey>,
        lease: Option<&LaneLease>,
    ) -> Self {
        let attempts = service.attempts.clone();
        let id = attempts
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if key.is_none() && lease.is_none() {
            return Heartbeat {
                task: None,
                attempts,
                id,
            };
        }
        if lease.is_some() {
            crate::metrics::lane_leases_held(1.0);
        }
        attempts.held().insert(id, (key.cloned(), lease.cloned()));
        let (store, owner, lease_ms) = (
            service.store.clone(),
            service.host_id.clone(),
            service.lease_ms,
        );
        let (key, lease) = (key.cloned(), lease.cloned());
        let every = renew_every(lease_ms);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Some(key) = &key {
                    renewed(
                        "idempotency reservation",
                        store.renew_idempotency_key(key, &owner, lease_ms).await,
                    );
                }
                if let Some(lease) = &lease {
                    renewed("lane lease", store.renew_lane(lease, lease_ms).await);
                }
            }
        });
        Heartbeat {
            task: Some(task),
            attempts,
            id,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // Absent when a timed-out shutdown already released it.
        if let Some((_, Some(_))) = self.attempts.held().remove(&self.id) {
            crate::metrics::lane_leases_held(-1.0);
        }
    }
}

fn renewed(what: &str, outcome: Result<bool, crate::records::StoreError>) {
    match outcome {
        Ok(true) => {}
        Ok(false) => tracing::warn!(what, "a hold this host renews is no longer its own"),
        Err(error) => {
            tracing::error!(what, %error, "could not renew a hold; it runs out on its own")
        }
    }
}
