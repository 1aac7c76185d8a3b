//! VeriReel's stable lanes: where a lane lives, whether the expected build is
//! live on it, deploying an image to it, and folding the testing workflow's
//! checks into the deployment it verified.
//!
//! VeriReel differs from the generic web lifecycle in how a rollout is
//! verified: the app reports the build it runs (`buildRevision`,
//! `buildTag`) and `ok` in the JSON of `<base>/api/health`, and its public
//! pages must render. The host's `probe.check-content` polls for that; this
//! module only says which fields and text to expect.
//!
//! Deploys answer what happened (`deploy_status`, `rollout_status`,
//! `error_message`) rather than failing the request, as the original did:
//! the deployment record is written in every case, and the workflow reads
//! the outcome from it.

use launchplane_sdk::prelude::*;
use lifecycle_records::{
    self as records, ArtifactIdentityRef, DelegatedExecutor, DeploymentEvidence, DeploymentRecord,
    HealthcheckEvidence, PostDeployUpdateEvidence, ReleaseStatus, TargetType, deployment_record_id,
    inventory_id, source_keys, target_type_of,
};

use crate::checks::{
    at_least, invalid, non_blank, optional_at_least, release_status, rollout_window,
};
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
/// The deploy mode recorded in deployment evidence.
const DEPLOY_MODE: &str = "image-reference";
/// The default healthcheck path of a target that names none.
const DEFAULT_HEALTHCHECK_PATH: &str = "/web/health";

impl StableInstance {
    pub fn as_str(&self) -> &'static str {
        match self {
            StableInstance::Testing => "testing",
            StableInstance::Prod => "prod",
        }
    }

    /// The application the original named for a lane whose target could not
    /// be resolved (recorded on the failed deployment).
    fn default_target_name(&self) -> &'static str {
        match self {
            StableInstance::Testing => "ver-testing-app",
            StableInstance::Prod => "ver-prod-app",
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
    let base_urls = base_urls(&target.domains);
    let Some(primary) = base_urls.first().cloned() else {
        return Err(DriverError::PreconditionFailed(format!(
            "no base URL is configured for {context}/{instance}: its runtime target has no domains"
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

/// What a rollout should find live.
struct ExpectedBuild<'a> {
    revision: &'a str,
    tag: &'a str,
}

/// Rollout verification: poll `<base>/api/health` of every base URL of the
/// lane's `target` until one reports `ok: true` and the expected build, then
/// check that its pages render. Never fails the request: a failure,
/// including a target that could not be resolved, is `status: fail` with the
/// reason.
fn verify_rollout(
    ctx: &Ctx<'_>,
    context: &str,
    instance: StableInstance,
    target: Result<&Target, &HostError>,
    expected: &ExpectedBuild<'_>,
    timeout_seconds: u32,
) -> RolloutVerificationResult {
    let host = ctx.host();
    let started_at = host.now();
    let lane = instance.as_str();
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
    let target = match target {
        Ok(target) => target,
        Err(e) => return failed("", Vec::new(), lane_error(context, lane, e)),
    };
    let bases = base_urls(&target.domains);
    let Some(first) = bases.first() else {
        return failed(
            "",
            Vec::new(),
            format!("no rollout base URL is configured for {context}/{lane}"),
        );
    };
    let health_urls: Vec<String> = bases.iter().map(|b| format!("{b}{HEALTH_PATH}")).collect();
    let first_health = vec![health_urls[0].clone()];

    let mut json_fields = vec![("ok".to_string(), "true".to_string())];
    for (field, value) in [
        ("buildRevision", expected.revision),
        ("buildTag", expected.tag),
    ] {
        if !value.is_empty() {
            json_fields.push((field.to_string(), Value::from(value).to_string()));
        }
    }
    let health = host.content_check(&ContentCheck {
        urls: health_urls.clone(),
        timeout_ms: PROBE_REQUEST_TIMEOUT_MS.min(timeout_seconds.saturating_mul(1000)),
        poll_for_ms: timeout_seconds.saturating_mul(1000),
        json_fields,
        contains: String::new(),
    });
    let health = match health {
        Ok(result) if result.status == "pass" => result,
        Ok(result) => {
            return failed(
                first,
                first_health,
                format!("{prefix} verification timed out: {}", result.detail),
            );
        }
        Err(e) => {
            return failed(
                first,
                first_health,
                format!("{prefix} verification could not run: {}", e.message()),
            );
        }
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
        match host.content_check(&check) {
            Ok(result) if result.status == "pass" => {}
            Ok(result) => {
                return failed(
                    &base,
                    passed_health,
                    format!(
                        "{prefix} page verification failed for {url}: {}",
                        result.detail
                    ),
                );
            }
            Err(e) => {
                return failed(
                    &base,
                    passed_health,
                    format!(
                        "{prefix} page verification could not run for {url}: {}",
                        e.message()
                    ),
                );
            }
        }
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
    let target = ctx.host().resolve_target(context, req.instance.as_str());
    Ok(Reply::new(verify_rollout(
        ctx,
        context,
        req.instance,
        target.as_ref(),
        &expected,
        req.timeout_seconds,
    )))
}

/// Both stable deploy routes share one payload; the route decides the lane,
/// so a payload naming the other lane is refused rather than followed.
fn check_stable_deploy(
    req: &StableDeployRequest,
    lane: StableInstance,
    route: &str,
) -> Result<(), DriverError> {
    non_blank("context", &req.context)?;
    if req.instance != lane {
        return Err(invalid(
            "instance",
            format_args!("must be `{}` for {route}", lane.as_str()),
        ));
    }
    non_blank("artifact_id", &req.artifact_id)?;
    non_blank("source_git_ref", &req.source_git_ref)?;
    rollout_window(req.rollout_timeout_seconds, req.rollout_interval_seconds)?;
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)
}

/// `testing-deploy` and `prod-deploy`: point the lane at the image, deploy,
/// verify the rollout; write the deployment record (pending first, then its
/// outcome) whatever happens.
///
/// Host calls, in order: `resolve_target`, `record_put deployment`
/// (pending), `set_image`, `deploy`, `content_check` (health, then pages),
/// `record_put deployment` (final). The host moves the lane's inventory when
/// the deploy and the rollout passed.
pub fn stable_deploy(
    ctx: &Ctx<'_>,
    req: StableDeployRequest,
    lane: StableInstance,
    route: &str,
) -> Result<Reply<StableDeployResult>, DriverError> {
    check_stable_deploy(&req, lane, route)?;
    let host = ctx.host();
    let context = req.context.trim();
    let instance = lane.as_str();
    let artifact_id = req.artifact_id.trim();
    let source_git_ref = req.source_git_ref.trim();
    let started_at = host.now();
    let record_id = deployment_record_id(&started_at, context, instance);
    let mut record = DeploymentRecord {
        schema_version: 1,
        record_id: record_id.clone(),
        artifact_identity: Some(ArtifactIdentityRef::new(artifact_id)),
        context: context.to_string(),
        instance: instance.to_string(),
        source_git_ref: source_git_ref.to_string(),
        wait_for_completion: true,
        verify_destination_health: true,
        no_cache: req.no_cache,
        delegated_executor: DelegatedExecutor::default(),
        resolved_target: None,
        runtime_source: [(
            source_keys::IMAGE_REFERENCE.to_string(),
            artifact_id.to_string(),
        )]
        .into(),
        deploy: DeploymentEvidence {
            target_name: lane.default_target_name().to_string(),
            target_type: TargetType::Application,
            deploy_mode: DEPLOY_MODE.to_string(),
            deployment_id: String::new(),
            status: ReleaseStatus::Pending,
            started_at: started_at.clone(),
            finished_at: String::new(),
        },
        post_deploy_update: PostDeployUpdateEvidence::default(),
        destination_health: HealthcheckEvidence::skipped(),
    };
    let mut result = StableDeployResult {
        deployment_record_id: record_id.clone(),
        deploy_status: ReleaseStatus::Fail,
        deploy_started_at: started_at.clone(),
        deploy_finished_at: String::new(),
        target_name: record.deploy.target_name.clone(),
        target_type: TargetType::Application.as_str().to_string(),
        target_id: String::new(),
        rollout_status: ReleaseStatus::Skipped,
        rollout_base_url: String::new(),
        rollout_health_urls: Vec::new(),
        rollout_started_at: String::new(),
        rollout_finished_at: String::new(),
        error_message: String::new(),
    };
    // Writes the record as it stands and answers the result: the end of
    // every path.
    let finish = |record: &DeploymentRecord,
                  result: StableDeployResult|
     -> Result<Reply<StableDeployResult>, DriverError> {
        let written = records::write(ctx, "deployment", record)?;
        let mut reply = Reply::new(result).record("deployment_record_id", written);
        if record.deploy.status == ReleaseStatus::Pass
            && record.destination_health.status == ReleaseStatus::Pass
        {
            reply = reply.record("inventory_record_id", inventory_id(context, instance));
        }
        Ok(reply)
    };
    let fail_deploy = |record: &mut DeploymentRecord, result: &mut StableDeployResult, message| {
        let now = host.now();
        record.deploy.status = ReleaseStatus::Fail;
        record.deploy.finished_at = now.clone();
        result.deploy_status = ReleaseStatus::Fail;
        result.deploy_finished_at = now;
        result.error_message = message;
    };

    let target = match host.resolve_target(context, instance) {
        Ok(target) => target,
        Err(e) => {
            fail_deploy(&mut record, &mut result, lane_error(context, instance, &e));
            return finish(&record, result);
        }
    };
    record.deploy.target_name = target.target_name.clone();
    record.deploy.target_type = target_type_of(&target.target_type);
    result.target_name = target.target_name.clone();
    result.target_type = record.deploy.target_type.as_str().to_string();
    records::write(ctx, "deployment", &record)?;

    if let Err(e) = host.set_image(context, instance, artifact_id) {
        let message = format!(
            "pointing {context}/{instance} at `{artifact_id}` failed: {}",
            e.message()
        );
        fail_deploy(&mut record, &mut result, message);
        return finish(&record, result);
    }
    match host.deploy(context, instance, req.timeout_seconds.unwrap_or(0)) {
        Ok(outcome) if outcome.status == "pass" => {
            let finished = if outcome.finished_at.is_empty() {
                host.now()
            } else {
                outcome.finished_at
            };
            record.deploy.status = ReleaseStatus::Pass;
            record.deploy.finished_at = finished.clone();
            result.deploy_status = ReleaseStatus::Pass;
            result.deploy_finished_at = finished;
        }
        Ok(outcome) => {
            let detail = if outcome.detail.is_empty() {
                format!("the deploy finished with status `{}`", outcome.status)
            } else {
                outcome.detail
            };
            let message = format!("deploy failed for {context}/{instance}: {detail}");
            fail_deploy(&mut record, &mut result, message);
            return finish(&record, result);
        }
        Err(e) => {
            let message = format!("deploy failed for {context}/{instance}: {}", e.message());
            fail_deploy(&mut record, &mut result, message);
            return finish(&record, result);
        }
    }

    let revision = match req.expected_build_revision.trim() {
        "" => source_git_ref,
        given => given,
    };
    let tag = match req.expected_build_tag.trim() {
        "" => artifact_tag(artifact_id),
        given => given,
    };
    let rollout = verify_rollout(
        ctx,
        context,
        lane,
        Ok(&target),
        &ExpectedBuild { revision, tag },
        req.rollout_timeout_seconds,
    );
    record.destination_health = HealthcheckEvidence {
        verified: true,
        urls: rollout.health_urls.clone(),
        timeout_seconds: Some(req.rollout_timeout_seconds),
        status: rollout.status,
    };
    result.rollout_status = rollout.status;
    result.rollout_base_url = rollout.base_url;
    result.rollout_health_urls = rollout.health_urls;
    result.rollout_started_at = rollout.started_at;
    result.rollout_finished_at = rollout.finished_at;
    result.error_message = rollout.error_message;
    finish(&record, result)
}

/// The destination health a testing verification leaves: any failure fails
/// it, all three passing passes it, else pending wins over skipped.
fn folded_health(statuses: [&str; 3]) -> ReleaseStatus {
    if statuses.contains(&"fail") {
        ReleaseStatus::Fail
    } else if statuses.iter().all(|s| *s == "pass") {
        ReleaseStatus::Pass
    } else if statuses.contains(&"pending") {
        ReleaseStatus::Pending
    } else {
        ReleaseStatus::Skipped
    }
}

fn release(status: &str) -> ReleaseStatus {
    match status {
        "pass" => ReleaseStatus::Pass,
        "fail" => ReleaseStatus::Fail,
        "pending" => ReleaseStatus::Pending,
        _ => ReleaseStatus::Skipped,
    }
}

/// `testing-verification`: fold the testing workflow's outcomes (Prisma
/// migrations, product smoke run, owner routes) into the deployment it
/// verified. The migration becomes the post-deploy update; the destination
/// health becomes the fold of the rollout's health and both checks.
///
/// Host calls: `record_get deployment`, `record_put deployment` (the host
/// then moves the lane's inventory if deploy and health pass).
pub fn testing_verification(
    ctx: &Ctx<'_>,
    req: TestingVerificationRequest,
) -> Result<Reply<UntypedResult>, DriverError> {
    non_blank("context", &req.context)?;
    if req.instance != "testing" {
        return Err(invalid("instance", "must be `testing`"));
    }
    non_blank("deployment_record_id", &req.deployment_record_id)?;
    let migration = release_status("migration_status", &req.migration_status)?;
    let verification = release_status("verification_status", &req.verification_status)?;
    let owner_routes = release_status("owner_routes_status", &req.owner_routes_status)?;
    let context = req.context.trim();
    let deployment_id = req.deployment_record_id.trim();
    let mut deployment: DeploymentRecord = records::read(ctx, "deployment", deployment_id)?
        .ok_or_else(|| {
            DriverError::NotFound(format!("deployment record `{deployment_id}` was not found"))
        })?;
    if deployment.context != context || deployment.instance != "testing" {
        return Err(invalid(
            "deployment_record_id",
            format_args!(
                "`{deployment_id}` is a deployment of {}/{}, not {context}/testing",
                deployment.context, deployment.instance
            ),
        ));
    }
    let health = folded_health([
        deployment.destination_health.status.as_str(),
        verification,
        owner_routes,
    ]);
    deployment.post_deploy_update = PostDeployUpdateEvidence {
        attempted: migration != "skipped",
        status: release(migration),
        detail: match migration {
            "pass" => "Prisma migrations completed on testing.",
            "fail" => "Prisma migrations failed on testing.",
            _ => "",
        }
        .to_string(),
    };
    deployment.destination_health = if matches!(health, ReleaseStatus::Pass | ReleaseStatus::Fail)
        && !deployment.destination_health.urls.is_empty()
    {
        HealthcheckEvidence {
            status: health,
            ..deployment.destination_health.clone()
        }
    } else {
        HealthcheckEvidence {
            status: health,
            ..HealthcheckEvidence::skipped()
        }
    };
    let written = records::write(ctx, "deployment", &deployment)?;
    let moved = deployment.deploy.status == ReleaseStatus::Pass
        && matches!(health, ReleaseStatus::Pass | ReleaseStatus::Skipped);
    let mut result = UntypedResult::new();
    result.insert("deployment_record_id".into(), Value::from(written.clone()));
    result.insert(
        "deployment_health_status".into(),
        Value::from(health.as_str()),
    );
    result.insert("post_deploy_status".into(), Value::from(migration));
    let mut reply = Reply::new(result).record("deployment_record_id", written);
    if moved {
        reply = reply.record("inventory_record_id", inventory_id(context, "testing"));
    }
    Ok(reply)
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

    #[test]
    fn folding() {
        assert_eq!(folded_health(["pass", "pass", "pass"]), ReleaseStatus::Pass);
        assert_eq!(
            folded_health(["pass", "fail", "pending"]),
            ReleaseStatus::Fail
        );
        assert_eq!(
            folded_health(["pass", "pending", "pass"]),
            ReleaseStatus::Pending
        );
        assert_eq!(
            folded_health(["skipped", "pass", "pass"]),
            ReleaseStatus::Skipped
        );
    }
}
