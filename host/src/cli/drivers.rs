//! `launchplane drivers list|show`.

use std::path::PathBuf;

use anyhow::Context as _;

use super::RegistryArgs;
use crate::registry::{DriverDescriptor, Registry};
use crate::runtime::{Runtime, RuntimeConfig};

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

pub async fn list(args: &RegistryArgs, json: bool) -> anyhow::Result<()> {
    let registry = load(args).await?;
    let descriptors = registry.descriptors();
    if json {
        println!("{}", serde_json::to_string_pretty(&descriptors)?);
    } else {
        print!("{}", render_table(&descriptors));
    }
    Ok(())
}

pub async fn show(args: &RegistryArgs, driver_id: &str, json: bool) -> anyhow::Result<()> {
    let registry = load(args).await?;
    let driver = registry
        .driver(driver_id)
        .with_context(|| format!("no driver `{driver_id}` in the registry"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&driver.descriptor)?);
    } else {
        print!("{}", render_table(&[&driver.descriptor]));
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
