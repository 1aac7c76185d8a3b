//! `launchplane check-repo PATH`: the tenant contract check (issue 25
//! item 8). It reads a product repository's workflows and scripts and
//! reports, as `file:line: rule: message`, every line that drives a
//! provider directly, requests GitHub OIDC tokens itself instead of
//! through `launchplane call` or the Launchplane action, or carries a
//! secret-shaped value. The rules are in `rules.rs` ([`Rule`]).
//!
//! Exit codes: 0 clean, 1 findings, 2 the path could not be scanned.
//!
//! What is read: `.github/workflows/*.yml|yaml`, action definitions under
//! `.github/actions/` (and a root `action.yml|yaml`), files ending in
//! `.sh`, `.bash`, `.py`, `.js`, `.mjs`, `.cjs`, `.ts`, `.mts`, `.cts`,
//! `.mk`, files named `Makefile`, and every text file under a top-level
//! `scripts/`, `bin/` or `tools/`. Dependency, build and VCS folders
//! (`.git`, `node_modules`, `target`, `vendor`, …) are skipped, as are
//! binary files and files over 1 MiB.

mod rules;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

pub use rules::{FileFacts, Rule, mask};

/// Folders never descended into.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
];
/// Script file endings.
const SCRIPT_ENDINGS: &[&str] = &[
    ".sh", ".bash", ".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".mk",
];
/// Top-level folders whose every text file is a script.
const SCRIPT_DIRS: &[&str] = &["scripts", "bin", "tools"];
/// Files larger than this are not read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// `launchplane check-repo` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Exit codes:
  0  no findings
  1  findings (printed as `file:line: rule: message`)
  2  the path could not be scanned

Rules: dokploy-api-path, dokploy-api-key-header, dokploy-credential, bespoke-oidc-client,
secret-value (see docs/tenant-workflows.md).")]
pub struct CheckRepoArgs {
    /// The product repository's root folder.
    pub path: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Why a repository could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum CheckRepoError {
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the report: {0}")]
    Write(std::io::Error),
}

/// One line that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Relative to the scanned root, with `/` separators.
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub rule: Rule,
    /// Names the rule's concern; a matched secret is masked.
    pub message: String,
}

/// What a scan found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub root: String,
    pub files_scanned: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when nothing was found.
    pub fn clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// One `file:line: rule: message` line per finding, or the OK summary.
    pub fn text(&self) -> String {
        if self.clean() {
            return format!(
                "check-repo: OK: {} file(s) scanned in {}, no direct provider calls, bespoke OIDC clients or secret-shaped values\n",
                self.files_scanned, self.root
            );
        }
        let mut text: String = self
            .findings
            .iter()
            .map(|f| format!("{}:{}: {}: {}\n", f.file, f.line, f.rule.id(), f.message))
            .collect();
        text.push_str(&format!(
            "check-repo: {} finding(s) in {} file(s) scanned\n",
            self.findings.len(),
            self.files_scanned
        ));
        text
    }
}

/// Scans the repository at `root`.
pub fn scan(root: &Path) -> Result<Report, CheckRepoError> {
    if !root.is_dir() {
        return Err(CheckRepoError::NotAFolder(root.to_path_buf()));
    }
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    let mut findings = Vec::new();
    let mut files_scanned = 0;
    for relative in files {
        let path = root.join(&relative);
        let bytes = std::fs::read(&path).map_err(|source| CheckRepoError::Read {
            path: path.clone(),
            source,
        })?;
        if bytes.contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        files_scanned += 1;
        let name = relative_name(&relative);
        let facts = FileFacts {
            launchplane_action: is_action_file(&relative) && text.contains("launchplane call"),
        };
        for (index, line) in text.lines().enumerate() {
            for rule in Rule::ALL {
                if let Some(message) = rule.check(line, facts) {
                    findings.push(Finding {
                        file: name.clone(),
                        line: index + 1,
                        rule,
                        message,
                    });
                }
            }
        }
    }
    Ok(Report {
        root: root.display().to_string(),
        files_scanned,
        findings,
    })
}

/// Runs the command: scans, prints the report to `out`, and answers the
/// exit code (0 clean, 1 findings).
pub fn execute(args: &CheckRepoArgs, out: &mut dyn Write) -> Result<i32, CheckRepoError> {
    let report = scan(&args.path)?;
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&report).map_err(|e| {
            CheckRepoError::Write(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })?;
        json.push('\n');
        json
    } else {
        report.text()
    };
    out.write_all(text.as_bytes())
        .map_err(CheckRepoError::Write)?;
    Ok(if report.clean() { 0 } else { 1 })
}

fn relative_name(relative: &Path) -> String {
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn is_action_file(relative: &Path) -> bool {
    matches!(
        relative.file_name().and_then(|n| n.to_str()),
        Some("action.yml" | "action.yaml")
    )
}

/// Whether the file at `relative` (from the root) is one check-repo reads.
fn scanned(relative: &Path) -> bool {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let Some(name) = parts.last() else {
        return false;
    };
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    match parts.as_slice() {
        [dot_github, workflows, _] if dot_github == ".github" && workflows == "workflows" => {
            return yaml;
        }
        [dot_github, actions, ..]
            if dot_github == ".github" && actions == "actions" && is_action_file(relative) =>
        {
            return true;
        }
        [_] if is_action_file(relative) => return true,
        _ => {}
    }
    if parts.len() > 1 && SCRIPT_DIRS.contains(&parts[0].as_str()) {
        return true;
    }
    name == "Makefile" || SCRIPT_ENDINGS.iter().any(|ending| name.ends_with(ending))
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), CheckRepoError> {
    let read_error = |source| CheckRepoError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        // Symlinks are not followed: a link may leave the repository.
        let kind = entry.file_type().map_err(read_error)?;
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        if kind.is_dir() {
            let name = entry.file_name();
            if !SKIPPED_DIRS.contains(&name.to_string_lossy().as_ref()) {
                collect(root, &path, files)?;
            }
        } else if kind.is_file() && scanned(&relative) {
            let size = entry.metadata().map_err(read_error)?.len();
            if size <= MAX_FILE_BYTES {
                files.push(relative);
            }
        }
    }
    Ok(())
}
