//! `time-wait-rst`: a TIME_WAIT ended by a RST, after a real delayed duplicate
//! (RFC 1337's "TIME-WAIT assassination").
//!
//! TIME_WAIT exists for the delayed duplicate: a segment of the connection that
//! arrives after its close. Here the lab makes one happen. The client closes first
//! (FIN_WAIT_1, FIN_WAIT_2), the server closes after reading its FIN (CLOSE_WAIT,
//! LAST_ACK), and the client, on the server's FIN, sends the last ACK and enters
//! TIME_WAIT. The bridge keeps a copy of that FIN and sends it to the client
//! again once the client's ACK has reached the server (ordering, not a timer: the
//! server's socket is then gone, LAST_ACK → CLOSED). Then, on Linux:
//!
//! 1. the TIME_WAIT receives the old FIN and acknowledges it again (it may be a
//!    retransmission whose ACK was lost: `tcp_timewait_state_process` answers
//!    `TCP_TW_ACK`);
//! 2. that ACK reaches the server's kernel, which has no socket for it any more
//!    and answers with a RST whose sequence number is the ACK's acknowledgment
//!    number, exactly what the TIME_WAIT expects next;
//! 3. with `net.ipv4.tcp_rfc1337 = 0` (Linux's default, set in the client's
//!    namespace to be sure) an in-window RST kills the TIME_WAIT: TIME_WAIT →
//!    CLOSED, long before its 60 s. RFC 1337 calls this a hazard: the TIME_WAIT no
//!    longer protects a new incarnation of the connection from old duplicates.
//!    With `tcp_rfc1337 = 1` Linux ignores the RST and keeps the TIME_WAIT.
//!
//! The tracepoint never sees a timewait socket; the socket table does: the client
//! waits (sock_diag, see [`super::time_wait_end`]) until its TIME_WAIT is gone, and
//! the kernel comparison takes the table's end as the TIME_WAIT's CLOSED.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::time_wait_end::{time_wait_gone, TimeWaitEnd};
use super::{
    answer_request, connect, handler, serve_one_session, step, text, ClientReport, ConnOutcome,
    ConnectionExpectation, Counted, Expectation, LinkNeeds, Log, Params, ScenarioError,
    ServerReport, Shutdown, CROSSING_DELAY, IO_TIMEOUT,
};
use crate::analyze::{TcpState, Why};

/// What the scenario needs of the network: the lab, the server's FIN sent again
/// after the client's ACK of it, a delay that keeps each step apart, and RFC 1337's
/// protection off in the client's namespace (Linux's default).
pub const NEEDS: LinkNeeds = LinkNeeds {
    drop_tcp_to_server: false,
    client_sysctls: &[("net.ipv4.tcp_rfc1337", "0")],
    echo_server_fin: true,
    least_delay: CROSSING_DELAY,
};

/// What the client says before it closes.
pub const REQUEST: &[u8] = b"remember me after we close\n";
/// What the server answers.
pub const ANSWER: &[u8] = b"until an old FIN comes back\n";

/// The server: one connection, answered, closed once the client has closed.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    serve_answering(listener, params, shutdown, ANSWER).await
}

/// One connection: read a line, write `answer`, close once the client has closed
/// (CLOSE_WAIT, LAST_ACK). `time-wait-expiry`'s server too.
pub(super) async fn serve_answering(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
    answer: &'static [u8],
) -> Result<ServerReport, ScenarioError> {
    let session = handler(move |stream, peer, log| session(stream, peer, log, answer));
    serve_one_session(listener, params, shutdown, session).await
}

async fn session(
    stream: Counted<TcpStream>,
    peer: SocketAddr,
    log: Log,
    answer: &'static [u8],
) -> Result<ConnOutcome, ScenarioError> {
    let mut stream = BufReader::new(stream);
    answer_request(&mut stream, answer).await?;
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .await
        .map_err(|e| ScenarioError::io("wait for the client's FIN", e))?;
    // Our FIN: LAST_ACK, then CLOSED on the client's ACK.
    drop(stream);
    log.push(format!(
        "{peer}: closed after the client (LAST_ACK → CLOSED)"
    ));
    Ok(ConnOutcome::default())
}

/// The client: ask, read the answer, close first, then wait until the socket
/// table says its TIME_WAIT is gone.
pub async fn client(server: SocketAddr, _params: &Params) -> Result<ClientReport, ScenarioError> {
    let waited =
        close_first_and_wait_out(server, REQUEST, Duration::from_millis(1), IO_TIMEOUT).await;
    let (mut report, end) = match waited {
        Ok(done) => done,
        // Stand-alone, no link sends the FIN again: the TIME_WAIT keeps its 60 s.
        // Said, not failed: `run` checks the capture and the kernel anyway.
        Err(WaitedOut::TimeWaitStayed(report)) => {
            let mut report = *report;
            report.notes.push(format!(
                "our TIME_WAIT was still there after {} s: no duplicate FIN came back \
                 (the lab's link sends one: `protolab run time-wait-rst`)",
                IO_TIMEOUT.as_secs()
            ));
            return Ok(report);
        }
        Err(WaitedOut::Failed(e)) => return Err(e),
    };
    report.notes.push(format!(
        "our TIME_WAIT was gone after {:.0} ms, not 60 s: the server's old FIN came \
         back, our ACK of it met no socket, and the RST that answered killed the \
         TIME_WAIT (tcp_rfc1337 = 0)",
        end.seen_for.as_secs_f64() * 1e3
    ));
    Ok(report)
}

/// Why [`close_first_and_wait_out`] came back without an end of TIME_WAIT.
#[derive(Debug)]
pub(super) enum WaitedOut {
    /// The exchange and the close went well; the TIME_WAIT outlived the limit.
    TimeWaitStayed(Box<ClientReport>),
    Failed(ScenarioError),
}

impl From<ScenarioError> for WaitedOut {
    fn from(e: ScenarioError) -> Self {
        WaitedOut::Failed(e)
    }
}

/// Says `request`, reads the answer line, closes first, and waits (asking the
/// socket table every `every`, at most `limit`) until its TIME_WAIT is gone.
pub(super) async fn close_first_and_wait_out(
    server: SocketAddr,
    request: &[u8],
    every: Duration,
    limit: Duration,
) -> Result<(ClientReport, TimeWaitEnd), WaitedOut> {
    let stream = connect(server).await?;
    let local = stream
        .get_ref()
        .local_addr()
        .map_err(|e| ScenarioError::io("local address", e))?;
    let counts = stream.counts();
    let mut stream = BufReader::new(stream);
    step(|| "say hello".into(), stream.write_all(request)).await?;
    let mut answer = Vec::new();
    step(
        || "read the answer".into(),
        stream.read_until(b'\n', &mut answer),
    )
    .await?;
    step(|| "shutdown(Write)".into(), stream.shutdown()).await?;
    let mut rest = Vec::new();
    step(
        || "wait for the server's FIN".into(),
        stream.read_to_end(&mut rest),
    )
    .await?;
    drop(stream);
    let report = ClientReport {
        bytes_sent: counts.written(),
        bytes_received: counts.read(),
        replies: vec![text(&answer)],
        ..ClientReport::default()
    };
    match time_wait_gone(local, server, every, limit).await {
        Ok(end) => Ok((report, end)),
        Err(ScenarioError::Timeout { .. }) => Err(WaitedOut::TimeWaitStayed(Box::new(report))),
        Err(e) => Err(e.into()),
    }
}

/// The client closes first; its TIME_WAIT ends by the server's RST.
pub fn expectation() -> Expectation {
    let mut c = ConnectionExpectation::client_closes_first(
        Some(REQUEST.len() as u64),
        Some(ANSWER.len() as u64),
    );
    c.client_states.push(TcpState::Closed);
    c.ways
        .push((TcpState::TimeWait, TcpState::Closed, Why::ReceivedRst));
    Expectation {
        connections: vec![c],
        udp_datagrams: None,
        // TIME_WAIT and its end are the socket table's to vouch for.
        kernel_confirms: true,
        notes: vec![
            "the server's FIN arrives twice: the second is the delayed duplicate TIME_WAIT \
             waits for",
            "TIME_WAIT acknowledges it again; the server, closed, answers with a RST",
            "the RST is in window: Linux (tcp_rfc1337 = 0) ends the TIME_WAIT at once",
        ],
    }
}
