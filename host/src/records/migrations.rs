//! Schema migrations, embedded in the binary: one folder per backend under
//! `migrations/`, each step with an `up` and a `down` script so a release
//! can be rolled back to the previous revision.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, up, down) for one backend.
type Step = (i64, &'static str, &'static str, &'static str);

const POSTGRES: &[Step] = &[
    (
        1,
        "records",
        include_str!("../../../migrations/postgres/0001_records.up.sql"),
        include_str!("../../../migrations/postgres/0001_records.down.sql"),
    ),
    (
        2,
        "authz policies",
        include_str!("../../../migrations/postgres/0002_authz_policies.up.sql"),
        include_str!("../../../migrations/postgres/0002_authz_policies.down.sql"),
    ),
    (
        3,
        "lane leases",
        include_str!("../../../migrations/postgres/0003_lane_leases.up.sql"),
        include_str!("../../../migrations/postgres/0003_lane_leases.down.sql"),
    ),
    (
        4,
        "idempotency attempts",
        include_str!("../../../migrations/postgres/0004_idempotency_attempts.up.sql"),
        include_str!("../../../migrations/postgres/0004_idempotency_attempts.down.sql"),
    ),
    (
        5,
        "audit coalescing",
        include_str!("../../../migrations/postgres/0005_audit_coalescing.up.sql"),
        include_str!("../../../migrations/postgres/0005_audit_coalescing.down.sql"),
    ),
    (
        6,
        "human sessions",
        include_str!("../../../migrations/postgres/0006_human_sessions.up.sql"),
        include_str!("../../../migrations/postgres/0006_human_sessions.down.sql"),
    ),
];

const SQLITE: &[Step] = &[
    (
        1,
        "records",
        include_str!("../../../migrations/sqlite/0001_records.up.sql"),
        include_str!("../../../migrations/sqlite/0001_records.down.sql"),
    ),
    (
        2,
        "authz policies",
        include_str!("../../../migrations/sqlite/0002_authz_policies.up.sql"),
        include_str!("../../../migrations/sqlite/0002_authz_policies.down.sql"),
    ),
    (
        3,
        "lane leases",
        include_str!("../../../migrations/sqlite/0003_lane_leases.up.sql"),
        include_str!("../../../migrations/sqlite/0003_lane_leases.down.sql"),
    ),
    (
        4,
        "idempotency attempts",
        include_str!("../../../migrations/sqlite/0004_idempotency_attempts.up.sql"),
        include_str!("../../../migrations/sqlite/0004_idempotency_attempts.down.sql"),
    ),
    (
        5,
        "audit coalescing",
        include_str!("../../../migrations/sqlite/0005_audit_coalescing.up.sql"),
        include_str!("../../../migrations/sqlite/0005_audit_coalescing.down.sql"),
    ),
    (
        6,
        "human sessions",
        include_str!("../../../migrations/sqlite/0006_human_sessions.up.sql"),
        include_str!("../../../migrations/sqlite/0006_human_sessions.down.sql"),
    ),
];

/// The newest schema revision this binary knows.
pub const LATEST: i64 = 6;

fn migrator(steps: &'static [Step]) -> Migrator {
    let mut migrations = Vec::with_capacity(steps.len() * 2);
    for (version, description, up, down) in steps {
        migrations.push(Migration::new(
            *version,
            Cow::Borrowed(*description),
            MigrationType::ReversibleUp,
            up.into_sql_str(),
            false,
        ));
        migrations.push(Migration::new(
            *version,
            Cow::Borrowed(*description),
            MigrationType::ReversibleDown,
            down.into_sql_str(),
            false,
        ));
    }
    Migrator::with_migrations(migrations)
}

pub fn postgres() -> Migrator {
    migrator(POSTGRES)
}

pub fn sqlite() -> Migrator {
    migrator(SQLITE)
}
