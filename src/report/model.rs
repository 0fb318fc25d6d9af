//! The report's content as plain values: what `report.json` holds and what the
//! Markdown and HTML writers lay out. Pure: built from a [`ReportInput`] only.

use std::net::SocketAddr;

use serde::Serialize;

use super::input::ReportInput;
use super::text::{self, text};
use super::{notices, MAX_DETAILED_FLOWS};
use crate::analyze::{FlowSummary, PerRole, TcpState, Why};
use crate::chart::{Damage, FrameRecord, Lang};
use crate::decode::TcpFlags;
use crate::lab::kernel_compare::KernelComparison;
use crate::timestamp::Seconds;

/// At most this many flagged frames are listed under anomalies.
pub const MAX_ANOMALIES: usize = 200;

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
    /// Flows beyond [`MAX_DETAILED_FLOWS`], counted but not detailed.
    pub omitted_connections: usize,
    pub anomalies: Vec<Anomaly>,
    pub anomalies_omitted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelComparison>,
    pub udp: Vec<UdpRow>,
    pub notices: Vec<String>,
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
}

/// The chat messages of flow `flow`, for the sequence above its ladder.
fn message_rows(input: &ReportInput, flow: u64, first_ts: u64) -> Vec<MessageRow> {
    input
        .chat
        .iter()
        .filter(|e| e.flow == Some(flow))
        .map(|e| MessageRow {
            frame: e.frame,
            t: Seconds(e.ts_ns.saturating_sub(first_ts)),
            sender: if e.from_server { "server" } else { "client" },
            kind: e.message.kind.clone().unwrap_or_else(|| "?".into()),
            summary: e.message.summary.clone(),
        })
        .collect()
}

/// A chart written to `charts/`.
#[derive(Debug, Clone, Serialize)]
pub struct ChartRef {
    pub kind: &'static str,
    pub title: String,
    pub svg: String,
    pub png: String,
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
}

/// A frame with expert flags or a decoding error.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub flow: Option<u64>,
    pub frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<&'static str>,
    /// DESIGN §4 names (and `malformed`).
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

fn phase<'a>(frames: impl Iterator<Item = &'a FrameRecord>) -> Option<Phase> {
    let mut p: Option<Phase> = None;
    for r in frames {
        let len = payload_len(r);
        let e = p.get_or_insert(Phase {
            first_frame: r.packet.frame,
            last_frame: r.packet.frame,
            frames: 0,
            segments: 0,
            bytes: 0,
        });
        e.last_frame = r.packet.frame;
        e.frames += 1;
        if len > 0 {
            e.segments += 1;
            e.bytes += len;
        }
    }
    p
}

/// Handshake, data and teardown of one flow, from its frames and transitions.
pub fn phases(
    flow: &FlowSummary,
    frames: &[FrameRecord],
) -> (Option<Phase>, Option<Phase>, Option<Phase>) {
    let Some(tcp) = &flow.tcp else {
        return (None, phase(frames.iter()), None);
    };
    // The handshake ends when the server (or, unseen, the client) is ESTABLISHED.
    let opened = |ts: &[crate::analyze::TransitionRecord], why: Why| {
        ts.iter()
            .find(|t| t.why == why && t.to == TcpState::Established)
            .map(|t| t.frame)
    };
    let saw_syn = frames
        .first()
        .and_then(|r| r.packet.tcp())
        .is_some_and(|t| t.flags.syn());
    let hs_end = if saw_syn {
        opened(&tcp.server_transitions, Why::AckOfSyn)
            .or_else(|| opened(&tcp.client_transitions, Why::ReceivedSynAck))
            .or_else(|| {
                // Refused or never answered: the handshake is every SYN-bearing frame.
                frames
                    .iter()
                    .take_while(|r| r.packet.tcp().is_some_and(|t| t.flags.syn()))
                    .last()
                    .map(|r| r.packet.frame)
            })
    } else {
        None
    };
    let close_start = frames
        .iter()
        .find(|r| {
            r.packet
                .tcp()
                .is_some_and(|t| t.flags.has(TcpFlags::FIN | TcpFlags::RST))
        })
        .map(|r| r.packet.frame);
    let handshake = hs_end.and_then(|end| phase(frames.iter().filter(|r| r.packet.frame <= end)));
    let after_hs = |r: &&FrameRecord| hs_end.is_none_or(|end| r.packet.frame > end);
    let before_close = |r: &&FrameRecord| close_start.is_none_or(|c| r.packet.frame < c);
    let data = phase(frames.iter().filter(after_hs).filter(before_close));
    let teardown = close_start.and_then(|c| {
        phase(
            frames
                .iter()
                .filter(|r| r.packet.frame >= c)
                .filter(after_hs),
        )
    });
    (handshake, data, teardown)
}

fn transition_rows(
    flow: &FlowSummary,
    frames: &[FrameRecord],
    first_ts: u64,
    lang: Lang,
) -> Vec<TransitionRow> {
    let Some(tcp) = &flow.tcp else {
        return Vec::new();
    };
    let mut rows: Vec<TransitionRow> = [
        ("client", &tcp.client_transitions),
        ("server", &tcp.server_transitions),
    ]
    .into_iter()
    .flat_map(|(endpoint, ts)| {
        ts.iter().map(move |t| TransitionRow {
            frame: t.frame,
            t: Seconds(t.ts.0.saturating_sub(first_ts)),
            endpoint,
            from: t.from,
            to: t.to,
            why: text::why(t.why, lang).to_string(),
            why_code: text::why_code(t.why),
        })
    })
    .collect();
    // Frame order; within a frame, the sender's change before the receiver's: the
    // segment leaves before it arrives.
    let sender = |frame: u64| {
        frames
            .binary_search_by_key(&frame, |r| r.packet.frame)
            .ok()
            .and_then(|i| frames[i].analysis.sender)
            .map(|s| s.name())
    };
    rows.sort_by_key(|r| (r.frame, sender(r.frame) != Some(r.endpoint)));
    rows
}

/// The charts drawn for one flow, with their file names under `charts/`.
fn chart_refs(flow: &FlowSummary, lang: Lang) -> Vec<ChartRef> {
    let t = text(lang);
    let mut kinds = vec![("ladder", t.ladder)];
    if flow.tcp.is_some() {
        kinds.push(("states", t.state_timeline));
        kinds.push(("seq", t.seq_graph));
    }
    kinds
        .into_iter()
        .map(|(kind, title)| ChartRef {
            kind,
            title: title.to_string(),
            svg: format!("charts/flow{}-{kind}.svg", flow.flow),
            png: format!("charts/flow{}-{kind}.png", flow.flow),
        })
        .collect()
}

/// The layers chart's file names.
/// The ladder of the frames outside every flow (flow 0 to the chart module).
pub fn link_layer_chart(lang: Lang) -> ChartRef {
    ChartRef {
        kind: "ladder",
        title: text(lang).link_layer.to_string(),
        svg: "charts/link-layer.svg".to_string(),
        png: "charts/link-layer.png".to_string(),
    }
}

pub fn layers_chart(lang: Lang) -> ChartRef {
    ChartRef {
        kind: "layers",
        title: text(lang).layers.to_string(),
        svg: "charts/layers.svg".to_string(),
        png: "charts/layers.png".to_string(),
    }
}

/// The packet to draw layer by layer: the first one carrying data (the most layers),
/// else the first packet of the first flow, else the first frame at all.
fn layers_ref(input: &ReportInput) -> Option<LayersRef> {
    let data = &input.data;
    for (flow, frames) in &data.frames {
        if let Some(r) = frames.iter().find(|r| payload_len(r) > 0) {
            return Some(LayersRef {
                flow: *flow,
                frame: r.packet.frame,
            });
        }
    }
    if let Some((flow, frames)) = data.frames.iter().next() {
        if let Some(r) = frames.first() {
            return Some(LayersRef {
                flow: *flow,
                frame: r.packet.frame,
            });
        }
    }
    data.other.first().map(|r| LayersRef {
        flow: 0,
        frame: r.packet.frame,
    })
}

fn anomalies(input: &ReportInput, flows: &[&FlowSummary], lang: Lang) -> (Vec<Anomaly>, usize) {
    let mut out = Vec::new();
    let mut omitted = 0;
    let records = flows
        .iter()
        .filter_map(|f| input.data.frames.get(&f.flow))
        .flatten()
        .chain(input.data.other.iter());
    let mut all: Vec<&FrameRecord> = records
        .filter(|r| !r.analysis.flags.is_empty() || r.packet.error.is_some())
        .collect();
    all.sort_by_key(|r| r.packet.frame);
    for r in all {
        if out.len() >= MAX_ANOMALIES {
            omitted += 1;
            continue;
        }
        let mut flags: Vec<&'static str> = r.analysis.flags.names().collect();
        if r.packet.error.is_some() {
            flags.push("malformed");
        }
        let mut parts: Vec<String> = flags
            .iter()
            .map(|f| {
                let (name, meaning) = text::flag(f, lang);
                format!("{name}: {meaning}")
            })
            .collect();
        if r.analysis.dup_ack_count > 0 {
            parts[0].push_str(&format!(" (#{})", r.analysis.dup_ack_count));
        }
        if let Some(e) = &r.packet.error {
            parts.push(e.to_string());
        }
        out.push(Anomaly {
            flow: r.analysis.flow,
            frame: r.packet.frame,
            sender: r.analysis.sender.map(|s| s.name()),
            flags,
            text: parts.join("; "),
        });
    }
    (out, omitted)
}

/// Builds the report's content. Pure.
pub fn build_report(input: &ReportInput, lang: Lang) -> Report {
    let data = &input.data;
    let t = text(lang);
    let first_ts = data.first_ts_ns;
    let last_ts = data
        .flows
        .iter()
        .map(|f| f.last_ts.0)
        .chain(data.other.iter().map(|r| r.packet.ts_ns))
        .max()
        .unwrap_or(first_ts);
    let capture = input.capture_path.display().to_string();
    // A run is named by its id (its capture is always capture.pcap), a file by its name.
    let capture_name = input
        .run
        .as_ref()
        .and_then(|r| r.run_id.clone())
        .or_else(|| {
            input
                .capture_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| capture.clone());
    let mut reproduce = Vec::new();
    if let Some(run) = &input.run {
        if !run.command.is_empty() {
            reproduce.push(run.command.clone());
        }
    }
    // A run folder is reported as a whole (its run.json and kernel.json too); its
    // capture may live outside it, so the folder is named, not the capture's parent.
    let report_of = match &input.run_dir {
        Some(dir) => dir.display().to_string(),
        None => capture.clone(),
    };
    reproduce.push(format!("protolab report {report_of} --lang {}", t.code));
    reproduce.push(format!("sha256sum {capture}"));
    let summary = Summary {
        capture,
        capture_name,
        sha256: input.capture_sha256.clone(),
        frames: data.total_frames,
        tcp_connections: data.flows.iter().filter(|f| f.proto == "tcp").count(),
        udp_streams: data.flows.iter().filter(|f| f.proto == "udp").count(),
        other_frames: data.other.len(),
        first_ts: Seconds(first_ts),
        duration: Seconds(last_ts.saturating_sub(first_ts)),
        damage: data.damage.clone(),
        run: input.run.as_ref().map(|r| RunSummary {
            run_id: r.run_id.clone(),
            scenario: r.scenario.clone(),
            command: r.command.clone(),
            expectation_met: r.expectation_met,
            mismatches: r.mismatches.clone(),
            notes: r.notes.clone(),
        }),
        reproduce,
    };
    let detailed: Vec<&FlowSummary> = data.flows.iter().take(MAX_DETAILED_FLOWS).collect();
    let empty = Vec::new();
    let connections: Vec<Connection> = detailed
        .iter()
        .map(|f| {
            let frames = data.frames.get(&f.flow).unwrap_or(&empty);
            let (handshake, data_phase, teardown) = phases(f, frames);
            Connection {
                flow: f.flow,
                proto: f.proto,
                client: f.client,
                server: f.server,
                conn_state: f.conn_state,
                history: f.history.clone(),
                client_states: f
                    .tcp
                    .as_ref()
                    .map(|t| t.client_states.clone())
                    .unwrap_or_default(),
                server_states: f
                    .tcp
                    .as_ref()
                    .map(|t| t.server_states.clone())
                    .unwrap_or_default(),
                packets: f.packets,
                bytes: f.bytes,
                handshake,
                data: data_phase,
                teardown,
                transitions: transition_rows(f, frames, first_ts, lang),
                folded: data.folded.get(&f.flow).copied().unwrap_or(0),
                charts: chart_refs(f, lang),
                messages: message_rows(input, f.flow, first_ts),
            }
        })
        .collect();
    let (anomalies, anomalies_omitted) = anomalies(input, &detailed, lang);
    let udp = data
        .flows
        .iter()
        .filter(|f| f.proto == "udp")
        .take(MAX_DETAILED_FLOWS)
        .map(|f| UdpRow {
            flow: f.flow,
            client: f.client,
            server: f.server,
            datagrams: f.packets,
            bytes: f.bytes,
            answered: f.udp.map(|u| u.answered).unwrap_or(0),
            first_frame: data
                .frames
                .get(&f.flow)
                .and_then(|v| v.first())
                .map(|r| r.packet.frame),
        })
        .collect();
    let mut report = Report {
        lang: t.code,
        summary,
        link_layer: input.data.other.iter().any(|r| r.packet.arp.is_some()),
        layers: layers_ref(input),
        connections,
        omitted_connections: data.flows.len().saturating_sub(MAX_DETAILED_FLOWS),
        anomalies,
        anomalies_omitted,
        kernel: input.kernel.clone(),
        udp,
        notices: Vec::new(),
    };
    report.notices = notices::notices(input, &report, lang);
    report
}
