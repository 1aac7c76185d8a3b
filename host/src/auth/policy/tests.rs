//! The policy suite: matching, validation, normalising, hashing, bootstrap
//! sources, grants and diagnostics.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::*;
use crate::auth::oidc::GithubActionsClaims;

const WORKFLOW: &str = "org/app/.github/workflows/deploy.yml@refs/heads/main";
const ACTION: &str = "generic_web_deploy.execute";

fn claims() -> GithubActionsClaims {
    GithubActionsClaims {
        repository: "org/app".to_string(),
        repository_id: Some("42".to_string()),
        repository_owner: "org".to_string(),
        repository_owner_id: Some("7".to_string()),
        workflow_ref: WORKFLOW.to_string(),
        job_workflow_ref: Some(WORKFLOW.to_string()),
        git_ref: "refs/heads/main".to_string(),
        ref_type: "branch".to_string(),
        event_name: "push".to_string(),
        environment: None,
        subject: "repo:org/app:ref:refs/heads/main".to_string(),
        sha: "0123456789abcdef0123456789abcdef01234567".to_string(),
        jti: None,
        expires_at: None,
    }
}

fn request() -> AuthzRequest {
    AuthzRequest::new(ACTION, "app", "app-testing")
}

const POLICY: &str = r#"
schema_version = 1

[[github_actions]]
repository = "org/app"
repository_id = "42"
repository_owner_id = "7"
workflow_refs = ["org/app/.github/workflows/deploy.yml@refs/heads/*"]
event_names = ["push", "workflow_dispatch"]
refs = ["refs/heads/main"]
products = ["app"]
contexts = ["app-*"]
actions = ["generic_web_deploy.execute"]
"#;

fn policy() -> AuthzPolicy {
    AuthzPolicy::from_toml_str(POLICY).unwrap()
}

fn rule() -> GithubActionsRule {
    GithubActionsRule {
        repository: "org/app".to_string(),
        actions: vec![ACTION.to_string()],
        ..GithubActionsRule::default()
    }
}

fn single(rule: GithubActionsRule) -> AuthzPolicy {
    let policy = AuthzPolicy {
        github_actions: vec![rule],
        ..AuthzPolicy::default()
    };
    policy.validate().unwrap();
    policy
}

fn allowed(policy: &AuthzPolicy, claims: &GithubActionsClaims, request: &AuthzRequest) -> bool {
    policy.decide(claims, request).allowed
}

// -- matching -------------------------------------------------------------------------

#[test]
fn matching_request_is_allowed() {
    let decision = policy().decide(&claims(), &request());
    assert_eq!(
        decision,
        Decision {
            allowed: true,
            matched_rule: Some(0),
            reason: "github_actions rule 0 allows the request".to_string(),
        }
    );
}

#[test]
fn each_claim_mismatch_is_denied() {
    let policy = policy();
    let request = request();
    let cases: Vec<(&str, GithubActionsClaims)> = vec![
        (
            "repository",
            GithubActionsClaims {
                repository: "org/other".to_string(),
                ..claims()
            },
        ),
        (
            "repository_id",
            GithubActionsClaims {
                repository_id: Some("43".to_string()),
                ..claims()
            },
        ),
        (
            "repository_id",
            GithubActionsClaims {
                repository_id: None,
                ..claims()
            },
        ),
        (
            "repository_owner_id",
            GithubActionsClaims {
                repository_owner_id: Some("8".to_string()),
                ..claims()
            },
        ),
        (
            "repository_owner_id",
            GithubActionsClaims {
                repository_owner_id: None,
                ..claims()
            },
        ),
        (
            "workflow_refs",
            GithubActionsClaims {
                workflow_ref: "org/app/.github/workflows/other.yml@refs/heads/main".to_string(),
                ..claims()
            },
        ),
        (
            "event_names",
            GithubActionsClaims {
                event_name: "pull_request".to_string(),
                ..claims()
            },
        ),
        (
            "refs",
            GithubActionsClaims {
                git_ref: "refs/heads/feature".to_string(),
                ..claims()
            },
        ),
    ];
    for (field, claims) in cases {
        let decision = policy.decide(&claims, &request);
        assert!(!decision.allowed, "{field}");
        assert_eq!(decision.matched_rule, None);
        assert!(
            decision.reason.contains(field),
            "{field}: {}",
            decision.reason
        );
        assert!(!decision.reason.contains(".github/workflows"));
    }
    let other_product = AuthzRequest::new(ACTION, "other", "app-testing");
    assert!(!allowed(&policy, &claims(), &other_product));
    let other_context = AuthzRequest::new(ACTION, "app", "other-testing");
    assert!(!allowed(&policy, &claims(), &other_context));
    let other_action = AuthzRequest::new("generic_web_deploy.execute2", "app", "app-testing");
    assert!(!allowed(&policy, &claims(), &other_action));
    let decision = policy.decide(&claims(), &other_action);
    assert!(decision.reason.contains("actions"), "{}", decision.reason);
}

#[test]
fn environment_rules_need_the_environment() {
    let policy = single(GithubActionsRule {
        environments: vec!["production".to_string()],
        ..rule()
    });
    assert!(!allowed(&policy, &claims(), &request()));
    let staging = GithubActionsClaims {
        environment: Some("staging".to_string()),
        ..claims()
    };
    assert!(!allowed(&policy, &staging, &request()));
    let production = GithubActionsClaims {
        environment: Some("production".to_string()),
        ..claims()
    };
    assert!(allowed(&policy, &production, &request()));
    let decision = policy.decide(&staging, &request());
    assert!(decision.reason.contains("environments"));
}

#[test]
fn repository_is_exact_not_a_prefix() {
    let policy = single(rule());
    for repository in [
        "org/app-evil",
        "org/ap",
        "org/app/x",
        "Org/App",
        "org/APP",
        "evil/org/app",
    ] {
        let claims = GithubActionsClaims {
            repository: repository.to_string(),
            ..claims()
        };
        let decision = policy.decide(&claims, &request());
        assert!(!decision.allowed, "{repository}");
        assert!(
            decision
                .reason
                .contains("no github_actions rule names repository")
        );
    }
    assert!(allowed(&policy, &claims(), &request()));
}

#[test]
fn workflow_globs_are_fnmatch_not_regex() {
    let policy = single(GithubActionsRule {
        workflow_refs: vec!["org/app/.github/workflows/deploy.yml@refs/heads/*".to_string()],
        ..rule()
    });
    let with_workflow = |workflow_ref: &str| GithubActionsClaims {
        workflow_ref: workflow_ref.to_string(),
        ..claims()
    };
    for ok in [
        "org/app/.github/workflows/deploy.yml@refs/heads/main",
        "org/app/.github/workflows/deploy.yml@refs/heads/feature/x",
    ] {
        assert!(allowed(&policy, &with_workflow(ok), &request()), "{ok}");
    }
    for bad in [
        "org/app/.github/workflows/deployXyml@refs/heads/main",
        "org/app/.github/workflows/deploy.yml@refs/tags/v1",
        "org/app/.github/workflows/deploy.yml.evil.yml@refs/heads/main",
        "org/app/.github/workflows/deploy.ym@refs/heads/main",
        "org/app/.github/workflows/Deploy.yml@refs/heads/main",
    ] {
        assert!(!allowed(&policy, &with_workflow(bad), &request()), "{bad}");
    }
    // Exact patterns are anchored at both ends.
    let exact = single(GithubActionsRule {
        workflow_refs: vec![WORKFLOW.to_string()],
        ..rule()
    });
    assert!(allowed(&exact, &claims(), &request()));
    assert!(!allowed(
        &exact,
        &with_workflow(&format!("{WORKFLOW}-hotfix")),
        &request()
    ));
}

#[test]
fn job_workflow_refs_need_the_claim() {
    let reusable = "org/automation/.github/workflows/deploy.yml@refs/heads/main";
    let policy = single(GithubActionsRule {
        job_workflow_refs: vec![reusable.to_string()],
        ..rule()
    });
    let none = GithubActionsClaims {
        job_workflow_ref: None,
        ..claims()
    };
    assert!(!allowed(&policy, &none, &request()));
    // The caller's own workflow is not the reusable one.
    assert!(!allowed(&policy, &claims(), &request()));
    let called = GithubActionsClaims {
        job_workflow_ref: Some(reusable.to_string()),
        ..claims()
    };
    assert!(allowed(&policy, &called, &request()));
    let decision = policy.decide(&none, &request());
    assert!(decision.reason.contains("job_workflow_refs"));
}

#[test]
fn pull_request_target_needs_an_explicit_event_name() {
    let prt = GithubActionsClaims {
        event_name: PULL_REQUEST_TARGET.to_string(),
        ..claims()
    };
    let any_event = single(rule());
    assert!(allowed(&any_event, &claims(), &request()));
    assert!(!allowed(&any_event, &prt, &request()));
    let explicit = single(GithubActionsRule {
        event_names: vec![PULL_REQUEST_TARGET.to_string()],
        ..rule()
    });
    assert!(allowed(&explicit, &prt, &request()));
    assert!(!allowed(&explicit, &claims(), &request()));
}

#[test]
fn event_ref_and_environment_are_exact_membership() {
    let policy = single(GithubActionsRule {
        event_names: vec!["push".to_string()],
        refs: vec!["refs/heads/main".to_string()],
        ..rule()
    });
    let main_evil = GithubActionsClaims {
        git_ref: "refs/heads/main-evil".to_string(),
        ..claims()
    };
    assert!(!allowed(&policy, &main_evil, &request()));
    let suffix_trick = GithubActionsClaims {
        git_ref: "refs/heads/x/refs/heads/main".to_string(),
        ..claims()
    };
    assert!(!allowed(&policy, &suffix_trick, &request()));
    let pushy = GithubActionsClaims {
        event_name: "push ".to_string(),
        ..claims()
    };
    assert!(!allowed(&policy, &pushy, &request()));
}

#[test]
fn products_and_contexts_glob_actions_do_not() {
    let policy = single(GithubActionsRule {
        products: vec!["a?p".to_string(), "web-*".to_string()],
        contexts: vec!["app-*".to_string()],
        ..rule()
    });
    assert!(allowed(&policy, &claims(), &request()));
    assert!(allowed(
        &policy,
        &claims(),
        &AuthzRequest::new(ACTION, "web-shop", "app-prod")
    ));
    assert!(!allowed(
        &policy,
        &claims(),
        &AuthzRequest::new(ACTION, "apps", "app-prod")
    ));
    assert!(!allowed(
        &policy,
        &claims(),
        &AuthzRequest::new(ACTION, "app", "other-app-prod")
    ));
    assert!(!allowed(
        &policy,
        &claims(),
        &AuthzRequest::new("generic_web_deploy.*", "app", "app-prod")
    ));
}

#[test]
fn instances_are_star_or_exact() {
    let no_instances = single(rule());
    assert!(allowed(&no_instances, &claims(), &request()));
    assert!(allowed(
        &no_instances,
        &claims(),
        &request().with_instance("prod")
    ));

    let prod_only = single(GithubActionsRule {
        instances: vec!["prod".to_string()],
        ..rule()
    });
    assert!(!allowed(&prod_only, &claims(), &request()));
    assert!(allowed(
        &prod_only,
        &claims(),
        &request().with_instance("prod")
    ));
    assert!(!allowed(
        &prod_only,
        &claims(),
        &request().with_instance("testing")
    ));
    assert!(!allowed(
        &prod_only,
        &claims(),
        &request().with_instance("prod2")
    ));

    let any_instance = single(GithubActionsRule {
        instances: vec!["*".to_string()],
        ..rule()
    });
    assert!(allowed(
        &any_instance,
        &claims(),
        &request().with_instance("anything")
    ));
    assert!(!allowed(&any_instance, &claims(), &request()));
}

#[test]
fn first_matching_rule_wins_and_reason_names_nearest_rule() {
    let policy = AuthzPolicy {
        github_actions: vec![
            GithubActionsRule {
                repository: "org/other".to_string(),
                ..rule()
            },
            GithubActionsRule {
                products: vec!["nope".to_string()],
                ..rule()
            },
            rule(),
        ],
        ..AuthzPolicy::default()
    };
    let decision = policy.decide(&claims(), &request());
    assert_eq!(decision.matched_rule, Some(2));
    let decision = policy.decide(&claims(), &AuthzRequest::new("other.action", "app", "c"));
    assert!(!decision.allowed);
    assert!(decision.reason.contains("rule 1"), "{}", decision.reason);
    assert!(decision.reason.contains("products"), "{}", decision.reason);
}

#[test]
fn empty_policy_denies_everything() {
    for policy in [
        AuthzPolicy::default(),
        AuthzPolicy::from_toml_str("").unwrap(),
        AuthzPolicy::from_toml_str("schema_version = 1").unwrap(),
        AuthzPolicy::from_json_str("{}").unwrap(),
    ] {
        assert!(policy.is_empty());
        let decision = policy.decide(&claims(), &request());
        assert!(!decision.allowed);
        assert_eq!(decision.matched_rule, None);
        assert!(!allowed(
            &policy,
            &claims(),
            &request().with_instance("prod")
        ));
    }
}

#[test]
fn human_and_operator_rules_are_kept_but_never_match_machines() {
    let text = r#"
schema_version = 1

[[github_humans]]
logins = ["alice"]
organizations = ["org"]
teams = ["org/admins"]
roles = ["admin"]
github_ids = [123, "456"]
products = ["*"]
contexts = ["*"]
actions = ["generic_web_deploy.execute"]

[[local_operators]]
subjects = ["ops@example.com"]
token_labels = ["laptop"]
products = ["*"]
actions = ["generic_web_deploy.execute"]

[[terminal_agents]]
subjects = ["agent"]
token_labels = ["ro"]
actions = ["product_profile.read"]

[[local_admins]]
subjects = ["root"]
token_labels = ["break-glass"]
actions = ["authz_policy.write"]
"#;
    let policy = AuthzPolicy::from_toml_str(text).unwrap();
    assert_eq!(policy.github_humans.len(), 1);
    assert_eq!(policy.github_humans[0].github_ids, vec!["123", "456"]);
    assert_eq!(policy.local_operators.len(), 1);
    assert_eq!(policy.terminal_agents.len(), 1);
    assert_eq!(policy.local_admins.len(), 1);
    assert!(!policy.is_empty());
    let decision = policy.decide(&claims(), &request());
    assert!(!decision.allowed);
    assert!(decision.reason.contains("no github_actions rules"));
    // Round-trips through JSON and TOML.
    assert_eq!(
        AuthzPolicy::from_json_value(policy.to_json_value()).unwrap(),
        policy
    );
    assert_eq!(
        AuthzPolicy::from_toml_str(&policy.to_toml_string().unwrap()).unwrap(),
        policy
    );
}

// -- load-time validation ----------------------------------------------------------------

fn refusal(text: &str) -> PolicyError {
    AuthzPolicy::from_toml_str(text).expect_err("policy must be refused")
}

fn rule_toml(body: &str) -> String {
    format!("[[github_actions]]\nrepository = \"org/app\"\nactions = [\"{ACTION}\"]\n{body}\n")
}

fn assert_invalid(error: PolicyError, section: &str, index: usize, field: &str) {
    match &error {
        PolicyError::InvalidRule {
            section: s,
            index: i,
            field: f,
            ..
        } => {
            assert_eq!((*s, *i, *f), (section, index, field), "{error}");
        }
        other => panic!("expected an invalid rule, got {other}"),
    }
    let text = error.to_string();
    assert!(
        text.contains(&format!("{section}[{index}].{field}")),
        "{text}"
    );
}

#[test]
fn actions_must_be_present_and_literal() {
    assert_invalid(
        refusal("[[github_actions]]\nrepository = \"org/app\"\n"),
        "github_actions",
        0,
        "actions",
    );
    assert_invalid(
        refusal("[[github_actions]]\nrepository = \"org/app\"\nactions = [\" \"]\n"),
        "github_actions",
        0,
        "actions",
    );
    for action in ["*", "generic_web_deploy.*", "deploy?", "[ab].execute"] {
        let text =
            format!("[[github_actions]]\nrepository = \"org/app\"\nactions = [\"{action}\"]\n");
        assert_invalid(refusal(&text), "github_actions", 0, "actions");
    }
}

#[test]
fn repository_must_be_literal_owner_name() {
    for repository in [
        "",
        " ",
        "org",
        "org/",
        "/app",
        "org/app/x",
        "org/*",
        "*/app",
        "org/ap?",
        "org/[a]pp",
        "org/a b",
    ] {
        let text = format!(
            "[[github_actions]]\nrepository = \"{repository}\"\nactions = [\"{ACTION}\"]\n"
        );
        assert_invalid(refusal(&text), "github_actions", 0, "repository");
    }
    let text = format!("[[github_actions]]\nactions = [\"{ACTION}\"]\n");
    assert_invalid(refusal(&text), "github_actions", 0, "repository");
}

#[test]
fn ids_must_be_numeric() {
    assert_invalid(
        refusal(&rule_toml("repository_id = \"abc\"")),
        "github_actions",
        0,
        "repository_id",
    );
    assert_invalid(
        refusal(&rule_toml("repository_owner_id = \"7a\"")),
        "github_actions",
        0,
        "repository_owner_id",
    );
    let policy = AuthzPolicy::from_toml_str(&rule_toml("repository_id = 42")).unwrap();
    assert_eq!(
        policy.github_actions[0].repository_id.as_deref(),
        Some("42")
    );
}

#[test]
fn cross_repository_workflow_patterns_are_refused() {
    for pattern in [
        "*/.github/workflows/x.yml@*",
        "org/*",
        "org/app*",
        "org/app*/.github/workflows/x.yml@refs/heads/main",
        "org/app-evil/.github/workflows/x.yml@refs/heads/main",
        "org/app/.github/*",
        "?rg/app/.github/workflows/x.yml@*",
        "*",
    ] {
        let error = refusal(&rule_toml(&format!("workflow_refs = [\"{pattern}\"]")));
        assert!(
            error
                .to_string()
                .contains("could match across repositories"),
            "{error}"
        );
        assert_invalid(error, "github_actions", 0, "workflow_refs");
    }
    for pattern in [
        "*/.github/workflows/x.yml@*",
        "org/*/.github/workflows/x.yml@*",
        "org/*",
        "*",
    ] {
        let error = refusal(&rule_toml(&format!("job_workflow_refs = [\"{pattern}\"]")));
        assert_invalid(error, "github_actions", 0, "job_workflow_refs");
    }
    // Globs after the repository's workflows folder are fine, and a
    // reusable workflow may live in another literal repository.
    AuthzPolicy::from_toml_str(&rule_toml(
        "workflow_refs = [\"org/app/.github/workflows/*.yml@refs/heads/*\"]\n\
         job_workflow_refs = [\"org/automation/.github/workflows/deploy.yml@refs/tags/v[0-9]*\"]",
    ))
    .unwrap();
}

#[test]
fn exact_fields_and_instances_refuse_globs() {
    for (field, value) in [
        ("refs", "refs/heads/*"),
        ("event_names", "pull_*"),
        ("environments", "prod?"),
    ] {
        let error = refusal(&rule_toml(&format!("{field} = [\"{value}\"]")));
        assert!(matches!(error, PolicyError::InvalidRule { .. }), "{field}");
        assert!(error.to_string().contains(field));
    }
    for instance in ["prod*", "p?od", "[p]rod", "**"] {
        let error = refusal(&rule_toml(&format!("instances = [\"{instance}\"]")));
        assert_invalid(error, "github_actions", 0, "instances");
    }
    AuthzPolicy::from_toml_str(&rule_toml("instances = [\"*\", \"prod\"]")).unwrap();
    AuthzPolicy::from_toml_str(&rule_toml("products = [\"*\"]\ncontexts = [\"app-*\"]")).unwrap();
}

#[test]
fn errors_name_the_rule_index() {
    let text = format!(
        "{}{}",
        rule_toml(""),
        "[[github_actions]]\nrepository = \"org/app\"\nactions = [\"x.*\"]\n"
    );
    assert_invalid(refusal(&text), "github_actions", 1, "actions");
}

#[test]
fn unknown_fields_and_versions_are_refused() {
    let error = refusal(&rule_toml("repositry = \"org/app\""));
    assert!(matches!(error, PolicyError::Parse { .. }), "{error}");
    assert!(error.to_string().contains("repositry"), "{error}");
    let error = refusal("schema_version = 1\nextra = true\n");
    assert!(matches!(error, PolicyError::Parse { .. }), "{error}");
    assert_eq!(
        refusal("schema_version = 3"),
        PolicyError::UnsupportedSchemaVersion(3)
    );
    let error = AuthzPolicy::from_json_str(
        r#"{"github_actions":[{"repository":"org/app","actions":["a"],"managed":1}]}"#,
    )
    .unwrap_err();
    assert!(matches!(error, PolicyError::Parse { .. }), "{error}");
}

#[test]
fn other_sections_are_validated() {
    let error = refusal("[[github_humans]]\nroles = [\"owner\"]\nactions = [\"a\"]\n");
    assert_invalid(error, "github_humans", 0, "roles");
    let error = refusal("[[github_humans]]\nactions = [\"a*\"]\n");
    assert_invalid(error, "github_humans", 0, "actions");
    let error = refusal("[[local_operators]]\nsubjects = [\"s\"]\nactions = [\"a*\"]\n");
    assert_invalid(error, "local_operators", 0, "actions");
    let error = refusal("[[local_operators]]\nsubjects = [\"s\"]\nactions = [\"a\"]\nfoo = 1\n");
    assert!(matches!(error, PolicyError::Parse { .. }));
}

#[test]
fn entries_are_trimmed_and_blanks_dropped() {
    let policy = AuthzPolicy::from_toml_str(&rule_toml(
        "event_names = [\" push \", \"\"]\nproducts = [\"  \"]",
    ))
    .unwrap();
    assert_eq!(policy.github_actions[0].event_names, vec!["push"]);
    assert!(policy.github_actions[0].products.is_empty());
}

// -- hashing ------------------------------------------------------------------------------

#[test]
fn sha256_is_stable_across_key_order_and_formats() {
    let a = AuthzPolicy::from_toml_str(POLICY).unwrap();
    let reordered = r#"
[[github_actions]]
actions = ["generic_web_deploy.execute"]
contexts = ["app-*"]
products = ["app"]
refs = ["refs/heads/main"]
event_names = ["push", "workflow_dispatch"]
workflow_refs = ["org/app/.github/workflows/deploy.yml@refs/heads/*"]
repository_owner_id = 7
repository_id = "42"
repository = "org/app"
"#;
    let b = AuthzPolicy::from_toml_str(reordered).unwrap();
    let json_text = r#"{"github_actions":[{"refs":["refs/heads/main"],"repository":"org/app",
        "actions":["generic_web_deploy.execute"],"contexts":["app-*"],"products":["app"],
        "event_names":["push","workflow_dispatch"],"repository_owner_id":"7","repository_id":"42",
        "workflow_refs":["org/app/.github/workflows/deploy.yml@refs/heads/*"]}],"schema_version":1}"#;
    let c = AuthzPolicy::from_json_str(json_text).unwrap();
    assert_eq!(a.sha256(), b.sha256());
    assert_eq!(a.sha256(), c.sha256());
    assert_eq!(a.sha256().len(), 64);
    // It is the SHA-256 of the canonical JSON.
    let canonical = canonical_json(&a.to_json_value());
    assert_eq!(
        a.sha256(),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    assert!(canonical.starts_with("{\"github_actions\":[{\"actions\":"));
    assert!(!canonical.contains(' '));
    // Content changes the hash; list order is content.
    let mut d = a.clone();
    d.github_actions[0].event_names.reverse();
    assert_ne!(a.sha256(), d.sha256());
}

#[test]
fn sha256_omits_none_fields() {
    let policy = single(rule());
    let json = policy.to_json_value();
    let rule = json["github_actions"][0].as_object().unwrap();
    assert!(!rule.contains_key("repository_id"));
    assert!(!rule.contains_key("repository_owner_id"));
    assert!(rule.contains_key("workflow_refs"));
}

#[test]
fn canonical_json_escapes_like_python() {
    let value = json!({"b": "é😀\"\\\n\u{1}\u{7f}", "a": [1, true, null]});
    assert_eq!(
        canonical_json(&value),
        r#"{"a":[1,true,null],"b":"\u00e9\ud83d\ude00\"\\\n\u0001\u007f"}"#
    );
}

// -- bootstrap ----------------------------------------------------------------------------

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[test]
fn bootstrap_sources_in_order() {
    assert_eq!(bootstrap_policy_from_env(env(&[])).unwrap(), None);
    assert_eq!(
        bootstrap_policy_from_env(env(&[(POLICY_TOML_ENV, "  ")])).unwrap(),
        None
    );

    let b64 = STANDARD.encode(POLICY);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, rule_toml("")).unwrap();
    let file = file.to_str().unwrap().to_string();

    let (policy, source) = bootstrap_policy_from_env(env(&[
        (POLICY_TOML_ENV, POLICY),
        (POLICY_B64_ENV, "not base64"),
        (POLICY_FILE_ENV, "/nope.example"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(source, "bootstrap-env:LAUNCHPLANE_POLICY_TOML");
    assert_eq!(policy, self::policy());

    let (policy, source) = bootstrap_policy_from_env(env(&[
        (POLICY_TOML_ENV, ""),
        (POLICY_B64_ENV, &b64),
        (POLICY_FILE_ENV, &file),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(source, "bootstrap-env:LAUNCHPLANE_POLICY_B64");
    assert_eq!(policy, self::policy());

    // Base64 wrapped over lines is fine.
    let wrapped: String = b64
        .as_bytes()
        .chunks(60)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let (policy, _) = bootstrap_policy_from_env(env(&[(POLICY_B64_ENV, &wrapped)]))
        .unwrap()
        .unwrap();
    assert_eq!(policy, self::policy());

    let (policy, source) = bootstrap_policy_from_env(env(&[(POLICY_FILE_ENV, &file)]))
        .unwrap()
        .unwrap();
    assert_eq!(source, "bootstrap-env:LAUNCHPLANE_POLICY_FILE");
    assert_eq!(policy.github_actions.len(), 1);
}

#[test]
fn bootstrap_errors_name_the_variable() {
    let error = bootstrap_policy_from_env(env(&[(POLICY_FILE_ENV, "/etc/policy.toml.example")]))
        .unwrap_err();
    assert!(
        error.to_string().starts_with("LAUNCHPLANE_POLICY_FILE:"),
        "{error}"
    );
    assert!(error.to_string().contains("example"));

    let error = bootstrap_policy_from_env(env(&[(POLICY_FILE_ENV, "/definitely/missing.toml")]))
        .unwrap_err();
    assert!(
        error.to_string().starts_with("LAUNCHPLANE_POLICY_FILE:"),
        "{error}"
    );

    let error = bootstrap_policy_from_env(env(&[(POLICY_B64_ENV, "***")])).unwrap_err();
    assert!(
        error.to_string().starts_with("LAUNCHPLANE_POLICY_B64:"),
        "{error}"
    );

    let bad = STANDARD.encode("[[github_actions]]\nrepository = \"org/*\"\nactions=[\"a\"]\n");
    let error = bootstrap_policy_from_env(env(&[(POLICY_B64_ENV, &bad)])).unwrap_err();
    assert!(
        error.to_string().starts_with("LAUNCHPLANE_POLICY_B64:"),
        "{error}"
    );
    assert!(
        error.to_string().contains("github_actions[0].repository"),
        "{error}"
    );

    let error = bootstrap_policy_from_env(env(&[(POLICY_TOML_ENV, "not = [toml")])).unwrap_err();
    assert!(
        error.to_string().starts_with("LAUNCHPLANE_POLICY_TOML:"),
        "{error}"
    );
}

// -- grants -------------------------------------------------------------------------------

#[test]
fn adding_rules_is_idempotent() {
    let base = policy();
    let new_rule = GithubActionsRule {
        repository: "org/web".to_string(),
        workflow_refs: vec!["org/web/.github/workflows/ship.yml@refs/heads/main".to_string()],
        products: vec!["web".to_string(), "app".to_string()],
        actions: vec![ACTION.to_string()],
        ..GithubActionsRule::default()
    };
    let (added, changed) = base.with_rule_added(new_rule.clone()).unwrap();
    assert!(changed);
    assert_eq!(added.github_actions.len(), 2);
    assert_ne!(added.sha256(), base.sha256());

    // The same rule again, lists reordered, padded and duplicated: unchanged.
    let same = GithubActionsRule {
        products: vec![" app".to_string(), "web".to_string(), "web".to_string()],
        ..new_rule.clone()
    };
    let (again, changed) = added.with_rule_added(same).unwrap();
    assert!(!changed);
    assert_eq!(again, added);

    // Invalid rules are refused, with the index they would have had.
    let bad = GithubActionsRule {
        actions: vec!["*".to_string()],
        ..new_rule.clone()
    };
    let error = added.with_rule_added(bad).unwrap_err();
    assert_invalid(error, "github_actions", 2, "actions");
    let cross = GithubActionsRule {
        workflow_refs: vec!["org/*".to_string()],
        ..new_rule.clone()
    };
    assert!(added.with_rule_added(cross).is_err());
}

#[test]
fn removing_rules_needs_an_exact_match() {
    let base = policy();
    let existing = base.github_actions[0].clone();
    let subset = GithubActionsRule {
        products: vec![],
        ..existing.clone()
    };
    let (same, changed) = base.with_rule_removed(&subset).unwrap();
    assert!(!changed);
    assert_eq!(same, base);

    let (removed, changed) = base.with_rule_removed(&existing).unwrap();
    assert!(changed);
    assert!(removed.github_actions.is_empty());
    assert!(!removed.decide(&claims(), &request()).allowed);
}

#[test]
fn diff_summary_never_includes_workflow_refs() {
    let base = policy();
    let new_rule = GithubActionsRule {
        repository: "org/web".to_string(),
        workflow_refs: vec!["org/web/.github/workflows/ship.yml@refs/heads/main".to_string()],
        job_workflow_refs: vec![
            "org/automation/.github/workflows/deploy.yml@refs/heads/main".to_string(),
        ],
        actions: vec![ACTION.to_string()],
        ..GithubActionsRule::default()
    };
    let (after, _) = base.with_rule_added(new_rule).unwrap();
    let diff = base.diff_summary(&after);
    assert!(diff.changed);
    assert_eq!(diff.rule_counts_before.github_actions, 1);
    assert_eq!(diff.rule_counts_after.github_actions, 2);
    assert_eq!(diff.github_actions_added.len(), 1);
    assert!(diff.github_actions_removed.is_empty());
    assert_eq!(diff.github_actions_added[0].repository, "org/web");
    assert_eq!(diff.github_actions_added[0].workflow_ref_count, 1);
    assert_eq!(diff.github_actions_added[0].job_workflow_ref_count, 1);
    let text = serde_json::to_string(&diff).unwrap();
    assert!(!text.contains(".github/workflows"), "{text}");
    assert!(!text.contains("ship.yml"), "{text}");

    let (removed, _) = after.with_rule_removed(&base.github_actions[0]).unwrap();
    let diff = after.diff_summary(&removed);
    assert_eq!(diff.github_actions_removed.len(), 1);
    assert_eq!(diff.github_actions_removed[0].repository, "org/app");
    let text = serde_json::to_string(&diff).unwrap();
    assert!(!text.contains(".github/workflows"), "{text}");

    let unchanged = base.diff_summary(&base);
    assert!(!unchanged.changed);
    assert!(unchanged.github_actions_added.is_empty());
}

#[test]
fn diagnostics_shape() {
    let value = authz_diagnostics(
        &claims(),
        &request().with_instance("prod"),
        "bootstrap-env:LAUNCHPLANE_POLICY_TOML",
        "abc",
    );
    assert_eq!(value["identity"]["type"], "github_actions");
    assert_eq!(value["identity"]["repository"], "org/app");
    assert_eq!(
        value["policy_source"],
        "bootstrap-env:LAUNCHPLANE_POLICY_TOML"
    );
    assert_eq!(value["policy_sha256"], "abc");
    assert_eq!(value["request"]["action"], ACTION);
    assert_eq!(value["request"]["instance"], "prod");
}
