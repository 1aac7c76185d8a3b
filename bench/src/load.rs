//! The load generator: a fixed number of client tasks, each sending one
//! request at a time, stopping at a request count or a time limit,
//! whichever comes first. It only ever addresses 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, RequestBuilder, StatusCode};

/// Per-request time limit: a request that takes longer is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A service under test on loopback.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    addr: SocketAddr,
}

impl Target {
    /// Refuses any address other than 127.0.0.1.
    pub fn loopback(addr: SocketAddr) -> anyhow::Result<Target> {
        anyhow::ensure!(
            addr.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST),
            "the benchmark sends traffic only to 127.0.0.1, not {addr}"
        );
        Ok(Target { addr })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A client that ignores proxy settings (every request stays on loopback)
/// and bounds each request in time.
pub fn client() -> anyhow::Result<Client> {
    Ok(launchplane::tls::client_builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(256)
        .build()?)
}

/// How much traffic one phase sends.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub concurrency: usize,
    pub duration: Duration,
    pub max_requests: u64,
    /// `Some(interval)`: each task starts at most one request per interval
    /// (an offered rate of `concurrency / interval`); `None`: back to back.
    pub pace: Option<Duration>,
}

/// What one phase measured.
#[derive(Debug, Default, Clone)]
pub struct Sample {
    /// Latency of every completed request, in microseconds.
    pub latencies_us: Vec<u64>,
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Sample {
    pub fn merge(&mut self, other: Sample) {
        self.latencies_us.extend(other.latencies_us);
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.elapsed += other.elapsed;
    }

    pub fn requests(&self) -> u64 {
        self.ok + self.errors
    }

    /// Completed requests per second of phase time.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests() as f64 / secs
        } else {
            0.0
        }
    }

    pub fn percentile_us(&self, p: f64) -> f64 {
        percentile(&self.latencies_us, p)
    }
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted values.
pub fn percentile(values: &[u64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// Builds request `seq` for client task `worker`.
pub type MakeRequest = Arc<dyn Fn(&Client, u64, usize) -> RequestBuilder + Send + Sync>;

/// Runs one phase: `spec.concurrency` tasks send requests built by `make`
/// until `spec.max_requests` were started or `spec.duration` has passed;
/// a response with another status than `expect` is an error.
pub async fn run(client: &Client, spec: Spec, expect: StatusCode, make: MakeRequest) -> Sample {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..spec.concurrency.max(1) {
        let (client, counter, make) = (client.clone(), counter.clone(), make.clone());
        tasks.spawn(async move {
            let mut sample = Sample::default();
            // Paced tasks start staggered across one interval.
            let mut next = tokio::time::Instant::now()
                + spec.pace.unwrap_or_default() * worker as u32 / spec.concurrency.max(1) as u32;
            loop {
                if let Some(interval) = spec.pace {
                    tokio::time::sleep_until(next).await;
                    next += interval;
                }
                if started.elapsed() >= spec.duration {
                    break;
                }
                let seq = counter.fetch_add(1, Ordering::Relaxed);
                if seq >= spec.max_requests {
                    break;
                }
                let request = make(&client, seq, worker);
                let sent = Instant::now();
                let outcome = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let body = response.bytes().await;
                        match body {
                            Ok(_) if status == expect => Ok(()),
                            Ok(body) => Err(format!(
                                "status {status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(400)])
                            )),
                            Err(e) => Err(format!("reading the body: {e}")),
                        }
                    }
                    Err(e) => Err(format!("sending: {e}")),
                };
                sample.latencies_us.push(sent.elapsed().as_micros() as u64);
                match outcome {
                    Ok(()) => sample.ok += 1,
                    Err(message) => {
                        sample.errors += 1;
                        sample.first_error.get_or_insert(message);
                    }
                }
            }
            sample
        });
    }
    let mut total = Sample::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(sample) = done {
            total.merge(sample);
        }
    }
    total.elapsed = started.elapsed();
    total
}
