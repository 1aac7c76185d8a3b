//! The authorization policy: which verified callers may do what
//! (reference §7.4). Database-agnostic: this module parses, validates,
//! hashes, matches and edits a policy value; storing it is someone else's job.
//!
//! Shape (TOML or JSON, unknown fields refused):
//!
//! ```toml
//! schema_version = 1
//!
//! [[github_actions]]
//! repository = "org/app"                 # exact, required
//! repository_id = "123"                  # optional, numeric, exact
//! repository_owner_id = "456"            # optional, numeric, exact
//! workflow_refs = ["org/app/.github/workflows/deploy.yml@refs/heads/*"]
//! job_workflow_refs = []
//! event_names = ["push"]
//! refs = ["refs/heads/main"]
//! environments = []
//! products = ["app"]
//! contexts = ["app-*"]
//! instances = []
//! actions = ["generic_web_deploy.execute"] # required, exact
//! ```
//!
//! `github_humans` rules are matched for signed-in humans by
//! [`AuthzPolicy::decide_human`] (`humans.rs`); `terminal_agents`,
//! `local_operators` and `local_admins` rules are parsed, validated and kept
//! (so a policy round-trips and hashes the same); [`AuthzPolicy::decide`]
//! only ever matches `github_actions` rules.
//!
//! Matching (a request is allowed iff any rule allows it; within a rule all
//! constraints must hold; an empty list means "any"):
//!
//! | field | rule |
//! | --- | --- |
//! | `repository` | exact, never a wildcard |
//! | `repository_id`, `repository_owner_id` | exact when set; a token without the claim fails |
//! | `workflow_refs`, `job_workflow_refs` | [`glob`](super::glob) (`fnmatchcase`); a listed `job_workflow_refs` fails a token without the claim |
//! | `event_names`, `refs`, `environments` | exact membership; a listed `environments` fails a token without one |
//! | `products`, `contexts` | glob |
//! | `instances` | `*` or exact; a request without an instance needs a rule without instances; a request with one also matches rules without instances |
//! | `actions` | exact membership |
//!
//! Hardening beyond the original: `event_name = "pull_request_target"`
//! matches only rules that list it explicitly in `event_names` (an empty
//! list does not admit it), because that event runs with the base
//! repository's credentials on behalf of forks.
//!
//! Load-time validation refuses rules that could match more than their
//! author can see: globbed actions, a non-literal `repository`, workflow
//! patterns whose repository part is not literal (`*/.github/workflows/…`,
//! `org/*`), instances other than `*` or exact names, glob characters in
//! exact-match fields.
//!
//! ## Where to start
//!
//! [`AuthzPolicy::decide`] (`matching.rs`) answers "may this caller do
//! this?"; the other files hold the rest:
//!
//! - `model.rs`: the policy and its rule types, as documents spell them.
//! - `parsing.rs`: reading TOML and JSON, normalising, writing back out.
//! - `validation.rs`: the load-time checks above.
//! - `matching.rs`: [`AuthzRequest`], [`Decision`] and the matching table
//!   above.
//! - `grants.rs`: adding and removing a `github_actions` rule.
//! - `humans.rs`: `github_humans` rules: a human's role, their decisions
//!   and the github-humans grant.
//! - `diagnostics.rs`: what a denial or a policy change may show (no
//!   workflow refs, no policy body).
//! - `canonical.rs`: canonical JSON and the policy hash.
//! - `bootstrap.rs`: the bootstrap policy from the environment.
//! - `error.rs`: [`PolicyError`].

mod bootstrap;
mod canonical;
mod diagnostics;
mod error;
mod grants;
mod humans;
mod matching;
mod model;
mod parsing;
mod validation;

pub use bootstrap::bootstrap_policy_from_env;
pub use canonical::canonical_json;
pub use diagnostics::{HumanRuleSummary, PolicyDiff, RuleCounts, RuleSummary, authz_diagnostics};
pub use error::PolicyError;
pub use humans::{ADMIN_ROLE, HumanPrincipal, READ_ONLY_ROLE, is_read_action};
pub use matching::{AuthzRequest, Decision};
pub use model::{AuthzPolicy, GithubActionsRule, GithubHumanRule, TokenBoundRule};

/// Schema versions this host understands.
pub const SUPPORTED_SCHEMA_VERSIONS: [u32; 2] = [1, 2];

/// The event that only matches rules naming it explicitly.
pub const PULL_REQUEST_TARGET: &str = "pull_request_target";

/// The bootstrap policy variables, in the order they are tried.
pub const POLICY_TOML_ENV: &str = "LAUNCHPLANE_POLICY_TOML";
/// Base64 of TOML policy text (tried second).
pub const POLICY_B64_ENV: &str = "LAUNCHPLANE_POLICY_B64";
/// A path to a TOML policy file (tried third).
pub const POLICY_FILE_ENV: &str = "LAUNCHPLANE_POLICY_FILE";

#[cfg(test)]
mod tests;
