//! The report of `protolab compare`, drawn from a `CompareReport` built here (three
//! loss levels) and two committed fixtures standing in for the level captures:
//! `fast_retransmit.pcap` (one fast retransmission) and `udp_probe_loss.pcap`
//! (probes 10 and 11 missing). No root, no network.
//! Set `PROTOLAB_BLESS=1` to rewrite the golden report.md after an intended change.

mod common;

use std::path::Path;

use protolab::chart::compare::{render_compare_svg, ComparePicture};
use protolab::chart::Lang;
use protolab::files::{render_compare_report, write_compare_report};
use protolab::model::compare::{
    CompareReport, Gap, Latency, LevelResult, Recovery, RunResult, TcpResult, UdpResult,
};
use protolab::report::CompareFiles;

const MIB4: u64 = 4 * 1024 * 1024;

/// Latency samples around `base` ms: a repeating spread of ±0.5 ms.
fn samples(base: f64) -> Vec<f64> {
    (0..200)
        .map(|k| base + ((k * 37) % 11) as f64 * 0.1 - 0.5)
        .collect()
}

fn level(loss: f64, measured: f64, completion_s: f64, udp_delivered: f64) -> LevelResult {
    let dir = format!("loss-{loss}");
    let sent = 2900;
    let lost = ((100.0 - udp_delivered) / 100.0 * sent as f64).round() as u64;
    let retrans = (loss * 30.0) as u64;
    LevelResult {
        loss_configured: loss,
        loss_measured: measured,
        tcp: TcpResult {
            delivered_percent: 100.0,
            delivered_bytes: MIB4,
            sha256_match: true,
            completion_s,
            goodput_mbps: MIB4 as f64 * 8.0 / 1e6 / completion_s,
            retransmissions: retrans,
            retransmissions_sender_view: retrans + retrans / 2,
            retransmissions_kernel: Some(retrans + retrans / 3),
            retransmissions_kernel_segments: Some(retrans + retrans / 2),
            dropped_data_frames: retrans + retrans / 2,
            spurious_retransmissions: 0,
            rto_count: Some(0),
            rto_time_s: Some(0.0),
            rtt_ms: Some(20.4),
            mss: Some(1448),
            fast_retransmissions: retrans * 4 / 5,
            dup_acks: retrans * 3,
            loss_measured: measured,
            run_dir: format!("{dir}/tcp"),
            capture: format!("{dir}/tcp/capture.pcap"),
            recovery: None,
            error: None,
        },
        udp: UdpResult {
            delivered_percent: udp_delivered,
            sent,
            received: sent - lost,
            lost,
            out_of_order: 0,
            duplicates: 0,
            jitter_ms: 0.412,
            latency_ms: Latency {
                p50: 20.1,
                p99: 20.9,
                min: 19.6,
                max: 21.4,
            },
            latency_samples_ms: samples(20.1),
            goodput_mbps: 8.0 * udp_delivered / 100.0,
            duration_s: 4.2,
            loss_measured: measured,
            capture: format!("{dir}/udp.pcap"),
            first_gap: None,
        },
        runs: Vec::new(),
        summary: Default::default(),
        model_goodput_mbps: None,
    }
}

/// The 10% level run three times (seeds 7, 8, 9): completion 3.5, 4.0 and 6.0 s.
fn three_runs() -> LevelResult {
    let runs = [(3.5, 7), (4.0, 8), (6.0, 9)]
        .into_iter()
        .map(|(t, seed)| {
            let l = level(10.0, 10.12, t, 90.3);
            RunResult {
                seed,
                loss_measured: l.loss_measured,
                tcp: l.tcp,
                udp: l.udp,
            }
        })
        .collect();
    LevelResult::from_runs(10.0, runs).unwrap()
}

/// Three levels, 0 %, 5 % and 10 %; recoveries and gaps at 5 % and 10 % (the
/// report must pick 10 %).
fn report() -> CompareReport {
    let mut levels = vec![
        level(0.0, 0.0, 1.25, 100.0),
        level(5.0, 4.87, 2.5, 95.1),
        three_runs(),
    ];
    for l in &mut levels[1..] {
        l.tcp.recovery = Some(Recovery {
            flow: 1,
            lost_frame: 5,
            first_dup_ack_frame: 10,
            fast_retransmission_frame: 13,
            dup_acks: 3,
            seq: 1001,
        });
        l.udp.first_gap = Some(Gap { seq: 10, frame: 11 });
    }
    levels[2].udp.out_of_order = 1;
    levels[2].udp.duplicates = 1;
    CompareReport {
        levels,
        seed: 7,
        command: "protolab compare --loss 0,5,10 --delay 10ms --bytes 4MiB --seed 7 -o cmp"
            .to_string(),
        bytes: MIB4,
        delay_ms: 10.0,
        jitter_ms: 0.0,
        started: 1_700_000_000.0,
        protolab_version: "0.1.0".to_string(),
        congestion_control: None,
    }
}

/// A compare folder with the fixtures where the report says the captures are.
fn folder(r: &CompareReport) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for l in &r.levels {
        for (fixture, rel) in [
            ("fast_retransmit.pcap", &l.tcp.capture),
            ("udp_probe_loss.pcap", &l.udp.capture),
        ] {
            let to = dir.path().join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(common::capture(fixture), to).unwrap();
        }
    }
    dir
}

fn write(r: &CompareReport, lang: Lang) -> (tempfile::TempDir, CompareFiles) {
    let dir = folder(r);
    let files = write_compare_report(r, dir.path(), lang).unwrap();
    assert!(files.chart_errors.is_empty(), "{:?}", files.chart_errors);
    (dir, files)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The inline SVG of the chart whose heading has id `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<h3 id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</svg>").map_or(rest.len(), |e| e + 6)]
}

// ---- files -----------------------------------------------------------------------

#[test]
fn every_file_is_written_and_report_json_round_trips() {
    let r = report();
    let (dir, files) = write(&r, Lang::En);
    for p in [&files.index_html, &files.report_md, &files.report_json] {
        assert!(p.is_file(), "{}", p.display());
    }
    for name in ["delivered", "tcp_cost", "udp_latency", "recovery"] {
        for ext in ["svg", "png"] {
            let p = dir.path().join(format!("charts/{name}.{ext}"));
            assert!(p.is_file(), "{}", p.display());
        }
        let png = std::fs::read(dir.path().join(format!("charts/{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}");
    }
    assert_eq!(files.charts.len(), 8);
    if let Some(out) = std::env::var_os("PROTOLAB_CHART_DIR") {
        // For looking at them: PROTOLAB_CHART_DIR=/tmp/charts cargo test --test compare_report
        for c in &files.charts {
            std::fs::copy(c, Path::new(&out).join(c.file_name().unwrap())).unwrap();
        }
    }
    let back: CompareReport = serde_json::from_str(&read(&files.report_json)).unwrap();
    assert_eq!(back, r);
}

#[test]
fn a_capture_that_cannot_be_read_leaves_only_the_recovery_chart_out() {
    let r = report();
    let dir = tempfile::tempdir().unwrap();
    let rendered = render_compare_report(&r, dir.path(), Lang::En);
    assert_eq!(
        rendered.chart_errors.len(),
        1,
        "{:?}",
        rendered.chart_errors
    );
    assert!(
        rendered.chart_errors[0].contains("loss-10/tcp/capture.pcap"),
        "{:?}",
        rendered.chart_errors
    );
    assert_eq!(rendered.charts.len(), 6);
    assert!(rendered.markdown.contains("*chart not drawn*"));
    assert!(rendered.html.contains("<i>chart not drawn</i>"));
}

// ---- markdown ------------------------------------------------------------------

#[test]
fn markdown_has_the_table_of_levels_with_the_numbers() {
    let r = report();
    let (_dir, files) = write(&r, Lang::En);
    let md = read(&files.report_md);
    assert!(
        md.contains("| Loss configured | Loss measured | TCP delivered |"),
        "{md}"
    );
    // The 10% level ran three times: median (min–max) where the runs differ.
    assert!(md.contains(
        "| 10% | 10.12% | 100% | 4.00 (3.50–6.00) | 8.39 (5.59–9.59) | 2.19 | 450 | 450 | 400 | 450 | 300 | 240 | 0 | 900 | yes | 90.3% | 281 / 2900 | 1 | 1 | 0.412 | 20.10 | 20.90 | [lab report](loss-10/tcp/index.html) |"
    ), "{md}");
    assert!(
        md.contains("| 5% | 4.87% | 100% | 2.50 | 13.42 | — | 225 |"),
        "{md}"
    );
    assert!(md.contains("![Delivered against loss](charts/delivered.png)"));
    assert!(md.contains("protolab compare --loss 0,5,10"));
    common::assert_golden("compare", "report.md", &md);
}

#[test]
fn report_json_keeps_each_run_and_the_spread() {
    let r = report();
    let (_dir, files) = write(&r, Lang::En);
    let json: serde_json::Value = serde_json::from_str(&read(&files.report_json)).unwrap();
    let top = &json["levels"][2];
    assert_eq!(top["runs"].as_array().unwrap().len(), 3);
    assert_eq!(top["runs"][2]["seed"], 9);
    assert_eq!(top["summary"]["completion_s_median"], 4.0);
    assert_eq!(top["summary"]["completion_s_min"], 3.5);
    assert_eq!(top["summary"]["completion_s_max"], 6.0);
    assert_eq!(
        top["tcp"]["completion_s"], 4.0,
        "the median run stands for the level"
    );
    // (1448·8 bit / 20.4 ms)·√1.5/√0.1012 = 2.19 Mbit/s.
    let model = top["model_goodput_mbps"].as_f64().unwrap();
    assert!((model - 2.186).abs() < 0.01, "{model}");
    // A single-run level keeps the old shape.
    assert!(json["levels"][0].get("runs").is_none());
}

/// A level whose timeouts took most of the transfer says so, with numbers; a
/// median completion time that falls with more loss is explained.
#[test]
fn timeouts_and_a_non_monotone_time_are_explained() {
    let mut r = report();
    r.levels[1].tcp.rto_count = Some(3);
    r.levels[1].tcp.rto_time_s = Some(2.0);
    r.levels[1].tcp.completion_s = 5.0;
    let (_dir, files) = write(&r, Lang::En);
    let md = read(&files.report_md);
    for sentence in [
        "At 5% retransmission timeouts dominate: the sender's kernel went into the Loss state 3 times and spent 2.00 s of the 5.00 s transfer there (40%)",
        "The median completion time does not grow with loss everywhere: 4.00 s at 10% against 5.00 s at 5%",
    ] {
        assert!(md.contains(sentence), "no «{sentence}» in\n{md}");
    }
    // The monotone default says nothing of it.
    let (_dir, files) = write(&report(), Lang::En);
    let md = read(&files.report_md);
    assert!(!md.contains("does not grow with loss"), "{md}");
    assert!(!md.contains("timeouts dominate"), "{md}");
}

#[test]
fn what_to_notice_is_made_from_the_numbers() {
    let r = report();
    let (_dir, files) = write(&r, Lang::En);
    let md = read(&files.report_md);
    for sentence in [
        "At 10% loss TCP still delivered 100% of 4 MiB (SHA-256 matches), but took 3.2× as long as at 0% (4.00 s against 1.25 s); UDP delivered 90.3% — the 9.7% the link lost never came back.",
        "the bridge dropped frame 5 (relative seq 1001); the receiver's duplicate ACKs start at frame 10, and after 3 of them the sender resent that segment, seq 1001, in frame 13",
        "TCP repaired the losses at 10% by resending 450 segments (counted at the capture point, which is the sender's side of the bridge); the client's kernel says it resent 450 segments (tcpi_total_retrans) in 400 buffers (tcp_retransmit_skb, once per buffer; a buffer may leave as several segments): the bridge dropped 450 of the client's data frames",
        "Wireshark's expert flags count 300",
        "the Mathis et al. model, goodput ≈ (MSS/RTT)·(C/√p) with C = √(3/2), gives 2.19 Mbit/s for MSS 1448 bytes, RTT 20.4 ms and p = 10.12%; TCP measured 8.39 Mbit/s",
        "the first datagram lost was probe 10 (frame 11)",
        "the bridge really dropped 10.12% of the frames",
        "datagrams out of order (1) and the same datagram twice (1)",
        "p50 stayed at 20.10 ms at every level",
    ] {
        assert!(md.contains(sentence), "no «{sentence}» in\n{md}");
    }
}

#[test]
fn a_failed_transfer_is_said_in_the_notices_and_under_the_table() {
    let mut r = report();
    r.levels[2].tcp.error = Some("timed out after 60 s".to_string());
    r.levels[2].tcp.sha256_match = false;
    let dir = folder(&r);
    let rendered = render_compare_report(&r, dir.path(), Lang::En);
    assert!(rendered
        .markdown
        .contains("At 10% loss the TCP transfer did not finish (timed out after 60 s)"));
    assert!(rendered
        .markdown
        .contains("- **TCP transfer failed (10%)**: timed out after 60 s"));
    assert!(rendered.html.contains("<tr class=\"bad\">"));
}

// ---- HTML and charts -----------------------------------------------------------

#[test]
fn html_is_self_contained_with_the_four_charts_inline() {
    let r = report();
    let (_dir, files) = write(&r, Lang::En);
    let html = read(&files.index_html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 4, "four inline charts");
    assert!(!html.contains("<?xml"));
    // The SVG namespace is a name, not a reference: nothing else may point outside.
    let rest = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !rest.contains("http://") && !rest.contains("https://"),
        "external reference"
    );
    assert!(!html.contains("<img") && !html.contains("<link"));
    // The template engine escapes `/` in attribute values too (`&#x2f;`, read back as `/`).
    assert!(html.contains("<a href=\"loss-5&#x2f;tcp&#x2f;index.html\">lab report</a>"));
    assert!(html.contains("<th class=\"tcp\" colspan=\"7\">TCP</th>"));
}

#[test]
fn delivered_chart_has_both_protocols_the_ideal_line_and_the_measured_loss() {
    let r = report();
    let s = render_compare_svg(&ComparePicture::Delivered(&r), Lang::En).unwrap();
    for label in [
        "TCP (file transfer)",
        "UDP (probe stream)",
        "ideal for UDP: 100 − loss",
        "100 − loss the bridge measured",
        "90.3",
        "configured loss (--loss)",
        "10%",
    ] {
        assert!(s.contains(label), "no {label}");
    }
    assert!(
        s.contains("stroke-dasharray") || s.matches("<polyline").count() > 4,
        "a dashed line"
    );
}

#[test]
fn cost_and_latency_charts_label_their_series_and_marks() {
    let r = report();
    let cost = render_compare_svg(&ComparePicture::Cost(&r), Lang::En).unwrap();
    for label in [
        "TCP completion time",
        "TCP goodput",
        "UDP goodput",
        "4.00 s (×3.2)",
        "min–max over the runs",
        "Mathis model",
    ] {
        assert!(cost.contains(label), "no {label} in the cost chart");
    }
    let lat = render_compare_svg(&ComparePicture::Latency(&r), Lang::En).unwrap();
    for label in [
        "p50 20.10",
        "p99 20.90",
        "0%",
        "5%",
        "10%",
        "one-way latency (ms)",
    ] {
        assert!(lat.contains(label), "no {label} in the latency chart");
    }
}

#[test]
fn recovery_chart_is_the_ladder_close_up_of_the_highest_level() {
    let r = report();
    let (dir, _files) = write(&r, Lang::En);
    let s = read(&dir.path().join("charts/recovery.svg"));
    for label in [
        "TCP at 10% loss: frame 5 (seq 1001) dropped → 3 duplicate ACKs from frame 10 → fast retransmission of seq 1001 in frame 13",
        "UDP at 10% loss: probe 10 (frame 11) dropped",
        "frames 5–15 of 19",
        "frames 7–15 of 98",
        "fast retransmission",
        "dup ACK",
        "dropped by the bridge",
        "dropped by the bridge, never sent again",
    ] {
        assert!(s.contains(label), "no «{label}» in the recovery chart");
    }
    // 11 TCP frames and 9 UDP frames, one arrow head each.
    assert_eq!(s.matches("<polygon").count(), 20);
}

#[test]
fn without_recovery_or_gap_the_recovery_chart_says_so() {
    let mut r = report();
    for l in &mut r.levels {
        l.tcp.recovery = None;
        l.udp.first_gap = None;
    }
    let dir = tempfile::tempdir().unwrap();
    let rendered = render_compare_report(&r, dir.path(), Lang::En);
    assert!(
        rendered.chart_errors.is_empty(),
        "{:?}",
        rendered.chart_errors
    );
    let html = &rendered.html;
    let rec = section(html, "recovery");
    assert!(rec.contains("No fast retransmission at any level"));
    assert!(rec.contains("No UDP datagram was lost at any level"));
}

// ---- Chinese -------------------------------------------------------------------

#[test]
fn chinese_report_has_chinese_headings_labels_and_notices() {
    let r = report();
    let (dir, files) = write(&r, Lang::Zh);
    if let Some(out) = std::env::var_os("PROTOLAB_CHART_DIR") {
        for c in &files.charts {
            let name = format!("zh.{}", c.file_name().unwrap().to_string_lossy());
            std::fs::copy(c, Path::new(&out).join(name)).unwrap();
        }
    }
    let md = read(&files.report_md);
    for heading in [
        "# 有损链路上的 TCP 与 UDP 对比",
        "## 运行内容",
        "## 值得注意",
        "## 各丢包级别",
        "## 图表",
        "### 交付率与丢包率",
        "| 配置丢包率 | 实测丢包率 | TCP 交付率 |",
        "[实验报告](loss-10/tcp/index.html)",
        "丢包率 10% 时 TCP 仍然交付了 4 MiB 的 100%",
    ] {
        assert!(md.contains(heading), "no {heading} in\n{md}");
    }
    // No English heading or label leaks (protocol names and units are not words).
    for english in [
        "What ran",
        "What to notice",
        "Charts",
        "lab report",
        "Loss configured",
    ] {
        assert!(!md.contains(english), "{english} in the Chinese report");
    }
    let html = read(&files.index_html);
    assert!(html.contains("<html lang=\"zh-CN\">"));
    let rec = read(&dir.path().join("charts/recovery.svg"));
    for label in [
        "被网桥丢弃",
        "快速重传",
        "重复 ACK",
        "第 5–15 帧（共 19 帧）",
    ] {
        assert!(
            rec.contains(label),
            "no {label} in the Chinese recovery chart"
        );
    }
    for (name, label) in [
        ("delivered", "交付率"),
        ("tcp_cost", "有效吞吐量"),
        ("udp_latency", "单向时延"),
    ] {
        let svg = read(&dir.path().join(format!("charts/{name}.svg")));
        assert!(svg.contains(label), "no {label} in {name}");
    }
}
