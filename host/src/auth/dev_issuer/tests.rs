//! The development issuer's tests: loopback binds, the served documents,
//! the key and its file, minting, and tokens verified end to end.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

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
