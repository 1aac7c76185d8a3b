//! Keeping credentials out of provider messages (reference §10.2, §10.3).
//!
//! Provider answers are quoted in error messages (`Dokploy API POST … failed
//! (500): <body>`); before that the body is passed through [`redact_text`]
//! and cut to [`MAX_DETAIL_CHARS`]. The rules follow the original's log
//! redaction, written without regular expressions:
//!
//! 1. `NAME="value"`, `"NAME": "value"`, `NAME='value'` and `NAME=value`
//!    where `NAME` is a key-like token (letters, digits, `_`) that contains
//!    `PASSWORD`, `PASS`, `TOKEN`, `SECRET`, `API_KEY`, `ACCESS_KEY`,
//!    `PRIVATE_KEY`, `DATABASE_URL` or `CREDENTIAL` (any case), or that is
//!    secret-shaped by [`is_secret_shaped_key`]: the value becomes
//!    `[redacted]` (quotes kept);
//! 2. `Bearer <token>` becomes `Bearer [redacted]`;
//! 3. `postgres://user:password@` (also `postgresql`, `mysql`, `mariadb`)
//!    becomes `postgres://user:[redacted]@`.

/// Longest provider detail quoted in a message (the original's 2,000).
pub const MAX_DETAIL_CHARS: usize = 2000;

/// The placeholder written instead of a secret value.
pub const REDACTED: &str = "[redacted]";

/// Key fragments whose values are redacted in provider text.
const SECRET_FRAGMENTS: &[&str] = &[
    "PASSWORD",
    "PASS",
    "TOKEN",
    "SECRET",
    "API_KEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "DATABASE_URL",
    "CREDENTIAL",
];

/// The secret-shaped key rule of §10.2: split the upper-cased key on `_`;
/// a key with any part equal to `PASSWORD`, `TOKEN`, `SECRET` or `KEY`
/// must be a managed secret. `GITHUB_TOKEN`, `API_KEY`, `DB_PASSWORD` are
/// secret-shaped; `KEYCLOAK_URL`, `TOKENS`, `PASSWD` are not.
pub fn is_secret_shaped_key(key: &str) -> bool {
    key.to_uppercase()
        .split('_')
        .any(|part| matches!(part, "PASSWORD" | "TOKEN" | "SECRET" | "KEY"))
}

/// Whether a key-like token names something whose value is redacted.
fn is_secret_token(token: &str) -> bool {
    let upper = token.to_uppercase();
    SECRET_FRAGMENTS.iter().any(|f| upper.contains(f)) || is_secret_shaped_key(token)
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_bearer_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '+' | '/' | '=' | '-')
}

/// Where an unquoted secret value ends.
fn ends_unquoted(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\\')
}

/// `text` with secret values replaced by `[redacted]` (see the module docs).
pub fn redact_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < len {
        let starts_word = is_word(chars[i]) && (i == 0 || !is_word(chars[i - 1]));
        if !starts_word {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < len && is_word(chars[i]) {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        out.push_str(&token);
        if token.eq_ignore_ascii_case("bearer") {
            let mut k = i;
            while k < len && (chars[k] == ' ' || chars[k] == '\t') {
                k += 1;
            }
            let value_start = k;
            while k < len && is_bearer_char(chars[k]) {
                k += 1;
            }
            if k > value_start && value_start > i {
                out.extend(&chars[i..value_start]);
                out.push_str(REDACTED);
                i = k;
            }
            continue;
        }
        if !is_secret_token(&token) {
            continue;
        }
        // [closing quote] [blanks] (= | :) [blanks] value
        let mut k = i;
        if k < len && (chars[k] == '"' || chars[k] == '\'') {
            k += 1;
        }
        while k < len && (chars[k] == ' ' || chars[k] == '\t') {
            k += 1;
        }
        if k >= len || (chars[k] != '=' && chars[k] != ':') {
            continue;
        }
        k += 1;
        while k < len && (chars[k] == ' ' || chars[k] == '\t') {
            k += 1;
        }
        if k >= len {
            continue;
        }
        let separator: String = chars[i..k].iter().collect();
        let quote = chars[k];
        if quote == '"' || quote == '\'' {
            let close = chars[k + 1..]
                .iter()
                .take_while(|c| **c != '\r' && **c != '\n')
                .position(|c| *c == quote);
            if let Some(offset) = close {
                out.push_str(&separator);
                out.push(quote);
                out.push_str(REDACTED);
                out.push(quote);
                i = k + 1 + offset + 1;
                continue;
            }
        }
        let mut end = k;
        while end < len && !ends_unquoted(chars[end]) {
            end += 1;
        }
        if end > k {
            out.push_str(&separator);
            out.push_str(REDACTED);
            i = end;
        }
    }
    redact_database_uris(&out)
}

/// `scheme://user:password@` → `scheme://user:[redacted]@` for database
/// schemes.
fn redact_database_uris(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at);
        let scheme_start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphabetic())
            .last()
            .map(|(i, _)| i)
            .unwrap_or(head.len());
        let scheme = head[scheme_start..].to_ascii_lowercase();
        out.push_str(head);
        out.push_str("://");
        let after = &tail[3..];
        if matches!(
            scheme.as_str(),
            "postgres" | "postgresql" | "mysql" | "mariadb"
        ) {
            let user_end = after
                .find(|c: char| c == ':' || c == '/' || c == '@' || c.is_whitespace())
                .unwrap_or(after.len());
            if user_end > 0 && after[user_end..].starts_with(':') {
                let password = &after[user_end + 1..];
                let password_end = password
                    .find(|c: char| c == '@' || c.is_whitespace())
                    .unwrap_or(password.len());
                if password_end > 0 && password[password_end..].starts_with('@') {
                    out.push_str(&after[..=user_end]);
                    out.push_str(REDACTED);
                    rest = &password[password_end..];
                    continue;
                }
            }
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// At most `max` characters of `text`, with `…` when cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// Redacts, removes every literal occurrence of each `known_secret`
/// (credentials the caller holds, such as the provider token), trims and
/// truncates a provider-supplied detail for a message.
pub fn provider_detail(text: &str, known_secrets: &[&str]) -> String {
    let mut text = text.trim().to_string();
    for secret in known_secrets {
        if secret.len() >= 4 {
            text = text.replace(secret, REDACTED);
        }
    }
    truncate_chars(&redact_text(&text), MAX_DETAIL_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_shaped_keys_follow_the_part_rule() {
        for key in ["GITHUB_TOKEN", "API_KEY", "DB_PASSWORD", "secret", "x_key"] {
            assert!(is_secret_shaped_key(key), "{key}");
        }
        for key in ["KEYCLOAK_URL", "TOKENS", "PASSWD", "DOCKER_IMAGE_REFERENCE"] {
            assert!(!is_secret_shaped_key(key), "{key}");
        }
    }

    #[test]
    fn values_of_secret_keys_are_redacted_in_every_quoting() {
        let cases = [
            ("DB_PASSWORD=hunter2 next", "DB_PASSWORD=[redacted] next"),
            (
                r#"{"DOKPLOY_TOKEN": "abc def", "ok": "v"}"#,
                r#"{"DOKPLOY_TOKEN": "[redacted]", "ok": "v"}"#,
            ),
            ("api_key='x y'", "api_key='[redacted]'"),
            (
                "Authorization: Bearer abc.def-123",
                "Authorization: Bearer [redacted]",
            ),
            ("x-api-key: abcd1234", "x-api-key: [redacted]"),
            (
                "postgres://lp:s3cr3t@db:5432/x and https://a:b@c",
                "postgres://lp:[redacted]@db:5432/x and https://a:b@c",
            ),
            (
                r#"{"env":"A=1\nSHOPIFY_SECRET=zzz\nB=2"}"#,
                r#"{"env":"A=1\nSHOPIFY_SECRET=[redacted]\nB=2"}"#,
            ),
            ("KEYCLOAK_URL=https://k", "KEYCLOAK_URL=https://k"),
            ("no secrets here", "no secrets here"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_text(input), expected, "{input}");
        }
    }

    #[test]
    fn details_are_cut_and_known_secrets_removed() {
        let long = "x".repeat(MAX_DETAIL_CHARS + 10);
        let cut = provider_detail(&long, &[]);
        assert_eq!(cut.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(cut.ends_with('…'));
        let detail = provider_detail("  bad key tok-123456 given ", &["tok-123456"]);
        assert_eq!(detail, "bad key [redacted] given");
    }
}
