//! `GET /v1/openapi.json`: an OpenAPI 3.1 document generated from the same
//! descriptors that build the route table.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::ops::Service;
use crate::registry::{ActionDescriptor, DriverDescriptor, Idempotency, Method, Registry};

pub async fn serve(State(state): State<Service>) -> Json<Value> {
    Json(openapi_document(&state.registry()))
}

/// Drops keys that only make sense at a schema document's root.
fn embeddable(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
        map.remove("$id");
    }
    schema
}

fn envelope_schema(action: &ActionDescriptor) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["product", action.envelope_key],
        "properties": {
            "schema_version": {"type": "integer", "minimum": 1, "default": 1},
            "product": {"type": "string", "minLength": 1},
            (action.envelope_key.clone()): embeddable(&action.input_schema),
        }
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn operation(driver: &DriverDescriptor, action: &ActionDescriptor) -> Value {
    let mut op = json!({
        "operationId": format!("{}.{}", driver.driver_id, action.action_id),
        "summary": action.label,
        "description": action.description,
        "tags": [driver.driver_id],
        "security": [{"bearer": []}],
        "x-launchplane-authz-action": action.authz_action,
        "x-launchplane-safety": action.safety,
        "x-launchplane-scope": action.scope,
        "x-launchplane-execution": action.execution,
        "x-launchplane-idempotency": action.idempotency,
        "x-launchplane-writes-records": action.writes_records,
        "x-launchplane-operator-visible": action.operator_visible,
        "responses": {
            "400": error_response("Invalid request: the message names the field"),
            "401": error_response("Missing or invalid bearer token"),
            "403": error_response("Not authorized, or product/driver mismatch"),
            "404": error_response("Unknown product, record or route"),
            "409": error_response("Idempotency conflict or failed precondition"),
            "500": error_response("Internal error"),
            "501": error_response("Declared but not implemented by this driver version"),
            "502": error_response("Provider failure"),
        }
    });
    let responses = op["responses"]
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut responses: Map<String, Value> = responses;
    match action.method {
        Method::Post => {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": envelope_schema(action)}}
            });
            responses.insert(
                "202".into(),
                json!({
                    "description": "Accepted",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["status", "trace_id"],
                        "properties": {
                            "status": {"const": "accepted"},
                            "trace_id": {"type": "string"},
                            "records": {"type": "object", "additionalProperties": {"type": "string"}},
                            "result": embeddable(&action.output_schema),
                            "replayed": {"type": "boolean"},
                            "original_trace_id": {"type": "string"}
                        }
                    }}}
                }),
            );
            if action.idempotency != Idempotency::None {
                op["parameters"] = json!([{
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": action.idempotency == Idempotency::Required,
                    "schema": {"type": "string", "minLength": 1}
                }]);
            }
        }
        Method::Get => {
            responses.insert(
                "200".into(),
                json!({
                    "description": "OK",
                    "content": {"application/json": {"schema": embeddable(&action.output_schema)}}
                }),
            );
        }
    }
    op["responses"] = Value::Object(responses);
    op
}

/// The host's own routes: (method, path, operation id, authz action, summary).
const CORE_ROUTES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "get",
        "/v1/health",
        "health",
        "",
        "Liveness and storage backend",
    ),
    (
        "get",
        "/v1/ready",
        "ready",
        "",
        "Readiness: database, registry, policy, provider (503 naming what is missing)",
    ),
    (
        "get",
        "/v1/drivers",
        "drivers.list",
        "driver.read",
        "Loaded driver descriptors",
    ),
    (
        "get",
        "/v1/drivers/{driver_id}",
        "drivers.show",
        "driver.read",
        "One driver descriptor",
    ),
    ("get", "/v1/openapi.json", "openapi", "", "This document"),
    (
        "post",
        "/v1/evidence/deployments",
        "evidence.deployments",
        "deployment.write",
        "Record deployment evidence",
    ),
    (
        "post",
        "/v1/evidence/promotions",
        "evidence.promotions",
        "promotion.write",
        "Record promotion evidence",
    ),
    (
        "post",
        "/v1/evidence/backup-gates",
        "evidence.backup_gates",
        "backup_gate.write",
        "Record backup gate evidence",
    ),
    (
        "post",
        "/v1/evidence/previews/generations",
        "evidence.preview_generations",
        "preview_generation.write",
        "Record a preview generation",
    ),
    (
        "post",
        "/v1/evidence/previews/destroyed",
        "evidence.previews_destroyed",
        "preview_destroyed.write",
        "Record a destroyed preview",
    ),
    (
        "get",
        "/v1/product-profiles",
        "product_profiles.list",
        "product_profile.read",
        "Product profiles",
    ),
    (
        "post",
        "/v1/product-profiles",
        "product_profiles.write",
        "product_profile.write",
        "Write a product profile",
    ),
    (
        "get",
        "/v1/product-profiles/{product}",
        "product_profiles.show",
        "product_profile.read",
        "One product profile",
    ),
    (
        "post",
        "/v1/product-onboarding/apply",
        "product_onboarding.apply",
        "product_onboarding.apply",
        "Write provider targets",
    ),
    (
        "post",
        "/v1/product-config/apply",
        "product_config.apply",
        "product_config.apply",
        "Plan (mode dry-run, action product_config.plan) or apply runtime settings and managed secrets",
    ),
    (
        "post",
        "/v1/live-target-runtime/apply",
        "live_target_runtime.apply",
        "live_target_runtime.apply",
        "Plan (mode dry-run, action live_target_runtime.plan) or push a lane's resolved runtime environment to its provider target (key names only; no deploy)",
    ),
    (
        "post",
        "/v1/previews/desired-state",
        "previews.desired_state",
        "preview_desired_state.discover",
        "Record which open pull requests carry the preview label (GitHub, with the context's managed token)",
    ),
    (
        "post",
        "/v1/previews/lifecycle-plan",
        "previews.lifecycle_plan",
        "preview_lifecycle.plan",
        "Plan previews to keep, create and destroy against the latest inventory scan",
    ),
    (
        "post",
        "/v1/previews/lifecycle-cleanup",
        "previews.lifecycle_cleanup",
        "preview_lifecycle.cleanup",
        "Report, or with apply destroy, a plan's orphaned previews through the product driver",
    ),
    (
        "post",
        "/v1/previews/pr-feedback",
        "previews.pr_feedback",
        "preview_pr_feedback.write",
        "Create, update or delete the one marker comment of a preview's pull request",
    ),
    (
        "post",
        "/v1/lanes/release",
        "lanes.release",
        "lane_lease.release",
        "Free a lane held by an in-request mutation whose host died, at once (operators; `reason` required, audited)",
    ),
    (
        "get",
        "/v1/contexts/{context}/secrets",
        "secrets.list_context",
        "secret.list",
        "Managed secrets that apply to a context (metadata only)",
    ),
    (
        "get",
        "/v1/contexts/{context}/instances/{instance}/secrets",
        "secrets.list_instance",
        "secret.list",
        "Managed secrets that apply to an instance (metadata only)",
    ),
    (
        "get",
        "/v1/secrets/{secret_id}",
        "secrets.show",
        "secret.read",
        "One managed secret (metadata only)",
    ),
    (
        "post",
        "/v1/authz-policies/github-actions/grants",
        "authz.grants",
        "authz_policy_grant.write",
        "Grant a GitHub Actions rule",
    ),
    (
        "post",
        "/v1/authz-policies/github-actions/removals",
        "authz.removals",
        "authz_policy_grant.write",
        "Remove a GitHub Actions rule",
    ),
    (
        "post",
        "/v1/authz-policies/github-humans/grants",
        "authz.human_grants",
        "authz_policy_grant.write",
        "Grant a GitHub human rule (admins; dry_run or apply; a browser session sends X-CSRF-Token)",
    ),
    (
        "get",
        "/auth/github/login",
        "auth.github_login",
        "",
        "Sign in with GitHub: 302 to GitHub's authorize page (PKCE S256); query `return_to` (a same-origin path); 503 auth_not_configured",
    ),
    (
        "get",
        "/auth/github/callback",
        "auth.github_callback",
        "",
        "GitHub's redirect back (query `code`, `state`): 302 to `return_to` with the launchplane_session cookie; 400 invalid_oauth_callback; 403 authorization_denied without a role",
    ),
    (
        "post",
        "/auth/logout",
        "auth.logout",
        "",
        "Revoke the browser session and clear its cookie (header X-CSRF-Token required with a live session)",
    ),
    (
        "get",
        "/v1/auth/session",
        "auth.session",
        "",
        "The signed-in human (`identity`) and the session's `csrf_token`; 401 with `configured` without a session",
    ),
    (
        "get",
        "/v1/deployments/{record_id}",
        "deployments.show",
        "deployment.read",
        "One deployment record",
    ),
    (
        "get",
        "/v1/promotions/{record_id}",
        "promotions.show",
        "promotion.read",
        "One promotion record",
    ),
    (
        "get",
        "/v1/inventory/{context}/{instance}",
        "inventory.show",
        "inventory.read",
        "A lane's inventory",
    ),
    (
        "get",
        "/v1/previews/{preview_id}",
        "previews.show",
        "preview.read",
        "One preview",
    ),
    (
        "get",
        "/v1/previews/{preview_id}/history",
        "previews.history",
        "preview.read",
        "A preview and its generations",
    ),
    (
        "get",
        "/v1/contexts/{context}/operations/recent",
        "contexts.recent",
        "operations.read",
        "Recent activity of a context",
    ),
    (
        "get",
        "/v1/operations/{operation_id}",
        "operations.show",
        "",
        "An async operation (authorized with its action)",
    ),
    (
        "get",
        "/v1/service/runtime",
        "service.runtime",
        "launchplane_service.read",
        "This host's policy digests, audience, storage, image and drivers",
    ),
    (
        "get",
        "/v1/artifacts/protected",
        "artifacts.protected",
        "artifact_protection.read",
        "Artifacts a registry cleanup must keep (query `product`, `context`, `retention_days`)",
    ),
    (
        "get",
        "/v1/products",
        "products.list",
        "product_environment.read",
        "Every product's overview with its lanes",
    ),
    (
        "get",
        "/v1/products/{product}",
        "products.show",
        "product_environment.read",
        "A product's overview with its lanes, previews and actions",
    ),
    (
        "get",
        "/v1/products/{product}/activity",
        "products.activity",
        "product_environment.read",
        "A product's recent activity (query `limit`, 1-500)",
    ),
    (
        "get",
        "/v1/products/{product}/environments",
        "products.environments",
        "product_environment.read",
        "A product's lane summaries",
    ),
    (
        "get",
        "/v1/products/{product}/environments/{environment}",
        "products.environment",
        "product_environment.read",
        "One lane of a product, values redacted",
    ),
    (
        "get",
        "/v1/products/{product}/environments/{environment}/config-status",
        "products.config_status",
        "product_environment.read",
        "A lane's expected configuration: configured, missing or disabled",
    ),
];

fn core_paths() -> Map<String, Value> {
    let mut paths = Map::new();
    for (method, path, operation_id, authz, summary) in CORE_ROUTES {
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "operationId": operation_id,
            "summary": summary,
            "responses": {
                "200": {"description": "OK"},
                "202": {"description": "Accepted"},
                "400": error_response("Invalid request"),
                "401": error_response("Missing or invalid bearer token"),
                "403": error_response("Not authorized"),
                "404": error_response("Not found"),
            }
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if !authz.is_empty() {
            op["security"] = if *method == "get" || crate::ops::humans::session_may_post(path) {
                json!([{"bearer": []}, {"session": []}])
            } else {
                json!([{"bearer": []}])
            };
            op["x-launchplane-authz-action"] = json!(authz);
        }
        if *method == "post" && !authz.is_empty() {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    paths
}

/// The OpenAPI document for a registry.
pub fn openapi_document(registry: &Registry) -> Value {
    let mut paths = core_paths();
    for driver in registry.descriptors() {
        for action in &driver.actions {
            let entry = paths
                .entry(action.route_path.clone())
                .or_insert_with(|| json!({}));
            let method = action.method.as_str().to_ascii_lowercase();
            entry[method] = operation(driver, action);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Launchplane",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Deployment control plane. Driver routes are generated from the loaded driver descriptors."
        },
        "paths": paths,
        "tags": registry.descriptors().iter().map(|d| json!({"name": d.driver_id, "description": d.label})).collect::<Vec<_>>(),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "session": {"type": "apiKey", "in": "cookie", "name": "launchplane_session", "description": "A GitHub sign-in session (GET /auth/github/login); a POST also sends header X-CSRF-Token"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["status", "trace_id", "error"],
                    "properties": {
                        "status": {"const": "rejected"},
                        "trace_id": {"type": "string"},
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
                        }
                    }
                }
            }
        }
    })
}
