//! What a scenario's capture must show: for each TCP connection, the states each
//! endpoint passes through (as protolab infers them) and the bytes each side's
//! application writes; for UDP, how many datagrams go each way. The lab compares a
//! capture with these; the close paths are spelled once here, after RFC 9293's
//! diagram, and every scenario builds its expectation from them.

use std::time::Duration;

use crate::analyze::diagram::Trigger;
use crate::analyze::{TcpState, Why};

/// The active closer's path: FIN sent, FIN acknowledged, the peer's FIN received.
const ACTIVE_CLOSE: [TcpState; 3] = [TcpState::FinWait1, TcpState::FinWait2, TcpState::TimeWait];
/// The passive closer's path: FIN received, own FIN sent, own FIN acknowledged.
const PASSIVE_CLOSE: [TcpState; 3] = [TcpState::CloseWait, TcpState::LastAck, TcpState::Closed];
const CLIENT_OPEN: [TcpState; 3] = [TcpState::Closed, TcpState::SynSent, TcpState::Established];
/// The passive closer's last step is its FIN's ACK, not a RST (the diagram has both).
const PASSIVE_CLOSE_BY: (TcpState, TcpState, Why) =
    (TcpState::LastAck, TcpState::Closed, Why::AckOfFin);
const SERVER_OPEN: [TcpState; 3] = [
    TcpState::Listen,
    TcpState::SynReceived,
    TcpState::Established,
];

/// Both sides close at once, their FINs crossing: each receives the other's FIN
/// before the ACK of its own (CLOSING), then that ACK.
const SIMULTANEOUS_CLOSE: [TcpState; 3] =
    [TcpState::FinWait1, TcpState::Closing, TcpState::TimeWait];
/// Both sides connect at once, their SYNs crossing: each receives the other's SYN
/// in SYN_SENT (SYN_RECEIVED), then the SYN-ACK of its own SYN.
const SIMULTANEOUS_OPEN: [TcpState; 4] = [
    TcpState::Closed,
    TcpState::SynSent,
    TcpState::SynReceived,
    TcpState::Established,
];

/// What the capture of one TCP connection must show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionExpectation {
    /// The client's states as protolab infers them, initial state first.
    pub client_states: Vec<TcpState>,
    /// The server's states, initial state first.
    pub server_states: Vec<TcpState>,
    /// Payload bytes the client's application writes, when the scenario fixes them:
    /// each byte counted once (a retransmitted segment carries no new bytes).
    pub client_bytes: Option<u64>,
    /// Payload bytes the server's application writes, counted the same way.
    pub server_bytes: Option<u64>,
    /// How a step of the paths above is taken, where the state diagram has several
    /// arcs between its two states (SYN_SENT → CLOSED: a RST, or the connect's
    /// timer): `(from, to, why)`, for either endpoint. The capture's transition must
    /// have that `why`, and the scenario's arc list names that arc.
    pub ways: Vec<(TcpState, TcpState, Why)>,
    /// Arcs no packet can show, which only the kernel confirms: a call with nothing
    /// on the wire (closing a listener, or a socket whose connect is under way) or a
    /// timer (TIME_WAIT's 2MSL). They come after the paths above: the packets'
    /// path stops where the kernel's goes on. `run` fails when the kernel did not
    /// show them; the scenario's arc list includes them.
    pub kernel_only: Vec<KernelOnlyArc>,
}

/// Which endpoint of a connection. The server of a connection whose SYN never
/// reached it is the listener itself (its LISTEN is the server's only state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// `client` or `server`, as the kernel comparison names its endpoints.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// One arc only the kernel can confirm: `side` goes `from → to` by `trigger` (a
/// call or a timer; the diagram has one such arc between two states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOnlyArc {
    pub side: Side,
    pub from: TcpState,
    pub to: TcpState,
    pub trigger: Trigger,
    /// For a timer's arc: how long the endpoint must have stayed in `from`, as the
    /// kernel's record times it (at least, at most).
    pub lasting: Option<(Duration, Duration)>,
}

impl KernelOnlyArc {
    pub const fn new(side: Side, from: TcpState, to: TcpState, trigger: Trigger) -> Self {
        KernelOnlyArc {
            side,
            from,
            to,
            trigger,
            lasting: None,
        }
    }

    /// The same arc, taken after `from` lasted between `least` and `most`.
    pub const fn lasting(self, least: Duration, most: Duration) -> Self {
        KernelOnlyArc {
            lasting: Some((least, most)),
            ..self
        }
    }
}

impl ConnectionExpectation {
    /// The states the kernel must show for `side`: the packets' path, then the
    /// kernel-only arcs' ends.
    pub fn kernel_path(&self, side: Side) -> Vec<TcpState> {
        let path = match side {
            Side::Client => &self.client_states,
            Side::Server => &self.server_states,
        };
        let more = self.kernel_only.iter().filter(|k| k.side == side);
        path.iter().copied().chain(more.map(|k| k.to)).collect()
    }

    /// Handshake, data, and the client closes first: the client ends in TIME_WAIT.
    pub fn client_closes_first(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [CLIENT_OPEN, ACTIVE_CLOSE].concat(),
            server_states: [SERVER_OPEN, PASSIVE_CLOSE].concat(),
            client_bytes,
            server_bytes,
            ways: vec![PASSIVE_CLOSE_BY],
            kernel_only: Vec::new(),
        }
    }

    /// Handshake, data, and the server closes first: the server ends in TIME_WAIT.
    pub fn server_closes_first(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [CLIENT_OPEN, PASSIVE_CLOSE].concat(),
            server_states: [SERVER_OPEN, ACTIVE_CLOSE].concat(),
            client_bytes,
            server_bytes,
            ways: vec![PASSIVE_CLOSE_BY],
            kernel_only: Vec::new(),
        }
    }

    /// Handshake, data, then one side's RST: both go straight to CLOSED.
    pub fn reset(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [&CLIENT_OPEN[..], &[TcpState::Closed]].concat(),
            server_states: [&SERVER_OPEN[..], &[TcpState::Closed]].concat(),
            client_bytes,
            server_bytes,
            ways: Vec::new(),
            kernel_only: Vec::new(),
        }
    }

    /// SYNs crossed, then the client closes first: both open through SYN_RECEIVED.
    pub fn simultaneous_open(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [&SIMULTANEOUS_OPEN[..], &ACTIVE_CLOSE[..]].concat(),
            server_states: [&SIMULTANEOUS_OPEN[..], &PASSIVE_CLOSE[..]].concat(),
            client_bytes,
            server_bytes,
            ways: vec![PASSIVE_CLOSE_BY],
            kernel_only: Vec::new(),
        }
    }

    /// An ordinary handshake, then FINs that cross: both sides through CLOSING.
    pub fn simultaneous_close(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [CLIENT_OPEN, SIMULTANEOUS_CLOSE].concat(),
            server_states: [SERVER_OPEN, SIMULTANEOUS_CLOSE].concat(),
            client_bytes,
            server_bytes,
            ways: Vec::new(),
            kernel_only: Vec::new(),
        }
    }

    /// SYNs crossed, and the client closes while in SYN_RECEIVED (FIN_WAIT_1 from
    /// there); the server completes its open, then closes passively.
    pub fn syn_received_close() -> Self {
        ConnectionExpectation {
            client_states: [&SIMULTANEOUS_OPEN[..3], &ACTIVE_CLOSE[..]].concat(),
            server_states: [&SIMULTANEOUS_OPEN[..], &PASSIVE_CLOSE[..]].concat(),
            client_bytes: Some(0),
            server_bytes: Some(0),
            ways: vec![PASSIVE_CLOSE_BY],
            kernel_only: Vec::new(),
        }
    }

    /// SYN answered by RST: the client is refused, the server side was CLOSED all along.
    pub fn refused() -> Self {
        ConnectionExpectation {
            client_states: vec![TcpState::Closed, TcpState::SynSent, TcpState::Closed],
            server_states: vec![TcpState::Closed],
            client_bytes: Some(0),
            server_bytes: Some(0),
            ways: vec![(TcpState::SynSent, TcpState::Closed, Why::Refused)],
            kernel_only: Vec::new(),
        }
    }
}

/// What a scenario's capture must show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectation {
    /// One entry per expected TCP connection, in the order the clients open them.
    pub connections: Vec<ConnectionExpectation>,
    /// UDP only: at least this many datagrams client → server and server → client.
    pub udp_datagrams: Option<(u64, u64)>,
    /// What to look at in the capture, for the report.
    pub notes: Vec<&'static str>,
    /// The run passes only when the kernel's tracepoint confirms the states, socket
    /// by socket: for arcs that only a kernel can vouch for (a timer), a capture
    /// alone is not enough.
    pub kernel_confirms: bool,
}
