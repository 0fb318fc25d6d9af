//! What a report is made from: the capture (decoded and analysed for the charts),
//! its SHA-256, and — for a run folder — what was run and what the kernel said,
//! and the chat messages of chat connections. Plain values: the file edge
//! ([`crate::files::report_input`]) reads them; the parsers of run.json's
//! neighbours (kernel.json, bridge.json) are here, text in, values out.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::analyze::TcpState;
use crate::chart::CaptureData;
use crate::dissect::chat::ChatEvent;
use crate::dissect::http2::streams::Http2Stream;
use crate::model::kernel::{ConnectionComparison, EndpointComparison, KernelComparison, Row};
use crate::model::tcp_dynamics::KernelTcp;

/// What `protolab run` recorded in run.json that the report shows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    pub run_id: Option<String>,
    pub scenario: String,
    /// The command line that reproduces the run.
    pub command: String,
    pub notes: Vec<String>,
    pub expectation_met: Option<bool>,
    pub mismatches: Vec<String>,
    /// The capture path as run.json names it.
    pub capture: Option<String>,
}

/// Everything a report is made from.
#[derive(Debug)]
pub struct ReportInput {
    /// The capture as the user named it (shown in the report).
    pub capture_path: PathBuf,
    /// The run folder the report was made from, as the user named it; `None` for a
    /// capture file. A run's capture may live elsewhere (`captures/<run id>.pcap`).
    pub run_dir: Option<PathBuf>,
    /// Lower-case hex SHA-256 of the capture file.
    pub capture_sha256: String,
    pub data: CaptureData,
    pub run: Option<RunInfo>,
    pub kernel: Option<KernelComparison>,
    /// The kernel's congestion control during the run (kernel.json's `tcp_probe`,
    /// `cong_state`, `kernel_retransmissions`, `tcp_trace`); `None` without kernel.json.
    pub kernel_tcp: Option<KernelTcp>,
    /// Chat messages of connections on the chat port, in capture order (empty when none).
    pub chat: Vec<ChatEvent>,
    /// Messages of other application protocols (HTTP), in capture order, in
    /// the same shape: the message sequence lists them with the chat's, the
    /// chat's notes are not about them.
    pub app: Vec<ChatEvent>,
    /// The HTTP/2 streams of the capture's connections, each with its frames.
    pub http2_streams: Vec<Http2Stream>,
    /// Frames of the capture the lab's bridge dropped (a `--netns` run's
    /// bridge.json), sorted; empty otherwise.
    pub dropped_frames: Vec<u64>,
}

/// The capture frames bridge.json notes as dropped, sorted.
pub fn parse_dropped_frames(text: &str) -> Result<Vec<u64>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Note {
        frame: Option<u64>,
        #[serde(default)]
        actions: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Bridge {
        #[serde(default)]
        notes: Vec<Note>,
    }
    let bridge: Bridge = serde_json::from_str(text)?;
    let mut frames: Vec<u64> = bridge
        .notes
        .into_iter()
        .filter(|n| n.actions.iter().any(|a| a == "dropped"))
        .filter_map(|n| n.frame)
        .collect();
    frames.sort_unstable();
    Ok(frames)
}

/// Most chat messages the report lists.
pub const MAX_CHAT_EVENTS: usize = 2000;

// kernel.json's "comparison", read back. `KernelComparison` is written by the lab
// (Serialize only, with `&'static str` endpoint names), so it is mirrored here.

#[derive(Deserialize)]
struct KernelFile {
    comparison: Option<ComparisonIn>,
}

#[derive(Deserialize)]
struct ComparisonIn {
    #[serde(default)]
    source: String,
    #[serde(default)]
    connections: Vec<ConnectionIn>,
    #[serde(default)]
    agree: bool,
    #[serde(default)]
    unavailable: Option<String>,
}

#[derive(Deserialize)]
struct ConnectionIn {
    flow: u64,
    client: EndpointIn,
    server: EndpointIn,
}

#[derive(Deserialize)]
struct EndpointIn {
    endpoint: String,
    local: SocketAddr,
    rows: Vec<RowIn>,
    agree: bool,
}

#[derive(Deserialize)]
struct RowIn {
    inferred: Option<String>,
    frame: Option<u64>,
    kernel: Option<String>,
    offset_us: Option<i64>,
    agree: bool,
    #[serde(default)]
    kernel_only: bool,
    #[serde(default)]
    kernel_ns: Option<u64>,
}

fn state(name: Option<String>) -> Option<TcpState> {
    name.as_deref().and_then(TcpState::from_name)
}

fn endpoint(e: EndpointIn) -> EndpointComparison {
    EndpointComparison {
        endpoint: if e.endpoint == "server" {
            "server"
        } else {
            "client"
        },
        local: e.local,
        rows: e
            .rows
            .into_iter()
            .map(|r| Row {
                inferred: state(r.inferred),
                frame: r.frame,
                kernel: state(r.kernel),
                offset_us: r.offset_us,
                agree: r.agree,
                kernel_only: r.kernel_only,
                kernel_ns: r.kernel_ns,
            })
            .collect(),
        agree: e.agree,
    }
}

/// The congestion-control sections of a run's kernel.json (empty, with
/// `tcp_trace.traced` false, for a kernel.json written before they existed).
pub fn parse_kernel_tcp(text: &str) -> Result<KernelTcp, serde_json::Error> {
    serde_json::from_str(text)
}

/// The `comparison` object of a run's kernel.json, if it has one.
pub fn parse_kernel_json(text: &str) -> Result<Option<KernelComparison>, serde_json::Error> {
    let file: KernelFile = serde_json::from_str(text)?;
    Ok(file.comparison.map(|c| KernelComparison {
        source: c.source,
        connections: c
            .connections
            .into_iter()
            .map(|c| ConnectionComparison {
                flow: c.flow,
                client: endpoint(c.client),
                server: endpoint(c.server),
            })
            .collect(),
        agree: c.agree,
        unavailable: c.unavailable,
    }))
}

#[cfg(test)]
mod dropped_tests {
    use super::parse_dropped_frames;

    #[test]
    fn only_dropped_frames_of_the_capture_sorted() {
        let text = r#"{"seed": 7, "notes": [
            {"frame": 40, "link_frame": 41, "ts_ns": 1, "direction": "client_to_server", "index": 20, "actions": ["dropped"]},
            {"frame": null, "link_frame": 12, "ts_ns": 1, "direction": "server_to_client", "index": 5, "actions": ["dropped"]},
            {"frame": 9, "link_frame": 9, "ts_ns": 1, "direction": "client_to_server", "index": 4, "actions": ["dropped"]},
            {"frame": 30, "link_frame": 30, "ts_ns": 1, "direction": "client_to_server", "index": 15, "actions": ["duplicated"]}
        ]}"#;
        assert_eq!(parse_dropped_frames(text).unwrap(), vec![9, 40]);
        assert!(parse_dropped_frames("{").is_err());
    }
}
