//! The `launchplane` command line.

mod call;
pub mod check_repo;
mod dev;
mod drivers;
mod environments;
mod operators;
mod secrets;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand};

pub use serve::build_state;

use crate::config::{ConfigError, OidcSettings, ServeConfig, required};

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
    /// Managed secrets: write values, list and show metadata.
    Secrets {
        #[command(subcommand)]
        command: secrets::SecretsCommand,
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
        #[arg(long)]
        policy_file: PathBuf,
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
    #[command(flatten)]
    pub guests: GuestArgs,
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
    pub fn into_config(self) -> Result<ServeConfig, ConfigError> {
        Ok(ServeConfig {
            bind: self.bind,
            registry: required(
                self.registry.registry,
                "--registry",
                "LAUNCHPLANE_DRIVER_REGISTRY",
            )?,
            database_url: required(
                self.database_url,
                "--database-url",
                "LAUNCHPLANE_DATABASE_URL",
            )?,
            cache_dir: self.registry.cache_dir,
            body_limit: self.body_limit,
            oidc: OidcSettings {
                issuer: self.oidc_issuer,
                audience: required(
                    self.oidc_audience.filter(|a| !a.trim().is_empty()),
                    "--oidc-audience",
                    "LAUNCHPLANE_SERVICE_AUDIENCE",
                )?,
                jwks_url: self.oidc_jwks_url.filter(|u| !u.trim().is_empty()),
            },
            worker: !self.no_worker,
            provider: crate::config::ProviderChoice::FromEnv,
            guests: self.guests.config(),
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

/// Runs the command line; the binary's only job is to call this.
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
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::serve(args.into_config()?).await,
            Command::Call(args) => call::run(args).await,
            Command::CheckRepo(_) => Ok(()),
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
            Command::Environments { command } => environments::run(command).await,
            Command::Migrate { database_url } => {
                let url = required(database_url, "--database-url", "LAUNCHPLANE_DATABASE_URL")?;
                crate::records::Store::open(&url).await?;
                println!(
                    "migrated {} to schema revision {}",
                    crate::records::redact_url(&url),
                    crate::records::LATEST_SCHEMA
                );
                Ok(())
            }
        }
    })
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("LAUNCHPLANE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("LAUNCHPLANE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
