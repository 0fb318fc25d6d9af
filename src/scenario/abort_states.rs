//! `abort-states`: a RST from every state of the close, one connection each.
//!
//! `SO_LINGER {on, 0}` makes close() abort: Linux's `tcp_disconnect` sends a RST
//! from the socket's current state (when `tcp_need_reset` says that state has a
//! peer to tell: ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, FIN_WAIT_2, SYN_RECEIVED)
//! and the socket is CLOSED at once; the peer's socket goes to CLOSED when the RST
//! arrives, from whatever state it is in. The client opens five connections, one
//! after the other, and each is aborted in another pair of states:
//!
//! | connection | aborts, in        | gets the RST, in |
//! |------------|-------------------|------------------|
//! | 1          | client, FIN_WAIT_2 | server, CLOSE_WAIT |
//! | 2          | server, CLOSE_WAIT | client, FIN_WAIT_2 |
//! | 3          | server, FIN_WAIT_1 | client, CLOSING    |
//! | 4          | server, ESTABLISHED | client, FIN_WAIT_1 |
//! | 5          | client, FIN_WAIT_2 | server, LAST_ACK   |
//!
//! Each side acts on a state, not on a guess of time: it asks its own socket
//! (`TCP_INFO`) until it *is* in the state it must abort from, and the two sides
//! hand the turn to each other with the lab's [`super::Gate`]. The link's delay
//! ([`super::CROSSING_DELAY`] each way) keeps the segment that would end the
//! state in flight while the RST leaves:
//!
//! - 3: the client's FIN is in flight when the server shuts down and aborts, so
//!   the server is still in FIN_WAIT_1; the client gets the server's FIN before the
//!   ACK of its own (CLOSING), then the RST that follows it;
//! - 4: the server aborts before the client's FIN has arrived: the client's FIN is
//!   never acknowledged, and the RST finds it in FIN_WAIT_1;
//! - 5: the server's FIN (LAST_ACK) is in flight when the client aborts in
//!   FIN_WAIT_2, and the client's RST reaches the server still in LAST_ACK.
//!
//! What Linux does not do: a linger-0 close in CLOSING or LAST_ACK sends no RST
//! (`tcp_disconnect` resets there only when data is still unsent); the socket is
//! CLOSED without a word. Those two "snd RST" arcs need a FIN held back behind
//! unsent data, which this scenario does not try.
//!
//! Stand-alone (`protolab serve` and `protolab client`) there is no gate: each side
//! acts as soon as it can, and the states are the ones above only if the network's
//! delay happens to leave the time (best effort; `protolab run` makes sure).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;

use nix::sys::socket::{setsockopt, sockopt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::crossing::Gate;
use super::tcp_info::{state_of, wait_for_state};
use super::{
    connect, handler, serve_tcp, step, ClientReport, ConnOutcome, ConnectionExpectation, Counted,
    Expectation, Log, Params, ScenarioError, ServerReport, Shutdown, IO_TIMEOUT,
};
use crate::analyze::{TcpState, Why};

/// What the server answers each case line with, before anyone closes: the client
/// closes only once the server knows which case this connection is.
pub const READY: &[u8] = b"ready\n";

/// The five connections, in the order the client opens them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// The client aborts in FIN_WAIT_2; the server is in CLOSE_WAIT.
    FinWait2,
    /// The server aborts in CLOSE_WAIT; the client is in FIN_WAIT_2.
    CloseWait,
    /// The server aborts in FIN_WAIT_1; the client is in CLOSING.
    Closing,
    /// The server aborts in ESTABLISHED; the client is in FIN_WAIT_1.
    FinWait1,
    /// The client aborts in FIN_WAIT_2; the server is in LAST_ACK.
    LastAck,
}

/// Every case, in connection order.
pub const CASES: [Case; 5] = [
    Case::FinWait2,
    Case::CloseWait,
    Case::Closing,
    Case::FinWait1,
    Case::LastAck,
];

impl Case {
    /// The line the client sends to name the case.
    pub fn line(self) -> &'static str {
        match self {
            Case::FinWait2 => "abort in fin-wait-2\n",
            Case::CloseWait => "abort in close-wait\n",
            Case::Closing => "abort in closing\n",
            Case::FinWait1 => "abort in fin-wait-1\n",
            Case::LastAck => "abort in last-ack\n",
        }
    }

    fn from_line(line: &[u8]) -> Option<Case> {
        CASES.into_iter().find(|c| c.line().as_bytes() == line)
    }

    /// This case's first gate step: each connection numbers its own steps.
    fn step(self, n: u32) -> u32 {
        let index = CASES.iter().position(|c| *c == self).unwrap_or(0) as u32;
        index * 10 + n
    }
}

/// The server: one connection per case, each ended the case's way.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let gate = params.gate.clone();
    let session = handler(move |stream, peer, log| session(stream, peer, log, gate.clone()));
    Ok(serve_tcp(
        listener,
        params.limit(CASES.len()),
        shutdown,
        params.log(),
        session,
    )
    .await)
}

async fn session(
    stream: Counted<TcpStream>,
    peer: SocketAddr,
    log: Log,
    gate: Gate,
) -> Result<ConnOutcome, ScenarioError> {
    let mut stream = BufReader::new(stream);
    let mut line = Vec::new();
    step(
        || "read the case".into(),
        stream.read_until(b'\n', &mut line),
    )
    .await?;
    let case = Case::from_line(&line).ok_or_else(|| {
        ScenarioError::Protocol(format!("unknown case {:?}", String::from_utf8_lossy(&line)))
    })?;
    step(|| "say ready".into(), stream.write_all(READY)).await?;
    let said = match case {
        Case::FinWait2 => {
            read_eof(&mut stream).await?;
            until_reset(stream.get_ref().get_ref(), "CLOSE_WAIT").await?
        }
        Case::CloseWait => {
            read_eof(&mut stream).await?;
            // Our ACK of its FIN must have reached the client (FIN_WAIT_2) first.
            gate.wait_for(case.step(1), "wait for the client's FIN_WAIT_2")
                .await?;
            abort_in(stream.get_ref().get_ref(), TcpState::CloseWait)?
        }
        Case::Closing => {
            gate.wait_for(case.step(1), "wait for the client's FIN to leave")
                .await?;
            step(|| "shutdown(Write)".into(), stream.shutdown()).await?;
            abort_in(stream.get_ref().get_ref(), TcpState::FinWait1)?
        }
        Case::FinWait1 => {
            gate.wait_for(case.step(1), "wait for the client's FIN to leave")
                .await?;
            abort_in(stream.get_ref().get_ref(), TcpState::Established)?
        }
        Case::LastAck => {
            read_eof(&mut stream).await?;
            gate.wait_for(case.step(1), "wait for the client's FIN_WAIT_2")
                .await?;
            step(|| "shutdown(Write)".into(), stream.shutdown()).await?;
            // Our FIN is in flight: the client aborts now, and its RST finds us here.
            gate.pass(case.step(2));
            until_reset(stream.get_ref().get_ref(), "LAST_ACK").await?
        }
    };
    log.push(format!("{peer}: {said}"));
    drop(stream);
    Ok(ConnOutcome::default())
}

/// The client: the five connections, one after the other.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let mut report = ClientReport::default();
    for case in CASES {
        match one(server, case, &params.gate, &mut report).await {
            Ok(note) => report.notes.push(note),
            // Stand-alone nothing holds a state open: say what happened, go on.
            Err(ScenarioError::Protocol(what)) if !params.gate.is_set() => {
                report.notes.push(format!(
                    "{}: {what} (stand-alone, without the lab's gate and delay, the \
                     states are a matter of timing: `protolab run abort-states` makes sure)",
                    case.line().trim_end()
                ))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// One connection: name the case, wait for READY, then the case's close.
async fn one(
    server: SocketAddr,
    case: Case,
    gate: &Gate,
    report: &mut ClientReport,
) -> Result<String, ScenarioError> {
    let stream = connect(server).await?;
    let counts = stream.counts();
    let mut stream = BufReader::new(stream);
    step(
        || "name the case".into(),
        stream.write_all(case.line().as_bytes()),
    )
    .await?;
    let mut ready = Vec::new();
    step(|| "read ready".into(), stream.read_until(b'\n', &mut ready)).await?;
    // All it says and hears: the rest of the connection is closes and aborts.
    report.bytes_sent += counts.written();
    report.bytes_received += counts.read();
    report.replies.push(super::text(&ready));
    step(|| "shutdown(Write)".into(), stream.shutdown()).await?;
    let socket = stream.get_ref().get_ref();
    let said = match case {
        Case::FinWait2 => {
            reach(socket, TcpState::FinWait2).await?;
            abort_in(socket, TcpState::FinWait2)?
        }
        Case::CloseWait => {
            reach(socket, TcpState::FinWait2).await?;
            gate.pass(case.step(1));
            until_reset(socket, "FIN_WAIT_2").await?
        }
        Case::Closing | Case::FinWait1 => {
            // Our FIN has left (FIN_WAIT_1): the server may act.
            gate.pass(case.step(1));
            let was = if case == Case::Closing {
                "CLOSING"
            } else {
                "FIN_WAIT_1"
            };
            until_reset(socket, was).await?
        }
        Case::LastAck => {
            reach(socket, TcpState::FinWait2).await?;
            gate.pass(case.step(1));
            gate.wait_for(case.step(2), "wait for the server's FIN to leave")
                .await?;
            abort_in(socket, TcpState::FinWait2)?
        }
    };
    drop(stream);
    Ok(format!("{}: {said}", case.line().trim_end()))
}

/// Reads until the client's FIN: we are in CLOSE_WAIT.
async fn read_eof(stream: &mut BufReader<Counted<TcpStream>>) -> Result<(), ScenarioError> {
    let mut rest = Vec::new();
    step(
        || "wait for the client's FIN".into(),
        stream.read_to_end(&mut rest),
    )
    .await?;
    Ok(())
}

/// Waits until our socket is in `want` (FIN_WAIT_2: our FIN acknowledged).
async fn reach(socket: &TcpStream, want: TcpState) -> Result<(), ScenarioError> {
    let past = [TcpState::TimeWait, TcpState::Closing, TcpState::Closed];
    match wait_for_state(socket, want, &past, IO_TIMEOUT)
        .await
        .map_err(|e| ScenarioError::io("read TCP_INFO", e))?
    {
        Ok(()) => Ok(()),
        Err(state) => Err(ScenarioError::Protocol(format!(
            "waited for {want}, the socket is in {state}"
        ))),
    }
}

/// Checks that our socket is in `state`, then aborts it: SO_LINGER {on, 0} and
/// close(), which sends a RST from that state.
fn abort_in(socket: &TcpStream, state: TcpState) -> Result<String, ScenarioError> {
    // It is there already, or the case went otherwise (stand-alone): ask once.
    let now = state_of(socket).map_err(|e| ScenarioError::io("read TCP_INFO", e))?;
    if now != state {
        return Err(ScenarioError::Protocol(format!(
            "the case aborts in {state}, the socket is in {now}"
        )));
    }
    set_linger_zero(socket)?;
    // The RST leaves when the caller drops the stream (close()); nothing else is
    // sent on it before that.
    Ok(format!(
        "SO_LINGER {{on, 0}} and close() in {state}: RST sent, CLOSED at once"
    ))
}

fn set_linger_zero(socket: &impl AsFd) -> Result<(), ScenarioError> {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt(socket, sockopt::Linger, &linger)
        .map_err(|e| ScenarioError::io("set SO_LINGER to 0", io::Error::from(e)))
}

/// Waits until the peer's RST has closed our socket (it was in `was`).
async fn until_reset(socket: &TcpStream, was: &str) -> Result<String, ScenarioError> {
    match wait_for_state(socket, TcpState::Closed, &[], IO_TIMEOUT)
        .await
        .map_err(|e| ScenarioError::io("read TCP_INFO", e))?
    {
        // The RST may follow a FIN within microseconds (CLOSING): too quick to see
        // by asking, so say what the case meant; the kernel's tracepoint has the rest.
        Ok(()) => Ok(format!(
            "the peer's RST closed the socket (the case has it arrive in {was})"
        )),
        Err(state) => Err(ScenarioError::Protocol(format!(
            "waited for the peer's RST in {was}, the socket is still in {state}"
        ))),
    }
}

const CLIENT_OPEN: [TcpState; 3] = [TcpState::Closed, TcpState::SynSent, TcpState::Established];
const SERVER_OPEN: [TcpState; 3] = [
    TcpState::Listen,
    TcpState::SynReceived,
    TcpState::Established,
];

/// One connection of [`CASES`]: the client's path after ESTABLISHED, the server's,
/// and which side sent the RST (`true`: the client).
fn paths(case: Case) -> (&'static [TcpState], &'static [TcpState], bool) {
    use TcpState::*;
    match case {
        Case::FinWait2 => (&[FinWait1, FinWait2, Closed], &[CloseWait, Closed], true),
        Case::CloseWait => (&[FinWait1, FinWait2, Closed], &[CloseWait, Closed], false),
        Case::Closing => (&[FinWait1, Closing, Closed], &[FinWait1, Closed], false),
        Case::FinWait1 => (&[FinWait1, Closed], &[Closed], false),
        Case::LastAck => (
            &[FinWait1, FinWait2, Closed],
            &[CloseWait, LastAck, Closed],
            true,
        ),
    }
}

/// The expectation of one case's connection.
pub fn connection(case: Case) -> ConnectionExpectation {
    let (client, server, client_resets) = paths(case);
    let before_closed = |path: &[TcpState]| {
        path.len()
            .checked_sub(2)
            .map(|i| path[i])
            .unwrap_or(TcpState::Established)
    };
    let (sent, got) = if client_resets {
        (before_closed(client), before_closed(server))
    } else {
        (before_closed(server), before_closed(client))
    };
    ConnectionExpectation {
        client_states: [&CLIENT_OPEN[..], client].concat(),
        server_states: [&SERVER_OPEN[..], server].concat(),
        client_bytes: Some(case.line().len() as u64),
        server_bytes: Some(READY.len() as u64),
        ways: vec![
            (sent, TcpState::Closed, Why::SentRst),
            (got, TcpState::Closed, Why::ReceivedRst),
        ],
        kernel_only: Vec::new(),
    }
}

/// Five connections, each aborted by a RST in another pair of states.
pub fn expectation() -> Expectation {
    Expectation {
        connections: CASES.into_iter().map(connection).collect(),
        udp_datagrams: None,
        // The states a RST leaves are the kernel's to vouch for.
        kernel_confirms: true,
        notes: vec![
            "no TIME_WAIT anywhere: every connection ends with a RST, and both ends go \
             straight to CLOSED",
            "the RST leaves from the aborting socket's state: FIN_WAIT_2, CLOSE_WAIT, \
             FIN_WAIT_1 or ESTABLISHED; the peer receives it in CLOSE_WAIT, FIN_WAIT_2, \
             CLOSING, FIN_WAIT_1 or LAST_ACK",
            "connection 3: the server's FIN and RST follow each other; the client passes \
             CLOSING on the FIN, then the RST closes it",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_case_names_its_rst_arcs() {
        let c = connection(Case::LastAck);
        assert!(c
            .ways
            .contains(&(TcpState::LastAck, TcpState::Closed, Why::ReceivedRst)));
        assert!(c
            .ways
            .contains(&(TcpState::FinWait2, TcpState::Closed, Why::SentRst)));
        let c = connection(Case::FinWait1);
        assert_eq!(
            c.ways,
            vec![
                (TcpState::Established, TcpState::Closed, Why::SentRst),
                (TcpState::FinWait1, TcpState::Closed, Why::ReceivedRst),
            ]
        );
        for case in CASES {
            assert_eq!(Case::from_line(case.line().as_bytes()), Some(case));
        }
    }
}
