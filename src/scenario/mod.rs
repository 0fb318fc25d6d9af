//! The socket programs of the course notes, run as experiments: each scenario
//! has a server side, a client side, and the expectations it teaches — which
//! TCP states each endpoint must pass through and how many bytes each side sends.
//!
//! One file per scenario, one file per concept they share; this file only
//! dispatches by [`ScenarioName`].
//!
//! The lab runner owns the sockets' lifecycle around a scenario: it starts the
//! packet capture, *then* creates the listening socket and hands it to
//! [`serve`] (mini-redis style: the server takes a bound listener and a
//! [`Shutdown`] signal), then runs [`client`], and finally compares the capture
//! with [`expectation()`].
//!
//! Close order is what the state lists hinge on, so every scenario makes it
//! deterministic: exactly one side closes first, and the other side closes only
//! after it has read end-of-file (the first side's FIN). Two sides closing "at the
//! same time" would sometimes cross their FINs (simultaneous close, CLOSING) and
//! sometimes not, and the expectation could not be stated — unless the crossing is
//! made certain, which is what the crossing scenarios (`simultaneous-open`,
//! `simultaneous-close`, `syn-received-close`) do, with a delaying link and a gate.
//!
//! # Layout
//!
//! The scenarios:
//!
//! - [`tcp_upper`] — concurrent upper-case echo server, N clients, the client closes first.
//! - [`udp_daytime`] — UDP daytime: datagrams both ways, no handshake, no close.
//! - [`file_transfer`] — the notes' file protocol (name → ok → bytes) and its sized variant.
//! - [`http_hello`] — an axum server answering `Hello World!`, a hyper client.
//! - [`half_close`] — the client shuts down writing; the server keeps sending.
//! - [`server_close`] — the server closes first and ends in TIME_WAIT.
//! - [`rst_abort`] — SO_LINGER 0: close() sends RST instead of FIN.
//! - [`refused`] — nobody listens: the kernel answers the SYN with RST.
//! - [`connect_timeout`] — the link drops the SYNs: the connect gives up (ETIMEDOUT).
//! - [`time_wait`] — the server's TIME_WAIT keeps its port from being re-bound.
//! - [`chat`] — the notes' instant-messaging system: length-prefixed JSON, N users.
//! - [`simultaneous_open`] — SYN crosses SYN: both sides pass SYN_RECEIVED, nobody listens.
//! - [`simultaneous_close`] — FIN crosses FIN: both sides pass CLOSING, both keep TIME_WAIT.
//! - [`syn_received_close`] — closed in SYN_RECEIVED: FIN_WAIT_1 without ESTABLISHED.
//! - [`abort_states`] — SO_LINGER 0 in each state of the close: RST from there, both CLOSED.
//! - [`syn_received_abort`] — SO_LINGER 0 in SYN_RECEIVED: a RST out of a simultaneous open.
//! - [`connect_abandon`] — close() in SYN_SENT, then of the listener: nothing on the wire.
//! - [`time_wait_rst`] — a delayed duplicate FIN; the RST it brings back ends TIME_WAIT.
//! - [`time_wait_expiry`] — TIME_WAIT waited out: its 60 s timer ends it.
//!
//! What they share:
//!
//! - [`arcs`] — the state-diagram arcs each scenario demonstrates, from its expectation.
//! - `catalogue` — names, transports, default ports ([`ScenarioName`], [`ScenarioInfo`]).
//! - `teaching` — what each scenario teaches, in English and Chinese.
//! - `params` — what a scenario is asked to do ([`Params`]).
//! - `expectation` — what its capture must show ([`Expectation`]).
//! - `outcome`, `error` — what each side saw ([`ServerReport`], [`ClientReport`]), and
//!   why a scenario failed ([`ScenarioError`]).
//! - `listener` — the socket the lab runner hands a server ([`Listener`]).
//! - `tcp_server` — the accept loop every TCP scenario's server shares.
//! - `crossing`, `tcp_info` — making two segments cross in flight ([`Gate`], fixed-port
//!   sockets that connect without blocking) and reading a socket's state (`TCP_INFO`).
//! - `steps`, `clients`, `counted` — a client's timed socket steps, N clients at once,
//!   and byte counting on a stream.
//! - The server log and the shutdown signal are [`crate::serving`]'s: the chat
//!   server uses them too.

pub mod abort_states;
pub mod arcs;
pub mod chat;
pub mod congestion;
pub mod connect_abandon;
pub mod connect_timeout;
pub mod file_transfer;
pub mod grpc;
mod grpc_proto;
pub mod half_close;
pub mod http_hello;
pub mod refused;
pub mod rst_abort;
pub mod server_close;
pub mod simultaneous_close;
pub mod simultaneous_open;
pub mod syn_received_abort;
pub mod syn_received_close;
pub mod tcp_upper;
pub mod time_wait;
pub mod time_wait_expiry;
pub mod time_wait_rst;
pub mod udp_daytime;

mod catalogue;
mod clients;
mod counted;
mod crossing;
mod error;
mod expectation;
mod lingering;
mod listener;
mod outcome;
mod params;
mod steps;
mod tcp_info;
mod tcp_server;
mod teaching;
mod time_wait_end;

use std::net::SocketAddr;

pub use catalogue::{all, info, ScenarioInfo, ScenarioName, Transport};
pub use crossing::{Gate, CROSSING_DELAY};
pub use error::ScenarioError;
pub use expectation::{ConnectionExpectation, Expectation, KernelOnlyArc, Side};
pub use listener::Listener;
pub use outcome::{ClientReport, ServerReport};
pub use params::{FileProtocol, Params};
pub use steps::IO_TIMEOUT;
// Re-exported so `scenario::Shutdown` and `scenario::LogSink` keep working.
pub use crate::serving::{LogSink, Shutdown};

pub(crate) use crate::serving::Log;
pub(crate) use clients::run_clients;
pub(crate) use counted::{Counted, Counts};
pub(crate) use crossing::bound_socket;
pub(crate) use steps::{
    connect, read_message, read_message_within, read_to_eof, read_to_eof_within, step, step_within,
    text,
};
pub(crate) use tcp_server::{answer_request, handler, serve_one_session, serve_tcp, ConnOutcome};

/// Runs the server side of `name` on `listener`.
///
/// Returns once its work is done (the expected clients have finished; see
/// [`Params::serve_forever`]) or when `shutdown` fires. `shutdown` is a [`Shutdown`]
/// or a `tokio::sync::watch::Receiver<bool>` (stop when it turns `true`).
pub async fn serve(
    name: ScenarioName,
    listener: Listener,
    params: &Params,
    shutdown: impl Into<Shutdown>,
) -> Result<ServerReport, ScenarioError> {
    let shutdown = shutdown.into();
    match name {
        ScenarioName::UdpDaytime => match listener {
            Listener::Udp(socket) => udp_daytime::serve(socket, params, shutdown).await,
            other => Err(ScenarioError::WrongListener {
                scenario: name.id(),
                expected: "a UDP socket",
                given: other.kind(),
            }),
        },
        ScenarioName::Refused => match listener {
            Listener::None => Ok(refused::serve()),
            other => Err(ScenarioError::WrongListener {
                scenario: name.id(),
                expected: "no socket (nobody may listen)",
                given: other.kind(),
            }),
        },
        ScenarioName::TcpUpper => tcp_upper::serve(listener.tcp(name)?, params, shutdown).await,
        ScenarioName::FileTransfer => {
            file_transfer::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::HttpHello => http_hello::serve(listener.tcp(name)?, params, shutdown).await,
        ScenarioName::HalfClose => {
            let session = handler(half_close::session);
            serve_one_session(listener.tcp(name)?, params, shutdown, session).await
        }
        ScenarioName::ServerClose => {
            let session = handler(server_close::session);
            serve_one_session(listener.tcp(name)?, params, shutdown, session).await
        }
        ScenarioName::RstAbort => {
            let session = handler(rst_abort::session);
            serve_one_session(listener.tcp(name)?, params, shutdown, session).await
        }
        ScenarioName::TimeWait => time_wait::serve(listener.tcp(name)?, params, shutdown).await,
        ScenarioName::Chat => chat::serve(listener.tcp(name)?, params, shutdown).await,
        ScenarioName::SimultaneousOpen => {
            simultaneous_open::serve(listener.fixed(name)?, params, shutdown).await
        }
        ScenarioName::SimultaneousClose => {
            simultaneous_close::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::SynReceivedClose => {
            syn_received_close::serve(listener.fixed(name)?, params, shutdown).await
        }
        ScenarioName::ConnectTimeout => {
            connect_timeout::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::AbortStates => {
            abort_states::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::SynReceivedAbort => {
            syn_received_abort::serve(listener.fixed(name)?, params, shutdown).await
        }
        ScenarioName::ConnectAbandon => {
            connect_abandon::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::TimeWaitRst => {
            time_wait_rst::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::TimeWaitExpiry => {
            time_wait_expiry::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::Grpc => grpc::serve(listener.tcp(name)?, params, shutdown).await,
    }
}

/// Runs the client side of `name` against `server`.
pub async fn client(
    name: ScenarioName,
    server: SocketAddr,
    params: &Params,
) -> Result<ClientReport, ScenarioError> {
    match name {
        ScenarioName::TcpUpper => tcp_upper::client(server, params).await,
        ScenarioName::UdpDaytime => udp_daytime::client(server, params).await,
        ScenarioName::FileTransfer => file_transfer::client(server, params).await,
        ScenarioName::HttpHello => http_hello::client(server).await,
        ScenarioName::HalfClose => half_close::client(server).await,
        ScenarioName::ServerClose => server_close::client(server).await,
        ScenarioName::RstAbort => rst_abort::client(server).await,
        ScenarioName::Refused => refused::client(server).await,
        ScenarioName::TimeWait => time_wait::client(server).await,
        ScenarioName::Chat => chat::client(server, params).await,
        ScenarioName::SimultaneousOpen => simultaneous_open::client(server, params).await,
        ScenarioName::SimultaneousClose => simultaneous_close::client(server, params).await,
        ScenarioName::SynReceivedClose => syn_received_close::client(server, params).await,
        ScenarioName::ConnectTimeout => connect_timeout::client(server, params).await,
        ScenarioName::AbortStates => abort_states::client(server, params).await,
        ScenarioName::SynReceivedAbort => syn_received_abort::client(server, params).await,
        ScenarioName::ConnectAbandon => connect_abandon::client(server, params).await,
        ScenarioName::TimeWaitRst => time_wait_rst::client(server, params).await,
        ScenarioName::TimeWaitExpiry => time_wait_expiry::client(server, params).await,
        ScenarioName::Grpc => grpc::client(server).await,
    }
}

/// What a loopback capture of `name`, run with `params`, must show.
pub fn expectation(name: ScenarioName, params: &Params) -> Expectation {
    match name {
        ScenarioName::TcpUpper => tcp_upper::expectation(params),
        ScenarioName::UdpDaytime => udp_daytime::expectation(params),
        ScenarioName::FileTransfer => file_transfer::expectation(params),
        ScenarioName::HttpHello => http_hello::expectation(),
        ScenarioName::HalfClose => half_close::expectation(),
        ScenarioName::ServerClose => server_close::expectation(),
        ScenarioName::RstAbort => rst_abort::expectation(),
        ScenarioName::Refused => refused::expectation(),
        ScenarioName::TimeWait => time_wait::expectation(),
        ScenarioName::Chat => chat::expectation(params),
        ScenarioName::SimultaneousOpen => simultaneous_open::expectation(),
        ScenarioName::SimultaneousClose => simultaneous_close::expectation(),
        ScenarioName::SynReceivedClose => syn_received_close::expectation(),
        ScenarioName::ConnectTimeout => connect_timeout::expectation(),
        ScenarioName::AbortStates => abort_states::expectation(),
        ScenarioName::SynReceivedAbort => syn_received_abort::expectation(),
        ScenarioName::ConnectAbandon => connect_abandon::expectation(),
        ScenarioName::TimeWaitRst => time_wait_rst::expectation(),
        ScenarioName::TimeWaitExpiry => time_wait_expiry::expectation(),
        ScenarioName::Grpc => grpc::expectation(),
    }
}

/// What a scenario needs of the network beyond loopback; `run` then picks the
/// two-namespace lab by itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkNeeds {
    /// The link drops every client→server TCP segment (a firewall's DROP rule).
    pub drop_tcp_to_server: bool,
    /// sysctls set in the client's namespace (the lab's own, never the host's):
    /// `(name, value)`, e.g. `("net.ipv4.tcp_syn_linear_timeouts", "0")`. One the
    /// kernel does not have is skipped.
    pub client_sysctls: &'static [(&'static str, &'static str)],
    /// The bridge sends the server's FIN to the client again once the client's ACK
    /// of it has reached the server: a delayed duplicate (`time-wait-rst`).
    pub echo_server_fin: bool,
    /// At least this one-way delay on the link (a frame stays in flight that long).
    pub least_delay: std::time::Duration,
}

/// `None` for scenarios that run on loopback (and in the lab when asked).
pub fn link_needs(name: ScenarioName) -> Option<LinkNeeds> {
    match name {
        ScenarioName::ConnectTimeout => Some(connect_timeout::NEEDS),
        ScenarioName::ConnectAbandon => Some(connect_abandon::NEEDS),
        ScenarioName::TimeWaitRst => Some(time_wait_rst::NEEDS),
        _ => None,
    }
}

impl ScenarioName {
    /// The least time `run` gives the scenario (more than `--timeout` when that
    /// is shorter): `time-wait-expiry` waits out TIME_WAIT's 60 s.
    pub fn least_run_time(self) -> std::time::Duration {
        match self {
            ScenarioName::TimeWaitExpiry => {
                time_wait_expiry::WAIT_LIMIT + std::time::Duration::from_secs(10)
            }
            _ => std::time::Duration::ZERO,
        }
    }
}
