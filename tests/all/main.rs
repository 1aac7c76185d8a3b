//! The one integration-test binary: a module per area. Linking wasmtime
//! dominates build time, so there is exactly one such binary.

mod check_repo;
mod client;
mod crash;
mod dispatch;
mod evidence;
mod front_door;
mod grants;
mod hooks;
mod http;
mod hygiene;
mod jwks;
mod lifecycle;
mod odoo;
mod one_tx;
mod operators;
mod parity;
mod providers;
mod registry;
mod sandbox;
mod secrets;
mod store;
mod verireel;
