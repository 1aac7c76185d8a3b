//! The `launchplane` command line.

mod call;
pub mod check_repo;
mod dev;
mod drivers;
mod environments;
pub mod exit;
mod lanes;
mod operators;
mod products;
mod secrets;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand};

pub use serve::build_state;

use crate::config::{ConfigError, OidcSettings, ServeConfig, required};
use exit::outln;

#[derive(Debug, Parser)]
#[command(
    name = "launchplane",
    version,
    about = "Launchplane deployment control plane"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Call a driver action on a Launchplane service (tenant workflows).
    Call(call::CallArgs),
    /// Check a product repository's workflows and scripts against the
    /// tenant contract: no direct provider calls, no bespoke OIDC clients,
    /// no secret-shaped values.
    CheckRepo(check_repo::CheckRepoArgs),
    /// Inspect the driver registry.
    Drivers {
        #[command(subcommand)]
        command: DriversCommand,
    },
    /// A loopback-only development instance (embedded SQLite, local token
    /// issuer, seeded demo product), and tokens for it.
    Dev(dev::DevArgs),
    /// Authorization policy administration.
    Authz {
        #[command(subcommand)]
        command: AuthzCommand,
    },
    /// Local operator tokens for people at a terminal.
    Operators {
        #[command(subcommand)]
        command: operators::OperatorsCommand,
    },
    /// Runtime environment records: plain per-lane settings.
    Environments {
        #[command(subcommand)]
        command: environments::EnvironmentsCommand,
    },
    /// Lane leases: list who holds a lane; release one whose host died.
    Lanes {
        #[command(subcommand)]
        command: lanes::LanesCommand,
    },
    /// A running service's own runtime: policy digests, storage, drivers.
    Service {
        #[command(subcommand)]
        command: products::ServiceCommand,
    },
    /// Artifacts of a running service: the protected set a registry
    /// cleanup must keep.
    Artifacts {
        #[command(subcommand)]
        command: products::ArtifactsCommand,
    },
    /// Product read models of a running service: products, lanes,
    /// activity, configuration status.
    Products {
        #[command(subcommand)]
        command: products::ProductsCommand,
    },
    /// Managed secrets: write values, list and show metadata.
    Secrets {
        #[command(subcommand)]
        command: secrets::SecretsCommand,
    },
    /// Print a shell completion script (`launchplane completion bash >
    /// /etc/bash_completion.d/launchplane`).
    Completion {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Apply database migrations (also done at `serve` start).
    Migrate {
        /// `postgres://…` or `sqlite://…`.
        #[arg(long, env = "LAUNCHPLANE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AuthzCommand {
    /// Validate a policy TOML file and make it the active policy record.
    ImportToml {
        /// The policy TOML file to validate and activate.
        #[arg(long)]
        policy_file: PathBuf,
        /// `postgres://…` or `sqlite://…`: the record store.
        #[arg(long, env = "LAUNCHPLANE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum DriversCommand {
    /// List loaded drivers and their actions.
    List(DriversArgs),
    /// Show one driver's descriptor.
    Show {
        /// Driver id (`generic-web`, …).
        driver_id: String,
        #[command(flatten)]
        args: DriversArgs,
    },
}

/// Options shared by the commands that load the registry.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Driver registry file.
    #[arg(long, env = "LAUNCHPLANE_DRIVER_REGISTRY")]
    pub registry: Option<PathBuf>,
    /// Folder for precompiled components (a warm start skips compilation).
    #[arg(long, env = "LAUNCHPLANE_COMPONENT_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LAUNCHPLANE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// `postgres://…` (production) or `sqlite://…` (embedded).
    #[arg(long, env = "LAUNCHPLANE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "LAUNCHPLANE_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// OIDC issuer whose tokens are accepted.
    #[arg(long, env = "LAUNCHPLANE_OIDC_ISSUER", default_value = crate::auth::oidc::GITHUB_ACTIONS_ISSUER)]
    pub oidc_issuer: String,
    /// Audience tokens must carry (required; no default).
    #[arg(long, env = "LAUNCHPLANE_SERVICE_AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// JWKS URL, instead of the issuer's discovery document.
    #[arg(long, env = "LAUNCHPLANE_OIDC_JWKS_URL")]
    pub oidc_jwks_url: Option<String>,
    /// Do not run the async operation worker in this process.
    #[arg(long, env = "LAUNCHPLANE_NO_WORKER")]
    pub no_worker: bool,
    /// Seconds a SIGTERM lets in-flight requests finish; then the host
    /// releases its lane leases and reservations and exits (a request cut
    /// off after its first change answers retries with 409
    /// `idempotency_outcome_unknown`, never a second run).
    #[arg(
        long,
        env = "LAUNCHPLANE_SHUTDOWN_TIMEOUT",
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub shutdown_timeout: u64,
    /// Seconds an idempotency reservation or lane lease is held before
    /// another host may take it over. A running request renews its holds
    /// every third of this, so a host killed with SIGKILL frees its lanes
    /// within this many seconds.
    #[arg(
        long,
        env = "LAUNCHPLANE_LEASE_SECONDS",
        default_value_t = 30,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub lease_seconds: u64,
    /// Serve `GET /metrics` on this address instead of --bind (a scrape
    /// network of its own); unset, /metrics is on --bind.
    #[arg(long, env = "LAUNCHPLANE_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    #[command(flatten)]
    pub guests: GuestArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
    #[command(flatten)]
    pub front_door: FrontDoorArgs,
}

/// The background sweep that keeps traffic-driven tables bounded
/// (docs/operating.md, "Input hygiene, bounded tables, secret binding").
#[derive(Debug, Clone, Copy, Args)]
pub struct RetentionArgs {
    /// Seconds between sweeps of expired idempotency keys and old denial
    /// audit rows.
    #[arg(long, env = "LAUNCHPLANE_MAINTENANCE_INTERVAL_SECS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub maintenance_interval_secs: u64,
    /// Seconds a denial audit row (one per caller and minute) is kept.
    #[arg(long, env = "LAUNCHPLANE_DENIAL_AUDIT_RETENTION_SECS", default_value_t = 30 * 24 * 60 * 60)]
    pub denial_audit_retention_secs: u64,
}

impl RetentionArgs {
    /// The sweep settings these arguments describe.
    pub fn config(self) -> crate::ops::maintenance::Retention {
        crate::ops::maintenance::Retention {
            interval: std::time::Duration::from_secs(self.maintenance_interval_secs),
            denial_audit: std::time::Duration::from_secs(self.denial_audit_retention_secs),
        }
    }
}

/// The front door's limits (`docs/operating.md`, "Front door limits").
#[derive(Debug, Clone, Copy, Args)]
pub struct FrontDoorArgs {
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "LAUNCHPLANE_HEADER_TIMEOUT", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a client may take to send a request's body.
    #[arg(long, env = "LAUNCHPLANE_BODY_TIMEOUT", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// Seconds a kept-alive connection may sit idle between requests.
    #[arg(long, env = "LAUNCHPLANE_KEEP_ALIVE_TIMEOUT", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keep_alive_timeout: u64,
    /// Connections held at once (default: the open-file limit less a
    /// quarter, at least 64 descriptors, kept free). Must stay below the
    /// open-file limit.
    #[arg(long, env = "LAUNCHPLANE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// 401/403 answers one client (IP address; IPv6 by /64) may draw per
    /// window before it is answered 429 (0: no limit).
    #[arg(long, env = "LAUNCHPLANE_DENIED_LIMIT", default_value_t = 30)]
    pub denied_limit: u32,
    /// Seconds over which the refused-request allowance refills.
    #[arg(long, env = "LAUNCHPLANE_DENIED_WINDOW", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub denied_window: u64,
}

impl FrontDoorArgs {
    /// The settings, refusing a connection cap at or above the open-file
    /// limit.
    pub fn settings(self) -> Result<crate::config::FrontDoorSettings, ConfigError> {
        use std::time::Duration;
        let nofile = crate::config::open_file_limit();
        let max_connections = match self.max_connections {
            None => crate::config::connection_cap(nofile),
            Some(cap) if cap == 0 || cap as u64 >= nofile => {
                return Err(ConfigError::Invalid {
                    flag: "--max-connections",
                    env: "LAUNCHPLANE_MAX_CONNECTIONS",
                    reason: format!(
                        "{cap} must be at least 1 and below the open-file limit ({nofile})"
                    ),
                });
            }
            Some(cap) => cap,
        };
        Ok(crate::config::FrontDoorSettings {
            header_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            keep_alive_timeout: Duration::from_secs(self.keep_alive_timeout),
            max_connections,
            denied_limit: self.denied_limit,
            denied_window: Duration::from_secs(self.denied_window),
        })
    }
}

/// Where driver code runs: threads of its own, apart from the threads
/// serving requests, so a runaway driver cannot hold a request worker;
/// optionally at a lower scheduling priority; and a long computation
/// confined to a few cores of its own while it runs.
#[derive(Debug, Clone, Copy, Args)]
pub struct GuestArgs {
    /// Threads executing driver code (0: one per core).
    #[arg(long, env = "LAUNCHPLANE_GUEST_THREADS", default_value_t = 0)]
    pub guest_threads: usize,
    /// How much lower the driver threads' priority is, as a nice increment
    /// (0..=19, Linux; 0 keeps the host's priority).
    #[arg(long, env = "LAUNCHPLANE_GUEST_NICE", default_value_t = crate::runtime::DEFAULT_GUEST_NICE,
        value_parser = clap::value_parser!(i32).range(0..=i64::from(crate::runtime::MAX_GUEST_NICE)))]
    pub guest_nice: i32,
}

impl GuestArgs {
    /// The guest settings from `LAUNCHPLANE_GUEST_THREADS` and
    /// `LAUNCHPLANE_GUEST_NICE` alone, parsed and range-checked exactly as `serve` does, for code
    /// that builds a runtime without a command line (the test harness and
    /// the benchmark).
    pub fn from_env() -> Result<crate::runtime::GuestPoolConfig, clap::Error> {
        let command = Self::augment_args(clap::Command::new("launchplane").no_binary_name(true));
        let matches = command.try_get_matches_from(std::iter::empty::<String>())?;
        Ok(Self::from_arg_matches(&matches)?.config())
    }

    /// The guest pool settings these arguments describe.
    pub fn config(self) -> crate::runtime::GuestPoolConfig {
        crate::runtime::GuestPoolConfig {
            threads: self.guest_threads,
            nice: self.guest_nice,
        }
    }
}

impl ServeArgs {
    /// The configuration, or every missing or invalid setting at once.
    pub fn into_config(self) -> Result<ServeConfig, ConfigError> {
        let mut errors = Vec::new();
        fn take<T>(result: Result<T, ConfigError>, errors: &mut Vec<ConfigError>) -> Option<T> {
            result.map_err(|e| errors.push(e)).ok()
        }
        let registry = take(
            required(
                self.registry.registry,
                "--registry",
                "LAUNCHPLANE_DRIVER_REGISTRY",
            ),
            &mut errors,
        );
        let database_url = take(
            required(
                self.database_url,
                "--database-url",
                "LAUNCHPLANE_DATABASE_URL",
            ),
            &mut errors,
        );
        let audience = take(
            required(
                self.oidc_audience.filter(|a| !a.trim().is_empty()),
                "--oidc-audience",
                "LAUNCHPLANE_SERVICE_AUDIENCE",
            ),
            &mut errors,
        );
        let front_door = take(self.front_door.settings(), &mut errors);
        ConfigError::collect(errors)?;
        let (Some(registry), Some(database_url), Some(audience), Some(front_door)) =
            (registry, database_url, audience, front_door)
        else {
            return Err(ConfigError::Several(Vec::new()));
        };
        Ok(ServeConfig {
            bind: self.bind,
            registry,
            database_url,
            cache_dir: self.registry.cache_dir,
            body_limit: self.body_limit,
            oidc: OidcSettings {
                issuer: self.oidc_issuer,
                audience,
                jwks_url: self.oidc_jwks_url.filter(|u| !u.trim().is_empty()),
            },
            worker: !self.no_worker,
            shutdown_timeout: std::time::Duration::from_secs(self.shutdown_timeout),
            lease: std::time::Duration::from_secs(self.lease_seconds),
            provider: crate::config::ProviderChoice::FromEnv,
            guests: self.guests.config(),
            retention: self.retention.config(),
            front_door,
            metrics_bind: self.metrics_bind,
        })
    }
}

#[derive(Debug, Clone, Args)]
struct DriversArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    remote: drivers::RemoteArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl Cli {
    /// Parses a command line (the first item is the program name).
    pub fn parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        <Cli as Parser>::try_parse_from(args)
    }

    /// The `check-repo` arguments, when that is the command.
    pub fn check_repo(&self) -> Option<&check_repo::CheckRepoArgs> {
        match &self.command {
            Command::CheckRepo(args) => Some(args),
            _ => None,
        }
    }
}

/// Runs the command line and exits with the command's code ([`exit`]);
/// the binary's only job is to call this.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(args) = cli.check_repo() {
        // Local and synchronous: no tracing, no runtime.
        let code = match check_repo::execute(args, &mut std::io::stdout().lock()) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("launchplane check-repo: {error}");
                2
            }
        };
        std::process::exit(code);
    }
    if let Command::Completion { shell } = &cli.command {
        finish(completion(*shell));
    }
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(execute(cli.command));
    drop(runtime);
    finish(outcome)
}

/// Ends the process with the command's exit code ([`exit`]); the error,
/// if any, goes to standard error (not for a closed pipe: the reader
/// went away on purpose).
fn finish(outcome: anyhow::Result<()>) -> ! {
    let code = match outcome {
        Ok(()) => exit::OK,
        Err(error) => {
            let code = exit::code(&error);
            if !exit::is_broken_pipe(&error) {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "launchplane: {error:#}");
            }
            code
        }
    };
    std::process::exit(code)
}

/// `launchplane completion SHELL`: the completion script on standard
/// output (rendered first, so a closed pipe is an error, not a panic).
fn completion(shell: clap_complete::Shell) -> anyhow::Result<()> {
    use clap::CommandFactory as _;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "launchplane", &mut script);
    exit::out!("{}", String::from_utf8_lossy(&script))?;
    Ok(())
}

/// Runs one command (every one but `check-repo` and `completion`).
async fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::serve(args.into_config()?).await,
        Command::Call(args) => call::run(args).await,
        Command::CheckRepo(_) | Command::Completion { .. } => Ok(()),
        Command::Drivers {
            command: DriversCommand::List(args),
        } => drivers::list(&args.registry, &args.remote, args.json).await,
        Command::Drivers {
            command: DriversCommand::Show { driver_id, args },
        } => drivers::show(&args.registry, &args.remote, &driver_id, args.json).await,
        Command::Dev(args) => dev::run(args).await,
        Command::Authz {
            command:
                AuthzCommand::ImportToml {
                    policy_file,
                    database_url,
                },
        } => {
            let url = required(database_url, "--database-url", "LAUNCHPLANE_DATABASE_URL")?;
            serve::import_policy(&policy_file, &url).await
        }
        Command::Operators { command } => operators::run(command).await,
        Command::Secrets { command } => secrets::run(command).await,
        Command::Products { command } => products::run(command).await,
        Command::Artifacts { command } => products::run_artifacts(command).await,
        Command::Service { command } => products::run_service(command).await,
        Command::Environments { command } => environments::run(command).await,
        Command::Lanes { command } => lanes::run(command).await,
        Command::Migrate { database_url } => {
            let url = required(database_url, "--database-url", "LAUNCHPLANE_DATABASE_URL")?;
            crate::records::Store::open(&url).await?;
            outln!(
                "migrated {} to schema revision {}",
                crate::records::redact_url(&url),
                crate::records::LATEST_SCHEMA
            )?;
            Ok(())
        }
    }
}

/// Logs go to standard error: `LAUNCHPLANE_LOG` filters them (default
/// `info`: one access line per request), `LAUNCHPLANE_LOG_FORMAT=json`
/// writes one JSON object a line; colour codes only on a terminal
/// (docs/operating.md, "Logs").
fn init_tracing() {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("LAUNCHPLANE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if std::env::var("LAUNCHPLANE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    /// Every flag and argument of every command, with its command path,
    /// that has no help text.
    fn without_help(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                found.push(format!("{path} {id}"));
            }
        }
        for sub in command.get_subcommands() {
            without_help(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_flag_and_argument_has_help() {
        let mut found = Vec::new();
        without_help(&Cli::command(), "launchplane", &mut found);
        assert!(found.is_empty(), "without help: {found:#?}");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_names_every_missing_setting_at_once() {
        let cli = Cli::parse_from_args(["launchplane", "serve"]).expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        // Only when the environment does not supply them.
        if std::env::var_os("LAUNCHPLANE_DRIVER_REGISTRY").is_some()
            || std::env::var_os("LAUNCHPLANE_DATABASE_URL").is_some()
            || std::env::var_os("LAUNCHPLANE_SERVICE_AUDIENCE").is_some()
        {
            return;
        }
        let message = args.into_config().expect_err("refused").to_string();
        for name in [
            "--registry",
            "LAUNCHPLANE_DRIVER_REGISTRY",
            "--database-url",
            "LAUNCHPLANE_DATABASE_URL",
            "--oidc-audience",
            "LAUNCHPLANE_SERVICE_AUDIENCE",
        ] {
            assert!(message.contains(name), "{name} in {message}");
        }
        assert!(message.starts_with("3 configuration problems"), "{message}");
    }
}
