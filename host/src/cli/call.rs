//! `launchplane call <driver> <action>`: one driver action through the
//! service, for tenant workflows (see `docs/tenant-workflows.md`).
//!
//! Exit codes: 0 ok, 1 internal client error, 2 configuration or
//! authentication (incl. unknown action, schema violation, HTTP 401),
//! 3 refused by the service (other 4xx), 4 action or operation failed
//! (incl. 5xx), 5 transport, 6 timed out.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::client::{CallOptions, Console, Env, JsonSource, PollPolicy, RetryPolicy, run_call};

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Exit codes:
  0  accepted (async: the operation ended `pass`)
  1  internal client error (e.g. an output file could not be written)
  2  configuration or authentication: missing service URL or token, bad --set/--json,
     unknown driver or action, payload fails the action's input schema (nothing sent), HTTP 401
  3  refused by the service (400, 403, 404, 409, ...)
  4  the action or operation failed (operation `fail`; a result `status`/`*_status` of
     fail/failed/blocked; HTTP 5xx)
  5  the service or the token endpoint could not be reached
  6  --timeout elapsed (re-run with the same idempotency key to resume)

Token: --token-file (or LAUNCHPLANE_TOKEN_FILE); in GitHub Actions, an OIDC token requested
from ACTIONS_ID_TOKEN_REQUEST_URL for --audience (default: the service URL's host).")]
pub struct CallArgs {
    /// Driver id (`generic-web`, `odoo`, `verireel`, ...).
    pub driver: String,
    /// Action id or route name (`stable_deploy` or `deploy`).
    pub action: String,
    /// The envelope's product (also the payload's `product` when the action declares one).
    #[arg(long)]
    pub product: Option<String>,
    /// The lane instance (the payload's `instance` when the action declares one).
    #[arg(long)]
    pub instance: Option<String>,
    /// The payload object: `@file`, `-` for stdin, or inline JSON. A whole
    /// envelope (`{product, <envelope_key>: {...}}`) is accepted too.
    #[arg(long, value_name = "@FILE|-|JSON")]
    pub json: Option<String>,
    /// Set a payload field: dotted keys, the value as JSON when it parses
    /// as JSON, else as a string. Repeatable; applied after --json.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Send this key instead of the derived one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// The Launchplane service, e.g. https://launchplane.example.com.
    #[arg(long, env = "LAUNCHPLANE_SERVICE_URL")]
    pub service_url: Option<String>,
    /// The OIDC audience to request in GitHub Actions (default: the service URL's host).
    #[arg(long, env = "LAUNCHPLANE_SERVICE_AUDIENCE")]
    pub audience: Option<String>,
    /// A file holding the bearer token (an operator token `lpo_...` or an OIDC token).
    #[arg(long, env = "LAUNCHPLANE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Write the response JSON here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Give up after this long, polling included (`90s`, `10m`, `1h`; `0` = never).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// For async actions: return once accepted instead of polling the operation.
    #[arg(long)]
    pub no_wait: bool,
    /// Extra tries for transport failures and 5xx (POSTs only with an idempotency key).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// How long to keep retrying while the lane is busy with another
    /// mutation (409 `lane_busy`, refused before anything ran), besides
    /// `--retries` (`90s`, `10m`; `0` = no extra wait). Needs an idempotency key.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    pub lane_wait: Duration,
}

/// `90`, `90s`, `10m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 10m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("`{text}` is not a duration like 90s, 10m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
}

impl CallArgs {
    pub fn into_options(self) -> CallOptions {
        let mut options = CallOptions::new(self.driver, self.action);
        options.product = self.product;
        options.instance = self.instance;
        options.json = self.json.as_deref().map(JsonSource::parse);
        options.sets = self.sets;
        options.idempotency_key = self.idempotency_key;
        options.service_url = self.service_url;
        options.audience = self.audience;
        options.token_file = self.token_file;
        options.output = self.output;
        options.timeout = (!self.timeout.is_zero()).then_some(self.timeout);
        options.wait = !self.no_wait;
        options.retry = RetryPolicy {
            attempts: self.retries.saturating_add(1),
            lane_wait: self.lane_wait,
            ..RetryPolicy::default()
        };
        options.poll = PollPolicy::default();
        options
    }
}

/// Runs the call and exits with its code.
pub async fn run(args: CallArgs) -> anyhow::Result<()> {
    let console = Console::stdio();
    let outcome = run_call(&args.into_options(), &Env::process(), &console).await;
    let code = outcome.exit.code();
    if code != 0 {
        // Everything was written and flushed by the console.
        std::process::exit(code);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Harness {
        #[command(flatten)]
        call: CallArgs,
    }

    #[test]
    fn flags_become_options() {
        let parsed = Harness::try_parse_from([
            "call",
            "generic-web",
            "deploy",
            "--product",
            "demo",
            "--instance",
            "testing",
            "--json",
            "@payload.json",
            "--set",
            "artifact_id=a-1",
            "--set",
            "timeout_seconds=60",
            "--service-url",
            "https://lp.example",
            "--timeout",
            "10m",
            "--no-wait",
            "--retries",
            "0",
        ])
        .expect("parses");
        let options = parsed.call.into_options();
        assert_eq!(options.driver, "generic-web");
        assert_eq!(options.action, "deploy");
        assert_eq!(options.json, Some(JsonSource::File("payload.json".into())));
        assert_eq!(options.sets, ["artifact_id=a-1", "timeout_seconds=60"]);
        assert_eq!(options.timeout, Some(Duration::from_secs(600)));
        assert!(!options.wait);
        assert_eq!(options.retry.attempts, 1);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
