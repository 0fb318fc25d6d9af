//! What `protolab compare` measured, as written to report.json: one entry per
//! loss level with the TCP transfer's and the UDP stream's figures side by side.
//! Percentages are 0-100. The report renderer reads only this (plus the
//! captures it names), so a report can be redrawn from a saved report.json.

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
}

/// One loss level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelResult {
    /// `--loss` for this level, percent.
    pub loss_configured: f64,
    /// Frames the bridge dropped over frames it saw, both runs and directions, percent.
    pub loss_measured: f64,
    pub tcp: TcpResult,
    pub udp: UdpResult,
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
    /// Retransmitted segments (all kinds, as `flows` counts them).
    pub retransmissions: u64,
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
