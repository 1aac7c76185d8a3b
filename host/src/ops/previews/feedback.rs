//! PR feedback: the comment text per status (the original's wording, our
//! prose), delivered as the one comment holding the marker.

use serde_json::{Value, json};

use super::{FeedbackRequest, FeedbackStatus, Scoped, record_id};
use crate::runtime::capabilities::github::GitHubError;

/// The original's default marker.
pub const DEFAULT_MARKER: &str = "<!-- verireel-preview-control -->";

/// The headline and closing note of a status.
fn wording(status: FeedbackStatus, number: u64) -> (String, &'static str) {
    match status {
        FeedbackStatus::Pending => (
            format!("Launchplane preview is waiting for PR #{number}."),
            "Preview prerequisites are still running. This note is replaced once the preview is ready or a real failure is known.",
        ),
        FeedbackStatus::Ready => (
            format!("Launchplane preview is ready for PR #{number}."),
            "The preview passed its verification.\n\nControls:\n- Push commits while the preview label stays on to refresh it.\n- Remove the label or close the PR to destroy it.\n- Inventory, plans and cleanup evidence are recorded in Launchplane.",
        ),
        FeedbackStatus::Destroyed => (
            format!("Launchplane retired the preview for PR #{number}."),
            "Launchplane recorded the cleanup of this preview.",
        ),
        FeedbackStatus::CleanupFailed => (
            format!("Launchplane preview cleanup failed for PR #{number}."),
            "The preview may still exist. Check the Launchplane cleanup record before retrying.",
        ),
        FeedbackStatus::Unsupported => (
            format!("Launchplane preview automation is unavailable for PR #{number}."),
            "No preview was requested: this pull request cannot use the protected preview path.",
        ),
        FeedbackStatus::Cleared => (
            format!("Launchplane cleared preview feedback for PR #{number}."),
            "Launchplane keeps this record as evidence of the cleared feedback.",
        ),
        FeedbackStatus::Failed => (
            format!("Launchplane preview refresh failed for PR #{number}."),
            "No fresh preview link is advertised from this run. Treat an older preview as stale until a later refresh succeeds.",
        ),
    }
}

/// The comment: marker, headline, the facts given, the status's note.
pub fn render_comment(request: &FeedbackRequest) -> String {
    let (headline, note) = wording(request.status, request.anchor_pr_number);
    let mut lines = vec![request.marker.trim().to_string(), headline, String::new()];
    let facts = [
        ("Preview URL", request.preview_url.trim(), false),
        (
            "Immutable image",
            request.immutable_image_reference.trim(),
            true,
        ),
        ("Refresh tag", request.refresh_image_reference.trim(), true),
        ("Revision", request.revision.trim(), true),
        ("Workflow run", request.run_url.trim(), false),
        ("Failure summary", request.failure_summary.trim(), false),
    ];
    for (label, value, code) in facts {
        if !value.is_empty() {
            lines.push(if code {
                format!("- {label}: `{value}`")
            } else {
                format!("- {label}: {value}")
            });
        }
    }
    lines.push(String::new());
    lines.push(note.to_string());
    lines.join("\n")
}

/// `owner`, `repo` and number of a `https://github.com/<o>/<r>/pull/<n>`.
fn pull_request_reference(url: &str) -> Option<(String, u64)> {
    let rest = url.trim().strip_prefix("https://github.com/")?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [owner, repo, "pull", number] => {
            let number: u64 = number.parse().ok().filter(|n| *n > 0)?;
            Some((format!("{owner}/{repo}"), number))
        }
        _ => None,
    }
}

/// How delivering the comment went.
struct Delivery {
    /// `delivered`, `skipped` or `failed`.
    status: &'static str,
    /// What GitHub did (`created`, `updated`, `deleted`, …), or blank.
    action: &'static str,
    comment_id: u64,
    comment_url: String,
    error_message: String,
}

impl Delivery {
    /// Nothing delivered, for `reason`.
    fn skipped(reason: impl Into<String>) -> Delivery {
        Delivery {
            status: "skipped",
            action: "",
            comment_id: 0,
            comment_url: String::new(),
            error_message: reason.into(),
        }
    }
}

/// The one marker comment written to the pull request `anchor_pr_url`
/// names, once it is checked to be PR `anchor_pr_number` of the
/// repository (nothing is sent on a dry run).
async fn deliver_comment(github: Scoped, request: &FeedbackRequest, markdown: &str) -> Delivery {
    let (capability, repo) = github;
    let number = match pull_request_reference(&request.anchor_pr_url) {
        None => return Delivery::skipped("anchor_pr_url must be a GitHub pull request URL"),
        Some((url_repo, number))
            if !url_repo.eq_ignore_ascii_case(&repo.full_name())
                || number != request.anchor_pr_number =>
        {
            return Delivery::skipped(format!(
                "anchor_pr_url must be pull request #{} of {}",
                request.anchor_pr_number,
                repo.full_name()
            ));
        }
        Some(_) if request.dry_run => return Delivery::skipped("dry run: nothing delivered"),
        Some((_, number)) => number,
    };
    let outcome = match capability {
        None => Err(GitHubError::NotConfigured(
            "no GitHub API is configured on this host".to_string(),
        )),
        Some(github) => {
            github
                .client()
                .upsert_comment(
                    request.context.trim(),
                    &repo,
                    number,
                    request.marker.trim(),
                    markdown,
                    request.status == FeedbackStatus::Cleared,
                )
                .await
        }
    };
    match outcome {
        Ok(done) => Delivery {
            status: if done.action == "no_existing_comment" {
                "skipped"
            } else {
                "delivered"
            },
            action: done.action,
            comment_id: done.comment_id,
            comment_url: done.html_url,
            error_message: String::new(),
        },
        Err(e @ GitHubError::NotConfigured(_)) => Delivery::skipped(e.to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "preview PR feedback delivery failed");
            Delivery {
                status: "failed",
                ..Delivery::skipped(e.to_string())
            }
        }
    }
}

/// The feedback record, after delivering the comment (unless a dry run).
pub(super) async fn deliver(github: Scoped, request: &FeedbackRequest) -> Value {
    let requested_at = crate::time::now_rfc3339_micros();
    let context = request.context.trim();
    let markdown = render_comment(request);
    let repository = github.1.full_name();
    let delivery = deliver_comment(github, request, &markdown).await;
    json!({
        "feedback_id": record_id(
            "preview-pr-feedback",
            &format!("{context}-pr-{}", request.anchor_pr_number),
            &requested_at,
        ),
        "product": request.product.trim(),
        "context": context,
        "source": request.source.trim(),
        "requested_at": requested_at,
        "repository": repository,
        "anchor_repo": request.anchor_repo.trim(),
        "anchor_pr_number": request.anchor_pr_number,
        "anchor_pr_url": request.anchor_pr_url.trim(),
        "status": request.status,
        "marker": request.marker.trim(),
        "comment_markdown": markdown,
        "preview_url": request.preview_url.trim(),
        "immutable_image_reference": request.immutable_image_reference.trim(),
        "refresh_image_reference": request.refresh_image_reference.trim(),
        "revision": request.revision.trim(),
        "run_url": request.run_url.trim(),
        "failure_summary": request.failure_summary.trim(),
        "delivery_status": delivery.status,
        "delivery_action": delivery.action,
        "comment_id": delivery.comment_id,
        "comment_url": delivery.comment_url,
        "error_message": delivery.error_message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_urls_are_parsed_strictly() {
        assert_eq!(
            pull_request_reference("https://github.com/a/b/pull/12"),
            Some(("a/b".to_string(), 12))
        );
        for bad in [
            "https://github.com/a/b/issues/12",
            "http://github.com/a/b/pull/12",
            "https://github.com/a/b/pull/0",
            "https://example.com/a/b/pull/1",
        ] {
            assert_eq!(pull_request_reference(bad), None, "{bad}");
        }
    }
}
