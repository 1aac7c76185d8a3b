//! A generic-web extension that implements two hooks, so the host's hook
//! routing is tested against a real component:
//!
//! * `promotion-gate` blocks promotions of artifacts whose id contains
//!   `blocked` (`{"allowed": false, "reason": ...}`), allows the rest
//!   (`{"allowed": true}`);
//! * `verify` fails with `precondition_failed` ("hook-ext verify failed")
//!   for artifacts whose id contains `verify-fail`, else answers
//!   `{"verified": true}`.
//!
//! Every other generic-web hook is left unimplemented, so the host answers
//! it with `{}`.

use launchplane_sdk::prelude::*;

/// The part of generic-web's `promotion-gate` and `verify` payloads this
/// extension reads. Other fields are ignored, as extensions must.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ArtifactPayload {
    pub artifact_id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ping {}

#[derive(Serialize, JsonSchema)]
pub struct Pong {
    pub pong: bool,
}

fn ping(_ctx: &Ctx<'_>, _req: Ping) -> Result<Reply<Pong>, DriverError> {
    Ok(Reply::new(Pong { pong: true }))
}

/// `promotion-gate`: `{"allowed": false, "reason": ...}` for artifacts
/// containing `blocked`, else `{"allowed": true}`.
pub fn promotion_gate(_ctx: &Ctx<'_>, payload: ArtifactPayload) -> Result<Value, DriverError> {
    if payload.artifact_id.contains("blocked") {
        Ok(json!({
            "allowed": false,
            "reason": "hook-ext blocks promotions of artifacts containing 'blocked'",
        }))
    } else {
        Ok(json!({"allowed": true}))
    }
}

/// `verify`: fails for artifacts containing `verify-fail`, else
/// `{"verified": true}`.
pub fn verify(_ctx: &Ctx<'_>, payload: ArtifactPayload) -> Result<Value, DriverError> {
    if payload.artifact_id.contains("verify-fail") {
        Err(DriverError::PreconditionFailed(
            "hook-ext verify failed".to_string(),
        ))
    } else {
        Ok(json!({"verified": true}))
    }
}

pub fn driver() -> Driver {
    Driver::new("hook-ext", "Hook test extension")
        .extends("generic-web")
        .action(
            Action::post("ping", "ping")
                .label("Ping")
                .description("Answers pong; the extension exists for its hooks.")
                .safety(Safety::Read)
                .scope(Scope::Global)
                .authz("hook_ext_ping.execute")
                .envelope("ping")
                .handler(ping),
        )
        .hook("promotion-gate", promotion_gate)
        .hook("verify", verify)
}

#[cfg(target_arch = "wasm32")]
launchplane_sdk::export_driver!(driver);
