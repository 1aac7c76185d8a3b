//! [`DevIssuerError`]: why the development issuer could not do something.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why the development issuer could not generate, load, save or use its
/// key, serve, or mint a token.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    #[error("could not generate the development signing key")]
    KeyGeneration,
    #[error("the development signing key is not a PKCS#8 RSA private key: {0}")]
    InvalidKey(String),
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error(
        "the development key file {} is readable by group or others (mode {mode:o}); \
         run `chmod 600` on it or delete it to generate a new one",
        path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error(
        "no development signing key in {}: start `launchplane dev` first",
        dir.display()
    )]
    NoKey { dir: PathBuf },
    #[error("could not sign the token")]
    Signing,
    #[error(
        "the development issuer binds only to a loopback address (127.0.0.0/8 or ::1), not {0}"
    )]
    NonLoopbackBind(SocketAddr),
    #[error("invalid development token request: {0}")]
    InvalidRequest(String),
}

/// An I/O error on `path`.
pub(super) fn io_error(path: &Path, error: std::io::Error) -> DevIssuerError {
    DevIssuerError::Io {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}
