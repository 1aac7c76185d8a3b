//! Odoo's readiness checks after a guarded rebuild (hook `verify`), and the
//! policy rules that require them.
//!
//! generic-web verifies the lane's health itself; a rebuilt Odoo lane must
//! also advertise its canonical URL (the page at the lane's base URL links
//! `rel="canonical"` to it) and serve the website logo, as the original's
//! stable bootstrap and target replacement verified. The request's
//! `verify_canonical` and `verify_logo` ask for them; a bootstrap policy's
//! `require_*_verification` refuses a request that switches one off.

use launchplane_sdk::prelude::*;
use lifecycle_records::hooks::{DeployHookPayload, VerifyAnswer};

use crate::checks::normalized;
use crate::models::{StableBootstrapRequest, TargetReplacementApplyRequest};
use crate::prelaunch::{Policy, STABLE_BOOTSTRAP, refuse};

/// The logo Odoo's website serves at every base URL.
pub const LOGO_PATH: &str = "/web/image/website/1/logo";
/// One probe request's timeout.
const PROBE_TIMEOUT_MS: u32 = 5_000;

/// What a rebuild asked to verify beyond health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checks {
    pub canonical: bool,
    pub logo: bool,
}

/// The checks the extension request of this invocation asks for (none for
/// a deploy that is not a rebuild).
pub fn requested(ctx: &Ctx<'_>) -> Result<Checks, DriverError> {
    let Some(extension) = &ctx.invocation().extension else {
        return Ok(Checks::default());
    };
    let request: Value = serde_json::from_str(&extension.request)
        .map_err(|e| DriverError::Internal(format!("extension request: {e}")))?;
    checks_of(&extension.action_id, request)
}

/// The checks `request` of Odoo action `action_id` asks for.
pub fn checks_of(action_id: &str, request: Value) -> Result<Checks, DriverError> {
    let parse_error = |e: serde_json::Error| DriverError::InvalidRequest(format!("{e}"));
    Ok(match action_id {
        "stable_bootstrap" => {
            let r: StableBootstrapRequest = serde_json::from_value(request).map_err(parse_error)?;
            Checks {
                canonical: r.verify_canonical,
                logo: r.verify_logo,
            }
        }
        "target_replacement_apply" => {
            let r: TargetReplacementApplyRequest =
                serde_json::from_value(request).map_err(parse_error)?;
            Checks {
                canonical: r.verify_canonical,
                logo: r.verify_logo,
            }
        }
        _ => Checks::default(),
    })
}

/// A bootstrap policy's `require_*_verification` flags (each `true` unless
/// the policy says otherwise) against the request's `verify_*`: a required
/// check the request turns off refuses it, naming the flag.
pub fn check_required(policy: &Policy, req: &StableBootstrapRequest) -> Result<(), DriverError> {
    let rules = [
        (
            "require_health_verification",
            policy.require_health_verification,
            req.verify_health,
            "health",
        ),
        (
            "require_canonical_verification",
            policy.require_canonical_verification,
            req.verify_canonical,
            "canonical URL",
        ),
        (
            "require_logo_verification",
            policy.require_logo_verification,
            req.verify_logo,
            "logo",
        ),
    ];
    for (flag, required, asked, what) in rules {
        if required && !asked {
            return Err(refuse(
                &format!("{STABLE_BOOTSTRAP}.{flag}"),
                format_args!(
                    "the lane policy requires {what} verification; the request turns it off"
                ),
            ));
        }
    }
    Ok(())
}

/// `verify`: the canonical URL and logo checks a rebuild asked for, at the
/// lane's base URL; a failed one rejects the deploy with the reason.
pub fn verify(ctx: &Ctx<'_>, payload: DeployHookPayload) -> Result<VerifyAnswer, DriverError> {
    let checks = requested(ctx)?;
    if !checks.canonical && !checks.logo {
        return Ok(VerifyAnswer::default());
    }
    let base = base_url(ctx, &payload.context, &payload.instance)?;
    let poll_for_ms = payload.health_timeout_seconds.max(1).saturating_mul(1000);
    let probe = |urls: Vec<String>, contains: String| {
        ctx.host().content_check(&ContentCheck {
            urls,
            timeout_ms: PROBE_TIMEOUT_MS.min(poll_for_ms),
            poll_for_ms,
            json_fields: Vec::new(),
            contains,
        })
    };
    let mut problems = Vec::new();
    if checks.canonical {
        let passed = [
            format!("rel=\"canonical\" href=\"{base}"),
            format!("rel='canonical' href='{base}"),
        ]
        .into_iter()
        .any(|marker| probe(vec![base.clone()], marker).is_ok_and(|r| r.status == "pass"));
        if !passed {
            problems.push(format!(
                "the page at {base} does not advertise {base} as canonical"
            ));
        }
    }
    if checks.logo {
        let url = format!("{base}{LOGO_PATH}");
        match probe(vec![url.clone()], String::new()) {
            Ok(result) if result.status == "pass" => {}
            Ok(result) => problems.push(format!("logo check {url} failed: {}", result.detail)),
            Err(e) => problems.push(format!("logo check {url} could not run: {}", e.message())),
        }
    }
    Ok(VerifyAnswer {
        verified: Some(problems.is_empty()),
        reason: problems.join("; "),
    })
}

/// The lane's base URL without a trailing `/`: the profile lane's
/// `base_url`, else `https://` and the target's first domain.
pub fn base_url(ctx: &Ctx<'_>, context: &str, instance: &str) -> Result<String, DriverError> {
    let profile = ctx.host().record_get("product_profile", ctx.product())?;
    let from_profile = profile
        .as_ref()
        .and_then(|p| p["lanes"].as_array())
        .and_then(|lanes| {
            lanes
                .iter()
                .find(|l| l["instance"].as_str().map(normalized).as_deref() == Some(instance))
        })
        .and_then(|l| l["base_url"].as_str())
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty());
    if let Some(url) = from_profile {
        return Ok(url);
    }
    let target = ctx
        .host()
        .resolve_target(context, instance)
        .map_err(DriverError::from)?;
    target
        .domains
        .first()
        .map(|d| format!("https://{}", crate::prelaunch::domain(d)))
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "lane {context}/{instance} has no base_url and its target no domain to verify"
            ))
        })
}
