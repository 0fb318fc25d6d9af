//! The `grpc` scenario's capture, cross-checked against Wireshark: `protolab
//! run grpc` (libpcap on `lo`, so root), then for every frame the HTTP/2
//! frames' types and stream ids, the `:path` values and the `grpc-status`
//! values of `inspect --json` must equal tshark's
//! (`-d tcp.port==PORT,http2 -Y http2`).
//!
//! Needs root and tshark; without tshark the test checks only its own
//! expectations, unless `PROTOLAB_REQUIRE_TSHARK=1` (set in CI), where it fails.

mod common;

use std::path::Path;
use std::process::Command;

use common::http2_view::{fields_ours, fields_theirs, ours, theirs};
use common::tshark::tshark_available;
use serde_json::Value;

#[test]
fn a_grpc_run_matches_tshark_frame_by_frame() {
    if !common::require_root("the grpc tshark test", "libpcap on lo for `run grpc`") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(["run", "grpc", "--port", "0", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{said}");
    let mut files = Vec::new();
    common::files_under(dir.path(), &mut files);
    let capture = files
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .expect("the run wrote a capture");
    let got = ours(&capture);
    let frames: Vec<(u64, u64)> = got.values().flat_map(|f| f.0.clone()).collect();
    // Five calls on five client streams, the first frame SETTINGS.
    assert_eq!(frames.first(), Some(&(4, 0)), "{got:?}");
    for stream in [1, 3, 5, 7, 9] {
        assert!(
            frames.iter().any(|&(t, s)| t == 1 && s == stream),
            "HEADERS on {stream}: {got:?}"
        );
    }
    assert!(
        frames.contains(&(3, 7)),
        "the deadline's RST_STREAM on stream 7: {got:?}"
    );
    assert!(
        !frames.contains(&(3, 9)),
        "the server answers stream 9 before the client's deadline: {got:?}"
    );
    let paths: Vec<String> = got.values().flat_map(|f| f.1.clone()).collect();
    assert_eq!(
        paths,
        [
            "/greet.Greeter/SayHello",
            "/greet.Greeter/Countdown",
            "/greet.Greeter/Echo",
            "/greet.Greeter/Slow",
            "/greet.Greeter/Deadline"
        ]
    );
    let statuses: Vec<String> = got.values().flat_map(|f| f.2.clone()).collect();
    assert_eq!(
        statuses,
        ["0", "0", "0", "4"],
        "three calls end with grpc-status 0, the watched deadline with 4"
    );
    if tshark_available() {
        let port = port_of(&capture);
        assert_eq!(got, theirs(&capture, port));
    }
}

/// A recorded run, where the server's SETTINGS came before the client's
/// preface and the client's bare ACK between them (the dissector once took
/// the preface for a frame there).
#[test]
fn a_recorded_grpc_run_matches_tshark_frame_by_frame() {
    let capture = common::capture("recorded_grpc.pcap");
    let got = ours(&capture);
    assert_eq!(got[&4].0, [(4, 0)], "the server's SETTINGS come first");
    assert_eq!(got[&11].1, ["/greet.Greeter/SayHello"]);
    assert_eq!(got[&29].0, [(3, 7)], "RST_STREAM on stream 7");
    if tshark_available() {
        assert_eq!(got, theirs(&capture, 50051));
    }
}

/// The gRPC messages' protobuf, decoded with the greeter's generated types,
/// field for field as tshark decodes them with `proto/greeter.proto`.
#[test]
fn recorded_grpc_messages_decode_as_tshark_decodes_them_with_the_proto() {
    let capture = common::capture("recorded_grpc.pcap");
    let got = fields_ours(&capture);
    let row = |t: &str, n: &str, text: &str| {
        let hex = text.bytes().map(|b| format!("{b:02x}")).collect();
        (t.to_string(), n.to_string(), hex)
    };
    assert_eq!(got[&13], [row("greet.HelloRequest", "name", "protolab")]);
    assert_eq!(got[&27], [row("greet.HelloRequest", "name", "slow")]);
    assert_eq!(
        got[&20].iter().map(|r| r.2.as_str()).collect::<Vec<_>>(),
        ["03", "02", "01"],
        "three Ticks in one DATA frame"
    );
    if tshark_available() {
        assert_eq!(got, fields_theirs(&capture, 50051));
    }
}

/// The server's port: where the first SYN goes.
fn port_of(capture: &Path) -> u16 {
    let out = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(["inspect".as_ref(), "--json".as_ref(), capture.as_os_str()])
        .output()
        .unwrap();
    let first: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    first["tcp"]["dport"].as_u64().unwrap() as u16
}
