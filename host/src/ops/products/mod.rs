//! Product read models (reference §3.2, `product_environment.read`): the
//! products with their lanes, one product, its activity, its
//! environments, one environment (values redacted) and its configuration
//! status.
//!
//! As in the original, the profile is read first (an unknown product or
//! environment is 404 before authorization); the list authorizes on
//! (`launchplane`, `launchplane`), a product and its activity on
//! (product, `launchplane`), an environment on (product, lane context).
//! Each action's availability is judged against the caller's own grants
//! without auditing those checks; only the route's own decision is
//! audited when it denies.

pub mod actions;
pub mod activity;
pub mod lane;
pub mod views;

use serde_json::json;

use super::input::check_path_id;
use super::{Call, Reply, Service};
use crate::error::ApiError;
use crate::records::RecordQuery;
use crate::records::models::product_profile::{ProductLaneProfile, ProductProfile};
use crate::registry::DriverDescriptor;

const ACTION: &str = "product_environment.read";
const LAUNCHPLANE: &str = "launchplane";

impl Service {
    /// The product's profile and its driver's descriptor (none when the
    /// driver is not loaded: the read models then warn).
    async fn product_and_driver(
        &self,
        product: &str,
    ) -> Result<(ProductProfile, Option<DriverDescriptor>), ApiError> {
        check_path_id("product", product)?;
        let profile = self.require_product_profile(product).await?;
        let driver = self
            .registry()
            .driver(&profile.driver_id)
            .map(|d| d.descriptor.clone());
        Ok((profile, driver))
    }

    /// The product, its driver and its lane `environment`, authorized on
    /// the lane's context (unknown product or lane: 404 first).
    async fn product_lane(
        &self,
        call: &Call,
        product: &str,
        environment: &str,
    ) -> Result<(ProductProfile, Option<DriverDescriptor>, ProductLaneProfile), ApiError> {
        let (profile, driver) = self.product_and_driver(product).await?;
        check_path_id("environment", environment)?;
        let lane = views::find_lane(&profile, environment)?.clone();
        self.authorize(call, ACTION, &profile.product, &lane.context, "")
            .await?;
        Ok((profile, driver, lane))
    }

    /// `GET /v1/products`: every product's overview, by product.
    pub async fn list_products(&self, call: &Call) -> Result<Reply, ApiError> {
        self.authorize(call, ACTION, LAUNCHPLANE, LAUNCHPLANE, "")
            .await?;
        let allowed = self.grants_of(call).await?;
        let query = RecordQuery {
            limit: 1000,
            ..Default::default()
        };
        let mut profiles: Vec<ProductProfile> = Vec::new();
        for record in self
            .store
            .list_records("product_profile", &query)
            .await
            .map_err(ApiError::internal)?
        {
            let profile = serde_json::from_value(record.document).map_err(|e| {
                ApiError::internal(format!(
                    "stored product profile `{}` is malformed: {e}",
                    record.record_id
                ))
            })?;
            profiles.push(profile);
        }
        profiles.sort_by(|a, b| a.product.cmp(&b.product));
        let registry = self.registry();
        let mut products = Vec::with_capacity(profiles.len());
        for profile in &profiles {
            let driver = registry.driver(&profile.driver_id).map(|d| &d.descriptor);
            products.push(views::overview(&self.store, profile, driver, &allowed).await?);
        }
        Ok(Reply::ok(&call.trace_id, json!({"products": products})))
    }

    /// `GET /v1/products/{product}`: the product's overview with its lanes.
    pub async fn show_product(&self, call: &Call, product: &str) -> Result<Reply, ApiError> {
        let (profile, driver) = self.product_and_driver(product).await?;
        self.authorize(call, ACTION, &profile.product, LAUNCHPLANE, "")
            .await?;
        let allowed = self.grants_of(call).await?;
        let overview = views::overview(&self.store, &profile, driver.as_ref(), &allowed).await?;
        Ok(Reply::ok(&call.trace_id, json!({"product": overview})))
    }

    /// `GET /v1/products/{product}/activity[?limit=N]` (1…500, default 50;
    /// validated first, as the original's query models are).
    pub async fn product_activity(
        &self,
        call: &Call,
        product: &str,
        limit: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let limit = match limit {
            None => activity::DEFAULT_LIMIT,
            Some(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=activity::MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "Query parameter `limit` must be an integer between 1 and {}.",
                        activity::MAX_LIMIT
                    ))
                })?,
        };
        let (profile, _) = self.product_and_driver(product).await?;
        self.authorize(call, ACTION, &profile.product, LAUNCHPLANE, "")
            .await?;
        let activity = activity::activity(&self.store, &profile, limit).await?;
        Ok(Reply::ok(&call.trace_id, json!({"activity": activity})))
    }

    /// `GET /v1/products/{product}/environments`: the lane summaries.
    pub async fn product_environments(
        &self,
        call: &Call,
        product: &str,
    ) -> Result<Reply, ApiError> {
        let (profile, driver) = self.product_and_driver(product).await?;
        self.authorize(call, ACTION, &profile.product, LAUNCHPLANE, "")
            .await?;
        let allowed = self.grants_of(call).await?;
        let (environments, trust) =
            views::environment_summaries(&self.store, &profile, driver.as_ref(), &allowed).await?;
        Ok(Reply::ok(
            &call.trace_id,
            json!({
                "product": profile.product,
                "display_name": profile.display_name,
                "repository": profile.repository,
                "driver_id": profile.driver_id,
                "base_driver_id": driver.as_ref().map(|d| d.base_driver_id.as_str()).unwrap_or(""),
                "environments": environments,
                "trust_state": trust,
                "provenance": views::profile_provenance(&profile),
            }),
        ))
    }

    /// `GET /v1/products/{product}/environments/{environment}`: one lane,
    /// authorized on its context; runtime values and secrets never shown.
    pub async fn product_environment(
        &self,
        call: &Call,
        product: &str,
        environment: &str,
    ) -> Result<Reply, ApiError> {
        let (profile, driver, lane) = self.product_lane(call, product, environment).await?;
        let allowed = self.grants_of(call).await?;
        let detail =
            views::environment_detail(&self.store, &profile, driver.as_ref(), &lane, &allowed)
                .await?;
        Ok(Reply::ok(&call.trace_id, json!({"environment": detail})))
    }

    /// `GET /v1/products/{product}/environments/{environment}/config-status`.
    pub async fn product_config_status(
        &self,
        call: &Call,
        product: &str,
        environment: &str,
    ) -> Result<Reply, ApiError> {
        let (profile, driver, lane) = self.product_lane(call, product, environment).await?;
        let status = views::config_status(&self.store, &profile, driver.as_ref(), &lane).await?;
        Ok(Reply::ok(&call.trace_id, json!({"config_status": status})))
    }
}
