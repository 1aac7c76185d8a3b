//! Where a VeriReel stable lane lives and whether the expected build is
//! live on it: the `stable-environment` and `runtime-verification` actions,
//! and the rollout check the `verify` hook runs after every deploy that
//! generic-web makes for a VeriReel product.
//!
//! VeriReel's app reports the build it runs (`buildRevision`, `buildTag`)
//! and `ok` in the JSON of `<base>/api/health`, and its public pages must
//! render. The host's `probe.check-content` polls for that; this module
//! only says which fields and text to expect.

use launchplane_sdk::prelude::*;
use lifecycle_records::{ProductProfile, ReleaseStatus, age_seconds};

use crate::checks::{at_least, non_blank};
use crate::models::*;

/// The path of VeriReel's health payload under every base URL.
pub const HEALTH_PATH: &str = "/api/health";
/// Pages that must render, and the text each must show.
pub const ROLLOUT_PAGES: [&str; 2] = ["/", "/sign-in"];
pub const PAGE_MARKER: &str = "VeriReel";
/// Per-request timeout of a rollout probe.
const PROBE_REQUEST_TIMEOUT_MS: u32 = 15_000;
/// Page checks get this long (one round; a page is checked once the health
/// payload shows the expected build).
const PAGE_CHECK_MS: u32 = 15_000;
/// The default healthcheck path of a target that names none.
const DEFAULT_HEALTHCHECK_PATH: &str = "/web/health";

impl StableInstance {
    pub fn as_str(&self) -> &'static str {
        match self {
            StableInstance::Testing => "testing",
            StableInstance::Prod => "prod",
        }
    }
}

/// A target's domains as base URLs: `https://` when no scheme is given, no
/// trailing slash, each once, in order.
pub fn base_urls(domains: &[String]) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for domain in domains {
        let domain = domain.trim();
        if domain.is_empty() {
            continue;
        }
        let url = if domain.contains("://") {
            domain.to_string()
        } else {
            format!("https://{domain}")
        };
        let url = url.trim_end_matches('/').to_string();
        if !url.is_empty() && !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

/// A lane's base URLs: its target's domains, then the product profile's
/// `base_url` of the lane (the original derived them from either), each
/// once.
pub fn lane_bases(ctx: &Ctx<'_>, instance: &str, domains: &[String]) -> Vec<String> {
    let mut all = domains.to_vec();
    let profile = lifecycle_records::read::<ProductProfile>(ctx, "product_profile", ctx.product())
        .ok()
        .flatten();
    if let Some(lane) = profile.as_ref().and_then(|p| p.lane(instance)) {
        all.push(lane.base_url.clone());
    }
    base_urls(&all)
}

/// A healthcheck path with a leading `/`, the provider default when blank.
fn healthcheck_path(path: &str) -> String {
    let path = path.trim();
    let path = if path.is_empty() {
        DEFAULT_HEALTHCHECK_PATH
    } else {
        path
    };
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The tag of the image `artifact_id` names: what follows the last `:` of
/// its last path segment, if any.
pub fn artifact_tag(artifact_id: &str) -> &str {
    let name = artifact_id.rsplit('/').next().unwrap_or_default();
    let name = name.split('@').next().unwrap_or_default();
    name.rsplit_once(':')
        .map(|(_, tag)| tag)
        .unwrap_or_default()
}

fn lane_error(context: &str, instance: &str, error: &HostError) -> String {
    format!(
        "cannot resolve the runtime target of {context}/{instance}: {}",
        error.message()
    )
}

/// `stable-environment`: the lane's target and URLs, from the records. Never
/// cached (the route has no idempotency).
pub fn stable_environment(
    ctx: &Ctx<'_>,
    req: StableEnvironmentRequest,
) -> Result<Reply<StableEnvironmentResult>, DriverError> {
    non_blank("context", &req.context)?;
    let context = req.context.trim();
    let instance = req.instance.as_str();
    let target = ctx
        .host()
        .resolve_target(context, instance)
        .map_err(|e| match e {
            HostError::NotFound(_) => DriverError::NotFound(lane_error(context, instance, &e)),
            other => DriverError::PreconditionFailed(lane_error(context, instance, &other)),
        })?;
    let base_urls = lane_bases(ctx, instance, &target.domains);
    let Some(primary) = base_urls.first().cloned() else {
        return Err(DriverError::PreconditionFailed(format!(
            "no base URL is configured for {context}/{instance}: neither its runtime target nor the product profile names one"
        )));
    };
    let path = healthcheck_path(&target.healthcheck_path);
    let health_urls = base_urls.iter().map(|b| format!("{b}{path}")).collect();
    Ok(Reply::new(StableEnvironmentResult {
        context: context.to_string(),
        instance: req.instance,
        target_name: target.target_name,
        target_type: target.target_type,
        // The provider's own id of the target stays with the host.
        target_id: String::new(),
        base_urls,
        primary_base_url: primary,
        healthcheck_path: path,
        health_urls,
    }))
}

/// How long a rollout may take, and how often it is polled (reference
/// §12: every `interval` until `timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolloutWindow {
    pub timeout_seconds: u32,
    pub interval_seconds: u32,
}

/// What a rollout should find live.
pub struct ExpectedBuild<'a> {
    pub revision: &'a str,
    pub tag: &'a str,
}

/// The JSON fields `<base>/api/health` must report: `ok: true`, and the
/// expected build where one is known.
fn health_fields(expected: &ExpectedBuild<'_>) -> Vec<(String, String)> {
    let mut fields = vec![("ok".to_string(), "true".to_string())];
    for (field, value) in [
        ("buildRevision", expected.revision),
        ("buildTag", expected.tag),
    ] {
        if !value.is_empty() {
            fields.push((field.to_string(), Value::from(value).to_string()));
        }
    }
    fields
}

/// Rollout verification: poll `<base>/api/health` of every base URL, one
/// round every `interval_seconds`, until one reports `ok: true` and the
/// expected build or `timeout_seconds` have passed (the original's
/// deadline: by the host's clock, and by the pauses taken, whichever ends
/// first), then check that its pages render. Never fails the request: a
/// failure, including a lane without a base URL, is `status: fail` with
/// the reason. `lane` names the lane in messages (`testing`, `prod`).
pub fn verify_rollout(
    ctx: &Ctx<'_>,
    lane: &str,
    bases: &[String],
    expected: &ExpectedBuild<'_>,
    window: RolloutWindow,
) -> RolloutVerificationResult {
    let host = ctx.host();
    let started_at = host.now();
    let prefix = format!("VeriReel {lane} rollout");
    let failed =
        |base_url: &str, health_urls: Vec<String>, message: String| RolloutVerificationResult {
            status: ReleaseStatus::Fail,
            base_url: base_url.to_string(),
            health_urls,
            started_at: started_at.clone(),
            finished_at: host.now(),
            error_message: message,
        };
    let Some(first) = bases.first() else {
        return failed(
            "",
            Vec::new(),
            format!("no rollout base URL is configured for the {lane} lane"),
        );
    };
    let health_urls: Vec<String> = bases.iter().map(|b| format!("{b}{HEALTH_PATH}")).collect();
    let first_health = vec![health_urls[0].clone()];
    let timeout_ms = window.timeout_seconds.saturating_mul(1000);
    let round = ContentCheck {
        urls: health_urls.clone(),
        timeout_ms: PROBE_REQUEST_TIMEOUT_MS.min(timeout_ms.max(1)),
        poll_for_ms: 0,
        json_fields: health_fields(expected),
        contains: String::new(),
    };
    let interval_ms = window.interval_seconds.max(1).saturating_mul(1000);
    let mut paused_ms: u32 = 0;
    let health = loop {
        let detail = match host.content_check(&round) {
            Ok(result) if result.status == "pass" => break result,
            Ok(result) => result.detail,
            Err(e) => {
                let message = format!("{prefix} verification could not run: {}", e.message());
                return failed(first, first_health, message);
            }
        };
        let elapsed_ms = age_seconds(&started_at, &host.now())
            .map_or(0, |s| {
                u32::try_from(s.saturating_mul(1000)).unwrap_or(u32::MAX)
            })
            .max(paused_ms);
        if elapsed_ms >= timeout_ms {
            let message = format!("{prefix} verification timed out: {detail}");
            return failed(first, first_health, message);
        }
        let pause = interval_ms.min(timeout_ms - elapsed_ms);
        host.sleep(pause);
        paused_ms = paused_ms.saturating_add(pause);
    };
    let base = bases
        .iter()
        .find(|b| health.url == format!("{b}{HEALTH_PATH}"))
        .unwrap_or(first)
        .clone();
    let passed_health = vec![health.url.clone()];
    for page in ROLLOUT_PAGES {
        let url = format!("{base}{page}");
        let check = ContentCheck {
            urls: vec![url.clone()],
            timeout_ms: PAGE_CHECK_MS,
            poll_for_ms: 0,
            json_fields: Vec::new(),
            contains: PAGE_MARKER.to_string(),
        };
        let problem = match host.content_check(&check) {
            Ok(result) if result.status == "pass" => continue,
            Ok(result) => format!("failed for {url}: {}", result.detail),
            Err(e) => format!("could not run for {url}: {}", e.message()),
        };
        return failed(
            &base,
            passed_health,
            format!("{prefix} page verification {problem}"),
        );
    }
    RolloutVerificationResult {
        status: ReleaseStatus::Pass,
        base_url: base,
        health_urls: passed_health,
        started_at,
        finished_at: host.now(),
        error_message: String::new(),
    }
}

/// `runtime-verification`: rollout verification alone. Never cached.
pub fn runtime_verification(
    ctx: &Ctx<'_>,
    req: RolloutVerificationRequest,
) -> Result<Reply<RolloutVerificationResult>, DriverError> {
    non_blank("context", &req.context)?;
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)?;
    at_least("interval_seconds", req.interval_seconds.into(), 1)?;
    let context = req.context.trim();
    let expected = ExpectedBuild {
        revision: req.expected_build_revision.trim(),
        tag: req.expected_build_tag.trim(),
    };
    let instance = req.instance.as_str();
    let bases = match ctx.host().resolve_target(context, instance) {
        Ok(target) => lane_bases(ctx, instance, &target.domains),
        Err(e) => {
            let now = ctx.host().now();
            return Ok(Reply::new(RolloutVerificationResult {
                status: ReleaseStatus::Fail,
                base_url: String::new(),
                health_urls: Vec::new(),
                started_at: now.clone(),
                finished_at: now,
                error_message: lane_error(context, instance, &e),
            }));
        }
    };
    let window = RolloutWindow {
        timeout_seconds: req.timeout_seconds,
        interval_seconds: req.interval_seconds,
    };
    Ok(Reply::new(verify_rollout(
        ctx, instance, &bases, &expected, window,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized_once_each() {
        let domains = [
            " ver.example.com ",
            "https://ver.example.com/",
            "",
            "http://alt.example.com//",
        ]
        .map(String::from);
        assert_eq!(
            base_urls(&domains),
            ["https://ver.example.com", "http://alt.example.com"]
        );
    }

    #[test]
    fn artifact_tags() {
        assert_eq!(artifact_tag("ghcr.io/o/verireel:sha-abc"), "sha-abc");
        assert_eq!(artifact_tag("registry:5000/o/verireel"), "");
        assert_eq!(artifact_tag("ghcr.io/o/verireel:1.2@sha256:0123"), "1.2");
    }

    #[test]
    fn healthcheck_paths() {
        assert_eq!(healthcheck_path(""), "/web/health");
        assert_eq!(healthcheck_path("api/health"), "/api/health");
        assert_eq!(healthcheck_path(" /api/health "), "/api/health");
    }
}
