//! The HTTP server under the router: kassa's own accept loop over hyper's HTTP/1.1 connections,
//! so that no client holds a connection (and its file descriptor) for free.
//!
//! - **Connection limit** ([`HttpSettings::max_connections`]): a connection is accepted only with
//!   a free slot; until one frees, new connections wait in the kernel's accept queue, while the
//!   open ones (a keep-alive connection asking `/health`, say) are served as usual. Reaching the
//!   limit is logged once a minute at most, not once per connection.
//! - **Header-read timeout**: from a connection's start, or from the first byte of a later request
//!   on it, to the end of the request's head; past it the connection is closed. hyper's own
//!   `header_read_timeout` cannot be used: it also bounds the idle wait between two requests, so
//!   a keep-alive connection could not stay idle longer than a head may take to arrive.
//! - **Idle timeout**: from the end of a response to the first byte of the next request.
//! - **Body-read timeout**: one deadline for the whole body from the end of the head
//!   (tower-http's `RequestBodyDeadline`; a body that trickles in byte by byte does not reset
//!   it). Whoever reads the body then answers 408 ([`crate::http::read_body`]).
//! - While a request is handled (and its response written) no connection timeout runs: a long
//!   request is not cut by the server.
//! - **Accept errors**: an error of one connection (reset before it was accepted) is skipped; a
//!   shortage of resources (no file descriptor left: `EMFILE`, `ENFILE`, …) is logged once a
//!   minute at most and retried after a pause, so the loop neither spins nor stops.
//! - **Graceful, bounded stop**: on stop the listener is closed at once (new connections are
//!   refused), idle connections are closed, requests in flight finish, each on a connection that
//!   then closes (a request still arriving keeps its header or body timeout); after
//!   [`HttpSettings::shutdown_timeout`] what remains is closed and counted in the log.
//!
//! Each request carries axum's `ConnectInfo<SocketAddr>` (the peer's address), as
//! `into_make_service_with_connect_info` would give it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyDeadline;

use crate::config::HttpSettings;

/// How long the accept loop pauses after an error that is not one connection's (no file
/// descriptor left): long enough not to spin, short enough to resume soon after one frees.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The least time between two log lines about the same trouble (the limit reached, no file
/// descriptor left).
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Serve `app` on `listener` until `stop` turns true (or its sender is gone), then stop as the
/// module says. Returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpSettings,
    mut stop: watch::Receiver<bool>,
) {
    let app = RequestBodyDeadline::new(app, limits.body_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Turned true when the shutdown timeout has passed: the connections left close at once.
    let (cut, cut_rx) = watch::channel(false);
    let mut limit_log = Throttle::default();
    let mut accept_log = Throttle::default();
    tracing::info!(
        max_connections = limits.max_connections,
        header_read_timeout_s = limits.header_read_timeout.as_secs(),
        body_read_timeout_s = limits.body_read_timeout.as_secs(),
        idle_timeout_s = limits.idle_timeout.as_secs(),
        "accepting connections"
    );
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if limit_log.due() {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: {} connections are open (--max-connections); new \
                         connections wait until one closes",
                        limits.max_connections
                    );
                }
                tokio::select! {
                    biased;
                    () = stopped(&mut stop) => break,
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                }
            }
        };
        let accepted = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let conn = Connection { app: app.clone(), limits: limits.clone(), peer, _slot: slot };
                tokio::spawn(conn.run(stream, stop.clone(), cut_rx.clone()));
            }
            // That connection's trouble (reset while it waited to be accepted): the next one.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                drop(slot);
                if accept_log.due() {
                    tracing::error!(
                        error = %e,
                        "cannot accept connections; retrying. Out of file descriptors? Lower \
                         --max-connections or raise `ulimit -n`"
                    );
                }
                tokio::select! {
                    biased;
                    () = stopped(&mut stop) => break,
                    () = tokio::time::sleep(ACCEPT_PAUSE) => {}
                }
            }
        }
    }
    drop(listener);
    finish(&slots, &limits, &cut).await;
}

/// After the listener is closed: wait for the connections left (each already told to finish
/// its request and close), at most the shutdown timeout; then close the rest.
async fn finish(slots: &Semaphore, limits: &HttpSettings, cut: &watch::Sender<bool>) {
    // `--max-connections` is at most a million (config.rs), well within a `u32`.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let open = || limits.max_connections.saturating_sub(slots.available_permits());
    // Every slot back means every connection closed.
    let all_closed = || async { drop(slots.acquire_many(all).await) };
    if open() > 0 {
        tracing::info!(
            connections = open(),
            shutdown_timeout_s = limits.shutdown_timeout.as_secs(),
            "stopped accepting; closing idle connections, waiting for the requests in flight"
        );
    }
    if tokio::time::timeout(limits.shutdown_timeout, all_closed()).await.is_ok() {
        return;
    }
    let left = open();
    let _ = cut.send(true);
    all_closed().await;
    tracing::warn!(
        connections = left,
        "shutdown timeout ({}s) reached: closed {left} connection{} whose requests had not finished",
        limits.shutdown_timeout.as_secs(),
        if left == 1 { "" } else { "s" }
    );
}

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// An accept error that concerns one connection only, not the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
    )
}

/// Lets a log line through at most once per [`LOG_EVERY`].
#[derive(Default)]
struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    fn due(&mut self) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < LOG_EVERY) {
            return false;
        }
        self.last = Some(now);
        true
    }
}

// ---------------------------------------------------------------------------------------------
// One connection

type App = RequestBodyDeadline<Router>;

struct Connection {
    app: App,
    limits: HttpSettings,
    peer: SocketAddr,
    /// Held while the connection is open.
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    /// Serve the connection until it closes, times out or is cut.
    async fn run(self, stream: TcpStream, mut stop: watch::Receiver<bool>, mut cut: watch::Receiver<bool>) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched { stream, activity: activity.clone() });
        let (app, peer, requests) = (self.app, self.peer, activity.clone());
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let busy = Busy::begin(requests.clone());
            let app = app.clone();
            async move {
                let resp = app.oneshot(req).await?;
                Ok::<_, Infallible>(resp.map(|body| Answer { body, _busy: busy }))
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            // Timeouts are this module's (see its doc); hyper's would also cut idle waits.
            .header_read_timeout(None)
            .keep_alive(true)
            .serve_connection(io, service);
        tokio::pin!(conn);
        let mut stopping = false;
        loop {
            tokio::select! {
                done = conn.as_mut() => {
                    if let Err(e) = done {
                        tracing::debug!(peer = %self.peer, error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = stopped(&mut stop), if !stopping => {
                    // Closes it now if idle; else after the response in flight.
                    conn.as_mut().graceful_shutdown();
                    stopping = true;
                }
                () = stopped(&mut cut) => return,
                why = activity.expired(&self.limits) => {
                    tracing::debug!(peer = %self.peer, "closing the connection: {why}");
                    return;
                }
            }
        }
    }
}

/// Where a connection is between requests, for its timeouts.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the first byte of a request since `since`. `served`: whether a request was
    /// answered on this connection before; the first wait is a head's (a client that connects
    /// and sends nothing is as slow as one that sends half a head), later ones are idle waits.
    Waiting { since: Instant, served: bool },
    /// The first bytes of a request came at `since`; its head is not complete.
    Head { since: Instant },
    /// This many requests are being handled or answered (their response bodies not yet sent).
    Busy(u32),
}

/// A connection's [`Phase`], moved on by what is read ([`Watched`]) and by requests beginning
/// and ending ([`Busy`]).
struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Waiting { since: Instant::now(), served: false }),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // The phase is a plain value, valid whatever a panicking holder was doing.
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes came in.
    fn read(&self) {
        let mut phase = self.phase();
        if let Phase::Waiting { .. } = *phase {
            *phase = Phase::Head { since: Instant::now() };
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// When the connection times out in its phase, and which timeout that is.
    fn deadline(&self, limits: &HttpSettings) -> Option<(Instant, &'static str)> {
        match *self.phase() {
            Phase::Waiting { since, served: true } => Some((since + limits.idle_timeout, "idle timeout")),
            Phase::Waiting { since, served: false } | Phase::Head { since } => {
                Some((since + limits.header_read_timeout, "header-read timeout"))
            }
            Phase::Busy(_) => None,
        }
    }

    /// Resolves when the connection's current phase has lasted longer than its timeout; names
    /// the timeout.
    async fn expired(&self, limits: &HttpSettings) -> &'static str {
        loop {
            let changed = self.changed.notified();
            match self.deadline(limits) {
                None => changed.await,
                Some((at, why)) if at <= Instant::now() => return why,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// A request being handled or answered, from the end of its head until its response's body is
/// sent (or dropped): no connection timeout runs meanwhile.
struct Busy(Arc<Activity>);

impl Busy {
    fn begin(activity: Arc<Activity>) -> Self {
        {
            let mut phase = activity.phase();
            *phase = match *phase {
                Phase::Busy(n) => Phase::Busy(n.saturating_add(1)),
                Phase::Waiting { .. } | Phase::Head { .. } => Phase::Busy(1),
            };
        }
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Waiting { since: Instant::now(), served: true },
        };
        drop(phase);
        self.0.changed.notify_one();
    }
}

/// A response body that keeps its request [`Busy`] until it is sent or dropped.
struct Answer {
    body: Body,
    _busy: Busy,
}

impl HttpBody for Answer {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's socket, telling its [`Activity`] when bytes come in.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
