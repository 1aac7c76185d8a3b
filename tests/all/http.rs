//! The core HTTP surface: health, the driver catalogue, OpenAPI, and the
//! original's error envelopes.

use launchplane_tests::{RegistryFile, Service, TestDatabase, TestServer, assert_rejected};
use serde_json::{Value, json};

async fn server() -> TestServer {
    TestServer::start(
        RegistryFile::new()
            .product_drivers()
            .load()
            .await
            .expect("loads"),
    )
    .await
}

#[tokio::test]
async fn health_reports_the_storage_backend() {
    let server = server().await;
    let (status, body) = server.get("/v1/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["storage_backend"], "sqlite");
    assert!(
        body["trace_id"]
            .as_str()
            .is_some_and(|t| t.starts_with("launchplane_req_"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_is_the_loaded_descriptors() {
    let db = TestDatabase::new("sqlite").await;
    let server = Service::start(&db).await;
    let (status, _) = server.server.get("/v1/drivers").await;
    assert_eq!(status, 401, "the catalogue needs a caller");
    let (status, body) = server.get("/v1/drivers").await;
    assert_eq!(status, 200, "{body}");
    let expected =
        serde_json::to_value(server.server.state.registry().descriptors()).expect("json");
    assert_eq!(body["drivers"], expected);
    let generic = &body["drivers"][0];
    for field in [
        "driver_id",
        "base_driver_id",
        "label",
        "product",
        "description",
        "context_patterns",
        "provider_boundary",
        "capabilities",
        "actions",
        "setting_groups",
        "api_version",
        "hooks_called",
        "hooks_implemented",
        "digest",
    ] {
        assert!(generic.get(field).is_some(), "descriptor lacks `{field}`");
    }
    let action = &generic["actions"][0];
    for field in [
        "action_id",
        "label",
        "description",
        "safety",
        "scope",
        "method",
        "route_path",
        "authz_action",
        "operator_visible",
        "input_schema",
        "output_schema",
        "writes_records",
        "envelope_key",
        "execution",
        "idempotency",
    ] {
        assert!(action.get(field).is_some(), "action lacks `{field}`");
    }

    let (status, body) = server.get("/v1/drivers/odoo").await;
    assert_eq!(status, 200);
    assert_eq!(body["driver"]["driver_id"], "odoo");
    assert_eq!(body["driver"]["base_driver_id"], "generic-web");

    let (status, body) = server.get("/v1/drivers/nope").await;
    assert_eq!(status, 404);
    assert_eq!(assert_rejected(&body), "not_found");
}

#[tokio::test]
async fn openapi_lists_every_driver_route_with_its_schemas() {
    let server = server().await;
    let (status, doc) = server.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path, target) in server.state.registry().routes() {
        let op = &paths[path][method.as_str().to_ascii_lowercase()];
        assert_eq!(
            op["operationId"],
            format!("{}.{}", target.driver_id, target.action_id),
            "{path}"
        );
        let registry = server.state.registry();
        let action = registry
            .driver(&target.driver_id)
            .and_then(|d| d.descriptor.action(&target.action_id))
            .cloned()
            .expect("action");
        assert_eq!(
            op["x-launchplane-authz-action"],
            action.authz_action.as_str()
        );
        let body_schema = &op["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body_schema["additionalProperties"], false);
        assert_eq!(
            body_schema["required"],
            json!(["product", action.envelope_key])
        );
        assert!(
            body_schema["properties"][&action.envelope_key].is_object(),
            "{path}"
        );
        assert!(op["responses"]["202"].is_object());
    }
    for core in [
        "/v1/health",
        "/v1/drivers",
        "/v1/drivers/{driver_id}",
        "/v1/openapi.json",
    ] {
        assert!(paths.contains_key(core), "{core}");
    }
    // No embedded schema may keep a `$ref` into a document it left behind.
    let text = doc.to_string();
    assert!(
        !text.contains("\"$ref\":\"#/$defs"),
        "dangling $defs reference"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_the_original_errors() {
    let server = server().await;
    let (status, body) = server.get("/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(assert_rejected(&body), "not_found");
    assert_eq!(
        body["error"]["message"],
        "No Launchplane route for /v1/nothing-here."
    );

    let (status, _, body) = server.post("/v1/health", &json!({})).await;
    assert_eq!(status, 405);
    assert_eq!(assert_rejected(&body), "method_not_allowed");

    let response = server
        .client
        .delete(server.url("/v1/drivers/generic-web/deploy"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 405);
}

/// Issue 26 item 10: every 405 names the methods the path serves.
#[tokio::test]
async fn method_not_allowed_answers_carry_allow() {
    let server = server().await;
    let allow = |response: &reqwest::Response| {
        response
            .headers()
            .get(reqwest::header::ALLOW)
            .map(|v| v.to_str().expect("ascii").to_string())
    };
    // A core route: POST on a GET-only path.
    let response = server
        .client
        .post(server.url("/v1/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 405);
    let methods = allow(&response).expect("Allow on a core route");
    assert!(methods.contains("GET"), "{methods}");
    assert!(!methods.contains("POST"), "{methods}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(assert_rejected(&body), "method_not_allowed");

    // A route with GET and POST: DELETE is refused, both are named.
    let response = server
        .client
        .delete(server.url("/v1/product-profiles"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 405);
    let methods = allow(&response).expect("Allow");
    assert!(
        methods.contains("GET") && methods.contains("POST"),
        "{methods}"
    );

    // A driver route: GET and DELETE on a POST action name POST only.
    for request in [
        server
            .client
            .get(server.url("/v1/drivers/generic-web/deploy")),
        server
            .client
            .delete(server.url("/v1/drivers/generic-web/deploy")),
    ] {
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(allow(&response).as_deref(), Some("POST"));
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(assert_rejected(&body), "method_not_allowed");
    }
}

#[tokio::test]
async fn driver_routes_refuse_unauthenticated_callers() {
    let server = server().await;
    let cases: [(&str, Option<&str>); 4] = [
        ("no header", None),
        ("bearer without token", Some("Bearer ")),
        ("basic scheme", Some("Basic dXNlcjpwYXNz")),
        ("a token nobody can verify", Some("Bearer not-a-real-token")),
    ];
    for (case, header) in cases {
        let mut request = server
            .client
            .post(server.url("/v1/drivers/generic-web/deploy"))
            .json(&json!({
                "product": "demo", "deploy": {}
            }));
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), 401, "{case}");
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"Launchplane API\""),
            "{case}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(assert_rejected(&body), "authentication_required", "{case}");
        assert!(
            !body.to_string().contains("not-a-real-token"),
            "{case}: the token is echoed"
        );
    }
}
