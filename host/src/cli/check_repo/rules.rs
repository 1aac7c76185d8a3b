//! The tenant contract rules `launchplane check-repo` applies to each line
//! of a product repository's workflows and scripts. The table is
//! [`Rule`]: one variant per rule, its id, and its check. Matching is plain
//! string scanning (no regex engine), line by line.

use serde::Serialize;

/// A rule of the tenant contract (issue 25 item 8, reference seed 001): a
/// product repository asks Launchplane to act and never drives a provider,
/// requests its own OIDC tokens or carries secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// `dokploy-api-path`: a Dokploy API path (`/api/application.deploy`,
    /// `/api/compose.update`, `/api/schedule.runManually`, …). The
    /// repository drives the provider itself instead of asking Launchplane,
    /// which holds the provider credentials and records the evidence.
    DokployApiPath,
    /// `dokploy-api-key-header`: an `x-api-key` header on a line that names
    /// Dokploy: a hand-made authenticated provider request.
    DokployApiKeyHeader,
    /// `dokploy-credential`: `DOKPLOY_TOKEN` or `DOKPLOY_API_KEY` (as an env
    /// name, a secret name, anything): provider credentials have no place
    /// in a tenant repository or its workflow secrets.
    DokployCredential,
    /// `bespoke-oidc-client`: `ACTIONS_ID_TOKEN_REQUEST_URL`,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` or `core.getIDToken(`: the
    /// repository requests GitHub OIDC tokens itself. `launchplane call` and
    /// the Launchplane action do that; an action file that runs
    /// `launchplane call` (a vendored copy of the action) is exempt.
    BespokeOidcClient,
    /// `secret-value`: a secret-shaped literal: a GitHub token (`ghp_…`,
    /// `gho_…`, `ghs_…`, `ghu_…`, `ghr_…`, `github_pat_…`), an AWS access key
    /// id (`AKIA…`, `ASIA…`), a PEM private key header, or a long
    /// high-entropy literal assigned to a `*_TOKEN`, `*_SECRET`, `*_KEY` or
    /// `*_PASSWORD` name. References (`${{ secrets.X }}`, `$VAR`, `${VAR}`)
    /// are never flagged, and a matched value is never printed whole.
    SecretValue,
}

/// What a rule needs to know about the file a line is in.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileFacts {
    /// The file is a GitHub action definition that runs `launchplane call`.
    pub launchplane_action: bool,
}

impl Rule {
    /// Every rule, in the order findings on one line are reported.
    pub const ALL: [Rule; 5] = [
        Rule::DokployApiPath,
        Rule::DokployApiKeyHeader,
        Rule::DokployCredential,
        Rule::BespokeOidcClient,
        Rule::SecretValue,
    ];

    /// The rule's id, as printed.
    pub fn id(self) -> &'static str {
        match self {
            Rule::DokployApiPath => "dokploy-api-path",
            Rule::DokployApiKeyHeader => "dokploy-api-key-header",
            Rule::DokployCredential => "dokploy-credential",
            Rule::BespokeOidcClient => "bespoke-oidc-client",
            Rule::SecretValue => "secret-value",
        }
    }

    /// The finding's message when `line` breaks the rule.
    pub fn check(self, line: &str, facts: FileFacts) -> Option<String> {
        match self {
            Rule::DokployApiPath => dokploy_api_path(line).map(|path| {
                format!(
                    "direct Dokploy API call `{path}`; ask Launchplane instead (`launchplane call` or the Launchplane action)"
                )
            }),
            Rule::DokployApiKeyHeader => {
                let lower = line.to_ascii_lowercase();
                (lower.contains("x-api-key") && lower.contains("dokploy")).then(|| {
                    "hand-made Dokploy request with an `x-api-key` header; Launchplane holds the provider credentials"
                        .to_string()
                })
            }
            Rule::DokployCredential => {
                let upper = line.to_ascii_uppercase();
                ["DOKPLOY_TOKEN", "DOKPLOY_API_KEY"]
                    .into_iter()
                    .find(|name| upper.contains(name))
                    .map(|name| {
                        format!(
                            "provider credential `{name}` in a tenant repository; Launchplane holds the provider credentials"
                        )
                    })
            }
            Rule::BespokeOidcClient if facts.launchplane_action => None,
            Rule::BespokeOidcClient => [
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                "getIDToken(",
            ]
            .into_iter()
            .find(|needle| line.contains(needle))
            .map(|needle| {
                format!(
                    "bespoke OIDC token request (`{}`); use `launchplane call` or the Launchplane action",
                    needle.trim_end_matches('(')
                )
            }),
            Rule::SecretValue => secret_value(line),
        }
    }
}

/// Dokploy's API resources (`/api/<resource>.<procedure>`).
const DOKPLOY_RESOURCES: &[&str] = &[
    "admin",
    "application",
    "backup",
    "bitbucket",
    "certificates",
    "cluster",
    "compose",
    "deployment",
    "destination",
    "docker",
    "domain",
    "environment",
    "gitProvider",
    "gitea",
    "github",
    "gitlab",
    "mariadb",
    "mongo",
    "mounts",
    "mysql",
    "notification",
    "organization",
    "port",
    "postgres",
    "preview",
    "previewDeployment",
    "project",
    "redirects",
    "redis",
    "registry",
    "rollback",
    "schedule",
    "security",
    "server",
    "settings",
    "sshKey",
    "user",
    "volumeBackups",
];

/// The first `/api/<resource>.<procedure>` of a Dokploy resource.
fn dokploy_api_path(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(at) = rest.find("/api/") {
        let after = &rest[at + 5..];
        let resource: String = after
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let tail = &after[resource.len()..];
        let procedure: String = tail
            .strip_prefix('.')
            .map(|t| t.chars().take_while(char::is_ascii_alphanumeric).collect())
            .unwrap_or_default();
        if !procedure.is_empty() && DOKPLOY_RESOURCES.contains(&resource.as_str()) {
            return Some(format!("/api/{resource}.{procedure}"));
        }
        rest = after;
    }
    None
}

/// `abcd…` plus the length: enough to find the value, not enough to use it.
pub fn mask(value: &str) -> String {
    let shown: String = value.chars().take(4).collect();
    format!("{shown}… ({} chars)", value.chars().count())
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The word-bounded run starting with `prefix` whose tail (after the
/// prefix) is at least `min_tail` characters accepted by `tail`.
fn prefixed_token<'a>(
    line: &'a str,
    prefix: &str,
    min_tail: usize,
    tail: fn(char) -> bool,
) -> Option<&'a str> {
    let mut from = 0;
    while let Some(found) = line[from..].find(prefix) {
        let start = from + found;
        let boundary = line[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_word(c));
        let body = &line[start + prefix.len()..];
        let length: usize = body
            .chars()
            .take_while(|c| tail(*c))
            .map(char::len_utf8)
            .sum();
        let after = body[length..].chars().next();
        if boundary && length >= min_tail && after.is_none_or(|c| !is_word(c)) {
            return Some(&line[start..start + prefix.len() + length]);
        }
        from = start + prefix.len();
    }
    None
}

/// Shannon entropy in bits per character.
fn entropy(value: &str) -> f64 {
    let mut counts = std::collections::BTreeMap::new();
    for c in value.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let total = value.chars().count() as f64;
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Names whose value is a credential.
const SECRET_NAME_SUFFIXES: [&str; 4] = ["_TOKEN", "_SECRET", "_KEY", "_PASSWORD"];

/// A literal that looks generated: long, mixed, high entropy.
fn high_entropy(value: &str) -> bool {
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
    ]
    .iter()
    .filter(|present| **present)
    .count();
    value.chars().count() >= 20 && classes >= 2 && entropy(value) >= 3.5
}

/// `NAME = value`, `NAME: value`, `"NAME": "value"` with a secret-shaped
/// name and a high-entropy literal value: the (name, value).
fn secret_assignment(line: &str) -> Option<(String, String)> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !is_word(c) || (i > 0 && is_word(chars[i - 1].1)) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && is_word(chars[j].1) {
            j += 1;
        }
        let end = chars.get(j).map_or(line.len(), |(at, _)| *at);
        let name = &line[start..end];
        i = j;
        let upper = name.to_ascii_uppercase();
        if !SECRET_NAME_SUFFIXES.iter().any(|s| upper.ends_with(s)) {
            continue;
        }
        let rest = line[end..].trim_start_matches(['"', '\'']).trim_start();
        let Some(rest) = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix('='))
            .filter(|r| !r.starts_with('='))
        else {
            continue;
        };
        let rest = rest.trim_start().trim_start_matches(['"', '\'']);
        let value: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ',' | ';' | ')'))
            .collect();
        let reference = value.contains(['$', '{', '}', '%', '<', '>', '(', '[']);
        if !reference && high_entropy(&value) {
            return Some((name.to_string(), value));
        }
    }
    None
}

fn secret_value(line: &str) -> Option<String> {
    if line.contains("-----BEGIN") && line.contains("PRIVATE KEY-----") {
        return Some(
            "a PEM private key in the repository; keep keys in Launchplane's managed secrets"
                .to_string(),
        );
    }
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let pat = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let upper_alnum = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit();
    let tokens = [
        ("ghp_", 30, alnum as fn(char) -> bool, "GitHub token"),
        ("gho_", 30, alnum, "GitHub token"),
        ("ghs_", 30, alnum, "GitHub token"),
        ("ghu_", 30, alnum, "GitHub token"),
        ("ghr_", 30, alnum, "GitHub token"),
        ("github_pat_", 22, pat, "GitHub token"),
        ("AKIA", 16, upper_alnum, "AWS access key id"),
        ("ASIA", 16, upper_alnum, "AWS access key id"),
    ];
    for (prefix, min_tail, tail, what) in tokens {
        if let Some(token) = prefixed_token(line, prefix, min_tail, tail) {
            return Some(format!(
                "{what} `{}` in the repository; use a `${{{{ secrets.… }}}}` reference",
                mask(token)
            ));
        }
    }
    secret_assignment(line).map(|(name, value)| {
        format!(
            "`{name}` is assigned a literal that looks like a secret (`{}`); use a `${{{{ secrets.… }}}}` reference",
            mask(&value)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(line: &str) -> Vec<&'static str> {
        Rule::ALL
            .into_iter()
            .filter(|rule| rule.check(line, FileFacts::default()).is_some())
            .map(Rule::id)
            .collect()
    }

    #[test]
    fn provider_calls_are_found() {
        assert_eq!(
            fired(r#"curl -X POST "$HOST/api/application.deploy" -d '{}'"#),
            ["dokploy-api-path"]
        );
        assert_eq!(
            fired(
                r#"fetch(`${base}/api/compose.update`, {headers: {"x-api-key": process.env.DOKPLOY_TOKEN}})"#
            ),
            [
                "dokploy-api-path",
                "dokploy-api-key-header",
                "dokploy-credential"
            ]
        );
        assert!(fired("see https://example.com/api/v1/status.json").is_empty());
        assert!(fired("GET /api/health.check").is_empty());
    }

    #[test]
    fn references_are_not_secrets() {
        for line in [
            "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
            "export API_KEY=\"$API_KEY\"",
            "DB_PASSWORD=${DB_PASSWORD:-}",
            "SESSION_SECRET: not-a-secret-just-words",
            "if [ \"$DEPLOY_KEY\" == \"\" ]; then",
            "ACCESS_TOKEN = os.environ[\"ACCESS_TOKEN\"]",
        ] {
            assert!(fired(line).is_empty(), "{line}: {:?}", fired(line));
        }
    }

    #[test]
    fn secrets_are_found_and_masked() {
        let message = Rule::SecretValue
            .check(
                "SERVICE_TOKEN=Zx8Qp2Lm7Rt4Vb9Nc3Kd6Hf1",
                FileFacts::default(),
            )
            .expect("found");
        assert!(message.contains("SERVICE_TOKEN"), "{message}");
        assert!(message.contains("Zx8Q… (24 chars)"), "{message}");
        assert!(!message.contains("Zx8Qp2Lm7Rt4"), "{message}");
        let github = format!("token = \"ghp_{}\"", "A1b2C3d4".repeat(5));
        let message = Rule::SecretValue
            .check(&github, FileFacts::default())
            .expect("found");
        assert!(message.contains("ghp_… (44 chars)"), "{message}");
        assert!(fired("aws_access_key_id = AKIAIOSFODNN7EXAMPLE").contains(&"secret-value"));
        assert!(fired("-----BEGIN OPENSSH PRIVATE KEY-----").contains(&"secret-value"));
        assert!(fired("-----BEGIN PUBLIC KEY-----").is_empty());
    }

    #[test]
    fn the_launchplane_action_may_request_tokens() {
        let line = "curl -H \"Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN\" \"$ACTIONS_ID_TOKEN_REQUEST_URL\"";
        assert!(
            Rule::BespokeOidcClient
                .check(line, FileFacts::default())
                .is_some()
        );
        let action = FileFacts {
            launchplane_action: true,
        };
        assert!(Rule::BespokeOidcClient.check(line, action).is_none());
    }
}
