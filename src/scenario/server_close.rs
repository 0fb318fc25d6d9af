//! `server-close`: the server closes first, so the server does the active close.
//!
//! "Client" and "server" say who sent the SYN; "active" and "passive" closer say
//! who sent the first FIN. They are independent. Here the client says hello, the
//! server answers goodbye and closes at once:
//!
//! - the server goes FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT (and holds the TIME_WAIT
//!   for 2×MSL, 60 s on Linux);
//! - the client reads 0 (CLOSE_WAIT), closes too (LAST_ACK), and is CLOSED as soon
//!   as the server's kernel acknowledges its FIN.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{
    answer_request, connect, read_to_eof, step, text, ClientReport, ConnOutcome,
    ConnectionExpectation, Counted, Expectation, Log, ScenarioError,
};

/// What the client says.
pub const HELLO: &[u8] = b"hello\n";
/// What the server answers before it closes.
pub const GOODBYE: &[u8] = b"goodbye, I am closing first\n";

/// The server's one connection (run by [`super::serve_one_session`]): answer one
/// line, close first, wait for the client's FIN. When this returns, the client's
/// FIN has arrived and the kernel has moved our side of the connection to TIME_WAIT.
pub(super) async fn session(
    stream: Counted<TcpStream>,
    peer: SocketAddr,
    log: Log,
) -> Result<ConnOutcome, ScenarioError> {
    let mut stream = BufReader::new(stream);
    // The whole request is read first: closing with unread data would send RST, not FIN.
    answer_request(&mut stream, GOODBYE).await?;
    // shutdown(Write): our FIN goes first. FIN_WAIT_1, then FIN_WAIT_2 when the
    // client's kernel acknowledges it.
    stream
        .shutdown()
        .await
        .map_err(|e| ScenarioError::io("shutdown(Write)", e))?;
    // Read until the client's FIN. Its arrival moves us to TIME_WAIT.
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .await
        .map_err(|e| ScenarioError::io("wait for the client's FIN", e))?;
    log.push(format!(
        "{peer}: its FIN arrived after ours: we are in TIME_WAIT"
    ));
    Ok(ConnOutcome::default())
}

/// The client: say hello, read the answer and the server's FIN, then close.
pub async fn client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    let mut stream = connect(server).await?;
    let counts = stream.counts();
    step(|| "say hello".into(), stream.write_all(HELLO)).await?;
    // read_to_end returns at the server's FIN: we are in CLOSE_WAIT.
    let answer = read_to_eof(&mut stream, "read the answer").await?;
    // close(): our FIN, LAST_ACK; CLOSED when the server acknowledges it.
    drop(stream);
    Ok(ClientReport {
        bytes_sent: counts.written(),
        bytes_received: counts.read(),
        replies: vec![text(&answer)],
        notes: vec!["the server closed first: we were the passive closer".into()],
        ..ClientReport::default()
    })
}

/// The server closes first and ends in TIME_WAIT.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::server_closes_first(
            Some(HELLO.len() as u64),
            Some(GOODBYE.len() as u64),
        )],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "the first FIN comes from the server: it is the active closer and keeps TIME_WAIT",
            "the client's FIN may carry the ACK of the server's FIN (a three-segment close)",
        ],
    }
}
