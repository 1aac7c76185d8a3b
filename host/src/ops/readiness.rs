//! Readiness: whether this host can serve deployments now, as opposed to
//! liveness (`GET /v1/health`, which only says the process answers).
//!
//! Four checks, each named in the answer: the database answers a round
//! trip within [`STORE_TIMEOUT`]; the registry has at least one driver; an
//! authorization policy is active (without one every request is denied);
//! a runtime provider is configured (without one every provider call
//! answers `unavailable`). `GET /v1/ready` answers 503 naming each check
//! that failed and why.

use std::time::Duration;

use serde::Serialize;

use super::Service;

/// How long the database round trip may take before the store counts as
/// unreachable (a pool waiting for a dead server would otherwise hold the
/// probe for its whole acquire timeout).
pub const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Every check's name, in the order they run.
pub const CHECKS: &[&str] = &["database", "registry", "policy", "provider"];

/// One failed check: its name and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// `database`, `registry`, `policy` or `provider`.
    pub check: &'static str,
    /// What is wrong and how to fix it; never a secret.
    pub reason: String,
}

/// The outcome of every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Every check passed.
    pub ready: bool,
    /// The checks that failed, in the order they are listed above.
    pub missing: Vec<Missing>,
}

impl Service {
    /// Runs every readiness check (all of them, so one answer names every
    /// problem).
    pub async fn readiness(&self) -> Readiness {
        let mut missing = Vec::new();
        let reachable = match tokio::time::timeout(STORE_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: the database did not answer");
                missing.push(Missing {
                    check: "database",
                    reason: format!("the {} database did not answer", self.store.backend()),
                });
                false
            }
            Err(_) => {
                missing.push(Missing {
                    check: "database",
                    reason: format!(
                        "the {} database did not answer within {} s",
                        self.store.backend(),
                        STORE_TIMEOUT.as_secs()
                    ),
                });
                false
            }
        };
        if self.registry().drivers().next().is_none() {
            missing.push(Missing {
                check: "registry",
                reason: "no driver is loaded (LAUNCHPLANE_DRIVER_REGISTRY)".to_string(),
            });
        }
        if reachable {
            match self.store.active_policy().await {
                Ok(Some(_)) => {}
                Ok(None) => missing.push(Missing {
                    check: "policy",
                    reason: "no authorization policy is active: every request is denied \
                             (LAUNCHPLANE_POLICY_TOML / _B64 / _FILE or \
                             `launchplane authz import-toml`)"
                        .to_string(),
                }),
                Err(error) => {
                    tracing::warn!(%error, "readiness: the policy could not be read");
                    missing.push(Missing {
                        check: "policy",
                        reason: "the active authorization policy could not be read".to_string(),
                    });
                }
            }
        } else {
            missing.push(Missing {
                check: "policy",
                reason: "unknown: the database did not answer".to_string(),
            });
        }
        if self.deploy_provider.is_none() {
            missing.push(Missing {
                check: "provider",
                reason: "no runtime provider is configured (LAUNCHPLANE_PROVIDER)".to_string(),
            });
        }
        Readiness {
            ready: missing.is_empty(),
            missing,
        }
    }
}
