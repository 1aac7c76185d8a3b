//! The provider side of a refresh: the preview's env (overrides, URL and
//! domain keys, the `preview-env` hook), the app created or updated, its
//! health checked, and the app deleted again only if this run created it.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

use super::refresh::Refresh;
use crate::checks::url_host;
use crate::hooks::{self, PreviewEnvAnswer, PreviewEnvPayload};
use crate::lane::{check_health, health_failure_detail};
use crate::models::*;
use crate::profile::DEFAULT_HEALTH_PATH;
use crate::records::ProductProfile;

/// What the provider side of a refresh did.
pub(super) struct Provisioned {
    /// Stage and summary of the failure, if any.
    pub(super) failure: Option<(String, String)>,
    /// A failing hook's own error, to fail the action with.
    pub(super) hook_error: Option<DriverError>,
    pub(super) health: ReleaseStatus,
    pub(super) smoke: Option<PreviewSmokeResult>,
    /// Whether the app exists once the refresh is over.
    pub(super) app_exists: bool,
}

/// Creates or updates the preview app and checks its health. Host calls,
/// in order: `list_preview_apps`, hook `preview-env`,
/// `create_preview_app`, `health_check`, and `delete_preview_app` when
/// this run created the app and its health failed.
pub(super) fn provision(
    ctx: &Ctx<'_>,
    profile: &ProductProfile,
    template_target: Option<&Target>,
    refresh: &Refresh,
    timeout_seconds: u32,
) -> Provisioned {
    let host = ctx.host();
    let existed = match host.list_preview_apps(&refresh.context, &refresh.app_name) {
        Ok(apps) => apps.iter().any(|a| a.name == refresh.app_name),
        Err(e) => {
            return failed(
                "provision",
                format!("listing preview apps failed: {}", e.message()),
                false,
            );
        }
    };

    let domain = url_host(&refresh.preview_url)
        .unwrap_or_default()
        .to_string();
    let (mut env, payload) = preview_env_request(profile, refresh);
    if let Some(failed) = call_preview_env_hook(ctx, &payload, &mut env, existed) {
        return failed;
    }

    let env: Vec<(String, String)> = env.into_iter().collect();
    if let Err(e) = host.create_preview_app(
        &refresh.context,
        &refresh.app_name,
        &refresh.image_reference,
        std::slice::from_ref(&domain),
        &env,
    ) {
        return failed(
            "provision",
            format!(
                "creating preview app `{}` failed: {}",
                refresh.app_name,
                e.message()
            ),
            existed,
        );
    }

    let path = health_path(profile, template_target);
    let url = format!("{}{path}", refresh.preview_url_origin());
    let (evidence, health) = check_health(ctx, &[url], timeout_seconds, None);
    let passed = evidence.status != ReleaseStatus::Fail;
    let message = if passed {
        format!(
            "health {} at {}",
            evidence.status.as_str(),
            evidence.urls.join(", ")
        )
    } else {
        format!("health failed: {}", health_failure_detail(health.as_ref()))
    };
    let smoke = smoke_result(passed, &message, host.now());
    if passed {
        return Provisioned {
            failure: None,
            hook_error: None,
            health: evidence.status,
            smoke: Some(smoke),
            app_exists: true,
        };
    }

    undo_created_app(ctx, refresh, existed, &message, smoke)
}

/// A provider-side failure at `stage`, before any health check.
fn failed(stage: &str, summary: String, app_exists: bool) -> Provisioned {
    Provisioned {
        failure: Some((stage.to_string(), summary)),
        hook_error: None,
        health: ReleaseStatus::Skipped,
        smoke: None,
        app_exists,
    }
}

/// The preview's env before the hook (`override_env`, then the URL and
/// domain keys) and the `preview-env` hook's payload.
fn preview_env_request(
    profile: &ProductProfile,
    refresh: &Refresh,
) -> (BTreeMap<String, String>, PreviewEnvPayload) {
    let preview = &profile.preview;
    let authority = url_authority(&refresh.preview_url);
    let mut env: BTreeMap<String, String> = preview.override_env.clone();
    for key in &preview.preview_url_env_keys {
        env.insert(key.clone(), refresh.preview_url.clone());
    }
    for key in &preview.preview_domain_env_keys {
        env.insert(key.clone(), authority.clone());
    }
    let template_lane = profile.lane(&preview.template_instance);
    let payload = PreviewEnvPayload {
        product: refresh.product.clone(),
        context: refresh.context.clone(),
        preview_slug: refresh.slug.clone(),
        anchor_pr_number: refresh.number,
        application_name: refresh.app_name.clone(),
        preview_url: refresh.preview_url.clone(),
        preview_host: authority,
        image_reference: refresh.image_reference.clone(),
        template_context: template_lane.map(|l| l.context.clone()).unwrap_or_default(),
        template_instance: preview.template_instance.clone(),
        env_keys: env.keys().cloned().collect(),
    };
    (env, payload)
}

/// Calls the `preview-env` hook and adds its env; what to return instead
/// when it fails or answers a blank key.
fn call_preview_env_hook(
    ctx: &Ctx<'_>,
    payload: &PreviewEnvPayload,
    env: &mut BTreeMap<String, String>,
    existed: bool,
) -> Option<Provisioned> {
    match hooks::call::<_, PreviewEnvAnswer>(ctx, hooks::PREVIEW_ENV, payload) {
        Ok(answer) => {
            if let Some(bad) = answer.env.keys().find(|k| k.trim().is_empty()) {
                let error = DriverError::Internal(format!(
                    "the preview-env hook answered a blank env key `{bad}`"
                ));
                return Some(Provisioned {
                    hook_error: Some(error.clone()),
                    ..failed("preview-env hook", error.message().to_string(), existed)
                });
            }
            env.extend(answer.env);
        }
        Err(e) => {
            return Some(Provisioned {
                hook_error: Some(e.clone()),
                ..failed(
                    "preview-env hook",
                    format!("the preview-env hook failed: {}", e.message()),
                    existed,
                )
            });
        }
    }
    None
}

/// The health path: the profile's, else the template target's, else the
/// default; with a leading `/`.
fn health_path(profile: &ProductProfile, template_target: Option<&Target>) -> String {
    let path = match profile.health_path.trim() {
        "" => template_target
            .map(|t| t.healthcheck_path.trim())
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_HEALTH_PATH),
        path => path,
    };
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The smoke result of the health check.
fn smoke_result(passed: bool, message: &str, checked_at: String) -> PreviewSmokeResult {
    PreviewSmokeResult {
        smoke_status: if passed {
            PassFail::Pass
        } else {
            PassFail::Fail
        },
        checked_at,
        checks: vec![PreviewSmokeCheck {
            check_id: "health".to_string(),
            status: if passed {
                PassFail::Pass
            } else {
                PassFail::Fail
            },
            message: message.to_string(),
        }],
        failure_summary: if passed {
            String::new()
        } else {
            message.to_string()
        },
    }
}

/// The failed-health outcome, after deleting the app when this run
/// created it.
fn undo_created_app(
    ctx: &Ctx<'_>,
    refresh: &Refresh,
    existed: bool,
    message: &str,
    smoke: PreviewSmokeResult,
) -> Provisioned {
    let host = ctx.host();
    // Undo only what this run created.
    let mut summary = format!("preview `{}` {message}", refresh.app_name);
    let mut app_exists = true;
    if !existed {
        match host.delete_preview_app(&refresh.context, &refresh.app_name) {
            Ok(()) => {
                app_exists = false;
                summary.push_str("; the app created by this refresh was deleted");
            }
            Err(e) => summary.push_str(&format!(
                "; deleting the app created by this refresh failed: {}",
                e.message()
            )),
        }
    }
    Provisioned {
        failure: Some(("health".to_string(), summary)),
        hook_error: None,
        health: ReleaseStatus::Fail,
        smoke: Some(smoke),
        app_exists,
    }
}

/// `host[:port]` of an absolute URL.
fn url_authority(url: &str) -> String {
    let rest = url.trim().split_once("://").map_or("", |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_string()
}

impl Refresh {
    /// The scheme and authority of the preview URL.
    fn preview_url_origin(&self) -> String {
        let url = self.preview_url.trim();
        match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://{}", url_authority(url)),
            None => url.to_string(),
        }
    }
}
