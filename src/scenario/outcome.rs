//! What each side of a scenario saw: the server's connections, bytes and event log
//! ([`ServerReport`]), the client's bytes and the server's answers
//! ([`ClientReport`]). The lab report prints both beside the capture.

use std::path::PathBuf;

/// What the server side saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerReport {
    /// TCP connections accepted (0 for UDP: it has none).
    pub connections: u64,
    /// Payload bytes read from clients.
    pub bytes_in: u64,
    /// Payload bytes written to clients.
    pub bytes_out: u64,
    /// One line per event, in order: `connect 127.0.0.1:40123`, `close 127.0.0.1:40123`, …
    pub log: Vec<String>,
    /// `file-transfer`: where the received file was saved.
    pub saved: Option<PathBuf>,
    /// `file-transfer`: SHA-256 (hex) of the received bytes.
    pub sha256: Option<String>,
    /// Observations worth a line in the report (e.g. `time-wait`'s re-bind attempts).
    pub notes: Vec<String>,
}

/// What the client side saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientReport {
    /// Payload bytes written, all clients together.
    pub bytes_sent: u64,
    /// Payload bytes read, all clients together.
    pub bytes_received: u64,
    /// The server's answers, one per line or message, client by client.
    pub replies: Vec<String>,
    /// `file-transfer`: SHA-256 (hex) of the bytes sent.
    pub sha256: Option<String>,
    /// Observations worth a line in the report.
    pub notes: Vec<String>,
    /// The counters of the clients' sockets once their connections were over
    /// (`getsockopt(TCP_INFO)`), for the scenarios that send bulk data
    /// (`file-transfer`); empty for the others.
    pub tcp_info: Vec<crate::model::tcp_dynamics::SocketTcpInfo>,
}
