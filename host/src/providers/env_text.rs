//! Provider environment text: `KEY=VALUE` lines (reference §9, "live target
//! env rewrite").
//!
//! Parsing skips blank lines and `#` comments, strips a leading `export `,
//! ignores lines without `=`, trims the key and keeps the value as written
//! (after trimming the whole line). A repeated key keeps the position of its
//! first occurrence and the value of its last, as the original's `dict`.
//! Rewriting applies removals, then updates: an updated key keeps its place,
//! a new key is appended, unrelated keys keep their order. Rendering joins
//! `KEY=VALUE` lines with `\n` (no trailing newline; empty for no keys).

/// Ordered environment entries.
pub type EnvEntries = Vec<(String, String)>;

/// Parses provider env text into ordered entries.
pub fn parse(text: &str) -> EnvEntries {
    let mut entries: EnvEntries = Vec::new();
    for raw in text.lines() {
        let mut line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("export ") {
            line = rest.trim();
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        set(&mut entries, key.trim(), value);
    }
    entries
}

fn set(entries: &mut EnvEntries, key: &str, value: &str) {
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value.to_string(),
        None => entries.push((key.to_string(), value.to_string())),
    }
}

/// `entries` with `unset` removed, then `updates` applied in order.
pub fn apply(entries: &EnvEntries, updates: &[(String, String)], unset: &[String]) -> EnvEntries {
    let mut out: EnvEntries = entries
        .iter()
        .filter(|(k, _)| !unset.contains(k))
        .cloned()
        .collect();
    for (key, value) in updates {
        set(&mut out, key, value);
    }
    out
}

/// Renders entries as `KEY=VALUE` lines.
pub fn render(entries: &EnvEntries) -> String {
    entries
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why an update cannot be expressed as env text, naming the key (never a
/// value).
pub fn check_updates(updates: &[(String, String)], unset: &[String]) -> Result<(), String> {
    for key in updates.iter().map(|(k, _)| k).chain(unset.iter()) {
        if key.trim().is_empty() || key.trim() != key {
            return Err(format!(
                "environment key `{key}` must be non-blank without surrounding spaces"
            ));
        }
        if key.contains(['=', '\n', '\r', '#']) || key.starts_with("export ") {
            return Err(format!(
                "environment key `{key}` may not contain `=`, `#` or line breaks"
            ));
        }
    }
    for (key, value) in updates {
        if value.contains(['\n', '\r']) {
            return Err(format!(
                "the value of environment key `{key}` may not contain line breaks"
            ));
        }
        if value.trim_end() != value {
            return Err(format!(
                "the value of environment key `{key}` may not end with whitespace (the provider would drop it)"
            ));
        }
    }
    for key in unset {
        if updates.iter().any(|(k, _)| k == key) {
            return Err(format!(
                "environment key `{key}` is both set and unset in one update"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> EnvEntries {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parsing_follows_the_original() {
        let text = "# comment\n\nA=1\nexport B = two=2 \nNOEQUALS\n C= spaced\nA=3\r\n";
        assert_eq!(
            parse(text),
            pairs(&[("A", "3"), ("B", " two=2"), ("C", " spaced")])
        );
    }

    #[test]
    fn rewriting_preserves_order_and_unrelated_keys() {
        let entries = parse("Z=26\nA=1\nM=13\nDROP=x");
        let updated = apply(
            &entries,
            &[
                ("A".to_string(), "one".to_string()),
                ("NEW".to_string(), "n".to_string()),
            ],
            &["DROP".to_string(), "ABSENT".to_string()],
        );
        assert_eq!(render(&updated), "Z=26\nA=one\nM=13\nNEW=n");
        assert_eq!(render(&Vec::new()), "");
    }

    #[test]
    fn updates_that_would_corrupt_the_text_are_refused() {
        let ok = check_updates(&pairs(&[("A", "1")]), &["B".to_string()]);
        assert!(ok.is_ok());
        for (updates, unset) in [
            (pairs(&[("A=B", "1")]), vec![]),
            (pairs(&[("A", "line\nbreak")]), vec![]),
            (pairs(&[(" A", "1")]), vec![]),
            (pairs(&[("A", "1")]), vec!["A".to_string()]),
            (vec![], vec!["".to_string()]),
        ] {
            assert!(
                check_updates(&updates, &unset).is_err(),
                "{updates:?} {unset:?}"
            );
        }
    }
}
