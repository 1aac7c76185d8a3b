//! Trace ids: one per request, echoed in every body and log line.

use std::fmt;

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
    fn trace_ids_have_the_original_shape_and_are_unique() {
        let a = TraceId::new();
        let b = TraceId::new();
        assert_ne!(a, b);
        let hex = a.as_str().strip_prefix("launchplane_req_").expect("prefix");
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
