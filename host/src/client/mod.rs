//! The thin tenant client: one maintained way for a product's workflow to
//! call a Launchplane driver action (`launchplane call`, `action.yml`).
//!
//! The client owns no product knowledge. It discovers the action from the
//! service's catalogue (`GET /v1/drivers/{driver}`), builds the envelope
//! `{"schema_version":1,"product":…,"<envelope_key>":{…}}` from `--json`
//! and `--set`, validates the payload against the action's published input
//! schema before sending anything, obtains a bearer token (GitHub Actions
//! OIDC or a token file), derives an idempotency key, retries only what is
//! safe to retry, polls async operations, and writes the response and the
//! GitHub step outputs and summary.
//!
//! Everything the client reads from its surroundings comes in as values:
//! the environment is an [`Env`] (a lookup function), the terminal is a
//! [`Console`] (stdout, stderr and stdin writers/readers), so tests drive it
//! without touching the process.
//!
//! Tokens are [`Secret`]s: they are only ever placed in an `Authorization`
//! header (marked sensitive), and every byte the client writes — stdout,
//! stderr, `--output`, `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` — passes
//! through the console's masking of known secrets as a second line of
//! defence.
//!
//! # Exit codes
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0 | accepted; for async actions the operation ended `pass` |
//! | 1 | an unexpected client failure (e.g. an output file could not be written) |
//! | 2 | configuration or authentication: no service URL, no token, bad `--set`/`--json`, unknown driver or action, a payload that fails the action's schema (nothing sent), or a 401 from the service |
//! | 3 | refused by the service: any other 4xx (400, 403, 404, 409, …) |
//! | 4 | the action or operation failed: an async operation ended `fail`, a sync result reported `status` or a `*_status` of `fail`/`failed`/`blocked`, or the service answered 5xx after retries |
//! | 5 | transport: the service (or the token endpoint) could not be reached after retries |
//! | 6 | timed out: `--timeout` elapsed (e.g. an operation still `pending`/`running`; re-running with the same idempotency key resumes polling the same operation) |

mod call;
mod catalogue;
mod console;
mod env;
mod idempotency;
mod outputs;
mod payload;
mod poll;
mod secret;
mod token;
mod transport;

#[cfg(test)]
mod tests;

use std::fmt;

pub use call::{CallOptions, CallOutcome, call, connect, run_call};
pub use catalogue::{
    RemoteAction, RemoteDriver, fetch_all, fetch_descriptor, fetch_driver, resolve_action,
};
pub use console::{Captured, Console};
pub use env::Env;
pub use idempotency::{MAX_KEY_LEN, check_key, derive_key, local_key};
pub use outputs::{
    Summary, append_github_output, append_step_summary, operation_status_of, output_entries,
};
pub use payload::{
    Built, JsonSource, apply_set, build_envelope, parse_set, typed_value, validate_payload,
};
pub use poll::{PollPolicy, wait_for_operation};
pub use secret::Secret;
pub use token::{TokenSource, acquire_token, default_audience};
pub use transport::{Remote, Reply, RetryPolicy, ServiceUrl};

/// The outcome classes, each with its own process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    Ok,
    Internal,
    Config,
    Refused,
    Failed,
    Transport,
    Timeout,
}

impl Exit {
    /// The process exit code (see the module documentation).
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Internal => 1,
            Exit::Config => 2,
            Exit::Refused => 3,
            Exit::Failed => 4,
            Exit::Transport => 5,
            Exit::Timeout => 6,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Internal => "internal error",
            Exit::Config => "configuration or authentication error",
            Exit::Refused => "refused by the service",
            Exit::Failed => "action failed",
            Exit::Transport => "service unreachable",
            Exit::Timeout => "timed out",
        }
    }
}

/// A client failure: its class and a message that never contains a token.
#[derive(Debug, Clone)]
pub struct ClientError {
    pub exit: Exit,
    pub message: String,
    /// The service's JSON answer, when there was one.
    pub response: Option<serde_json::Value>,
}

impl ClientError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        ClientError {
            exit,
            message: message.into(),
            response: None,
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        ClientError::new(Exit::Config, message)
    }

    pub fn refused(message: impl Into<String>) -> Self {
        ClientError::new(Exit::Refused, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        ClientError::new(Exit::Failed, message)
    }

    pub fn transport(message: impl Into<String>) -> Self {
        ClientError::new(Exit::Transport, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        ClientError::new(Exit::Timeout, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ClientError::new(Exit::Internal, message)
    }

    pub fn with_response(mut self, response: serde_json::Value) -> Self {
        self.response = Some(response);
        self
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClientError {}
