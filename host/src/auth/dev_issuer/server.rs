//! What the issuer serves: its discovery document and JWKS, on a loopback
//! address only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use super::{DevIssuer, DevIssuerError};

/// Where the discovery document is served.
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Where the JWKS is served.
const JWKS_PATH: &str = "/.well-known/jwks";

/// The discovery document of an issuer served by [`router`]:
/// `jwks_uri` is `{issuer}/.well-known/jwks`.
pub fn discovery_document(issuer: &str) -> Value {
    let base = issuer.trim_end_matches('/');
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository",
            "repository_id", "repository_owner", "repository_owner_id", "run_id",
            "run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref",
            "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type", "environment",
            "job_workflow_ref", "job_workflow_sha", "runner_environment"
        ],
    })
}

/// The URL of an issuer served on `addr` (`http://127.0.0.1:port`).
pub fn issuer_url_for(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Refuses every bind address that is not loopback (127.0.0.0/8, `::1`).
pub fn ensure_loopback_bind(addr: SocketAddr) -> Result<(), DevIssuerError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(DevIssuerError::NonLoopbackBind(addr))
    }
}

/// A router serving `/.well-known/openid-configuration` and
/// `/.well-known/jwks` for `issuer`.
pub fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route(
            DISCOVERY_PATH,
            get(|State(issuer): State<Arc<DevIssuer>>| async move {
                axum::Json(issuer.discovery_document())
            }),
        )
        .route(
            JWKS_PATH,
            get(|State(issuer): State<Arc<DevIssuer>>| async move { axum::Json(issuer.jwks()) }),
        )
        .with_state(issuer)
}

impl DevIssuer {
    /// [`discovery_document`] for this issuer.
    pub fn discovery_document(&self) -> Value {
        discovery_document(&self.issuer)
    }
}
