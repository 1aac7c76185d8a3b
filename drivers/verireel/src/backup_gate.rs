//! `prod-backup-gate`: a restore point of VeriReel's prod database, taken
//! as a provider job on the prod lane, and the `backup_gate` record that
//! the `promotion-gate` hook then requires before prod changes.
//!
//! The original snapshotted the whole prod container through an external
//! worker. Here the restore point is a custom-format `pg_dump` of the
//! database the prod application already reaches (`DATABASE_URL` of its
//! own runtime, never read by the driver), written under the lane's
//! `VERIREEL_BACKUP_ROOT`. The record is written `pending` before the job
//! runs and `pass` (with the dump's path as `snapshot_name`) or `fail`
//! (with the error) after it: only a finished, successful dump ever reads
//! as `pass`. A gate id that already passed answers from its record, so a
//! retried workflow reuses its restore point.
//!
//! The original answered at once (`pending`) and took the gate in the
//! background; here the action is a durable operation of the prod lane
//! (HTTP 202 naming it, polled at `/v1/operations/{id}`), whose
//! `admit-operation` hook ([`admit`]) refuses a request that cannot
//! succeed before anything is queued.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;
use lifecycle_records::{self as records, BackupGateRecord, ReleaseStatus};

use crate::checks::{at_least, invalid, non_blank};
use crate::models::{ProdBackupGateRequest, ProdBackupGateResult};

/// The provider job that takes the dump.
pub const JOB_NAME: &str = "ver-prod-backup-gate";
/// The provider job that restores a dump during a rollback.
pub const RESTORE_JOB_NAME: &str = "ver-prod-restore";
/// `source` of the records written here (the original's).
pub const SOURCE: &str = "launchplane-verireel-prod-backup-gate";
/// The lane setting naming the directory dumps go under.
pub const BACKUP_ROOT_KEY: &str = "VERIREEL_BACKUP_ROOT";
/// Evidence keys of a passing gate.
pub const SNAPSHOT_NAME: &str = "snapshot_name";
pub const DUMP_PATH: &str = "database_dump_path";

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The dump as one shell line; `$DATABASE_URL` is expanded inside the
/// application's container, so its value never reaches Launchplane.
pub fn dump_command(dir: &str, dump: &str) -> Vec<String> {
    let script = format!(
        "set -eu; mkdir -p {dir}; pg_dump --format=custom --no-owner --file={dump} \"$DATABASE_URL\"",
        dir = quote(dir),
        dump = quote(dump),
    );
    vec!["sh".to_string(), "-c".to_string(), script]
}

/// The restore of a gate's dump into the application's database.
pub fn restore_command(dump: &str) -> Vec<String> {
    let script = format!(
        "set -eu; pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" {dump}",
        dump = quote(dump),
    );
    vec!["sh".to_string(), "-c".to_string(), script]
}

/// The gate's dump directory and file: `<root>/<backup_record_id>/verireel.dump`.
fn paths(root: &str, record_id: &str) -> (String, String) {
    let dir = format!("{}/{record_id}", root.trim_end_matches('/'));
    let dump = format!("{dir}/verireel.dump");
    (dir, dump)
}

/// The request's own rules, in the original's order.
fn check(req: &ProdBackupGateRequest) -> Result<(), DriverError> {
    non_blank("context", &req.context)?;
    if req.instance.trim() != "prod" {
        return Err(invalid("instance", "must be `prod`"));
    }
    non_blank("backup_record_id", &req.backup_record_id)?;
    at_least("timeout_seconds", req.timeout_seconds.into(), 1)
}

/// `admit-operation` for `prod-backup-gate`: before the operation is
/// queued, the request's rules, a gate id not taken by another lane, and
/// the lane's `VERIREEL_BACKUP_ROOT` (409 naming it), so a request that
/// cannot succeed is refused at once instead of failing in the worker.
pub fn admit(ctx: &Ctx<'_>, request: Value) -> Result<Value, DriverError> {
    if ctx.invocation().action_id != "prod_backup_gate" {
        return Ok(json!({}));
    }
    let req: ProdBackupGateRequest = crate::lifecycle::parse(request)?;
    check(&req)?;
    let context = req.context.trim();
    let record_id = req.backup_record_id.trim();
    if let Some(stored) = records::read::<BackupGateRecord>(ctx, "backup_gate", record_id)?
        && (stored.context != context || stored.instance.trim() != "prod")
    {
        return Err(taken(record_id, &stored));
    }
    backup_root(ctx, context, "prod")?;
    Ok(json!({}))
}

/// A gate id that names another lane's gate.
fn taken(record_id: &str, stored: &BackupGateRecord) -> DriverError {
    invalid(
        "backup_record_id",
        format_args!(
            "`{record_id}` is a gate of lane {}/{}",
            stored.context, stored.instance
        ),
    )
}

/// Takes the gate; see the module docs.
///
/// Host calls, in order: `record_get backup_gate` (a passing one answers
/// at once), `settings VERIREEL_BACKUP_ROOT` (409 naming it when unset),
/// `record_put backup_gate` (pending), `run_job ver-prod-backup-gate`,
/// `record_put backup_gate` (pass or fail).
pub fn prod_backup_gate(
    ctx: &Ctx<'_>,
    req: ProdBackupGateRequest,
) -> Result<Reply<ProdBackupGateResult>, DriverError> {
    check(&req)?;
    let context = req.context.trim().to_string();
    let instance = "prod";
    let record_id = req.backup_record_id.trim().to_string();
    let answer = |gate: &BackupGateRecord, started_at: &str, finished_at: &str| {
        let evidence = |key: &str| gate.evidence.get(key).cloned().unwrap_or_default();
        let result = ProdBackupGateResult {
            backup_record_id: record_id.clone(),
            backup_status: gate.status,
            backup_started_at: started_at.to_string(),
            backup_finished_at: finished_at.to_string(),
            snapshot_name: evidence(SNAPSHOT_NAME),
            error_message: evidence("error_message"),
        };
        Reply::new(result).record("backup_gate_record_id", record_id.clone())
    };

    if let Some(stored) = records::read::<BackupGateRecord>(ctx, "backup_gate", &record_id)? {
        if stored.context != context || stored.instance.trim() != instance {
            return Err(taken(&record_id, &stored));
        }
        if stored.status == ReleaseStatus::Pass {
            return Ok(answer(&stored, &stored.created_at, &stored.created_at));
        }
    }

    let root = backup_root(ctx, &context, instance)?;
    let (dir, dump) = paths(&root, &record_id);
    let started_at = ctx.host().now();
    let mut gate = BackupGateRecord {
        schema_version: 1,
        record_id: record_id.clone(),
        context: context.clone(),
        instance: instance.to_string(),
        created_at: started_at.clone(),
        source: SOURCE.to_string(),
        required: true,
        status: ReleaseStatus::Pending,
        evidence: BTreeMap::new(),
    };
    records::write(ctx, "backup_gate", &gate)?;

    let outcome = ctx.host().run_job(
        &context,
        instance,
        JOB_NAME,
        &dump_command(&dir, &dump),
        req.timeout_seconds,
    );
    match outcome {
        Ok(job) if job.status == "pass" => {
            gate.status = ReleaseStatus::Pass;
            gate.evidence = BTreeMap::from([
                (SNAPSHOT_NAME.to_string(), record_id.clone()),
                ("backup_dir".to_string(), dir),
                (DUMP_PATH.to_string(), dump),
            ]);
        }
        failed => {
            let message = match failed {
                Ok(job) => format!("the backup job ended {}: {}", job.status, job.detail),
                Err(e) => format!("the backup job could not run: {}", e.message()),
            };
            gate.status = ReleaseStatus::Fail;
            gate.evidence = BTreeMap::from([("error_message".to_string(), message)]);
        }
    }
    records::write(ctx, "backup_gate", &gate)?;
    let finished_at = ctx.host().now();
    Ok(answer(&gate, &started_at, &finished_at))
}

/// `VERIREEL_BACKUP_ROOT` of the lane, required (409 naming it, before
/// anything is written) and free of quotes and line breaks.
fn backup_root(ctx: &Ctx<'_>, context: &str, instance: &str) -> Result<String, DriverError> {
    let values = ctx
        .host()
        .settings(context, instance, &[BACKUP_ROOT_KEY.to_string()])?;
    let root = values
        .into_iter()
        .find(|(k, _)| k == BACKUP_ROOT_KEY)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "the {context}/{instance} runtime settings have no `{BACKUP_ROOT_KEY}`; a prod \
                 backup gate needs it (/v1/product-config/apply)"
            ))
        })?;
    if root.contains(['\'', '\n', '\0']) || !root.starts_with('/') {
        return Err(DriverError::PreconditionFailed(format!(
            "runtime setting `{BACKUP_ROOT_KEY}` must be an absolute path without quotes or line breaks"
        )));
    }
    Ok(root)
}
