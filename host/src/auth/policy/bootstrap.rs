//! The bootstrap policy from the environment (TOML text, base64 TOML, or
//! a file), for a store that holds none yet.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{AuthzPolicy, POLICY_B64_ENV, POLICY_FILE_ENV, POLICY_TOML_ENV, PolicyError};

/// The bootstrap policy from the environment: `LAUNCHPLANE_POLICY_TOML`
/// (TOML text), then `LAUNCHPLANE_POLICY_B64` (base64 of TOML), then
/// `LAUNCHPLANE_POLICY_FILE` (a path; one ending `.example` is refused).
/// The first non-blank variable wins; the source string is
/// `bootstrap-env:<VARIABLE>`. `Ok(None)` when none is set.
pub fn bootstrap_policy_from_env(
    vars: impl Fn(&str) -> Option<String>,
) -> Result<Option<(AuthzPolicy, String)>, PolicyError> {
    let source = |variable: &str| format!("bootstrap-env:{variable}");
    let wrap = |variable: &'static str| {
        move |e: PolicyError| PolicyError::Source {
            variable,
            message: e.to_string(),
        }
    };
    let non_blank = |name: &str| vars(name).filter(|v| !v.trim().is_empty());

    if let Some(text) = non_blank(POLICY_TOML_ENV) {
        let policy = AuthzPolicy::from_toml_str(&text).map_err(wrap(POLICY_TOML_ENV))?;
        return Ok(Some((policy, source(POLICY_TOML_ENV))));
    }
    if let Some(encoded) = non_blank(POLICY_B64_ENV) {
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD.decode(compact).map_err(|e| PolicyError::Source {
            variable: POLICY_B64_ENV,
            message: format!("is not valid base64: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| PolicyError::Source {
            variable: POLICY_B64_ENV,
            message: "does not decode to UTF-8 text".to_string(),
        })?;
        let policy = AuthzPolicy::from_toml_str(&text).map_err(wrap(POLICY_B64_ENV))?;
        return Ok(Some((policy, source(POLICY_B64_ENV))));
    }
    if let Some(path) = non_blank(POLICY_FILE_ENV) {
        let path = path.trim();
        if path.ends_with(".example") {
            return Err(PolicyError::Source {
                variable: POLICY_FILE_ENV,
                message: format!(
                    "`{path}` is an example file; copy it, edit it and point at the copy"
                ),
            });
        }
        let text = std::fs::read_to_string(Path::new(path)).map_err(|e| PolicyError::Source {
            variable: POLICY_FILE_ENV,
            message: format!("cannot read `{path}`: {e}"),
        })?;
        let policy = AuthzPolicy::from_toml_str(&text).map_err(wrap(POLICY_FILE_ENV))?;
        return Ok(Some((policy, source(POLICY_FILE_ENV))));
    }
    Ok(None)
}
