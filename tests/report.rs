//! The lab report end to end: golden report.md / report.json on committed fixtures,
//! the Chinese report, run folders, the CLI, and the HTML page in a real browser
//! (headless Chromium, and a WebDriver session through chromedriver that clicks the
//! step-through player). Set `PROTOLAB_BLESS=1` to rewrite the golden files.
//!
//! The browser tests print `SKIPPED` when chromium / chromedriver are not
//! installed, and fail instead when the environment variable `CI` is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::protolab;
use protolab::analyze::diagram::DiagramArc;
use protolab::analyze::{TcpState, Why};
use protolab::chart::diagram_layout::Layout;
use protolab::chart::Lang;
use protolab::files::{load_input, write_report};
use protolab::report::render_report;

use common::browser::{have, headless_flags, Driver, CHROMEDRIVER, CHROMIUM};

/// Compares `actual` with the golden file, printing both in full on mismatch.
fn assert_golden(name: &str, actual: &str) {
    common::assert_golden("report", name, actual);
}

/// The crate version is the only volatile part of the text (paths are given relative).
fn stable(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "VERSION")
}

fn fixture(name: &str) -> PathBuf {
    // Relative, as a user types it: the report shows the path as given.
    PathBuf::from(format!("captures/{name}.pcap"))
}

fn in_manifest_dir() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
}

#[test]
fn report_md_and_json_match_golden_files() {
    in_manifest_dir();
    for name in ["handshake_data_client_close", "fast_retransmit"] {
        let input = load_input(&fixture(name)).unwrap();
        let r = render_report(&input, Lang::En);
        assert_golden(&format!("{name}.md"), &stable(&r.markdown));
        assert_golden(&format!("{name}.json"), &stable(&r.json));
    }
    let input = load_input(&fixture("handshake_data_client_close")).unwrap();
    let zh = render_report(&input, Lang::Zh);
    assert_golden("handshake_data_client_close.zh.md", &stable(&zh.markdown));
}

#[test]
fn report_json_says_what_the_fast_retransmit_fixture_teaches() {
    in_manifest_dir();
    let input = load_input(&fixture("fast_retransmit")).unwrap();
    let r = render_report(&input, Lang::En);
    let json: serde_json::Value = serde_json::from_str(&r.json).unwrap();
    let notices: Vec<&str> = json["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n
                .contains("3 duplicate ACKs were followed by a fast retransmission at frame 13")),
        "{notices:#?}"
    );
    assert!(
        notices.iter().any(|n| n.contains(
            "the client, which closed first (FIN at frame 16), is the side that entered TIME_WAIT"
        )),
        "{notices:#?}"
    );
    let flagged: Vec<u64> = json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(flagged, [5, 10, 11, 12, 13, 14]);
    let transitions = json["connections"][0]["transitions"].as_array().unwrap();
    assert_eq!(transitions.len(), 10);
    assert_eq!(transitions[0]["why"], "sent SYN (active open)");
    assert_eq!(transitions[0]["why_code"], "SentSyn");
}

#[test]
fn zh_report_is_chinese_throughout() {
    in_manifest_dir();
    let input = load_input(&fixture("fast_retransmit")).unwrap();
    let r = render_report(&input, Lang::Zh);
    for heading in [
        "# 实验报告",
        "## 概要",
        "## 值得注意",
        "## 一个数据包的各层",
        "#### 状态转换",
        "## 异常（专家信息）",
        "## UDP 统计",
    ] {
        assert!(
            r.markdown.contains(heading),
            "no {heading:?} in\n{}",
            r.markdown
        );
    }
    assert!(r.markdown.contains("发送 SYN（主动打开）"));
    assert!(r.markdown.contains("快速重传"));
    assert!(
        !r.markdown.contains("sent SYN"),
        "English why in the zh report"
    );
    assert!(r.html.contains("<html lang=\"zh-CN\">"));
    assert!(r.html.contains("下一个"));
}

#[test]
fn udp_report_notices_there_was_no_handshake() {
    in_manifest_dir();
    let input = load_input(&fixture("udp_exchange")).unwrap();
    let r = render_report(&input, Lang::En);
    assert!(
        r.report
            .notices
            .iter()
            .any(|n| n.contains("had no handshake: the first datagram (frame")),
        "{:#?}",
        r.report.notices
    );
    assert!(!r.report.udp.is_empty());
}

#[test]
fn arp_frames_get_the_link_layer_ladder_first() {
    in_manifest_dir();
    let input = load_input(&fixture("arp")).unwrap();
    for lang in [Lang::En, Lang::Zh] {
        let r = render_report(&input, lang);
        assert!(r.report.link_layer);
        let (heading, who_has) = match lang {
            Lang::En => (
                "## The link layer: ARP and neighbour discovery",
                "ARP who-has",
            ),
            Lang::Zh => ("## 链路层：ARP 与邻居发现", "ARP"),
        };
        assert!(r.markdown.contains(heading), "{}", r.markdown);
        assert!(r.markdown.contains("charts/link-layer.png"));
        let section = r
            .html
            .find("id=\"link-layer\"")
            .expect("link-layer section");
        let connections = r
            .html
            .find("id=\"connections\"")
            .expect("connections section");
        assert!(
            section < connections,
            "the ARP ladder comes before the connections"
        );
        assert!(r.html[section..connections].contains(who_has));
    }
    let plain = render_report(&load_input(&fixture("udp_exchange")).unwrap(), Lang::En);
    assert!(!plain.report.link_layer && !plain.html.contains("id=\"link-layer\""));
}

#[test]
fn write_report_writes_every_file() {
    in_manifest_dir();
    let dir = tempfile::tempdir().unwrap();
    let input = load_input(&fixture("handshake_data_client_close")).unwrap();
    let files = write_report(&input, dir.path(), Lang::En).unwrap();
    for f in [&files.index_html, &files.report_md, &files.report_json] {
        assert!(f.is_file(), "{} missing", f.display());
    }
    for chart in ["layers", "flow1-ladder", "flow1-states", "flow1-seq"] {
        for ext in ["svg", "png"] {
            let p = dir.path().join(format!("charts/{chart}.{ext}"));
            assert!(
                p.is_file(),
                "{} missing ({:?})",
                p.display(),
                files.chart_errors
            );
        }
    }
    let html = std::fs::read_to_string(&files.index_html).unwrap();
    for net in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(
            !html.contains(net),
            "network reference {net:?} in index.html"
        );
    }
    assert!(!html.contains("<link"), "external stylesheet");
    assert!(html.contains("id=\"p1-ladder\""));
}

#[test]
fn a_run_folder_brings_its_command_and_the_kernel_comparison() {
    in_manifest_dir();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "captures/handshake_data_client_close.pcap",
        dir.path().join("capture.pcap"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"run_id":"tcp-upper-20261123T120000Z","scenario":"tcp-upper","command":"protolab run tcp-upper --clients 1","expectation_met":true,"mismatches":[],"notes":["client: sent hello"],"capture":"elsewhere/capture.pcap"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kernel.json"),
        r#"{"source":"tracepoint+sock_diag","sockets":[],"table":[],
            "comparison":{"source":"tracepoint+sock_diag","agree":true,"connections":[{"flow":1,
            "client":{"endpoint":"client","local":"198.18.0.1:40000","agree":true,"rows":[
              {"inferred":"CLOSED","frame":null,"kernel":"CLOSED","offset_us":null,"agree":true},
              {"inferred":"SYN_SENT","frame":1,"kernel":"SYN_SENT","offset_us":12,"agree":true}]},
            "server":{"endpoint":"server","local":"198.18.0.2:8001","agree":true,"rows":[
              {"inferred":"LISTEN","frame":null,"kernel":"LISTEN","offset_us":null,"agree":true}]}}]}}"#,
    )
    .unwrap();
    let input = load_input(dir.path()).unwrap();
    assert_eq!(input.run.as_ref().unwrap().scenario, "tcp-upper");
    let kernel = input.kernel.as_ref().expect("kernel comparison");
    assert_eq!(kernel.connections[0].client.rows[1].offset_us, Some(12));
    let r = render_report(&input, Lang::En);
    assert!(r.markdown.contains("`protolab run tcp-upper --clients 1`"));
    assert!(r.markdown.contains("## Kernel cross-check"));
    assert!(r
        .markdown
        .contains("| 1 | SYN_SENT | SYN_SENT | 12 | yes |"));
    assert!(r
        .report
        .notices
        .iter()
        .any(|n| n.contains("kernel's own record")));
}

/// `protolab run` without `--out` writes `captures/<id>.pcap` beside `reports/<id>/`:
/// the report must tell how to report the run folder again, not the captures folder.
#[test]
fn reproduce_line_of_a_run_names_the_run_folder_not_the_captures_folder() {
    in_manifest_dir();
    let root = tempfile::tempdir().unwrap();
    let captures = root.path().join("captures");
    let run_dir = root
        .path()
        .join("reports")
        .join("tcp-upper-20261123T120000Z");
    std::fs::create_dir_all(&captures).unwrap();
    std::fs::create_dir_all(&run_dir).unwrap();
    let capture = captures.join("tcp-upper-20261123T120000Z.pcap");
    std::fs::copy("captures/handshake_data_client_close.pcap", &capture).unwrap();
    let run_json = serde_json::json!({
        "run_id": "tcp-upper-20261123T120000Z",
        "scenario": "tcp-upper",
        "command": "protolab run tcp-upper",
        "capture": capture.to_str().unwrap(),
    });
    std::fs::write(run_dir.join("run.json"), run_json.to_string()).unwrap();
    let r = render_report(&load_input(&run_dir).unwrap(), Lang::En);
    let again = format!("protolab report {} --lang en", run_dir.display());
    assert!(
        r.report.summary.reproduce.contains(&again),
        "{:?}",
        r.report.summary.reproduce
    );
    assert!(r.markdown.contains(&again));
    // A capture file is reported as itself.
    let file = render_report(&load_input(&capture).unwrap(), Lang::En);
    let again = format!("protolab report {} --lang en", capture.display());
    assert!(file.report.summary.reproduce.contains(&again));
}

// ---- the command line ------------------------------------------------------

/// `protolab report CAPTURE -o OUT --lang LANG`.
fn report_cli(capture: &str, out: &Path, lang: &str) -> std::process::Output {
    protolab(&[
        "report",
        capture,
        "-o",
        out.to_str().unwrap(),
        "--lang",
        lang,
    ])
}

#[test]
fn cli_writes_the_report_and_exits_2_on_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = report_cli("captures/fast_retransmit.pcap", &out, "zh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## 概要"));

    let o = protolab(&["report", "captures/no_such_file.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no_such_file.pcap"), "{err}");
}

#[test]
fn report_of_a_truncated_file_is_written_says_so_at_the_top_and_exits_2() {
    // Regression: the report exited 0 and did not say it covered only part of the file.
    let dir = tempfile::tempdir().unwrap();
    for (lang, note) in [
        (
            "en",
            "The capture was truncated after frame 5 (its last record is cut short): this report covers the 5 whole frames before the cut.",
        ),
        (
            "zh",
            "抓包文件在第 5 帧之后被截断（最后一条记录不完整）：本报告只涵盖截断之前的 5 个完整帧。",
        ),
    ] {
        let out = dir.path().join(lang);
        let o = report_cli("captures/truncated_file.pcap", &out, lang);
        assert_eq!(o.status.code(), Some(2), "{lang}");
        assert!(!o.stderr.contains(&0x1b), "no ANSI escape on a pipe");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("protolab: captures/truncated_file.pcap is truncated")
                && err.contains(&format!("the report in {}", out.display())),
            "{err}"
        );
        assert_eq!(err.matches("truncated_file.pcap").count(), 1, "{err}");
        for file in ["index.html", "report.md", "report.json"] {
            assert!(out.join(file).is_file(), "{lang}: {file} written");
        }
        assert!(out.join("charts").read_dir().unwrap().next().is_some());
        // Near the top: right under the title, before the summary.
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        let top: Vec<&str> = md.lines().take(3).collect();
        assert!(top[2].contains(note), "{lang}: {top:?}");
        let html = std::fs::read_to_string(out.join("index.html")).unwrap();
        let at = html.find(note).expect("the note in the HTML report");
        assert!(at < html.find("id=\"summary\"").unwrap());
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(json["summary"]["damage"]["after_frame"], 5);
        assert_eq!(json["summary"]["frames"], 5);
    }
}

// ---- in a real browser -------------------------------------------------------

fn browser_report() -> (tempfile::TempDir, PathBuf) {
    browser_report_of("fast_retransmit")
}

fn browser_report_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    in_manifest_dir();
    let dir = tempfile::tempdir().unwrap();
    let input = load_input(&fixture(name)).unwrap();
    let files = write_report(&input, dir.path(), Lang::En).unwrap();
    (dir, files.index_html)
}

#[test]
fn html_report_opens_in_headless_chromium_without_console_errors() {
    if !have(&[CHROMIUM], "html_report_opens_in_headless_chromium") {
        return;
    }
    let (dir, index) = browser_report();
    let url = format!("file://{}", index.display());
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-fast_retransmit.png");
    let _ = std::fs::remove_file(&shot);
    let profile = dir.path().join("profile");
    let out = Command::new(CHROMIUM)
        .args(headless_flags(&profile))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2600",
            &format!("--screenshot={}", shot.display()),
            &url,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed:\n{stderr}");
    assert!(shot.is_file(), "no screenshot:\n{stderr}");
    eprintln!("screenshot: {}", shot.display());
    // Console messages are logged as `CONSOLE(line)` / `console` lines on stderr.
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains(":console"))
        .collect();
    assert!(
        console.is_empty(),
        "console output:\n{}",
        console.join("\n")
    );
    assert!(!stderr.contains("Uncaught"), "{stderr}");

    // The DOM after the script ran: the ladder is there and the player initialised.
    let out = Command::new(CHROMIUM)
        .args(headless_flags(&dir.path().join("profile2")))
        .args(["--dump-dom", &url])
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("id=\"p1-ladder\""), "no ladder SVG in the DOM");
    assert!(
        dom.contains("data-players-ready=\"true\""),
        "player script did not run"
    );
    assert!(
        dom.contains("<b id=\"p1-client-state\">CLOSED</b>"),
        "{dom}"
    );
}

#[test]
fn webdriver_steps_through_the_handshake() {
    if !have(
        &[CHROMIUM, CHROMEDRIVER],
        "webdriver_steps_through_the_handshake",
    ) {
        return;
    }
    let (dir, index) = browser_report();
    let driver = Driver::open(dir.path(), &index);
    let states = |d: &Driver| (d.text("#p1-client-state"), d.text("#p1-server-state"));
    assert_eq!(states(&driver), ("CLOSED".into(), "LISTEN".into()));
    driver.click("#p1-next"); // frame 1: SYN
    assert_eq!(states(&driver), ("SYN_SENT".into(), "SYN_RECEIVED".into()));
    assert!(driver.text("#p1-caption").contains("[S] seq 0"));
    driver.click("#p1-next"); // frame 2: SYN-ACK
    assert_eq!(
        states(&driver),
        ("ESTABLISHED".into(), "SYN_RECEIVED".into())
    );
    driver.click("#p1-next"); // frame 3: ACK
    assert_eq!(
        states(&driver),
        ("ESTABLISHED".into(), "ESTABLISHED".into())
    );
    // The current segment is highlighted, and its layers are shown.
    let class = driver.cmd(
        "POST",
        "/execute/sync",
        Some(serde_json::json!({"script": "return document.getElementById('p1-s2').getAttribute('class');", "args": []})),
    );
    assert!(class.as_str().unwrap().contains("current"), "{class}");
    assert!(driver.text("#p1-layers").contains("TCP"));
    // Keep a picture of the player mid-handshake, to look at.
    driver.cmd(
        "POST",
        "/execute/sync",
        Some(serde_json::json!({"script": "document.getElementById('p1').scrollIntoView();", "args": []})),
    );
    let png = base64_decode(driver.cmd("GET", "/screenshot", None).as_str().unwrap());
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-player.png");
    std::fs::write(&shot, png).unwrap();
    eprintln!("player screenshot: {}", shot.display());
    driver.click("#p1-prev");
    assert_eq!(
        states(&driver),
        ("ESTABLISHED".into(), "SYN_RECEIVED".into())
    );

    // No console errors.
    let severe = driver.console_errors();
    assert!(severe.is_empty(), "console errors: {severe:#?}");
}

impl Driver {
    /// The ids of the player's diagram elements that carry `class`.
    fn ids_with(&self, class: &str) -> Vec<String> {
        let v = self.js(&format!(
            "return Array.from(document.querySelectorAll('#p1-diagram .{class}')).map(e => e.id);"
        ));
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }
}

/// The player's id of the diagram arrow that carries the arc `from → to` taken for `why`.
fn diagram_edge(from: TcpState, to: TcpState, why: Why) -> String {
    let arc = DiagramArc::of(from, to, why).expect("an arc of the diagram");
    let i = Layout::standard().edge_of(arc).expect("drawn");
    format!("p1-e{i}")
}

#[test]
fn webdriver_player_lights_the_state_diagram_as_it_steps() {
    if !have(
        &[CHROMIUM, CHROMEDRIVER],
        "webdriver_player_lights_the_state_diagram_as_it_steps",
    ) {
        return;
    }
    use TcpState::*;
    let (dir, index) = browser_report_of("handshake_data_client_close");
    let driver = Driver::open(dir.path(), &index);
    let lit = |d: &Driver| (d.ids_with("lit-client"), d.ids_with("lit-server"));
    // Before the first packet: the client in CLOSED, the server in LISTEN, no arc taken.
    assert_eq!(
        lit(&driver),
        (vec!["p1-n-CLOSED".into()], vec!["p1-n-LISTEN".into()])
    );
    assert!(driver.ids_with("now-client").is_empty());
    driver.click("#p1-next"); // frame 1: SYN
    assert_eq!(
        lit(&driver),
        (
            vec!["p1-n-SYN_SENT".into()],
            vec!["p1-n-SYN_RECEIVED".into()]
        )
    );
    assert_eq!(
        driver.ids_with("now-client"),
        [diagram_edge(Closed, SynSent, Why::SentSyn)]
    );
    assert_eq!(
        driver.ids_with("now-server"),
        [diagram_edge(Listen, SynReceived, Why::ReceivedSyn)]
    );
    // Lit means seen: the ring and the trace are drawn, not just classed.
    let shown = driver.js(&format!(
        "var e = document.getElementById('{}');
         var ring = document.querySelector('#p1-n-SYN_SENT .ring-client');
         return [getComputedStyle(e.querySelector('.trace-client')).visibility,
                 getComputedStyle(ring).strokeWidth];",
        diagram_edge(Closed, SynSent, Why::SentSyn)
    ));
    assert_eq!(shown, serde_json::json!(["visible", "5px"]));
    driver.click("#p1-next"); // frame 2: SYN-ACK, the client's arc
    assert_eq!(
        driver.ids_with("now-client"),
        [diagram_edge(SynSent, Established, Why::ReceivedSynAck)]
    );
    // The client's first arc is now one taken before.
    assert_eq!(
        driver.ids_with("past-client"),
        [diagram_edge(Closed, SynSent, Why::SentSyn)]
    );
    assert!(driver.ids_with("now-server").is_empty());
    // To the end: the client waits in TIME_WAIT, the server is in the bottom CLOSED box.
    driver.js("var s = document.getElementById('p1-slider'); s.value = s.max; s.dispatchEvent(new Event('input'));");
    assert_eq!(
        lit(&driver),
        (
            vec!["p1-n-TIME_WAIT".into()],
            vec!["p1-n-CLOSED-end".into()]
        )
    );
    // A picture of the lit diagram mid-close, to look at.
    driver.click("#p1-prev");
    driver.js("document.getElementById('p1-diagram').scrollIntoView();");
    let png = base64_decode(driver.cmd("GET", "/screenshot", None).as_str().unwrap());
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-player-diagram.png");
    std::fs::write(&shot, png).unwrap();
    eprintln!("player diagram screenshot: {}", shot.display());
    let severe = driver.console_errors();
    assert!(severe.is_empty(), "console errors: {severe:#?}");
}

/// The Chinese report's player, in a real browser, on a simultaneous close: the
/// diagram is labelled in Chinese, and stepping lights both endpoints in CLOSING
/// (their FINs crossed), then in TIME_WAIT.
#[test]
fn webdriver_zh_player_lights_both_closing_on_a_simultaneous_close() {
    if !have(
        &[CHROMIUM, CHROMEDRIVER],
        "webdriver_zh_player_lights_both_closing_on_a_simultaneous_close",
    ) {
        return;
    }
    in_manifest_dir();
    let dir = tempfile::tempdir().unwrap();
    let input = load_input(&fixture("simultaneous_close")).unwrap();
    let index = write_report(&input, dir.path(), Lang::Zh)
        .unwrap()
        .index_html;
    let driver = Driver::open(dir.path(), &index);
    let labels = driver.js("return document.getElementById('p1-diagram').textContent;");
    let labels = labels.as_str().unwrap();
    assert!(labels.contains("收到对 FIN 的 ACK"), "zh labels: {labels}");
    assert!(
        !labels.contains("rcv ACK of FIN"),
        "English left in: {labels}"
    );
    let lit = |d: &Driver| (d.ids_with("lit-client"), d.ids_with("lit-server"));
    let closing = (
        vec!["p1-n-CLOSING".to_string()],
        vec!["p1-n-CLOSING".to_string()],
    );
    let steps = driver.js("return Number(document.getElementById('p1-slider').max);");
    let steps = steps.as_u64().unwrap();
    let mut saw_closing = false;
    for _ in 0..steps {
        driver.click("#p1-next");
        saw_closing |= lit(&driver) == closing;
    }
    assert!(saw_closing, "no step lit both endpoints in CLOSING");
    assert_eq!(
        lit(&driver),
        (vec!["p1-n-TIME_WAIT".into()], vec!["p1-n-TIME_WAIT".into()])
    );
    let severe = driver.console_errors();
    assert!(severe.is_empty(), "console errors: {severe:#?}");
}

#[test]
fn player_steps_carry_both_endpoints_states_frame_by_frame() {
    in_manifest_dir();
    let input = load_input(&fixture("handshake_data_client_close")).unwrap();
    let r = render_report(&input, Lang::En);
    let c = &r.report.connections[0];
    let steps = protolab::report::player::steps(c, &input.data.frames[&1], Lang::En);
    let states: Vec<(&str, &str)> = steps
        .iter()
        .take(4)
        .map(|s| (s.client.as_str(), s.server.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("CLOSED", "LISTEN"),
            ("SYN_SENT", "SYN_RECEIVED"),
            ("ESTABLISHED", "SYN_RECEIVED"),
            ("ESTABLISHED", "ESTABLISHED"),
        ]
    );
    let last = steps.last().unwrap();
    assert_eq!(
        (last.client.as_str(), last.server.as_str()),
        ("TIME_WAIT", "CLOSED")
    );
    assert_eq!(
        steps.len(),
        13,
        "one step before the first packet, then one per frame"
    );
}

#[test]
fn player_steps_name_the_diagram_boxes_and_the_arcs_taken() {
    use TcpState::*;
    in_manifest_dir();
    let input = load_input(&fixture("handshake_data_client_close")).unwrap();
    let r = render_report(&input, Lang::En);
    let c = &r.report.connections[0];
    let steps = protolab::report::player::steps(c, &input.data.frames[&1], Lang::En);
    let boxes: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s.client_node.as_str(), s.server_node.as_str()))
        .collect();
    assert_eq!(boxes[0], ("CLOSED", "LISTEN"));
    assert_eq!(boxes[1], ("SYN_SENT", "SYN_RECEIVED"));
    assert_eq!(boxes.last().unwrap(), &("TIME_WAIT", "CLOSED-end"));
    // Every transition is an arc taken at its frame's step, on the arrow of its arc.
    let taken: usize = steps.iter().map(|s| s.arcs.len()).sum();
    assert_eq!(taken, c.transitions.len());
    let first: Vec<(&str, String)> = steps[1]
        .arcs
        .iter()
        .map(|a| (a.who, format!("p1-e{}", a.edge)))
        .collect();
    assert_eq!(
        first,
        [
            ("client", diagram_edge(Closed, SynSent, Why::SentSyn)),
            (
                "server",
                diagram_edge(Listen, SynReceived, Why::ReceivedSyn)
            ),
        ]
    );
    // The page draws every box and arrow with the ids the script looks for, in
    // both languages (Chinese captions under the names).
    assert!(r.html.contains("id=\"p1-diagram\""));
    for key in ["CLOSED", "CLOSED-end", "RST-ESTABLISHED", "TIME_WAIT"] {
        assert!(r.html.contains(&format!("id=\"p1-n-{key}\"")), "{key}");
    }
    let zh = render_report(&input, Lang::Zh);
    assert!(zh.html.contains("同步已发送") && zh.html.contains("收 SYN / 发 SYN,ACK"));
    assert!(zh.chart_errors.is_empty(), "{:?}", zh.chart_errors);
    assert!(zh
        .charts
        .iter()
        .any(|(path, _)| path == "charts/flow1-diagram.png"));
}

/// Standard base64 (WebDriver screenshots), without a crate for it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn refused_connection_has_no_seq_graph_and_says_why_in_its_place() {
    // Regression: the report drew a sequence graph of a connection that carried no
    // data, with meaningless y labels.
    in_manifest_dir();
    let input = load_input(&fixture("refused")).unwrap();
    for (lang, note) in [
        (Lang::En, "carried no data bytes in either direction"),
        (Lang::Zh, "两个方向上都没有传输数据字节"),
    ] {
        let r = render_report(&input, lang);
        assert!(r.chart_errors.is_empty(), "{:?}", r.chart_errors);
        assert!(
            !r.charts.iter().any(|(path, _)| path.contains("-seq.")),
            "no seq picture: {:?}",
            r.charts.iter().map(|c| &c.0).collect::<Vec<_>>()
        );
        assert!(
            r.charts
                .iter()
                .any(|(path, _)| path.ends_with("-ladder.svg")),
            "the ladder is still drawn"
        );
        assert!(r.markdown.contains(note), "{}", r.markdown);
        assert!(!r.markdown.contains("-seq.png"), "{}", r.markdown);
        assert!(r.html.contains(note));
        let json: serde_json::Value = serde_json::from_str(&r.json).unwrap();
        let seq = json["connections"][0]["charts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "seq")
            .unwrap();
        assert!(seq["not_drawn"].as_str().unwrap().contains(note), "{seq:#}");
    }
    // A connection with data keeps its graph.
    let input = load_input(&fixture("handshake_data_client_close")).unwrap();
    let r = render_report(&input, Lang::En);
    assert!(r.charts.iter().any(|(path, _)| path.ends_with("-seq.svg")));
}

#[test]
fn half_close_report_plots_the_data_sent_after_the_fin() {
    // Regression: the sequence graph showed only the client's request, not the
    // server's reply sent after the client's FIN.
    in_manifest_dir();
    let input = load_input(&fixture("half_close")).unwrap();
    let r = render_report(&input, Lang::En);
    let (_, seq) = r
        .charts
        .iter()
        .find(|(path, _)| path.ends_with("-seq.svg"))
        .expect("a seq graph");
    let seq = String::from_utf8_lossy(seq);
    assert!(
        seq.contains("client → server segment") && seq.contains("server → client segment"),
        "{seq}"
    );
    assert!(r.html.contains("server → client: 3500 bytes"));
}

// ---- issue 13: what a new user tripped over ----------------------------------

/// A run folder of `run udp-daytime`: a UDP capture and a kernel comparison with
/// no connections, as the lab writes it.
fn udp_run_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "captures/udp_exchange.pcap",
        dir.path().join("capture.pcap"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"run_id":"udp-daytime-20261206T120000Z","scenario":"udp-daytime","command":"protolab run udp-daytime","expectation_met":true,"mismatches":[],"notes":[]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kernel.json"),
        r#"{"source":"tracepoint+sock_diag","sockets":[],"table":[],
            "comparison":{"source":"tracepoint+sock_diag","connections":[],"agree":true}}"#,
    )
    .unwrap();
    dir
}

/// Bug: a UDP run's report had a "Kernel cross-check" section with nothing but
/// its source in it. It now says why: UDP has no connection state.
#[test]
fn udp_run_report_says_udp_has_no_connection_state_in_every_form() {
    in_manifest_dir();
    let dir = udp_run_folder();
    let input = load_input(dir.path()).unwrap();
    for (lang, heading, sentence) in [
        (
            Lang::En,
            "## Kernel cross-check",
            "UDP has no connection state (no handshake, no close, no ESTABLISHED or TIME_WAIT)",
        ),
        (Lang::Zh, "## 内核交叉核对", "UDP 没有连接状态"),
    ] {
        let r = render_report(&input, lang);
        // Markdown: the sentence is in the kernel section, before the next one.
        let at = r.markdown.find(heading).expect(&r.markdown);
        let section = &r.markdown[at + heading.len()..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        assert!(section.contains(sentence), "{lang:?}: {section}");
        // HTML: the same, in the kernel section.
        let at = r
            .html
            .find("<section id=\"kernel\">")
            .expect("kernel section");
        let section = &r.html[at..at + r.html[at..].find("</section>").unwrap()];
        assert!(section.contains(sentence), "{lang:?}: {section}");
        // JSON: beside the empty comparison.
        let json: serde_json::Value = serde_json::from_str(&r.json).unwrap();
        assert!(
            json["kernel_note"].as_str().unwrap().contains(sentence),
            "{lang:?}: {}",
            json["kernel_note"]
        );
    }
    // A TCP capture's report has no such note.
    let tcp = render_report(&load_input(&fixture("fast_retransmit")).unwrap(), Lang::En);
    assert!(!tcp.markdown.contains("UDP has no connection state"));
}

/// Bug: a UDP stream's data was counted in "segments with data".
#[test]
fn udp_stream_data_is_counted_in_datagrams() {
    in_manifest_dir();
    let input = load_input(&fixture("udp_exchange")).unwrap();
    let en = render_report(&input, Lang::En).markdown;
    let line = en.lines().find(|l| l.starts_with("- **Data**")).expect(&en);
    assert!(line.contains("datagrams with data"), "{line}");
    assert!(!en.contains("segments with data"), "{en}");
    let zh = render_report(&input, Lang::Zh).markdown;
    assert!(zh.contains("个携带数据的数据报"), "{zh}");
    assert!(!zh.contains("报文段"), "{zh}");
}

/// Bug: a chat capture's "What to notice" said nothing about the length-prefix
/// framing. The recorded 3-client chat has a segment with 3 messages (frame 38).
#[test]
fn chat_report_points_at_the_length_prefix_framing() {
    in_manifest_dir();
    let input = load_input(Path::new("captures/recorded_chat_3clients.pcap")).unwrap();
    let r = render_report(&input, Lang::En);
    let notices = &r.report.notices;
    assert!(
        notices[0].starts_with(
            "Connection 1: every chat message is a 4-byte big-endian length, then that many bytes of JSON. Frame 12 carries a RegisterMes: its payload starts with 00 00 00 63 (99 in decimal)"
        ),
        "{notices:#?}"
    );
    assert!(
        notices.iter().any(|n| n
            == "Connection 3: frame 38 is one TCP segment carrying 3 chat messages (NotifyUserStatusMes, SmsMes, PrivateMes): the receiver cuts them apart at their length prefixes, not at segment boundaries."),
        "{notices:#?}"
    );
    let zh = render_report(&input, Lang::Zh);
    assert!(
        zh.markdown
            .contains("第 38 帧是一个 TCP 报文段，却携带了 3 条聊天消息"),
        "{}",
        zh.markdown
    );
    // A capture without chat gets none of it.
    let plain = render_report(&load_input(&fixture("fast_retransmit")).unwrap(), Lang::En);
    assert!(!plain.markdown.contains("length prefix"));
}

/// Bug: "1 more connections are not detailed", "1 more flagged frames are not
/// listed", "1 frames: long data phase folded".
#[test]
fn counts_under_the_sections_agree_with_their_number() {
    in_manifest_dir();
    let input = load_input(&fixture("fast_retransmit")).unwrap();
    let mut report = render_report(&input, Lang::En).report;
    report.omitted_connections = 1;
    report.anomalies_omitted = 1;
    report.connections[0].folded = 1;
    let md = protolab::report::markdown::render_markdown(&report, Lang::En);
    for line in [
        "_1 more connection is not detailed (only the first ones are)_",
        "_1 more flagged frame is not listed_",
        "- 1 frame: long data phase folded in the charts and the player",
    ] {
        assert!(md.contains(line), "no {line:?} in\n{md}");
    }
    report.omitted_connections = 3;
    report.connections[0].folded = 120;
    let md = protolab::report::markdown::render_markdown(&report, Lang::En);
    assert!(md.contains("_3 more connections are not detailed"), "{md}");
    assert!(md.contains("- 120 frames: long data phase folded"), "{md}");
}

/// Bug: the player said "Payload 1 bytes" for a zero-window probe's one byte.
#[test]
fn player_counts_a_one_byte_payload_in_the_singular() {
    in_manifest_dir();
    let input = load_input(&fixture("zero_window")).unwrap();
    let r = render_report(&input, Lang::En);
    assert!(
        r.html.contains(r#""Payload","1 byte""#),
        "no one-byte payload"
    );
    assert!(!r.html.contains("\"1 bytes\""), "a plural for one byte");
}

#[test]
fn a_connect_that_timed_out_is_explained_with_its_backoff() {
    in_manifest_dir();
    let input = load_input(&PathBuf::from("captures/connect_timeout.pcapng")).unwrap();
    for (lang, notice, why) in [
        (
            Lang::En,
            "The client sent it 3 times, 1.0 s, 2.0 s apart",
            "no answer to its SYN: the connect timed out",
        ),
        (
            Lang::Zh,
            "客户端共发送 3 次 SYN，间隔 1.0 秒、2.0 秒",
            "自己的 SYN 始终没有回应",
        ),
    ] {
        let r = render_report(&input, lang);
        assert!(r.chart_errors.is_empty(), "{:?}", r.chart_errors);
        assert!(r.markdown.contains(notice), "{}", r.markdown);
        // The transition table has the timer's arc, at the last SYN.
        assert!(r.markdown.contains(why), "{}", r.markdown);
        assert!(r.html.contains(notice));
    }
}

#[test]
fn grpc_report_shows_each_stream_with_its_call_frames_and_end() {
    in_manifest_dir();
    let input = load_input(&fixture("recorded_grpc")).unwrap();
    let streams: Vec<_> = input
        .http2_streams
        .iter()
        .map(|s| {
            let reset = s.reset.as_ref().map(|r| (r.code.0.as_str(), r.by_server));
            (s.stream, s.path.as_deref(), s.grpc_status, reset)
        })
        .collect();
    assert_eq!(
        streams,
        [
            (0, None, None, None),
            (1, Some("/greet.Greeter/SayHello"), Some(0), None),
            (3, Some("/greet.Greeter/Countdown"), Some(0), None),
            (5, Some("/greet.Greeter/Echo"), Some(0), None),
            (
                7,
                Some("/greet.Greeter/Slow"),
                None,
                Some(("CANCEL", false))
            ),
        ]
    );
    // Frames in capture order, each in its own stream only.
    let slow = &input.http2_streams[4];
    let kinds: Vec<_> = slow.frames.iter().map(|f| (f.frame, f.kind)).collect();
    assert_eq!(
        kinds,
        [
            (25, "HEADERS"),
            (27, "DATA"),
            (27, "DATA"),
            (29, "RST_STREAM")
        ]
    );
    let en = render_report(&input, Lang::En);
    for row in [
        "| 0 | the connection (stream 0) | 4 SETTINGS ←, 8 WINDOW_UPDATE ←, 9 SETTINGS →, 9 SETTINGS →, 9 WINDOW_UPDATE →, 10 SETTINGS ←, 31 GOAWAY → | closed by the client: GOAWAY NO_ERROR (0), #31 |",
        "| 1 | /greet.Greeter/SayHello | 11 HEADERS →, 13 DATA →, 13 DATA →, 15 HEADERS ←, 15 DATA ←, 15 HEADERS ← | grpc-status 0 (OK) |",
        "| 7 | /greet.Greeter/Slow | 25 HEADERS →, 27 DATA →, 27 DATA →, 29 RST_STREAM → | reset by the client: RST_STREAM CANCEL (8), #29 |",
    ] {
        assert!(en.markdown.contains(row), "{row} not in\n{}", en.markdown);
    }
    assert!(
        en.html.contains("<h4>HTTP&#x2f;2 streams</h4>"),
        "{}",
        en.html
    );
    assert!(en.json.contains("\"http2_streams\""));
    let zh = render_report(&input, Lang::Zh);
    assert!(zh.markdown.contains("#### HTTP/2 流"), "{}", zh.markdown);
    assert!(zh.markdown.contains("| 7 | /greet.Greeter/Slow | 25 HEADERS →, 27 DATA →, 27 DATA →, 29 RST_STREAM → | 被客户端重置：RST_STREAM CANCEL (8), #29 |"), "{}", zh.markdown);
}
