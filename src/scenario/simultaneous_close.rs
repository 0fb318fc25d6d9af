//! `simultaneous-close`: both sides close at once, and their FINs cross.
//!
//! An ordinary handshake and one exchange; then the client shuts down writing
//! and, while its FIN is in flight, so does the server (see [`super::crossing`]
//! for how the lab makes the two FINs meet every time):
//!
//! - each side, in FIN_WAIT_1, receives a FIN whose ACK does not cover its own FIN:
//!   the peer had not seen it yet. It acknowledges that FIN and goes to CLOSING
//!   (RFC 9293 §3.10.7.4; Linux's `tcp_fin`: FIN_WAIT1 → CLOSING);
//! - each then receives the ACK of its own FIN: TIME_WAIT (`tcp_time_wait`).
//!
//! Nobody passes CLOSE_WAIT or LAST_ACK, and *both* sides keep a TIME_WAIT.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::crossing::Gate;
use super::{
    answer_request, connect, handler, serve_one_session, step, text, ClientReport, ConnOutcome,
    ConnectionExpectation, Counted, Expectation, Log, Params, ScenarioError, ServerReport,
    Shutdown,
};

/// What the client says.
pub const REQUEST: &[u8] = b"let us close together\n";
/// What the server answers before both close.
pub const ANSWER: &[u8] = b"on three: one, two, three\n";

/// The server: one connection, answered, then closed as soon as the client's FIN
/// is in flight.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let gate = params.gate.clone();
    let session = handler(move |stream, peer, log| session(stream, peer, log, gate.clone()));
    serve_one_session(listener, params, shutdown, session).await
}

async fn session(
    stream: Counted<TcpStream>,
    peer: SocketAddr,
    log: Log,
    gate: Gate,
) -> Result<ConnOutcome, ScenarioError> {
    let mut stream = BufReader::new(stream);
    answer_request(&mut stream, ANSWER).await?;
    // The client closes first, at once; our FIN leaves while its FIN is in flight.
    gate.wait("wait for the client's FIN to leave").await?;
    stream
        .shutdown()
        .await
        .map_err(|e| ScenarioError::io("shutdown(Write)", e))?;
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .await
        .map_err(|e| ScenarioError::io("wait for the client's FIN", e))?;
    log.push(format!(
        "{peer}: our FINs crossed: CLOSING, then TIME_WAIT on both sides"
    ));
    Ok(ConnOutcome::default())
}

/// The client: ask, read the answer, then close at the same moment as the server.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let stream = connect(server).await?;
    let counts = stream.counts();
    let mut stream = BufReader::new(stream);
    step(|| "say hello".into(), stream.write_all(REQUEST)).await?;
    let mut answer = Vec::new();
    step(
        || "read the answer".into(),
        stream.read_until(b'\n', &mut answer),
    )
    .await?;
    // shutdown(Write): our FIN leaves (FIN_WAIT_1); then the server may close too.
    step(|| "shutdown(Write)".into(), stream.shutdown()).await?;
    params.gate.open();
    let mut rest = Vec::new();
    step(
        || "wait for the server's FIN".into(),
        stream.read_to_end(&mut rest),
    )
    .await?;
    drop(stream);
    Ok(ClientReport {
        bytes_sent: counts.written(),
        bytes_received: counts.read(),
        replies: vec![text(&answer)],
        notes: vec![
            "our FIN and the server's crossed: both sides went FIN_WAIT_1 → CLOSING → TIME_WAIT"
                .into(),
        ],
        ..ClientReport::default()
    })
}

/// Both sides close through CLOSING and keep a TIME_WAIT.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::simultaneous_close(
            Some(REQUEST.len() as u64),
            Some(ANSWER.len() as u64),
        )],
        udp_datagrams: None,
        // Crossing is proved by the kernel: its tracepoint must have seen it.
        kernel_confirms: true,
        notes: vec![
            "two FINs cross in flight: each acknowledges the other's FIN, not its own",
            "both sides pass through CLOSING, and both keep a TIME_WAIT",
        ],
    }
}
