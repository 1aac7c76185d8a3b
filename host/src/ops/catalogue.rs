//! The driver catalogue: `GET /v1/drivers` and `GET /v1/drivers/{id}`,
//! authorized with `driver.read` on (`launchplane`, `launchplane`) as in the
//! original.

use serde_json::json;

use super::{Call, Reply, Service};
use crate::error::ApiError;

impl Service {
    async fn authorize_catalogue(&self, call: &Call) -> Result<(), ApiError> {
        self.authorize(call, "driver.read", "launchplane", "launchplane", "")
            .await
    }

    /// Every loaded driver's descriptor.
    pub async fn list_drivers(&self, call: &Call) -> Result<Reply, ApiError> {
        self.authorize_catalogue(call).await?;
        let registry = self.registry();
        Ok(Reply::ok(
            &call.trace_id,
            json!({"drivers": registry.descriptors()}),
        ))
    }

    /// One driver's descriptor; 404 naming an unknown driver.
    pub async fn show_driver(&self, call: &Call, driver_id: &str) -> Result<Reply, ApiError> {
        self.authorize_catalogue(call).await?;
        let registry = self.registry();
        let driver = registry
            .driver(driver_id)
            .ok_or_else(|| ApiError::not_found(format!("No Launchplane driver `{driver_id}`.")))?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({"driver": driver.descriptor}),
        ))
    }
}
