//! `syn-received-close`: a socket closed while in SYN_RECEIVED goes to FIN_WAIT_1.
//!
//! RFC 9293 §3.10.4: CLOSE in SYN-RECEIVED sends a FIN (once any queued data is
//! out) and enters FIN-WAIT-1. On Linux a socket the application holds is in
//! SYN_RECEIVED only during a simultaneous open — a listener's half-open
//! connections are request socks that no program can close — so this scenario
//! opens as `simultaneous-open` does, and the client closes in between:
//!
//! - the client's SYN and the server's cross; the client, in SYN_SENT, receives
//!   the server's SYN and goes to SYN_RECEIVED (answering with a SYN-ACK);
//! - the client asks its own socket for its state (`TCP_INFO`) until it *is*
//!   SYN_RECEIVED — a condition, not a pause — and closes it: `close()` follows
//!   `tcp_close_state`'s table, SYN_RECV to FIN_WAIT1, and the FIN leaves
//!   (`shutdown(SHUT_WR)` would not do: since Linux 6.10 it is put off until the
//!   socket is ESTABLISHED);
//! - the server's SYN-ACK, still in flight, reaches a client already in
//!   FIN_WAIT_1 (which answers it with an ACK and keeps its state); the server
//!   completes its open with the client's SYN-ACK, then gets the FIN (CLOSE_WAIT),
//!   closes (LAST_ACK), and the client ends in TIME_WAIT.
//!
//! The link's delay is what leaves the client time to close: the server's SYN-ACK
//! arrives a full round trip after the client reached SYN_RECEIVED.

use std::net::SocketAddr;
use std::time::Instant;

use super::crossing::{bound_socket, next_retry_tick, send_syn};
use super::simultaneous_open::{client_address, serve_open};
use super::tcp_info::wait_for_state;
use super::{
    ClientReport, ConnectionExpectation, Expectation, Params, ScenarioError, ServerReport,
    Shutdown, IO_TIMEOUT,
};
use crate::analyze::TcpState;

/// The server side: a simultaneous open, then it waits for the client's FIN and
/// closes after it (it says nothing: the client closed before it could).
pub async fn serve(
    socket: socket2::Socket,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    serve_open(socket, params, shutdown, None).await
}

/// The client side: connect, and close the moment the socket is in SYN_RECEIVED.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let socket = in_syn_received(server, params).await?;
    // close() in SYN_RECEIVED: tcp_close_state's table says FIN_WAIT1, and the FIN
    // leaves at once. (Not shutdown(Write): since Linux 6.10 it waits in SYN_RECEIVED
    // until the connection is ESTABLISHED, and only then sends the FIN.) The kernel
    // finishes the close for us: the socket is orphaned, and its FIN_WAIT_2 and
    // TIME_WAIT go on without us.
    drop(socket);
    Ok(ClientReport {
        bytes_sent: 0,
        bytes_received: 0,
        replies: Vec::new(),
        notes: vec![
            "TCP_INFO said SYN_RECEIVED (the server's SYN had arrived, its SYN-ACK had not): \
             we closed there, and went to FIN_WAIT_1"
                .into(),
        ],
        ..ClientReport::default()
    })
}

/// Connects from the client's fixed address while the server connects to it, and
/// returns the socket the moment its kernel says SYN_RECEIVED (the server's SYN has
/// arrived, its SYN-ACK not yet). Stand-alone, a refusal is tried again.
pub(super) async fn in_syn_received(
    server: SocketAddr,
    params: &Params,
) -> Result<socket2::Socket, ScenarioError> {
    let local = client_address(server, params);
    let gate = params.gate.clone();
    let what = || format!("connect from {local} to {server} (simultaneous open)");
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let socket =
            bound_socket(local).map_err(|e| ScenarioError::io(format!("bind {local}"), e))?;
        send_syn(&socket, server).map_err(|e| ScenarioError::io(what(), e))?;
        // Our SYN is out: the server's may leave now, and crosses ours in flight.
        gate.open();
        let left = deadline.saturating_duration_since(Instant::now());
        // States past SYN_RECEIVED, or CLOSED: refused.
        let beyond = [
            TcpState::Established,
            TcpState::FinWait1,
            TcpState::CloseWait,
            TcpState::Closed,
        ];
        match wait_for_state(&socket, TcpState::SynReceived, &beyond, left)
            .await
            .map_err(|e| ScenarioError::io("read TCP_INFO", e))?
        {
            Ok(()) => return Ok(socket),
            // Refused (RST): stand-alone, the server was not connecting yet.
            Err(TcpState::Closed) if !gate.is_set() && Instant::now() < deadline => {
                next_retry_tick().await;
            }
            Err(state) => {
                return Err(ScenarioError::Protocol(format!(
                    "the socket went SYN_SENT → {state} without passing SYN_RECEIVED: \
                     the SYNs did not cross"
                )))
            }
        }
    }
}

/// The client leaves SYN_RECEIVED for FIN_WAIT_1; the server opens, then closes passively.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::syn_received_close()],
        udp_datagrams: None,
        // Crossing is proved by the kernel: its tracepoint must have seen it.
        kernel_confirms: true,
        notes: vec![
            "the client's FIN follows its SYN-ACK before the server's SYN-ACK has arrived: \
             closed in SYN_RECEIVED, it goes to FIN_WAIT_1 and never to ESTABLISHED",
            "the server's SYN-ACK reaches a client in FIN_WAIT_1, which keeps its state and \
             answers with an ACK (a duplicate ACK in the capture)",
            "the server opens as in simultaneous-open, then closes passively",
        ],
    }
}
