//! The one integration-test binary: a module per area. Linking wasmtime
//! dominates build time, so there is exactly one such binary.

mod dispatch;
mod evidence;
mod grants;
mod http;
mod operators;
mod parity;
mod registry;
mod sandbox;
mod store;
