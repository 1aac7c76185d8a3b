//! A host route's mutation from front to tail: reserve its idempotency key
//! ([`super::idempotency`]), run it, and complete it
//! ([`super::completion`]). Driver actions call the two ends themselves
//! (`driver/mod.rs`), so their path reads top to bottom.
//!
//! Callers run this only after parsing, authorization and validation have
//! passed, so a 400/401/403 never consumes an idempotency key (the
//! original's order, reference §2.3).

use std::future::Future;

use serde_json::Value;

use super::idempotency::Ticket;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::registry::Idempotency;

/// Everything the front and the tail need to know about one mutation.
pub struct Mutation<'a> {
    pub call: &'a Call,
    /// The authorization action, as audited.
    pub action: &'a str,
    pub product: &'a str,
    pub context: &'a str,
    pub instance: &'a str,
    /// The parsed body, fingerprinted for idempotency.
    pub body: &'a Value,
    pub idempotency: Idempotency,
}

impl<'a> Mutation<'a> {
    /// A mutation of a host route (`Idempotency-Key` optional).
    pub fn host(
        call: &'a Call,
        action: &'a str,
        product: &'a str,
        context: &'a str,
        body: &'a Value,
    ) -> Self {
        Mutation {
            call,
            action,
            product,
            context,
            instance: "",
            body,
            idempotency: Idempotency::Optional,
        }
    }

    /// The same mutation on one lane instance.
    pub fn on_instance(mut self, instance: &'a str) -> Self {
        self.instance = instance;
        self
    }
}

impl Service {
    /// Runs `execute` under idempotency and audit, and answers 202 (or the
    /// stored answer of an earlier request with the same key and body).
    pub async fn run_mutation<F, Fut>(&self, m: Mutation<'_>, execute: F) -> Result<Reply, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Accepted, ApiError>>,
    {
        let key = match self.reserve(&m).await? {
            Ticket::Replay(reply) => return Ok(reply),
            Ticket::Proceed(key) => key,
        };
        let heartbeat = super::attempt::Heartbeat::start(self, key.as_ref(), None);
        let outcome = execute().await;
        drop(heartbeat);
        self.complete(&m, key.as_ref(), outcome).await
    }
}
