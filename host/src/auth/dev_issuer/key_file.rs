//! The key file: `{dir}/dev-oidc-issuer-key.pem`, mode 0600 in a 0700
//! folder, created once and shared by every process that uses the folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::io_error;
use super::{DevIssuer, DevIssuerError, KEY_FILE_NAME};

impl DevIssuer {
    /// Loads `{dir}/dev-oidc-issuer-key.pem`, or generates a key and saves it
    /// there (mode 0600; the folder is created with mode 0700). Two processes
    /// racing here end up with the same key.
    pub fn load_or_create(dir: &Path, issuer: impl Into<String>) -> Result<Self, DevIssuerError> {
        let issuer = issuer.into();
        let path = Self::key_path(dir);
        if path.exists() {
            return Self::load(dir, issuer);
        }
        create_private_dir(dir)?;
        let generated = Self::generate(issuer.clone())?;
        let pem = generated.private_key_pkcs8_pem()?;
        let temporary = dir.join(format!(".{KEY_FILE_NAME}.{}.tmp", uuid::Uuid::new_v4()));
        write_private_file(&temporary, pem.as_bytes())?;
        // A hard link publishes the complete file atomically and fails if
        // another process won the race; then its key is the key.
        let linked = std::fs::hard_link(&temporary, &path);
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => Ok(generated),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(dir, issuer),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    /// Loads the key saved by [`Self::load_or_create`]; never creates one.
    /// Refuses a key file readable by group or others.
    pub fn load(dir: &Path, issuer: impl Into<String>) -> Result<Self, DevIssuerError> {
        let path = Self::key_path(dir);
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DevIssuerError::NoKey {
                    dir: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(io_error(&path, e)),
        };
        check_private_mode(&path, &metadata)?;
        let pem = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        Self::from_pkcs8_pem(issuer, &pem)
    }

    /// `{dir}/dev-oidc-issuer-key.pem`.
    pub fn key_path(dir: &Path) -> PathBuf {
        dir.join(KEY_FILE_NAME)
    }
}

/// Creates `dir` (and its parents), mode 0700.
fn create_private_dir(dir: &Path) -> Result<(), DevIssuerError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| io_error(dir, e))
}

/// Writes a new file, mode 0600, and syncs it.
fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), DevIssuerError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| io_error(path, e))?;
    file.write_all(contents).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))
}

/// Refuses a key file readable by group or others.
#[cfg(unix)]
fn check_private_mode(path: &Path, metadata: &std::fs::Metadata) -> Result<(), DevIssuerError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DevIssuerError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Unix modes do not apply here.
#[cfg(not(unix))]
fn check_private_mode(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), DevIssuerError> {
    Ok(())
}
