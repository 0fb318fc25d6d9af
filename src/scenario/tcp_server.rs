//! The accept loop every TCP scenario shares ([`serve_tcp`]): one task per
//! connection, so clients are served concurrently, `connect`/`close` lines in the
//! server's log, byte counts per connection, and a clean stop on shutdown. A
//! scenario supplies only what one connection does (a [`Handler`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::{Counted, Params, ScenarioError, ServerReport};
use crate::serving::{Log, Shutdown};

/// What one server connection produced.
#[derive(Debug, Default)]
pub(crate) struct ConnOutcome {
    pub saved: Option<PathBuf>,
    pub sha256: Option<String>,
    pub notes: Vec<String>,
}

/// A per-connection handler: the stream (counting bytes), the peer, the server log.
pub(crate) type Handler = Arc<
    dyn Fn(
            Counted<TcpStream>,
            SocketAddr,
            Log,
        ) -> Pin<Box<dyn Future<Output = Result<ConnOutcome, ScenarioError>> + Send>>
        + Send
        + Sync,
>;

/// The accept loop every TCP scenario shares: a task per connection (so clients are
/// served concurrently), `connect`/`close` lines in the log, and a clean stop.
///
/// With `limit`, the loop stops accepting after that many connections, drops the
/// listener (the port stops listening) and returns when they have finished.
/// On shutdown it stops accepting and closes the connections still open.
pub(crate) async fn serve_tcp(
    listener: TcpListener,
    limit: Option<usize>,
    mut shutdown: Shutdown,
    log: Log,
    handler: Handler,
) -> ServerReport {
    let mut report = ServerReport::default();
    let mut tasks = JoinSet::new();
    let mut counts = Vec::new();
    while limit.is_none_or(|n| counts.len() < n) && !shutdown.is_requested() {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.requested() => break,
        };
        // accept() hands over a connection whose handshake the kernel has already
        // completed; the listening socket itself stays in LISTEN for the next one.
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // E.g. too many open files: wait a moment instead of spinning.
                log.push(format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        log.push(format!("connect {peer}"));
        let stream = Counted::new(stream);
        counts.push(stream.counts());
        let work = handler(stream, peer, log.clone());
        let mut stop = shutdown.clone();
        let log = log.clone();
        tasks.spawn(async move {
            tokio::select! {
                outcome = work => {
                    match &outcome {
                        Ok(_) => log.push(format!("close {peer}")),
                        Err(e) if e.is_reset() => {
                            log.push(format!("reset {peer}: the peer aborted the connection (RST)"))
                        }
                        Err(e) => log.push(format!("error {peer}: {e}")),
                    }
                    outcome.ok()
                }
                // Dropping `work` drops the stream: close() sends our FIN.
                () = stop.requested() => {
                    log.push(format!("shutdown: closed {peer}"));
                    None
                }
            }
        });
    }
    // With a limit reached (or on shutdown) nobody else may connect: close the
    // listening socket now, not when the last connection is done.
    drop(listener);
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Some(outcome)) = joined {
            report.saved = outcome.saved.or(report.saved);
            report.sha256 = outcome.sha256.or(report.sha256);
            report.notes.extend(outcome.notes);
        }
    }
    report.connections = counts.len() as u64;
    report.bytes_in = counts.iter().map(|c| c.read()).sum();
    report.bytes_out = counts.iter().map(|c| c.written()).sum();
    report.log = log.take();
    report
}

/// The server of a scenario that teaches one connection: serves one connection
/// with `session` (every connection when `params` says to serve forever), then
/// reports.
pub(crate) async fn serve_one_session(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
    session: Handler,
) -> Result<ServerReport, ScenarioError> {
    Ok(serve_tcp(listener, params.limit(1), shutdown, params.log(), session).await)
}

/// Reads the client's one-line request and writes `answer`: how the one-connection
/// scenarios open, before each ends the connection its own way.
pub(crate) async fn answer_request(
    stream: &mut BufReader<Counted<TcpStream>>,
    answer: &[u8],
) -> Result<(), ScenarioError> {
    let mut line = Vec::new();
    stream
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| ScenarioError::io("read the request", e))?;
    stream
        .write_all(answer)
        .await
        .map_err(|e| ScenarioError::io("answer", e))
}

/// Boxes a per-connection handler for [`serve_tcp`].
pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Counted<TcpStream>, SocketAddr, Log) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ConnOutcome, ScenarioError>> + Send + 'static,
{
    Arc::new(move |stream, peer, log| Box::pin(f(stream, peer, log)))
}
