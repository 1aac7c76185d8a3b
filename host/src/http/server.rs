//! The front door: accepts connections and serves the router on them over
//! HTTP/1.1, within limits no client can lift.
//!
//! * **Header timeout**: a connection must finish a request's headers
//!   within [`FrontDoorSettings::header_timeout`] of its first byte (of
//!   its opening, for a new connection), or it is closed.
//! * **Body timeout**: a request's body must arrive within
//!   [`FrontDoorSettings::body_timeout`] of its headers; a reader then
//!   sees [`BodyReadTimeout`] (the JSON extractor answers 408) and the
//!   connection is closed after the answer.
//! * **Keep-alive idle timeout**: a connection idle between requests for
//!   [`FrontDoorSettings::keep_alive_timeout`] is closed.
//! * **Connection cap**: at most [`FrontDoorSettings::max_connections`]
//!   connections are held (by default well below the open-file limit).
//!   At the cap, the oldest connection not serving a request (silent,
//!   half-sent headers, or idle kept alive) is closed for the new one, so
//!   a flood of silent sockets cannot keep a real client out; when every
//!   connection is serving a request, new ones wait in the listen backlog.
//!
//! Every request carries the peer address as axum's
//! [`ConnectInfo<SocketAddr>`] (the per-client limits key on it).
//!
//! The timeouts are enforced here rather than with hyper's
//! `header_read_timeout`, because hyper starts that timer whenever it
//! waits for a request, idle keep-alive included, so headers and idle
//! connections could not have limits of their own; and not with a
//! tower-http timeout layer, which would bound the handler too (a sync
//! deploy runs for minutes).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::config::FrontDoorSettings;
use crate::trace::LogLimiter;

/// How often a full house or a failing `accept` is logged.
static SATURATION_LOGGED: LogLimiter = LogLimiter::new(1, Duration::from_secs(10));

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, lets every connection finish its request in flight, and
/// returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: FrontDoorSettings,
    shutdown: impl Future<Output = ()> + Send,
) {
    let table = Arc::new(Table::default());
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    'accept: loop {
        // Make room before accepting: evict an idle connection, or wait
        // for one to close or fall idle.
        while table.len() >= settings.max_connections.max(1) {
            if table.evict_oldest_idle() {
                if let Some(suppressed) = SATURATION_LOGGED.admit() {
                    tracing::warn!(
                        max_connections = settings.max_connections,
                        suppressed,
                        "connection cap reached: closing the oldest idle connection for a new one"
                    );
                }
                break;
            }
            tokio::select! {
                _ = table.changed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = &mut shutdown => break 'accept,
            }
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break 'accept,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of descriptors, most likely: wait, do not spin.
                if let Some(suppressed) = SATURATION_LOGGED.admit() {
                    tracing::warn!(%error, suppressed, "accepting a connection failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let slot = table.open();
        tokio::spawn(connection(
            stream,
            peer,
            slot,
            app.clone(),
            settings,
            table.clone(),
            stopped.clone(),
        ));
    }
    tracing::info!(connections = table.len(), "no longer accepting connections");
    let _ = stop.send(true);
    while table.len() > 0 {
        tokio::select! {
            _ = table.changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// One connection, until it ends, is evicted, times out, or drains at
/// shutdown.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Arc<Slot>,
    app: Router,
    settings: FrontDoorSettings,
    table: Arc<Table>,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        inner: stream,
        slot: slot.clone(),
    });
    let service = hyper::service::service_fn({
        let slot = slot.clone();
        move |mut request: hyper::Request<Incoming>| {
            let serving = slot.begin();
            request.extensions_mut().insert(ConnectInfo(peer));
            let request = request
                .map(|body| axum::body::Body::new(DeadlineBody::new(body, settings.body_timeout)));
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await;
                drop(serving);
                response
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = slot.deadline(&settings);
        tokio::select! {
            outcome = conn.as_mut() => {
                if let Err(error) = outcome {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                break;
            }
            _ = slot.evict.notified() => {
                tracing::debug!(%peer, "idle connection evicted at the connection cap");
                break;
            }
            _ = slot.changed.notified() => {}
            _ = sleep_until(deadline) => {
                if slot.deadline(&settings).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(%peer, "connection closed: header or keep-alive timeout");
                    break;
                }
            }
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    table.close(slot.id);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The open connections, oldest first.
#[derive(Default)]
struct Table {
    open: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next: AtomicU64,
    /// Signalled when a connection closes or falls idle.
    changed: Notify,
}

impl Table {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn open(self: &Arc<Self>) -> Arc<Slot> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id,
            table: Arc::downgrade(self),
            serving: AtomicUsize::new(0),
            times: Mutex::new(Times {
                opened: Instant::now(),
                idle_since: None,
                pending_since: None,
            }),
            changed: Notify::new(),
            evict: Notify::new(),
        });
        self.lock().insert(id, slot.clone());
        slot
    }

    fn close(&self, id: u64) {
        self.lock().remove(&id);
        self.changed.notify_one();
    }

    /// Closes the oldest connection serving no request; false when every
    /// connection is serving one. The slot leaves the table at once, so
    /// the count drops before its socket does (the cap leaves headroom).
    fn evict_oldest_idle(&self) -> bool {
        let mut open = self.lock();
        let idle = open
            .iter()
            .find(|(_, slot)| slot.serving.load(Ordering::SeqCst) == 0)
            .map(|(id, _)| *id);
        match idle.and_then(|id| open.remove(&id)) {
            Some(slot) => {
                slot.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// One connection's state, as the timeouts and eviction see it.
struct Slot {
    id: u64,
    table: std::sync::Weak<Table>,
    /// Requests being served (headers read, response not yet returned).
    serving: AtomicUsize,
    times: Mutex<Times>,
    /// Signalled when the deadline may have moved.
    changed: Notify,
    evict: Notify,
}

struct Times {
    opened: Instant,
    /// When the last request was answered (`None`: none yet).
    idle_since: Option<Instant>,
    /// The first byte received since then, if any.
    pending_since: Option<Instant>,
}

impl Slot {
    fn times(&self) -> std::sync::MutexGuard<'_, Times> {
        self.times.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the connection is to be closed: `None` while it serves a
    /// request; the header timeout from its first byte (or opening) while
    /// a request is awaited; the keep-alive timeout from its last answer
    /// while it is idle.
    fn deadline(&self, settings: &FrontDoorSettings) -> Option<Instant> {
        if self.serving.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let times = self.times();
        Some(match (times.pending_since, times.idle_since) {
            (Some(first_byte), _) => first_byte + settings.header_timeout,
            (None, None) => times.opened + settings.header_timeout,
            (None, Some(idle)) => idle + settings.keep_alive_timeout,
        })
    }

    /// A request's headers are in: no deadline until it is answered.
    fn begin(self: &Arc<Self>) -> Serving {
        self.serving.fetch_add(1, Ordering::SeqCst);
        self.times().pending_since = None;
        self.changed.notify_one();
        Serving(self.clone())
    }

    /// Bytes arrived: a request is starting.
    fn bytes_received(&self) {
        if self.serving.load(Ordering::SeqCst) > 0 {
            return;
        }
        let mut times = self.times();
        if times.pending_since.is_none() {
            times.pending_since = Some(Instant::now());
            drop(times);
            self.changed.notify_one();
        }
    }
}

/// A request being served; dropping it marks the connection idle.
struct Serving(Arc<Slot>);

impl Drop for Serving {
    fn drop(&mut self) {
        let slot = &self.0;
        {
            let mut times = slot.times();
            times.idle_since = Some(Instant::now());
            times.pending_since = None;
        }
        slot.serving.fetch_sub(1, Ordering::SeqCst);
        slot.changed.notify_one();
        if let Some(table) = slot.table.upgrade() {
            table.changed.notify_one();
        }
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    inner: TcpStream,
    slot: Arc<Slot>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.slot.bytes_received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The request body did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the body timeout")]
pub struct BodyReadTimeout;

/// A request body that fails with [`BodyReadTimeout`] once its deadline
/// passes.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyReadTimeout)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error` (or anything it wraps) is a [`BodyReadTimeout`].
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<BodyReadTimeout>() {
            return true;
        }
        current = error.source();
    }
    false
}
