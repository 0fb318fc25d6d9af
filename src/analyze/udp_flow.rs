//! One UDP stream: a pair of endpoints, counts both ways, request/response pairing,
//! and for datagrams carrying the lab's probe header, loss/order/jitter/latency per
//! direction (see `udp_probe`).

use std::net::SocketAddr;

use super::tcp_flow::role_index;
use super::udp_probe::{ProbeCounter, ProbeHeader};
use super::zeek::ZeekTracker;
use super::Role;

/// A UDP conversation. UDP has no handshake and no close: the "client" is the
/// endpoint that sent first, and the stream ends when it falls idle.
#[derive(Debug, Clone)]
pub struct UdpFlow {
    pub id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_ts: u64,
    pub last_ts: u64,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub ip_bytes: [u64; 2],
    /// Client datagrams that a server datagram answered (the next server datagram after them).
    pub answered: u64,
    last_sender: Option<Role>,
    pub zeek: ZeekTracker,
    /// Whether the client (first sender) is the flow key's "low" endpoint.
    client_is_lo: bool,
    /// Probe statistics per sending role (client→server, server→client); allocated at
    /// the first probe datagram, so plain UDP streams carry none.
    pub probes: [Option<Box<ProbeCounter>>; 2],
}

impl UdpFlow {
    pub fn new(id: u64, src: SocketAddr, dst: SocketAddr, src_is_lo: bool, ts: u64) -> Self {
        UdpFlow {
            id,
            client: src,
            server: dst,
            first_ts: ts,
            last_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            ip_bytes: [0; 2],
            answered: 0,
            last_sender: None,
            zeek: ZeekTracker::default(),
            client_is_lo: src_is_lo,
            probes: [None, None],
        }
    }

    /// Role of a datagram's sender, from which end of the flow key it came.
    pub fn role_from(&self, src_is_lo: bool) -> Role {
        if src_is_lo == self.client_is_lo {
            Role::Client
        } else {
            Role::Server
        }
    }

    pub fn process(&mut self, role: Role, payload: u32, ip_len: u32, ts: u64) {
        let i = role_index(role);
        self.last_ts = ts;
        self.packets[i] += 1;
        self.bytes[i] += u64::from(payload);
        self.ip_bytes[i] += u64::from(ip_len);
        if role == Role::Server && self.last_sender == Some(Role::Client) {
            self.answered += 1;
        }
        self.last_sender = Some(role);
        self.zeek.udp_datagram(role, payload);
    }

    /// Counts a probe datagram sent by `role` and captured at `ts`.
    pub fn probe(&mut self, role: Role, header: &ProbeHeader, ts: u64) {
        self.probes[role_index(role)]
            .get_or_insert_with(Box::default)
            .record(header, ts);
    }
}
