//! `protolab run --netns` end to end (needs root): every scenario in the two
//! namespaces through the bridge with loss and delay, and the lab network gone
//! after Ctrl-C, and after SIGKILL once `protolab lab clean` has run.
//! Without root the test is skipped with a message, unless
//! `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where it fails.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use protolab::capture::FileReader;
use protolab::lab::impair::{ImpairConfig, Loss};
use protolab::lab::netns;
use protolab::lab::run::{run, LinkSettings, RunConfig};
use protolab::scenario::{self, Params, ScenarioName};

#[test]
fn netns_runs_and_cleanup() {
    if !common::require_root("netns run tests", "network namespaces, AF_PACKET") {
        return;
    }
    every_scenario_runs_through_a_lossy_bridge();
    ctrl_c_removes_the_lab_network_and_keeps_the_capture();
    sigkill_leftovers_are_removed_by_lab_clean();
}

fn every_scenario_runs_through_a_lossy_bridge() {
    let dir = tempfile::tempdir().unwrap();
    // The crossing scenarios choose their own link (tests/crossing.rs runs them):
    // a lost SYN or FIN would be resent a timeout later, and no longer cross.
    for &name in ScenarioName::all().iter().filter(|n| !n.crosses()) {
        let info = scenario::info(name);
        let params = Params {
            clients: if name == ScenarioName::TcpUpper { 2 } else { 1 },
            recv_dir: dir.path().join("received"),
            ..Params::default()
        };
        let config = RunConfig {
            scenario: name,
            params,
            port: None,
            out_dir: Some(dir.path().to_path_buf()),
            timeout: Duration::from_secs(30),
            command: format!(
                "protolab run {} --netns --loss 5 --delay 20ms --seed 7",
                info.id
            ),
            snaplen: None,
            lang: protolab::chart::Lang::En,
            netns: Some(LinkSettings {
                impair: ImpairConfig {
                    loss: Loss::Bernoulli { p: 0.05 },
                    delay_ns: 20_000_000,
                    ..ImpairConfig::default()
                },
                seed: 7,
            }),
        };
        let outcome = run(&config, &|| false).unwrap_or_else(|e| panic!("{}: {e}", info.id));
        let text = protolab::lab::summary::render(&outcome);
        assert!(
            outcome.mismatches.is_empty(),
            "{}: expectations failed\n{text}",
            info.id
        );
        assert!(
            outcome.kernel.agree,
            "{}: kernel disagrees\n{text}",
            info.id
        );
        let bridge = outcome.bridge.as_ref().expect("a bridge report");
        assert_eq!(bridge.frames_recorded, outcome.stats.frames);
        assert!(outcome
            .capture_path
            .extension()
            .is_some_and(|e| e == "pcapng"));

        // The first IPv4-family frame is ARP: the client resolves the server for
        // real. (IPv6 multicast listener reports may come earlier: the namespaces'
        // interfaces have just come up.)
        let first = FileReader::open(&outcome.capture_path)
            .unwrap()
            .map(|f| f.unwrap())
            .find(|f| f.bytes.len() > 14 && f.bytes[12..14] != [0x86, 0xdd])
            .expect("frames");
        assert_eq!(
            &first.bytes[12..14],
            &[0x08, 0x06],
            "{}: the first IPv4-family frame is not ARP",
            info.id
        );
        for f in &outcome.flows {
            let json = serde_json::to_value(f).unwrap();
            if json["proto"] == "tcp" || json["proto"] == "udp" {
                assert!(
                    json["client"].as_str().unwrap().starts_with("198.18.0.1:"),
                    "{json}"
                );
                assert!(
                    json["server"].as_str().unwrap().starts_with("198.18.0.2:"),
                    "{json}"
                );
            }
        }
        // The round trip includes both directions' 20 ms.
        if let Some(rtt) = outcome
            .flows
            .iter()
            .filter_map(|f| serde_json::to_value(f).unwrap()["rtt_ms"]["handshake"].as_f64())
            .next()
        {
            assert!(
                rtt >= 39.0,
                "{}: handshake RTT {rtt} ms under 2×20 ms",
                info.id
            );
        }
        let run_json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(outcome.report_dir.join("run.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(run_json["network"], "netns");
        assert_eq!(run_json["link"]["seed"], 7);
        assert!(outcome.report_dir.join("bridge.json").is_file());
        // The lab report opens with the ARP exchange (the notes' 链路层).
        let html = std::fs::read_to_string(outcome.report_dir.join("index.html")).unwrap();
        assert!(
            html.contains("id=\"link-layer\""),
            "{}: no link-layer ladder",
            info.id
        );
        if name == ScenarioName::FileTransfer {
            kernel_congestion_control_beside_the_packets(&outcome.report_dir, &outcome.flows);
        }
        assert!(netns::leftovers().is_empty(), "{:?}", netns::leftovers());
    }
}

/// A lossy file transfer: kernel.json has the kernel's congestion control of the
/// sending socket (tcp_probe, cong_state, kernel_retransmissions, no lost event),
/// and the report puts it beside the packets (window chart, dynamics lines).
fn kernel_congestion_control_beside_the_packets(
    dir: &Path,
    flows: &[protolab::analyze::FlowSummary],
) {
    let kernel: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kernel.json")).unwrap()).unwrap();
    let trace = &kernel["tcp_trace"];
    assert_eq!(trace["traced"], true, "{trace}");
    assert_eq!(trace["lost_events"], 0, "{trace}");
    // The sender: whichever end sent the file.
    let f = &flows[0];
    let client_sends = f.bytes.client >= f.bytes.server;
    let sender = if client_sends { f.client } else { f.server }.to_string();
    // A kernel.json section's entries for the socket at `local`.
    let of_socket = |key: &str, local: &str| -> Vec<serde_json::Value> {
        kernel[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["local"] == local)
            .cloned()
            .collect()
    };
    let probes = of_socket("tcp_probe", &sender);
    // tcp_probe fires only while the socket is ESTABLISHED: this sender writes
    // 64 KiB and closes at once, so only the first ACK or so is probed.
    assert!(
        probes
            .iter()
            .any(|p| !p["samples"].as_array().unwrap().is_empty()),
        "the sender's ACKs fire tcp_probe: {probes:?}"
    );
    let states: Vec<String> = kernel["cong_state"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["changes"].as_array().unwrap().clone())
        .map(|c| c["state"].as_str().unwrap().to_string())
        .collect();
    assert!(
        states.iter().any(|s| s == "Open"),
        "every established socket starts Open: {states:?}"
    );
    // The capture is the client's sending view (the bridge drops after it): its
    // resends are the kernel's.
    let client = f.client.to_string();
    let kernel_resent: u64 = of_socket("kernel_retransmissions", &client)
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    let seen = f
        .tcp
        .as_ref()
        .unwrap()
        .retransmitted_segments_sender_view
        .client;
    // The client's socket counted its resent segments itself (tcp_info, read
    // when the transfer was over): the packets' count, within 2%.
    let socket_resent: Vec<u64> = of_socket("tcp_info", &client)
        .iter()
        .map(|r| r["total_retrans"].as_u64().unwrap())
        .collect();
    assert_eq!(socket_resent.len(), 1, "{}", kernel["tcp_info"]);
    assert!(
        socket_resent[0].abs_diff(seen) as f64 <= seen as f64 * 0.02,
        "the socket's resent segments ({}) against the packets' ({seen})",
        socket_resent[0]
    );
    // tcp_retransmit_skb fires per buffer resent, and a GSO buffer may carry
    // several segments: at most the socket's count.
    assert!(
        kernel_resent <= socket_resent[0] && (seen == 0 || kernel_resent > 0),
        "the kernel's retransmitted buffers ({kernel_resent}) against its segments ({})",
        socket_resent[0]
    );

    // Which socket logs its initial Open varies from run to run; the report
    // lists the states of each socket that has some.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("The kernel's congestion states of the ")
            && md.contains("(tcp_cong_state_set): Open at "),
        "{md}"
    );
    assert!(
        md.contains("by the socket's own count (tcpi_total_retrans)"),
        "{md}"
    );
    let svg = std::fs::read_to_string(dir.join("charts/flow1-window.svg")).unwrap();
    assert!(svg.contains("kernel&apos;s cwnd") || svg.contains("kernel's cwnd"));
}

fn spawn_long_run(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args([
            "run",
            "file-transfer",
            "--netns",
            "--bytes",
            "100000000",
            "--rate",
            "20mbit",
            "--timeout",
            "60",
            "-o",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the child's namespaces exist.
fn wait_for_lab(child: &mut Child) {
    common::wait::wait_until(Duration::from_secs(20), "the lab network exists", || {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        netns::leftovers().len() >= 4
    });
}

/// Waits until the run's capture holds well over 100 frames: its file has grown past
/// 200 KB, and no frame of the lab's 1,500-byte links takes more than 1.6 KB there.
fn wait_for_frames(child: &mut Child, dir: &Path) {
    let captured = || -> u64 {
        let runs = std::fs::read_dir(dir).into_iter().flatten().flatten();
        runs.filter_map(|run| std::fs::metadata(run.path().join("capture.pcapng")).ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0)
    };
    common::wait::wait_until(Duration::from_secs(30), "the transfer is under way", || {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        captured() > 200_000
    });
}

fn ctrl_c_removes_the_lab_network_and_keeps_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_long_run(dir.path());
    wait_for_lab(&mut child);
    wait_for_frames(&mut child, dir.path());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "exit code after Ctrl-C");
    assert!(netns::leftovers().is_empty(), "{:?}", netns::leftovers());
    // The capture was flushed and is whole: every frame reads back.
    let run_dir = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut frames = 0;
    for frame in FileReader::open(run_dir.join("capture.pcapng")).unwrap() {
        frame.expect("a whole capture");
        frames += 1;
    }
    assert!(frames > 100, "only {frames} frames");
}

fn sigkill_leftovers_are_removed_by_lab_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_long_run(dir.path());
    wait_for_lab(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !netns::leftovers().is_empty(),
        "SIGKILL leaves the namespaces behind"
    );
    let out = common::protolab(&["lab", "clean"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(netns::leftovers().is_empty(), "{:?}", netns::leftovers());
}
