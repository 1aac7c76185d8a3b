//! The OIDC attack suite: every case runs against a real JWKS HTTP server on
//! 127.0.0.1 and signs with the development issuer's key machinery.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::auth::AuthError;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::verify::unix_now;
use super::*;
use crate::auth::dev_issuer::DevIssuer;
use crate::auth::{Authenticator, Closed};

const AUD: &str = "launchplane-test";
const REPO: &str = "org/app";
const WORKFLOW: &str = "org/app/.github/workflows/deploy.yml@refs/heads/main";

// -- keys --------------------------------------------------------------------

/// Three RSA-2048 keys (PKCS#8 PEM), generated once per test binary.
fn key_pems() -> &'static [String] {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..3)
            .map(|_| {
                DevIssuer::generate("http://127.0.0.1:1")
                    .and_then(|k| k.private_key_pkcs8_pem())
                    .expect("key generation")
            })
            .collect()
    })
}

fn signer(index: usize, issuer: &str) -> DevIssuer {
    DevIssuer::from_pkcs8_pem(issuer, &key_pems()[index]).expect("key")
}

fn jwks_of(signers: &[&DevIssuer]) -> Value {
    json!({ "keys": signers.iter().map(|s| s.public_jwk()).collect::<Vec<_>>() })
}

// -- the fake issuer -----------------------------------------------------------

struct FakeState {
    base: String,
    jwks: Mutex<Value>,
    discovery_issuer: Mutex<Option<String>>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    down: AtomicBool,
    jwks_delay: Duration,
}

struct Fake {
    url: String,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn discovery_handler(State(state): State<Arc<FakeState>>) -> Response {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = state
        .discovery_issuer
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| state.base.clone());
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/.well-known/jwks", state.base),
    }))
    .into_response()
}

async fn jwks_handler(State(state): State<Arc<FakeState>>) -> Response {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    if !state.jwks_delay.is_zero() {
        tokio::time::sleep(state.jwks_delay).await;
    }
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let body = state.jwks.lock().unwrap().clone();
    axum::Json(body).into_response()
}

impl Fake {
    async fn start() -> Fake {
        Self::start_with_delay(Duration::from_millis(30)).await
    }

    async fn start_with_delay(jwks_delay: Duration) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}");
        let state = Arc::new(FakeState {
            base: url.clone(),
            jwks: Mutex::new(json!({"keys": []})),
            discovery_issuer: Mutex::new(None),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            jwks_delay,
        });
        let port = addr.port();
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery_handler))
            .route("/.well-known/jwks", get(jwks_handler))
            .route(
                "/same-host-redirect",
                get(|| async { Redirect::temporary("/.well-known/jwks") }),
            )
            .route(
                "/other-host-redirect",
                get(move || async move {
                    Redirect::temporary(&format!("http://localhost:{port}/.well-known/jwks"))
                }),
            )
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { url, state, task }
    }

    fn set_jwks(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }

    fn config(&self) -> OidcConfig {
        OidcConfig::new(AUD)
            .unwrap()
            .with_issuer(self.url.clone())
            .unwrap()
    }

    fn verifier(&self) -> OidcVerifier {
        OidcVerifier::new(self.config()).unwrap()
    }

    fn verifier_with(&self, tweak: impl FnOnce(OidcConfig) -> OidcConfig) -> OidcVerifier {
        OidcVerifier::new(tweak(self.config())).unwrap()
    }
}

// -- token helpers -------------------------------------------------------------

fn now() -> i64 {
    unix_now()
}

fn good_claims(issuer: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer,
        "aud": AUD,
        "sub": "repo:org/app:ref:refs/heads/main",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "jti-1",
        "repository": REPO,
        "repository_id": "42",
        "repository_owner": "org",
        "repository_owner_id": "7",
        "workflow_ref": WORKFLOW,
        "job_workflow_ref": WORKFLOW,
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "event_name": "push",
        "sha": "0123456789abcdef0123456789abcdef01234567",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// The error must not contain the token, nor any of its segments, in its
/// Display, Debug, or API error forms.
fn assert_no_leak(error: &TokenError, token: &str) {
    let api = error.to_auth_error();
    let texts = [
        error.to_string(),
        format!("{error:?}"),
        api.to_string(),
        format!("{api:?}"),
        error.client_reason(),
    ];
    let segments: Vec<&str> = token.split('.').filter(|s| s.len() >= 6).collect();
    for text in &texts {
        assert!(!text.contains(token), "token leaked into {text:?}");
        for segment in &segments {
            assert!(
                !text.contains(segment),
                "token segment leaked into {text:?}"
            );
        }
    }
    assert!(
        matches!(&api, AuthError::Unauthenticated(m) if m.starts_with(AUTHENTICATION_REQUIRED_MESSAGE)),
        "{api:?}"
    );
}

async fn refused(verifier: &OidcVerifier, token: &str) -> TokenError {
    let error = verifier
        .verify(token)
        .await
        .expect_err("token must be refused");
    assert_no_leak(&error, token);
    error
}

// -- configuration ---------------------------------------------------------------

#[test]
fn config_defaults() {
    let config = OidcConfig::new("aud").unwrap();
    assert_eq!(config.issuer, "https://token.actions.githubusercontent.com");
    assert_eq!(config.leeway, Duration::from_secs(30));
    assert_eq!(config.refetch_interval, Duration::from_secs(10));
    assert!(config.jwks_url.is_none());
    assert!(!config.require_single_audience);
    assert_eq!(
        config.discovery_url(),
        "https://token.actions.githubusercontent.com/.well-known/openid-configuration"
    );
}

#[test]
fn config_requires_an_audience_naming_flag_and_env() {
    for audience in ["", "   "] {
        let error = OidcConfig::new(audience).unwrap_err();
        assert_eq!(error, OidcConfigError::MissingAudience);
        let text = error.to_string();
        assert!(text.contains("--oidc-audience"), "{text}");
        assert!(text.contains("LAUNCHPLANE_SERVICE_AUDIENCE"), "{text}");
    }
    assert!(matches!(
        OidcConfig::new(" padded "),
        Err(OidcConfigError::InvalidAudience(_))
    ));
}

#[test]
fn config_refuses_non_https_issuers_except_loopback() {
    let base = OidcConfig::new("aud").unwrap();
    for bad in [
        "http://token.actions.githubusercontent.com",
        "http://10.0.0.1:8080",
        "http://example.localhost.evil.com",
        "ftp://127.0.0.1",
        "token.actions.githubusercontent.com",
        "https://user:pass@issuer.example.com",
        "https://issuer.example.com/?q=1",
        "https://issuer.example.com/#frag",
        " https://issuer.example.com",
        "",
    ] {
        let error = base.clone().with_issuer(bad).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, OidcConfigError::InvalidIssuer(_)),
            "{bad}: {text}"
        );
        assert!(text.contains("--oidc-issuer"), "{text}");
        assert!(text.contains("LAUNCHPLANE_OIDC_ISSUER"), "{text}");
    }
    for good in [
        "https://token.actions.githubusercontent.com",
        "https://ghes.example.com/_services/token",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:9000",
        "http://[::1]:9000",
    ] {
        assert!(base.clone().with_issuer(good).is_ok(), "{good}");
    }
    let error = base
        .clone()
        .with_jwks_url("http://evil.example.com/jwks")
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("--oidc-jwks-url"), "{text}");
    assert!(text.contains("LAUNCHPLANE_OIDC_JWKS_URL"), "{text}");
    assert!(
        base.clone()
            .with_jwks_url("http://127.0.0.1:1/jwks")
            .is_ok()
    );

    // Public fields are re-checked by the verifier.
    let mut config = base.clone();
    config.issuer = "http://evil.example.com".to_string();
    assert!(OidcVerifier::new(config).is_err());
    let mut config = base;
    config.refetch_interval = Duration::ZERO;
    assert!(OidcVerifier::new(config).is_err());
}

// -- the happy path ----------------------------------------------------------------

#[tokio::test]
async fn valid_token_verifies_with_normalised_claims() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();

    let claims = with(
        with(good_claims(&fake.url), "repository", json!("  org/app ")),
        "environment",
        json!(" "),
    );
    let token = key.sign_claims(&claims).unwrap();
    let verified = verifier.verify(&token).await.unwrap();
    assert_eq!(verified.repository, "org/app");
    assert_eq!(verified.repository_id.as_deref(), Some("42"));
    assert_eq!(verified.repository_owner_id.as_deref(), Some("7"));
    assert_eq!(verified.environment, None);
    assert_eq!(verified.git_ref, "refs/heads/main");
    assert_eq!(verified.jti.as_deref(), Some("jti-1"));
    assert!(verified.expires_at.is_some());
    assert_eq!(
        verified.scope(),
        format!("org/app|{WORKFLOW}|repo:org/app:ref:refs/heads/main")
    );
    let diagnostics = verified.diagnostics().to_string();
    assert!(!diagnostics.contains(&token));
    assert_eq!(verified.diagnostics()["type"], "github_actions");
    assert_eq!(verified.diagnostics()["ref"], "refs/heads/main");

    // Discovery was used once, the JWKS once.
    assert_eq!(fake.discovery_hits(), 1);
    assert_eq!(fake.jwks_hits(), 1);
    // Cached: no more fetches.
    verifier.verify(&token).await.unwrap();
    assert_eq!(fake.jwks_hits(), 1);
    assert_eq!(verifier.cached_key_ids(), vec![key.kid().to_string()]);
}

#[tokio::test]
async fn numeric_ids_and_audience_lists() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let claims = with(
        with(good_claims(&fake.url), "repository_id", json!(42)),
        "aud",
        json!(["other", AUD]),
    );
    let verified = verifier
        .verify(&key.sign_claims(&claims).unwrap())
        .await
        .unwrap();
    assert_eq!(verified.repository_id.as_deref(), Some("42"));

    // Strict mode: ours must be the only audience.
    let strict = fake.verifier_with(|c| c.with_require_single_audience(true));
    let token = key.sign_claims(&claims).unwrap();
    assert_eq!(refused(&strict, &token).await, TokenError::WrongAudience);
    let single = with(good_claims(&fake.url), "aud", json!([AUD]));
    strict
        .verify(&key.sign_claims(&single).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn scope_prefers_job_workflow_ref() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let reusable = "org/automation/.github/workflows/deploy.yml@refs/heads/main";
    let claims = with(good_claims(&fake.url), "job_workflow_ref", json!(reusable));
    let verified = fake
        .verifier()
        .verify(&key.sign_claims(&claims).unwrap())
        .await
        .unwrap();
    assert_eq!(
        verified.scope(),
        format!("org/app|{reusable}|repo:org/app:ref:refs/heads/main")
    );
    let no_job = without(good_claims(&fake.url), "job_workflow_ref");
    let verified = fake
        .verifier()
        .verify(&key.sign_claims(&no_job).unwrap())
        .await
        .unwrap();
    assert_eq!(verified.job_workflow_ref, None);
    assert!(verified.scope().contains(WORKFLOW));
}

// -- algorithm attacks ---------------------------------------------------------------

#[tokio::test]
async fn alg_none_is_refused_before_any_key_lookup() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let claims = good_claims(&fake.url);
    for alg in [json!("none"), json!("None"), json!("NONE"), json!(null)] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": key.kid()});
        let token = format!("{}.{}.", b64(&header), b64(&claims));
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::UnsupportedAlgorithm
        );
        // With a bogus signature too.
        let token = format!("{}.{}.c2lnbmF0dXJl", b64(&header), b64(&claims));
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::UnsupportedAlgorithm
        );
    }
    let no_alg = json!({"typ": "JWT", "kid": key.kid()});
    let token = format!("{}.{}.", b64(&no_alg), b64(&claims));
    assert_eq!(
        refused(&verifier, &token).await,
        TokenError::UnsupportedAlgorithm
    );
    assert_eq!(fake.jwks_hits(), 0, "no key lookup for a refused algorithm");
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let claims = good_claims(&fake.url);
    let jwk = key.public_jwk();
    let modulus = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        key.public_key_pem().into_bytes(),
        key.public_key_der(),
        modulus,
        serde_json::to_vec(&key.jwks()).unwrap(),
        serde_json::to_vec(&jwk).unwrap(),
    ];
    for alg in ["HS256", "HS384", "HS512"] {
        for secret in &secrets {
            let header = json!({"alg": alg, "typ": "JWT", "kid": key.kid()});
            let token = hs256(&header, &claims, secret);
            assert_eq!(
                refused(&verifier, &token).await,
                TokenError::UnsupportedAlgorithm
            );
        }
    }
    assert_eq!(fake.jwks_hits(), 0);
}

#[tokio::test]
async fn other_algorithms_and_mismatched_key_types_are_refused() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    // An EC key published under its own kid; an RSA key published for RS512.
    let ec_jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": "ec-key", "use": "sig", "alg": "ES256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    });
    let mut rs512 = key.public_jwk();
    rs512["kid"] = json!("rs512-key");
    rs512["alg"] = json!("RS512");
    let mut enc = key.public_jwk();
    enc["kid"] = json!("enc-key");
    enc["use"] = json!("enc");
    let mut jwks = jwks_of(&[&key]);
    for extra in [ec_jwk, rs512, enc] {
        jwks["keys"].as_array_mut().unwrap().push(extra);
    }
    fake.set_jwks(jwks);
    let verifier = fake.verifier();
    let claims = good_claims(&fake.url);

    for alg in [
        "ES256", "ES384", "RS384", "RS512", "PS256", "EdDSA", "rs256",
    ] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": key.kid()});
        let token = key.sign_with_header(&header, &claims).unwrap();
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::UnsupportedAlgorithm,
            "{alg}"
        );
    }
    // RS256 header pointing at keys that are not RS256 signing keys: those
    // keys are never loaded.
    for kid in ["ec-key", "rs512-key", "enc-key"] {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let token = key.sign_with_header(&header, &claims).unwrap();
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::UnknownKey,
            "{kid}"
        );
    }
    assert_eq!(verifier.cached_key_ids(), vec![key.kid().to_string()]);
}

#[tokio::test]
async fn foreign_key_under_a_known_kid_is_refused() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    let foreign = signer(1, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()});
    let token = foreign
        .sign_with_header(&header, &good_claims(&fake.url))
        .unwrap();
    assert_eq!(refused(&verifier, &token).await, TokenError::BadSignature);
}

#[tokio::test]
async fn embedded_keys_and_key_urls_in_the_header_are_ignored() {
    let fake = Fake::start().await;
    let attacker = Fake::start().await;
    let key = signer(0, &fake.url);
    let foreign = signer(1, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    attacker.set_jwks(jwks_of(&[&foreign]));
    let verifier = fake.verifier();
    let claims = good_claims(&fake.url);

    // The attacker's own kid, its key embedded and a jku to its JWKS.
    let header = json!({
        "alg": "RS256", "kid": foreign.kid(), "jwk": foreign.public_jwk(),
        "jku": format!("{}/.well-known/jwks", attacker.url),
        "x5u": format!("{}/.well-known/jwks", attacker.url),
    });
    let token = foreign.sign_with_header(&header, &claims).unwrap();
    assert_eq!(refused(&verifier, &token).await, TokenError::UnknownKey);
    // The real kid with the attacker's key embedded.
    let header = json!({"alg": "RS256", "kid": key.kid(), "jwk": foreign.public_jwk()});
    let token = foreign.sign_with_header(&header, &claims).unwrap();
    assert_eq!(refused(&verifier, &token).await, TokenError::BadSignature);
    assert_eq!(attacker.jwks_hits(), 0);
    assert_eq!(attacker.discovery_hits(), 0);
}

#[tokio::test]
async fn tampered_tokens_are_refused() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let token = key.sign_claims(&good_claims(&fake.url)).unwrap();
    verifier.verify(&token).await.unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    // Valid signature, modified claims segment.
    let evil = with(good_claims(&fake.url), "repository", json!("org/other"));
    let tampered = format!("{}.{}.{}", parts[0], b64(&evil), parts[2]);
    assert_eq!(
        refused(&verifier, &tampered).await,
        TokenError::BadSignature
    );

    // Modified header (extra field) with the old signature.
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid(), "x": 1});
    let tampered = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
    assert_eq!(
        refused(&verifier, &tampered).await,
        TokenError::BadSignature
    );

    // Flipped signature bits.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 0x01;
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&signature)
    );
    assert_eq!(
        refused(&verifier, &tampered).await,
        TokenError::BadSignature
    );

    // Truncated signature.
    let tampered = format!("{}.{}.{}", parts[0], parts[1], &parts[2][..40]);
    assert_eq!(
        refused(&verifier, &tampered).await,
        TokenError::BadSignature
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let good = key.sign_claims(&good_claims(&fake.url)).unwrap();
    let parts: Vec<&str> = good.split('.').collect();

    assert_eq!(verifier.verify("").await.unwrap_err(), TokenError::Empty);
    assert_eq!(verifier.verify("   ").await.unwrap_err(), TokenError::Empty);
    let huge = format!("{}.{}.{}", parts[0], "a".repeat(MAX_TOKEN_BYTES), parts[2]);
    assert_eq!(refused(&verifier, &huge).await, TokenError::TooLarge);

    for token in [
        "not-a-jwt".to_string(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.extra"),
        format!("{}.{}.{}.{}.{}", parts[0], "a", "b", parts[1], parts[2]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        format!("{}.{}+/.{}", parts[0], parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode("not json"),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode("[1,2]"),
            parts[1],
            parts[2]
        ),
    ] {
        let error = refused(&verifier, &token).await;
        assert!(matches!(error, TokenError::Malformed(_)), "{error:?}");
    }

    // A payload that is not JSON but correctly signed.
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()});
    let token = key
        .sign_with_header(&header, &json!("just a string"))
        .unwrap();
    assert!(matches!(
        refused(&verifier, &token).await,
        TokenError::Malformed(_)
    ));

    // Header problems.
    let claims = good_claims(&fake.url);
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let token = key.sign_with_header(&header, &claims).unwrap();
    assert_eq!(refused(&verifier, &token).await, TokenError::MissingKeyId);
    let header = json!({"alg": "RS256", "kid": ""});
    let token = key.sign_with_header(&header, &claims).unwrap();
    assert_eq!(refused(&verifier, &token).await, TokenError::MissingKeyId);
    let header = json!({"alg": "RS256", "kid": 5});
    let token = key.sign_with_header(&header, &claims).unwrap();
    assert!(matches!(
        refused(&verifier, &token).await,
        TokenError::Malformed(_)
    ));
    let header = json!({"alg": "RS256", "kid": key.kid(), "crit": ["exp"], "exp": 1});
    let token = key.sign_with_header(&header, &claims).unwrap();
    assert!(matches!(
        refused(&verifier, &token).await,
        TokenError::Malformed(_)
    ));
}

// -- claim attacks ---------------------------------------------------------------------

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    for iss in [
        json!(GITHUB_ACTIONS_ISSUER),
        json!(format!("{}/", fake.url)),
        json!(fake.url.to_uppercase()),
        json!("https://token.actions.githubusercontent.com.evil.com"),
        json!([fake.url.clone()]),
        json!(5),
    ] {
        let token = key
            .sign_claims(&with(good_claims(&fake.url), "iss", iss.clone()))
            .unwrap();
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::WrongIssuer,
            "{iss}"
        );
    }
    let token = key
        .sign_claims(&without(good_claims(&fake.url), "iss"))
        .unwrap();
    assert_eq!(
        refused(&verifier, &token).await,
        TokenError::MissingClaim("iss")
    );
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    for aud in [
        json!("other"),
        json!("https://github.com/org"),
        json!(format!("{AUD} ")),
        json!(AUD.to_uppercase()),
        json!(["other", "https://github.com/org"]),
        json!([]),
    ] {
        let token = key
            .sign_claims(&with(good_claims(&fake.url), "aud", aud.clone()))
            .unwrap();
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::WrongAudience,
            "{aud}"
        );
    }
    for aud in [json!(5), json!([AUD, 5]), json!({"aud": AUD})] {
        let token = key
            .sign_claims(&with(good_claims(&fake.url), "aud", aud.clone()))
            .unwrap();
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::InvalidClaim("aud"),
            "{aud}"
        );
    }
    let token = key
        .sign_claims(&without(good_claims(&fake.url), "aud"))
        .unwrap();
    assert_eq!(
        refused(&verifier, &token).await,
        TokenError::MissingClaim("aud")
    );
}

#[tokio::test]
async fn time_claims_are_enforced_with_leeway() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let now = now();
    let sign = |claims: Value| key.sign_claims(&claims).unwrap();
    let base = || good_claims(&fake.url);

    // Expired beyond the 30 s leeway; inside it is accepted.
    let token = sign(with(
        with(base(), "exp", json!(now - 120)),
        "iat",
        json!(now - 400),
    ));
    assert_eq!(refused(&verifier, &token).await, TokenError::Expired);
    let token = sign(with(base(), "exp", json!(now - 10)));
    verifier.verify(&token).await.unwrap();
    // A float exp is a NumericDate too.
    let token = sign(with(base(), "exp", json!((now - 120) as f64 + 0.5)));
    assert_eq!(refused(&verifier, &token).await, TokenError::Expired);

    // exp is required and must be a number.
    let token = sign(without(base(), "exp"));
    assert_eq!(
        refused(&verifier, &token).await,
        TokenError::MissingClaim("exp")
    );
    let token = sign(with(base(), "exp", json!("9999999999")));
    assert_eq!(
        refused(&verifier, &token).await,
        TokenError::InvalidClaim("exp")
    );

    // nbf in the future.
    let token = sign(with(base(), "nbf", json!(now + 120)));
    assert_eq!(refused(&verifier, &token).await, TokenError::NotYetValid);
    let token = sign(with(base(), "nbf", json!(now + 10)));
    verifier.verify(&token).await.unwrap();
    let token = sign(without(base(), "nbf"));
    verifier.verify(&token).await.unwrap();

    // iat in the future; iat required.
    let token = sign(with(base(), "iat", json!(now + 120)));
    assert_eq!(refused(&verifier, &token).await, TokenError::IssuedInFuture);
    let token = sign(with(base(), "iat", json!(now + 10)));
    verifier.verify(&token).await.unwrap();
    let token = sign(without(base(), "iat"));
    assert_eq!(
        refused(&verifier, &token).await,
        TokenError::MissingClaim("iat")
    );

    // Zero leeway is strict.
    let strict = fake.verifier_with(|c| c.with_leeway(Duration::ZERO));
    let token = sign(with(base(), "exp", json!(now - 2)));
    assert_eq!(refused(&strict, &token).await, TokenError::Expired);
}

#[tokio::test]
async fn required_github_claims_are_enforced() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let sign = |claims: Value| key.sign_claims(&claims).unwrap();
    let base = || good_claims(&fake.url);

    for name in ["repository", "workflow_ref"] {
        let token = sign(without(base(), name));
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::MissingClaim(name)
        );
        let token = sign(with(base(), name, json!("   ")));
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::MissingClaim(name)
        );
        let token = sign(with(base(), name, json!(["org/app"])));
        assert_eq!(
            refused(&verifier, &token).await,
            TokenError::InvalidClaim(name)
        );
    }
    for (name, value) in [
        ("repository_id", json!("12a")),
        ("repository_owner_id", json!(-1)),
        ("environment", json!(true)),
        ("ref", json!(1)),
    ] {
        let token = sign(with(base(), name, value));
        let error = refused(&verifier, &token).await;
        assert!(
            matches!(error, TokenError::InvalidClaim(_)),
            "{name}: {error:?}"
        );
    }
}

// -- JWKS behaviour --------------------------------------------------------------------

#[tokio::test]
async fn concurrent_first_use_shares_one_fetch() {
    let fake = Fake::start_with_delay(Duration::from_millis(150)).await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier();
    let token = key.sign_claims(&good_claims(&fake.url)).unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(fake.jwks_hits(), 1);
    assert_eq!(fake.discovery_hits(), 1);
}

#[tokio::test]
async fn unknown_kid_flood_triggers_at_most_one_refetch_per_interval() {
    let fake = Fake::start_with_delay(Duration::from_millis(100)).await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let interval = Duration::from_millis(1500);
    let verifier = fake.verifier_with(|c| c.with_refetch_interval(interval));
    let claims = good_claims(&fake.url);
    // Sign everything first so the timed part only verifies.
    let unknown = |prefix: &str, count: usize| -> Vec<String> {
        (0..count)
            .map(|i| {
                let header = json!({"alg": "RS256", "kid": format!("{prefix}-{i}")});
                key.sign_with_header(&header, &claims).unwrap()
            })
            .collect()
    };
    let early = unknown("early", 10);
    let flood = unknown("flood", 50);
    let late = unknown("late", 20);
    let good = key.sign_claims(&claims).unwrap();

    verifier.verify(&good).await.unwrap();
    assert_eq!(fake.jwks_hits(), 1);

    // Right after a fetch, unknown kids cause no fetch at all.
    for token in &early {
        assert_eq!(refused(&verifier, token).await, TokenError::UnknownKey);
    }
    assert_eq!(fake.jwks_hits(), 1);

    // Once the interval has passed, a concurrent flood of unknown kids
    // shares exactly one refetch.
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let tasks: Vec<_> = flood
        .into_iter()
        .map(|token| {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), TokenError::UnknownKey);
    }
    assert_eq!(
        fake.jwks_hits(),
        2,
        "exactly one refetch for the whole flood"
    );
    for token in &late {
        assert_eq!(refused(&verifier, token).await, TokenError::UnknownKey);
    }
    assert_eq!(fake.jwks_hits(), 2);
    // The known key kept working throughout.
    verifier.verify(&good).await.unwrap();
    assert_eq!(fake.jwks_hits(), 2);
    assert_eq!(fake.discovery_hits(), 1);
}

#[tokio::test]
async fn key_rotation_works_without_restart() {
    let fake = Fake::start().await;
    let old = signer(0, &fake.url);
    let new = signer(1, &fake.url);
    fake.set_jwks(jwks_of(&[&old]));
    let interval = Duration::from_millis(1000);
    let verifier = fake.verifier_with(|c| c.with_refetch_interval(interval));
    let claims = good_claims(&fake.url);
    let old_token = old.sign_claims(&claims).unwrap();
    let new_token = new.sign_claims(&claims).unwrap();
    verifier.verify(&old_token).await.unwrap();

    // The issuer rotates: the old key is removed, the new one published.
    fake.set_jwks(jwks_of(&[&new]));
    // Within the interval the new kid is not fetched yet.
    assert_eq!(refused(&verifier, &new_token).await, TokenError::UnknownKey);
    assert_eq!(fake.jwks_hits(), 1);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    let verified = verifier.verify(&new_token).await.unwrap();
    assert_eq!(verified.repository, REPO);
    assert_eq!(fake.jwks_hits(), 2);
    // The removed key no longer verifies.
    assert_eq!(refused(&verifier, &old_token).await, TokenError::UnknownKey);
    assert_eq!(verifier.cached_key_ids(), vec![new.kid().to_string()]);
}

#[tokio::test]
async fn stale_cache_refresh_drops_revoked_keys() {
    let fake = Fake::start().await;
    let old = signer(0, &fake.url);
    let new = signer(1, &fake.url);
    fake.set_jwks(jwks_of(&[&old]));
    let verifier = fake.verifier_with(|c| {
        c.with_refetch_interval(Duration::from_millis(100))
            .with_jwks_max_age(Duration::from_millis(800))
    });
    let old_token = old.sign_claims(&good_claims(&fake.url)).unwrap();
    verifier.verify(&old_token).await.unwrap();
    fake.set_jwks(jwks_of(&[&new]));
    // Still fresh: the cached key serves.
    verifier.verify(&old_token).await.unwrap();
    assert_eq!(fake.jwks_hits(), 1);
    tokio::time::sleep(Duration::from_millis(900)).await;
    // Stale: the refresh shows the key was revoked.
    assert_eq!(refused(&verifier, &old_token).await, TokenError::UnknownKey);
    assert_eq!(fake.jwks_hits(), 2);
}

#[tokio::test]
async fn issuer_outage_keeps_serving_cached_keys() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let verifier = fake.verifier_with(|c| {
        c.with_refetch_interval(Duration::from_millis(100))
            .with_jwks_max_age(Duration::from_millis(150))
    });
    let claims = good_claims(&fake.url);
    let token = key.sign_claims(&claims).unwrap();
    verifier.verify(&token).await.unwrap();

    fake.set_down(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Stale cache, failed refresh: the cached key still verifies.
    verifier.verify(&token).await.unwrap();
    assert_eq!(fake.jwks_hits(), 2, "a refresh was attempted");
    // An unknown kid during the outage is an unknown key, and the cache
    // survives the failed refetch.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let header = json!({"alg": "RS256", "kid": "unknown"});
    let unknown = key.sign_with_header(&header, &claims).unwrap();
    assert_eq!(refused(&verifier, &unknown).await, TokenError::UnknownKey);
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.cached_key_ids(), vec![key.kid().to_string()]);

    // The issuer comes back.
    fake.set_down(false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn unreachable_issuer_is_jwks_unavailable_without_leaking() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let key = signer(0, &url);
    let verifier = OidcVerifier::new(
        OidcConfig::new(AUD)
            .unwrap()
            .with_issuer(url.clone())
            .unwrap()
            .with_http_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let token = key.sign_claims(&good_claims(&url)).unwrap();
    let error = refused(&verifier, &token).await;
    assert!(matches!(error, TokenError::JwksUnavailable(_)), "{error:?}");
    // The client message does not reveal the issuer-side detail.
    assert!(!error.to_auth_error().to_string().contains(&url));
    assert!(verifier.refresh_keys().await.is_err());
}

#[tokio::test]
async fn empty_key_sets_are_never_cached() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    let interval = Duration::from_millis(200);
    let verifier = fake.verifier_with(|c| c.with_refetch_interval(interval));
    let claims = good_claims(&fake.url);
    let token = key.sign_claims(&claims).unwrap();

    // Empty from the start: an error, nothing cached.
    fake.set_jwks(json!({"keys": []}));
    let error = refused(&verifier, &token).await;
    assert!(matches!(error, TokenError::JwksUnavailable(_)), "{error:?}");
    assert!(verifier.cached_key_ids().is_empty());

    // Only unusable keys counts as empty.
    let mut enc = key.public_jwk();
    enc["use"] = json!("enc");
    let mut short = key.public_jwk();
    short["kid"] = json!("short");
    short["n"] = json!(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
    fake.set_jwks(json!({"keys": [enc, short]}));
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    let error = refused(&verifier, &token).await;
    assert!(matches!(error, TokenError::JwksUnavailable(_)), "{error:?}");

    // Published: works after the interval.
    fake.set_jwks(jwks_of(&[&key]));
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    verifier.verify(&token).await.unwrap();

    // The issuer publishes an empty set again: it replaces nothing.
    fake.set_jwks(json!({"keys": []}));
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    let header = json!({"alg": "RS256", "kid": "rotated-away"});
    let unknown = key.sign_with_header(&header, &claims).unwrap();
    assert_eq!(refused(&verifier, &unknown).await, TokenError::UnknownKey);
    let hits = fake.jwks_hits();
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.cached_key_ids(), vec![key.kid().to_string()]);
    assert_eq!(fake.jwks_hits(), hits);
}

#[tokio::test]
async fn duplicate_kids_are_dropped() {
    let fake = Fake::start().await;
    let a = signer(0, &fake.url);
    let b = signer(1, &fake.url);
    let mut b_as_a = b.public_jwk();
    b_as_a["kid"] = json!(a.kid());
    let mut jwks = jwks_of(&[&a, &b]);
    jwks["keys"].as_array_mut().unwrap().push(b_as_a);
    fake.set_jwks(jwks);
    let verifier = fake.verifier();
    let claims = good_claims(&fake.url);
    verifier
        .verify(&b.sign_claims(&claims).unwrap())
        .await
        .unwrap();
    let token = a.sign_claims(&claims).unwrap();
    assert_eq!(refused(&verifier, &token).await, TokenError::UnknownKey);
}

#[tokio::test]
async fn discovery_must_name_the_configured_issuer() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    *fake.state.discovery_issuer.lock().unwrap() = Some("https://evil.example.com".to_string());
    let verifier = fake.verifier();
    let token = key.sign_claims(&good_claims(&fake.url)).unwrap();
    let error = refused(&verifier, &token).await;
    assert!(matches!(error, TokenError::JwksUnavailable(_)), "{error:?}");
    assert_eq!(fake.jwks_hits(), 0);
}

#[tokio::test]
async fn explicit_jwks_url_skips_discovery_and_redirects_stay_on_host() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let token = key.sign_claims(&good_claims(&fake.url)).unwrap();

    let direct = fake.verifier_with(|c| {
        c.with_jwks_url(format!("{}/.well-known/jwks", fake.url))
            .unwrap()
    });
    direct.verify(&token).await.unwrap();
    assert_eq!(fake.discovery_hits(), 0);

    let same_host = fake.verifier_with(|c| {
        c.with_jwks_url(format!("{}/same-host-redirect", fake.url))
            .unwrap()
    });
    same_host.verify(&token).await.unwrap();

    let before = fake.jwks_hits();
    let other_host = fake.verifier_with(|c| {
        c.with_jwks_url(format!("{}/other-host-redirect", fake.url))
            .unwrap()
    });
    let error = refused(&other_host, &token).await;
    assert!(matches!(error, TokenError::JwksUnavailable(_)), "{error:?}");
    assert_eq!(fake.jwks_hits(), before, "the other host was never asked");
}

// -- the authenticator -------------------------------------------------------------------

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

#[tokio::test]
async fn authenticator_returns_identity_and_typed_claims() {
    let fake = Fake::start().await;
    let key = signer(0, &fake.url);
    fake.set_jwks(jwks_of(&[&key]));
    let authenticator = OidcAuthenticator::new(fake.verifier());
    let token = key.sign_claims(&good_claims(&fake.url)).unwrap();

    let caller = authenticator
        .authenticate_caller(&bearer(&token))
        .await
        .unwrap();
    let claims = caller.github_actions.clone().expect("typed claims");
    assert_eq!(caller.identity.kind, "github_actions");
    assert_eq!(caller.identity.subject, claims.scope());
    assert!(
        caller
            .identity
            .claims
            .contains(&("repository".to_string(), REPO.to_string()))
    );
    assert!(
        caller
            .identity
            .claims
            .contains(&("workflow_ref".to_string(), WORKFLOW.to_string()))
    );
    let identity = authenticator.authenticate(&bearer(&token)).await.unwrap();
    assert_eq!(identity, caller.identity);

    // Through the trait object, as the HTTP layer holds it.
    let dynamic: Arc<dyn Authenticator> = Arc::new(authenticator.clone());
    let caller = dynamic.authenticate_caller(&bearer(&token)).await.unwrap();
    assert!(caller.github_actions.is_some());

    // Missing header, wrong scheme, bad token: 401 without the token.
    let error = authenticator
        .authenticate(&HeaderMap::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AuthError::Unauthenticated(m) if m.starts_with(AUTHENTICATION_REQUIRED_MESSAGE)),
        "{error:?}"
    );
    let tampered = token.replace('.', ".x");
    let error = authenticator
        .authenticate(&bearer(&tampered))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AuthError::Unauthenticated(m) if !m.contains(&tampered)),
        "{error:?}"
    );
    let expired = key
        .sign_claims(&with(good_claims(&fake.url), "exp", json!(now() - 3600)))
        .unwrap();
    let error = authenticator
        .authenticate_caller(&bearer(&expired))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("expired"), "{message}");
    assert!(!message.contains(&expired));
}

#[tokio::test]
async fn closed_authenticator_default_caller_is_refused() {
    let closed: Arc<dyn Authenticator> = Arc::new(Closed);
    let error = closed
        .authenticate_caller(&bearer("abc.def.ghi"))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Unauthenticated(_)), "{error:?}");
}

#[test]
fn token_error_display_is_fixed_text() {
    let errors = [
        TokenError::Empty,
        TokenError::TooLarge,
        TokenError::Malformed("x"),
        TokenError::UnsupportedAlgorithm,
        TokenError::MissingKeyId,
        TokenError::UnknownKey,
        TokenError::BadSignature,
        TokenError::WrongIssuer,
        TokenError::WrongAudience,
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::IssuedInFuture,
        TokenError::MissingClaim("repository"),
        TokenError::InvalidClaim("aud"),
        TokenError::JwksUnavailable("GET http://127.0.0.1:1 failed".to_string()),
    ];
    let mut codes = HashSet::new();
    for error in &errors {
        assert!(codes.insert(error.code()), "codes are distinct");
        let message = error.to_auth_error().to_string();
        assert!(message.starts_with("A valid GitHub OIDC token is required. Reason: "));
        assert!(!message.contains("127.0.0.1"));
    }
}
