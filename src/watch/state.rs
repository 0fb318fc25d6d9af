//! The live page's model: what every connection looks like now, fed one analysed
//! frame (or one kernel change) at a time, answering with the [`Update`]s the page
//! needs. Pure: the pipeline's values in, plain data out; no clock, no socket.
//!
//! Memory is bounded whatever the traffic: at most [`MAX_CONNS`] connections, the
//! last [`KEPT_SEGS`] segments of each for a page that joins late, and past
//! [`DETAIL_LIMIT`] segments a connection's ordinary segments are only counted
//! (a SYN, FIN, RST, a state change or an anomaly is always sent), so a 1 GiB
//! transfer shows its handshake, its close and a running count in between.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use crate::analyze::{FrameAnalysis, Role, TcpState};
use crate::chart::{FrameRecord, Lang};
use crate::decode::{Packet, Transport};
use crate::dissect::redact::mask_secrets;
use crate::lab::kernel::StateChange;
use crate::report::player;

use super::kernel_table::KernelTable;
use super::update::{ConnView, EndpointView, SegView, Snapshot, Update};

/// Connections kept; the oldest is forgotten first.
pub const MAX_CONNS: usize = 200;
/// Segments kept per connection for a page that joins (or resyncs) later.
pub const KEPT_SEGS: usize = 300;
/// Segments of a connection sent one by one before ordinary ones are only counted.
pub const DETAIL_LIMIT: u64 = 1000;
/// While only counting, the connection's counts are sent every this many segments.
pub const SUMMARY_EVERY: u64 = 1000;
/// Payload bytes shown as text on the ladder.
const TEXT_BYTES: usize = 48;

#[derive(Debug, Clone)]
struct Conn {
    flow: u64,
    tcp: bool,
    client: SocketAddr,
    server: SocketAddr,
    client_state: TcpState,
    server_state: TcpState,
    segments: u64,
    summarized: u64,
    bytes: u64,
    kept: VecDeque<SegView>,
}

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct WatchState {
    seq: u64,
    conns: BTreeMap<u64, Conn>,
    kernel: KernelTable,
    kernel_source: String,
    frames: u64,
    t0_ns: Option<u64>,
}

impl WatchState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Says where the kernel column comes from (shown as its label).
    pub fn set_kernel_source(&mut self, source: impl Into<String>) {
        self.kernel_source = source.into();
    }

    /// Frames seen so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The number of the last update handed out.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// One analysed frame: its bytes (`packet.payload` indexes them) and the
    /// application messages it completed (see [`super::messages`]).
    pub fn on_frame(
        &mut self,
        packet: &Packet,
        analysis: &FrameAnalysis,
        bytes: &[u8],
        app: Vec<String>,
    ) -> Vec<Update> {
        self.frames += 1;
        let mut out = Vec::new();
        if let Some((flow, t)) = analysis.concluded {
            if let Some(c) = self.conns.get_mut(&flow) {
                set(c, t.endpoint, t.to);
                out.push(Update::Conn(self.view(flow)));
            }
        }
        let (Some(flow), Some(sender), Some(ip)) = (analysis.flow, analysis.sender, &packet.ip)
        else {
            return self.numbered(out);
        };
        let (tcp, sport, dport) = match &packet.transport {
            Some(Transport::Tcp(t)) => (true, t.sport, t.dport),
            Some(Transport::Udp(u)) => (false, u.sport, u.dport),
            _ => return self.numbered(out),
        };
        let t0 = *self.t0_ns.get_or_insert(packet.ts_ns);
        let new = !self.conns.contains_key(&flow);
        if new {
            let src = SocketAddr::new(ip.src, sport);
            let dst = SocketAddr::new(ip.dst, dport);
            let (client, server) = match sender {
                Role::Client => (src, dst),
                Role::Server => (dst, src),
            };
            let (client_state, server_state) = initial_states(packet, analysis);
            self.conns.insert(
                flow,
                Conn {
                    flow,
                    tcp,
                    client,
                    server,
                    client_state,
                    server_state,
                    segments: 0,
                    summarized: 0,
                    bytes: 0,
                    kept: VecDeque::new(),
                },
            );
            if self.conns.len() > MAX_CONNS {
                self.conns.pop_first();
            }
        }
        let Some(c) = self.conns.get_mut(&flow) else {
            return self.numbered(out);
        };
        let before = (c.client_state, c.server_state);
        for w in &analysis.withdrawals {
            set(c, w.endpoint, w.withdraws.from);
        }
        for t in &analysis.transitions {
            set(c, t.endpoint, t.to);
        }
        let n = c.segments;
        c.segments += 1;
        let payload = packet.payload.len() as u64;
        c.bytes += packet
            .tcp()
            .map(|t| u64::from(t.len))
            .or_else(|| packet.udp().map(|u| u64::from(u.payload_len())))
            .unwrap_or(payload);
        let moved = before != (c.client_state, c.server_state);
        if n >= DETAIL_LIMIT && !worth_showing(packet, analysis) && !moved && app.is_empty() {
            c.summarized += 1;
            if c.summarized % SUMMARY_EVERY == 0 {
                out.push(Update::Conn(self.view(flow)));
            }
            return self.numbered(out);
        }
        let seg = seg_view(flow, n, packet, analysis, bytes, app, c, t0);
        c.kept.push_back(seg.clone());
        if c.kept.len() > KEPT_SEGS {
            c.kept.pop_front();
        }
        if new || moved {
            out.push(Update::Conn(self.view(flow)));
        }
        out.push(Update::Seg(seg));
        self.numbered(out)
    }

    /// One change of the kernel's socket table: its row, and the connections whose
    /// agreement it may change.
    pub fn on_kernel(&mut self, change: &StateChange) -> Vec<Update> {
        let Some(row) = self.kernel.apply(change) else {
            return Vec::new();
        };
        let mut out = vec![Update::Kernel(row)];
        let touched: Vec<u64> = self
            .conns
            .values()
            .filter(|c| {
                c.tcp
                    && ((c.client == change.local && c.server == change.remote)
                        || (c.server == change.local && c.client == change.remote))
            })
            .map(|c| c.flow)
            .collect();
        for flow in touched {
            out.push(Update::Conn(self.view(flow)));
        }
        self.numbered(out)
    }

    /// Everything so far, for a page that starts (or that fell behind:
    /// `coalesced` is how many updates it missed in all).
    pub fn snapshot(&self, coalesced: u64) -> Snapshot {
        Snapshot {
            kind: "snapshot",
            seq: self.seq,
            conns: self.conns.keys().map(|&f| self.view(f)).collect(),
            segs: self
                .conns
                .values()
                .flat_map(|c| c.kept.iter().cloned())
                .collect(),
            kernel: self.kernel.rows(),
            kernel_source: self.kernel_source.clone(),
            frames: self.frames,
            coalesced,
        }
    }

    /// The header of connection `flow` (which exists).
    fn view(&self, flow: u64) -> ConnView {
        let c = &self.conns[&flow];
        let endpoint = |addr, peer, state: TcpState| {
            if !c.tcp {
                return EndpointView {
                    addr,
                    state: "",
                    kernel: None,
                    agree: None,
                };
            }
            let kernel = self.kernel.rfc_state(addr, peer);
            EndpointView {
                addr,
                state: state.name(),
                kernel: kernel.map(TcpState::name),
                agree: kernel.map(|k| k == state),
            }
        };
        ConnView {
            flow,
            proto: if c.tcp { "tcp" } else { "udp" },
            client: endpoint(c.client, c.server, c.client_state),
            server: endpoint(c.server, c.client, c.server_state),
            segments: c.segments,
            summarized: c.summarized,
            bytes: c.bytes,
        }
    }

    /// Counts the updates into the stream; the caller sends them in this order.
    fn numbered(&mut self, out: Vec<Update>) -> Vec<Update> {
        self.seq += out.len() as u64;
        out
    }
}

fn set(c: &mut Conn, who: Role, to: TcpState) {
    match who {
        Role::Client => c.client_state = to,
        Role::Server => c.server_state = to,
    }
}

/// Both endpoints' states before a connection's first frame: where its first
/// transitions start from, else a listening server and a closed client for a
/// SYN, else (seen mid-stream) ESTABLISHED, as the analysis assumes.
fn initial_states(packet: &Packet, analysis: &FrameAnalysis) -> (TcpState, TcpState) {
    let pure_syn = packet
        .tcp()
        .is_some_and(|t| t.flags.syn() && !t.flags.ack());
    let fallback = |role| match (pure_syn, role) {
        (true, Role::Client) => TcpState::Closed,
        (true, Role::Server) => TcpState::Listen,
        (false, _) => TcpState::Established,
    };
    let from = |role| {
        analysis
            .transitions
            .iter()
            .find(|t| t.endpoint == role)
            .map(|t| t.from)
            .unwrap_or_else(|| fallback(role))
    };
    (from(Role::Client), from(Role::Server))
}

/// A segment always sent one by one, however busy the connection.
fn worth_showing(packet: &Packet, analysis: &FrameAnalysis) -> bool {
    let control = packet
        .tcp()
        .is_some_and(|t| t.flags.syn() || t.flags.fin() || t.flags.rst());
    control
        || !analysis.transitions.is_empty()
        || !analysis.withdrawals.is_empty()
        || !analysis.anomalies.is_empty()
}

#[allow(clippy::too_many_arguments)]
fn seg_view(
    flow: u64,
    n: u64,
    packet: &Packet,
    analysis: &FrameAnalysis,
    bytes: &[u8],
    app: Vec<String>,
    c: &Conn,
    t0: u64,
) -> SegView {
    let record = FrameRecord {
        packet: packet.clone(),
        analysis: analysis.clone(),
        bytes: Vec::new(),
        masked: 0,
    };
    let mut changes: Vec<String> = analysis
        .withdrawals
        .iter()
        .map(|w| {
            format!(
                "{}: {} withdrawn ({})",
                w.endpoint,
                w.withdraws.to,
                w.why.text(w.endpoint)
            )
        })
        .collect();
    changes.extend(
        analysis
            .transitions
            .iter()
            .map(|t| format!("{}: {} → {} ({})", t.endpoint, t.from, t.to, t.why.text())),
    );
    let (client_state, server_state) = if c.tcp {
        (c.client_state.name(), c.server_state.name())
    } else {
        ("", "")
    };
    SegView {
        flow,
        n,
        frame: packet.frame,
        t: packet.ts_ns.saturating_sub(t0) as f64 / 1e9,
        from: analysis.sender.map_or("client", Role::name),
        label: player::label(&record),
        text: printable(bytes.get(packet.payload.clone()).unwrap_or_default()),
        client_state,
        server_state,
        changes,
        layers: player::layers(&record, Lang::En),
        app,
        flags: analysis.flags.names().collect(),
    }
}

/// The first bytes of a payload as text: printable ASCII as it is, anything else
/// as `.`, passwords masked (the page shows captured payloads).
fn printable(payload: &[u8]) -> String {
    let mut head = payload[..payload.len().min(TEXT_BYTES)].to_vec();
    mask_secrets(&mut head);
    let mut s: String = head
        .iter()
        .map(|&b| {
            if b == b' ' || b.is_ascii_graphic() {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    if payload.len() > TEXT_BYTES {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests;
