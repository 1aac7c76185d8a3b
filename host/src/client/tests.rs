//! Unit tests of the client's pure parts; the end-to-end flow against a
//! running host is in `tests/all/client.rs`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::call::failing_statuses;
use super::outputs::{Summary, output_entries};
use super::*;

fn action(schema: Value) -> RemoteAction {
    serde_json::from_value(json!({
        "action_id": "stable_deploy",
        "method": "POST",
        "route_path": "/v1/drivers/generic-web/deploy",
        "envelope_key": "deploy",
        "input_schema": schema,
        "execution": "sync",
        "idempotency": "optional",
        "some_future_field": true
    }))
    .expect("action")
}

fn deploy_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["product", "instance", "artifact_id", "source_git_ref"],
        "properties": {
            "product": {"type": "string", "pattern": "\\S"},
            "instance": {"type": "string", "pattern": "\\S"},
            "artifact_id": {"type": "string", "pattern": "\\S"},
            "source_git_ref": {"type": "string", "pattern": "\\S"},
            "timeout_seconds": {"type": ["integer", "null"], "minimum": 1},
            "no_cache": {"type": "boolean"},
            "labels": {"type": "object", "properties": {"team": {"type": "string"}}}
        }
    })
}

#[test]
fn env_is_a_value_and_never_prints_its_contents() {
    let env = Env::from_pairs([("A", " x "), ("BLANK", "  "), ("GITHUB_ACTIONS", "true")]);
    assert_eq!(env.get("A").as_deref(), Some("x"));
    assert_eq!(env.get("BLANK"), None);
    assert_eq!(env.get("MISSING"), None);
    assert!(env.in_github_actions());
    assert!(!Env::empty().in_github_actions());
    assert_eq!(format!("{env:?}"), "Env(..)");
    assert_eq!(
        format!("{:?}", Secret::new("very-secret-token")),
        "Secret(***)"
    );
}

#[test]
fn the_console_masks_registered_secrets_everywhere() {
    let (console, captured) = Console::capture();
    console.mask("tok-123456789");
    console.mask("short");
    console.print("value tok-123456789 here\n");
    console.note("err tok-123456789 short");
    assert_eq!(captured.stdout(), "value *** here\n");
    assert_eq!(captured.stderr(), "err *** short\n");
    assert_eq!(console.redact("a tok-123456789 b"), "a *** b");
}

#[test]
fn set_values_are_json_when_they_parse_and_strings_otherwise() {
    assert_eq!(
        parse_set("a.b=1").expect("ok"),
        (vec!["a".into(), "b".into()], "1".into())
    );
    assert_eq!(parse_set("k=x=y").expect("ok").1, "x=y");
    assert!(parse_set("novalue").is_err());
    assert!(parse_set("a..b=1").is_err());
    assert_eq!(typed_value("60", None), json!(60));
    assert_eq!(typed_value("true", None), json!(true));
    assert_eq!(typed_value("null", None), Value::Null);
    assert_eq!(typed_value("[1,2]", None), json!([1, 2]));
    assert_eq!(typed_value("{\"a\":1}", None), json!({"a": 1}));
    assert_eq!(
        typed_value("refs/heads/main", None),
        json!("refs/heads/main")
    );
    assert_eq!(typed_value("\"123\"", None), json!("123"));
    // The schema says string: a numeric-looking value stays text.
    let string = json!({"type": "string"});
    assert_eq!(typed_value("1234567", Some(&string)), json!("1234567"));
    assert_eq!(typed_value("true", Some(&string)), json!("true"));
    let int_or_null = json!({"type": ["integer", "null"]});
    assert_eq!(typed_value("60", Some(&int_or_null)), json!(60));
    assert_eq!(typed_value("soon", Some(&int_or_null)), json!("soon"));
}

#[test]
fn dotted_keys_build_nested_objects() {
    let mut payload = Map::new();
    apply_set(
        &mut payload,
        &["a".into(), "b".into(), "c".into()],
        json!(1),
    )
    .expect("set");
    apply_set(&mut payload, &["a".into(), "d".into()], json!("x")).expect("set");
    assert_eq!(
        Value::Object(payload.clone()),
        json!({"a": {"b": {"c": 1}, "d": "x"}})
    );
    let error = apply_set(
        &mut payload,
        &["a".into(), "d".into(), "e".into()],
        json!(1),
    )
    .expect_err("not an object");
    assert_eq!(error.exit, Exit::Config);
    assert!(
        error.message.contains("`a.d` is not an object"),
        "{}",
        error.message
    );
}

#[test]
fn the_envelope_is_built_from_json_sets_and_flags() {
    let action = action(deploy_schema());
    let base = json!({"artifact_id": "from-json", "source_git_ref": "refs/heads/main"});
    let built = build_envelope(
        &action,
        base.as_object().cloned(),
        &[
            "artifact_id=artifact-1".into(),
            "timeout_seconds=60".into(),
            "labels.team=web".into(),
        ],
        Some("demo"),
        Some("testing"),
    )
    .expect("built");
    assert_eq!(
        built.body,
        json!({
            "schema_version": 1,
            "product": "demo",
            "deploy": {
                "product": "demo", "instance": "testing", "artifact_id": "artifact-1",
                "source_git_ref": "refs/heads/main", "timeout_seconds": 60, "labels": {"team": "web"}
            }
        })
    );
    assert_eq!(built.instance, "testing");
    assert!(built.notes.is_empty());
    validate_payload(&action, &built.payload).expect("valid");

    // A whole envelope is accepted as --json.
    let envelope = json!({"product": "demo", "deploy": {"instance": "prod", "artifact_id": "a", "source_git_ref": "r"}});
    let built =
        build_envelope(&action, envelope.as_object().cloned(), &[], None, None).expect("built");
    assert_eq!(built.product, "demo");
    assert_eq!(built.instance, "prod");
    assert_eq!(built.body["deploy"]["product"], "demo");

    // Disagreements and omissions are configuration errors.
    let error = build_envelope(
        &action,
        envelope.as_object().cloned(),
        &[],
        Some("other"),
        None,
    )
    .expect_err("conflict");
    assert!(
        error.message.contains("--product `other`"),
        "{}",
        error.message
    );
    let error = build_envelope(
        &action,
        envelope.as_object().cloned(),
        &[],
        None,
        Some("testing"),
    )
    .expect_err("conflict");
    assert!(
        error.message.contains("--instance `testing`"),
        "{}",
        error.message
    );
    let error = build_envelope(&action, None, &[], None, None).expect_err("no product");
    assert_eq!(error.exit, Exit::Config);
    assert!(error.message.contains("--product"), "{}", error.message);

    // An action without an `instance` field keeps the flag for the key only.
    let no_instance =
        self::action(json!({"type": "object", "properties": {"context": {"type": "string"}}}));
    let built = build_envelope(&no_instance, None, &[], Some("demo"), Some("prod")).expect("built");
    assert_eq!(
        built.body,
        json!({"schema_version": 1, "product": "demo", "deploy": {}})
    );
    assert_eq!(built.instance, "prod");
    assert_eq!(built.notes.len(), 1, "{:?}", built.notes);

    // A promotion names its lane with `to_instance`.
    let promotion = self::action(json!({"type": "object", "properties": {
        "from_instance": {"type": "string"}, "to_instance": {"type": "string"}
    }}));
    let built = build_envelope(&promotion, None, &[], Some("demo"), Some("prod")).expect("built");
    assert_eq!(built.body["deploy"], json!({"to_instance": "prod"}));
    assert!(built.notes.is_empty(), "{:?}", built.notes);
}

#[test]
fn schema_violations_name_the_field_and_every_problem() {
    let action = action(deploy_schema());
    let payload = json!({"product": "demo", "instance": "testing", "source_git_ref": "r", "timeout_seconds": "soon", "bogus": 1});
    let error = validate_payload(&action, &payload).expect_err("invalid");
    assert_eq!(error.exit, Exit::Config);
    for expected in [
        "/deploy/timeout_seconds",
        "artifact_id",
        "bogus",
        "nothing was sent",
        "stable_deploy",
    ] {
        assert!(
            error.message.contains(expected),
            "{expected} in {}",
            error.message
        );
    }
    // No schema published: nothing to check client-side.
    validate_payload(&self::action(Value::Null), &json!({"x": 1})).expect("unchecked");
}

fn driver() -> RemoteDriver {
    serde_json::from_value(json!({
        "driver_id": "generic-web",
        "actions": [
            {"action_id": "stable_deploy", "method": "POST", "route_path": "/v1/drivers/generic-web/deploy", "envelope_key": "deploy"},
            {"action_id": "prod_promotion", "method": "POST", "route_path": "/v1/drivers/generic-web/prod-promotion", "envelope_key": "promotion"},
            {"action_id": "status_read", "method": "GET", "route_path": "/v1/drivers/generic-web/status", "envelope_key": "status"}
        ]
    }))
    .expect("driver")
}

#[test]
fn actions_resolve_by_id_or_route_name_and_unknown_ones_list_the_rest() {
    let driver = driver();
    assert_eq!(
        resolve_action(&driver, "stable_deploy")
            .expect("id")
            .action_id,
        "stable_deploy"
    );
    assert_eq!(
        resolve_action(&driver, "deploy").expect("route").action_id,
        "stable_deploy"
    );
    assert_eq!(
        resolve_action(&driver, "prod-promotion")
            .expect("route")
            .action_id,
        "prod_promotion"
    );
    assert_eq!(
        resolve_action(&driver, "PROD_PROMOTION")
            .expect("case")
            .action_id,
        "prod_promotion"
    );
    let error = resolve_action(&driver, "deplyo").expect_err("unknown");
    assert_eq!(error.exit, Exit::Config);
    for expected in [
        "no action `deplyo`",
        "stable_deploy",
        "deploy",
        "prod_promotion",
        "prod-promotion",
    ] {
        assert!(
            error.message.contains(expected),
            "{expected} in {}",
            error.message
        );
    }
    assert!(
        !error.message.contains("status_read"),
        "GET actions are not callable"
    );
    let error = resolve_action(&driver, "status_read").expect_err("GET");
    assert!(
        error.message.contains("POST actions only"),
        "{}",
        error.message
    );
}

fn actions_env(attempt: &str) -> Env {
    Env::from_pairs([
        ("GITHUB_REPOSITORY", "acme/web"),
        ("GITHUB_RUN_ID", "4242"),
        ("GITHUB_RUN_ATTEMPT", attempt),
    ])
}

#[test]
fn idempotency_keys_follow_the_run_and_the_canonical_payload() {
    let payload = json!({"b": 1, "a": {"y": 2, "x": 1}});
    let reordered = json!({"a": {"x": 1, "y": 2}, "b": 1});
    let key = derive_key(
        &actions_env("1"),
        "generic-web",
        "stable_deploy",
        "demo",
        "testing",
        &payload,
    )
    .expect("key");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        crate::records::canonical_json(&payload).as_bytes(),
    ));
    assert_eq!(
        key,
        format!("lp-call:acme/web:4242:1:generic-web:stable_deploy:demo:testing:{sha}")
    );
    assert_eq!(
        derive_key(
            &actions_env("1"),
            "generic-web",
            "stable_deploy",
            "demo",
            "testing",
            &reordered
        )
        .as_deref(),
        Some(key.as_str()),
        "key order does not matter"
    );
    assert_ne!(
        derive_key(
            &actions_env("2"),
            "generic-web",
            "stable_deploy",
            "demo",
            "testing",
            &payload
        )
        .as_deref(),
        Some(key.as_str()),
        "a new run attempt is a new key"
    );
    assert_ne!(
        derive_key(
            &actions_env("1"),
            "generic-web",
            "stable_deploy",
            "demo",
            "testing",
            &json!({"b": 2})
        )
        .as_deref(),
        Some(key.as_str())
    );
    assert_eq!(
        derive_key(&Env::empty(), "d", "a", "p", "i", &payload),
        None,
        "outside Actions"
    );
    let odd = derive_key(&actions_env("1"), "d", "a", "we:ird", "", &payload).expect("key");
    assert!(
        odd.starts_with("lp-call:sha256:") && odd.len() == 15 + 64,
        "{odd}"
    );
    assert!(check_key(&key).is_ok());
    assert!(check_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
    assert!(check_key("tab\there").is_err());
    assert_ne!(local_key(), local_key());
}

#[test]
fn service_urls_are_https_or_loopback_http() {
    let url = ServiceUrl::parse("https://lp.example.com/base/").expect("https");
    assert_eq!(url.as_str(), "https://lp.example.com/base");
    assert_eq!(url.host(), "lp.example.com");
    assert_eq!(
        url.join("/v1/drivers/x").expect("join").as_str(),
        "https://lp.example.com/base/v1/drivers/x"
    );
    assert!(url.join("//evil.example/x").is_err());
    assert!(ServiceUrl::parse("http://127.0.0.1:8080").is_ok());
    assert!(ServiceUrl::parse("http://localhost:8080").is_ok());
    assert!(ServiceUrl::parse("http://[::1]:8080").is_ok());
    for bad in [
        "http://lp.example.com",
        "ftp://lp.example.com",
        "https://u:p@lp.example.com",
        "https://lp.example.com/?x=1",
        "lp.example.com",
    ] {
        let error = ServiceUrl::parse(bad).expect_err(bad);
        assert_eq!(error.exit, Exit::Config, "{bad}");
    }
}

#[test]
fn retry_backoff_doubles_and_is_capped() {
    let policy = RetryPolicy {
        attempts: 5,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(300),
        lane_wait: Duration::ZERO,
        lane_poll: Duration::from_secs(2),
    };
    assert_eq!(policy.backoff(1), Duration::from_millis(100));
    assert_eq!(policy.backoff(2), Duration::from_millis(200));
    assert_eq!(policy.backoff(3), Duration::from_millis(300));
    assert_eq!(policy.backoff(30), Duration::from_millis(300));
}

#[test]
fn only_answers_that_did_nothing_or_may_pass_are_retried() {
    let code = |code: &str| json!({"status": "rejected", "error": {"code": code}});
    assert!(transport::retryable_status(502, &Value::Null));
    assert!(!transport::retryable_status(501, &code("not_implemented")));
    assert!(transport::retryable_status(
        409,
        &code("idempotency_request_in_progress")
    ));
    assert!(transport::retryable_status(409, &code("lane_busy")));
    for (status, error) in [
        (409, "idempotency_key_reused"),
        (409, "precondition_failed"),
        (400, "invalid_request"),
        (403, "authorization_denied"),
    ] {
        assert!(
            !transport::retryable_status(status, &code(error)),
            "{error}"
        );
    }
}

#[test]
fn step_outputs_carry_records_and_cannot_inject_lines() {
    let response = json!({
        "status": "accepted", "trace_id": "launchplane_req_1",
        "records": {"deployment_record_id": "d-1", "generic_web_preview_verification": {"status": "pass"}},
        "operation": {"status": "pass"}
    });
    let entries = output_entries(&response, Some("k-1"));
    let get = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("deployment_record_id").as_deref(), Some("d-1"));
    assert_eq!(
        get("generic_web_preview_verification").as_deref(),
        Some("{\"status\":\"pass\"}")
    );
    assert_eq!(get("trace_id").as_deref(), Some("launchplane_req_1"));
    assert_eq!(get("operation_status").as_deref(), Some("pass"));
    assert_eq!(get("replayed").as_deref(), Some("false"));
    assert_eq!(get("idempotency_key").as_deref(), Some("k-1"));
    assert_eq!(get("response"), Some(response.to_string()));

    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("out");
    let (console, _) = Console::capture();
    append_github_output(
        &path,
        &[("a".into(), "1".into()), ("b".into(), "two\nevil=1".into())],
        &console,
    )
    .expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("a=1"));
    let opener = lines.next().expect("heredoc");
    let delimiter = opener.strip_prefix("b<<").expect("heredoc form");
    assert_eq!(lines.next(), Some("two"));
    assert_eq!(lines.next(), Some("evil=1"));
    assert_eq!(lines.next(), Some(delimiter));
}

#[test]
fn the_summary_is_markdown_with_escaped_cells() {
    let response = json!({"trace_id": "t-1", "records": {"deployment_record_id": "a|b"}, "replayed": true, "original_trace_id": "t-0"});
    let md = Summary {
        driver_id: "generic-web",
        action_id: "stable_deploy",
        product: "demo",
        instance: "testing",
        outcome: "accepted",
        response: Some(&response),
        error: None,
    }
    .markdown();
    assert!(
        md.starts_with("### Launchplane `generic-web` · `stable_deploy` — accepted"),
        "{md}"
    );
    assert!(md.contains("| deployment_record_id | `a\\|b` |"), "{md}");
    assert!(md.contains("replayed | yes (original trace `t-0`)"), "{md}");
}

#[test]
fn sync_results_with_failing_statuses_are_failures() {
    assert_eq!(
        failing_statuses(
            &json!({"deploy_status": "fail", "backup_status": "skipped", "promotion_status": "blocked"})
        ),
        ["deploy_status=fail", "promotion_status=blocked"]
    );
    assert_eq!(
        failing_statuses(&json!({"status": "blocked", "blockers": [{"code": "x"}]})),
        ["status=blocked"]
    );
    assert!(failing_statuses(&json!({"deploy_status": "pass", "status": "ready"})).is_empty());
    assert!(failing_statuses(&Value::Null).is_empty());
}

#[test]
fn exit_codes_are_distinct_and_documented() {
    let all = [
        Exit::Ok,
        Exit::Internal,
        Exit::Config,
        Exit::Refused,
        Exit::Failed,
        Exit::Transport,
        Exit::Timeout,
    ];
    let codes: Vec<i32> = all.iter().map(|e| e.code()).collect();
    assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn no_token_outside_actions_fails_closed_naming_what_is_missing() {
    let (console, _) = Console::capture();
    let retry = RetryPolicy::default();
    let error = acquire_token(&Env::empty(), None, "aud", &retry, None, &console)
        .await
        .expect_err("no token");
    assert_eq!(error.exit, Exit::Config);
    assert!(error.message.contains("--token-file"), "{}", error.message);
    assert!(
        error.message.contains("ACTIONS_ID_TOKEN_REQUEST_URL"),
        "{}",
        error.message
    );

    let in_actions = Env::from_pairs([
        ("GITHUB_ACTIONS", "true"),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x.example/t"),
    ]);
    let error = acquire_token(&in_actions, None, "aud", &retry, None, &console)
        .await
        .expect_err("no request token");
    assert!(
        error
            .message
            .contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("id-token: write"),
        "{}",
        error.message
    );

    let dir = tempfile::tempdir().expect("dir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").expect("write");
    let error = acquire_token(&Env::empty(), Some(&empty), "aud", &retry, None, &console)
        .await
        .expect_err("empty file");
    assert!(error.message.contains("is empty"), "{}", error.message);
    let file = dir.path().join("token");
    std::fs::write(&file, "lpo_0123456789abcdef\n").expect("write");
    let (token, source) = acquire_token(&Env::empty(), Some(&file), "aud", &retry, None, &console)
        .await
        .expect("token");
    assert_eq!(token.expose(), "lpo_0123456789abcdef");
    assert_eq!(source, TokenSource::File(file.clone()));
    assert_eq!(
        console.redact("x lpo_0123456789abcdef"),
        "x ***",
        "a loaded token is masked"
    );
}
