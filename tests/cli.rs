//! The `protolab` binary end to end: whole outputs against golden files, exit
//! codes, errors. Set `PROTOLAB_BLESS=1` to rewrite the golden files after an
//! intended change, then review the diff.

mod common;

use std::process::Command;

use common::protolab;

/// Compares `actual` with the golden file, printing both in full on mismatch.
fn assert_golden(name: &str, actual: &str) {
    common::assert_golden("", name, actual);
}

fn stdout_ok(args: &[&str]) -> String {
    let out = protolab(args);
    assert!(
        out.status.success(),
        "protolab {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Fixtures whose whole `inspect` and `flows` outputs are pinned.
const GOLDEN: &[&str] = &[
    "handshake_data_client_close",
    "simultaneous_open",
    "simultaneous_close",
    "refused",
    "fast_retransmit",
    "zero_window",
    "ipv6",
    "vlan",
    "arp",
    "fragments",
    "malformed",
    "udp_exchange",
    "midstream",
    "udp_probe_loss",
];

#[test]
fn inspect_and_flows_match_golden_outputs() {
    for name in GOLDEN {
        let file = format!("captures/{name}.pcap");
        assert_golden(
            &format!("{name}.inspect.txt"),
            &stdout_ok(&["inspect", &file]),
        );
        assert_golden(
            &format!("{name}.inspect.ndjson"),
            &stdout_ok(&["inspect", "--json", &file]),
        );
        assert_golden(&format!("{name}.flows.txt"), &stdout_ok(&["flows", &file]));
        assert_golden(
            &format!("{name}.flows.ndjson"),
            &stdout_ok(&["flows", "--json", &file]),
        );
    }
}

#[test]
fn json_lines_are_valid_json_with_the_contract_fields() {
    let out = stdout_ok(&[
        "inspect",
        "--json",
        "captures/handshake_data_client_close.pcap",
    ]);
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        for key in ["frame", "ts", "caplen", "len", "eth", "ip", "tcp", "flow"] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        assert!(v["ts"].is_number());
        assert!(v["tcp"]["flags"].is_array());
    }
    let flows = stdout_ok(&[
        "flows",
        "--json",
        "captures/handshake_data_client_close.pcap",
    ]);
    let v: serde_json::Value = serde_json::from_str(flows.trim()).unwrap();
    assert_eq!(v["client"], "198.18.0.1:40000");
    assert_eq!(v["client_states"][0], "CLOSED");
    assert_eq!(v["server_states"][0], "LISTEN");
    assert_eq!(v["conn_state"], "SF");
    assert!(v["rtt_ms"]["handshake"].is_number());
}

#[test]
fn bpf_filter_shows_matching_frames_but_states_stay_right() {
    let all = stdout_ok(&["inspect", "captures/malformed.pcap"]);
    let udp = stdout_ok(&["inspect", "-f", "udp", "captures/malformed.pcap"]);
    assert!(udp.lines().count() < all.lines().count());
    assert!(udp.lines().all(|l| l.contains(" UDP ")), "{udp}");
    // Only the SYN-ACK matches, yet the server's state change is still inferred.
    let synack = stdout_ok(&[
        "inspect",
        "-f",
        "tcp[13] == 0x12",
        "captures/handshake_data_client_close.pcap",
    ]);
    assert_eq!(synack.lines().count(), 1);
    assert!(
        synack.contains("client SYN_SENT -> ESTABLISHED"),
        "{synack}"
    );
}

#[test]
fn dash_reads_the_capture_from_standard_input() {
    let file = std::fs::File::open(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures/format_pcapng_multi_if.pcapng"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(["flows", "--json", "-"])
        .stdin(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same records, but for the capture's name: `-` as given.
    let piped = String::from_utf8(out.stdout).unwrap().replace(
        r#""capture":"-""#,
        r#""capture":"captures/format_pcapng_multi_if.pcapng""#,
    );
    assert_eq!(
        piped,
        stdout_ok(&["flows", "--json", "captures/format_pcapng_multi_if.pcapng"])
    );
}

#[test]
fn limit_stops_early() {
    let out = stdout_ok(&["inspect", "--limit", "3", "captures/fast_retransmit.pcap"]);
    assert_eq!(out.lines().count(), 3);
    // As tcpdump -c 0: a limit of nothing is a usage error, not one frame.
    let zero = protolab(&["inspect", "--limit", "0", "captures/fast_retransmit.pcap"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(zero.stdout.is_empty());
}

#[test]
fn bpf_filter_works_on_raw_ip_and_mixed_pcapng() {
    // LINKTYPE_RAW (101) must reach libpcap's compiler as DLT_RAW.
    for file in [
        "captures/linktype_raw101.pcap",
        "captures/format_pcapng_multi_if.pcapng",
    ] {
        let all = stdout_ok(&["inspect", file]);
        let tcp = stdout_ok(&["inspect", "-f", "tcp", file]);
        assert!(!tcp.is_empty(), "{file}");
        assert_eq!(
            tcp.lines().count(),
            all.lines().filter(|l| l.contains(" TCP ")).count(),
            "{file}"
        );
    }
}

#[test]
fn flows_says_when_there_is_nothing_to_show_and_what_did_not_decode() {
    let arp = protolab(&["flows", "captures/arp.pcap"]);
    assert!(arp.status.success());
    assert!(
        String::from_utf8_lossy(&arp.stderr).contains("no TCP or UDP flows in"),
        "{}",
        String::from_utf8_lossy(&arp.stderr)
    );
    let malformed = protolab(&["flows", "--json", "captures/malformed.pcap"]);
    assert!(malformed.status.success());
    let err = String::from_utf8_lossy(&malformed.stderr);
    assert!(err.contains("frames could not be decoded (frame "), "{err}");
    // A clean capture gets no note at all.
    let clean = protolab(&["flows", "captures/handshake_data_client_close.pcap"]);
    assert!(clean.stderr.is_empty());
}

#[test]
fn flows_proto_filter() {
    let out = stdout_ok(&[
        "flows",
        "--json",
        "--proto",
        "udp",
        "captures/malformed.pcap",
    ]);
    assert_eq!(out.lines().count(), 1);
    assert!(out.contains("\"proto\":\"udp\""));
}

#[test]
fn truncated_file_prints_whole_frames_then_exits_2() {
    let out = protolab(&["inspect", "captures/truncated_file.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is truncated: the record after frame 5 is cut short"),
        "{err}"
    );
}

#[test]
fn bad_inputs_exit_2_with_a_message_that_says_what_to_do() {
    let missing = protolab(&["flows", "captures/does-not-exist.pcap"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("cannot open captures/does-not-exist.pcap"));

    let not_capture = protolab(&["inspect", "README.md"]);
    assert_eq!(not_capture.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_capture.stderr).contains("is not a pcap or pcapng file"));

    let bad_filter = protolab(&["inspect", "-f", "tcp port", "captures/arp.pcap"]);
    assert_eq!(bad_filter.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_filter.stderr).contains("cannot compile filter"));

    let usage = protolab(&["inspect"]);
    assert_eq!(usage.status.code(), Some(2));

    // report reads its capture more than once: it asks for a file, not stdin.
    let stdin = protolab(&["report", "-"]);
    assert_eq!(stdin.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stdin.stderr).contains("not standard input"));

    // The OS error is said once, not once by us and again by its cause.
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn a_capture_cut_in_its_header_or_claiming_a_giant_record_is_named_so() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/udp_exchange.pcap"),
    )
    .unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &whole[..20]).unwrap();
    let out = protolab(&["inspect", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut short inside its file header (only 20 bytes)"),
        "{err}"
    );
    // A valid header, then a record header claiming 4 GiB: corrupt, as tcpdump says.
    let giant = dir.path().join("giant.pcap");
    let mut bytes = whole[..24].to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfa, 0, 0, 0, 0]);
    std::fs::write(&giant, bytes).unwrap();
    let out = protolab(&["inspect", giant.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is corrupt after frame 0: a record claims"),
        "{err}"
    );
}

/// Bug: `--clients 0` silently ran one client.
#[test]
fn zero_clients_and_a_capture_on_port_0_are_usage_errors() {
    for command in ["run", "client"] {
        let out = protolab(&[command, "tcp-upper", "--clients", "0"]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--clients"), "{command}: {err}");
    }
    // A capture filter cannot name a port the kernel has not picked yet.
    let out = protolab(&[
        "serve",
        "tcp-upper",
        "--listen",
        "127.0.0.1:0",
        "--capture",
        "never-written.pcap",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--capture needs a fixed port"));
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // `protolab scenarios | head -1`: the reader goes away; no panic, exit 0.
    for args in [
        &["scenarios"][..],
        &["inspect", "captures/fast_retransmit.pcap"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_protolab"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn completions_are_generated() {
    let out = stdout_ok(&["completions", "bash"]);
    assert!(out.contains("protolab"));
    assert!(out.contains("inspect"));
}

#[test]
fn a_connect_that_timed_out_is_said_after_the_last_frame() {
    let file = "captures/connect_timeout.pcapng";
    assert_golden(
        "connect_timeout.inspect.txt",
        &stdout_ok(&["inspect", file]),
    );
    assert_golden(
        "connect_timeout.inspect.ndjson",
        &stdout_ok(&["inspect", "--json", file]),
    );
    assert_golden(
        "connect_timeout.flows.ndjson",
        &stdout_ok(&["flows", "--json", file]),
    );
    // Stopped before the end, or showing none of the flow's frames: nothing is
    // known about the end, so nothing is said.
    for args in [
        &["inspect", "--limit", "13", file][..],
        &["inspect", "-f", "arp", file],
    ] {
        let out = stdout_ok(args);
        assert!(!out.contains("end of capture"), "{args:?}: {out}");
    }
}

#[test]
fn scenarios_list_the_diagram_arcs_they_demonstrate() {
    let lines: Vec<serde_json::Value> = stdout_ok(&["scenarios", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let scenario = |id: &str| {
        lines
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .clone()
    };
    let to_closed = |id: &str| {
        scenario(id)["arcs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["from"] == "SYN_SENT" && a["to"] == "CLOSED")
            .unwrap_or_else(|| panic!("{id}: no SYN_SENT → CLOSED"))
            .clone()
    };
    // The same two states, two different arcs: a timer and a segment.
    assert_eq!(to_closed("connect-timeout")["trigger"], "timer");
    assert_eq!(to_closed("refused")["trigger"], "segment");
    assert_eq!(scenario("connect-timeout")["network"], "lab");
    assert_eq!(scenario("tcp-upper")["network"], "loopback");
    assert_eq!(scenario("udp-daytime")["arcs"], serde_json::json!([]));
    let text = stdout_ok(&["scenarios"]);
    assert!(
        text.contains("arcs: CLOSED → LISTEN (passive open) · CLOSED → SYN_SENT"),
        "{text}"
    );
    assert!(stdout_ok(&["scenarios", "--lang", "zh"]).contains("状态图弧: "));
    // The docs' coverage table is this output, verbatim.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/state-diagram.md"),
    )
    .unwrap();
    assert!(doc.contains(&stdout_ok(&["scenarios", "--arcs"])));
}
