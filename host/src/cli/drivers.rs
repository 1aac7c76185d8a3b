//! `launchplane drivers list|show`: the local registry, or with
//! `--service-url` the catalogue of a running service.

use super::exit::{out, outln};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;

use super::RegistryArgs;
use crate::client::{self, Console, Env, Remote, RetryPolicy, ServiceUrl};
use crate::registry::{DriverDescriptor, Registry};
use crate::runtime::{Runtime, RuntimeConfig};

/// Where the catalogue comes from when it is not the local registry.
#[derive(Debug, Clone, Default, Args)]
pub struct RemoteArgs {
    /// Read the catalogue of this service (`GET /v1/drivers`) instead of
    /// loading a local registry.
    #[arg(long, env = "LAUNCHPLANE_SERVICE_URL")]
    pub service_url: Option<String>,
    /// Bearer token for --service-url: an operator token (`lpo_...`) or an
    /// OIDC token. In GitHub Actions an OIDC token is requested instead
    /// (audience LAUNCHPLANE_SERVICE_AUDIENCE or the service URL's host).
    #[arg(long, env = "LAUNCHPLANE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

/// How long a catalogue read may take.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(60);

async fn connect(remote: &RemoteArgs, url: &str, console: &Console) -> anyhow::Result<Remote> {
    let service = ServiceUrl::parse(url).map_err(|e| anyhow::anyhow!(e.message))?;
    client::connect(
        service,
        None,
        remote.token_file.clone(),
        &Env::process(),
        console,
        RetryPolicy::default(),
        Some(Instant::now() + REMOTE_TIMEOUT),
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))
}

fn remote_url(remote: &RemoteArgs) -> Option<&str> {
    remote
        .service_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
}

async fn load(args: &RegistryArgs) -> anyhow::Result<Registry> {
    let path = args
        .registry
        .clone()
        .unwrap_or_else(|| PathBuf::from("drivers/registry.toml"));
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: args.cache_dir.clone(),
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("cannot start the component runtime: {e:#}"))?;
    Registry::load(&path, &runtime)
        .await
        .with_context(|| format!("cannot load the driver registry {}", path.display()))
}

pub async fn list(args: &RegistryArgs, remote: &RemoteArgs, json: bool) -> anyhow::Result<()> {
    if let Some(url) = remote_url(remote) {
        let console = Console::stdio();
        let service = connect(remote, url, &console).await?;
        let (descriptors, raw) = client::fetch_all(&service, &console)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        if json {
            outln!("{}", serde_json::to_string_pretty(&raw)?)?;
        } else {
            out!("{}", render_table(&descriptors.iter().collect::<Vec<_>>()))?;
        }
        return Ok(());
    }
    let registry = load(args).await?;
    let descriptors = registry.descriptors();
    if json {
        outln!("{}", serde_json::to_string_pretty(&descriptors)?)?;
    } else {
        out!("{}", render_table(&descriptors))?;
    }
    Ok(())
}

pub async fn show(
    args: &RegistryArgs,
    remote: &RemoteArgs,
    driver_id: &str,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(url) = remote_url(remote) {
        let console = Console::stdio();
        let service = connect(remote, url, &console).await?;
        let (descriptor, raw) = client::fetch_descriptor(&service, driver_id, &console)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        if json {
            outln!("{}", serde_json::to_string_pretty(&raw)?)?;
        } else {
            out!("{}", render_table(&[&descriptor]))?;
        }
        return Ok(());
    }
    let registry = load(args).await?;
    let driver = registry
        .driver(driver_id)
        .with_context(|| format!("no driver `{driver_id}` in the registry"))?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&driver.descriptor)?)?;
    } else {
        out!("{}", render_table(&[&driver.descriptor]))?;
    }
    Ok(())
}

/// The operator table: one block per driver, one line per action.
pub fn render_table(descriptors: &[&DriverDescriptor]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<14} {:<14} {:<8} {:<20} {}\n",
        "DRIVER", "BASE", "API", "DIGEST", "ACTIONS"
    ));
    for d in descriptors {
        let base = if d.base_driver_id.is_empty() {
            "-"
        } else {
            &d.base_driver_id
        };
        let digest: String = d.digest.chars().take(19).collect();
        out.push_str(&format!(
            "{:<14} {:<14} {:<8} {:<20} {}\n",
            d.driver_id,
            base,
            d.api_version,
            digest,
            d.actions.len()
        ));
        for a in &d.actions {
            let safety = serde_json::to_value(a.safety)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            out.push_str(&format!(
                "    {:<5} {:<52} {:<44} {}{}\n",
                a.method.as_str(),
                a.route_path,
                a.authz_action,
                safety,
                if a.operator_visible { "" } else { " (hidden)" }
            ));
        }
    }
    out
}
