//! Charts rendered from the committed captures: structure of the SVG (labels, one
//! arrow per segment, colours), golden files for two charts, PNG size, Chinese labels.
//! Set `PROTOLAB_BLESS=1` to rewrite the golden files after an intended change.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use protolab::analyze::TcpState;
use protolab::chart::{
    estimate_lines, render_png, render_svg, rtt_samples, CaptureData, ChartError, ChartKind,
    ChartOptions, FrameRecord, Lang, LoadLimits, RttSample,
};
use protolab::files::{load_capture, load_capture_with};
use protolab::model::kernel::{ConnectionComparison, EndpointComparison, KernelComparison, Row};
use protolab::timestamp::millis;

/// The colour retransmissions are drawn in.
const RETRANS: &str = "#D32F2F";
/// The colours of what the client and the server sent.
const CLIENT: &str = "#1F5EA8";
const SERVER: &str = "#2E7D32";
/// The colour of a marked frame.
const MARK: &str = "#C2185B";

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn load(name: &str) -> CaptureData {
    load_capture(&capture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn svg(data: &CaptureData, kind: ChartKind, flow: u64) -> String {
    render_svg(kind, data, flow, &ChartOptions::default())
        .unwrap_or_else(|e| panic!("{kind:?} flow {flow}: {e}"))
}

/// Arrow heads are the only polygons of a ladder diagram: one per segment drawn.
fn arrows(svg: &str) -> usize {
    svg.matches("<polygon").count()
}

/// Arrow heads drawn in `color`.
fn arrows_in(svg: &str, color: &str) -> usize {
    svg.matches(&format!("<polygon opacity=\"1\" fill=\"{color}\""))
        .count()
}

fn assert_golden(name: &str, actual: &str) {
    common::assert_golden("charts", name, actual);
}

// ---- ladder -------------------------------------------------------------------

#[test]
fn ladder_of_a_whole_connection_has_one_arrow_per_segment_and_every_state() {
    let data = load("handshake_data_client_close.pcap");
    let flow = data.default_flow().unwrap();
    let s = svg(&data, ChartKind::Ladder, flow);
    assert!(s.starts_with("<svg"), "{s}");
    assert_eq!(arrows(&s), data.flow_frames(flow).len());
    for label in [
        "CLOSED",
        "LISTEN",
        "SYN_SENT",
        "SYN_RECEIVED",
        "ESTABLISHED",
        "FIN_WAIT_1",
        "FIN_WAIT_2",
        "TIME_WAIT",
        "CLOSE_WAIT",
        "LAST_ACK",
        "[S]",
        "[S.]",
        "[F.]",
    ] {
        assert!(s.contains(label), "no {label} in the ladder");
    }
    assert_eq!(
        arrows_in(&s, RETRANS),
        0,
        "no retransmission in this capture"
    );
}

#[test]
fn ladder_marks_fast_retransmission_and_dup_acks_in_colour() {
    let data = load("fast_retransmit.pcap");
    let flow = data.default_flow().unwrap();
    let s = svg(&data, ChartKind::Ladder, flow);
    assert_eq!(arrows(&s), data.flow_frames(flow).len());
    assert_eq!(
        arrows_in(&s, RETRANS),
        1,
        "one fast retransmission, in colour"
    );
    assert!(s.contains("fast retransmission"));
    assert!(s.contains("dup ACK"));
}

#[test]
fn ladder_window_is_a_close_up_starting_in_the_states_then_in_force() {
    let data = load("fast_retransmit.pcap");
    let flow = data.default_flow().unwrap();
    let opts = ChartOptions {
        frames: Some((5, 15)),
        mark: Some((5, "right after the lost segment")),
        ..ChartOptions::default()
    };
    let s = render_svg(ChartKind::Ladder, &data, flow, &opts).unwrap();
    assert_eq!(arrows(&s), 11, "frames 5 to 15");
    assert!(s.contains("frames 5–15 of 19"), "{s}");
    assert!(
        s.contains("ESTABLISHED"),
        "both ends are established at frame 5"
    );
    assert!(
        !s.contains("SYN_SENT") && !s.contains("[S]"),
        "no handshake"
    );
    assert_eq!(arrows_in(&s, MARK), 1, "the marked frame");
    assert!(s.contains("right after the lost segment"));
    assert_eq!(arrows_in(&s, RETRANS), 1, "the fast retransmission");
}

#[test]
fn ladder_marks_the_frames_the_bridge_dropped() {
    let data = load("fast_retransmit.pcap");
    let flow = data.default_flow().unwrap();
    let dropped = [4u64, 6];
    let opts = ChartOptions {
        dropped: &dropped,
        ..ChartOptions::default()
    };
    let s = render_svg(ChartKind::Ladder, &data, flow, &opts).unwrap();
    assert_eq!(arrows_in(&s, MARK), 2, "one marked arrow per dropped frame");
    assert_eq!(
        s.matches("dropped by the bridge").count(),
        3,
        "two arrow notes and the legend"
    );
    let plain = svg(&data, ChartKind::Ladder, flow);
    assert!(!plain.contains("dropped by the bridge"));
}

#[test]
fn ladder_of_a_udp_exchange() {
    let data = load("udp_exchange.pcap");
    let flow = data.default_flow().unwrap();
    let s = svg(&data, ChartKind::Ladder, flow);
    assert_eq!(arrows(&s), data.flow_frames(flow).len());
    assert!(s.contains("UDP"));
    assert!(!s.contains("ESTABLISHED"));
}

#[test]
fn ladder_of_frames_outside_flows_draws_the_arp_exchange() {
    let data = load("arp.pcap");
    assert!(!data.other.is_empty());
    let s = svg(&data, ChartKind::Ladder, 0);
    assert!(s.contains("ARP who-has"), "{s}");
    assert!(arrows(&s) >= 1);
}

#[test]
fn long_flows_are_folded_with_a_count() {
    let limits = LoadLimits {
        head: 3,
        tail: 3,
        ..LoadLimits::default()
    };
    let data = load_capture_with(&capture("fast_retransmit.pcap"), limits).unwrap();
    let flow = data.default_flow().unwrap();
    assert_eq!(data.flow_frames(flow).len(), 6);
    assert_eq!(data.folded[&flow], 13);
    assert_eq!(data.fold_at[&flow], 3);
    let s = svg(&data, ChartKind::Ladder, flow);
    assert!(s.contains("… 13 segments …"), "{s}");
    assert_eq!(arrows(&s), 6);
}

#[test]
fn ladder_golden() {
    let data = load("handshake_data_client_close.pcap");
    let s = svg(&data, ChartKind::Ladder, data.default_flow().unwrap());
    assert_golden("handshake_data_client_close.ladder.svg", &s);
}

// ---- other kinds ------------------------------------------------------------------

#[test]
fn every_kind_renders_for_tcp_fixtures() {
    for name in ["handshake_data_client_close.pcap", "fast_retransmit.pcap"] {
        let data = load(name);
        let flow = data.default_flow().unwrap();
        for kind in ChartKind::ALL {
            let s = svg(&data, kind, flow);
            assert!(
                s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
                "{name} {kind:?}"
            );
        }
    }
}

#[test]
fn states_chart_has_a_band_per_state() {
    let data = load("handshake_data_client_close.pcap");
    let s = svg(&data, ChartKind::States, 1);
    for label in [
        "SYN_SENT",
        "ESTABLISHED",
        "FIN_WAIT_2",
        "TIME_WAIT",
        "LAST_ACK",
        "state timeline",
    ] {
        assert!(s.contains(label), "no {label}");
    }
}

#[test]
fn seq_chart_marks_the_retransmission() {
    let data = load("fast_retransmit.pcap");
    let s = svg(&data, ChartKind::Seq, 1);
    assert!(s.contains("relative sequence number"));
    assert!(s.contains(RETRANS), "retransmission colour");
    let clean = svg(&load("handshake_data_client_close.pcap"), ChartKind::Seq, 1);
    // Only the legend's cross is red when nothing was retransmitted.
    assert!(s.matches(RETRANS).count() > clean.matches(RETRANS).count());
}

#[test]
fn seq_of_a_half_close_plots_the_data_of_both_directions() {
    // Regression: only the client's 10-byte request was plotted, not the 3500
    // bytes the server sent after the client's FIN.
    let data = load("half_close.pcap");
    let s = svg(&data, ChartKind::Seq, 1);
    for label in [
        "client → server: 10 bytes",
        "client → server segment",
        "ACK from the server",
        "server → client: 3500 bytes",
        "server → client segment",
        "ACK from the client",
    ] {
        assert!(s.contains(label), "no {label:?} in\n{s}");
    }
    // The server's panel reaches its 3500 bytes.
    assert!(s.contains("\n3000\n"), "{s}");
    // Each direction's segments are drawn in its sender's colour.
    let bars = |color: &str| {
        s.matches(&format!("stroke=\"{color}\" stroke-width=\"2\""))
            .count()
    };
    assert!(bars(CLIENT) >= 4 && bars(SERVER) >= 4, "{s}");
}

#[test]
fn seq_of_a_one_way_transfer_plots_that_direction_only() {
    let data = load("fast_retransmit.pcap");
    let s = svg(&data, ChartKind::Seq, 1);
    assert!(s.contains("client → server segment"));
    assert!(s.contains("ACK from the server"));
    assert!(!s.contains("server → client"), "{s}");
}

#[test]
fn seq_of_a_connection_without_data_is_not_drawn_and_says_why() {
    // Regression: a refused SYN drew a graph with the y labels 1,1,1,1,1,0,0.
    let data = load("refused.pcap");
    let e = render_svg(ChartKind::Seq, &data, 1, &ChartOptions::default()).unwrap_err();
    assert!(matches!(e, ChartError::NoData(1)), "{e}");
    let e = render_png(ChartKind::Seq, &data, 1, &ChartOptions::default()).unwrap_err();
    assert!(matches!(e, ChartError::NoData(1)), "{e}");
    // The other pictures of the same connection still draw.
    for kind in [ChartKind::Ladder, ChartKind::States] {
        svg(&data, kind, 1);
    }
}

#[test]
fn cli_seq_of_a_connection_without_data_exits_2_and_points_at_the_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seq.svg");
    let o = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(["chart", "captures/refused.pcap", "--kind", "seq", "-o"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("flow 1 carried no data bytes in either direction")
            && err.contains("nothing to plot")
            && err.contains("--kind ladder"),
        "{err}"
    );
    assert!(!out.exists(), "no picture is written");
}

#[test]
fn throughput_and_rtt_have_axes_and_legends() {
    let data = load("fast_retransmit.pcap");
    let t = svg(&data, ChartKind::Throughput, 1);
    assert!(t.contains("goodput") && t.contains("time (ms)"));
    let r = svg(&data, ChartKind::Rtt, 1);
    assert!(r.contains("RTT (ms)") && r.contains("handshake RTT"));
}

/// The RTT chart's samples of the capture's first flow against `flows`' rtt_ms:
/// the same count, minimum and maximum (one source of truth, the analyzer).
fn assert_rtt_chart_agrees_with_flows(name: &str) -> [Vec<RttSample>; 2] {
    let data = load(name);
    let flow = data.default_flow().unwrap();
    let stats = &data.flow(flow).unwrap().tcp.as_ref().unwrap().rtt_ms;
    let samples = rtt_samples(data.flow_frames(flow));
    let rtts: Vec<f64> = samples.iter().flatten().map(|s| millis(s.rtt_ns)).collect();
    assert_eq!(rtts.len() as u64, stats.samples, "{name}: {samples:?}");
    let min = rtts.iter().copied().reduce(f64::min);
    let max = rtts.iter().copied().reduce(f64::max);
    assert_eq!((min, max), (stats.min, stats.max), "{name}");
    // The legend counts what is plotted.
    let s = svg(&data, ChartKind::Rtt, flow);
    for (acker, n) in ["server", "client"].iter().zip(&samples) {
        let legend = format!("ACKed by the {acker}: {}", n.len());
        assert!(s.contains(&legend), "{name}: no legend {legend:?}");
    }
    samples
}

#[test]
fn rtt_chart_skips_zero_window_probes_like_flows() {
    // Regression: the chart measured the probes' ~200/400 ms waits (10 samples where
    // flows and tshark count 7).
    let [client, server] = assert_rtt_chart_agrees_with_flows("zero_window.pcap");
    assert_eq!((client.len(), server.len()), (5, 2));
    assert!(
        client.iter().chain(&server).all(|s| s.rtt_ns <= 1_000_000),
        "{client:?} {server:?}"
    );
}

#[test]
fn rtt_chart_of_plain_data_agrees_with_flows() {
    let [client, server] = assert_rtt_chart_agrees_with_flows("handshake_data_client_close.pcap");
    assert!(!client.is_empty() && !server.is_empty());
    // Each sample sits at the time its data was sent, before the ACK that measured it.
    let data = load("handshake_data_client_close.pcap");
    let acks: Vec<&FrameRecord> = data
        .flow_frames(1)
        .iter()
        .filter(|r| r.analysis.rtt_ns.is_some())
        .collect();
    assert_eq!(acks.len(), client.len() + server.len());
    for r in acks {
        let sent = r.packet.ts_ns - r.analysis.rtt_ns.unwrap();
        assert!(
            data.flow_frames(1).iter().any(|d| d.packet.ts_ns == sent),
            "frame {}: no frame was sent at {sent}",
            r.packet.frame
        );
    }
}

#[test]
fn udp_stream_draws_throughput_but_not_states() {
    let data = load("udp_exchange.pcap");
    let flow = data.default_flow().unwrap();
    svg(&data, ChartKind::Throughput, flow);
    svg(&data, ChartKind::Layers, flow);
    let err = render_svg(ChartKind::States, &data, flow, &ChartOptions::default()).unwrap_err();
    assert!(matches!(err, ChartError::NotTcp { .. }), "{err}");
}

#[test]
fn layers_of_a_data_segment() {
    let data = load("handshake_data_client_close.pcap");
    let opts = ChartOptions {
        frame: Some(4),
        ..ChartOptions::default()
    };
    let s = render_svg(ChartKind::Layers, &data, 1, &opts).unwrap();
    for label in [
        "Ethernet II frame",
        "IPv4 datagram",
        "TCP segment",
        "Application data",
        "hello",
    ] {
        assert!(s.contains(label), "no {label}");
    }
    assert_golden("handshake_data_client_close.layers4.svg", &s);
}

/// Bug: the layers picture printed SACK blocks raw while seq and ack beside them
/// were relative; inspect prints them relative. Both forms are shown now.
#[test]
fn layers_show_sack_blocks_relative_like_the_ack() {
    let data = load("fast_retransmit.pcap");
    let opts = ChartOptions {
        frame: Some(10),
        ..ChartOptions::default()
    };
    let s = render_svg(ChartKind::Layers, &data, 1, &opts).unwrap();
    assert!(
        s.contains("SACK 2000009001-2000010001 (rel 2001-3001)"),
        "{s}"
    );
}

/// The height of an SVG document, from its `height="…"` attribute.
fn svg_height(svg: &str) -> u32 {
    let at = svg.find("height=\"").expect("a height") + 8;
    svg[at..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn layers_canvas_is_as_tall_as_its_content() {
    let data = load("handshake_data_client_close.pcap");
    // A 66-byte SYN: five rows of hex, no empty page under them.
    let syn = render_svg(ChartKind::Layers, &data, 1, &ChartOptions::default()).unwrap();
    let h = svg_height(&syn);
    assert!((300..700).contains(&h), "height {h}");
    assert!(!syn.contains("more bytes"));
    assert!(
        syn.contains("\n0040\n"),
        "the last row of the dump is drawn"
    );
    // A taller request does not make it taller.
    let tall = ChartOptions {
        height: 2000,
        ..ChartOptions::default()
    };
    let again = render_svg(ChartKind::Layers, &data, 1, &tall).unwrap();
    assert_eq!(svg_height(&again), h);
}

/// The lowest point anything is drawn at: the largest `y` / `y1` / `y2` / point.
fn lowest_y(svg: &str) -> f64 {
    let mut max: f64 = 0.0;
    for attr in [" y=\"", " y1=\"", " y2=\""] {
        for part in svg.split(attr).skip(1) {
            max = max.max(part.split('"').next().unwrap().parse().unwrap_or(0.0));
        }
    }
    for part in svg.split(" points=\"").skip(1) {
        for point in part.split('"').next().unwrap().split_whitespace() {
            let y = point.split(',').nth(1).unwrap();
            max = max.max(y.parse().unwrap());
        }
    }
    max
}

#[test]
fn short_ladder_is_as_tall_as_its_rows() {
    // Regression: a refused connection's two arrows sat at the top of an 800-pixel
    // picture, ~400 pixels of it blank above the legend.
    let data = load("refused.pcap");
    let s = svg(&data, ChartKind::Ladder, 1);
    assert_eq!(arrows(&s), 2);
    let h = svg_height(&s);
    // The title and the hosts, a row for the first states and one per frame (60
    // pixels at most), the legend.
    let rows = data.flow_frames(1).len() as u32 + 1;
    assert!((300..=120 + rows * 60 + 80).contains(&h), "height {h}");
    assert!(lowest_y(&s) < f64::from(h), "everything is drawn inside");
    assert!(s.contains("out-of-order"), "the legend is drawn");
    // A taller request does not make it taller.
    let tall = ChartOptions {
        height: 2000,
        ..ChartOptions::default()
    };
    let again = render_svg(ChartKind::Ladder, &data, 1, &tall).unwrap();
    assert_eq!(svg_height(&again), h);
    // A narrow picture wraps its legend onto more rows, and grows to keep it
    // under the arrows.
    let narrow = ChartOptions {
        width: 400,
        ..ChartOptions::default()
    };
    let n = render_svg(ChartKind::Ladder, &data, 1, &narrow).unwrap();
    assert!(svg_height(&n) > h, "{} vs {h}", svg_height(&n));
    assert!(lowest_y(&n) < f64::from(svg_height(&n)));
    // The frames outside any flow get the same treatment.
    let arp = load("arp.pcap");
    let s = svg(&arp, ChartKind::Ladder, 0);
    let rows = arp.other.len() as u32 + 1;
    assert!(svg_height(&s) <= 120 + rows * 60 + 80, "{}", svg_height(&s));
}

#[test]
fn narrow_layers_picture_grows_for_its_wrapped_legend() {
    let data = load("refused.pcap");
    let wide = svg(&data, ChartKind::Layers, 1);
    let narrow = ChartOptions {
        width: 400,
        ..ChartOptions::default()
    };
    let n = render_svg(ChartKind::Layers, &data, 1, &narrow).unwrap();
    assert!(svg_height(&n) > svg_height(&wide));
    assert!(n.contains("\n0040\n"), "the whole dump is drawn");
}

#[test]
fn long_ladder_keeps_the_height_asked_for() {
    let data = load("fast_retransmit.pcap");
    let s = svg(&data, ChartKind::Ladder, 1);
    assert_eq!(svg_height(&s), 800);
    assert_eq!(arrows(&s), data.flow_frames(1).len());
}

#[test]
fn kernel_states_are_drawn_beside_the_inferred_ones() {
    let data = load("handshake_data_client_close.pcap");
    let f = data.flow(1).unwrap();
    let tcp = f.tcp.as_ref().unwrap();
    let rows = |states: &[TcpState], frames: Vec<Option<u64>>, wrong: Option<usize>| {
        states
            .iter()
            .enumerate()
            .map(|(i, st)| Row {
                inferred: Some(*st),
                frame: frames[i],
                kernel: Some(if wrong == Some(i) {
                    TcpState::Closed
                } else {
                    *st
                }),
                offset_us: frames[i].map(|_| 35),
                agree: wrong != Some(i),
                kernel_only: false,
                kernel_ns: None,
            })
            .collect::<Vec<_>>()
    };
    let frames = |tr: &[protolab::analyze::TransitionRecord]| {
        std::iter::once(None)
            .chain(tr.iter().map(|t| Some(t.frame)))
            .collect::<Vec<_>>()
    };
    let kernel = KernelComparison {
        source: "test".into(),
        connections: vec![ConnectionComparison {
            flow: 1,
            client: EndpointComparison {
                endpoint: "client",
                local: f.client,
                rows: rows(&tcp.client_states, frames(&tcp.client_transitions), None),
                agree: true,
            },
            server: EndpointComparison {
                endpoint: "server",
                local: f.server,
                rows: rows(&tcp.server_states, frames(&tcp.server_transitions), Some(4)),
                agree: false,
            },
        }],
        agree: false,
        unavailable: None,
    };
    let opts = ChartOptions {
        kernel: Some(&kernel),
        ..ChartOptions::default()
    };
    let s = render_svg(ChartKind::States, &data, 1, &opts).unwrap();
    if let Some(dir) = std::env::var_os("PROTOLAB_CHART_DIR") {
        // For looking at it: PROTOLAB_CHART_DIR=/tmp/charts cargo test --test charts
        let png = render_png(ChartKind::States, &data, 1, &opts).unwrap();
        std::fs::write(Path::new(&dir).join("kernel.states.png"), png).unwrap();
    }
    assert!(s.contains("+35 µs"), "kernel offsets");
    assert!(s.contains("kernel disagrees"));
    assert!(
        s.contains(&format!("stroke=\"{RETRANS}\"")),
        "the disagreement is outlined"
    );
}

// ---- languages, PNG, errors -------------------------------------------------------

#[test]
fn chinese_labels() {
    let data = load("handshake_data_client_close.pcap");
    let opts = ChartOptions {
        lang: Lang::Zh,
        ..ChartOptions::default()
    };
    let s = render_svg(ChartKind::Ladder, &data, 1, &opts).unwrap();
    assert!(s.contains("时序图") && s.contains("客户端"), "{s}");
    let l = render_svg(ChartKind::Layers, &data, 1, &opts).unwrap();
    assert!(l.contains("以太网帧") && l.contains("TCP 段") && l.contains("应用数据"));
    // The SVG names CJK fonts first so a browser picks one it has.
    assert!(s.contains("font-family=\"Noto Sans CJK SC"));
}

#[test]
fn png_has_the_signature_and_the_requested_size() {
    let data = load("fast_retransmit.pcap");
    for kind in ChartKind::ALL {
        let opts = ChartOptions {
            width: 900,
            height: 600,
            ..ChartOptions::default()
        };
        let png = render_png(kind, &data, 1, &opts).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{kind:?}");
        assert_eq!(&png[12..16], b"IHDR");
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        if kind == ChartKind::Layers {
            // As tall as its content, at most the height asked for.
            assert!(w == 900 && (300..=600).contains(&h), "{kind:?}: {w}x{h}");
        } else {
            assert_eq!((w, h), (900, 600), "{kind:?}");
        }
    }
}

#[test]
fn a_damaged_file_still_charts_the_frames_before_the_damage() {
    let data = load("truncated_file.pcap");
    assert!(data.total_frames > 0);
    let damage = data.damage.as_ref().expect("the damage is recorded");
    assert_eq!((damage.after_frame, damage.truncated), (5, true));
    if let Some(flow) = data.default_flow() {
        svg(&data, ChartKind::Ladder, flow);
    }
}

#[test]
fn chart_of_a_truncated_file_is_written_then_exits_2_with_one_plain_line() {
    // Regression: the chart exited 0 and the truncation showed only as a tracing
    // line with colour codes and the file name twice.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ladder.svg");
    // Trace level makes the state machine log, so the subscriber's own lines are
    // checked for colour codes too.
    let o = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args([
            "chart",
            "captures/truncated_file.pcap",
            "--kind",
            "ladder",
            "-o",
        ])
        .arg(&out)
        .env("PROTOLAB_LOG", "protolab=trace")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("ESTABLISHED"), "the whole frames are drawn");
    assert!(!o.stderr.contains(&0x1b), "no ANSI escape on a pipe");
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains(" => "), "the trace lines were logged: {err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("protolab: captures/truncated_file.pcap is truncated")
            && last.contains("after frame 5")
            && last.contains(&format!("chart {}", out.display())),
        "{err}"
    );
    assert_eq!(last.matches("truncated_file.pcap").count(), 1, "{last}");
}

#[test]
fn errors_say_what_to_do() {
    let data = load("fast_retransmit.pcap");
    let opts = ChartOptions::default();
    let e = render_svg(ChartKind::Ladder, &data, 7, &opts).unwrap_err();
    assert!(e.to_string().contains("protolab flows"), "{e}");
    let opts = ChartOptions {
        frame: Some(999),
        ..ChartOptions::default()
    };
    let e = render_svg(ChartKind::Layers, &data, 1, &opts).unwrap_err();
    assert!(matches!(e, ChartError::NoSuchFrame(999)), "{e}");
}

#[test]
fn cli_writes_svg_and_png_and_exits_2_on_a_missing_flow() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_protolab");
    let file = capture("fast_retransmit.pcap");
    for out in ["l.svg", "l.png"] {
        let path = dir.path().join(out);
        let st = Command::new(bin)
            .args(["chart", file.to_str().unwrap(), "--kind", "ladder", "-o"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success());
        assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    }
    let o = Command::new(bin)
        .args([
            "chart",
            file.to_str().unwrap(),
            "--kind",
            "ladder",
            "--flow",
            "7",
            "-o",
        ])
        .arg(dir.path().join("x.svg"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no flow 7 in") && err.contains("protolab flows"),
        "{err}"
    );
    let o = Command::new(bin)
        .args(["chart", file.to_str().unwrap(), "--kind", "ladder", "-o"])
        .arg(dir.path().join("x.jpg"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rtt_chart_draws_the_estimator_of_the_flows_table() {
    // recorded_lo_tcp.pcap: three data samples per direction (see tests/rtt_estimator.rs).
    let data = load("recorded_lo_tcp.pcap");
    let lines = estimate_lines(data.flow_frames(1));
    let table = &data.flow(1).unwrap().tcp.as_ref().unwrap().rtt_estimator;
    for (dir, side) in [(0, table.client.as_ref()), (1, table.server.as_ref())] {
        let rows = &side.unwrap().rows;
        assert_eq!(lines[dir].len(), rows.len());
        for (p, r) in lines[dir].iter().zip(rows) {
            assert!((p.estimated_ms - r.estimated_ms).abs() < 1e-6);
            assert!((p.rto_ms - r.rto_ms).abs() < 1e-6);
        }
    }
    let s = svg(&data, ChartKind::Rtt, 1);
    assert!(
        s.contains("EstimatedRTT (client&apos;s data") || s.contains("EstimatedRTT (client's data")
    );
    assert!(s.contains("RTO = EstimatedRTT + 4·DevRTT"));
}

#[test]
fn seq_chart_draws_sack_blocks_only_when_there_are_some() {
    let s = svg(&load("fast_retransmit.pcap"), ChartKind::Seq, 1);
    assert!(s.contains("SACK block"));
    // Four SACK options (frames 10, 11, 12, 14), one block each, in the SACK colour.
    assert_eq!(
        s.matches("stroke=\"#0097A7\"").count(),
        4 + 1,
        "4 bars and the legend"
    );
    let clean = svg(&load("handshake_data_client_close.pcap"), ChartKind::Seq, 1);
    assert!(!clean.contains("SACK block"));
}

#[test]
fn window_chart_shows_flight_window_and_phases() {
    let s = svg(&load("fast_retransmit.pcap"), ChartKind::Window, 1);
    for want in [
        "bytes in flight (from the packets)",
        "phase: slow start",
        "phase: recovery",
        "phase: congestion avoidance",
        "receive window",
    ] {
        assert!(s.contains(want), "no {want:?}");
    }
    // No kernel numbers given: no kernel lines.
    assert!(!s.contains("tcp_probe"));
    let kernel = [protolab::chart::KernelWindow {
        ts_ns: 1_700_000_000_001_500_000,
        cwnd_bytes: 10_000.0,
        ssthresh_bytes: Some(5_000.0),
    }];
    let opts = ChartOptions {
        kernel_window: &kernel,
        ..ChartOptions::default()
    };
    let with = render_svg(ChartKind::Window, &load("fast_retransmit.pcap"), 1, &opts).unwrap();
    assert!(with.contains("kernel&apos;s cwnd") || with.contains("kernel's cwnd"));
    // No kernel states given: no strip; given, one legend entry per state.
    assert!(!with.contains("tcp_cong_state_set"));
    use protolab::model::tcp_dynamics::{CongState, CongStateChange};
    let states = [
        CongStateChange {
            ts_ns: 1_700_000_000_001_000_000,
            state: CongState::Open,
        },
        CongStateChange {
            ts_ns: 1_700_000_000_001_500_000,
            state: CongState::Recovery,
        },
        CongStateChange {
            ts_ns: 1_700_000_000_001_800_000,
            state: CongState::Open,
        },
    ];
    let opts = ChartOptions {
        kernel_window: &kernel,
        kernel_states: &states,
        ..ChartOptions::default()
    };
    let strip = render_svg(ChartKind::Window, &load("fast_retransmit.pcap"), 1, &opts).unwrap();
    for state in ["Open", "Recovery"] {
        let entry = format!("(tcp_cong_state_set, top strip): {state}");
        assert_eq!(strip.matches(&entry).count(), 1, "{state}");
    }
    // Three bands of the strip and two legend swatches, in the states' colours.
    let bands =
        strip.matches("fill=\"#DC5A5A\"").count() + strip.matches("fill=\"#96C896\"").count();
    assert_eq!(bands, 5, "bands and swatches");
    let zh = render_svg(
        ChartKind::Window,
        &load("fast_retransmit.pcap"),
        1,
        &ChartOptions {
            lang: protolab::chart::Lang::Zh,
            ..ChartOptions::default()
        },
    )
    .unwrap();
    assert!(zh.contains("在途字节") && zh.contains("慢启动"));
}
