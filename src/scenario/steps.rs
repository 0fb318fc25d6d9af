//! A client's socket steps, each bounded by [`IO_TIMEOUT`] and named in its error:
//! connect, read one message, read to the peer's FIN. A scenario's client reads
//! like the protocol it speaks, and a stuck peer becomes an error that says which
//! step waited in vain instead of a hang.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

use super::{Counted, ScenarioError};

/// How long a client waits for any one step (connect, a reply, the peer's FIN).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one client step with [`IO_TIMEOUT`], naming the step in the error.
pub(crate) async fn step<T>(
    what: impl Fn() -> String,
    fut: impl Future<Output = io::Result<T>>,
) -> Result<T, ScenarioError> {
    step_within(IO_TIMEOUT, what, fut).await
}

/// Runs one client step for at most `limit`, naming the step in the error.
pub(crate) async fn step_within<T>(
    limit: Duration,
    what: impl Fn() -> String,
    fut: impl Future<Output = io::Result<T>>,
) -> Result<T, ScenarioError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ScenarioError::io(what(), e)),
        Err(_) => Err(ScenarioError::Timeout {
            what: what(),
            after: limit,
        }),
    }
}

/// Connects to `server`, within [`IO_TIMEOUT`].
pub(crate) async fn connect(server: SocketAddr) -> Result<Counted<TcpStream>, ScenarioError> {
    // connect() sends the SYN and returns once the SYN-ACK has arrived and our ACK
    // is on its way: the three-way handshake is done, we are ESTABLISHED.
    let stream = step(
        || format!("connect to {server}"),
        TcpStream::connect(server),
    )
    .await?;
    Ok(Counted::new(stream))
}

/// Reads until the peer's FIN (read returns 0), keeping what arrives.
pub(crate) async fn read_to_eof<S: AsyncRead + Unpin>(
    stream: &mut S,
    what: &str,
) -> Result<Vec<u8>, ScenarioError> {
    read_to_eof_within(IO_TIMEOUT, stream, what).await
}

/// [`read_to_eof`] waiting at most `limit`.
pub(crate) async fn read_to_eof_within<S: AsyncRead + Unpin>(
    limit: Duration,
    stream: &mut S,
    what: &str,
) -> Result<Vec<u8>, ScenarioError> {
    let mut rest = Vec::new();
    step_within(
        limit,
        || format!("{what}: waiting for the peer's FIN"),
        stream.read_to_end(&mut rest),
    )
    .await?;
    Ok(rest)
}

/// Reads one reply message with a single read: the request/response protocols of
/// the notes rely on each message arriving alone, because each side waits for the
/// other's answer before writing again.
pub(crate) async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    what: &str,
) -> Result<Vec<u8>, ScenarioError> {
    read_message_within(IO_TIMEOUT, stream, what).await
}

/// [`read_message`] waiting at most `limit`.
pub(crate) async fn read_message_within<S: AsyncRead + Unpin>(
    limit: Duration,
    stream: &mut S,
    what: &str,
) -> Result<Vec<u8>, ScenarioError> {
    let mut buf = vec![0u8; 1024];
    let n = step_within(limit, || what.to_string(), stream.read(&mut buf)).await?;
    buf.truncate(n);
    Ok(buf)
}

/// Lossy text of a message, without a trailing line ending.
pub(crate) fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    s.trim_end_matches(['\r', '\n']).to_string()
}
