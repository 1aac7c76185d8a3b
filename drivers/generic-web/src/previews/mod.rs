//! The preview lifecycle: readiness, refresh, inventory and destroy.
//!
//! Previews live in the invocation's context (the profile's preview context
//! unless the request names another of the product's contexts). A preview
//! application is named `<prefix>-<slug>`, the slug coming from the
//! profile's slug template (`pr-{number}` by default) and the prefix from
//! `preview.app_name_prefix` (default `<product>-preview`).
//!
//! ## Where to start
//!
//! One file per action, and the parts they share:
//!
//! - `desired.rs`: `preview-desired-state`, labelled open pull requests
//!   (through the host's GitHub capability) as the previews that should
//!   exist.
//! - `readiness.rs`: `preview-readiness`, the checks a refresh runs first.
//! - `refresh.rs`: `preview-refresh`, from the request to the generation
//!   and preview records it lands.
//! - `provision.rs`: the provider side of a refresh (env, hook, app,
//!   health), undoing only what it created.
//! - `inventory.rs`: `preview-inventory`, which preview apps exist.
//! - `destroy.rs`: `preview-destroy`, one app deleted and its preview
//!   marked destroyed.
//! - `lookup.rs`: the stored previews and generations.

mod desired;
mod destroy;
mod inventory;
mod lookup;
mod provision;
mod readiness;
mod refresh;

pub use desired::preview_desired_state;
pub use destroy::preview_destroy;
pub use inventory::preview_inventory;
pub use lookup::generations;
pub use readiness::preview_readiness;
pub use refresh::preview_refresh;
