//! One TCP connection: both endpoints' state machines, sequence analysis per
//! direction, Zeek history, counters and RTT.

use std::net::SocketAddr;

use serde::Serialize;

use super::endpoint::{on_segment, Segment, TcpEndpoint};
use super::expert::{self, Direction};
use super::flight::{self, Flight, FlightStats, Sent};
use super::phases::Phases;
use super::rtt::{RttStats, RttTable};
use super::seq::{seq_gt, seq_lt};
use super::zeek::{ZeekSegment, ZeekTracker};
use super::{AnalysisFlags, Anomaly, FrameAnalysis, Role, TcpState};
use crate::decode::{Packet, TcpInfo};

/// Defines the expert-flag counters once: the struct (its fields are the JSON names
/// of `flows --json`, in their order), the counting, and the table of names.
macro_rules! expert_counters {
    ($($field:ident: $bit:ident),* $(,)?) => {
        /// Expert-flag counts of one connection, written flat into `flows --json`.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        pub struct Counters {
            $(pub $field: u64,)*
        }

        /// Each counter's JSON name and the flag it counts, in output order.
        pub const COUNTED: &[(&str, u16)] = &[$((stringify!($field), AnalysisFlags::$bit),)*];

        impl Counters {
            #[inline]
            fn count(&mut self, flags: AnalysisFlags) {
                // Most segments carry no flag at all.
                if flags.is_empty() {
                    return;
                }
                $(self.$field += u64::from(flags.has(AnalysisFlags::$bit));)*
            }
        }
    };
}

expert_counters! {
    retransmissions: RETRANSMISSION,
    fast_retransmissions: FAST_RETRANSMISSION,
    spurious_retransmissions: SPURIOUS_RETRANSMISSION,
    dup_acks: DUPLICATE_ACK,
    out_of_order: OUT_OF_ORDER,
    zero_windows: ZERO_WINDOW,
    zero_window_probes: ZERO_WINDOW_PROBE,
    window_full: WINDOW_FULL,
    lost_segments: LOST_SEGMENT,
    keep_alives: KEEP_ALIVE,
}

/// A TCP connection as seen at the capture point.
#[derive(Debug, Clone)]
pub struct TcpFlow {
    pub id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Indexed by `role_index`: client, then server.
    pub endpoints: [TcpEndpoint; 2],
    dirs: [Direction; 2],
    pub zeek: ZeekTracker,
    pub first_ts: u64,
    pub last_ts: u64,
    pub packets: [u64; 2],
    /// Payload bytes per direction, counted from sequence numbers as Zeek's
    /// orig_bytes / resp_bytes: a retransmitted byte counts once.
    pub bytes: [u64; 2],
    /// IP-level bytes per direction (Zeek's orig_ip_bytes / resp_ip_bytes).
    pub ip_bytes: [u64; 2],
    pub counters: Counters,
    /// Anomalies found in this connection's segments (see `FrameAnalysis::anomalies`).
    pub anomalies: u64,
    pub rtt: RttStats,
    /// The RTO estimator over each direction's data segments (by their sender).
    pub rtt_tables: [RttTable; 2],
    /// Bytes in flight per direction (Wireshark's rule) and their max and mean.
    flight: [Flight; 2],
    pub flight_stats: [FlightStats; 2],
    /// The smallest receive window each side advertised (bytes, scaled) and its frame.
    pub min_window: [Option<(u64, u64)>; 2],
    /// Slow start / congestion avoidance / recovery per sending direction.
    pub phases: [Phases; 2],
    /// Time of the most recent client SYN, for the handshake RTT.
    last_syn_ts: Option<u64>,
    synack_seen: bool,
    /// Sequence number of the client's last SYN, to tell a reused 4-tuple from a retransmission.
    pub client_syn_seq: Option<u32>,
    /// Whether the client is the flow key's "low" endpoint (see `FlowKey::new`).
    client_is_lo: bool,
    /// Per direction, the sequence number after the highest payload byte counted.
    data_next: [Option<u32>; 2],
    /// Per direction, the end of the highest sequence number sent (SYN and FIN count one).
    sent_end: [Option<u32>; 2],
    /// Segments resending sequence space already sent, per direction: the sender's
    /// own view of its retransmissions (see `count_resend`).
    pub resent: [u64; 2],
}

/// Index of a role in the per-role arrays.
pub fn role_index(role: Role) -> usize {
    match role {
        Role::Client => 0,
        Role::Server => 1,
    }
}

/// Mutable references to element `i` and the other one of a pair.
fn pair_mut<T>(pair: &mut [T; 2], i: usize) -> (&mut T, &mut T) {
    let (a, b) = pair.split_at_mut(1);
    if i == 0 {
        (&mut a[0], &mut b[0])
    } else {
        (&mut b[0], &mut a[0])
    }
}

impl TcpFlow {
    /// Starts a flow from its first segment, sent from `src` to `dst`.
    /// Returns the flow and the role of `src`.
    pub fn new(
        id: u64,
        src: SocketAddr,
        dst: SocketAddr,
        src_is_lo: bool,
        tcp: &TcpInfo,
        ts: u64,
    ) -> Self {
        let f = tcp.flags;
        let (client, server, src_role, client_ep, server_ep) = if f.syn() && !f.ack() {
            // The sender of the first pure SYN is the client.
            (
                src,
                dst,
                Role::Client,
                TcpEndpoint::new(Role::Client, TcpState::Closed),
                TcpEndpoint::new(Role::Server, TcpState::Listen),
            )
        } else if f.syn() && f.ack() {
            // SYN not captured: the SYN-ACK's receiver is a client already in SYN_SENT.
            (
                dst,
                src,
                Role::Server,
                TcpEndpoint::new(Role::Client, TcpState::SynSent).with_isn(tcp.ack.wrapping_sub(1)),
                TcpEndpoint::new(Role::Server, TcpState::Listen),
            )
        } else {
            // Mid-stream: both sides are already ESTABLISHED.
            let src_is_client = super::flow_key::midstream_client_is(src, dst);
            let (client, server) = if src_is_client {
                (src, dst)
            } else {
                (dst, src)
            };
            (
                client,
                server,
                if src_is_client {
                    Role::Client
                } else {
                    Role::Server
                },
                TcpEndpoint::new(Role::Client, TcpState::Established),
                TcpEndpoint::new(Role::Server, TcpState::Established),
            )
        };
        TcpFlow {
            id,
            client,
            server,
            endpoints: [client_ep, server_ep],
            dirs: [Direction::default(), Direction::default()],
            zeek: ZeekTracker::default(),
            first_ts: ts,
            last_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            ip_bytes: [0; 2],
            counters: Counters::default(),
            anomalies: 0,
            rtt: RttStats::default(),
            rtt_tables: Default::default(),
            flight: Default::default(),
            flight_stats: Default::default(),
            phases: Default::default(),
            min_window: [None; 2],
            last_syn_ts: None,
            synack_seen: false,
            client_syn_seq: None,
            client_is_lo: (src_role == Role::Client) == src_is_lo,
            data_next: [None; 2],
            sent_end: [None; 2],
            resent: [0; 2],
        }
    }

    /// Role of a packet's sender, from which end of the flow key it came.
    pub fn role_from(&self, src_is_lo: bool) -> Role {
        if src_is_lo == self.client_is_lo {
            Role::Client
        } else {
            Role::Server
        }
    }

    /// True when both endpoints are done (CLOSED or TIME_WAIT): a new SYN starts a new connection.
    pub fn is_finished(&self) -> bool {
        self.endpoints.iter().all(|e| e.state().is_finished())
    }

    /// Adds the payload bytes this segment carries beyond any seen before, so that
    /// retransmissions count once and a 4 GiB wrap of the sequence space is harmless.
    fn count_payload(&mut self, i: usize, tcp: &TcpInfo) {
        let syn = u32::from(tcp.flags.syn());
        let next = *self.data_next[i].get_or_insert(tcp.seq.wrapping_add(syn));
        let end = tcp.seq.wrapping_add(syn).wrapping_add(tcp.len);
        if tcp.len > 0 && seq_gt(end, next) {
            self.bytes[i] += u64::from(end.wrapping_sub(next));
            self.data_next[i] = Some(end);
        }
    }

    /// Counts a segment that starts below the highest sequence number its sender
    /// had sent: it resends bytes (or a SYN or FIN) already sent once. At a capture
    /// point beside the sender every such segment is a retransmission, whatever
    /// Wireshark's heuristic calls it (it was made for a point in mid-path, where a
    /// late segment may be reordered, and calls many of these "out-of-order").
    /// Keep-alives (one byte below the next, on purpose) and RSTs are not counted.
    fn count_resend(&mut self, i: usize, tcp: &TcpInfo, flags: AnalysisFlags) -> bool {
        let f = tcp.flags;
        if f.rst() {
            return false;
        }
        let end = tcp
            .seq
            .wrapping_add(tcp.len)
            .wrapping_add(u32::from(f.syn()) + u32::from(f.fin()));
        let carries = tcp.len > 0 || f.syn() || f.fin();
        let resend = carries
            && !flags.has(AnalysisFlags::KEEP_ALIVE)
            && self.sent_end[i].is_some_and(|high| seq_lt(tcp.seq, high));
        if resend {
            self.resent[i] += 1;
        }
        if carries && self.sent_end[i].is_none_or(|high| seq_gt(end, high)) {
            self.sent_end[i] = Some(end);
        }
        resend
    }

    /// The client is in SYN_SENT and the server has sent nothing at all.
    pub fn unanswered(&self) -> bool {
        self.endpoints[role_index(Role::Client)].state() == TcpState::SynSent
            && self.packets[role_index(Role::Server)] == 0
    }

    /// The capture has ended: what only its end shows (a connect whose SYNs nobody
    /// answered timed out) is added to `out`, whose `flow` is set.
    pub fn conclude(&mut self, out: &mut FrameAnalysis) {
        out.flow = Some(self.id);
        let server_silent = self.packets[role_index(Role::Server)] == 0;
        self.endpoints[role_index(Role::Client)].conclude(server_silent, out);
    }

    /// Processes one segment sent by `role`, filling `out`.
    pub fn process(&mut self, role: Role, tcp: &TcpInfo, packet: &Packet, out: &mut FrameAnalysis) {
        let (frame, ts) = (packet.frame, packet.ts_ns);
        let ip_len = packet
            .ip
            .as_ref()
            .map_or(0, |ip| u32::from(ip.header_len) + ip.payload_len);
        let captured = packet.payload.len() as u32;
        let i = role_index(role);
        let f = tcp.flags;
        let seg = Segment {
            frame,
            ts_ns: ts,
            flags: f,
            seq: tcp.seq,
            ack: tcp.ack,
            len: tcp.len,
        };
        self.last_ts = ts;
        self.packets[i] += 1;
        self.count_payload(i, tcp);
        self.ip_bytes[i] += u64::from(ip_len);

        {
            let (fwd, rev) = pair_mut(&mut self.dirs, i);
            if f.syn() {
                expert::note_syn(fwd, rev, tcp.options.wscale);
            }
            let verdict = expert::analyze(fwd, rev, &seg, tcp.window, self.rtt.handshake_ns);
            if !f.rst() {
                let offered = fwd.window_bytes(tcp.window, f.syn());
                if self.min_window[i].is_none_or(|(w, _)| offered < w) {
                    self.min_window[i] = Some((offered, frame));
                }
            }
            out.rel_seq = fwd.relative(tcp.seq);
            out.rel_ack = if f.ack() { rev.relative(tcp.ack) } else { None };
            out.flags = verdict.flags;
            out.dup_ack_count = verdict.dup_ack_count;
            out.rtt_ns = verdict.rtt.map(|r| r.ns);
            out.acks_frame = verdict.rtt.map(|r| r.segment_frame);
            self.counters.count(verdict.flags);
            let resend = self.count_resend(i, tcp, verdict.flags);
            if verdict.acks_unseen {
                out.note(role, Anomaly::AckOfUnseenData);
            }
            if let Some(rtt) = verdict.rtt {
                self.rtt.add(rtt.ns);
                // This ACK measured the peer's segment: a row of the peer's table.
                if rtt.data {
                    self.rtt_tables[1 - i].add(rtt.segment_frame, frame, rtt.ns);
                }
            }
            let (fwd, rev) = pair_mut(&mut self.flight, i);
            out.bytes_in_flight = flight::on_segment(
                fwd,
                rev,
                &Sent {
                    seq: tcp.seq,
                    ack: tcp.ack,
                    len: tcp.len,
                    syn_or_fin: f.syn() || f.fin(),
                    ack_flag: f.ack(),
                    lost_before: verdict.flags.has(AnalysisFlags::LOST_SEGMENT),
                    sack: &tcp.options.sack,
                },
            );
            if let Some(b) = out.bytes_in_flight {
                self.flight_stats[i].add(b);
            }
            if tcp.len > 0 {
                let end = tcp.seq.wrapping_add(tcp.len);
                self.phases[i].on_send(frame, ts, (end, tcp.len), resend, out.bytes_in_flight);
            }
            if f.ack() {
                self.phases[1 - i].on_ack(frame, ts, tcp.ack, verdict.dup_ack_count);
            }
        }

        // Handshake RTT: SYN → SYN-ACK → the client's first ACK.
        if f.syn() && !f.ack() && role == Role::Client {
            self.last_syn_ts = Some(ts);
            self.client_syn_seq = Some(tcp.seq);
        } else if f.syn() && f.ack() {
            self.synack_seen = true;
        } else if role == Role::Client
            && f.ack()
            && self.synack_seen
            && self.rtt.handshake_ns.is_none()
        {
            if let Some(syn_ts) = self.last_syn_ts {
                self.rtt.handshake_ns = Some(ts.saturating_sub(syn_ts));
            }
        }

        let (sender, receiver) = pair_mut(&mut self.endpoints, i);
        on_segment(sender, receiver, &seg, out);
        self.anomalies += out.anomalies.len() as u64;

        self.zeek.tcp_segment(
            role,
            &ZeekSegment {
                flags: f,
                rel_seq: out.rel_seq.unwrap_or(0),
                rel_ack: out.rel_ack,
                len: tcp.len,
                captured,
                window: tcp.window,
            },
        );
    }
}
