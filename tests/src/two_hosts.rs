//! Two hosts on one PostgreSQL database, for races across hosts: the
//! first a full [`Service`], the second a server with its own pool,
//! runtime and state that trusts the first one's issuer.

use serde_json::Value;

use crate::{RegistryFile, Service, TestDatabase, TestServer};

/// The two hosts.
pub struct TwoHosts {
    pub first: Service,
    pub second: TestServer,
}

impl TwoHosts {
    /// Starts both hosts on `db` (registry: the three product drivers).
    pub async fn start(db: &TestDatabase) -> TwoHosts {
        let first = Service::start(db).await;
        let registry = RegistryFile::new()
            .product_drivers()
            .load()
            .await
            .expect("registry");
        let second = TestServer::start_on_store(
            registry,
            db.second_host().await,
            first.issuer.authenticator(),
        )
        .await;
        TwoHosts { first, second }
    }

    /// POSTs each of `bodies` to `path` at once with the default token
    /// (and `key`), alternating between the hosts (even indexes to the
    /// first); answers each status and JSON body, in order.
    pub async fn race(&self, path: &str, key: Option<&str>, bodies: &[Value]) -> Vec<(u16, Value)> {
        let token = self.first.issuer.token();
        let tasks: Vec<_> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let url = if i % 2 == 0 {
                    self.first.server.url(path)
                } else {
                    self.second.url(path)
                };
                let mut request = self
                    .first
                    .server
                    .client
                    .post(url)
                    .bearer_auth(&token)
                    .json(body);
                if let Some(key) = key {
                    request = request.header("Idempotency-Key", key);
                }
                tokio::spawn(async move {
                    let response = request.send().await.expect("request");
                    crate::status_and_json(response).await
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(tasks.len());
        for task in tasks {
            answers.push(task.await.expect("task"));
        }
        answers
    }
}
