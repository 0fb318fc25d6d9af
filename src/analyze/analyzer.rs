//! The streaming analyzer: a flow table fed one `Packet` at a time.
//!
//! Memory is bounded by the flows that are active, not by the capture's length:
//! finished connections and idle streams are evicted as capture time passes and
//! their summaries handed out, in flow order as far as possible.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::flow_key::FlowKey;
use super::flow_table::FlowTable;
use super::summary::FlowSummary;
use super::tcp_flow::TcpFlow;
use super::udp_flow::UdpFlow;
use super::udp_probe::ProbeHeader;
use super::{FrameAnalysis, Role};
use crate::decode::{Packet, Transport};

const NS: u64 = 1_000_000_000;
/// A closed connection is kept this long (2 × MSL) for late retransmissions.
const FINISHED_TCP_IDLE_NS: u64 = 120 * NS;
/// An open connection silent this long is written out (it may resume as a new flow).
const OPEN_TCP_IDLE_NS: u64 = 3600 * NS;
/// A UDP stream silent this long is over (Zeek's `udp_inactivity_timeout`).
const UDP_IDLE_NS: u64 = 60 * NS;
/// How often (in capture time) to look for flows to evict.
const SWEEP_EVERY_NS: u64 = 10 * NS;
/// Evicted summaries wait for older flows so output stays in flow order, up to this many.
const MAX_HELD: usize = 100_000;

#[derive(Debug, Clone)]
enum Flow {
    Tcp(Box<TcpFlow>),
    Udp(Box<UdpFlow>),
}

impl Flow {
    fn id(&self) -> u64 {
        match self {
            Flow::Tcp(f) => f.id,
            Flow::Udp(f) => f.id,
        }
    }

    fn summary(&self) -> FlowSummary {
        match self {
            Flow::Tcp(f) => FlowSummary::from(f.as_ref()),
            Flow::Udp(f) => FlowSummary::from(f.as_ref()),
        }
    }

    fn expired(&self, now: u64) -> bool {
        match self {
            Flow::Tcp(f) => {
                let idle = now.saturating_sub(f.last_ts);
                idle > if f.is_finished() {
                    FINISHED_TCP_IDLE_NS
                } else {
                    OPEN_TCP_IDLE_NS
                }
            }
            Flow::Udp(f) => now.saturating_sub(f.last_ts) > UDP_IDLE_NS,
        }
    }
}

/// Turns packets into per-frame analysis and, in the end, flow summaries.
#[derive(Debug, Default)]
pub struct Analyzer {
    table: FlowTable<Flow>,
    next_id: u64,
    /// Summaries of evicted flows, waiting to be released in id order.
    held: BTreeMap<u64, FlowSummary>,
    ready: Vec<FlowSummary>,
    last_sweep: u64,
    frame: FrameAnalysis,
}

impl Analyzer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Analyses one decoded packet. Frames that failed to decode, and frames with no
    /// TCP or UDP layer (ARP, ICMP, later fragments), belong to no flow.
    ///
    /// Without the frame's bytes, UDP payloads are not looked at (no probe
    /// statistics): use [`Analyzer::process_frame`] when the bytes are at hand.
    pub fn process(&mut self, packet: &Packet) -> &FrameAnalysis {
        self.analyze(packet, None)
    }

    /// Like [`Analyzer::process`], with the captured bytes `packet` was decoded from
    /// (`packet.payload` indexes into them), so UDP datagrams carrying the lab's probe
    /// header get loss, order, jitter and latency statistics.
    pub fn process_frame(&mut self, packet: &Packet, frame_bytes: &[u8]) -> &FrameAnalysis {
        self.analyze(packet, Some(frame_bytes))
    }

    fn analyze(&mut self, packet: &Packet, frame_bytes: Option<&[u8]>) -> &FrameAnalysis {
        self.frame.reset();
        if packet.ts_ns >= self.last_sweep.saturating_add(SWEEP_EVERY_NS) {
            self.sweep(packet.ts_ns);
        }
        let (Some(ip), Some(transport), None) = (&packet.ip, &packet.transport, &packet.error)
        else {
            return &self.frame;
        };
        match transport {
            Transport::Tcp(tcp) => {
                let (key, src_is_lo) = FlowKey::new(6, ip.src, tcp.sport, ip.dst, tcp.dport);
                let pure_syn = tcp.flags.syn() && !tcp.flags.ack();
                // A SYN with a new sequence number on a finished connection opens a new one.
                let reused = pure_syn
                    && matches!(self.table.get(key), Some(Flow::Tcp(f))
                        if f.is_finished()
                            && !(f.role_from(src_is_lo) == Role::Client && f.client_syn_seq == Some(tcp.seq)));
                // A new ISN from a client whose SYNs nobody answered: that connect
                // timed out, and this SYN opens another. The old flow's timeout is
                // said on this frame, as that flow's.
                let restarted = pure_syn
                    && matches!(self.table.get(key), Some(Flow::Tcp(f))
                        if f.unanswered()
                            && f.role_from(src_is_lo) == Role::Client
                            && f.client_syn_seq != Some(tcp.seq));
                if reused || restarted {
                    if let Some(mut old) = self.table.remove(&key) {
                        if let Flow::Tcp(f) = &mut old {
                            let mut end = FrameAnalysis::default();
                            f.conclude(&mut end);
                            self.frame.concluded = end.transitions.first().map(|t| (f.id, *t));
                        }
                        self.retire(old);
                    }
                }
                let next_id = &mut self.next_id;
                let flow = self.table.get_or_insert_with(key, || {
                    *next_id += 1;
                    let src = SocketAddr::new(ip.src, tcp.sport);
                    let dst = SocketAddr::new(ip.dst, tcp.dport);
                    Flow::Tcp(Box::new(TcpFlow::new(
                        *next_id,
                        src,
                        dst,
                        src_is_lo,
                        tcp,
                        packet.ts_ns,
                    )))
                });
                if let Flow::Tcp(flow) = flow {
                    let role = flow.role_from(src_is_lo);
                    self.frame.flow = Some(flow.id);
                    self.frame.sender = Some(role);
                    flow.process(role, tcp, packet, &mut self.frame);
                }
            }
            Transport::Udp(udp) => {
                let (key, src_is_lo) = FlowKey::new(17, ip.src, udp.sport, ip.dst, udp.dport);
                let next_id = &mut self.next_id;
                let flow = self.table.get_or_insert_with(key, || {
                    *next_id += 1;
                    let src = SocketAddr::new(ip.src, udp.sport);
                    let dst = SocketAddr::new(ip.dst, udp.dport);
                    Flow::Udp(Box::new(UdpFlow::new(
                        *next_id,
                        src,
                        dst,
                        src_is_lo,
                        packet.ts_ns,
                    )))
                });
                if let Flow::Udp(flow) = flow {
                    let role = flow.role_from(src_is_lo);
                    self.frame.flow = Some(flow.id);
                    self.frame.sender = Some(role);
                    let ip_len = u32::from(ip.header_len) + ip.payload_len;
                    flow.process(role, udp.payload_len(), ip_len, packet.ts_ns);
                    let probe = frame_bytes
                        .and_then(|b| b.get(packet.payload.clone()))
                        .and_then(ProbeHeader::decode);
                    if let Some(header) = probe {
                        flow.probe(role, &header, packet.ts_ns);
                    }
                }
            }
            Transport::Icmp(_) => {}
        }
        &self.frame
    }

    /// Summaries of flows that have ended so far, in flow order where possible.
    pub fn take_finished(&mut self) -> Vec<FlowSummary> {
        std::mem::take(&mut self.ready)
    }

    /// The capture has ended: what only its end proves, for every connection still
    /// in the table, in flow order. Today one thing: a client still in SYN_SENT whose
    /// SYNs were never answered timed out (SYN_SENT → CLOSED, attributed to its last
    /// SYN). Streaming outputs print these after the last frame, as a record of
    /// their own (they change no frame already written); [`Analyzer::finish`]
    /// concludes too, so `flows` tells the same story. Calling it again adds nothing.
    pub fn conclude(&mut self) -> Vec<FrameAnalysis> {
        let mut out: Vec<FrameAnalysis> = self
            .table
            .values_mut()
            .filter_map(|f| match f {
                Flow::Tcp(t) => {
                    let mut a = FrameAnalysis::default();
                    t.conclude(&mut a);
                    (!a.transitions.is_empty()).then_some(a)
                }
                Flow::Udp(_) => None,
            })
            .collect();
        out.sort_by_key(|a| a.flow);
        out
    }

    /// Ends the capture: every remaining flow's summary, in flow order, after
    /// [`Analyzer::conclude`].
    pub fn finish(mut self) -> Vec<FlowSummary> {
        self.conclude();
        let mut out = std::mem::take(&mut self.ready);
        let mut rest: Vec<FlowSummary> = self.held.into_values().collect();
        rest.extend(self.table.values().map(Flow::summary));
        rest.sort_by_key(|s| s.flow);
        out.extend(rest);
        out
    }

    /// Number of flows currently in the table.
    pub fn active_flows(&self) -> usize {
        self.table.len()
    }

    /// True when every TCP connection seen so far has finished on both sides
    /// (CLOSED or TIME_WAIT): the last FIN/ACK or RST has passed.
    pub fn all_tcp_finished(&self) -> bool {
        self.table.values().all(|f| match f {
            Flow::Tcp(t) => t.is_finished(),
            Flow::Udp(_) => true,
        })
    }

    /// Like [`Analyzer::all_tcp_finished`], but a connection whose client is still in
    /// SYN_SENT with no answer at all also counts as over: for a caller who knows the
    /// connect has returned (the lab, once its clients are done), nothing more comes.
    pub fn all_tcp_finished_or_unanswered(&self) -> bool {
        self.table.values().all(|f| match f {
            Flow::Tcp(t) => t.is_finished() || t.unanswered(),
            Flow::Udp(_) => true,
        })
    }

    /// A reused 4-tuple ends the old connection; its summary waits for the next sweep.
    fn retire(&mut self, flow: Flow) {
        self.held.insert(flow.id(), flow.summary());
    }

    fn sweep(&mut self, now: u64) {
        self.last_sweep = now;
        let expired = self.table.keys_where(|f| f.expired(now));
        for key in expired {
            if let Some(flow) = self.table.remove(&key) {
                self.held.insert(flow.id(), flow.summary());
            }
        }
        self.release();
    }

    /// Moves held summaries out once no older flow is still active.
    fn release(&mut self) {
        let oldest_active = self.table.values().map(Flow::id).min().unwrap_or(u64::MAX);
        loop {
            let overfull = self.held.len() > MAX_HELD;
            let Some(entry) = self.held.first_entry() else {
                break;
            };
            if *entry.key() < oldest_active || overfull {
                self.ready.push(entry.remove());
            } else {
                break;
            }
        }
    }
}
