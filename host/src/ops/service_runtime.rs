//! `GET /v1/service/runtime` (reference §3.2, `launchplane_service.read`
//! on (`launchplane`, `launchplane`)): what this host runs with, no
//! secrets. The original's fields (`authz_policy_sha256`,
//! `authz_policy_source`, `bootstrap_authz_policy_sha256`,
//! `docker_image_reference`, `service_audience`, `storage_backend`) plus
//! the runtime provider's id and the loaded drivers with their component
//! digests.
//!
//! `bootstrap_authz_policy_sha256` is the digest of the policy the
//! environment bootstraps, computed as the active record's is (over the
//! parsed policy), so the two compare equal when the bootstrap policy is
//! the active one; the original hashed the raw bytes.

use serde_json::json;

use super::{Call, Reply, Service};
use crate::error::ApiError;

/// The environment variable naming this host's own image (the original's).
pub const IMAGE_REFERENCE_ENV: &str = "DOCKER_IMAGE_REFERENCE";

/// Facts fixed when the host starts, shown by the runtime read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeFacts {
    /// The OIDC audience tokens must carry.
    pub service_audience: String,
    /// `DOCKER_IMAGE_REFERENCE`: the image this host runs.
    pub docker_image_reference: String,
    /// The digest of the environment's bootstrap policy, if one is set.
    pub bootstrap_authz_policy_sha256: String,
}

impl Service {
    /// `GET /v1/service/runtime`.
    pub async fn service_runtime(&self, call: &Call) -> Result<Reply, ApiError> {
        self.authorize(
            call,
            "launchplane_service.read",
            "launchplane",
            "launchplane",
            "",
        )
        .await?;
        let active = self
            .store
            .active_policy()
            .await
            .map_err(ApiError::internal)?;
        let (sha, source) = active
            .map(|r| (r.policy_sha256, r.source))
            .unwrap_or_default();
        let registry = self.registry();
        let drivers: Vec<_> = registry
            .descriptors()
            .iter()
            .map(|d| {
                json!({
                    "driver_id": d.driver_id,
                    "base_driver_id": d.base_driver_id,
                    "api_version": d.api_version,
                    "digest": d.digest,
                })
            })
            .collect();
        let facts = &self.runtime_facts;
        Ok(Reply::ok(
            &call.trace_id,
            json!({"runtime": {
                "authz_policy_sha256": sha,
                "authz_policy_source": source,
                "bootstrap_authz_policy_sha256": facts.bootstrap_authz_policy_sha256,
                "docker_image_reference": facts.docker_image_reference,
                "service_audience": facts.service_audience,
                "storage_backend": self.store.backend(),
                "provider_id": self.deploy_provider.as_ref().map(|p| p.provider_id()).unwrap_or(""),
                "drivers": drivers,
            }}),
        ))
    }
}
