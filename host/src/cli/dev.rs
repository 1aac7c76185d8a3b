//! `launchplane dev`: a loopback-only instance on embedded SQLite.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::config::ServeConfig;

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Loopback address to listen on.
    #[arg(long, env = "LAUNCHPLANE_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Driver registry file.
    #[arg(
        long,
        env = "LAUNCHPLANE_DRIVER_REGISTRY",
        default_value = "drivers/registry.toml"
    )]
    registry: PathBuf,
    /// Folder for the SQLite database and the component cache.
    #[arg(long, env = "LAUNCHPLANE_STATE_DIR", default_value = ".launchplane")]
    state_dir: PathBuf,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    if !args.bind.ip().is_loopback() {
        anyhow::bail!(
            "launchplane dev serves loopback only; {} is not a loopback address",
            args.bind
        );
    }
    std::fs::create_dir_all(&args.state_dir)?;
    let database = args.state_dir.join("launchplane.sqlite");
    let config = ServeConfig {
        bind: args.bind,
        registry: args.registry.clone(),
        database_url: format!("sqlite://{}", database.display()),
        cache_dir: Some(args.state_dir.join("components")),
        body_limit: 1024 * 1024,
    };
    eprintln!("{}", banner(&config));
    super::serve::serve(config).await
}

fn banner(config: &ServeConfig) -> String {
    let rule = "=".repeat(72);
    format!(
        "{rule}\n  LAUNCHPLANE DEV INSTANCE: not for production\n  listening   http://{}\n  registry    {}\n  database    {}\n  provider    simulated (no real deployments)\n{rule}",
        config.bind,
        config.registry.display(),
        config.database_url,
    )
}
