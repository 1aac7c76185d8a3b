//! Tokens: [`DevTokenRequest`] (what goes in a token, GitHub-shaped) and
//! minting and signing them with the issuer's key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::RSA_PKCS1_SHA256;
use serde_json::{Map, Value, json};

use super::{
    DEFAULT_EVENT_NAME, DEFAULT_REF, DEFAULT_REPOSITORY, DEFAULT_REPOSITORY_ID,
    DEFAULT_REPOSITORY_OWNER_ID, DEFAULT_SHA, DEFAULT_TTL, DEFAULT_WORKFLOW_REF, DevIssuer,
    DevIssuerError, MAX_TTL,
};

/// What to put in a development token. Build with [`DevTokenRequest::new`]
/// and struct-update syntax.
#[derive(Debug, Clone, PartialEq)]
pub struct DevTokenRequest {
    pub audience: String,
    pub repository: String,
    pub repository_id: Option<String>,
    /// `None`: the owner part of `repository`.
    pub repository_owner: Option<String>,
    pub repository_owner_id: Option<String>,
    pub workflow_ref: String,
    /// `None`: the same as `workflow_ref`, as GitHub sets it for a workflow
    /// that is not reusable.
    pub job_workflow_ref: Option<String>,
    pub event_name: String,
    /// Claim `ref`.
    pub git_ref: String,
    pub ref_type: String,
    pub environment: Option<String>,
    pub sha: String,
    /// `None`: GitHub's default `sub` (`repo:R:environment:E`,
    /// `repo:R:pull_request` or `repo:R:ref:REF`).
    pub subject: Option<String>,
    pub ttl: Duration,
    /// Added last; overrides any claim above.
    pub extra_claims: Map<String, Value>,
}

impl DevTokenRequest {
    /// The defaults: `launchplane/demo`, its `deploy.yml` on `main`, a
    /// `push`, ids `1`, five minutes.
    pub fn new(audience: impl Into<String>) -> Self {
        DevTokenRequest {
            audience: audience.into(),
            repository: DEFAULT_REPOSITORY.to_string(),
            repository_id: Some(DEFAULT_REPOSITORY_ID.to_string()),
            repository_owner: None,
            repository_owner_id: Some(DEFAULT_REPOSITORY_OWNER_ID.to_string()),
            workflow_ref: DEFAULT_WORKFLOW_REF.to_string(),
            job_workflow_ref: None,
            event_name: DEFAULT_EVENT_NAME.to_string(),
            git_ref: DEFAULT_REF.to_string(),
            ref_type: "branch".to_string(),
            environment: None,
            sha: DEFAULT_SHA.to_string(),
            subject: None,
            ttl: DEFAULT_TTL,
            extra_claims: Map::new(),
        }
    }

    /// GitHub's default `sub` for this request.
    fn default_subject(&self) -> String {
        if let Some(environment) = &self.environment {
            format!("repo:{}:environment:{environment}", self.repository)
        } else if self.event_name == "pull_request" {
            format!("repo:{}:pull_request", self.repository)
        } else {
            format!("repo:{}:ref:{}", self.repository, self.git_ref)
        }
    }

    /// The claim set (without `iss`, times and `jti`).
    fn claims(&self) -> Map<String, Value> {
        let owner = self.repository_owner.clone().unwrap_or_else(|| {
            self.repository
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string()
        });
        let mut claims = Map::new();
        let mut put = |name: &str, value: Value| {
            claims.insert(name.to_string(), value);
        };
        put("aud", json!(self.audience));
        put(
            "sub",
            json!(
                self.subject
                    .clone()
                    .unwrap_or_else(|| self.default_subject())
            ),
        );
        put("repository", json!(self.repository));
        put("repository_owner", json!(owner));
        if let Some(id) = &self.repository_id {
            put("repository_id", json!(id));
        }
        if let Some(id) = &self.repository_owner_id {
            put("repository_owner_id", json!(id));
        }
        put("workflow_ref", json!(self.workflow_ref));
        put(
            "job_workflow_ref",
            json!(
                self.job_workflow_ref
                    .as_deref()
                    .unwrap_or(&self.workflow_ref)
            ),
        );
        put("event_name", json!(self.event_name));
        put("ref", json!(self.git_ref));
        put("ref_type", json!(self.ref_type));
        if let Some(environment) = &self.environment {
            put("environment", json!(environment));
        }
        put("sha", json!(self.sha));
        put("actor", json!("launchplane-dev"));
        put("runner_environment", json!("self-hosted"));
        claims
    }
}

impl DevIssuer {
    /// A signed RS256 token for `request`, valid from now for `request.ttl`.
    pub fn mint(&self, request: &DevTokenRequest) -> Result<String, DevIssuerError> {
        if request.audience.trim().is_empty() {
            return Err(DevIssuerError::InvalidRequest(
                "audience is required".to_string(),
            ));
        }
        if request.repository.trim().is_empty() || request.workflow_ref.trim().is_empty() {
            return Err(DevIssuerError::InvalidRequest(
                "repository and workflow_ref are required".to_string(),
            ));
        }
        if request.ttl.is_zero() || request.ttl > MAX_TTL {
            return Err(DevIssuerError::InvalidRequest(format!(
                "ttl must be between 1 s and {} s",
                MAX_TTL.as_secs()
            )));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut claims = request.claims();
        claims.insert("iss".to_string(), json!(self.issuer));
        claims.insert("iat".to_string(), json!(now));
        claims.insert("nbf".to_string(), json!(now));
        claims.insert("exp".to_string(), json!(now + request.ttl.as_secs()));
        claims.insert("jti".to_string(), json!(uuid::Uuid::new_v4().to_string()));
        for (name, value) in &request.extra_claims {
            claims.insert(name.clone(), value.clone());
        }
        self.sign_claims(&Value::Object(claims))
    }

    /// Signs arbitrary claims with header `{"alg":"RS256","typ":"JWT","kid"}`.
    pub fn sign_claims(&self, claims: &Value) -> Result<String, DevIssuerError> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        self.sign_with_header(&header, claims)
    }

    /// Signs `header.claims` with this key (RSASSA-PKCS1-v1_5 SHA-256),
    /// whatever the header says: for building test tokens.
    pub fn sign_with_header(
        &self,
        header: &Value,
        claims: &Value,
    ) -> Result<String, DevIssuerError> {
        let encode = |value: &Value| {
            serde_json::to_vec(value)
                .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
                .map_err(|_| DevIssuerError::Signing)
        };
        let signing_input = format!("{}.{}", encode(header)?, encode(claims)?);
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| DevIssuerError::Signing)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}
