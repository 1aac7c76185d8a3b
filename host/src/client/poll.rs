//! Waiting for an async operation: `GET /v1/operations/{id}` with backoff
//! until `pass` or `fail` (or the deadline), with progress on stderr.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::catalogue::refused_read;
use super::{ClientError, Console, Exit, Remote};

/// Polling intervals: start at `initial`, grow by half each time, never
/// above `max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(15),
        }
    }
}

impl PollPolicy {
    fn next(&self, current: Duration) -> Duration {
        (current + current / 2)
            .min(self.max)
            .max(self.initial.min(self.max))
    }
}

/// Whether an operation status is final.
pub fn is_terminal(status: &str) -> bool {
    !matches!(status, "pending" | "running" | "")
}

/// Polls `poll_url` until the operation is terminal; returns the last
/// poll body (`{"status":"ok","operation":{…},"result":…}`).
pub async fn wait_for_operation(
    remote: &Remote,
    poll_url: &str,
    policy: &PollPolicy,
    console: &Console,
) -> Result<Value, ClientError> {
    let started = Instant::now();
    let mut interval = policy.initial;
    let mut last_status = String::new();
    let mut last_note = Instant::now();
    let mut last_body: Option<Value> = None;
    loop {
        let reply = match remote.get(poll_url, console).await {
            Ok(reply) => reply,
            Err(error) if error.exit == Exit::Timeout => {
                let mut error = ClientError::timeout(format!(
                    "The operation at {poll_url} is still {} after {}s; the --timeout elapsed. Re-run with the same idempotency key to resume waiting for the same operation.",
                    if last_status.is_empty() {
                        "unfinished"
                    } else {
                        &last_status
                    },
                    started.elapsed().as_secs()
                ));
                error.response = last_body;
                return Err(error);
            }
            Err(error) => return Err(error),
        };
        if !reply.is_success() {
            let mut error = refused_read(
                &format!("Polling {poll_url}"),
                &reply,
                " Reading an operation needs the action that started it, on the same product and lane.",
            );
            if reply.status >= 500 {
                error.exit = Exit::Transport;
            }
            return Err(error);
        }
        let operation = &reply.body["operation"];
        let status = operation["status"].as_str().unwrap_or_default().to_string();
        let id = operation["operation_id"].as_str().unwrap_or(poll_url);
        if is_terminal(&status) {
            console.note(&format!(
                "launchplane: operation {id}: {status} after {}s",
                started.elapsed().as_secs()
            ));
            return Ok(reply.body);
        }
        if status != last_status || last_note.elapsed() >= Duration::from_secs(30) {
            console.note(&format!(
                "launchplane: operation {id}: {} ({}s elapsed)",
                if status.is_empty() {
                    "unknown"
                } else {
                    &status
                },
                started.elapsed().as_secs()
            ));
            last_status = status.clone();
            last_note = Instant::now();
        }
        let mut pause = interval;
        if let Some(deadline) = remote.deadline() {
            pause = pause.min(deadline.saturating_duration_since(Instant::now()));
        }
        last_body = Some(reply.body);
        tokio::time::sleep(pause).await;
        interval = policy.next(interval);
    }
}
