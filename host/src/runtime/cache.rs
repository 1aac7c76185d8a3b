//! Compiled components, cached on disk by digest and engine compatibility.
//!
//! Compiling a component with Cranelift costs tens of milliseconds to
//! seconds; deserialising a precompiled artifact costs well under one. The
//! cache key is the component's sha256 plus a hash of everything that makes
//! a precompiled artifact engine-specific (wasmtime version, target, config),
//! so an upgrade or a config change never loads a stale artifact.
//!
//! The cache directory must be as trusted as the host binary: precompiled
//! artifacts are native code and are loaded without re-verification.
#![allow(
    unsafe_code,
    reason = "deserialising a precompiled component is unsafe; this cache only loads artifacts this host compiled and wrote, keyed by digest and engine"
)]

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component came from on this load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    /// Compiled now (and written to the cache when one is configured).
    Compiled,
    /// Loaded from a precompiled artifact.
    Cached,
}

/// The on-disk artifact cache.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ComponentCache {
    /// A cache in `dir`, or none (always compile) when `dir` is `None`.
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ComponentCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    fn artifact_path(&self, digest_hex: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{digest_hex}-{}.cwasm", self.engine_key)))
    }

    /// Loads the component for verified `bytes` whose sha256 is `digest_hex`.
    pub fn load(
        &self,
        engine: &Engine,
        digest_hex: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CompileSource)> {
        if let Some(path) = self.artifact_path(digest_hex)
            && path.is_file()
        {
            // SAFETY: the artifact was produced by `precompile_component` of an
            // engine with the same compatibility hash (it is in the file name)
            // and lives in the operator-controlled cache directory.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CompileSource::Cached)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding unreadable precompiled component");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let artifact = engine.precompile_component(bytes)?;
        if let Some(path) = self.artifact_path(digest_hex)
            && let Err(error) = write_atomically(&path, &artifact)
        {
            tracing::warn!(path = %path.display(), %error, "could not write the component cache");
        }
        // SAFETY: `artifact` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        Ok((component, CompileSource::Compiled))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
