//! Launchplane: a deployment control plane that hosts sandboxed
//! WebAssembly product drivers.
//!
//! The host owns authentication, records and every provider call; drivers
//! declare their actions in a descriptor and implement them inside a
//! wasmtime component sandbox. See `docs/` for the architecture and for how
//! to write a driver.

pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod providers;
pub mod records;
pub mod registry;
pub mod runtime;
pub mod secrets;
pub mod time;
pub mod tls;
pub mod trace;
