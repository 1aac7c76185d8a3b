//! A target's environment: reading it from the `*.one` payload, and
//! writing it back (`compose.update` / `application.saveEnvironment`),
//! verified by re-reading.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::DokployProvider;
use crate::providers::env_text::{self, EnvEntries};
use crate::providers::targets::TargetType;
use crate::providers::{DeployProvider, ProviderError, lane_label};
use crate::records::Lane;

impl DokployProvider {
    /// The env entries of a `*.one` payload, in order.
    fn env_of(payload: &Value) -> EnvEntries {
        env_text::parse(payload.get("env").and_then(Value::as_str).unwrap_or(""))
    }

    /// Writes env text the way the original's `update_dokploy_target_env`
    /// does.
    async fn write_env(
        &self,
        target_type: TargetType,
        target_id: &str,
        payload: &Value,
        env: &str,
    ) -> Result<(), ProviderError> {
        match target_type {
            TargetType::Compose => {
                self.post(
                    "/api/compose.update",
                    json!({"composeId": target_id, "env": env}),
                )
                .await?;
            }
            TargetType::Application => {
                self.post(
                    "/api/application.saveEnvironment",
                    json!({
                        "applicationId": target_id,
                        "env": env,
                        "createEnvFile": payload.get("createEnvFile").and_then(Value::as_bool).unwrap_or(true),
                        "buildArgs": payload.get("buildArgs").and_then(Value::as_str).unwrap_or(""),
                        "buildSecrets": payload.get("buildSecrets").and_then(Value::as_str).unwrap_or(""),
                    }),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Names of the env keys set on the lane's target, in order.
    pub(super) async fn target_env_keys(&self, lane: &Lane) -> Result<Vec<String>, ProviderError> {
        let target = self.resolve_target(lane).await?;
        let payload = self.target_payload(&target).await?;
        Ok(Self::env_of(&payload).into_iter().map(|(k, _)| k).collect())
    }

    /// The lane's env with values.
    pub(super) async fn target_env(
        &self,
        lane: &Lane,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let target = self.resolve_target(lane).await?;
        let payload = self.target_payload(&target).await?;
        Ok(Self::env_of(&payload).into_iter().collect())
    }

    /// Sets and unsets keys of the lane's env (nothing written when nothing
    /// changes), then re-reads it to verify Dokploy kept the update.
    pub(super) async fn update_target_env(
        &self,
        lane: &Lane,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<(), ProviderError> {
        env_text::check_updates(set, unset).map_err(ProviderError::Invalid)?;
        let target = self.resolve_target(lane).await?;
        let payload = self.target_payload(&target).await?;
        let current = Self::env_of(&payload);
        let desired = env_text::apply(&current, set, unset);
        if desired == current {
            return Ok(());
        }
        self.write_env(
            target.target_type,
            &target.target_id,
            &payload,
            &env_text::render(&desired),
        )
        .await?;
        let reread: BTreeMap<String, String> = Self::env_of(&self.target_payload(&target).await?)
            .into_iter()
            .collect();
        let wanted: BTreeMap<String, String> = desired.into_iter().collect();
        if reread != wanted {
            let mut differing: Vec<&str> = wanted
                .iter()
                .filter(|(k, v)| reread.get(*k) != Some(*v))
                .map(|(k, _)| k.as_str())
                .chain(
                    reread
                        .keys()
                        .filter(|k| !wanted.contains_key(*k))
                        .map(String::as_str),
                )
                .collect();
            differing.sort_unstable();
            differing.dedup();
            return Err(ProviderError::failed(format!(
                "Dokploy did not retain the environment update of {} (keys: {})",
                lane_label(lane),
                differing.join(", ")
            )));
        }
        Ok(())
    }
}
