//! Durable asynchronous operations: enqueueing driver actions declared
//! `execution = "async"` and the worker that runs them.

mod worker;

pub use worker::{Worker, WorkerConfig};
