//! The state-transition diagram chart (`chart --kind diagram`): drawn for every
//! committed capture in both languages and both formats, with every inferred
//! transition on the picture (on its arc, or as a red anomaly arrow); golden SVGs
//! of an ordinary close and of a simultaneous close; the command line.
//! Set `PROTOLAB_BLESS=1` to rewrite the golden files after an intended change.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use protolab::analyze::{TcpState, TransitionRecord, Why};
use protolab::chart::diagram_layout::Layout;
use protolab::chart::diagram_path::Walk;
use protolab::chart::{
    render_png, render_svg, CaptureData, ChartError, ChartKind, ChartOptions, Lang,
};
use protolab::files::load_capture;

/// The colour of anomalies (and retransmissions) in every chart.
const RED: &str = "#D32F2F";
/// At most this many TCP flows of one capture are drawn (the rest are alike).
const FLOWS_PER_CAPTURE: usize = 6;

fn captures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    all.sort();
    assert!(all.len() > 20, "the fixtures are there: {all:?}");
    all
}

/// What `chart --kind diagram` and the report ask for: the default width, and as
/// tall as the figure needs.
fn opts(lang: Lang) -> ChartOptions<'static> {
    ChartOptions {
        lang,
        height: ChartKind::Diagram.default_height(),
        ..ChartOptions::default()
    }
}

fn diagram_svg(data: &CaptureData, flow: u64, lang: Lang) -> String {
    render_svg(ChartKind::Diagram, data, flow, &opts(lang))
        .unwrap_or_else(|e| panic!("flow {flow} {lang:?}: {e}"))
}

/// Every text of an SVG, trimmed.
fn texts(svg: &str) -> Vec<&str> {
    svg.split('>')
        .filter_map(|s| s.split('<').next())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The frame numbers written on the frame badges: texts like `#5` or `#5, #9`.
fn badge_frames(svg: &str) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for piece in texts(svg) {
        if !piece.starts_with('#') {
            continue;
        }
        for n in piece.split(", ") {
            if let Some(Ok(n)) = n.strip_prefix('#').map(str::parse) {
                out.insert(n);
            }
        }
    }
    out
}

fn transitions(data: &CaptureData, flow: u64) -> Vec<TransitionRecord> {
    let tcp = data.flow(flow).unwrap().tcp.as_ref().unwrap();
    tcp.client_transitions
        .iter()
        .chain(&tcp.server_transitions)
        .copied()
        .collect()
}

#[test]
fn every_capture_draws_its_diagram_with_every_transition_on_it() {
    let layout = Layout::standard();
    let mut drawn = 0;
    let mut with_anomalies = Vec::new();
    for path in captures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // A file that cannot be read at all (cut in its header) has nothing to draw.
        let Ok(data) = load_capture(&path) else {
            continue;
        };
        let tcp: Vec<u64> = data
            .flows
            .iter()
            .filter(|f| f.tcp.is_some())
            .map(|f| f.flow)
            .take(FLOWS_PER_CAPTURE)
            .collect();
        if tcp.is_empty() {
            // No connection: the chart says why instead of drawing an empty figure.
            if let Some(flow) = data.default_flow() {
                let err = render_svg(ChartKind::Diagram, &data, flow, &opts(Lang::En));
                assert!(
                    matches!(err, Err(ChartError::NotTcp { .. })),
                    "{name}: {err:?}"
                );
            }
            continue;
        }
        for &flow in &tcp {
            let s = diagram_svg(&data, flow, Lang::En);
            let zh = diagram_svg(&data, flow, Lang::Zh);
            assert!(zh.contains("状态转换图"), "{name} flow {flow}");
            // Every transition is on the picture: its frame is on a badge.
            let badges = badge_frames(&s);
            for t in transitions(&data, flow) {
                assert!(
                    badges.contains(&t.frame),
                    "{name} flow {flow}: {t:?} not drawn (badges {badges:?})"
                );
            }
            // Moves off the standard diagram are said to be so, in red.
            let s_tcp = data.flow(flow).unwrap().tcp.as_ref().unwrap();
            let odd = [
                Walk::new(
                    &layout,
                    protolab::analyze::Role::Client,
                    &s_tcp.client_states,
                    &s_tcp.client_transitions,
                ),
                Walk::new(
                    &layout,
                    protolab::analyze::Role::Server,
                    &s_tcp.server_states,
                    &s_tcp.server_transitions,
                ),
            ]
            .iter()
            .any(|w| !w.anomalies().is_empty());
            assert_eq!(
                s.contains("anomaly: a move the standard diagram has no arc for"),
                odd,
                "{name} flow {flow}"
            );
            if odd {
                with_anomalies.push(format!("{name} flow {flow}"));
            }
            drawn += 1;
        }
        // Half size: the same drawing at another scale, and quicker to encode.
        let flow = tcp[0];
        for lang in Lang::ALL {
            let small = ChartOptions {
                width: 640,
                ..opts(lang)
            };
            let png = render_png(ChartKind::Diagram, &data, flow, &small)
                .unwrap_or_else(|e| panic!("{name} png {lang:?}: {e}"));
            assert!(png.starts_with(b"\x89PNG"), "{name}");
        }
    }
    assert!(drawn >= 20, "drew {drawn} diagrams");
    eprintln!("diagrams drawn: {drawn}; with moves off the diagram: {with_anomalies:?}");
}

#[test]
fn a_move_off_the_standard_diagram_is_a_red_arrow_with_a_note() {
    let mut data = load_capture(&common::capture("handshake_data_client_close.pcap")).unwrap();
    let flow = data.default_flow().unwrap();
    let before = diagram_svg(&data, flow, Lang::En);
    assert!(!before.contains("anomaly:"));
    let red_before = before.matches(RED).count();
    // ESTABLISHED → LISTEN is no arc of the diagram, whatever the reason.
    let tcp = data.flows[0].tcp.as_mut().unwrap();
    tcp.server_transitions.push(TransitionRecord {
        frame: 99,
        ts: tcp.server_transitions.last().unwrap().ts,
        from: TcpState::Established,
        to: TcpState::Listen,
        why: Why::ReceivedSyn,
    });
    let s = diagram_svg(&data, flow, Lang::En);
    assert!(s.contains("anomaly: a move the standard diagram has no arc for"));
    assert!(badge_frames(&s).contains(&99), "its frame is on it");
    assert!(
        s.matches(RED).count() >= red_before + 4,
        "line, head, badge and legend in red"
    );
    let zh = diagram_svg(&data, flow, Lang::Zh);
    assert!(zh.contains("异常：标准状态图中没有的转换"));
}

#[test]
fn the_figure_draws_every_arc_label_the_text_only_ones_dashed_and_the_linux_never_ones_marked() {
    let data = load_capture(&common::capture("simultaneous_close.pcap")).unwrap();
    let flow = data.default_flow().unwrap();
    let s = diagram_svg(&data, flow, Lang::En);
    for label in [
        "passive open",
        "active open / snd SYN",
        "rcv SYN / snd SYN,ACK",
        "rcv SYN,ACK / snd ACK",
        "rcv ACK of SYN",
        "close / snd FIN",
        "rcv FIN / snd ACK",
        "rcv FIN,ACK / snd ACK",
        "rcv ACK of FIN",
        "timeout = 2MSL",
        "timeout (SYN retries run out)",
        "send / snd SYN †",
        "rcv RST (after a passive open) †",
        "stated in the RFC",
        "† Linux never takes this arc",
    ] {
        assert!(s.contains(label), "no {label:?}");
    }
    for state in TcpState::ALL {
        assert!(texts(&s).contains(&state.name()), "no box {state}");
    }
    // Both ends went through CLOSING: FIN_WAIT_1 → CLOSING → TIME_WAIT, frames on each.
    let badges = badge_frames(&s);
    for t in transitions(&data, flow) {
        assert!(badges.contains(&t.frame), "{t:?}");
    }
    let zh = diagram_svg(&data, flow, Lang::Zh);
    for label in [
        "收 SYN / 发 SYN,ACK",
        "超时 = 2MSL",
        "同时关闭",
        "已建立连接",
        "客户端",
    ] {
        assert!(zh.contains(label), "no {label:?} in Chinese");
    }
}

#[test]
fn golden_diagrams_of_an_ordinary_and_a_simultaneous_close() {
    for name in ["handshake_data_client_close", "simultaneous_close"] {
        let data = load_capture(&common::capture(&format!("{name}.pcap"))).unwrap();
        let flow = data.default_flow().unwrap();
        let s = diagram_svg(&data, flow, Lang::En);
        common::assert_golden("charts", &format!("diagram-{name}.svg"), &s);
    }
}

#[test]
fn cli_draws_the_diagram_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("d.svg");
    let png = dir.path().join("d.png");
    for (out, lang) in [(&svg, "en"), (&png, "zh")] {
        let o = common::protolab(&[
            "chart",
            "captures/simultaneous_close.pcap",
            "--kind",
            "diagram",
            "--lang",
            lang,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("state-transition diagram"));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // A UDP stream has no states to draw.
    let o = common::protolab(&[
        "chart",
        "captures/udp_exchange.pcap",
        "--kind",
        "diagram",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("for TCP connections only"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
