//! `registry.toml`: which driver components to load, pinned by digest.
//!
//! ```toml
//! [[driver]]
//! id = "generic-web"
//! component = "../target/guests/wasm32-wasip2/release/generic_web.wasm"
//! sha256 = "4f0c…"
//! limits = { memory_mib = 64, deadline_ms = 30000 }
//! ```
//!
//! Component paths are relative to the registry file's folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::RegistryError;
use crate::runtime::DriverLimits;

/// The parsed registry file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryManifest {
    #[serde(default, rename = "driver")]
    pub drivers: Vec<DriverEntry>,
    /// The folder component paths are relative to.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// One pinned driver component.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DriverEntry {
    pub id: String,
    pub component: PathBuf,
    /// Lower-case hex sha256 of the component file (a `sha256:` prefix is
    /// accepted).
    pub sha256: String,
    #[serde(default)]
    pub limits: DriverLimits,
}

impl DriverEntry {
    /// The pinned digest as bare lower-case hex.
    pub fn digest_hex(&self) -> String {
        self.sha256
            .trim()
            .trim_start_matches("sha256:")
            .to_ascii_lowercase()
    }
}

impl RegistryManifest {
    pub fn read(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|e| RegistryError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut manifest: RegistryManifest =
            toml::from_str(&text).map_err(|e| RegistryError::Malformed {
                path: path.to_path_buf(),
                reason: e.message().to_string(),
            })?;
        manifest.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for entry in &manifest.drivers {
            let digest = entry.digest_hex();
            if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(RegistryError::Malformed {
                    path: path.to_path_buf(),
                    reason: format!("driver `{}`: sha256 must be 64 hex digits", entry.id),
                });
            }
            if entry.limits.memory_mib == 0 || entry.limits.deadline_ms == 0 {
                return Err(RegistryError::Malformed {
                    path: path.to_path_buf(),
                    reason: format!("driver `{}`: limits must be positive", entry.id),
                });
            }
        }
        Ok(manifest)
    }

    pub fn component_path(&self, entry: &DriverEntry) -> PathBuf {
        if entry.component.is_absolute() {
            entry.component.clone()
        } else {
            self.base_dir.join(&entry.component)
        }
    }
}
