//! Timestamps in the one format records and responses use.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as RFC 3339 UTC with second precision (`2026-11-22T10:00:00Z`).
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Now, as RFC 3339 UTC with microseconds (`2026-11-22T10:00:00.123456Z`),
/// for records whose ids embed their timestamp and may be written more than
/// once a second (authorization policy records, as in the original).
pub fn now_rfc3339_micros() -> String {
    let now = OffsetDateTime::now_utc();
    let micros = now.microsecond();
    let now = now.replace_nanosecond(micros * 1000).unwrap_or(now);
    now.format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
