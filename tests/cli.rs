//! The `protolab` binary end to end: whole outputs against golden files, exit
//! codes, errors. Set `PROTOLAB_BLESS=1` to rewrite the golden files after an
//! intended change, then review the diff.

mod common;

use std::process::{Command, Output};

fn protolab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run protolab")
}

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
    let piped = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        piped,
        stdout_ok(&["flows", "--json", "captures/format_pcapng_multi_if.pcapng"])
    );
}

#[test]
fn limit_stops_early() {
    let out = stdout_ok(&["inspect", "--limit", "3", "captures/fast_retransmit.pcap"]);
    assert_eq!(out.lines().count(), 3);
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
}

/// Bug: `--clients 0` silently ran one client.
#[test]
fn zero_clients_is_a_usage_error() {
    for command in ["run", "client"] {
        let out = protolab(&[command, "tcp-upper", "--clients", "0"]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--clients"), "{command}: {err}");
    }
}

#[test]
fn completions_are_generated() {
    let out = stdout_ok(&["completions", "bash"]);
    assert!(out.contains("protolab"));
    assert!(out.contains("inspect"));
}
