//! Preview ids and the names derived from a preview's anchor (context,
//! anchor repo, pull request number): ids, labels, routes and canonical
//! URLs (reference §6.1).

/// `preview-` + lower-case(`<context>-<anchor_repo>-pr-<n>`) with every run
/// of characters outside `[a-z0-9]` turned into one `-` and leading/trailing
/// `-` trimmed.
pub fn preview_id(context: &str, anchor_repo: &str, anchor_pr_number: u64) -> String {
    let key = format!("{context}-{anchor_repo}-pr-{anchor_pr_number}").to_lowercase();
    let mut normalized = String::with_capacity(key.len());
    let mut in_run = false;
    for c in key.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            normalized.push(c);
            in_run = false;
        } else if !in_run {
            normalized.push('-');
            in_run = true;
        }
    }
    format!("preview-{}", normalized.trim_matches('-'))
}

/// `<preview_id>-generation-<sequence, zero-padded to 4>`.
pub fn generation_id(preview_id: &str, sequence: u32) -> String {
    format!("{preview_id}-generation-{sequence:04}")
}

/// `<context>/<anchor_repo>/pr-<n>`.
pub fn preview_label(context: &str, anchor_repo: &str, anchor_pr_number: u64) -> String {
    format!("{context}/{anchor_repo}/pr-{anchor_pr_number}")
}

/// `/previews/<context>/<anchor_repo>/pr-<n>`.
pub fn preview_route_path(context: &str, anchor_repo: &str, anchor_pr_number: u64) -> String {
    format!("/previews/{context}/{anchor_repo}/pr-{anchor_pr_number}")
}

/// `<base_url without trailing />` + route path; `None` when the base URL is
/// blank.
pub fn preview_canonical_url(
    base_url: &str,
    context: &str,
    anchor_repo: &str,
    anchor_pr_number: u64,
) -> Option<String> {
    let base = base_url.trim().trim_end_matches('/');
    (!base.is_empty()).then(|| {
        format!(
            "{base}{}",
            preview_route_path(context, anchor_repo, anchor_pr_number)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_ids_are_lower_case_with_dashes() {
        assert_eq!(
            preview_id("cm", "acme/tenant-cm", 42),
            "preview-cm-acme-tenant-cm-pr-42"
        );
        assert_eq!(
            preview_id("CM", "Acme/Tenant__CM.git", 7),
            "preview-cm-acme-tenant-cm-git-pr-7"
        );
        assert_eq!(preview_id("--x--", "..y..", 1), "preview-x-y-pr-1");
    }

    #[test]
    fn generation_ids_are_zero_padded_to_four() {
        assert_eq!(generation_id("preview-x", 1), "preview-x-generation-0001");
        assert_eq!(generation_id("preview-x", 42), "preview-x-generation-0042");
        assert_eq!(
            generation_id("preview-x", 12345),
            "preview-x-generation-12345"
        );
    }

    #[test]
    fn labels_routes_and_canonical_urls() {
        assert_eq!(
            preview_label("cm", "acme/tenant-cm", 42),
            "cm/acme/tenant-cm/pr-42"
        );
        assert_eq!(
            preview_route_path("cm", "acme/tenant-cm", 42),
            "/previews/cm/acme/tenant-cm/pr-42"
        );
        assert_eq!(
            preview_canonical_url("https://p.example.com//", "cm", "acme/tenant-cm", 42).as_deref(),
            Some("https://p.example.com/previews/cm/acme/tenant-cm/pr-42")
        );
        assert_eq!(preview_canonical_url("  ", "cm", "r", 1), None);
    }
}
