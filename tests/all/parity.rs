//! One source of truth: every generated route reaches a handler its
//! component really has, and no route exists without a descriptor entry.

use launchplane::registry::Method;
use launchplane::runtime::{DriverError, HostServices};
use launchplane_tests::{RegistryFile, TestServer, assert_rejected, demo_scope, invocation};
use serde_json::json;

#[tokio::test]
async fn every_route_dispatches_to_a_handler_in_its_component() {
    let registry = RegistryFile::new()
        .product_drivers()
        .load()
        .await
        .expect("loads");
    let routes = registry.routes();
    let declared: usize = registry.descriptors().iter().map(|d| d.actions.len()).sum();
    assert_eq!(routes.len(), declared, "one route per declared action");
    assert!(
        declared > 30,
        "the real catalogue is loaded ({declared} actions)"
    );
    for (method, path, target) in routes {
        let driver = registry
            .driver(&target.driver_id)
            .expect("route driver is loaded");
        let action = driver
            .descriptor
            .action(&target.action_id)
            .expect("route has a descriptor entry");
        assert_eq!((action.method, action.route_path.as_str()), (method, path));
        let invoked = driver
            .component
            .handle(
                invocation(&target.driver_id, &target.action_id, json!({})),
                demo_scope(&[]),
                HostServices::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        if let Err(DriverError::UnknownAction(message)) = invoked.value {
            panic!("{method:?} {path} has no handler in its component: {message}");
        }
    }
}

#[tokio::test]
async fn an_action_the_descriptor_does_not_declare_has_no_handler() {
    let registry = RegistryFile::new()
        .product_drivers()
        .load()
        .await
        .expect("loads");
    for driver in registry.drivers() {
        let id = &driver.descriptor.driver_id;
        let invoked = driver
            .component
            .handle(
                invocation(id, "not_an_action", json!({})),
                demo_scope(&[]),
                HostServices::default(),
            )
            .await
            .expect("runs");
        assert!(
            matches!(invoked.value, Err(DriverError::UnknownAction(_))),
            "{id}: {:?}",
            invoked.value
        );
    }
}

#[tokio::test]
async fn http_serves_exactly_the_descriptor_routes() {
    let registry = RegistryFile::new()
        .product_drivers()
        .load()
        .await
        .expect("loads");
    let routes: Vec<(Method, String)> = registry
        .routes()
        .iter()
        .map(|(m, p, _)| (*m, p.to_string()))
        .collect();
    let server = TestServer::start(registry).await;
    for (method, path) in &routes {
        // Every declared route exists: it is refused for want of a caller,
        // not for want of a route.
        let response = match method {
            Method::Post => {
                server
                    .client
                    .post(server.url(path))
                    .json(&json!({}))
                    .send()
                    .await
            }
            Method::Get => server.client.get(server.url(path)).send().await,
        }
        .expect("request");
        assert_eq!(response.status().as_u16(), 401, "{path}");
        // And the other method is not served.
        let other = match method {
            Method::Post => server.client.get(server.url(path)).send().await,
            Method::Get => server.client.post(server.url(path)).send().await,
        }
        .expect("request");
        assert_eq!(other.status().as_u16(), 405, "{path}");
        let body: serde_json::Value = other.json().await.expect("json");
        assert_eq!(assert_rejected(&body), "method_not_allowed");
    }
    for undeclared in [
        "/v1/drivers/generic-web/not-an-action",
        "/v1/drivers/nobody/deploy",
        "/v1/drivers/odoo/deploy",
    ] {
        let (status, _, body) = server.post(undeclared, &json!({})).await;
        assert_eq!(status, 404, "{undeclared}");
        assert_eq!(assert_rejected(&body), "not_found");
        assert_eq!(
            body["error"]["message"],
            format!("No Launchplane route for {undeclared}.")
        );
    }
}
