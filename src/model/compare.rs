//! What `protolab compare` measured, as written to report.json: one entry per
//! loss level with the TCP transfer's and the UDP stream's figures side by side.
//! Percentages are 0-100. The report renderer reads only this (plus the
//! captures it names), so a report can be redrawn from a saved report.json.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    pub levels: Vec<LevelResult>,
    pub seed: u64,
    /// The command line that reproduces the comparison.
    pub command: String,
    /// Bytes each protocol carried per level.
    pub bytes: u64,
    /// One-way delay added in each direction, ms.
    pub delay_ms: f64,
    pub jitter_ms: f64,
    /// Start, seconds since the Unix epoch.
    pub started: f64,
    pub protolab_version: String,
    /// The TCP sender's congestion control when `--cc` chose one; `None`: the
    /// system's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion_control: Option<String>,
}

/// One loss level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelResult {
    /// `--loss` for this level, percent.
    pub loss_configured: f64,
    /// Frames the bridge dropped over frames it saw, both runs and directions, percent.
    pub loss_measured: f64,
    /// The median run's TCP transfer (by completion time), or the only run's.
    pub tcp: TcpResult,
    /// The UDP stream of the same run.
    pub udp: UdpResult,
    /// Every run of this level (`--runs N`, seeds seed, seed+1, …), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunResult>,
    /// Every figure over the runs: `<figure>_median`, `<figure>_min`,
    /// `<figure>_max` (see [`SPREAD_FIGURES`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, f64>,
    /// The Mathis et al. model's TCP goodput, (MSS/RTT)·(C/√p) with C = √(3/2),
    /// from the measured MSS, RTT and loss (medians over the runs), Mbit/s; none
    /// without loss (the model is for a lossy steady state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_goodput_mbps: Option<f64>,
}

/// One run of a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub seed: u64,
    pub loss_measured: f64,
    pub tcp: TcpResult,
    pub udp: UdpResult,
}

/// Reads one figure from a run (`None`: not measured, like the kernel's count
/// without root).
pub type Figure = fn(&RunResult) -> Option<f64>;

/// The figures summarised over a level's runs, with how to read each from a run.
pub const SPREAD_FIGURES: [(&str, Figure); 15] = [
    ("loss_measured", |r| Some(r.loss_measured)),
    ("completion_s", |r| Some(r.tcp.completion_s)),
    ("goodput_mbps", |r| Some(r.tcp.goodput_mbps)),
    ("tcp_delivered_percent", |r| Some(r.tcp.delivered_percent)),
    ("retransmissions", |r| Some(r.tcp.retransmissions as f64)),
    ("retransmissions_sender_view", |r| {
        Some(r.tcp.retransmissions_sender_view as f64)
    }),
    ("retransmissions_kernel", |r| {
        r.tcp.retransmissions_kernel.map(|k| k as f64)
    }),
    ("retransmissions_kernel_segments", |r| {
        r.tcp.retransmissions_kernel_segments.map(|k| k as f64)
    }),
    ("dropped_data_frames", |r| {
        Some(r.tcp.dropped_data_frames as f64)
    }),
    ("rto_count", |r| r.tcp.rto_count.map(|k| k as f64)),
    ("rtt_ms", |r| r.tcp.rtt_ms),
    ("udp_delivered_percent", |r| Some(r.udp.delivered_percent)),
    ("udp_lost", |r| Some(r.udp.lost as f64)),
    ("udp_jitter_ms", |r| Some(r.udp.jitter_ms)),
    ("udp_p99_ms", |r| Some(r.udp.latency_ms.p99)),
];

/// Median, min and max of `values` (the lower middle for an even count).
pub fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some((v[(v.len() - 1) / 2], v[0], v[v.len() - 1]))
}

/// Mathis et al. (1997): a TCP flow's goodput ≈ (MSS/RTT)·(C/√p), C = √(3/2).
/// `mss` bytes, `rtt_ms`, `p` a fraction; Mbit/s. None when `p` or RTT is 0.
pub fn mathis_goodput_mbps(mss: f64, rtt_ms: f64, p: f64) -> Option<f64> {
    if p <= 0.0 || rtt_ms <= 0.0 || mss <= 0.0 {
        return None;
    }
    let c = (1.5f64).sqrt();
    Some(mss * 8.0 / (rtt_ms / 1e3) * c / p.sqrt() / 1e6)
}

impl LevelResult {
    /// A level from its runs: the median run (by TCP completion time) stands for
    /// it, every figure gets its median, min and max, and the model its goodput.
    pub fn from_runs(loss_configured: f64, runs: Vec<RunResult>) -> Option<LevelResult> {
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| {
            runs[a]
                .tcp
                .completion_s
                .total_cmp(&runs[b].tcp.completion_s)
        });
        let mid = runs
            .get(*order.get(order.len().checked_sub(1)? / 2)?)?
            .clone();
        let mut summary = BTreeMap::new();
        for (name, get) in SPREAD_FIGURES {
            let values: Vec<f64> = runs.iter().filter_map(get).collect();
            if let Some((median, min, max)) = spread(&values) {
                summary.insert(format!("{name}_median"), median);
                summary.insert(format!("{name}_min"), min);
                summary.insert(format!("{name}_max"), max);
            }
        }
        let mss = spread(
            &runs
                .iter()
                .filter_map(|r| r.tcp.mss.map(|m| m as f64))
                .collect::<Vec<_>>(),
        );
        let model_goodput_mbps = match (
            mss,
            summary.get("rtt_ms_median"),
            // The loss the client's data met: the bridge's measure of the TCP run.
            spread(&runs.iter().map(|r| r.tcp.loss_measured).collect::<Vec<_>>()),
        ) {
            (Some((mss, _, _)), Some(&rtt), Some((loss, _, _))) => {
                mathis_goodput_mbps(mss, rtt, loss / 100.0)
            }
            _ => None,
        };
        Some(LevelResult {
            loss_configured,
            loss_measured: mid.loss_measured,
            tcp: mid.tcp,
            udp: mid.udp,
            summary: if runs.len() > 1 {
                summary
            } else {
                BTreeMap::new()
            },
            runs: if runs.len() > 1 { runs } else { Vec::new() },
            model_goodput_mbps,
        })
    }

    /// (median, min, max) of a figure over the runs; a single run's own value
    /// thrice when there was one run (`get` reads it).
    pub fn spread_of(
        &self,
        name: &str,
        get: fn(&RunResult) -> Option<f64>,
    ) -> Option<(f64, f64, f64)> {
        match (
            self.summary.get(&format!("{name}_median")),
            self.summary.get(&format!("{name}_min")),
            self.summary.get(&format!("{name}_max")),
        ) {
            (Some(&m), Some(&lo), Some(&hi)) => Some((m, lo, hi)),
            _ => {
                let v = get(&RunResult {
                    seed: 0,
                    loss_measured: self.loss_measured,
                    tcp: self.tcp.clone(),
                    udp: self.udp.clone(),
                })?;
                Some((v, v, v))
            }
        }
    }

    /// The figure `name` of [`SPREAD_FIGURES`] as (median, min, max).
    pub fn figure(&self, name: &str) -> Option<(f64, f64, f64)> {
        let get = SPREAD_FIGURES.iter().find(|(n, _)| *n == name)?.1;
        self.spread_of(name, get)
    }
}

/// The TCP file transfer of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpResult {
    /// Bytes that arrived intact (SHA-256 equal) over bytes sent, percent.
    pub delivered_percent: f64,
    pub delivered_bytes: u64,
    pub sha256_match: bool,
    /// From the client's SYN to the last frame of the connection, seconds.
    pub completion_s: f64,
    /// File bytes over completion time, Mbit/s.
    pub goodput_mbps: f64,
    /// Segments Wireshark's expert analysis flags as retransmissions (all kinds,
    /// as `flows` counts them). Its out-of-order heuristic, meant for a capture
    /// point mid-path, labels many of the sender's resends "out of order": the
    /// resends are `retransmissions_sender_view`.
    pub retransmissions: u64,
    /// Segments the client sent again (bytes it had sent before), counted at the
    /// capture point, which is the sender's own side of the bridge.
    #[serde(default)]
    pub retransmissions_sender_view: u64,
    /// Buffers the client's kernel retransmitted (`tcp_retransmit_skb` fires once
    /// per buffer; TCP always builds GSO buffers, and one resent buffer may leave
    /// as several segments, so this is at most `retransmissions_sender_view`);
    /// `None` without kernel tracing.
    #[serde(default)]
    pub retransmissions_kernel: Option<u64>,
    /// Segments the client's kernel resent, each segment of a resent buffer
    /// counted (`tcpi_total_retrans`, read from the socket when the transfer
    /// was over; no root needed): the same count as
    /// `retransmissions_sender_view` when the capture misses nothing.
    #[serde(default)]
    pub retransmissions_kernel_segments: Option<u64>,
    /// The client's frames carrying data (or a SYN or FIN) that the bridge
    /// dropped: each had to be resent, so `retransmissions_sender_view` = these
    /// + spurious resends.
    #[serde(default)]
    pub dropped_data_frames: u64,
    /// Resends of data whose first copy was not dropped (a timeout that fired
    /// too early, a tail-loss probe).
    #[serde(default)]
    pub spurious_retransmissions: u64,
    /// Retransmission timeouts: the kernel's entries into the Loss state.
    #[serde(default)]
    pub rto_count: Option<u64>,
    /// Time the sender spent in the Loss state (waiting on and recovering from
    /// timeouts), seconds.
    #[serde(default)]
    pub rto_time_s: Option<f64>,
    /// The client's smoothed RTT at the end (the kernel's `srtt`), or the
    /// handshake RTT from the packets, ms: the model's RTT.
    #[serde(default)]
    pub rtt_ms: Option<f64>,
    /// The largest data segment the client sent, bytes: the model's MSS.
    #[serde(default)]
    pub mss: Option<u64>,
    pub fast_retransmissions: u64,
    pub dup_acks: u64,
    /// Loss the bridge measured during the TCP run, percent.
    pub loss_measured: f64,
    /// The run folder (capture.pcapng, lab report), relative to the compare folder.
    pub run_dir: String,
    /// The capture, relative to the compare folder.
    pub capture: String,
    /// The first recovery by fast retransmission, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// What went wrong, when the transfer did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Frames (in the TCP capture) of one loss recovery: the segment the bridge
/// dropped, the first duplicate ACK it caused, and the fast retransmission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub flow: u64,
    pub lost_frame: u64,
    pub first_dup_ack_frame: u64,
    pub fast_retransmission_frame: u64,
    /// Duplicate ACKs between the loss and the fast retransmission.
    pub dup_acks: u64,
    /// The sequence number (relative) both the lost segment and its
    /// retransmission carry: the pair is matched on it.
    #[serde(default)]
    pub seq: u32,
}

/// The UDP stream of one level (probe datagrams, counted by the receiver).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UdpResult {
    /// Distinct datagrams received over datagrams sent, percent.
    pub delivered_percent: f64,
    pub sent: u64,
    /// Datagrams received, duplicates included.
    pub received: u64,
    /// iperf3's rule: highest sequence + 1 − (received − duplicates − out of order accounted).
    pub lost: u64,
    pub out_of_order: u64,
    pub duplicates: u64,
    /// RFC 3550 interarrival jitter, ms.
    pub jitter_ms: f64,
    pub latency_ms: Latency,
    /// A bounded sample of one-way latencies, ms (for the distribution chart).
    pub latency_samples_ms: Vec<f64>,
    pub goodput_mbps: f64,
    pub duration_s: f64,
    /// Loss the bridge measured during the UDP run, percent.
    pub loss_measured: f64,
    /// The capture, relative to the compare folder.
    pub capture: String,
    /// The first datagram the bridge dropped, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_gap: Option<Gap>,
}

/// One-way latency summary, ms.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
}

/// Where the first UDP loss is in the capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Probe sequence number of the first lost datagram.
    pub seq: u64,
    /// Its frame in the UDP capture (the client's view holds what it sent).
    pub frame: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_median_min_max() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(spread(&[4.0, 1.0]), Some((1.0, 1.0, 4.0)));
        assert_eq!(spread(&[]), None);
    }

    #[test]
    fn mathis_by_hand() {
        // MSS 1448 B, RTT 20 ms, p = 1%: 1448·8/0.02 · 1.2247/0.1 = 7.09 Mbit/s.
        let g = mathis_goodput_mbps(1448.0, 20.0, 0.01).unwrap();
        assert!((g - 7.094).abs() < 0.01, "{g}");
        assert_eq!(mathis_goodput_mbps(1448.0, 20.0, 0.0), None);
    }
}
