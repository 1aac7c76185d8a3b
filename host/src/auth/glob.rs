//! Shell-style glob matching with Python `fnmatch.fnmatchcase` semantics.
//!
//! The original service matched policy patterns with `fnmatchcase`, so the
//! same patterns must mean the same thing here:
//!
//! * `*` matches any run of characters, including `/` and the empty run;
//! * `?` matches exactly one character;
//! * `[...]` matches one character from a class: ranges `a-z`, negation with a
//!   leading `!`, a `]` right after `[` (or `[!`) is a literal member, a `-`
//!   first or last is literal, a reversed range (`z-a`) matches nothing; a `[`
//!   without a closing `]` is a literal `[`;
//! * every other character, `.` and `\` included, is literal (there is no
//!   escape character, and nothing is a regular expression).
//!
//! Matching is case-sensitive and runs in `O(pattern × text)` time with no
//! backtracking blow-up.

/// One compiled pattern element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    Star,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ClassItem {
    One(char),
    Range(char, char),
}

impl ClassItem {
    fn contains(&self, c: char) -> bool {
        match *self {
            ClassItem::One(x) => x == c,
            ClassItem::Range(lo, hi) => lo <= c && c <= hi,
        }
    }
}

/// The characters that make a pattern a glob rather than a literal.
pub const GLOB_CHARS: [char; 3] = ['*', '?', '['];

/// True when `pattern` contains a glob metacharacter (`*`, `?` or `[`).
pub fn has_glob_chars(pattern: &str) -> bool {
    pattern.contains(GLOB_CHARS)
}

/// The literal prefix of a pattern: everything before the first `*`, `?` or
/// `[`. A pattern without glob characters is its own literal prefix.
pub fn literal_prefix(pattern: &str) -> &str {
    match pattern.find(GLOB_CHARS) {
        Some(index) => &pattern[..index],
        None => pattern,
    }
}

/// `fnmatch.fnmatchcase(text, pattern)`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let tokens = compile(pattern);
    let text: Vec<char> = text.chars().collect();
    matches(&tokens, &text)
}

/// True when any pattern matches `text`.
pub fn glob_match_any<S: AsRef<str>>(patterns: &[S], text: &str) -> bool {
    patterns.iter().any(|p| glob_match(p.as_ref(), text))
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                // Runs of stars are one star.
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::AnyOne),
            '[' => match parse_class(&chars, i) {
                Some((token, next)) => {
                    tokens.push(token);
                    i = next;
                }
                None => tokens.push(Token::Literal('[')),
            },
            other => tokens.push(Token::Literal(other)),
        }
    }
    tokens
}

/// Parses a class whose body starts at `start` (just after `[`). Returns the
/// token and the index after the closing `]`, or `None` when the class is
/// not closed (then `[` is literal, as in `fnmatch`).
fn parse_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut j = start;
    let mut negated = false;
    if j < chars.len() && chars[j] == '!' {
        negated = true;
        j += 1;
    }
    let body_start = j;
    // A `]` first in the class is a member, not the end.
    if j < chars.len() && chars[j] == ']' {
        j += 1;
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    if j >= chars.len() {
        return None;
    }
    let body = &chars[body_start..j];
    let mut items = Vec::new();
    let mut k = 0;
    while k < body.len() {
        let c = body[k];
        if k + 2 < body.len() && body[k + 1] == '-' {
            let hi = body[k + 2];
            // A reversed range matches nothing (Python drops it).
            if c <= hi {
                items.push(ClassItem::Range(c, hi));
            }
            k += 3;
        } else {
            items.push(ClassItem::One(c));
            k += 1;
        }
    }
    Some((Token::Class { negated, items }, j + 1))
}

fn token_matches_char(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(x) => *x == c,
        Token::AnyOne => true,
        Token::Star => true,
        Token::Class { negated, items } => items.iter().any(|item| item.contains(c)) != *negated,
    }
}

/// Iterative wildcard matching: on a mismatch, back up to the most recent
/// star and let it absorb one more character. Linear in the pattern for each
/// text position, so never exponential.
fn matches(tokens: &[Token], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < tokens.len() {
            match &tokens[p] {
                Token::Star => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                token if token_matches_char(token, text[t]) => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_match_exactly() {
        assert!(glob_match("abc", "abc"));
        assert!(!glob_match("abc", "abd"));
        assert!(!glob_match("abc", "ab"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!glob_match("Org/App", "org/app"));
        assert!(!glob_match("org/*", "ORG/app"));
    }

    #[test]
    fn dot_is_literal_not_a_regex_wildcard() {
        assert!(glob_match("deploy.yml", "deploy.yml"));
        assert!(!glob_match("deploy.yml", "deployXyml"));
        assert!(!glob_match(
            "org/app/.github/workflows/deploy.yml@refs/heads/*",
            "org/app/.github/workflows/deployXyml@refs/heads/main"
        ));
    }

    #[test]
    fn regex_syntax_is_literal() {
        assert!(glob_match("a+b", "a+b"));
        assert!(!glob_match("a+b", "aab"));
        assert!(glob_match("main|develop", "main|develop"));
        assert!(!glob_match("main|develop", "main"));
        assert!(glob_match("(x)", "(x)"));
        assert!(glob_match("^a$", "^a$"));
        assert!(glob_match(r"a\*", r"a\anything"));
        assert!(!glob_match(r"a\*", "a*"));
    }

    #[test]
    fn star_matches_any_run_including_slash() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "a/b/c"));
        assert!(glob_match(
            "org/app/*",
            "org/app/.github/workflows/x.yml@refs/heads/main"
        ));
        assert!(glob_match("a*b", "ab"));
        assert!(glob_match("a*b", "a/x/b"));
        assert!(!glob_match("a*b", "a/x/bc"));
        assert!(glob_match("a**b", "axxb"));
        assert!(glob_match("*a*a*a*", "aaa"));
        assert!(!glob_match("*a*a*a*", "aa"));
    }

    #[test]
    fn star_anchoring_is_whole_string() {
        let pattern = "org/app/.github/workflows/deploy.yml@refs/heads/main";
        assert!(!glob_match(
            pattern,
            "org/app/.github/workflows/deploy.yml@refs/heads/main-evil"
        ));
        assert!(glob_match(
            "*@refs/heads/main",
            "x/.github/workflows/a.yml@refs/heads/main"
        ));
        assert!(!glob_match(
            "*@refs/heads/main",
            "x/.github/workflows/a.yml@refs/heads/main2"
        ));
        // A branch glob admits anything after the prefix, by design.
        assert!(glob_match(
            "org/app/.github/workflows/d.yml@refs/heads/*",
            "org/app/.github/workflows/d.yml@refs/heads/x/refs/tags/v1"
        ));
    }

    #[test]
    fn question_mark_matches_one_char() {
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("a?c", "a/c"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("a?c", "abbc"));
        assert!(glob_match("??", "é!"));
    }

    #[test]
    fn classes() {
        assert!(glob_match("[abc]", "b"));
        assert!(!glob_match("[abc]", "d"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[a-c]x", "dx"));
        assert!(glob_match("[!a-c]", "d"));
        assert!(!glob_match("[!a-c]", "a"));
        assert!(glob_match("v[0-9].[0-9]", "v1.2"));
        assert!(!glob_match("v[0-9].[0-9]", "v1x2"));
        // `]` first is a member.
        assert!(glob_match("[]]", "]"));
        assert!(glob_match("[!]]", "a"));
        assert!(!glob_match("[!]]", "]"));
        // `-` first or last is literal.
        assert!(glob_match("[-a]", "-"));
        assert!(glob_match("[a-]", "-"));
        // Reversed range matches nothing.
        assert!(!glob_match("[z-a]", "m"));
        // `^` is not negation in fnmatch.
        assert!(glob_match("[^a]", "^"));
        assert!(glob_match("[^a]", "a"));
        // Classes may contain `/`.
        assert!(glob_match("a[/]b", "a/b"));
    }

    #[test]
    fn unclosed_bracket_is_literal() {
        assert!(glob_match("a[b", "a[b"));
        assert!(!glob_match("a[b", "ab"));
        assert!(glob_match("[", "["));
        assert!(glob_match("[!", "[!"));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let text = "a".repeat(5_000);
        let pattern = format!("{}b", "*a".repeat(50));
        let started = std::time::Instant::now();
        assert!(!glob_match(&pattern, &text));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn helpers() {
        assert!(has_glob_chars("a*"));
        assert!(has_glob_chars("a?"));
        assert!(has_glob_chars("a[b]"));
        assert!(!has_glob_chars("a.b/c@d"));
        assert_eq!(literal_prefix("org/app/.github/*"), "org/app/.github/");
        assert_eq!(literal_prefix("*/x"), "");
        assert_eq!(literal_prefix("abc"), "abc");
        assert!(glob_match_any(&["x", "y*"], "yes"));
        assert!(!glob_match_any::<&str>(&[], "yes"));
    }
}
