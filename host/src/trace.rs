//! Trace ids: one per request, echoed in every body and log line; and
//! [`LogLimiter`], which keeps a flood of one kind of event from flooding
//! the log.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `per_period` lines of one kind per period; the rest are
/// counted, and the next line logged says how many were suppressed.
#[derive(Debug)]
pub struct LogLimiter {
    per_period: u32,
    period: Duration,
    state: Mutex<Option<LimiterState>>,
}

#[derive(Debug)]
struct LimiterState {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

impl LogLimiter {
    /// A limiter of `per_period` lines per `period`.
    pub const fn new(per_period: u32, period: Duration) -> Self {
        LogLimiter {
            per_period,
            period,
            state: Mutex::new(None),
        }
    }

    /// `Some(suppressed since the last logged line)` when this line may be
    /// logged, `None` when it is to be suppressed.
    pub fn admit(&self) -> Option<u64> {
        let now = Instant::now();
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = guard.get_or_insert(LimiterState {
            started: now,
            logged: 0,
            suppressed: 0,
        });
        if now.saturating_duration_since(state.started) >= self.period {
            state.started = now;
            state.logged = 0;
        }
        if state.logged < self.per_period {
            state.logged += 1;
            Some(std::mem::take(&mut state.suppressed))
        } else {
            state.suppressed += 1;
            None
        }
    }
}

/// `launchplane_req_` followed by 32 hex digits, fresh for every request
/// (replays included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceId(String);

impl TraceId {
    pub fn new() -> Self {
        TraceId(format!("launchplane_req_{}", uuid::Uuid::new_v4().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TraceId {
    fn default() -> Self {
        TraceId::new()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_limiter_suppresses_past_its_rate_and_counts() {
        let limiter = LogLimiter::new(2, Duration::from_millis(50));
        assert_eq!(limiter.admit(), Some(0));
        assert_eq!(limiter.admit(), Some(0));
        assert_eq!(limiter.admit(), None);
        assert_eq!(limiter.admit(), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(limiter.admit(), Some(2));
    }

    #[test]
    fn trace_ids_have_the_original_shape_and_are_unique() {
        let a = TraceId::new();
        let b = TraceId::new();
        assert_ne!(a, b);
        let hex = a.as_str().strip_prefix("launchplane_req_").expect("prefix");
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
