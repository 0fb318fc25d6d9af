//! Builds the [`Report`] from a [`ReportInput`]: the connections' phases and
//! transitions, the anomalies, the packet the layers chart shows, and then the
//! "what to notice" list made from all of it. Pure: values in, values out.

use super::input::ReportInput;
use super::model::{
    payload_len, Anomaly, ChartRef, Connection, LayersRef, MessageRow, Phase, Report, RunSummary,
    Summary, TransitionRow, UdpRow,
};
use super::text::{self, text};
use super::{notices, MAX_DETAILED_FLOWS};
use crate::analyze::{FlowSummary, TcpState, Why};
use crate::chart::{FrameRecord, Lang};
use crate::decode::TcpFlags;
use crate::timestamp::Seconds;

/// At most this many flagged frames are listed under anomalies.
pub const MAX_ANOMALIES: usize = 200;

/// The chat and HTTP messages of flow `flow`, for the sequence above its ladder.
fn message_rows(input: &ReportInput, flow: u64, first_ts: u64) -> Vec<MessageRow> {
    input
        .chat
        .iter()
        .chain(&input.app)
        .filter(|e| e.flow == Some(flow))
        .map(|e| MessageRow {
            frame: e.frame,
            t: Seconds(e.ts_ns.saturating_sub(first_ts)),
            sender: if e.from_server { "server" } else { "client" },
            kind: e.message.kind.clone().unwrap_or_else(|| "?".into()),
            summary: e.message.summary.clone(),
            data_form: e.message.data_form,
        })
        .collect()
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
            reason: t.why,
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

/// The charts drawn for one flow, with their file names under `charts/`. A
/// connection that carried no data gets no sequence graph, and a note why.
fn chart_refs(flow: &FlowSummary, frames: &[FrameRecord], lang: Lang) -> Vec<ChartRef> {
    let t = text(lang);
    let mut kinds = vec![("ladder", t.ladder, None)];
    if flow.tcp.is_some() {
        kinds.push(("states", t.state_timeline, None));
        kinds.push(("diagram", t.state_diagram, None));
        let no_data = crate::chart::data_directions(flow, frames).is_empty();
        kinds.push(("seq", t.seq_graph, no_data.then_some(t.seq_no_data)));
        // Without data there is no flight and no RTT sample: the seq graph's note says why.
        if !no_data {
            kinds.push(("window", t.window_chart, None));
            kinds.push(("rtt", t.rtt_chart, None));
        }
    }
    kinds
        .into_iter()
        .map(|(kind, title, not_drawn)| ChartRef {
            kind,
            title: title.to_string(),
            svg: format!("charts/flow{}-{kind}.svg", flow.flow),
            png: format!("charts/flow{}-{kind}.png", flow.flow),
            not_drawn: not_drawn.map(str::to_string),
        })
        .collect()
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
        .filter(|r| {
            !r.analysis.flags.is_empty()
                || r.packet.error.is_some()
                || !r.analysis.anomalies.is_empty()
        })
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
        // Segments impossible in their endpoint's state, by `inspect`'s codes.
        for n in &r.analysis.anomalies {
            flags.push(n.what.code());
            let who = text::role(n.endpoint.name(), lang);
            parts.push(format!("{who}: {}", text::anomaly(n.what, lang)));
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

/// The commands that reproduce the run (if any), this report and the capture's hash.
fn reproduce(input: &ReportInput, capture: &str, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(run) = &input.run {
        if !run.command.is_empty() {
            out.push(run.command.clone());
        }
    }
    // A run folder is reported as a whole (its run.json and kernel.json too); its
    // capture may live outside it, so the folder is named, not the capture's parent.
    let report_of = match &input.run_dir {
        Some(dir) => dir.display().to_string(),
        None => capture.to_string(),
    };
    out.push(format!(
        "protolab report {report_of} --lang {}",
        text(lang).code
    ));
    out.push(format!("sha256sum {capture}"));
    out
}

/// What was run, on which file, and how to do it again.
fn summary(input: &ReportInput, lang: Lang) -> Summary {
    let data = &input.data;
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
    Summary {
        reproduce: reproduce(input, &capture, lang),
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
    }
}

/// One detailed connection (or UDP stream) of the report.
fn connection(input: &ReportInput, f: &FlowSummary, lang: Lang) -> Connection {
    let data = &input.data;
    let first_ts = data.first_ts_ns;
    let frames = data.frames.get(&f.flow).map(Vec::as_slice).unwrap_or(&[]);
    let (handshake, data_phase, teardown) = phases(f, frames);
    let states = |pick: fn(&crate::analyze::TcpSummary) -> &Vec<TcpState>| {
        f.tcp.as_ref().map(|t| pick(t).clone()).unwrap_or_default()
    };
    Connection {
        flow: f.flow,
        proto: f.proto,
        client: f.client,
        server: f.server,
        conn_state: f.conn_state,
        history: f.history.clone(),
        client_states: states(|t| &t.client_states),
        server_states: states(|t| &t.server_states),
        packets: f.packets,
        bytes: f.bytes,
        handshake,
        data: data_phase,
        teardown,
        transitions: transition_rows(f, frames, first_ts, lang),
        folded: data.folded.get(&f.flow).copied().unwrap_or(0),
        charts: chart_refs(f, frames, lang),
        messages: message_rows(input, f.flow, first_ts),
        http2_streams: input
            .http2_streams
            .iter()
            .filter(|s| s.flow == Some(f.flow))
            .cloned()
            .collect(),
        dynamics: super::dynamics::DynamicsData::of(f).map(|d| {
            let frames = data.frames.get(&f.flow).map_or(&[][..], Vec::as_slice);
            d.with_kernel(input.kernel_tcp.as_ref(), f, frames)
        }),
    }
}

/// The UDP streams' numbers (as many as are detailed).
fn udp_rows(input: &ReportInput) -> Vec<UdpRow> {
    let data = &input.data;
    data.flows
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
        .collect()
}

/// Builds the report's content. Pure.
pub fn build_report(input: &ReportInput, lang: Lang) -> Report {
    let data = &input.data;
    let detailed: Vec<&FlowSummary> = data.flows.iter().take(MAX_DETAILED_FLOWS).collect();
    let connections = detailed
        .iter()
        .map(|f| connection(input, f, lang))
        .collect();
    let (anomalies, anomalies_omitted) = anomalies(input, &detailed, lang);
    let mut report = Report {
        lang: text(lang).code,
        summary: summary(input, lang),
        link_layer: data.other.iter().any(|r| r.packet.arp.is_some()),
        layers: layers_ref(input),
        connections,
        omitted_connections: data.flows.len().saturating_sub(MAX_DETAILED_FLOWS),
        anomalies,
        anomalies_omitted,
        kernel: input.kernel.clone(),
        // A UDP run's comparison is empty, and would look like a kernel that said
        // nothing: say why there is nothing to say.
        kernel_note: (input.kernel.is_some() && data.flows.iter().any(|f| f.proto == "udp"))
            .then(|| text(lang).kernel_udp.to_string()),
        udp: udp_rows(input),
        notices: Vec::new(),
        lab_questions: super::lab_questions::answers(input),
    };
    report.notices = notices::notices(input, &report, lang);
    report
}
