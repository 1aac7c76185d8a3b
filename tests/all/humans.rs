//! GitHub-signed-in humans on both stores: the sign-in flow against the
//! fake GitHub, the session cookie (tampering, expiry, logout, restarts),
//! CSRF on every session-authorized mutation, roles (a read-only human
//! cannot mutate), the github-humans grant, sign-in failures, and no
//! token, cookie or secret in the logs.

use std::time::Duration;

use launchplane_tests::fake_github::{FakeGitHubOAuth, FakeUser};
use launchplane_tests::humans::{CLIENT_ID, CLIENT_SECRET, SESSION_SECRET, browser, sign_in};
use launchplane_tests::{DEMO_POLICY, Service, TestDatabase, assert_rejected};
use serde_json::{Value, json};

const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// The demo policy plus: `ada` is an admin of demo and launchplane (any
/// action: an empty `actions` list), anyone in `acme` reads them.
fn policy() -> String {
    format!(
        "{DEMO_POLICY}\n[[github_humans]]\nlogins = [\"ada\"]\nroles = [\"admin\"]\nproducts = [\"demo\", \"launchplane\"]\nactions = []\n\n\
         [[github_humans]]\norganizations = [\"acme\"]\nroles = [\"read_only\"]\nproducts = [\"demo\", \"launchplane\"]\n"
    )
}

fn ada() -> FakeUser {
    FakeUser::new("ada", 1001)
        .in_org("acme")
        .in_team("acme", "ops")
}

fn bob() -> FakeUser {
    FakeUser::new("bob", 1002).in_org("acme")
}

async fn start(db: &TestDatabase, github: &FakeGitHubOAuth) -> Service {
    Service::start_with_humans(db, &policy(), github, |_| {}).await
}

fn human_grant(login: &str) -> Value {
    json!({
        "schema_version": 1,
        "product": "launchplane",
        "mode": "apply",
        "reason": "tests",
        "grant": {"logins": [login], "roles": ["read_only"], "products": ["demo"]}
    })
}

/// How many `github_humans` rules the active policy has, and its source.
async fn human_rules(db: &TestDatabase) -> (usize, String) {
    let active = db
        .store
        .active_policy()
        .await
        .expect("policy")
        .expect("one");
    let count = active.policy["github_humans"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_default();
    (count, active.source)
}

fn release() -> Value {
    json!({"product": "demo", "context": "demo", "instance": "testing", "reason": "tests"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_signs_in_reads_and_an_admin_mutates_with_csrf() {
    for backend in BACKENDS {
        let db = TestDatabase::new(backend).await;
        let github = FakeGitHubOAuth::start(CLIENT_ID, CLIENT_SECRET).await;
        let service = start(&db, &github).await;
        let human = service.sign_in(&github, ada()).await;
        assert_eq!(human.location, "/ui", "{backend}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
            assert!(human.set_cookie.contains(attribute), "{}", human.set_cookie);
        }
        assert!(!human.set_cookie.contains("Secure"), "secure is off here");
        let value = human.cookie.trim_start_matches("launchplane_session=");
        let (id, signature) = value.rsplit_once('.').expect("<id>.<signature>");
        assert!(!id.is_empty() && signature.len() == 64, "{value}");
        assert_eq!(
            human.identity,
            json!({"provider": "github", "login": "ada", "github_id": 1001, "name": "ada (fake)",
                   "email": "ada@example.com", "organizations": ["acme"], "teams": ["acme/ops", "ops"],
                   "role": "admin"})
        );

        let (status, body) = service.get_as_human(&human, "/v1/drivers").await;
        assert_eq!(status, 200, "{backend}: {body}");

        // CSRF: missing and wrong tokens are refused before anything runs.
        let grant = human_grant("carol");
        let route = "/v1/authz-policies/github-humans/grants";
        let (status, body) = service.post_as_human(&human, route, &grant, None).await;
        assert_eq!(
            (status, assert_rejected(&body).as_str()),
            (403, "csrf_token_invalid")
        );
        let (status, body) = service
            .post_as_human(&human, route, &grant, Some("not-the-token"))
            .await;
        assert_eq!(
            (status, assert_rejected(&body).as_str()),
            (403, "csrf_token_invalid")
        );
        assert_eq!(human_rules(&db).await.0, 2, "refused before anything ran");

        let (status, body) = service
            .post_as_human(&human, route, &grant, Some(&human.csrf_token))
            .await;
        assert_eq!(status, 202, "{backend}: {body}");
        assert_eq!(body["result"]["changed"], true);
        assert_eq!(
            body["result"]["diff"]["github_humans_added"][0]["login_count"],
            1
        );
        assert!(
            !body.to_string().contains("carol"),
            "no logins in the answer: {body}"
        );
        assert_eq!(
            human_rules(&db).await,
            (3, "service:authz-human-policy-grant".into())
        );
        // The same grant again changes nothing.
        let (status, body) = service
            .post_as_human(&human, route, &grant, Some(&human.csrf_token))
            .await;
        assert_eq!(
            (status, body["result"]["changed"].clone()),
            (202, json!(false))
        );

        // The audit row names the human.
        let trace = body["trace_id"].as_str().expect("trace").to_string();
        let events = db
            .store
            .list_audit_events(Some(&trace), 5)
            .await
            .expect("audit");
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].caller_kind, "github_human");
        assert_eq!(events[0].caller_subject, "github-human|ada|1001");
        assert_eq!(events[0].caller_claims["login"], "ada");

        // An admin may release a lane (an operator flow of the console).
        let (status, body) = service
            .post_as_human(
                &human,
                "/v1/lanes/release",
                &release(),
                Some(&human.csrf_token),
            )
            .await;
        assert_eq!(status, 202, "{backend}: {body}");

        // A session never authorizes a POST the reference keeps for
        // workflows: 401, as without any credential.
        let (status, body) = service
            .post_as_human(
                &human,
                "/v1/product-profiles",
                &launchplane_tests::demo_profile("generic-web"),
                Some(&human.csrf_token),
            )
            .await;
        assert_eq!(
            (status, assert_rejected(&body).as_str()),
            (401, "authentication_required")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_human_reads_but_cannot_mutate() {
    for backend in BACKENDS {
        let db = TestDatabase::new(backend).await;
        let github = FakeGitHubOAuth::start(CLIENT_ID, CLIENT_SECRET).await;
        let service = start(&db, &github).await;
        service.seed_profile("generic-web").await;
        let human = service.sign_in(&github, bob()).await;
        assert_eq!(human.identity["role"], "read_only");
        for path in [
            "/v1/drivers",
            "/v1/product-profiles",
            "/v1/product-profiles/demo",
        ] {
            let (status, body) = service.get_as_human(&human, path).await;
            assert_eq!(status, 200, "{backend} {path}: {body}");
        }
        let csrf = Some(human.csrf_token.as_str());
        let mutations = [
            ("/v1/lanes/release", release()),
            (
                "/v1/authz-policies/github-humans/grants",
                human_grant("mallory"),
            ),
            (
                "/v1/drivers/generic-web/prod-rollback-plan",
                json!({"schema_version": 1, "product": "demo", "rollback_plan": {"context": "demo", "instance": "prod"}}),
            ),
        ];
        for (path, body) in &mutations {
            let (status, answer) = service.post_as_human(&human, path, body, csrf).await;
            assert!(
                status == 403 || status == 400,
                "{backend} {path}: a read-only human is refused: {status} {answer}"
            );
            if status == 403 {
                assert_eq!(assert_rejected(&answer), "authorization_denied", "{answer}");
                assert_eq!(answer["authz"]["identity"]["role"], "read_only");
            }
        }
        let (status, answer) = service
            .post_as_human(&human, "/v1/lanes/release", &release(), csrf)
            .await;
        assert_eq!(status, 403, "{answer}");
        for path in [
            "/v1/evidence/deployments",
            "/v1/product-config/apply",
            "/v1/drivers/generic-web/deploy",
        ] {
            let (status, _) = service.post_as_human(&human, path, &json!({}), csrf).await;
            assert!(
                status == 401 || status == 403 || status == 400,
                "{path}: {status}"
            );
            assert_ne!(status / 100, 2, "{path}");
        }
        assert_eq!(human_rules(&db).await.0, 2, "nothing was granted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_expired_and_revoked_sessions_read_as_none() {
    for backend in BACKENDS {
        let db = TestDatabase::new(backend).await;
        let github = FakeGitHubOAuth::start(CLIENT_ID, CLIENT_SECRET).await;
        let service = Service::start_with_humans(&db, &policy(), &github, |config| {
            config.session_ttl = Duration::from_secs(2);
        })
        .await;
        let session = |cookie: String| {
            let url = service.server.url("/v1/auth/session");
            async move {
                let response = browser()
                    .get(url)
                    .header("cookie", cookie)
                    .send()
                    .await
                    .expect("request");
                let status = response.status().as_u16();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let human = service.sign_in(&github, ada()).await;
        assert_eq!(session(human.cookie.clone()).await.0, 200);
        let value = human.cookie.trim_start_matches("launchplane_session=");
        let (id, signature) = value.rsplit_once('.').expect("signed");
        let forged_other = format!("launchplane_session=other.{signature}");
        let flipped = format!(
            "launchplane_session={id}.{}{}",
            &signature[..63],
            if signature.ends_with('0') { "1" } else { "0" }
        );
        for cookie in [
            format!("launchplane_session={id}"),
            forged_other,
            flipped,
            format!("launchplane_session={id}.{}", "ab".repeat(32)),
            "launchplane_session=".to_string(),
        ] {
            let (status, body) = session(cookie.clone()).await;
            assert_eq!(status, 401, "{cookie}: {body}");
            assert_eq!(body["configured"], true);
            let (status, _) = service
                .get_as_human(
                    &launchplane_tests::humans::SignedIn {
                        cookie,
                        ..human.clone()
                    },
                    "/v1/drivers",
                )
                .await;
            assert_eq!(status, 401, "a refused cookie is no caller");
        }

        // Logout needs the CSRF token, then revokes and clears the cookie.
        let logout = |csrf: Option<String>| {
            let url = service.server.url("/auth/logout");
            let cookie = human.cookie.clone();
            async move {
                let mut request = browser().post(url).header("cookie", cookie);
                if let Some(csrf) = csrf {
                    request = request.header("x-csrf-token", csrf);
                }
                request.send().await.expect("request")
            }
        };
        assert_eq!(logout(None).await.status().as_u16(), 403);
        let response = logout(Some(human.csrf_token.clone())).await;
        assert_eq!(response.status().as_u16(), 200);
        let cleared = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            cleared.contains("Max-Age=0") && cleared.contains("HttpOnly"),
            "{cleared}"
        );
        assert_eq!(session(human.cookie.clone()).await.0, 401, "revoked");

        // Expiry: a session past its TTL is gone (and deleted on read).
        let short = service.sign_in(&github, ada()).await;
        assert_eq!(session(short.cookie.clone()).await.0, 200);
        tokio::time::sleep(Duration::from_millis(2200)).await;
        let (status, body) = session(short.cookie.clone()).await;
        assert_eq!(
            (status, body["configured"].clone()),
            (401, json!(true)),
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_a_host_restart() {
    for backend in BACKENDS {
        let db = TestDatabase::new(backend).await;
        let github = FakeGitHubOAuth::start(CLIENT_ID, CLIENT_SECRET).await;
        let first = start(&db, &github).await;
        let human = first.sign_in(&github, ada()).await;
        drop(first);
        // Another host process: its own pool on the same database, the
        // same session secret, nothing shared in memory.
        let second =
            Service::start_with_humans_on(db.second_host().await, &policy(), &github, |_| {}).await;
        let (status, body) = second.get_as_human(&human, "/v1/auth/session").await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(body["identity"]["login"], "ada");
        assert_eq!(body["csrf_token"], human.csrf_token.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_are_answered_in_the_originals_terms() {
    let db = TestDatabase::new("sqlite").await;
    let github = FakeGitHubOAuth::start(CLIENT_ID, CLIENT_SECRET).await;
    let service = Service::start_with_humans(&db, &policy(), &github, |config| {
        config.bootstrap_admin_emails = vec!["root@example.com".to_string()];
    })
    .await;
    let base = format!("http://{}", service.server.addr);
    let error_code = |result: Result<_, String>| -> String { result.expect_err("refused") };

    // No rule names eve: 403 at the callback.
    let message = error_code(sign_in(&base, &github, FakeUser::new("eve", 66)).await);
    assert!(
        message.contains("403") && message.contains("authorization_denied"),
        "{message}"
    );
    // A bootstrap admin email makes an admin without a rule.
    let mut root = FakeUser::new("root", 77);
    root.emails = vec![("Root@Example.com".to_string(), false, true)];
    let admin = sign_in(&base, &github, root)
        .await
        .expect("bootstrap admin");
    assert_eq!(admin.identity["role"], "admin");
    // GitHub refuses the code.
    github.refuse_codes(true);
    let message = error_code(sign_in(&base, &github, ada()).await);
    assert!(
        message.contains("400") && message.contains("invalid_oauth_callback"),
        "{message}"
    );
    github.refuse_codes(false);
    // The user API is rate limited.
    github.rate_limit(true);
    let message = error_code(sign_in(&base, &github, ada()).await);
    assert!(
        message.contains("400") && message.contains("invalid_oauth_callback"),
        "{message}"
    );
    github.rate_limit(false);
    // A callback without a pending state, or without parameters.
    for query in ["?code=x&state=unknown", "", "?state=s"] {
        let response = browser()
            .get(format!("{base}/auth/github/callback{query}"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 400, "{query}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(assert_rejected(&body), "invalid_oauth_callback");
    }
    // return_to is kept to same-origin paths.
    for (asked, expected) in [("//evil.example/x", "/"), ("/ui/lanes", "/ui/lanes")] {
        github.sign_in_as(ada());
        let client = browser();
        let login = client
            .get(format!("{base}/auth/github/login"))
            .query(&[("return_to", asked)])
            .send()
            .await
            .expect("login");
        let authorize = login.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert!(
            authorize.starts_with(&github.url())
                && authorize.contains("code_challenge_method=S256")
        );
        let back = client.get(authorize).send().await.expect("authorize");
        let callback = back.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        let done = client.get(callback).send().await.expect("callback");
        assert_eq!(done.status().as_u16(), 302);
        assert_eq!(done.headers()["location"], expected);
    }

    // A host without sign-in: 503 at login, 401 `configured: false`.
    let plain = Service::start(&db).await;
    let response = browser()
        .get(plain.server.url("/auth/github/login"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 503);
    let (status, body) = plain.server.get("/v1/auth/session").await;
    assert_eq!((status, body["configured"].clone()), (401, json!(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_cookie_or_secret_reaches_the_logs() {
    let capture = crate::secrets::Capturing::start();
    let db = TestDatabase::new("postgres").await;
    let github = FakeGitHubOAuth::start(CLIENT_ID, CLIENT_SECRET).await;
    let service = start(&db, &github).await;
    let human = service.sign_in(&github, ada()).await;
    let _ = service
        .post_as_human(
            &human,
            "/v1/authz-policies/github-humans/grants",
            &human_grant("dora"),
            Some(&human.csrf_token),
        )
        .await;
    let _ = service
        .post_as_human(&human, "/v1/lanes/release", &release(), Some("wrong"))
        .await;
    github.refuse_codes(true);
    let _ = sign_in(&format!("http://{}", service.server.addr), &github, ada()).await;
    let logs = capture.text();
    assert!(
        logs.contains("human signed in"),
        "the capture works: {logs}"
    );
    let session_value = human.cookie.trim_start_matches("launchplane_session=");
    let (session_id, _) = session_value.rsplit_once('.').expect("signed");
    let mut secrets = vec![
        session_value.to_string(),
        session_id.to_string(),
        human.csrf_token.clone(),
        CLIENT_SECRET.to_string(),
        SESSION_SECRET.to_string(),
    ];
    secrets.extend(github.issued_secrets());
    assert!(secrets.len() > 6, "tokens and codes were issued");
    for secret in secrets {
        assert!(!logs.contains(&secret), "`{secret}` leaked into the logs");
    }
}
