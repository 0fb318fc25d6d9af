//! `simultaneous-open`: two sockets connect to each other at once, and nobody listens.
//!
//! Each side binds the scenario's port on its own host and connects to the other's.
//! Their SYNs cross in flight (see [`super::crossing`] for how the lab makes sure):
//!
//! - each side, in SYN_SENT, receives a SYN without ACK — not the SYN-ACK it waits
//!   for — so it answers with a SYN-ACK and goes to SYN_RECEIVED (RFC 9293 §3.10.7.3;
//!   Linux's `tcp_rcv_synsent_state_process` sets TCP_SYN_RECV);
//! - each then receives the other's SYN-ACK, which acknowledges its SYN:
//!   ESTABLISHED. Four segments, not three, and no LISTEN anywhere.
//!
//! Then both say hello, and the client closes first, as in `tcp-upper`.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::crossing::{bound_socket, open_simultaneously};
use super::{
    read_message, read_to_eof, step, text, ClientReport, ConnectionExpectation, Counted,
    Expectation, Params, ScenarioError, ServerReport, Shutdown,
};

/// What the client says once the connection is open.
pub const CLIENT_HELLO: &[u8] = b"hello from the client\n";
/// What the server says once the connection is open.
pub const SERVER_HELLO: &[u8] = b"hello from the server\n";

/// The server side: connects from its bound `socket` to the client's address
/// ([`Params::peer`]) once the client's SYN has left, says hello, and closes after
/// the client.
pub async fn serve(
    socket: socket2::Socket,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    serve_open(socket, params, shutdown, Some(SERVER_HELLO)).await
}

/// The server side of a simultaneous open (this scenario's and
/// `syn-received-close`'s): connect at the same time as the peer, say `hello`
/// if any, read until the peer's FIN, close.
pub(super) async fn serve_open(
    socket: socket2::Socket,
    params: &Params,
    mut shutdown: Shutdown,
    hello: Option<&'static [u8]>,
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
        let stream = open_simultaneously(socket, peer, !gate.is_set(), || {}).await?;
        log.push(format!(
            "connect {peer}: our SYN crossed its SYN, nobody listened (simultaneous open)"
        ));
        let mut stream = Counted::new(stream);
        let counts = stream.counts();
        if let Some(hello) = hello {
            step(|| "say hello".into(), stream.write_all(hello)).await?;
        }
        // Everything the client says, then its FIN: CLOSE_WAIT.
        let heard = read_to_eof(&mut stream, "read the client").await?;
        if !heard.is_empty() {
            log.push(format!("{peer} said: {}", text(&heard)));
        }
        // close(): our FIN, LAST_ACK; CLOSED when the client acknowledges it.
        drop(stream);
        log.push(format!("close {peer}"));
        Ok::<_, ScenarioError>(counts)
    };
    let counts = tokio::select! {
        done = work => done?,
        () = shutdown.requested() => {
            log.push("shutdown before the connection ended".to_string());
            return Ok(ServerReport { log: log.take(), ..ServerReport::default() });
        }
    };
    Ok(ServerReport {
        connections: 1,
        bytes_in: counts.read(),
        bytes_out: counts.written(),
        log: log.take(),
        ..ServerReport::default()
    })
}

/// The address the client side binds: [`Params::peer`] when the runner set it
/// (the server connects there), else any address on the server's port.
pub(super) fn client_address(server: SocketAddr, params: &Params) -> SocketAddr {
    params
        .peer
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, server.port())))
}

/// The client side: connect from the fixed port to the server's, which connects
/// back at the same moment; say hello, read the server's, close first.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let local = client_address(server, params);
    let socket = bound_socket(local).map_err(|e| ScenarioError::io(format!("bind {local}"), e))?;
    let gate = params.gate.clone();
    // The gate opens once our SYN is out: the server's SYN leaves while ours is in flight.
    let stream = open_simultaneously(socket, server, !gate.is_set(), || gate.open()).await?;
    let mut stream = Counted::new(stream);
    let counts = stream.counts();
    step(|| "say hello".into(), stream.write_all(CLIENT_HELLO)).await?;
    let answer = read_message(&mut stream, "read the server's hello").await?;
    // shutdown(Write): our FIN first (FIN_WAIT_1), then wait for the server's.
    step(|| "shutdown(Write)".into(), stream.shutdown()).await?;
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
            "our SYN and the server's crossed: both sides went SYN_SENT → SYN_RECEIVED → \
             ESTABLISHED, with nobody in LISTEN"
                .into(),
        ],
        ..ClientReport::default()
    })
}

/// Both sides open through SYN_RECEIVED; the client closes first.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::simultaneous_open(
            Some(CLIENT_HELLO.len() as u64),
            Some(SERVER_HELLO.len() as u64),
        )],
        udp_datagrams: None,
        // Crossing is proved by the kernel: its tracepoint must have seen it.
        kernel_confirms: true,
        notes: vec![
            "two SYNs without ACK cross in flight: nobody is in LISTEN",
            "each side answers the other's SYN with a SYN-ACK: four segments open the \
             connection, not three",
            "both sides pass through SYN_RECEIVED (the arc from SYN_SENT)",
            "each SYN-ACK repeats its side's SYN (the same sequence number): Wireshark and \
             protolab mark it as a retransmission",
        ],
    }
}
