//! A local OIDC issuer for development (`launchplane dev`) and tests.
//!
//! It signs GitHub-Actions-shaped tokens with an RSA-2048 key generated at
//! runtime, and serves its discovery document and JWKS so a normal
//! [`OidcVerifier`](super::oidc::OidcVerifier) configured with this issuer
//! verifies them exactly as it verifies GitHub's. The key can be saved as a
//! PKCS#8 PEM file (mode 0600) so another process (`launchplane dev token`)
//! can mint tokens for a running `launchplane dev`. No private key is ever
//! committed: it is generated on first use.
//!
//! Only for loopback: [`ensure_loopback_bind`] refuses any other address.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::rsa::{KeyPair, PublicKeyComponents};
use ring::signature::RSA_PKCS1_SHA256;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// File name of the saved key inside the key folder.
pub const KEY_FILE_NAME: &str = "dev-oidc-issuer-key.pem";

pub const DEFAULT_REPOSITORY: &str = "launchplane/demo";
pub const DEFAULT_WORKFLOW_REF: &str =
    "launchplane/demo/.github/workflows/deploy.yml@refs/heads/main";
pub const DEFAULT_EVENT_NAME: &str = "push";
pub const DEFAULT_REF: &str = "refs/heads/main";
pub const DEFAULT_REPOSITORY_ID: &str = "1";
pub const DEFAULT_REPOSITORY_OWNER_ID: &str = "1";
pub const DEFAULT_SHA: &str = "0000000000000000000000000000000000000000";
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Longest lifetime [`DevIssuer::mint`] accepts.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
const JWKS_PATH: &str = "/.well-known/jwks";

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

fn io_error(path: &Path, error: std::io::Error) -> DevIssuerError {
    DevIssuerError::Io {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

/// The discovery document of an issuer served by [`router`]:
/// `jwks_uri` is `{issuer}/.well-known/jwks`.
pub fn discovery_document(issuer: &str) -> Value {
    let base = issuer.trim_end_matches('/');
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository",
            "repository_id", "repository_owner", "repository_owner_id", "run_id",
            "run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref",
            "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type", "environment",
            "job_workflow_ref", "job_workflow_sha", "runner_environment"
        ],
    })
}

/// The URL of an issuer served on `addr` (`http://127.0.0.1:port`).
pub fn issuer_url_for(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Refuses every bind address that is not loopback (127.0.0.0/8, `::1`).
pub fn ensure_loopback_bind(addr: SocketAddr) -> Result<(), DevIssuerError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(DevIssuerError::NonLoopbackBind(addr))
    }
}

/// A router serving `/.well-known/openid-configuration` and
/// `/.well-known/jwks` for `issuer`.
pub fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route(
            DISCOVERY_PATH,
            get(|State(issuer): State<Arc<DevIssuer>>| async move {
                axum::Json(issuer.discovery_document())
            }),
        )
        .route(
            JWKS_PATH,
            get(|State(issuer): State<Arc<DevIssuer>>| async move { axum::Json(issuer.jwks()) }),
        )
        .with_state(issuer)
}

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

/// The development issuer: an issuer URL and an RSA-2048 signing key.
///
/// ring signs (constant-time, and the same library that verifies);
/// ring cannot generate RSA keys, so the RustCrypto `rsa` crate makes
/// them and encodes the public key.
pub struct DevIssuer {
    issuer: String,
    kid: String,
    key_pair: KeyPair,
    /// The same private key as PKCS#8 DER, for [`Self::private_key_pkcs8_pem`];
    /// wiped when the issuer is dropped.
    pkcs8_der: Zeroizing<Vec<u8>>,
    /// X.509 SubjectPublicKeyInfo DER.
    public_key_der: Vec<u8>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// A new issuer with a freshly generated RSA-2048 key.
    pub fn generate(issuer: impl Into<String>) -> Result<Self, DevIssuerError> {
        let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
            .map_err(|_| DevIssuerError::KeyGeneration)?;
        let der = private
            .to_pkcs8_der()
            .map_err(|_| DevIssuerError::KeyGeneration)?;
        Self::from_pkcs8_der(issuer, der.as_bytes())
    }

    /// An issuer from a PKCS#8 DER RSA private key.
    pub fn from_pkcs8_der(issuer: impl Into<String>, der: &[u8]) -> Result<Self, DevIssuerError> {
        let key_pair =
            KeyPair::from_pkcs8(der).map_err(|e| DevIssuerError::InvalidKey(e.to_string()))?;
        let components = PublicKeyComponents::<Vec<u8>>::from(key_pair.public());
        let invalid = |e: &dyn std::fmt::Display| DevIssuerError::InvalidKey(e.to_string());
        let public_key_der = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&components.n),
            rsa::BigUint::from_bytes_be(&components.e),
        )
        .map_err(|e| invalid(&e))?
        .to_public_key_der()
        .map_err(|e| invalid(&e))?
        .into_vec();
        let kid = jwk_thumbprint(&components.n, &components.e);
        Ok(DevIssuer {
            issuer: issuer.into(),
            kid,
            key_pair,
            pkcs8_der: Zeroizing::new(der.to_vec()),
            public_key_der,
            modulus: components.n,
            exponent: components.e,
        })
    }

    /// An issuer from a PKCS#8 PEM-encoded private key.
    pub fn from_pkcs8_pem(issuer: impl Into<String>, pem: &str) -> Result<Self, DevIssuerError> {
        let der = pem_decode("PRIVATE KEY", pem).map_err(DevIssuerError::InvalidKey)?;
        Self::from_pkcs8_der(issuer, &der)
    }

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

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key, so
    /// every process using the same key file publishes the same `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as PKCS#8 PEM. Secret: write it only to a 0600 file.
    pub fn private_key_pkcs8_pem(&self) -> Result<String, DevIssuerError> {
        Ok(pem_encode("PRIVATE KEY", &self.pkcs8_der))
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.public_key_der.clone()
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.public_key_der())
    }

    /// The public key as a JWK (`kty`, `use`, `alg`, `kid`, `n`, `e`).
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(&self.exponent),
        })
    }

    /// `{"keys": [public_jwk]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk()] })
    }

    /// [`discovery_document`] for this issuer.
    pub fn discovery_document(&self) -> Value {
        discovery_document(&self.issuer)
    }

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

/// RFC 7638 thumbprint of an RSA public key, base64url.
fn jwk_thumbprint(modulus: &[u8], exponent: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(exponent),
        URL_SAFE_NO_PAD.encode(modulus)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_decode(label: &str, pem: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| format!("no `{begin}` line"))?
        + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("no `{end}` line"))?
        + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| format!("PEM body is not base64: {e}"))
}

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

#[cfg(not(unix))]
fn check_private_mode(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), DevIssuerError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oidc::{OidcConfig, OidcVerifier};

    #[test]
    fn loopback_binds_only() {
        assert!(ensure_loopback_bind("127.0.0.1:0".parse().unwrap()).is_ok());
        assert!(ensure_loopback_bind("127.8.9.10:8080".parse().unwrap()).is_ok());
        assert!(ensure_loopback_bind("[::1]:0".parse().unwrap()).is_ok());
        for addr in ["0.0.0.0:8080", "[::]:8080", "10.0.0.5:80", "192.168.1.2:1"] {
            let err = ensure_loopback_bind(addr.parse().unwrap()).unwrap_err();
            assert!(matches!(err, DevIssuerError::NonLoopbackBind(_)), "{addr}");
        }
    }

    #[test]
    fn discovery_document_points_at_jwks() {
        let doc = discovery_document("http://127.0.0.1:9000");
        assert_eq!(doc["issuer"], "http://127.0.0.1:9000");
        assert_eq!(doc["jwks_uri"], "http://127.0.0.1:9000/.well-known/jwks");
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
    }

    #[test]
    fn key_round_trips_through_pem_and_keeps_its_kid() {
        let issuer = DevIssuer::generate("http://127.0.0.1:1").unwrap();
        let pem = issuer.private_key_pkcs8_pem().unwrap();
        assert!(pem.starts_with(concat!("-----BEGIN ", "PRIVATE", " KEY-----\n")));
        let again = DevIssuer::from_pkcs8_pem("http://127.0.0.1:1", &pem).unwrap();
        assert_eq!(issuer.kid(), again.kid());
        assert_eq!(issuer.jwks(), again.jwks());
        let jwk = issuer.public_jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        // 2048-bit modulus.
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert!(
            issuer
                .public_key_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        // Debug never shows key material.
        let debug = format!("{issuer:?}");
        assert!(!debug.contains(&pem[30..60]));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_shared_and_refused_when_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("dev");
        assert!(matches!(
            DevIssuer::load(&folder, "http://127.0.0.1:1"),
            Err(DevIssuerError::NoKey { .. })
        ));
        let first = DevIssuer::load_or_create(&folder, "http://127.0.0.1:1").unwrap();
        let path = DevIssuer::key_path(&folder);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        // Another process (here: another call) gets the same key.
        let second = DevIssuer::load_or_create(&folder, "http://127.0.0.1:1").unwrap();
        assert_eq!(first.kid(), second.kid());
        let loaded = DevIssuer::load(&folder, "http://127.0.0.1:1").unwrap();
        assert_eq!(first.kid(), loaded.kid());
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        // A readable key file is refused.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            DevIssuer::load(&folder, "http://127.0.0.1:1"),
            Err(DevIssuerError::InsecurePermissions { .. })
        ));
    }

    #[test]
    fn mint_rejects_bad_requests() {
        let issuer = DevIssuer::generate("http://127.0.0.1:1").unwrap();
        assert!(issuer.mint(&DevTokenRequest::new(" ")).is_err());
        let long = DevTokenRequest {
            ttl: MAX_TTL + Duration::from_secs(1),
            ..DevTokenRequest::new("aud")
        };
        assert!(issuer.mint(&long).is_err());
    }

    #[tokio::test]
    async fn served_issuer_tokens_verify_end_to_end() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        ensure_loopback_bind(addr).unwrap();
        let issuer = Arc::new(DevIssuer::generate(issuer_url_for(addr)).unwrap());
        let app = router(issuer.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let config = OidcConfig::new("launchplane-dev")
            .unwrap()
            .with_issuer(issuer.issuer())
            .unwrap();
        let verifier = OidcVerifier::new(config).unwrap();

        let token = issuer
            .mint(&DevTokenRequest::new("launchplane-dev"))
            .unwrap();
        let claims = verifier.verify(&token).await.unwrap();
        assert_eq!(claims.repository, DEFAULT_REPOSITORY);
        assert_eq!(claims.workflow_ref, DEFAULT_WORKFLOW_REF);
        assert_eq!(
            claims.job_workflow_ref.as_deref(),
            Some(DEFAULT_WORKFLOW_REF)
        );
        assert_eq!(claims.event_name, "push");
        assert_eq!(claims.git_ref, "refs/heads/main");
        assert_eq!(claims.repository_id.as_deref(), Some("1"));
        assert_eq!(claims.repository_owner_id.as_deref(), Some("1"));
        assert_eq!(claims.repository_owner, "launchplane");
        assert_eq!(claims.subject, "repo:launchplane/demo:ref:refs/heads/main");
        assert!(claims.jti.is_some());

        let with_env = DevTokenRequest {
            environment: Some("production".to_string()),
            repository: "org/app".to_string(),
            workflow_ref: "org/app/.github/workflows/ship.yml@refs/tags/v1".to_string(),
            ..DevTokenRequest::new("launchplane-dev")
        };
        let claims = verifier
            .verify(&issuer.mint(&with_env).unwrap())
            .await
            .unwrap();
        assert_eq!(claims.environment.as_deref(), Some("production"));
        assert_eq!(claims.subject, "repo:org/app:environment:production");
        assert_eq!(claims.repository_owner, "org");

        // Another audience is refused by the same verifier.
        let other = issuer.mint(&DevTokenRequest::new("someone-else")).unwrap();
        assert!(verifier.verify(&other).await.is_err());
        server.abort();
    }
}
