//! Domains: those Dokploy routes to a lane's target or to an application,
//! and a domain reduced to its host.

use serde_json::Value;

use super::DokployProvider;
use super::client::{extract_list, text};
use crate::providers::targets::TargetType;
use crate::providers::{DeployProvider, ProviderError};
use crate::records::Lane;

/// A domain as a bare host (`host[:port]`): scheme, path and trailing `/`
/// dropped, lower-cased.
pub(super) fn domain_host(domain: &str) -> String {
    let domain = domain.trim();
    let without_scheme = domain.split_once("://").map(|(_, r)| r).unwrap_or(domain);
    without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

impl DokployProvider {
    /// The hosts Dokploy routes to the lane's target.
    pub(super) async fn lane_domains(&self, lane: &Lane) -> Result<Vec<String>, ProviderError> {
        let target = self.resolve_target(lane).await?;
        let payload = match target.target_type {
            TargetType::Application => {
                self.get(
                    "/api/domain.byApplicationId",
                    &[("applicationId", &target.target_id)],
                )
                .await?
            }
            TargetType::Compose => {
                self.get(
                    "/api/domain.byComposeId",
                    &[("composeId", &target.target_id)],
                )
                .await?
            }
        };
        Ok(extract_list(&payload, "domains")
            .iter()
            .map(|d| text(d, "host"))
            .filter(|h| !h.is_empty())
            .collect())
    }

    /// The domain objects of an application (`domain.byApplicationId`).
    pub(super) async fn domains_of_application(
        &self,
        application_id: &str,
    ) -> Result<Vec<Value>, ProviderError> {
        let payload = self
            .get(
                "/api/domain.byApplicationId",
                &[("applicationId", application_id)],
            )
            .await?;
        Ok(extract_list(&payload, "domains"))
    }
}
