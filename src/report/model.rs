//! The report's content as plain values: what `report.json` holds and what the
//! page templates lay out. Built by [`build_report`](super::build::build_report).

use std::net::SocketAddr;

use serde::Serialize;

use super::text::text;
use crate::analyze::{PerRole, TcpState};
use crate::chart::{Damage, FrameRecord, Lang};
use crate::chat::message::DataForm;
use crate::model::kernel::KernelComparison;
use crate::timestamp::Seconds;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub lang: &'static str,
    pub summary: Summary,
    /// Whether the capture has frames outside every flow (ARP, neighbour
    /// discovery) to draw as the link-layer ladder, first of all.
    pub link_layer: bool,
    /// The packet whose layers are drawn.
    pub layers: Option<LayersRef>,
    pub connections: Vec<Connection>,
    /// Flows beyond [`MAX_DETAILED_FLOWS`](super::MAX_DETAILED_FLOWS), counted but not detailed.
    pub omitted_connections: usize,
    pub anomalies: Vec<Anomaly>,
    pub anomalies_omitted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelComparison>,
    /// Beside the kernel comparison, in the report's language: that UDP streams have
    /// no connection state to compare (set when there is a comparison and UDP traffic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_note: Option<String>,
    pub udp: Vec<UdpRow>,
    pub notices: Vec<String>,
    /// A TCP lab sheet's questions, answered for the first TCP connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab_questions: Option<super::lab_questions::LabAnswers>,
}

/// What was run, on which file, and how to do it again.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The capture path as the user gave it.
    pub capture: String,
    /// The run id for a run folder, else the capture's file name (the report's title).
    pub capture_name: String,
    pub sha256: String,
    pub frames: u64,
    pub tcp_connections: usize,
    pub udp_streams: usize,
    pub other_frames: usize,
    pub first_ts: Seconds,
    pub duration: Seconds,
    /// Set when the capture ends in damage: the report covers the whole frames before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<Damage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunSummary>,
    /// Shell commands that reproduce the experiment and this report.
    pub reproduce: Vec<String>,
}

/// The run.json part of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub scenario: String,
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expectation_met: Option<bool>,
    pub mismatches: Vec<String>,
    pub notes: Vec<String>,
}

/// Which packet the layers chart shows.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LayersRef {
    pub flow: u64,
    pub frame: u64,
}

/// A stretch of a connection: handshake, data, or teardown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Phase {
    pub first_frame: u64,
    pub last_frame: u64,
    /// Frames of the flow in this stretch (as loaded; folded frames not counted).
    pub frames: u64,
    /// Frames carrying payload.
    pub segments: u64,
    /// Payload bytes.
    pub bytes: u64,
}

/// One transition, either endpoint, in frame order.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionRow {
    pub frame: u64,
    /// Seconds since the first frame of the capture.
    pub t: Seconds,
    pub endpoint: &'static str,
    pub from: TcpState,
    pub to: TcpState,
    pub why: String,
    pub why_code: String,
    /// The reason itself, to find the transition's arc on the state diagram.
    #[serde(skip)]
    pub reason: crate::analyze::Why,
}

/// A chart written to `charts/`.
#[derive(Debug, Clone, Serialize)]
pub struct ChartRef {
    pub kind: &'static str,
    pub title: String,
    pub svg: String,
    pub png: String,
    /// Why the chart was left out (a sequence graph of a connection that carried no
    /// data): then no file is written and the pages say this in the picture's place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_drawn: Option<String>,
}

/// One detailed connection (TCP) or stream (UDP).
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    pub flow: u64,
    pub proto: &'static str,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub conn_state: &'static str,
    pub history: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_states: Vec<TcpState>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_states: Vec<TcpState>,
    pub packets: PerRole,
    pub bytes: PerRole,
    pub handshake: Option<Phase>,
    pub data: Option<Phase>,
    pub teardown: Option<Phase>,
    pub transitions: Vec<TransitionRow>,
    /// Frames folded away by the loader (long data phases).
    pub folded: u64,
    pub charts: Vec<ChartRef>,
    /// Application messages (the chat's), in order: the sequence above the ladder.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MessageRow>,
    /// HTTP/2 only: the connection's streams, each with its frames and end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http2_streams: Vec<crate::dissect::http2::streams::Http2Stream>,
    /// TCP only: bytes in flight, retransmissions, windows, phases, RTT estimation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamics: Option<super::dynamics::DynamicsData>,
}

impl Connection {
    /// A client-server connection with nothing in it yet, for tests.
    #[cfg(test)]
    pub fn for_tests(flow: u64) -> Connection {
        Connection {
            flow,
            proto: "tcp",
            client: "127.0.0.1:40000".parse().unwrap(),
            server: "127.0.0.1:8889".parse().unwrap(),
            conn_state: "SF",
            history: String::new(),
            client_states: Vec::new(),
            server_states: Vec::new(),
            packets: PerRole {
                client: 0,
                server: 0,
            },
            bytes: PerRole {
                client: 0,
                server: 0,
            },
            handshake: None,
            data: None,
            teardown: None,
            transitions: Vec::new(),
            folded: 0,
            charts: Vec::new(),
            messages: Vec::new(),
            http2_streams: Vec::new(),
            dynamics: None,
        }
    }
}

/// One application message of a connection.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    pub frame: u64,
    /// Seconds since the first frame of the capture.
    pub t: Seconds,
    /// `client` or `server`: who sent it.
    pub sender: &'static str,
    #[serde(rename = "type")]
    pub kind: String,
    pub summary: String,
    /// How `data` was on the wire (absent when the message had none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_form: Option<DataForm>,
}

/// A frame with expert flags or a decoding error.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub flow: Option<u64>,
    pub frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<&'static str>,
    /// `inspect`'s analysis names (and `malformed`).
    pub flags: Vec<&'static str>,
    /// The flags and what they mean, in the report's language.
    pub text: String,
}

/// One UDP stream's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct UdpRow {
    pub flow: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub datagrams: PerRole,
    pub bytes: PerRole,
    pub answered: u64,
    pub first_frame: Option<u64>,
}

/// Payload bytes a frame carries (TCP or UDP).
pub fn payload_len(r: &FrameRecord) -> u64 {
    if let Some(t) = r.packet.tcp() {
        u64::from(t.len)
    } else if let Some(u) = r.packet.udp() {
        u64::from(u.payload_len())
    } else {
        0
    }
}

/// The layers chart's file names.
/// The ladder of the frames outside every flow (flow 0 to the chart module).
pub fn link_layer_chart(lang: Lang) -> ChartRef {
    ChartRef {
        kind: "ladder",
        title: text(lang).link_layer.to_string(),
        svg: "charts/link-layer.svg".to_string(),
        png: "charts/link-layer.png".to_string(),
        not_drawn: None,
    }
}

pub fn layers_chart(lang: Lang) -> ChartRef {
    ChartRef {
        kind: "layers",
        title: text(lang).layers.to_string(),
        svg: "charts/layers.svg".to_string(),
        png: "charts/layers.png".to_string(),
        not_drawn: None,
    }
}
