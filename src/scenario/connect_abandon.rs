//! `connect-abandon`: two closes that leave nothing on the wire.
//!
//! The client starts a connect (nonblocking: connect() returns once the SYN has
//! left), the link drops the SYN as in `connect-timeout`, and the client, while its
//! socket is in SYN_SENT, close()s it. RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes
//! the TCB; Linux's `tcp_close` moves the socket SYN_SENT → CLOSE and sends
//! nothing (there is no connection to end: the peer never answered). Then the
//! server closes its listener: LISTEN → CLOSED, the diagram's other `close` arc,
//! again with nothing on the wire (a listener has no peer).
//!
//! So the capture shows one SYN, no answer, and nothing more; protolab's inference
//! says just that (the client in SYN_SENT: a lone SYN proves no timeout, see
//! [`crate::analyze`]), and only the kernel's tracepoint shows the two closes:
//! they are the expectation's kernel-only arcs, and the run fails without them.
//!
//! The client acts on its socket's state, never on a time: it waits until
//! `TCP_INFO` says SYN_SENT with one segment out, closes, then opens the lab's
//! gate, on which the server closes its listener. Stand-alone (`protolab serve` and
//! `client`, no dropping link) it is best effort: a server that answers the SYN
//! first makes the client close an open connection instead (a FIN on the wire), and
//! the server closes its listener when stopped.

use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use super::crossing::send_syn;
use super::tcp_info::{segs_out, wait_for_state};
use super::{
    ClientReport, ConnectionExpectation, Expectation, KernelOnlyArc, LinkNeeds, Params,
    ScenarioError, ServerReport, Shutdown, Side, IO_TIMEOUT,
};
use crate::analyze::diagram::Trigger;
use crate::analyze::TcpState;

/// What the scenario needs of the network: the lab, with client→server TCP
/// dropped (the SYN must stay unanswered while the client closes).
pub const NEEDS: LinkNeeds = LinkNeeds {
    drop_tcp_to_server: true,
    client_sysctls: &[],
    echo_server_fin: false,
    least_delay: std::time::Duration::ZERO,
};

/// The server: a listener that no SYN reaches, closed once the client has closed
/// its connecting socket (the lab's gate), or when stopped.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    mut shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let log = params.log();
    let addr = listener.local_addr().ok();
    log.push(format!(
        "listening on {}; the link drops every SYN before it",
        addr.map(|a| a.to_string()).unwrap_or_default()
    ));
    let gate = params.gate.clone();
    let mut connections = 0;
    let closing = async {
        if gate.is_set() {
            gate.wait("wait for the client's close()").await
        } else {
            shutdown.requested().await;
            Ok(())
        }
    };
    tokio::pin!(closing);
    // Accept meanwhile: a SYN that gets through (a link that does not drop) makes
    // a connection, which is said, not left in the backlog.
    let waited = loop {
        tokio::select! {
            r = &mut closing => break r,
            r = listener.accept() => if let Ok((_, peer)) = r {
                connections += 1;
                log.push(format!("accepted {peer}: the link did not drop the SYN"));
            },
        }
    };
    // close() of a listening socket: LISTEN → CLOSED, nothing on the wire.
    drop(listener);
    log.push("closed the listener: LISTEN → CLOSED, nothing on the wire".to_string());
    waited?;
    Ok(ServerReport {
        connections,
        log: log.take(),
        notes: vec!["the listener was closed; no packet shows it, the kernel does".into()],
        ..ServerReport::default()
    })
}

/// The client: a nonblocking connect, closed while in SYN_SENT.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let what = || format!("connect to {server}");
    let socket = Socket::new(
        Domain::for_address(server),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .and_then(|s| s.set_nonblocking(true).map(|()| s))
    .map_err(|e| ScenarioError::io(what(), e))?;
    send_syn(&socket, server).map_err(|e| ScenarioError::io(what(), e))?;
    // The socket's own word that it is connecting and its SYN has left.
    let state = wait_for_state(
        &socket,
        TcpState::SynSent,
        &[TcpState::Established, TcpState::Closed],
        IO_TIMEOUT,
    )
    .await
    .map_err(|e| ScenarioError::io("read TCP_INFO", e))?;
    let sent = segs_out(&socket).map_err(|e| ScenarioError::io("read TCP_INFO", e))?;
    // close() in SYN_SENT: SYN_SENT → CLOSED, nothing sent.
    drop(socket);
    params.gate.open();
    let note = match state {
        Ok(()) => format!(
            "TCP_INFO said SYN_SENT with {sent} segment out (the SYN, unanswered): close() \
             ended the connect there: SYN_SENT → CLOSED, nothing on the wire"
        ),
        Err(state) => format!(
            "the connect was already {state} when we closed: the SYN was not dropped (the \
             lab's link drops it: `protolab run connect-abandon`)"
        ),
    };
    Ok(ClientReport {
        notes: vec![note],
        ..ClientReport::default()
    })
}

/// One SYN, then nothing on the wire: both closes are the kernel's to show.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation {
            // What the packets show: a SYN, no answer, nothing more.
            client_states: vec![TcpState::Closed, TcpState::SynSent],
            // No SYN reaches it: the listener is the server's endpoint.
            server_states: vec![TcpState::Listen],
            client_bytes: Some(0),
            server_bytes: Some(0),
            ways: Vec::new(),
            kernel_only: vec![
                KernelOnlyArc::new(
                    Side::Client,
                    TcpState::SynSent,
                    TcpState::Closed,
                    Trigger::Call,
                ),
                KernelOnlyArc::new(
                    Side::Server,
                    TcpState::Listen,
                    TcpState::Closed,
                    Trigger::Call,
                ),
            ],
        }],
        udp_datagrams: None,
        notes: vec![
            "one SYN, no answer, nothing more: the capture cannot say how the connect ended",
            "close() in SYN_SENT and close() of the listener send nothing: only the kernel \
             shows them",
        ],
        kernel_confirms: true,
    }
}
