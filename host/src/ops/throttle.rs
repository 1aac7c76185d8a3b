//! Per-client limits on refused requests: a client that keeps drawing
//! 401 and 403 answers (guessing tokens, probing grants) is answered 429
//! with `Retry-After` before any token is checked, so it costs neither
//! signature checks nor JWKS fetches nor audit rows.
//!
//! A client is its IP address (an IPv6 client by its /64, which one host
//! usually holds whole). Each has a bucket of `limit` refusals refilled
//! evenly over `window`; every 401/403 takes one, and while the bucket
//! is empty every request from the client but `/v1/health` is refused.
//!
//! Written here rather than taken from `governor` or tower: the limit is
//! charged by the outcome (after the response) but enforced before the
//! request runs, which needs a check that does not consume; governor's
//! check always consumes, and tower's `RateLimit` delays callers instead
//! of refusing them, for all clients at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};

use crate::error::ApiError;

/// Clients tracked at most; past it, clients whose allowance is whole
/// again are forgotten, and a new client is not tracked until there is
/// room (it starts with a whole allowance anyway).
const MAX_TRACKED: usize = 100_000;

/// The refusal limiter, shared by every request of one service.
#[derive(Debug)]
pub struct ClientThrottle {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<ClientKey, Bucket>>,
}

/// A client: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientKey {
    V4(u32),
    V6(u64),
}

impl ClientKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(u32::from(v4)),
                None => ClientKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl ClientThrottle {
    /// `limit` refusals per `window` and client; a `limit` of 0 never
    /// refuses.
    pub fn new(limit: u32, window: Duration) -> Self {
        ClientThrottle {
            limit,
            window: window.max(Duration::from_millis(1)),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Refusals per second given back.
    fn rate(&self) -> f64 {
        f64::from(self.limit) / self.window.as_secs_f64()
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + elapsed * self.rate()).min(f64::from(self.limit)),
            updated: now,
        }
    }

    /// Whether `client` may be served now: `Err` is the 429 answer, with
    /// `Retry-After` in whole seconds until one refusal is given back.
    pub fn check(&self, client: IpAddr) -> Result<(), ApiError> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = clients.get_mut(&ClientKey::of(client)) else {
            return Ok(());
        };
        *bucket = self.refilled(*bucket, now);
        if bucket.tokens >= 1.0 {
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / self.rate()).ceil().max(1.0) as u64;
        Err(too_many_refusals(wait))
    }

    /// Charges one refused request (a 401 or 403) to `client`.
    pub fn charge(&self, client: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let now = Instant::now();
        let key = ClientKey::of(client);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if !clients.contains_key(&key) && clients.len() >= MAX_TRACKED {
            let full = f64::from(self.limit);
            clients.retain(|_, bucket| self.refilled(*bucket, now).tokens < full);
            if clients.len() >= MAX_TRACKED {
                return;
            }
        }
        let bucket = clients.entry(key).or_insert(Bucket {
            tokens: f64::from(self.limit),
            updated: now,
        });
        let refilled = self.refilled(*bucket, now);
        *bucket = Bucket {
            tokens: (refilled.tokens - 1.0).max(0.0),
            updated: now,
        };
    }
}

/// 429 `too_many_requests` with `Retry-After: seconds`.
fn too_many_refusals(seconds: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        format!(
            "Too many refused requests from this client; retry after {seconds} s with valid credentials."
        ),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
}

/// Refused requests one client may make per window, by default.
pub const DEFAULT_DENIED_LIMIT: u32 = 30;
/// The window the allowance refills over, by default.
pub const DEFAULT_DENIED_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_refused_after_its_limit_and_others_are_not() {
        let throttle = ClientThrottle::new(3, Duration::from_secs(60));
        let client: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(throttle.check(client).is_ok());
            throttle.charge(client);
        }
        let refused = throttle.check(client).expect_err("limited");
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        let retry = refused
            .headers
            .iter()
            .find(|(name, _)| name == header::RETRY_AFTER)
            .map(|(_, value)| value.to_str().expect("ascii").to_string());
        // One refusal comes back every 20 s.
        let seconds: u64 = retry.expect("Retry-After").parse().expect("number");
        assert!((19..=20).contains(&seconds), "{seconds}");
        assert!(throttle.check(other).is_ok());
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_and_mapped_v4_is_v4() {
        let throttle = ClientThrottle::new(1, Duration::from_secs(60));
        throttle.charge("2001:db8::1".parse().expect("ip"));
        assert!(
            throttle
                .check("2001:db8::ffff".parse().expect("ip"))
                .is_err()
        );
        assert!(
            throttle
                .check("2001:db8:0:1::1".parse().expect("ip"))
                .is_ok()
        );
        throttle.charge("::ffff:192.0.2.9".parse().expect("ip"));
        assert!(throttle.check("192.0.2.9".parse().expect("ip")).is_err());
    }

    #[test]
    fn the_allowance_refills_over_the_window() {
        let throttle = ClientThrottle::new(2, Duration::from_millis(100));
        let client: IpAddr = "192.0.2.3".parse().expect("ip");
        throttle.charge(client);
        throttle.charge(client);
        assert!(throttle.check(client).is_err());
        std::thread::sleep(Duration::from_millis(120));
        assert!(throttle.check(client).is_ok());
    }

    #[test]
    fn a_zero_limit_never_refuses() {
        let throttle = ClientThrottle::new(0, Duration::from_secs(1));
        let client: IpAddr = "192.0.2.4".parse().expect("ip");
        for _ in 0..100 {
            throttle.charge(client);
        }
        assert!(throttle.check(client).is_ok());
    }
}
