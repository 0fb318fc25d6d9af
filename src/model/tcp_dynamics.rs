//! The kernel's congestion control of a run's sockets over time, as plain data:
//! `tcp_probe` samples (cwnd, ssthresh, srtt, windows), congestion-state changes
//! (`tcp_cong_state_set`) and retransmissions (`tcp_retransmit_skb`) per socket,
//! and each bulk sender's own count of resent segments at its end (`tcp_info`).
//! The lab fills it from the tracepoints and the scenario's sockets;
//! `kernel.json` holds it under `tcp_probe`, `cong_state`,
//! `kernel_retransmissions`, `tcp_info` and `tcp_trace`; the report reads it
//! back for the window chart and the "TCP dynamics" lines.
//!
//! Why thinning: `tcp_probe` fires per received segment, ~370 000 times per socket
//! for a 1 GiB transfer through the lab's bridge. Every change of `snd_cwnd` or
//! `ssthresh` is kept (what the window chart draws), and otherwise at most
//! [`MAX_PROBE_SAMPLES`] evenly spaced samples per socket; `events` keeps the count.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The kernel's "no threshold yet" (`TCP_INFINITE_SSTHRESH`).
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// Samples per socket kept besides the cwnd/ssthresh changes.
pub const MAX_PROBE_SAMPLES: usize = 4000;

/// `enum tcp_ca_state` (`include/net/tcp.h`), named as the kernel's comments do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CongState {
    /// Nothing wrong: no loss, no reordering suspected.
    Open,
    /// Duplicate ACKs or SACKs came: maybe reordering, maybe loss.
    Disorder,
    /// The window was reduced for an ECN echo or a local congestion signal.
    #[serde(rename = "CWR")]
    Cwr,
    /// Fast retransmit: the sender repairs a loss (RFC 6582 / PRR).
    Recovery,
    /// A retransmission timeout: everything in flight is presumed lost.
    Loss,
}

impl CongState {
    pub fn from_code(code: u8) -> Option<CongState> {
        Some(match code {
            0 => CongState::Open,
            1 => CongState::Disorder,
            2 => CongState::Cwr,
            3 => CongState::Recovery,
            4 => CongState::Loss,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            CongState::Open => "Open",
            CongState::Disorder => "Disorder",
            CongState::Cwr => "CWR",
            CongState::Recovery => "Recovery",
            CongState::Loss => "Loss",
        }
    }
}

/// One `tcp_probe` sample (CLOCK_REALTIME ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSample {
    pub ts_ns: u64,
    /// Payload of the segment that fired the probe (0 for a pure ACK).
    pub data_len: u16,
    /// Congestion window, in segments.
    pub snd_cwnd: u32,
    /// Slow-start threshold in segments; `None` while "infinite" (before any loss).
    pub ssthresh: Option<u32>,
    /// Smoothed RTT, µs.
    pub srtt_us: u32,
    /// The peer's receive window, bytes.
    pub snd_wnd: u32,
    pub snd_una: u32,
    pub snd_nxt: u32,
    /// The receive window this socket advertises, bytes.
    pub rcv_wnd: u32,
}

/// One change of the congestion state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CongStateChange {
    pub ts_ns: u64,
    pub state: CongState,
}

/// One socket's congestion control as the kernel traced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketDynamics {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// `tcp_probe` events seen for this socket.
    pub probe_events: u64,
    /// The samples kept (see the module documentation).
    pub probe: Vec<ProbeSample>,
    /// Every congestion-state change, in time order (repeats of the same state,
    /// which the kernel also reports, are dropped).
    pub cong_state: Vec<CongStateChange>,
    /// `tcp_retransmit_skb` events: segments the kernel sent again.
    pub retransmissions: u64,
    /// When each retransmission was sent (CLOCK_REALTIME ns).
    pub retransmit_ts_ns: Vec<u64>,
}

/// Event counts and losses of a session's TCP tracepoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TcpEventCounts {
    pub tcp_probe: u64,
    pub tcp_cong_state_set: u64,
    pub tcp_retransmit_skb: u64,
}

/// What a session traced of the TCP congestion-control events.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TcpTrace {
    pub sockets: Vec<SocketDynamics>,
    pub events: TcpEventCounts,
    /// Events of the session's ring buffer the kernel dropped because the reader
    /// fell behind (the buffer is shared with the state transitions); should be 0.
    pub lost_events: u64,
    /// The kernel flagged lost events without saying how many.
    pub lost_unknown: bool,
    /// How long the session traced, seconds (for event rates).
    pub duration_s: f64,
    /// Tracepoints this kernel lacks (`tcp_cong_state_set` came in Linux 5.19).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// Keeps every sample whose cwnd or ssthresh differs from the one before, the
/// first and the last, and otherwise about `budget` evenly spaced ones.
pub fn thin(samples: Vec<ProbeSample>, budget: usize) -> Vec<ProbeSample> {
    if samples.len() <= budget {
        return samples;
    }
    let stride = samples.len().div_ceil(budget.max(1));
    let last = samples.len() - 1;
    let mut out = Vec::with_capacity(budget * 2);
    let mut prev: Option<(u32, Option<u32>)> = None;
    for (i, s) in samples.into_iter().enumerate() {
        let window = (s.snd_cwnd, s.ssthresh);
        if prev != Some(window) || i % stride == 0 || i == last {
            out.push(s);
        }
        prev = Some(window);
    }
    out
}

/// `kernel.json`'s congestion-control sections (flattened into it): the same
/// sockets three ways, so that each key reads on its own.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KernelTcp {
    /// `tcp_probe` per socket over time.
    #[serde(default)]
    pub tcp_probe: Vec<ProbeSeries>,
    /// `tcp_cong_state_set` per socket: the state changes.
    #[serde(default)]
    pub cong_state: Vec<CongSeries>,
    /// `tcp_retransmit_skb` per socket: buffers the kernel sent again (one
    /// event per buffer, which may leave as several segments).
    #[serde(default)]
    pub kernel_retransmissions: Vec<RetransmitSeries>,
    /// The bulk senders' own counters once their connection was over
    /// (`getsockopt(TCP_INFO)`, which needs no root): segments resent.
    #[serde(default)]
    pub tcp_info: Vec<SocketTcpInfo>,
    /// Event counts, rates and losses, or why there are none.
    #[serde(default)]
    pub tcp_trace: TcpTraceInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSeries {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Events seen; `samples` keeps every cwnd/ssthresh change and a thinned rest.
    pub events: u64,
    pub samples: Vec<ProbeSample>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CongSeries {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub changes: Vec<CongStateChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetransmitSeries {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub count: u64,
    pub ts_ns: Vec<u64>,
}

/// A socket's `struct tcp_info` counters, read by its program when the
/// connection was over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketTcpInfo {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// `tcpi_total_retrans`: every segment the kernel sent again, each
    /// segment of a resent buffer counted (`tcp_retransmit_skb` counts the
    /// buffers).
    pub total_retrans: u64,
    /// The algorithm the socket used (`TCP_CONGESTION`): `run --cc` may have
    /// chosen another than the system's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion_control: Option<String>,
}

/// How the tracing of the TCP events went.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TcpTraceInfo {
    /// `false` without root (or on a kernel without the events): then
    /// `unavailable` says why, and the sections above are empty, not "no events".
    pub traced: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    #[serde(default)]
    pub events: TcpEventCounts,
    /// All three events per second of tracing.
    #[serde(default)]
    pub events_per_s: f64,
    #[serde(default)]
    pub duration_s: f64,
    /// Events the ring buffer dropped (reader too slow): should be 0.
    #[serde(default)]
    pub lost_events: u64,
    #[serde(default)]
    pub lost_unknown: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The congestion-control algorithm the run's sockets used by default
    /// (`net.ipv4.tcp_congestion_control`): BBR never sets ssthresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion_control: Option<String>,
}

impl KernelTcp {
    /// What a session traced.
    pub fn from_trace(t: TcpTrace) -> KernelTcp {
        let total = t.events.tcp_probe + t.events.tcp_cong_state_set + t.events.tcp_retransmit_skb;
        let info = TcpTraceInfo {
            traced: true,
            unavailable: None,
            events: t.events,
            events_per_s: if t.duration_s > 0.0 {
                total as f64 / t.duration_s
            } else {
                0.0
            },
            duration_s: t.duration_s,
            lost_events: t.lost_events,
            lost_unknown: t.lost_unknown,
            missing: t.missing,
            congestion_control: None,
        };
        let mut out = KernelTcp {
            tcp_trace: info,
            ..KernelTcp::default()
        };
        for s in t.sockets {
            if s.probe_events > 0 {
                out.tcp_probe.push(ProbeSeries {
                    local: s.local,
                    remote: s.remote,
                    events: s.probe_events,
                    samples: s.probe,
                });
            }
            if !s.cong_state.is_empty() {
                out.cong_state.push(CongSeries {
                    local: s.local,
                    remote: s.remote,
                    changes: s.cong_state,
                });
            }
            if s.retransmissions > 0 {
                out.kernel_retransmissions.push(RetransmitSeries {
                    local: s.local,
                    remote: s.remote,
                    count: s.retransmissions,
                    ts_ns: s.retransmit_ts_ns,
                });
            }
        }
        out
    }

    /// Nothing traced, and why (no root, no tracefs, …).
    pub fn unavailable(reason: impl Into<String>) -> KernelTcp {
        KernelTcp {
            tcp_trace: TcpTraceInfo {
                unavailable: Some(reason.into()),
                ..TcpTraceInfo::default()
            },
            ..KernelTcp::default()
        }
    }

    /// The samples of the socket `local` → `remote` (all its series, should one
    /// socket object have been replaced), in time order.
    pub fn probes(&self, local: SocketAddr, remote: SocketAddr) -> Vec<ProbeSample> {
        let mut out: Vec<ProbeSample> = self
            .tcp_probe
            .iter()
            .filter(|p| p.local == local && p.remote == remote)
            .flat_map(|p| p.samples.iter().copied())
            .collect();
        out.sort_by_key(|s| s.ts_ns);
        out
    }

    /// The congestion-state changes of the socket `local` → `remote`.
    pub fn cong_changes(&self, local: SocketAddr, remote: SocketAddr) -> Vec<CongStateChange> {
        let mut out: Vec<CongStateChange> = self
            .cong_state
            .iter()
            .filter(|p| p.local == local && p.remote == remote)
            .flat_map(|p| p.changes.iter().copied())
            .collect();
        out.sort_by_key(|s| s.ts_ns);
        out
    }

    /// The counters of the socket `local` → `remote`; `None` when its program
    /// did not read them.
    pub fn tcp_info_of(&self, local: SocketAddr, remote: SocketAddr) -> Option<&SocketTcpInfo> {
        self.tcp_info
            .iter()
            .find(|i| i.local == local && i.remote == remote)
    }

    /// The segments the socket `local` → `remote` says it resent
    /// (`tcpi_total_retrans`); `None` when its program did not read them.
    pub fn retransmitted_segments(&self, local: SocketAddr, remote: SocketAddr) -> Option<u64> {
        self.tcp_info_of(local, remote).map(|i| i.total_retrans)
    }

    /// The kernel's retransmissions from `local` to `remote`; `None` when nothing was
    /// traced (no root), which is not zero.
    pub fn retransmissions(&self, local: SocketAddr, remote: SocketAddr) -> Option<u64> {
        self.tcp_trace.traced.then(|| {
            self.kernel_retransmissions
                .iter()
                .filter(|r| r.local == local && r.remote == remote)
                .map(|r| r.count)
                .sum()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_every_window_change_and_the_ends() {
        let samples: Vec<ProbeSample> = (0..10_000u64)
            .map(|i| ProbeSample {
                ts_ns: i,
                data_len: 0,
                snd_cwnd: 10 + (i / 1000) as u32,
                ssthresh: None,
                srtt_us: 0,
                snd_wnd: 0,
                snd_una: 0,
                snd_nxt: 0,
                rcv_wnd: 0,
            })
            .collect();
        let kept = thin(samples, 100);
        assert!(kept.len() <= 120, "{}", kept.len());
        assert_eq!(kept.first().unwrap().ts_ns, 0);
        assert_eq!(kept.last().unwrap().ts_ns, 9_999);
        for step in 1..10u64 {
            assert!(
                kept.iter().any(|s| s.ts_ns == step * 1000),
                "the change at {} is kept",
                step * 1000
            );
        }
    }

    #[test]
    fn cong_state_codes_name_like_the_kernel() {
        let names: Vec<&str> = (0..5)
            .map(|c| CongState::from_code(c).unwrap().name())
            .collect();
        assert_eq!(names, ["Open", "Disorder", "CWR", "Recovery", "Loss"]);
        assert_eq!(CongState::from_code(5), None);
        assert_eq!(serde_json::to_string(&CongState::Cwr).unwrap(), "\"CWR\"");
    }
}
