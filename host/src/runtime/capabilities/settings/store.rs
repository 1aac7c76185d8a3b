//! `settings` for drivers: a lane's runtime settings from the runtime
//! environment records (reference §6.11), merged global, then context,
//! then instance, so the narrowest record wins.
//!
//! Only those records: the managed `runtime_environment` secrets the
//! original overlays on top are left out on purpose, because whatever this
//! returns is handed to driver code. The records themselves never hold a
//! secret-shaped key (`RuntimeEnvironmentRecord::validate`), and the
//! runtime refuses to ask for one.

use crate::records::Store;
use crate::records::models::runtime_environment::scalar_text;
use crate::runtime::{HostError, Lane};

/// The settings capability over a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreSettings {
    store: Store,
    /// The host's own `LAUNCHPLANE_PREVIEW_BASE_URL`, used when a preview
    /// context's runtime settings name none.
    preview_base_url: Option<String>,
}

/// The runtime setting previews' URLs derive from.
pub const PREVIEW_BASE_URL_KEY: &str = "LAUNCHPLANE_PREVIEW_BASE_URL";

impl StoreSettings {
    pub fn new(store: Store) -> Self {
        StoreSettings {
            store,
            preview_base_url: None,
        }
    }

    /// With the host's preview base URL as the fallback.
    pub fn with_preview_base_url(mut self, url: Option<String>) -> Self {
        self.preview_base_url = url.filter(|u| !u.trim().is_empty());
        self
    }

    /// The preview base URL of `context`: its runtime settings' (context
    /// or global record), else the host's.
    pub async fn preview_base_url(&self, context: &str) -> Result<Option<String>, HostError> {
        let lane = Lane {
            context: context.to_string(),
            instance: String::new(),
        };
        let found = self
            .resolve(&lane, &[PREVIEW_BASE_URL_KEY.to_string()])
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .find(|v| !v.trim().is_empty());
        Ok(found.or_else(|| self.preview_base_url.clone()))
    }
}

impl StoreSettings {
    pub async fn resolve(
        &self,
        lane: &Lane,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, HostError> {
        let records = self
            .store
            .lane_runtime_environments(&lane.context, &lane.instance)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "settings capability failed");
                HostError::Unavailable("the record store failed; see service logs".to_string())
            })?;
        Ok(keys
            .iter()
            .filter_map(|key| {
                records
                    .iter()
                    .rev()
                    .find_map(|record| record.env.get(key))
                    .map(|value| (key.clone(), scalar_text(value)))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RecordWrite;
    use crate::records::models::runtime_environment::{EnvironmentScope, RuntimeEnvironmentRecord};
    use serde_json::json;

    async fn put(
        store: &Store,
        scope: EnvironmentScope,
        context: &str,
        instance: &str,
        env: serde_json::Value,
    ) {
        let record = RuntimeEnvironmentRecord {
            schema_version: 1,
            scope,
            context: context.into(),
            instance: instance.into(),
            env: serde_json::from_value(env).expect("env"),
            updated_at: "2026-11-24T00:00:00Z".into(),
            source_label: "tests".into(),
        };
        let row = crate::records::runtime_environment_row(&record, "launchplane");
        store
            .write_records(&[RecordWrite::Replace { record: row }], "tests")
            .await
            .expect("write");
    }

    #[tokio::test]
    async fn the_narrowest_record_wins_and_only_asked_keys_come_back() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
        let store = Store::open(&url).await.expect("store");
        let settings = StoreSettings::new(store.clone());
        let lane = Lane {
            context: "opw".into(),
            instance: "prod".into(),
        };
        let keys: Vec<String> = ["ODOO_VERSION", "ODOO_DB_NAME", "WORKERS", "DEBUG", "ABSENT"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        assert!(
            settings
                .resolve(&lane, &keys)
                .await
                .expect("empty")
                .is_empty()
        );

        put(
            &store,
            EnvironmentScope::Global,
            "",
            "",
            json!({"ODOO_VERSION": "18.0", "WORKERS": 2, "OTHER": "x"}),
        )
        .await;
        put(
            &store,
            EnvironmentScope::Context,
            "opw",
            "",
            json!({"ODOO_DB_NAME": "opw", "DEBUG": false}),
        )
        .await;
        put(
            &store,
            EnvironmentScope::Instance,
            "opw",
            "prod",
            json!({"ODOO_DB_NAME": "opw_prod"}),
        )
        .await;
        put(
            &store,
            EnvironmentScope::Instance,
            "opw",
            "testing",
            json!({"WORKERS": 9}),
        )
        .await;
        let resolved = settings.resolve(&lane, &keys).await.expect("resolved");
        assert_eq!(
            resolved,
            vec![
                ("ODOO_VERSION".to_string(), "18.0".to_string()),
                ("ODOO_DB_NAME".to_string(), "opw_prod".to_string()),
                ("WORKERS".to_string(), "2".to_string()),
                ("DEBUG".to_string(), "false".to_string()),
            ]
        );
    }
}
