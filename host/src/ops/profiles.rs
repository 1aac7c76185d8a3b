//! Product profiles (reference §3.2, §3.4, §6.8): the record that binds a
//! product to its driver and lanes, and so decides every driver route's
//! product/lane checks.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::records::models::parse_record;
use crate::records::models::product_profile::ProductProfile;
use crate::records::{RecordQuery, RecordWrite, StoredRecord, Tx};

const KIND: &str = "product_profile";

impl Service {
    /// The stored profile of `product`, if any.
    pub async fn product_profile(&self, product: &str) -> Result<Option<ProductProfile>, ApiError> {
        let Some(record) = self
            .store
            .get_record(KIND, product)
            .await
            .map_err(ApiError::internal)?
        else {
            return Ok(None);
        };
        serde_json::from_value(record.document)
            .map(Some)
            .map_err(|e| {
                ApiError::internal(format!(
                    "stored product profile `{product}` is malformed: {e}"
                ))
            })
    }

    /// The stored profile of `product`; 404 naming the product when there
    /// is none (every route that acts for a product needs its profile).
    pub async fn require_product_profile(&self, product: &str) -> Result<ProductProfile, ApiError> {
        self.product_profile(product).await?.ok_or_else(|| {
            ApiError::not_found(format!(
                "No Launchplane product profile for product `{product}`."
            ))
        })
    }

    /// `GET /v1/product-profiles[?driver_id=…]`, sorted by product.
    pub async fn list_profiles(&self, call: &Call, driver_id: &str) -> Result<Reply, ApiError> {
        self.authorize(
            call,
            "product_profile.read",
            "launchplane",
            "launchplane",
            "",
        )
        .await?;
        let query = RecordQuery {
            limit: 1000,
            ..Default::default()
        };
        let records = self
            .store
            .list_records(KIND, &query)
            .await
            .map_err(ApiError::internal)?;
        let mut profiles: Vec<Value> = records
            .into_iter()
            .map(|r| r.document)
            .filter(|p| {
                driver_id.is_empty()
                    || p.get("driver_id").and_then(Value::as_str) == Some(driver_id)
            })
            .collect();
        profiles.sort_by(|a, b| a["product"].as_str().cmp(&b["product"].as_str()));
        Ok(Reply::ok(
            &call.trace_id,
            json!({"driver_id": driver_id, "profiles": profiles}),
        ))
    }

    /// `GET /v1/product-profiles/{product}`.
    pub async fn show_profile(&self, call: &Call, product: &str) -> Result<Reply, ApiError> {
        super::input::check_path_id("product", product)?;
        self.authorize(call, "product_profile.read", product, "launchplane", "")
            .await?;
        let record = self
            .store
            .get_record(KIND, product)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "No Launchplane product profile for product `{product}`."
                ))
            })?;
        // A profile that no longer reads (a driver since unloaded, say)
        // is still shown; only its lane view is left out.
        let lanes = serde_json::from_value::<ProductProfile>(record.document.clone())
            .map(|p| super::lane_policies::lane_views(&self.registry(), &p))
            .unwrap_or_default();
        Ok(Reply::ok(
            &call.trace_id,
            json!({"profile": record.document, "lanes": lanes}),
        ))
    }

    /// `POST /v1/product-profiles`: the full profile record (not enveloped).
    pub async fn write_profile(&self, call: &Call, body: Value) -> Result<Reply, ApiError> {
        super::input::check_body(&body)?;
        let profile: ProductProfile = parse_record(&body, "").map_err(|e| {
            ApiError::invalid_request(format!("Request payload failed validation: {e}"))
        })?;
        self.authorize(
            call,
            "product_profile.write",
            &profile.product,
            "launchplane",
            "",
        )
        .await?;
        if self.registry().driver(&profile.driver_id).is_none() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "Field `driver_id`: `{}` is not a loaded driver.",
                    profile.driver_id
                ),
            ));
        }
        super::lane_policies::check_lane_policies(&self.registry(), &profile)?;
        let mutation = Mutation::host(
            call,
            "product_profile.write",
            &profile.product,
            "launchplane",
            &body,
        );
        let profile = &profile;
        self.run_mutation_tx(mutation, |mut tx: Tx| async move {
            let outcome = write_profile(&mut tx, profile, call).await;
            (tx, outcome)
        })
        .await
    }
}

/// Writes the profile record in the mutation's transaction.
async fn write_profile(
    tx: &mut Tx,
    profile: &ProductProfile,
    call: &Call,
) -> Result<Accepted, ApiError> {
    let document = serde_json::to_value(profile).map_err(ApiError::internal)?;
    let mut record = StoredRecord::new(KIND, &profile.product, &profile.product, document);
    record.context = String::new();
    let mut accepted = Accepted::new().record("product_profile", profile.product.clone());
    accepted.written = tx
        .write_records(&[RecordWrite::Replace { record }], call.trace_id.as_str())
        .await
        .map_err(super::input::store_error)?;
    Ok(accepted)
}
