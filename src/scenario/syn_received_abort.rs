//! `syn-received-abort`: a RST out of SYN_RECEIVED.
//!
//! RFC 9293 §3.10.5: ABORT in SYN-RECEIVED sends a RST and deletes the TCB. On
//! Linux a socket a program holds is in SYN_RECEIVED only during a simultaneous
//! open, so this scenario opens as `syn-received-close` does (the SYNs cross on the
//! lab's delayed link, the client waits until `TCP_INFO` says SYN_RECEIVED) and
//! then aborts instead of closing: `SO_LINGER {on, 0}` and close(), which
//! `tcp_disconnect` turns into a RST from SYN_RECV (`tcp_need_reset` names it).
//!
//! What the wire then carries, in order, from the client: its SYN, the SYN-ACK it
//! answered the server's SYN with (sent by its kernel on arrival, before the program
//! could act), and the RST. The server, in SYN_RECEIVED, completes its open on that
//! SYN-ACK (ESTABLISHED) and the RST right behind it closes it: the server goes
//! ESTABLISHED → CLOSED, the client SYN_RECEIVED → CLOSED. The server's own
//! SYN-ACK, still in flight, reaches a port nobody holds any more and is answered
//! with a bare RST.

use std::net::SocketAddr;
use std::time::Duration;

use super::crossing::open_simultaneously;
use super::syn_received_close::in_syn_received;
use super::tcp_info::wait_for_state;
use super::{
    ClientReport, ConnectionExpectation, Expectation, Params, ScenarioError, ServerReport,
    Shutdown, IO_TIMEOUT,
};
use crate::analyze::{TcpState, Why};

/// The server side: a simultaneous open, then it waits for the client's RST.
pub async fn serve(
    socket: socket2::Socket,
    params: &Params,
    mut shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let peer = params.peer.ok_or_else(|| {
        ScenarioError::InvalidParams(
            "a simultaneous open needs the peer's address to connect to (serve --peer ADDR)".into(),
        )
    })?;
    let log = params.log();
    let gate = params.gate.clone();
    let work = async {
        gate.wait("wait for the client's SYN to leave").await?;
        match open_simultaneously(socket, peer, !gate.is_set(), || {}).await {
            Ok(stream) => {
                // Open on the client's SYN-ACK; its RST follows at once.
                let closed = wait_for_state(&stream, TcpState::Closed, &[], IO_TIMEOUT)
                    .await
                    .map_err(|e| ScenarioError::io("read TCP_INFO", e))?;
                log.push(match closed {
                    Ok(()) => format!("connect {peer}: open, then the client's RST: CLOSED"),
                    Err(state) => format!("connect {peer}: open, no RST came (still {state})"),
                });
            }
            // The RST came before we looked: the open ended in it (the error is
            // ECONNRESET, or, once taken, ENOTCONN when asking for the peer).
            Err(e) if e.is_reset() || not_connected(&e) => {
                log.push(format!("connect {peer}: the client's RST ended the open"));
            }
            Err(e) => return Err(e),
        }
        Ok::<_, ScenarioError>(())
    };
    tokio::select! {
        done = work => done?,
        () = shutdown.requested() => log.push("shutdown before the connection ended".to_string()),
    }
    Ok(ServerReport {
        connections: 1,
        log: log.take(),
        ..ServerReport::default()
    })
}

fn not_connected(e: &ScenarioError) -> bool {
    matches!(e, ScenarioError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotConnected)
}

/// The client side: connect, and abort the moment the socket is in SYN_RECEIVED.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let socket = in_syn_received(server, params).await?;
    socket
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| ScenarioError::io("set SO_LINGER to 0", e))?;
    // close() with a linger of 0: the RST leaves from SYN_RECEIVED, the socket is gone.
    drop(socket);
    Ok(ClientReport {
        notes: vec![
            "TCP_INFO said SYN_RECEIVED (the server's SYN had arrived, its SYN-ACK had not): \
             SO_LINGER {on, 0} and close() sent a RST from there: CLOSED"
                .into(),
        ],
        ..ClientReport::default()
    })
}

/// The client leaves SYN_RECEIVED by its RST; the server, just open, receives it.
pub fn connection() -> ConnectionExpectation {
    use TcpState::*;
    ConnectionExpectation {
        client_states: vec![Closed, SynSent, SynReceived, Closed],
        server_states: vec![Closed, SynSent, SynReceived, Established, Closed],
        client_bytes: Some(0),
        server_bytes: Some(0),
        ways: vec![
            (SynReceived, Closed, Why::SentRst),
            (Established, Closed, Why::ReceivedRst),
        ],
        kernel_only: Vec::new(),
    }
}

/// One simultaneous open, aborted by the client in SYN_RECEIVED.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![connection()],
        udp_datagrams: None,
        kernel_confirms: true,
        notes: vec![
            "the client's SYN-ACK and its RST leave back to back: the server opens on the \
             first and is closed by the second",
            "the server's SYN-ACK reaches a port nobody holds: a bare RST answers it",
        ],
    }
}
