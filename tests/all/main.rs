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
mod humans;
mod hygiene;
mod jwks;
mod lifecycle;
mod odoo;
mod odoo_bootstrap;
mod odoo_run;
mod one_tx;
mod operating;
mod operators;
mod parity;
mod previews;
mod products;
mod protected_artifacts;
mod providers;
mod registry;
mod replicas;
mod sandbox;
mod secrets;
mod store;
mod verireel;
