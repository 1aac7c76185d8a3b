//! Issue 26 item 3: the front door. Header, body and keep-alive timeouts,
//! the connection cap, and the per-client limit on refused requests, on
//! the server `launchplane serve` runs (`launchplane::http::serve`), with
//! short windows. Lower bounds are exact (nothing closes early); upper
//! bounds are generous, for a noisy 2-core machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use launchplane::config::FrontDoorSettings;
use launchplane::ops::Service as AppState;
use launchplane::ops::throttle::ClientThrottle;
use launchplane_tests::{DEMO_POLICY, RegistryFile, TestDatabase, TestIssuer, assert_rejected};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Long enough never to fire unless a test wants it to.
const LONG: Duration = Duration::from_secs(60);

fn settings() -> FrontDoorSettings {
    FrontDoorSettings {
        header_timeout: LONG,
        body_timeout: LONG,
        keep_alive_timeout: LONG,
        max_connections: 1_000,
        denied_limit: 0,
        denied_window: LONG,
    }
}

/// A service with real OIDC and the demo policy behind the front door.
struct FrontDoor {
    addr: SocketAddr,
    issuer: TestIssuer,
    _db: TestDatabase,
}

impl FrontDoor {
    async fn start(settings: FrontDoorSettings) -> FrontDoor {
        let db = TestDatabase::new("sqlite").await;
        let issuer = TestIssuer::start().await;
        let policy = launchplane::auth::AuthzPolicy::from_toml_str(DEMO_POLICY).expect("policy");
        launchplane::ops::access::bootstrap_policy(&db.store, &policy, "tests")
            .await
            .expect("policy");
        let registry = RegistryFile::new()
            .product_drivers()
            .load()
            .await
            .expect("registry");
        let authenticator = Arc::new(launchplane::auth::operator::OperatorOr::new(
            db.store.clone(),
            issuer.oidc(),
        ));
        let mut state = AppState::new(registry, db.store.clone(), authenticator);
        state.client_throttle = Arc::new(ClientThrottle::new(
            settings.denied_limit,
            settings.denied_window,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = launchplane::http::router(state);
        tokio::spawn(launchplane::http::serve(
            listener,
            app,
            settings,
            std::future::pending(),
        ));
        FrontDoor {
            addr,
            issuer,
            _db: db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Reads until the peer closes (EOF or reset); what was read, and when.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> (String, Instant) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let outcome = tokio::time::timeout(bound, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "still open after {bound:?}");
    (
        String::from_utf8_lossy(&received).into_owned(),
        Instant::now(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_past_the_cap_do_not_keep_a_client_out() {
    const CAP: usize = 32;
    const SILENT: usize = 200;
    let server = FrontDoor::start(FrontDoorSettings {
        max_connections: CAP,
        ..settings()
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    let client = launchplane::tls::default_client();
    let started = Instant::now();
    let response = client
        .get(server.url("/v1/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("a legitimate request gets through");
    let took = started.elapsed();
    assert_eq!(response.status().as_u16(), 200);
    eprintln!("front door: health answered in {took:?} with {SILENT} silent sockets, cap {CAP}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // The server holds at most the cap: the others were closed.
    let closed = count_closed(silent, Duration::from_millis(1500)).await;
    assert!(closed >= SILENT - CAP, "only {closed} of {SILENT} closed");
}

/// How many of `sockets` the server has closed (EOF within `wait`),
/// checked all at once.
async fn count_closed(sockets: Vec<TcpStream>, wait: Duration) -> usize {
    let mut checks = tokio::task::JoinSet::new();
    for mut socket in sockets {
        checks.spawn(async move {
            let mut buf = [0u8; 16];
            matches!(
                tokio::time::timeout(wait, socket.read(&mut buf)).await,
                Ok(Ok(0) | Err(_))
            )
        });
    }
    let mut closed = 0;
    while let Some(check) = checks.join_next().await {
        closed += usize::from(check.expect("check"));
    }
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_header_is_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(500);
    let server = FrontDoor::start(FrontDoorSettings {
        header_timeout: timeout,
        ..settings()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let sent = Instant::now();
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: launchplane\r\nX-Slow: ")
        .await
        .expect("write");
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        received.is_empty(),
        "no answer to half a request: {received}"
    );
    assert!(
        closed - sent >= timeout - Duration::from_millis(50),
        "{:?}",
        closed - sent
    );

    // A socket that never sends a byte gets the same timeout.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let opened = Instant::now();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(closed - opened >= timeout - Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let idle = Duration::from_millis(700);
    let server = FrontDoor::start(FrontDoorSettings {
        header_timeout: Duration::from_secs(30),
        keep_alive_timeout: idle,
        ..settings()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: launchplane\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.expect("response");
    let answered = Instant::now();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        closed - answered >= idle - Duration::from_millis(50),
        "{:?}",
        closed - answered
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_and_closed() {
    let timeout = Duration::from_millis(600);
    let server = FrontDoor::start(FrontDoorSettings {
        body_timeout: timeout,
        ..settings()
    })
    .await;
    let token = server.issuer.token();
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "POST /v1/evidence/deployments HTTP/1.1\r\nHost: launchplane\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"product\":"
    );
    let sent = Instant::now();
    stream.write_all(head.as_bytes()).await.expect("write");
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(15)).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("\"request_timeout\""), "{received}");
    assert!(closed - sent >= timeout - Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_refused_too_often_is_answered_429_with_retry_after() {
    const LIMIT: u32 = 5;
    let server = FrontDoor::start(FrontDoorSettings {
        denied_limit: LIMIT,
        denied_window: Duration::from_secs(60),
        ..settings()
    })
    .await;
    let client = launchplane::tls::default_client();
    let get = |token: &str| {
        client
            .get(server.url("/v1/drivers"))
            .bearer_auth(token)
            .send()
    };
    for _ in 0..LIMIT {
        let response = get("not-a-real-token").await.expect("request");
        assert_eq!(response.status().as_u16(), 401);
    }
    let refused = get("not-a-real-token").await.expect("request");
    assert_eq!(refused.status().as_u16(), 429);
    let retry_after: u64 = refused
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    // One refusal comes back every 12 s.
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(assert_rejected(&body), "too_many_requests");
    // Until then the client is refused before its token is looked at;
    // health stays open.
    let valid = get(&server.issuer.token()).await.expect("request");
    assert_eq!(valid.status().as_u16(), 429);
    let health = client
        .get(server.url("/v1/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status().as_u16(), 200);

    // Another client (another loopback address) is not affected.
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client");
    let response = other
        .get(server.url("/v1/drivers"))
        .bearer_auth(server.issuer.token())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
}
