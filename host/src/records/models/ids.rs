//! Server-generated record ids (reference §6.1).

use time::OffsetDateTime;
use time::macros::format_description;

/// The timestamp in record ids: UTC `%Y%m%dT%H%M%SZ`
/// (`20260429T195838Z`). A non-UTC instant is converted to UTC first.
pub fn compact_timestamp(at: OffsetDateTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(&format)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

/// `deployment-<compact UTC timestamp>-<context>-<instance>`. (Evidence
/// callers supply their own record ids.)
pub fn deployment_record_id(at: OffsetDateTime, context: &str, instance: &str) -> String {
    format!("deployment-{}-{context}-{instance}", compact_timestamp(at))
}

/// `promotion-<compact UTC timestamp>-<context>-<from>-to-<to>`.
pub fn promotion_record_id(
    at: OffsetDateTime,
    context: &str,
    from_instance: &str,
    to_instance: &str,
) -> String {
    format!(
        "promotion-{}-{context}-{from_instance}-to-{to_instance}",
        compact_timestamp(at)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn compact_timestamp_is_utc_basic_format() {
        assert_eq!(
            compact_timestamp(datetime!(2026-04-29 19:58:38.123456 UTC)),
            "20260429T195838Z"
        );
        assert_eq!(
            compact_timestamp(datetime!(2026-04-29 21:58:38 +02:00)),
            "20260429T195838Z"
        );
        assert_eq!(
            compact_timestamp(datetime!(2026-01-02 03:04:05 UTC)),
            "20260102T030405Z"
        );
    }

    #[test]
    fn deployment_record_id_format() {
        assert_eq!(
            deployment_record_id(datetime!(2026-04-29 19:58:38 UTC), "cm", "testing"),
            "deployment-20260429T195838Z-cm-testing"
        );
    }

    #[test]
    fn promotion_record_id_format() {
        assert_eq!(
            promotion_record_id(datetime!(2026-04-29 19:58:38 UTC), "cm", "testing", "prod"),
            "promotion-20260429T195838Z-cm-testing-to-prod"
        );
    }
}
