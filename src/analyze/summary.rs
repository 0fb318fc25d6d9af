//! `FlowSummary`: the per-connection record of `flows --json` (fields in docs/json.md).

use std::net::SocketAddr;

use serde::Serialize;

use super::flight::FlightStats;
use super::phases::PhaseChange;
use super::rtt::{RttRow, RttTable};
use super::tcp_flow::{Counters, TcpFlow};
use super::udp_flow::UdpFlow;
use super::udp_probe::ProbeStats;
use super::{TcpState, Transition};
use crate::timestamp::{millis, Seconds};

/// Per-role pair of numbers, serialised as `{"client":…,"server":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PerRole {
    pub client: u64,
    pub server: u64,
}

impl From<[u64; 2]> for PerRole {
    fn from(v: [u64; 2]) -> Self {
        PerRole {
            client: v[0],
            server: v[1],
        }
    }
}

/// RTT statistics in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RttMs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub samples: u64,
}

/// UDP-only statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UdpStats {
    pub datagrams: u64,
    /// Client datagrams answered by the server (request/response pairs).
    pub answered: u64,
    /// Probe statistics of the client→server direction, written flat into `udp`
    /// (`probes`, `expected`, `lost`, `lost_percent`, `out_of_order`, `duplicates`,
    /// `jitter_ms`, `latency_ms`); absent when the client sent no probe datagram.
    #[serde(flatten)]
    pub probe: Option<ProbeStats>,
    /// The same for the server→client direction, as a nested object; absent when the
    /// server sent no probe datagram.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_server: Option<ProbeStats>,
}

/// TCP-only fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpSummary {
    pub client_states: Vec<TcpState>,
    pub server_states: Vec<TcpState>,
    pub client_transitions: Vec<TransitionRecord>,
    pub server_transitions: Vec<TransitionRecord>,
    /// The expert counters, written flat (`retransmissions` … `keep_alives`).
    #[serde(flatten)]
    pub counters: Counters,
    /// Segments that resent sequence space their sender had already sent, per
    /// sender: the retransmissions as the sender sees them, counted apart from
    /// Wireshark's expert flags (`retransmissions` … `out_of_order`).
    pub retransmitted_segments_sender_view: PerRole,
    pub rtt_ms: RttMs,
    /// The RTO estimator over each sender's data segments; a side is absent without samples.
    #[serde(skip_serializing_if = "PerSender::is_empty")]
    pub rtt_estimator: PerSender<RttEstimator>,
    /// Max and mean of the per-segment bytes in flight, per sender.
    #[serde(skip_serializing_if = "PerSender::is_empty")]
    pub bytes_in_flight: PerSender<FlightSummary>,
    /// The smallest receive window each side advertised, scaled, and where.
    #[serde(skip_serializing_if = "PerSender::is_empty")]
    pub min_window: PerSender<MinWindow>,
    /// Congestion-control phases inferred per sender (see `phases.rs`).
    #[serde(skip_serializing_if = "PerSender::is_empty")]
    pub phases: PerSender<Vec<PhaseChange>>,
    /// Segments impossible in their endpoint's state; absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub anomalies: u64,
}

/// Something per sending side, `{"client":…,"server":…}`; a side with nothing is absent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerSender<T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<T>,
}

impl<T> PerSender<T> {
    fn is_empty(&self) -> bool {
        self.client.is_none() && self.server.is_none()
    }

    fn from_pair<S>(pair: &[S; 2], f: impl Fn(&S) -> Option<T>) -> Self {
        PerSender {
            client: f(&pair[0]),
            server: f(&pair[1]),
        }
    }

    /// The client's, then the server's.
    pub fn get(&self, client: bool) -> Option<&T> {
        if client {
            self.client.as_ref()
        } else {
            self.server.as_ref()
        }
    }
}

/// One sender's RTO estimator table (RFC 6298, α = 1/8, β = 1/4; see `rtt.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RttEstimator {
    /// Samples taken (Karn's rule: none from a resent segment).
    pub samples: u64,
    /// The first samples' rows (at most 100).
    pub rows: Vec<RttRow>,
    /// The row of the last sample: the estimator at the end.
    #[serde(rename = "final")]
    pub last: RttRow,
}

impl RttEstimator {
    fn from_table(t: &RttTable) -> Option<Self> {
        Some(RttEstimator {
            samples: t.samples,
            rows: t.rows.clone(),
            last: t.last()?,
        })
    }
}

/// The smallest window one side advertised: bytes (scaled) and the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinWindow {
    pub bytes: u64,
    pub frame: u64,
}

/// Bytes in flight over one sender's data segments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FlightSummary {
    pub max: u32,
    pub mean: f64,
    /// Segments that had a figure (Wireshark gives none after a capture gap).
    pub segments: u64,
}

impl FlightSummary {
    fn from_stats(s: &FlightStats) -> Option<Self> {
        Some(FlightSummary {
            max: s.max,
            mean: (s.mean()? * 10.0).round() / 10.0,
            segments: s.samples,
        })
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `tcp.retransmissions` and the other counters read as fields of the summary.
impl std::ops::Deref for TcpSummary {
    type Target = Counters;
    fn deref(&self) -> &Counters {
        &self.counters
    }
}

/// A transition as written in `client_transitions` / `server_transitions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TransitionRecord {
    pub frame: u64,
    pub ts: Seconds,
    pub from: TcpState,
    pub to: TcpState,
    pub why: super::Why,
}

impl From<&Transition> for TransitionRecord {
    fn from(t: &Transition) -> Self {
        TransitionRecord {
            frame: t.frame,
            ts: Seconds(t.ts_ns),
            from: t.from,
            to: t.to,
            why: t.why,
        }
    }
}

/// One connection or UDP stream, finished or at the end of the capture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowSummary {
    pub flow: u64,
    pub proto: &'static str,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_ts: Seconds,
    pub last_ts: Seconds,
    pub duration: Seconds,
    pub packets: PerRole,
    pub bytes: PerRole,
    pub ip_bytes: PerRole,
    #[serde(flatten)]
    pub tcp: Option<TcpSummary>,
    pub conn_state: &'static str,
    pub history: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpStats>,
}

fn records(ts: &[Transition]) -> Vec<TransitionRecord> {
    let mut v: Vec<TransitionRecord> = ts.iter().map(TransitionRecord::from).collect();
    // A SYN_RECEIVED confirmed late points back at its SYN: keep the list in frame order.
    v.sort_by_key(|t| t.frame);
    v
}

impl From<&TcpFlow> for FlowSummary {
    fn from(f: &TcpFlow) -> Self {
        let [client, server] = &f.endpoints;
        FlowSummary {
            flow: f.id,
            proto: "tcp",
            client: f.client,
            server: f.server,
            first_ts: Seconds(f.first_ts),
            last_ts: Seconds(f.last_ts),
            duration: Seconds(f.last_ts.saturating_sub(f.first_ts)),
            packets: f.packets.into(),
            bytes: f.bytes.into(),
            ip_bytes: f.ip_bytes.into(),
            tcp: Some(TcpSummary {
                client_states: client.states(),
                server_states: server.states(),
                client_transitions: records(client.transitions()),
                server_transitions: records(server.transitions()),
                counters: f.counters,
                retransmitted_segments_sender_view: f.resent.into(),
                rtt_ms: RttMs {
                    handshake: f.rtt.handshake_ns.map(millis),
                    min: f.rtt.min_ns.map(millis),
                    mean: f.rtt.mean_ns().map(millis),
                    max: f.rtt.max_ns.map(millis),
                    samples: f.rtt.samples,
                },
                rtt_estimator: PerSender::from_pair(&f.rtt_tables, RttEstimator::from_table),
                bytes_in_flight: PerSender::from_pair(&f.flight_stats, FlightSummary::from_stats),
                min_window: PerSender::from_pair(&f.min_window, |w| {
                    w.map(|(bytes, frame)| MinWindow { bytes, frame })
                }),
                phases: PerSender::from_pair(&f.phases, |p| {
                    (!p.changes.is_empty()).then(|| p.changes.clone())
                }),
                anomalies: f.anomalies,
            }),
            conn_state: f.zeek.tcp_conn_state(),
            history: f.zeek.history.clone(),
            udp: None,
        }
    }
}

impl From<&UdpFlow> for FlowSummary {
    fn from(f: &UdpFlow) -> Self {
        FlowSummary {
            flow: f.id,
            proto: "udp",
            client: f.client,
            server: f.server,
            first_ts: Seconds(f.first_ts),
            last_ts: Seconds(f.last_ts),
            duration: Seconds(f.last_ts.saturating_sub(f.first_ts)),
            packets: f.packets.into(),
            bytes: f.bytes.into(),
            ip_bytes: f.ip_bytes.into(),
            tcp: None,
            conn_state: f.zeek.udp_conn_state(),
            history: f.zeek.history.clone(),
            udp: Some(UdpStats {
                datagrams: f.packets[0] + f.packets[1],
                answered: f.answered,
                probe: f.probes[0].as_ref().map(|p| p.stats()),
                from_server: f.probes[1].as_ref().map(|p| p.stats()),
            }),
        }
    }
}
