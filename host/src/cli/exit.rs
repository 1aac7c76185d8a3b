//! How every command ends: its exit code, and standard output that a
//! closed pipe cannot turn into a panic.
//!
//! One table for every command (`launchplane call` uses the same codes,
//! with 3, 4 and 6 for what the service answered; docs/operating.md,
//! "Exit codes"):
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done (also when the reader of standard output went away) |
//! | 1 | an unexpected failure |
//! | 2 | usage or configuration: a bad or missing flag or setting |
//! | 3 | refused: the input or the records do not allow it |
//! | 5 | unreachable: the database or the service could not be reached |
//!
//! Commands print with [`outln!`] / [`out!`] (never `println!`, which
//! panics on a closed pipe); a write error reaches [`code`] like any other,
//! and a broken pipe ends the command with 0, as `head` expects.

use std::io::Write as _;

/// The command succeeded.
pub const OK: i32 = 0;
/// An unexpected failure.
pub const FAILURE: i32 = 1;
/// Usage or configuration.
pub const USAGE: i32 = 2;
/// Refused by the input or the records.
pub const REFUSED: i32 = 3;
/// The database or the service could not be reached.
pub const UNREACHABLE: i32 = 5;

/// Writes to standard output, returning the I/O error (a closed pipe
/// included) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::exit::write_stdout(format_args!($($arg)*))
    };
}

/// [`out!`] with a line break.
macro_rules! outln {
    () => {
        $crate::cli::exit::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::exit::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

/// Writes `args` to standard output and flushes it.
pub fn write_stdout(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(args)?;
    stdout.flush()
}

/// The exit code for a command's error (see the table above).
pub fn code(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return OK;
        }
        if cause.is::<crate::config::ConfigError>() || cause.is::<clap::Error>() {
            return USAGE;
        }
        if let Some(store) = cause.downcast_ref::<crate::records::StoreError>() {
            use crate::records::StoreError;
            return match store {
                StoreError::UnsupportedUrl(_) => USAGE,
                StoreError::Connect { .. } => UNREACHABLE,
                StoreError::Conflict { .. }
                | StoreError::LaneBusy { .. }
                | StoreError::LaneLeased { .. }
                | StoreError::PolicyConflict { .. }
                | StoreError::Invalid(_) => REFUSED,
                _ => FAILURE,
            };
        }
    }
    FAILURE
}

/// Whether `error` is standard output's reader having gone away.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_documented_codes() {
        let pipe = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(code(&pipe), OK);
        assert!(is_broken_pipe(&pipe.context("printing the table")));
        let missing = anyhow::Error::new(crate::config::ConfigError::Missing {
            flag: "--registry",
            env: "LAUNCHPLANE_DRIVER_REGISTRY",
        });
        assert_eq!(code(&missing.context("starting")), USAGE);
        let unreachable = anyhow::Error::new(crate::records::StoreError::Connect {
            backend: "postgres",
            reason: "refused".into(),
        });
        assert_eq!(code(&unreachable), UNREACHABLE);
        assert_eq!(code(&anyhow::anyhow!("anything else")), FAILURE);
    }
}
