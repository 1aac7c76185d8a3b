//! `prod-backup-gate` (reference §11.4): a restore point of the prod
//! database and filestore, taken as a provider job on the prod lane, and
//! the `backup_gate` record a promotion's `promotion-gate` then requires.
//!
//! The record is written `pending` before the job runs and `pass` (with
//! where the dump, the filestore archive and the manifest are) or `fail`
//! (with the error, no paths) after it: only a finished, successful capture
//! ever reads as `pass`. A gate id that already passed answers from its
//! record without running the job again, so a retried promotion request
//! reuses its restore point; one that failed is refused before anything
//! runs (the record stays the failure's evidence: a new capture needs a
//! new id).

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;
use lifecycle_records::{self as records, BackupGateRecord, ReleaseStatus};

use crate::checks::{invalid, non_blank, normalized, optional_at_least};
use crate::models::{PassFail, ProdBackupGateRequest, ProdBackupGateResult};

/// The provider job that captures the gate (the original's schedule name).
pub const JOB_NAME: &str = "platform-odoo-backup-gate";
/// `source` of the records written here.
pub const SOURCE: &str = "launchplane-odoo-prod-backup-gate";
/// Where the filestore lives when the lane does not say.
pub const DEFAULT_FILESTORE_PATH: &str = "/volumes/data/filestore";
/// How long the capture may run when the request does not say.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 3600;

/// The lane settings the capture reads.
struct Settings {
    database: String,
    backup_root: String,
    filestore: String,
}

/// Where one gate's files go: `<root>/<db>/<backup_record_id>/…`.
struct Paths {
    dir: String,
    dump: String,
    archive: String,
    manifest: String,
}

impl Paths {
    fn of(settings: &Settings, backup_record_id: &str) -> Paths {
        let root = settings.backup_root.trim_end_matches('/');
        let db = &settings.database;
        let dir = format!("{root}/{db}/{backup_record_id}");
        Paths {
            dump: format!("{dir}/{db}.dump"),
            archive: format!("{dir}/{db}-filestore.tar.gz"),
            manifest: format!("{dir}/manifest.json"),
            dir,
        }
    }
}

/// Captures the gate; see the module docs.
pub fn prod_backup_gate(
    ctx: &Ctx<'_>,
    req: ProdBackupGateRequest,
) -> Result<Reply<ProdBackupGateResult>, DriverError> {
    non_blank("context", &req.context)?;
    if normalized(&req.instance) != "prod" {
        return Err(invalid("instance", "must be `prod`"));
    }
    non_blank("backup_record_id", &req.backup_record_id)?;
    optional_at_least("timeout_seconds", req.timeout_seconds, 1)?;
    let context = normalized(&req.context);
    let instance = "prod";
    let record_id = req.backup_record_id.trim().to_string();
    let mut result = ProdBackupGateResult {
        context: context.clone(),
        instance: instance.to_string(),
        backup_record_id: record_id.clone(),
        backup_status: PassFail::Fail,
        backup_root: String::new(),
        database_dump_path: String::new(),
        filestore_archive_path: String::new(),
        manifest_path: String::new(),
        error_message: String::new(),
    };

    if let Some(reply) = existing(ctx, &context, result.clone())? {
        return Ok(reply);
    }

    let settings = settings(ctx, &context, instance)?;
    let paths = Paths::of(&settings, &record_id);
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

    let command = capture_command(&settings, &paths, &record_id, &started_at);
    let timeout = req.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let outcome = ctx
        .host()
        .run_job(&context, instance, JOB_NAME, &command, timeout);
    match outcome {
        Ok(job) if job.status == "pass" => {
            gate.status = ReleaseStatus::Pass;
            gate.evidence = BTreeMap::from([
                ("database_name".to_string(), settings.database.clone()),
                ("filestore_path".to_string(), settings.filestore.clone()),
                ("backup_root".to_string(), settings.backup_root.clone()),
                ("backup_dir".to_string(), paths.dir.clone()),
                ("database_dump_path".to_string(), paths.dump.clone()),
                ("filestore_archive_path".to_string(), paths.archive.clone()),
                ("manifest_path".to_string(), paths.manifest.clone()),
            ]);
            fill_paths(&mut result, &gate.evidence);
            result.backup_status = PassFail::Pass;
        }
        failed => {
            let message = match failed {
                Ok(job) => format!("the backup job ended {}: {}", job.status, job.detail),
                Err(e) => format!("the backup job could not run: {}", e.message()),
            };
            gate.status = ReleaseStatus::Fail;
            gate.evidence = BTreeMap::from([("error_message".to_string(), message.clone())]);
            result.error_message = message;
        }
    }
    records::write(ctx, "backup_gate", &gate)?;
    Ok(Reply::new(result).record("backup_record_id", record_id))
}

/// A gate already stored under the request's id: a passed one is answered
/// again (no second capture), a failed one refuses (evidence is never
/// overwritten), one of another lane refuses; `None` when there is none or
/// it is still pending.
fn existing(
    ctx: &Ctx<'_>,
    context: &str,
    mut result: ProdBackupGateResult,
) -> Result<Option<Reply<ProdBackupGateResult>>, DriverError> {
    let record_id = result.backup_record_id.clone();
    let instance = result.instance.as_str();
    let Some(stored) = records::read::<BackupGateRecord>(ctx, "backup_gate", &record_id)? else {
        return Ok(None);
    };
    if stored.context != context || normalized(&stored.instance) != instance {
        return Err(invalid(
            "backup_record_id",
            format!(
                "`{record_id}` is a gate of lane {}/{}",
                stored.context, stored.instance
            ),
        ));
    }
    if stored.status == ReleaseStatus::Pass {
        fill_paths(&mut result, &stored.evidence);
        result.backup_status = PassFail::Pass;
        return Ok(Some(
            Reply::new(result).record("backup_record_id", record_id),
        ));
    }
    // A gate record is evidence: a failed capture stays failed, so a
    // new capture needs a new id.
    if stored.status == ReleaseStatus::Fail {
        return Err(DriverError::PreconditionFailed(format!(
            "backup gate `{record_id}` already failed ({}); capture under a new backup_record_id (prod-promotion-run: a new request_id)",
            stored
                .evidence
                .get("error_message")
                .map_or("", String::as_str)
        )));
    }
    Ok(None)
}

/// `ODOO_DB_NAME` and `ODOO_BACKUP_ROOT` are required (409 naming the one
/// missing, before anything is written); `ODOO_FILESTORE_PATH` has the
/// original's default.
fn settings(ctx: &Ctx<'_>, context: &str, instance: &str) -> Result<Settings, DriverError> {
    let keys = ["ODOO_DB_NAME", "ODOO_BACKUP_ROOT", "ODOO_FILESTORE_PATH"].map(String::from);
    let values = ctx.host().settings(context, instance, &keys)?;
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let required = |key: &str| {
        get(key).ok_or_else(|| {
            DriverError::PreconditionFailed(format!(
                "the {context}/{instance} runtime settings have no `{key}`; a prod backup gate needs it \
                 (launchplane environments put, or /v1/product-config/apply)"
            ))
        })
    };
    let database = required("ODOO_DB_NAME")?;
    let backup_root = required("ODOO_BACKUP_ROOT")?;
    for (key, value) in [
        ("ODOO_DB_NAME", &database),
        ("ODOO_BACKUP_ROOT", &backup_root),
    ] {
        if value.contains(['\'', '\n', '\0']) {
            return Err(DriverError::PreconditionFailed(format!(
                "runtime setting `{key}` holds a quote or a line break"
            )));
        }
    }
    Ok(Settings {
        database,
        backup_root,
        filestore: get("ODOO_FILESTORE_PATH").unwrap_or_else(|| DEFAULT_FILESTORE_PATH.to_string()),
    })
}

/// The capture as one shell line: a custom-format dump of the database, a
/// tar of the filestore, and a manifest naming both. Arguments are quoted
/// by the provider (`shell_join`); this is `sh -c <script>`.
fn capture_command(settings: &Settings, paths: &Paths, record_id: &str, at: &str) -> Vec<String> {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let manifest = json!({
        "backup_record_id": record_id,
        "database_name": settings.database,
        "database_dump_path": paths.dump,
        "filestore_archive_path": paths.archive,
        "created_at": at,
    })
    .to_string();
    let script = format!(
        "set -eu; mkdir -p {dir}; pg_dump --format=custom --file={dump} {db}; \
         tar -czf {archive} -C {filestore} .; printf '%s\\n' {manifest} > {manifest_path}",
        dir = q(&paths.dir),
        dump = q(&paths.dump),
        db = q(&settings.database),
        archive = q(&paths.archive),
        filestore = q(&settings.filestore),
        manifest = q(&manifest),
        manifest_path = q(&paths.manifest),
    );
    vec!["sh".to_string(), "-c".to_string(), script]
}

fn fill_paths(result: &mut ProdBackupGateResult, evidence: &BTreeMap<String, String>) {
    let get = |key: &str| evidence.get(key).cloned().unwrap_or_default();
    result.backup_root = get("backup_root");
    result.database_dump_path = get("database_dump_path");
    result.filestore_archive_path = get("filestore_archive_path");
    result.manifest_path = get("manifest_path");
}
