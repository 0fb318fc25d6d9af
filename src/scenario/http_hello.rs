//! `http-hello`: HTTP/1.1 is a conversation over one TCP connection — an axum
//! server answering `Hello World!` on `GET /`, and a hyper client.
//!
//! What it teaches:
//! - an HTTP request and its response are just bytes in the two directions of a
//!   TCP connection: handshake, request, response, teardown;
//! - who closes first is decided by the application protocol. The client asks with
//!   `Connection: close`, so the server closes right after the response and keeps
//!   the TIME_WAIT — the reason busy web servers hold many TIME_WAIT sockets.
//!   The client closes only after it has read the server's FIN.
//!
//! Try it by hand: `protolab serve http-hello`, then `curl -v http://127.0.0.1:8080/`.
//!
//! Against the notes' program (a Go `net/http` server, `http.HandleFunc("/", …)`
//! writing `Hello World!`, port 8080) and a Go client (`http.Get`, a browser):
//! - the body is the same 12 bytes, `Hello World!` with no line ending, with
//!   `Content-Length: 12` and `Content-Type: text/plain; charset=utf-8` (what Go
//!   sniffs for it), and a `Date`, for every path and method;
//! - the header names are written differently: Go writes `Date`, `Content-Length`,
//!   `Content-Type` in that order and case, hyper (under axum) writes
//!   `content-type`, `content-length`, `date`, and hyper's client writes `host`,
//!   `user-agent`, `connection`. HTTP/1.1 header names are case-insensitive
//!   (RFC 9110, section 5.1) and no client may depend on their order: Go's client
//!   and server, browsers and curl read either. A capture of the two servers shows
//!   the difference, that is all;
//! - the end of stream is the same: without `Connection: close` (what `http.Get`
//!   and browsers send) both servers keep the connection open for the next request
//!   until the client closes it, with no idle timeout; with it (protolab's client)
//!   both answer `Connection: close` and close first. Go's server waits a moment
//!   for the client's close; protolab's client closes once it has read the FIN.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::routing::any;
use axum::Router;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::{
    connect, read_to_eof, ClientReport, ConnectionExpectation, Counted, Counts, Expectation, Log,
    Params, ScenarioError, ServerReport, Shutdown, IO_TIMEOUT,
};

/// The body of every answer.
pub const HELLO: &str = "Hello World!";

async fn hello() -> &'static str {
    HELLO
}

/// The server: axum does the HTTP; a listener wrapper logs and counts connections.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    mut shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let tracker = Arc::new(Tracker {
        log: params.log(),
        ..Tracker::default()
    });
    let limit = params.limit(1);
    let listener = CountingListener {
        inner: listener,
        tracker: Arc::clone(&tracker),
        limit,
    };
    // Go's `http.HandleFunc("/", …)` answers every path and method: so does this
    // (a browser's /favicon.ico, a POST from a notes exercise).
    let app = Router::new().route("/", any(hello)).fallback(hello);
    let done = Arc::clone(&tracker);
    // Graceful shutdown: stop accepting, let open connections finish, then return.
    // It fires on our shutdown signal, or once the expected connections are closed.
    let signal = async move {
        tokio::select! {
            () = shutdown.requested() => {}
            () = done.closed(limit) => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(signal)
        .await
        .map_err(|e| ScenarioError::io("serve HTTP", e))?;
    let counts = tracker.counts.lock().unwrap_or_else(|e| e.into_inner());
    Ok(ServerReport {
        connections: counts.len() as u64,
        bytes_in: counts.iter().map(|c| c.read()).sum(),
        bytes_out: counts.iter().map(|c| c.written()).sum(),
        log: tracker.log.take(),
        ..ServerReport::default()
    })
}

/// Connections seen by the server.
#[derive(Debug, Default)]
struct Tracker {
    log: Log,
    counts: Mutex<Vec<Arc<Counts>>>,
    closed: AtomicUsize,
    on_close: Notify,
}

impl Tracker {
    /// Resolves once `limit` connections have closed (never without a limit).
    async fn closed(&self, limit: Option<usize>) {
        let Some(limit) = limit else {
            return std::future::pending().await;
        };
        while self.closed.load(Ordering::SeqCst) < limit {
            // notify_one keeps a permit when nobody waits yet: no wake-up is lost.
            self.on_close.notified().await;
        }
    }
}

/// A TCP listener that logs each connection and stops accepting after `limit`.
struct CountingListener {
    inner: TcpListener,
    tracker: Arc<Tracker>,
    limit: Option<usize>,
}

impl axum::serve::Listener for CountingListener {
    type Io = TrackedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TrackedStream, SocketAddr) {
        let accepted = self
            .tracker
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        if self.limit.is_some_and(|n| accepted >= n) {
            // Enough clients: the graceful shutdown will end the server.
            return std::future::pending().await;
        }
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    self.tracker.log.push(format!("connect {peer}"));
                    let stream = Counted::new(stream);
                    self.tracker
                        .counts
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(stream.counts());
                    let tracked = TrackedStream {
                        inner: stream,
                        peer,
                        tracker: Arc::clone(&self.tracker),
                    };
                    return (tracked, peer);
                }
                Err(e) => {
                    self.tracker.log.push(format!("accept failed: {e}"));
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A server-side connection that logs `close` when hyper lets go of it.
struct TrackedStream {
    inner: Counted<TcpStream>,
    peer: SocketAddr,
    tracker: Arc<Tracker>,
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.tracker.log.push(format!("close {}", self.peer));
        self.tracker.closed.fetch_add(1, Ordering::SeqCst);
        self.tracker.on_close.notify_one();
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    // hyper calls this after the response when the connection is not kept alive:
    // it is shutdown(Write), our FIN.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The client: one `GET /` with `Connection: close`, on a connection of our own.
pub async fn client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    let stream = connect(server).await?;
    let counts = stream.counts();
    // hyper speaks HTTP/1.1 over any byte stream we give it.
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task reads and writes the socket. `without_shutdown` hands the
    // socket back when the exchange is over instead of closing it: we want to close
    // it ourselves, after the server's FIN.
    let conn = tokio::spawn(conn.without_shutdown());

    let request = Request::get("/")
        .header(HOST, server.to_string())
        .header(USER_AGENT, concat!("protolab/", env!("CARGO_PKG_VERSION")))
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| ScenarioError::Protocol(format!("build the request: {e}")))?;
    let exchange = async {
        let response = sender.send_request(request).await?;
        let status = response.status();
        let version = response.version();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, version, body))
    };
    let (status, version, body) =
        tokio::time::timeout(IO_TIMEOUT, exchange)
            .await
            .map_err(|_| ScenarioError::Timeout {
                what: format!("GET / from {server}"),
                after: IO_TIMEOUT,
            })??;
    drop(sender);
    let parts = conn
        .await
        .map_err(|e| ScenarioError::Protocol(format!("the HTTP connection task failed: {e}")))??;
    let mut stream = parts.io.into_inner();
    // The server closes first (Connection: close): wait for its FIN, then close.
    let extra = read_to_eof(&mut stream, "after the response").await?;
    drop(stream);

    let mut report = ClientReport {
        bytes_sent: counts.written(),
        bytes_received: counts.read(),
        replies: vec![
            format!("{version:?} {status}"),
            String::from_utf8_lossy(&body).into_owned(),
        ],
        ..ClientReport::default()
    };
    if !status.is_success() {
        report.notes.push(format!("the server answered {status}"));
    }
    if !extra.is_empty() || !parts.read_buf.is_empty() {
        report
            .notes
            .push("unexpected bytes after the response".into());
    }
    Ok(report)
}

/// One connection; `Connection: close` makes the server close first.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::server_closes_first(None, None)],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "one request, one response, one connection",
            "the request says `Connection: close`: the server closes first and ends in \
             TIME_WAIT; the client passes through CLOSE_WAIT and LAST_ACK",
        ],
    }
}
