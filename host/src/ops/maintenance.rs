//! The maintenance sweep `launchplane serve` runs in the background:
//! expired idempotency keys are deleted, and denial audit rows older than
//! the retention. Every host sharing a database may sweep; the deletes are
//! idempotent, so several sweepers only repeat each other's work.

use std::time::Duration;

use crate::records::{Store, StoreError, unix_millis};

/// How often the sweep runs and what it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Time between sweeps.
    pub interval: Duration,
    /// How long a denial audit row is kept (accepted, rejected and failed
    /// mutations are kept for good).
    pub denial_audit: Duration,
}

impl Default for Retention {
    /// A sweep a minute; denials kept 30 days.
    fn default() -> Self {
        Retention {
            interval: Duration::from_secs(60),
            denial_audit: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    pub idempotency_keys: u64,
    pub denial_audit_events: u64,
}

/// One sweep, now.
pub async fn sweep(store: &Store, retention: &Retention) -> Result<Swept, StoreError> {
    let idempotency_keys = store.purge_expired_idempotency_keys().await?;
    let keep_ms = i64::try_from(retention.denial_audit.as_millis()).unwrap_or(i64::MAX);
    let denial_audit_events = store
        .purge_denial_audit_events(unix_millis().saturating_sub(keep_ms))
        .await?;
    Ok(Swept {
        idempotency_keys,
        denial_audit_events,
    })
}

/// Sweeps every `retention.interval` until the task is dropped. A failed
/// sweep is logged and retried at the next tick.
pub async fn run(store: Store, retention: Retention) {
    let mut ticks = tokio::time::interval(retention.interval.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sweep(&store, &retention).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(
                idempotency_keys = swept.idempotency_keys,
                denial_audit_events = swept.denial_audit_events,
                "maintenance sweep deleted expired rows"
            ),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "maintenance sweep failed; retrying at the next tick")
            }
        }
    }
}

/// Starts [`run`] on the current runtime.
pub fn spawn(store: Store, retention: Retention) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(store, retention))
}
