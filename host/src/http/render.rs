//! Rendering: a [`Reply`] becomes its status and JSON body; an
//! [`ApiError`] becomes its status, with the error itself attached for
//! `layer.rs`, which writes the body with the request's trace id and logs
//! internal failures in the request's span. Rendering has no side effects.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::ops::Reply;

/// The error a response stands for, attached by [`ApiError`]'s rendering.
#[derive(Debug, Clone)]
pub struct Refusal(pub Arc<ApiError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Launchplane API\""),
            );
        }
        for (name, value) in &self.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response.extensions_mut().insert(Refusal(Arc::new(self)));
        response
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
