//! `settings`: a lane's plain runtime settings. The binding checks the lane
//! and the keys (never a secret-shaped one); [`StoreSettings`]
//! (`store.rs`) merges the runtime environment records.

mod store;

pub use store::{PREVIEW_BASE_URL_KEY, StoreSettings};

use super::super::bindings::HostError;
use super::super::bindings::launchplane::driver::settings;
use super::super::state::InvocationState;
use super::call::{HostResult, outcome};

/// At most this many keys per `settings.resolve` call.
const MAX_SETTING_KEYS: usize = 64;

impl settings::Host for InvocationState {
    async fn resolve(
        &mut self,
        context: String,
        instance: String,
        keys: Vec<String>,
    ) -> HostResult<Vec<(String, String)>> {
        const FUNCTION: &str = "settings.resolve";
        let lane = match self.lane_for(FUNCTION, &context, &instance) {
            Ok(lane) => lane,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_setting_keys(&keys) {
            self.note(FUNCTION, format!("{context}/{instance}"), "invalid");
            return Ok(Err(e));
        }
        let Some(settings) = self.services.settings.clone() else {
            return Ok(Err(self.unavailable(FUNCTION, "settings")));
        };
        // The transcript names the keys asked for, never a value.
        let summary = format!("{context}/{instance} {}", keys.join(","));
        let result = self
            .call_site()?
            .run(async move { settings.resolve(&lane, &keys).await })
            .await?;
        self.note(FUNCTION, summary, outcome(&result));
        Ok(result)
    }

    async fn preview_base_url(&mut self, context: String) -> HostResult<Option<String>> {
        const FUNCTION: &str = "settings.preview-base-url";
        if let Err(e) = self.context_for(FUNCTION, &context) {
            return Ok(Err(e));
        }
        let Some(settings) = self.services.settings.clone() else {
            return Ok(Err(self.unavailable(FUNCTION, "settings")));
        };
        let result = self
            .call_site()?
            .run(async move { settings.preview_base_url(&context).await })
            .await?;
        self.note(FUNCTION, String::new(), outcome(&result));
        Ok(result)
    }
}

/// Keys a driver may ask for: a bounded list of non-blank keys, none of
/// them secret-shaped (those live in managed secrets, which drivers never
/// see; asking is a driver bug worth a clear refusal).
fn check_setting_keys(keys: &[String]) -> Result<(), HostError> {
    if keys.len() > MAX_SETTING_KEYS {
        return Err(HostError::Invalid(format!(
            "at most {MAX_SETTING_KEYS} keys per call (got {})",
            keys.len()
        )));
    }
    for key in keys {
        if key.trim().is_empty() || key.len() > 256 {
            return Err(HostError::Invalid(
                "setting keys must be non-blank and at most 256 bytes".into(),
            ));
        }
        if crate::secrets::is_secret_shaped(key) {
            return Err(HostError::Invalid(format!(
                "`{key}` is secret-shaped: secrets are never given to drivers"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_may_ask_for_plain_settings_only() {
        let keys = |list: &[&str]| list.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert!(check_setting_keys(&keys(&["ODOO_VERSION", "KEYCLOAK_URL", "TOKENS"])).is_ok());
        for secret in ["GITHUB_TOKEN", "api_key", "DB_PASSWORD", "WEBHOOK_SECRET"] {
            let error = check_setting_keys(&keys(&["ODOO_VERSION", secret])).expect_err(secret);
            assert!(
                matches!(&error, HostError::Invalid(m) if m.contains(secret)),
                "{error:?}"
            );
        }
        assert!(check_setting_keys(&keys(&[" "])).is_err());
        let many: Vec<String> = (0..=MAX_SETTING_KEYS).map(|i| format!("K{i}")).collect();
        assert!(check_setting_keys(&many).is_err());
    }
}
