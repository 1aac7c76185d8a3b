//! Admission: every check the host makes before driver code runs, in the
//! original's order (reference §2.3) after the route and the caller are
//! known: envelope (400), product profile and lane (404/403),
//! authorization (403), payload schema (400).

use serde_json::{Map, Value};

use super::envelope::{Envelope, parse_envelope, validate_payload};
use super::{DriverRoute, mismatch};
use crate::error::ApiError;
use crate::ops::input::check_body;
use crate::ops::mutation::Mutation;
use crate::ops::{Call, Service};
use crate::records::models::product_profile::{ProductLaneProfile, ProductProfile};
use crate::registry::{ActionDescriptor, Scope};

/// A driver request that passed admission.
pub struct Admitted {
    pub route: DriverRoute,
    pub envelope: Envelope,
    pub profile: ProductProfile,
    pub context: String,
    pub instance: String,
    /// The whole request body, for the idempotency fingerprint.
    pub body: Value,
}

impl Admitted {
    /// The idempotent, audited mutation this request is.
    pub fn mutation<'a>(&'a self, call: &'a Call) -> Mutation<'a> {
        Mutation {
            call,
            action: &self.route.action.authz_action,
            product: &self.envelope.product,
            context: &self.context,
            instance: &self.instance,
            body: &self.body,
            idempotency: self.route.action.idempotency,
        }
    }
}

impl Service {
    /// Runs the checks in the original's order and answers the first
    /// refusal. Public so that a stand-in for driver code (the benchmark's
    /// native no-op) is measured behind exactly the layers a driver route
    /// has.
    pub async fn admit(
        &self,
        call: &Call,
        route: DriverRoute,
        body: Map<String, Value>,
    ) -> Result<Admitted, ApiError> {
        let action = &route.action;
        let body = Value::Object(body);
        check_body(&body)?;
        let envelope = parse_envelope(&body, &action.envelope_key)?;
        if let Some(inner) = envelope.payload.get("product").and_then(Value::as_str)
            && inner.trim() != envelope.product
        {
            return Err(ApiError::invalid_request(format!(
                "Field `{}.product` must equal the envelope's `product`.",
                action.envelope_key
            )));
        }

        let profile = match self.product_profile(&envelope.product).await? {
            Some(profile) => profile,
            // The original served extension routes for products without a
            // profile: the lane is the one the request names, and
            // authorization decides (a foreign caller is 403, not 404).
            None if route.driver.descriptor.base().is_some() => {
                unprofiled(&envelope, &action.envelope_key, &route.target.driver_id)?
            }
            None => self.require_product_profile(&envelope.product).await?,
        };
        if !route
            .registry
            .compatible(&profile.driver_id, &route.target.driver_id)
        {
            return Err(mismatch(format!(
                "Product `{}` uses driver `{}`, which cannot call {} routes.",
                profile.product, profile.driver_id, route.target.driver_id
            )));
        }
        let (context, instance) = lane_of(&profile, action, &envelope)?;

        self.authorize(
            call,
            &action.authz_action,
            &envelope.product,
            &context,
            &instance,
        )
        .await?;
        if let Some(validator) = route.driver.validator(&action.action_id) {
            validate_payload(validator, &action.envelope_key, &envelope.payload)?;
        }
        Ok(Admitted {
            route,
            envelope,
            profile,
            context,
            instance,
            body,
        })
    }
}

/// The stand-in profile of a product without one on an extension route: the
/// route's driver, and the one lane the request names (`context` and
/// `instance`), or none; a request that names no lane is refused later,
/// naming the field.
fn unprofiled(
    envelope: &Envelope,
    envelope_key: &str,
    driver_id: &str,
) -> Result<ProductProfile, ApiError> {
    let text = |name: &str| {
        envelope
            .payload
            .get(name)
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
    };
    let instance = ["instance", "to_instance", "destination_instance"]
        .into_iter()
        .find_map(text);
    let context = text("context");
    let mut profile = ProductProfile {
        product: envelope.product.clone(),
        display_name: envelope.product.clone(),
        driver_id: driver_id.to_string(),
        ..ProductProfile::default()
    };
    match (context, instance) {
        (Some(context), Some(instance)) => profile.lanes.push(ProductLaneProfile {
            instance,
            context,
            base_url: String::new(),
            health_url: String::new(),
            policies: Default::default(),
        }),
        (None, Some(_)) => {
            return Err(ApiError::invalid_request(format!(
                "Field `{}.context` is required: product `{}` has no profile to name the lane's context.",
                envelope_key, envelope.product
            )));
        }
        // A context-scoped request: a lane-less context of the product.
        (Some(context), None) => profile.lanes.push(ProductLaneProfile {
            instance: String::new(),
            context,
            base_url: String::new(),
            health_url: String::new(),
            policies: Default::default(),
        }),
        (None, None) => {}
    }
    Ok(profile)
}

/// The lane an action addresses, from the product profile: instance-scoped
/// actions name a lane the profile owns; preview- and context-scoped
/// actions use the profile's preview context or a context it owns.
fn lane_of(
    profile: &ProductProfile,
    action: &ActionDescriptor,
    envelope: &Envelope,
) -> Result<(String, String), ApiError> {
    let field = |name: &str| {
        envelope
            .payload
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let requested_context = field("context");
    match action.scope {
        Scope::Instance => {
            // The payload's lane field, or its schema default (a promotion's
            // `to_instance` defaults to `prod`).
            let schema_default = |name: &str| {
                action
                    .input_schema
                    .pointer(&format!("/properties/{name}/default"))
                    .and_then(Value::as_str)
                    .map(str::trim)
            };
            let instance = ["instance", "to_instance", "destination_instance"]
                .into_iter()
                .find_map(|name| {
                    field(name)
                        .or_else(|| schema_default(name))
                        .filter(|s| !s.is_empty())
                })
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "Field `{}.instance` is required to name a lane.",
                        action.envelope_key
                    ))
                })?;
            let lane = profile.lane(&instance).ok_or_else(|| {
                mismatch(format!(
                    "Product `{}` has no lane `{instance}`.",
                    profile.product
                ))
            })?;
            if let Some(context) = requested_context
                && context != lane.context
            {
                return Err(mismatch(format!(
                    "Product `{}` lane `{instance}` is in context `{}`, not `{context}`.",
                    profile.product, lane.context
                )));
            }
            Ok((lane.context.clone(), instance))
        }
        Scope::Preview | Scope::Context => {
            let contexts = profile.contexts();
            let context = match requested_context {
                Some(context) => context.to_string(),
                None if !profile.preview.context.trim().is_empty() => {
                    profile.preview.context.clone()
                }
                None => {
                    return Err(mismatch(format!(
                        "Product `{}` has no preview context.",
                        profile.product
                    )));
                }
            };
            if !contexts.iter().any(|c| c == &context) {
                return Err(mismatch(format!(
                    "Context `{context}` does not belong to product `{}`.",
                    profile.product
                )));
            }
            Ok((context, String::new()))
        }
        Scope::Global => Ok(("launchplane".to_string(), String::new())),
    }
}
