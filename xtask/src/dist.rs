//! `cargo xtask dist [--target TRIPLE]`: the release asset the repository's
//! GitHub Action (`action.yml`) installs, so tenant workflows need not build
//! Launchplane from source on every run.
//!
//! The action looks for `launchplane-<triple>.tar.gz` and its
//! `launchplane-<triple>.tar.gz.sha256` (`sha256sum` format) on the release
//! of the ref it runs at, checks the digest, and extracts the one file named
//! `launchplane`. This module writes exactly that pair into `target/dist`;
//! `.github/workflows/release.yml` runs it per runner and uploads the pair.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{cargo, root, run, sha256_file};

/// Builds `launchplane` in release for `target` (the host when `None`) and
/// packages it into `target/dist`.
pub fn dist(target: Option<&str>) -> Result<()> {
    let triple = match target {
        Some(triple) => triple.to_string(),
        None => host_triple()?,
    };
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "launchplane",
        "--bin",
        "launchplane",
    ]);
    let mut binary = root().join("target");
    if let Some(triple) = target {
        build.args(["--target", triple]);
        binary.push(triple);
    }
    run(build)?;
    binary.push("release");
    binary.push("launchplane");
    let (asset, checksum) = package(&binary, &triple, &root().join("target/dist"))?;
    eprintln!(
        "xtask: wrote {} and {}",
        asset.display(),
        checksum.display()
    );
    Ok(())
}

/// Packs `binary` as the single file `launchplane` into
/// `<out>/launchplane-<triple>.tar.gz`, and writes its sha256 beside it.
/// Returns both paths.
pub fn package(binary: &Path, triple: &str, out: &Path) -> Result<(PathBuf, PathBuf)> {
    if !binary.is_file() {
        bail!("no binary at {} to package", binary.display());
    }
    let name = format!("launchplane-{triple}.tar.gz");
    let stage = out.join(format!("launchplane-{triple}"));
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .with_context(|| format!("cannot clear {}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage)
        .with_context(|| format!("cannot create {}", stage.display()))?;
    let staged = stage.join("launchplane");
    std::fs::copy(binary, &staged)
        .with_context(|| format!("cannot copy {} to {}", binary.display(), staged.display()))?;
    make_executable(&staged)?;

    let asset = out.join(&name);
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&asset)
        .arg("-C")
        .arg(&stage)
        .arg("launchplane")
        .status()
        .context("cannot run tar")?;
    if !status.success() {
        bail!("tar failed with {status} while writing {}", asset.display());
    }
    std::fs::remove_dir_all(&stage).with_context(|| format!("cannot clear {}", stage.display()))?;

    let checksum = out.join(format!("{name}.sha256"));
    std::fs::write(&checksum, format!("{}  {name}\n", sha256_file(&asset)?))
        .with_context(|| format!("cannot write {}", checksum.display()))?;
    Ok((asset, checksum))
}

/// The triple `rustc` builds for by default (`host:` of `rustc -vV`).
fn host_triple() -> Result<String> {
    let output = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|triple| triple.trim().to_string())
        .context("rustc -vV printed no host triple")
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of this test's own under the system temp dir.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-dist-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn the_asset_is_what_the_action_installs() {
        let dir = scratch("asset");
        let binary = dir.join("built");
        std::fs::write(&binary, b"#!/bin/sh\necho launchplane\n").expect("fake binary");
        let out = dir.join("dist");
        let (asset, checksum) =
            package(&binary, "x86_64-unknown-linux-gnu", &out).expect("packaged");

        assert_eq!(
            asset.file_name().and_then(|n| n.to_str()),
            Some("launchplane-x86_64-unknown-linux-gnu.tar.gz")
        );
        // The action compares the first field with the archive's sha256.
        let line = std::fs::read_to_string(&checksum).expect("checksum file");
        let digest = sha256_file(&asset).expect("asset digest");
        assert_eq!(
            line,
            format!("{digest}  launchplane-x86_64-unknown-linux-gnu.tar.gz\n")
        );
        // One file, named launchplane, executable, with the binary's bytes.
        let listing = Command::new("tar")
            .arg("-tzf")
            .arg(&asset)
            .output()
            .expect("tar -t");
        assert_eq!(
            String::from_utf8_lossy(&listing.stdout).trim(),
            "launchplane"
        );
        let unpacked = dir.join("unpacked");
        std::fs::create_dir_all(&unpacked).expect("unpack dir");
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&asset)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .expect("tar -x");
        assert!(status.success());
        let extracted = unpacked.join("launchplane");
        assert_eq!(
            std::fs::read(&extracted).expect("extracted"),
            std::fs::read(&binary).expect("binary")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&extracted)
                .expect("mode")
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111, "mode {mode:o}");
        }
        assert!(
            !out.join("launchplane-x86_64-unknown-linux-gnu").exists(),
            "staging left behind"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_binary_is_refused_by_name() {
        let dir = scratch("missing");
        let error =
            package(&dir.join("nothing"), "x86_64-unknown-linux-gnu", &dir).expect_err("refused");
        assert!(error.to_string().contains("no binary at"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
