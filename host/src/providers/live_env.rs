//! A lane's resolved runtime environment, pushed to its provider target
//! (the "live target").
//!
//! Records change through product config and `launchplane environments`;
//! the running application sees none of it until its target's environment
//! is rewritten. This plans that rewrite and applies it: the desired
//! environment is the runtime environment records (global, context,
//! instance) with the lane's `runtime_environment` managed secrets on top,
//! as the original resolves them; every desired key that is missing from
//! the target, or holds another value there, is set. Keys the target has
//! and Launchplane does not manage are left alone (the provider and the
//! product put their own there), and nothing is deployed: a new value
//! takes effect at the next deploy, which stays an explicit step.
//!
//! A plan answers with key names and counts only. Secret values travel
//! from the vault to the provider and nowhere else.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{DeployProvider, ProviderError, lane_label};
use crate::records::Lane;
use crate::records::models::runtime_environment::scalar_text;
use crate::records::{Store, StoreError};
use crate::secrets::{SecretError, Vault};

/// The managed-secret integration overlaid on the records.
pub const SECRET_INTEGRATION: &str = "runtime_environment";

/// Why a live-target plan or apply failed. No variant carries a value.
#[derive(Debug, thiserror::Error)]
pub enum LiveEnvError {
    #[error("cannot read the runtime environment records: {0}")]
    Store(#[from] StoreError),
    #[error("cannot resolve the lane's managed secrets: {0}")]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// What pushing the lane's environment would change.
pub struct LivePlan {
    pub lane: Lane,
    /// Keys to set, with their values (never shown; see [`LivePlan::summary`]).
    set: Vec<(String, Zeroizing<String>)>,
    /// Keys the target already holds with the desired value.
    pub unchanged: Vec<String>,
    /// Keys whose desired value comes from a managed secret.
    pub secret_keys: Vec<String>,
    /// Keys on the target that Launchplane does not manage (left alone).
    pub unmanaged_keys: Vec<String>,
}

impl LivePlan {
    /// Keys that are missing from the target or differ there.
    pub fn keys_to_set(&self) -> Vec<String> {
        self.set.iter().map(|(k, _)| k.clone()).collect()
    }

    /// The plan as key names and counts.
    pub fn summary(&self) -> Value {
        json!({
            "context": self.lane.context,
            "instance": self.lane.instance,
            "keys_to_set": self.keys_to_set(),
            "unchanged_keys": self.unchanged,
            "secret_keys": self.secret_keys,
            "unmanaged_keys": self.unmanaged_keys,
            "change_count": self.set.len(),
        })
    }
}

/// Compares the lane's desired environment with its target's.
pub async fn plan(
    store: &Store,
    vault: &Vault,
    provider: &dyn DeployProvider,
    lane: &Lane,
) -> Result<LivePlan, LiveEnvError> {
    let mut desired: BTreeMap<String, Zeroizing<String>> = BTreeMap::new();
    for record in store
        .lane_runtime_environments(&lane.context, &lane.instance)
        .await?
    {
        for (key, value) in &record.env {
            desired.insert(key.clone(), Zeroizing::new(scalar_text(value)));
        }
    }
    let secrets = vault
        .resolve(SECRET_INTEGRATION, &lane.context, &lane.instance)
        .await?;
    let secret_keys: Vec<String> = secrets.keys().cloned().collect();
    desired.extend(secrets);
    let current = provider.read_env(lane).await?;
    let mut set = Vec::new();
    let mut unchanged = Vec::new();
    for (key, value) in desired {
        if current.get(&key).is_some_and(|c| *c == *value) {
            unchanged.push(key);
        } else {
            set.push((key, value));
        }
    }
    let managed: Vec<&String> = set.iter().map(|(k, _)| k).chain(&unchanged).collect();
    let unmanaged_keys = current
        .keys()
        .filter(|k| !managed.contains(k))
        .cloned()
        .collect();
    Ok(LivePlan {
        lane: lane.clone(),
        set,
        unchanged,
        secret_keys,
        unmanaged_keys,
    })
}

/// Sets the plan's keys on the target (the provider verifies by
/// re-reading). An empty plan calls nothing.
pub async fn apply(provider: &dyn DeployProvider, plan: &LivePlan) -> Result<(), LiveEnvError> {
    if plan.set.is_empty() {
        return Ok(());
    }
    let set: Vec<(String, String)> = plan
        .set
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let result = provider.update_env(&plan.lane, &set, &[]).await;
    drop(Zeroizing::new(set));
    result.map_err(|e| {
        tracing::warn!(lane = %lane_label(&plan.lane), error = %e, "live target environment not applied");
        e.into()
    })
}
