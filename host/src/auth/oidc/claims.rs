//! [`GithubActionsClaims`]: the GitHub claims Launchplane uses, read from
//! a verified claim set, and the claim readers they share with the
//! verifier.

use serde_json::{Map, Value, json};

use super::{GITHUB_ACTIONS_KIND, TokenError};
use crate::auth::CallerIdentity;

/// The verified claims Launchplane uses. Strings are trimmed; optional
/// claims that are absent or blank are `None`; other absent strings are
/// empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GithubActionsClaims {
    pub repository: String,
    pub repository_id: Option<String>,
    pub repository_owner: String,
    pub repository_owner_id: Option<String>,
    pub workflow_ref: String,
    pub job_workflow_ref: Option<String>,
    /// Claim `ref`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub ref_type: String,
    pub event_name: String,
    pub environment: Option<String>,
    /// Claim `sub`.
    #[serde(rename = "sub")]
    pub subject: String,
    pub sha: String,
    /// Claim `jti` (for replay protection by callers that want it).
    pub jti: Option<String>,
    /// Claim `exp` (seconds since the epoch), set by the verifier.
    pub expires_at: Option<i64>,
}

impl GithubActionsClaims {
    /// Reads the GitHub claims of a (verified) claim set. `repository` and
    /// `workflow_ref` are required; `repository_id`/`repository_owner_id`
    /// must be numeric when present.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, TokenError> {
        let required = |name: &'static str| -> Result<String, TokenError> {
            match optional_string(claims, name)? {
                Some(value) => Ok(value),
                None => Err(TokenError::MissingClaim(name)),
            }
        };
        let string_or_empty = |name: &'static str| -> Result<String, TokenError> {
            Ok(optional_string(claims, name)?.unwrap_or_default())
        };
        let repository = required("repository")?;
        let workflow_ref = required("workflow_ref")?;
        let expires_at = match claims.get("exp") {
            Some(value) => Some(numeric_date(value).ok_or(TokenError::InvalidClaim("exp"))?),
            None => None,
        };
        Ok(GithubActionsClaims {
            repository,
            repository_id: numeric_id(claims, "repository_id")?,
            repository_owner: string_or_empty("repository_owner")?,
            repository_owner_id: numeric_id(claims, "repository_owner_id")?,
            workflow_ref,
            job_workflow_ref: optional_string(claims, "job_workflow_ref")?,
            git_ref: string_or_empty("ref")?,
            ref_type: string_or_empty("ref_type")?,
            event_name: string_or_empty("event_name")?,
            environment: optional_string(claims, "environment")?,
            subject: string_or_empty("sub")?,
            sha: string_or_empty("sha")?,
            jti: optional_string(claims, "jti")?,
            expires_at,
        })
    }

    /// The workflow that identifies the caller for scoping:
    /// `job_workflow_ref` when present, else `workflow_ref`.
    pub fn effective_workflow_ref(&self) -> &str {
        self.job_workflow_ref
            .as_deref()
            .unwrap_or(&self.workflow_ref)
    }

    /// Caller scope for idempotency and audit (reference §2.4):
    /// `repository|job_workflow_ref-or-workflow_ref|sub`.
    pub fn scope(&self) -> String {
        format!(
            "{}|{}|{}",
            self.repository,
            self.effective_workflow_ref(),
            self.subject
        )
    }

    /// The `identity` object of authorization diagnostics (reference §7.4).
    /// Never contains the token.
    pub fn diagnostics(&self) -> Value {
        json!({
            "type": GITHUB_ACTIONS_KIND,
            "repository": self.repository,
            "workflow_ref": self.workflow_ref,
            "job_workflow_ref": self.job_workflow_ref,
            "event_name": self.event_name,
            "ref": self.git_ref,
            "ref_type": self.ref_type,
            "environment": self.environment,
            "subject": self.subject,
        })
    }

    /// Non-secret `(name, value)` pairs for [`CallerIdentity::claims`];
    /// claim names as GitHub spells them; absent and empty values skipped.
    pub fn identity_claims(&self) -> Vec<(String, String)> {
        let pairs: [(&str, Option<&str>); 12] = [
            ("repository", Some(&self.repository)),
            ("repository_id", self.repository_id.as_deref()),
            ("repository_owner", Some(&self.repository_owner)),
            ("repository_owner_id", self.repository_owner_id.as_deref()),
            ("workflow_ref", Some(&self.workflow_ref)),
            ("job_workflow_ref", self.job_workflow_ref.as_deref()),
            ("ref", Some(&self.git_ref)),
            ("ref_type", Some(&self.ref_type)),
            ("event_name", Some(&self.event_name)),
            ("environment", self.environment.as_deref()),
            ("sub", Some(&self.subject)),
            ("sha", Some(&self.sha)),
        ];
        pairs
            .into_iter()
            .filter_map(|(name, value)| match value {
                Some(v) if !v.is_empty() => Some((name.to_string(), v.to_string())),
                _ => None,
            })
            .collect()
    }

    /// The [`CallerIdentity`] of these claims: kind `github_actions`,
    /// subject [`Self::scope`], claims [`Self::identity_claims`].
    pub fn to_identity(&self) -> CallerIdentity {
        CallerIdentity {
            kind: GITHUB_ACTIONS_KIND.to_string(),
            subject: self.scope(),
            claims: self.identity_claims(),
        }
    }
}

/// A trimmed string claim; absent, `null` or blank → `None`; any other
/// type → [`TokenError::InvalidClaim`].
fn optional_string(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.to_string()))
        }
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// A numeric id claim: a string of ASCII digits or a non-negative integer.
fn numeric_id(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) => Ok(Some(n.to_string())),
            None => Err(TokenError::InvalidClaim(name)),
        },
        _ => match optional_string(claims, name)? {
            Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(s)),
            Some(_) => Err(TokenError::InvalidClaim(name)),
            None => Ok(None),
        },
    }
}

/// A JWT NumericDate: an integer or a finite number (fraction dropped).
pub(super) fn numeric_date(value: &Value) -> Option<i64> {
    let Value::Number(n) = value else {
        return None;
    };
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    if f.is_finite() && f.abs() < 1e15 {
        Some(f.floor() as i64)
    } else {
        None
    }
}
