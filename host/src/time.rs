//! Timestamps in the one format records and responses use.

use std::sync::atomic::{AtomicI64, Ordering};

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
/// once a second (authorization policy records, as in the original; the
/// drivers' clock).
///
/// Strictly increasing within the process: two calls in the same
/// microsecond get consecutive microseconds. Record ids derived from it
/// (`deployment-<timestamp>-<context>-<instance>`) then cannot collide
/// between two concurrent requests on one host, which they did under load
/// (the benchmark's 16 concurrent deploys to one lane).
pub fn now_rfc3339_micros() -> String {
    static LAST_MICROS: AtomicI64 = AtomicI64::new(i64::MIN);
    let now =
        i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
    let previous = LAST_MICROS
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    let micros = now.max(previous.saturating_add(1));
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000) {
        Ok(at) => at
            .format(&Rfc3339)
            .unwrap_or_else(|_| at.unix_timestamp().to_string()),
        Err(_) => now_rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsecond_timestamps_are_strictly_increasing_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..5_000).map(|_| now_rfc3339_micros()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = Vec::new();
        for thread in threads {
            let stamps = thread.join().expect("thread");
            let parsed: Vec<OffsetDateTime> = stamps
                .iter()
                .map(|s| OffsetDateTime::parse(s, &Rfc3339).expect("RFC 3339"))
                .collect();
            assert!(
                parsed.windows(2).all(|w| w[0] < w[1]),
                "not increasing within a thread"
            );
            all.extend(stamps);
        }
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "two calls got the same timestamp");
    }
}
