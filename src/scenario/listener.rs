//! The socket a scenario's server runs on. The lab runner creates it, after it has
//! started the capture, so the capture sees the listening socket's whole life; the
//! scenario only checks that it got the kind it needs.

use tokio::net::{TcpListener, UdpSocket};

use super::{ScenarioError, ScenarioName};

/// The socket a server runs on; the lab runner creates it (after starting the capture).
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Udp(UdpSocket),
    /// `refused`: nobody listens, on purpose.
    None,
    /// `simultaneous-open`, `syn-received-close`: a TCP socket bound to the
    /// scenario's port that connects to its peer instead of listening.
    Fixed(socket2::Socket),
}

impl Listener {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Listener::Tcp(_) => "a TCP listener",
            Listener::Udp(_) => "a UDP socket",
            Listener::None => "no socket",
            Listener::Fixed(_) => "a bound TCP socket that connects",
        }
    }

    /// The bound socket of a scenario that opens actively from a fixed port.
    pub(super) fn fixed(self, name: ScenarioName) -> Result<socket2::Socket, ScenarioError> {
        match self {
            Listener::Fixed(s) => Ok(s),
            other => Err(ScenarioError::WrongListener {
                scenario: name.id(),
                expected: "a bound TCP socket that connects",
                given: other.kind(),
            }),
        }
    }

    pub(super) fn tcp(self, name: ScenarioName) -> Result<TcpListener, ScenarioError> {
        match self {
            Listener::Tcp(l) => Ok(l),
            other => Err(ScenarioError::WrongListener {
                scenario: name.id(),
                expected: "a TCP listener",
                given: other.kind(),
            }),
        }
    }
}
