//! The native no-op: driver-route layers without driver code.
//!
//! `POST /v1/bench/native/{driver_id}/{*action_path}` stands in for the
//! driver route `POST /v1/drivers/{driver_id}/{action_path}`. It runs the
//! host's own admission (`Service::driver_route` and `Service::admit`:
//! route table, envelope, product profile and lane, authorization, payload
//! schema with the driver's compiled validator) behind the same
//! authentication extractor and request layer, and the same idempotent,
//! audited mutation tail, and answers an empty result where the host would
//! instantiate and call the component. Only the component call differs
//! between the two routes, which is what the dispatch figure compares.
//!
//! The route lives in this crate, so it exists only in the benchmark binary,
//! never in `launchplane`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use launchplane::error::ApiError;
use launchplane::http::extract::JsonObject;
use launchplane::http::router_with;
use launchplane::ops::{Accepted, Call, Reply, Service};
use serde_json::json;

/// The service router with the native no-op route added.
pub fn router_with_native(service: Service) -> Router {
    let native = Router::new().route("/v1/bench/native/{driver_id}/{*action_path}", post(native));
    router_with(service, native)
}

async fn native(
    State(service): State<Service>,
    Path((driver_id, action_path)): Path<(String, String)>,
    mut call: Call,
    JsonObject(body): JsonObject,
) -> Result<Reply, ApiError> {
    // The driver route this handler stands in for: its descriptor supplies
    // the envelope key, authz action, schema and idempotency mode, and its
    // path is the one idempotency keys and audit events are scoped to.
    call.route = format!("/v1/drivers/{driver_id}/{action_path}");
    let route = service.driver_route("POST", &call.route)?;
    let admitted = service.admit(&call, route, body).await?;
    service
        .run_mutation(admitted.mutation(&call), || async {
            // Where dispatch invokes the component: nothing.
            let mut accepted = Accepted::new();
            accepted.result = Some(json!({}));
            Ok(accepted)
        })
        .await
}
