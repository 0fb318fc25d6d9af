//! `refused`: connecting to a port where nobody listens.
//!
//! The client's SYN reaches a host whose kernel has no socket for that port. The
//! kernel answers with RST (+ACK), and `connect()` fails with ECONNREFUSED. In this
//! scenario that failure *is* the successful outcome.
//!
//! The states: the client goes CLOSED → SYN_SENT → CLOSED; the "server" side never
//! leaves CLOSED — nothing was ever in LISTEN. (Over UDP the same situation produces
//! an ICMP "port unreachable" instead; see `udp-daytime`.)

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::{step, ClientReport, ConnectionExpectation, Expectation, ScenarioError, ServerReport};

/// The "server": nobody listens, on purpose; there is nothing to wait for.
pub fn serve() -> ServerReport {
    ServerReport {
        notes: vec!["nobody listens: the kernel itself answers the SYN with RST".into()],
        ..ServerReport::default()
    }
}

/// The client: one connect() that must be refused.
pub async fn client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    match step(
        || format!("connect to {server}"),
        TcpStream::connect(server),
    )
    .await
    {
        Err(ScenarioError::Io { source, .. })
            if source.kind() == io::ErrorKind::ConnectionRefused =>
        {
            Ok(ClientReport {
                replies: vec![source.to_string()],
                notes: vec![format!(
                    "connect to {server}: connection refused (ECONNREFUSED), as expected: \
                     the SYN was answered with RST"
                )],
                ..ClientReport::default()
            })
        }
        Err(e) => Err(e),
        Ok(_accepted) => Err(ScenarioError::NotRefused { addr: server }),
    }
}

/// One SYN, one RST.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::refused()],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "the SYN is answered by RST: no handshake, no data, no FIN",
            "the server side stays CLOSED: no socket was ever in LISTEN",
        ],
    }
}
