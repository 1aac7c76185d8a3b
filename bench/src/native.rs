//! The native no-op: driver-route layers without driver code.
//!
//! `POST /v1/bench/native/{driver_id}/{*action_path}` stands in for the
//! driver route `POST /v1/drivers/{driver_id}/{action_path}`. It runs the
//! host's own admission (`launchplane::http::dispatch::admit`: route table,
//! authentication, envelope, product profile and lane, authorization,
//! payload schema with the driver's compiled validator) and the same
//! idempotent, audited mutation tail, and answers an empty result where
//! the host would instantiate and call the component. Only the component
//! call differs between the two routes, which is what the dispatch figure
//! compares.
//!
//! The route lives in this crate, so it exists only in the benchmark binary,
//! never in `launchplane`.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::post;
use launchplane::error::ApiError;
use launchplane::http::dispatch::admit;
use launchplane::http::mutation::Accepted;
use launchplane::http::{AppState, TraceId, router};
use serde_json::json;

/// The service router with the native no-op route added.
pub fn router_with_native(state: AppState) -> Router {
    Router::new()
        .route("/v1/bench/native/{driver_id}/{*action_path}", post(native))
        .with_state(state.clone())
        .merge(router(state))
}

async fn native(
    State(state): State<AppState>,
    Path((driver_id, action_path)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let trace_id = TraceId::new();
    // The driver route this handler stands in for: its descriptor supplies
    // the envelope key, authz action, schema and idempotency mode, and its
    // path is the one idempotency keys and audit events are scoped to.
    let path = format!("/v1/drivers/{driver_id}/{action_path}");
    let (parts, body) = request.into_parts();
    let run = async {
        let admitted = admit(
            &state,
            &trace_id,
            &parts.method,
            &path,
            &parts.headers,
            body,
        )
        .await?;
        state
            .run_mutation(
                admitted.mutation(&trace_id, &path, &parts.headers),
                || async {
                    // Where dispatch invokes the component: nothing.
                    let mut accepted = Accepted::new();
                    accepted.result = Some(json!({}));
                    Ok(accepted)
                },
            )
            .await
    };
    run.await.map_err(|e| e.with_trace(&trace_id))
}
