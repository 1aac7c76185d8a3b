//! `POST /v1/lanes/release`: an operator frees a product lane held by an
//! in-request mutation whose host died (or hangs), at once instead of
//! waiting for the lease to run out. Audited with the operator's reason.
//!
//! It frees only the lease: a durable operation holding the lane is the
//! operation's to finish or fail, and an idempotent request cut off after
//! its first change still answers its retries with 409
//! `idempotency_outcome_unknown` (`records/idempotency.rs`).

use serde_json::{Map, Value, json};

use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::records::LaneLease;

/// The route.
pub const ROUTE: &str = "/v1/lanes/release";
/// Its authorization action (product scoped).
pub const ACTION: &str = "lane_lease.release";

/// A validated release request.
struct Release {
    product: String,
    context: String,
    instance: String,
    reason: String,
}

impl Release {
    /// `{product, context, instance, reason}`, all non-blank; nothing else.
    fn parse(map: &Map<String, Value>) -> Result<Release, ApiError> {
        const FIELDS: [&str; 4] = ["product", "context", "instance", "reason"];
        if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(ApiError::invalid_request(format!(
                "{unknown}: unknown field; expected {}",
                FIELDS.join(", ")
            )));
        }
        let field = |name: &str| -> Result<String, ApiError> {
            map.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::invalid_request(format!("{name}: a non-blank string is required"))
                })
        };
        Ok(Release {
            product: field("product")?,
            context: field("context")?,
            instance: field("instance")?,
            reason: field("reason")?,
        })
    }
}

/// The audit `detail` of a release, by route or CLI: the operator's
/// reason and the trace id of the attempt whose lease was freed.
pub fn audit_detail(reason: &str, freed: Option<&LaneLease>) -> Value {
    json!({
        "reason": reason,
        "released_trace_id": freed.map(|l| l.trace_id.clone()),
    })
}

impl Service {
    /// Frees the lane's lease (see the module docs).
    pub async fn release_lane_lease(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        super::input::check_body(&Value::Object(map.clone()))?;
        let release = Release::parse(&map)?;
        self.authorize(
            call,
            ACTION,
            &release.product,
            &release.context,
            &release.instance,
        )
        .await?;
        let body = Value::Object(map);
        let mutation = Mutation::host(call, ACTION, &release.product, &release.context, &body)
            .on_instance(&release.instance);
        self.run_mutation(mutation, || async {
            let freed = self
                .store
                .force_release_lane(&release.product, &release.context, &release.instance)
                .await
                .map_err(ApiError::internal)?;
            if let Some(lease) = &freed {
                tracing::warn!(
                    product = %release.product, context = %release.context, instance = %release.instance,
                    holder_trace_id = %lease.trace_id, reason = %release.reason,
                    "an operator released a lane lease"
                );
            }
            let mut accepted = Accepted::new().record("released", freed.is_some());
            accepted.written = freed.iter().map(|l| format!("lane_lease/{}", l.lease_id)).collect();
            accepted.audit_detail = Some(audit_detail(&release.reason, freed.as_ref()));
            accepted.result = Some(json!({
                "product": release.product,
                "context": release.context,
                "instance": release.instance,
                "released": freed.is_some(),
                "lease": freed.map(|l| json!({
                    "driver_id": l.driver_id,
                    "action_id": l.action_id,
                    "trace_id": l.trace_id,
                    "acquired_at": l.acquired_at,
                })),
            }));
            Ok(accepted)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn a_release_names_its_lane_and_reason() {
        let ok = json!({"product": "demo", "context": "demo", "instance": "testing", "reason": "host died"});
        let Value::Object(map) = ok else {
            unreachable!()
        };
        assert!(Release::parse(&map).is_ok());
        for (field, body) in [
            (
                "reason",
                json!({"product": "demo", "context": "demo", "instance": "testing"}),
            ),
            (
                "instance",
                json!({"product": "demo", "context": "demo", "instance": " ", "reason": "r"}),
            ),
            (
                "force",
                json!({"product": "demo", "context": "demo", "instance": "t", "reason": "r", "force": true}),
            ),
        ] {
            let Value::Object(map) = body else {
                unreachable!()
            };
            let error = Release::parse(&map).err().expect("refused");
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            assert!(error.message.starts_with(field), "{}", error.message);
        }
    }
}
