//! What a request brings to the service ([`Call`]) and what it takes back
//! ([`Reply`], or the [`Accepted`] outcome a mutation produced).

use axum::http::StatusCode;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::trace::TraceId;

/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 512;

/// One authenticated request, as the HTTP layer extracted it.
#[derive(Debug, Clone)]
pub struct Call {
    pub trace_id: TraceId,
    pub caller: Caller,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path as the client sent it: idempotency keys and audit events
    /// are scoped to it.
    pub route: String,
    pub key: KeyHeader,
}

/// The `Idempotency-Key` header, read once. A malformed one is kept as
/// such and refused only where the route reaches idempotency, so the
/// original's order (a 400/403 before the key is looked at) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHeader {
    Absent,
    Present(String),
    Invalid(&'static str),
}

impl KeyHeader {
    /// Reads the raw header value (trimmed; blank counts as absent).
    pub fn parse(raw: Option<&[u8]>) -> KeyHeader {
        let Some(raw) = raw else {
            return KeyHeader::Absent;
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            return KeyHeader::Invalid("Header `Idempotency-Key` must be ASCII.");
        };
        if !text.is_ascii() {
            return KeyHeader::Invalid("Header `Idempotency-Key` must be ASCII.");
        }
        let text = text.trim();
        if text.len() > MAX_KEY_LEN {
            return KeyHeader::Invalid("Header `Idempotency-Key` is longer than 512 characters.");
        }
        if text.is_empty() {
            KeyHeader::Absent
        } else {
            KeyHeader::Present(text.to_string())
        }
    }

    /// The key, or 400 for a malformed header.
    pub fn value(&self) -> Result<Option<&str>, ApiError> {
        match self {
            KeyHeader::Absent => Ok(None),
            KeyHeader::Present(key) => Ok(Some(key)),
            KeyHeader::Invalid(message) => Err(ApiError::invalid_request(*message)),
        }
    }
}

/// A successful answer: its status (200 for reads, 202 for accepted
/// writes) and its JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// 200 `{"status":"ok","trace_id":…, <fields>}`.
    pub fn ok(trace_id: &TraceId, fields: Value) -> Reply {
        let mut body = serde_json::json!({"status": "ok", "trace_id": trace_id.as_str()});
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
        Reply {
            status: StatusCode::OK,
            body,
        }
    }
}

/// What a successful mutation produced, before it is enveloped.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    /// `records` keys and values (filtered and stringified when enveloped).
    pub records: Vec<(String, Value)>,
    pub result: Option<Value>,
    /// Ids of records written, for the audit event.
    pub written: Vec<String>,
    /// `false` for answers the original never stored for replay (blocked
    /// driver outcomes, dry-run plans): the key is released.
    pub store_for_replay: bool,
    /// What the audit event's `detail` says of an accepted mutation (an
    /// operator's reason, say); `null` when `None`.
    pub audit_detail: Option<Value>,
    /// Record writes a one-transaction mutation (`ops/one_tx.rs`) applies
    /// last, after its key and audit row; their ids are in `written`.
    pub pending: Vec<crate::records::RecordWrite>,
}

impl Accepted {
    pub fn new() -> Self {
        Accepted {
            store_for_replay: true,
            ..Default::default()
        }
    }

    pub fn record(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.records.push((key.to_string(), value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_trimmed_ascii_and_bounded() {
        assert_eq!(KeyHeader::parse(None), KeyHeader::Absent);
        assert_eq!(KeyHeader::parse(Some(b"  ")), KeyHeader::Absent);
        assert_eq!(
            KeyHeader::parse(Some(b" k-1 ")),
            KeyHeader::Present("k-1".into())
        );
        assert!(KeyHeader::parse(Some("é".as_bytes())).value().is_err());
        assert!(KeyHeader::parse(Some(&[b'a'; 513])).value().is_err());
        assert_eq!(
            KeyHeader::parse(Some(&[b'a'; 512])).value().ok().flatten(),
            Some("a".repeat(512).as_str())
        );
    }
}
