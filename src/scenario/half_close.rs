//! `half-close`: a TCP connection is two one-way streams, and each can be closed
//! on its own.
//!
//! The client sends its request and then calls `shutdown(Write)`: its FIN says "I
//! will send nothing more", not "goodbye". The server reads the request up to that
//! FIN (read returns 0) and keeps sending its answer in several chunks. Meanwhile:
//!
//! - the client is in FIN_WAIT_2 (its FIN was acknowledged; it can still receive),
//! - the server is in CLOSE_WAIT (it got the FIN; it can still send).
//!
//! Then the server closes (LAST_ACK), and the client ends in TIME_WAIT. The notes
//! call this "半关闭": `shutdown` closes one direction, `close` both.

use crate::output::words::plural;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{
    connect, read_to_eof, step, text, ClientReport, ConnOutcome, ConnectionExpectation, Counted,
    Expectation, Log, ScenarioError,
};

/// What the client sends before it shuts down its sending direction.
pub const REQUEST: &[u8] = b"send me everything, I am done talking\n";
/// How many chunks the server sends after the client's FIN.
pub const CHUNKS: usize = 5;
/// Pause between chunks, so the chunks are separate segments over time.
const PAUSE: Duration = Duration::from_millis(20);

/// The server's chunks, in order.
pub fn chunks() -> Vec<String> {
    (1..=CHUNKS)
        .map(|i| format!("chunk {i} of {CHUNKS}, sent after your FIN\n"))
        .collect()
}

/// The server's one connection (run by [`super::serve_one_session`]): read until
/// the client's FIN, then answer in chunks, then close.
pub(super) async fn session(
    mut stream: Counted<TcpStream>,
    peer: SocketAddr,
    log: Log,
) -> Result<ConnOutcome, ScenarioError> {
    // The request ends where the client's FIN is: read_to_end returns at EOF.
    let mut request = Vec::new();
    stream
        .read_to_end(&mut request)
        .await
        .map_err(|e| ScenarioError::io("read the request", e))?;
    log.push(format!(
        "{peer}: FIN after {}; we are in CLOSE_WAIT and keep sending",
        plural(request.len(), "byte", "bytes")
    ));
    // Writing after the peer's FIN is fine: only its direction is closed.
    for chunk in chunks() {
        stream
            .write_all(chunk.as_bytes())
            .await
            .map_err(|e| ScenarioError::io("send a chunk", e))?;
        tokio::time::sleep(PAUSE).await;
    }
    // Now our FIN: LAST_ACK until the client acknowledges it.
    drop(stream);
    Ok(ConnOutcome::default())
}

/// The client: request, `shutdown(Write)`, then read everything until the server's FIN.
pub async fn client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    let mut stream = connect(server).await?;
    let counts = stream.counts();
    step(|| "send the request".into(), stream.write_all(REQUEST)).await?;
    // shutdown(Write): send our FIN but keep the socket open for reading.
    // FIN_WAIT_1, then FIN_WAIT_2 once the server's kernel acknowledges it.
    step(|| "shutdown(Write)".into(), stream.shutdown()).await?;
    let answer = read_to_eof(&mut stream, "read the chunks").await?;
    // The server's FIN has arrived: TIME_WAIT. close() now only frees the descriptor.
    drop(stream);
    let answer = String::from_utf8_lossy(&answer);
    Ok(ClientReport {
        bytes_sent: counts.written(),
        bytes_received: counts.read(),
        replies: answer.lines().map(|l| text(l.as_bytes())).collect(),
        notes: vec![format!(
            "received {} after our shutdown(Write)",
            plural(counts.read(), "byte", "bytes")
        )],
        ..ClientReport::default()
    })
}

/// The client closes its direction first; the server's data still flows after it.
pub fn expectation() -> Expectation {
    let answer: u64 = chunks().iter().map(|c| c.len() as u64).sum();
    Expectation {
        connections: vec![ConnectionExpectation::client_closes_first(
            Some(REQUEST.len() as u64),
            Some(answer),
        )],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "the client's FIN comes right after its request, yet the server's data follows it",
            "between the two FINs the client is in FIN_WAIT_2 and the server in CLOSE_WAIT",
        ],
    }
}
