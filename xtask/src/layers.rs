//! `cargo xtask layers`: the host's module structure as a rule CI checks.
//!
//! Reads `host/src` and finds, for every top-level module (`auth`, `ops`,
//! `records`, …), the other top-level modules its non-test code names
//! through `crate::<module>`. It fails when those edges form a cycle, or
//! when anything outside `http/`, `cli/` and the binary names
//! `crate::http` (the HTTP layer only extracts and renders; nothing
//! below it may reach up into it). Test code (files named `tests.rs` or
//! `*_tests.rs`, and everything after a file's `#[cfg(test)]`) is left out:
//! tests may reach across layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Modules allowed to name `crate::http`.
const HTTP_USERS: &[&str] = &["http", "cli", "main"];

/// A top-level module's outgoing edges: target module → first place seen.
type Edges = BTreeMap<String, BTreeMap<String, String>>;

pub fn check(root: &Path) -> Result<()> {
    let src = root.join("host/src");
    let edges = edges(&src)?;
    let mut problems = Vec::new();
    for (from, targets) in &edges {
        if let Some(at) = targets.get("http")
            && !HTTP_USERS.contains(&from.as_str())
        {
            problems.push(format!(
                "`{from}` names crate::http ({at}); only http/, cli/ and the binary may"
            ));
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        let path = cycle
            .windows(2)
            .map(|pair| {
                let at = &edges[&pair[0]][&pair[1]];
                format!("{} -> {} ({at})", pair[0], pair[1])
            })
            .collect::<Vec<_>>()
            .join("; ");
        problems.push(format!("import cycle between host modules: {path}"));
    }
    if !problems.is_empty() {
        bail!("host module layering:\n  {}", problems.join("\n  "));
    }
    eprintln!(
        "xtask: layers: {} host modules, no cycle, crate::http only in {}",
        edges.len(),
        HTTP_USERS.join(", ")
    );
    Ok(())
}

/// Every top-level module of `src` and the modules its code names.
fn edges(src: &Path) -> Result<Edges> {
    let mut edges = Edges::new();
    for file in rust_files(src)? {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let module = top_module(relative);
        let name = relative.to_string_lossy();
        if name.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let entry = edges.entry(module.clone()).or_default();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("#[cfg(test)]") {
                break;
            }
            if line.starts_with("//") {
                continue;
            }
            for target in named_modules(line) {
                if target != module {
                    entry
                        .entry(target)
                        .or_insert_with(|| format!("{name}:{}", number + 1));
                }
            }
        }
    }
    Ok(edges)
}

/// `auth` for `auth/oidc/verify.rs`, `error` for `error.rs`.
fn top_module(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// The modules a line names as `crate::<module>` or inside `crate::{…}`.
fn named_modules(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One cycle (first node repeated at the end), if the graph has any.
fn find_cycle(edges: &Edges) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &Edges,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flat_map(|t| t.keys()) {
            if let Some(cycle) = visit(next, edges, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_plain_and_grouped_paths() {
        assert_eq!(named_modules("use crate::records::Store;"), ["records"]);
        assert_eq!(
            named_modules("use crate::{auth::Caller, ops, self};"),
            ["auth", "ops"]
        );
        assert_eq!(
            named_modules("x(crate::time::now(), crate::trace::TraceId::new())"),
            ["time", "trace"]
        );
    }

    #[test]
    fn finds_a_cycle_and_accepts_a_dag() {
        let mut edges = Edges::new();
        let mut add = |from: &str, to: &str| {
            edges
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string(), "f.rs:1".to_string());
        };
        add("ops", "records");
        add("records", "time");
        assert!(find_cycle(&edges).is_none());
        edges
            .entry("records".to_string())
            .or_default()
            .insert("ops".to_string(), "g.rs:2".to_string());
        assert_eq!(
            find_cycle(&edges),
            Some(vec!["ops".into(), "records".into(), "ops".into()])
        );
    }
}
