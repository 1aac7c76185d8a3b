//! `testing-verification`: the testing workflow's check outcomes (Prisma
//! migrations, the product smoke run, owner routes) folded into the testing
//! deployment they verified. VeriReel-only: generic-web's deploy wrote the
//! deployment; this records what VeriReel's own workflow found after it.

use launchplane_sdk::prelude::*;
use lifecycle_records::{
    self as records, DeploymentRecord, HealthcheckEvidence, PostDeployUpdateEvidence,
    ReleaseStatus, inventory_id,
};

use crate::checks::{invalid, non_blank, release_status};
use crate::models::*;

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
