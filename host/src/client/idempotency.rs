//! The `Idempotency-Key` a call sends when none is given.
//!
//! In GitHub Actions the key is derived from the run and the request:
//! `lp-call:<repository>:<run_id>:<run_attempt>:<driver>:<action>:<product>:<instance>:<sha256 of the canonical payload>`.
//! Re-running the same step in the same run attempt with the same payload
//! sends the same key, so the service replays the first answer instead of
//! acting twice; a new run attempt ("Re-run jobs") is a deliberate retry and
//! gets a new key. Outside Actions each invocation gets a random key
//! (printed on stderr so it can be passed again with `--idempotency-key`).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Env;
use crate::records::canonical_json;

/// The longest key the service accepts.
pub const MAX_KEY_LEN: usize = 512;

fn plain(component: &str) -> bool {
    !component.contains(':') && component.chars().all(|c| c.is_ascii_graphic())
}

/// The derived key, or `None` outside GitHub Actions (no
/// `GITHUB_REPOSITORY` / `GITHUB_RUN_ID`). Components that are not plain
/// ASCII, or a key longer than the service allows, make the key a hash of
/// the same components.
pub fn derive_key(
    env: &Env,
    driver_id: &str,
    action_id: &str,
    product: &str,
    instance: &str,
    payload: &Value,
) -> Option<String> {
    let repository = env.get("GITHUB_REPOSITORY")?;
    let run_id = env.get("GITHUB_RUN_ID")?;
    let attempt = env
        .get("GITHUB_RUN_ATTEMPT")
        .unwrap_or_else(|| "1".to_string());
    let payload_sha = hex::encode(Sha256::digest(canonical_json(payload).as_bytes()));
    let instance = if instance.is_empty() { "-" } else { instance };
    let components = [
        repository.as_str(),
        run_id.as_str(),
        attempt.as_str(),
        driver_id,
        action_id,
        product,
        instance,
        payload_sha.as_str(),
    ];
    let readable = format!("lp-call:{}", components.join(":"));
    if components.iter().all(|c| plain(c)) && readable.len() <= MAX_KEY_LEN {
        return Some(readable);
    }
    let mut hasher = Sha256::new();
    for component in components {
        hasher.update(component.as_bytes());
        hasher.update([0u8]);
    }
    Some(format!("lp-call:sha256:{}", hex::encode(hasher.finalize())))
}

/// A fresh key for one invocation outside Actions.
pub fn local_key() -> String {
    format!("lp-call:local:{}", uuid::Uuid::new_v4().simple())
}

/// Whether an explicit key can travel as the header.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("--idempotency-key must not be empty".into());
    }
    if key.len() > MAX_KEY_LEN {
        return Err(format!(
            "--idempotency-key is longer than {MAX_KEY_LEN} characters"
        ));
    }
    if !key.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err("--idempotency-key must be printable ASCII".into());
    }
    Ok(())
}
