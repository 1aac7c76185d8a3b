//! The environment as a value: a lookup function, so tests pass a map and
//! the CLI passes the process environment.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where the client reads `GITHUB_*`, `ACTIONS_ID_TOKEN_REQUEST_*` and
/// `LAUNCHPLANE_*` variables from.
#[derive(Clone)]
pub struct Env {
    lookup: Arc<Lookup>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env::from_fn(|key| std::env::var(key).ok())
    }

    /// Nothing set.
    pub fn empty() -> Env {
        Env::from_fn(|_| None)
    }

    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Env {
        Env {
            lookup: Arc::new(lookup),
        }
    }

    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Env
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Env::from_fn(move |key| map.get(key).cloned())
    }

    /// A variable's value, trimmed; unset and blank are the same.
    pub fn get(&self, key: &str) -> Option<String> {
        (self.lookup)(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// `GITHUB_ACTIONS=true`, as every GitHub-hosted and self-hosted runner
    /// sets it.
    pub fn in_github_actions(&self) -> bool {
        self.get("GITHUB_ACTIONS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print values: the environment holds request tokens.
        f.write_str("Env(..)")
    }
}
