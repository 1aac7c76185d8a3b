//! `launchplane check-repo` on the small fixture repositories under
//! `tests/fixtures/check-repo/`: one clean repository, one per rule.

use std::path::PathBuf;

use launchplane::cli::Cli;
use launchplane::cli::check_repo::{CheckRepoError, Report, execute, scan};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check-repo")
        .join(name)
}

fn scanned(name: &str) -> Report {
    scan(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `(file, line, rule)` of every finding.
fn found(report: &Report) -> Vec<(String, usize, &'static str)> {
    report
        .findings
        .iter()
        .map(|f| (f.file.clone(), f.line, f.rule.id()))
        .collect()
}

fn at(file: &str, line: usize, rule: &'static str) -> (String, usize, &'static str) {
    (file.to_string(), line, rule)
}

#[test]
fn a_clean_repository_passes_with_an_ok_summary() {
    let report = scanned("clean");
    assert!(report.clean(), "{}", report.text());
    // The workflow, the script and the Makefile; not the docs, not
    // node_modules.
    assert_eq!(report.files_scanned, 3, "{report:?}");
    let text = report.text();
    assert!(
        text.starts_with("check-repo: OK: 3 file(s) scanned"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn direct_dokploy_api_paths_are_named_by_file_and_line() {
    let report = scanned("dokploy-api-path");
    assert_eq!(
        found(&report),
        [at(".github/workflows/deploy.yml", 8, "dokploy-api-path")]
    );
    assert!(
        report.findings[0]
            .message
            .contains("/api/application.deploy")
    );
    assert!(
        report.text().starts_with(
            ".github/workflows/deploy.yml:8: dokploy-api-path: direct Dokploy API call"
        ),
        "{}",
        report.text()
    );
}

#[test]
fn hand_made_dokploy_api_key_headers_are_found() {
    let report = scanned("dokploy-api-key-header");
    assert_eq!(
        found(&report),
        [at("scripts/deploy.py", 5, "dokploy-api-key-header")]
    );
}

#[test]
fn dokploy_credentials_are_found_even_as_secret_references() {
    let report = scanned("dokploy-credential");
    assert_eq!(
        found(&report),
        [at(".github/workflows/deploy.yml", 9, "dokploy-credential")]
    );
    assert!(report.findings[0].message.contains("DOKPLOY_TOKEN"));
}

#[test]
fn bespoke_oidc_clients_are_found_outside_the_launchplane_action() {
    let report = scanned("bespoke-oidc-client");
    assert_eq!(
        found(&report),
        [
            at("scripts/request.js", 4, "bespoke-oidc-client"),
            at("tools/token.sh", 3, "bespoke-oidc-client"),
            at("tools/token.sh", 4, "bespoke-oidc-client"),
        ]
    );
    assert_eq!(report.files_scanned, 3, "the vendored action is read");
}

#[test]
fn secret_shaped_values_are_found_and_never_printed_whole() {
    let report = scanned("secret-value");
    assert_eq!(
        found(&report),
        [
            at(".github/workflows/release.yml", 10, "secret-value"),
            at("config/settings.py", 2, "secret-value"),
            at("config/settings.py", 3, "secret-value"),
            at("deploy.sh", 3, "secret-value"),
        ]
    );
    let text = report.text();
    for secret in [
        "ghp_FAKE0fake0FAKE0fake0FAKE0fake0FAKE0f",
        "Zx8Qp2Lm7Rt4Vb9Nc3Kd6Hf1Wq5Ej0Ty",
        "AKIAIOSFODNN7EXAMPLE",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(text.contains("ghp_… (40 chars)"), "{text}");
    assert!(text.contains("`SESSION_SECRET`"), "{text}");
}

#[test]
fn the_cli_parses_check_repo_and_exits_non_zero_on_findings() {
    let path = fixture("dokploy-api-path");
    let cli = Cli::parse_from_args([
        "launchplane",
        "check-repo",
        path.to_str().expect("utf-8"),
        "--json",
    ])
    .expect("parses");
    let args = cli.check_repo().expect("check-repo");
    assert!(args.json);
    let mut out = Vec::new();
    assert_eq!(execute(args, &mut out).expect("scanned"), 1);
    let report: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(report["files_scanned"], 1);
    assert_eq!(report["findings"][0]["rule"], "dokploy-api-path");
    assert_eq!(
        report["findings"][0]["file"],
        ".github/workflows/deploy.yml"
    );
    assert_eq!(report["findings"][0]["line"], 8);

    let clean = fixture("clean");
    let cli = Cli::parse_from_args(["launchplane", "check-repo", clean.to_str().expect("utf-8")])
        .expect("parses");
    let mut out = Vec::new();
    assert_eq!(
        execute(cli.check_repo().expect("check-repo"), &mut out).expect("scanned"),
        0
    );
    assert!(String::from_utf8_lossy(&out).starts_with("check-repo: OK"));

    let missing = fixture("no-such-repository");
    let cli = Cli::parse_from_args([
        "launchplane",
        "check-repo",
        missing.to_str().expect("utf-8"),
    ])
    .expect("parses");
    let error =
        execute(cli.check_repo().expect("check-repo"), &mut Vec::new()).expect_err("no folder");
    assert!(matches!(error, CheckRepoError::NotAFolder(_)), "{error}");
    assert!(
        Cli::parse_from_args(["launchplane", "check-repo"]).is_err(),
        "PATH is required"
    );
}
