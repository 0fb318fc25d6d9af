//! TCP dynamics in `flows --json` on the committed captures: the sender-view
//! retransmission count, bytes in flight per sender, and the inferred phases.

mod common;

use common::protolab;
use serde_json::Value;

fn flow(file: &str) -> Value {
    let out = protolab(&["flows", "--json", file]);
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sender_view_counts_every_resend_whatever_wireshark_calls_it() {
    // Frame 8 resends 1001..2001 after 2001..3001 went out: Wireshark, made for a
    // capture point in mid-path, calls it out-of-order, not a retransmission.
    let f = flow("captures/out_of_order.pcap");
    assert_eq!(
        (f["retransmissions"].as_u64(), f["out_of_order"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(
        f["retransmitted_segments_sender_view"],
        serde_json::json!({"client": 1, "server": 0})
    );
    // A resent SYN counts too (its sequence number was sent before).
    let f = flow("captures/lost_syn.pcap");
    assert_eq!(f["retransmitted_segments_sender_view"]["client"], 1);
    // No resend, no count.
    let f = flow("captures/handshake_data_client_close.pcap");
    assert_eq!(
        f["retransmitted_segments_sender_view"],
        serde_json::json!({"client": 0, "server": 0})
    );
}

#[test]
fn bytes_in_flight_max_and_mean_per_sender() {
    // Client data with a figure: frame 4 (1000) and the retransmission in frame 13
    // (1001..6001 unacknowledged, 3000 of it SACKed: 2000). Frames 5–8 follow a hole
    // and have none, as in Wireshark.
    let f = flow("captures/fast_retransmit.pcap");
    assert_eq!(
        f["bytes_in_flight"],
        serde_json::json!({"client": {"max": 2000, "mean": 1500.0, "segments": 2}})
    );
}

#[test]
fn phases_from_the_packets() {
    // Slow start from the first data segment; the third duplicate ACK (frame 12)
    // starts recovery; the ACK covering everything sent by then (frame 15, ack
    // 6001) ends it, into congestion avoidance (the loss was announced by dup ACKs).
    let f = flow("captures/fast_retransmit.pcap");
    let phases: Vec<(u64, &str)> = f["phases"]["client"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["frame"].as_u64().unwrap(), c["phase"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [
            (4, "slow_start"),
            (12, "recovery"),
            (15, "congestion_avoidance")
        ]
    );
    // A chat of a few bytes a message never fills two segments: no avoidance inferred.
    let f = flow("captures/recorded_lo_tcp.pcap");
    assert_eq!(f["phases"]["client"].as_array().unwrap().len(), 1);
    assert_eq!(f["phases"]["server"][0]["phase"], "slow_start");
}

#[test]
fn the_report_answers_the_lab_questions_with_frame_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let run = protolab(&[
        "report",
        "captures/fast_retransmit.pcap",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let lab = &json["lab_questions"];
    // The ISN in the SYN (frame 1), the SYN-ACK (frame 2) acknowledging ISN + 1.
    assert_eq!(lab["syn"], serde_json::json!([1, 2_000_007_000u32]));
    assert_eq!(
        lab["syn_ack"],
        serde_json::json!([2, 3_000_007_000u32, 2_000_007_001u32])
    );
    // The first six data segments: only the first has an RTT sample (frame 9 ACKs
    // exactly its end); the others are ACKed together after the loss.
    let frames: Vec<u64> = lab["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames, [4, 5, 6, 7, 8, 13]);
    assert_eq!(lab["segments"][0]["ack_frame"], 9);
    assert_eq!(lab["segments"][0]["sample_ms"], 1.1);
    assert!(lab["segments"][1]["sample_ms"].is_null());
    // The server's smallest window (frame 9), the resend in frame 13, and 6000
    // bytes from frame 4 to their ACK in frame 15.
    assert_eq!(lab["min_window"], serde_json::json!([65152, 9]));
    assert_eq!(lab["resent_frames"], serde_json::json!([13]));
    let t = &lab["throughput"];
    assert_eq!(
        (&t[0], &t[1], &t[2]),
        (&Value::from(6000), &Value::from(4), &Value::from(15))
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Lab questions") && md.contains("in frames 13"));

    let zh = dir.path().join("zh");
    let run = protolab(&[
        "report",
        "captures/fast_retransmit.pcap",
        "--lang",
        "zh",
        "-o",
        zh.to_str().unwrap(),
    ]);
    assert!(run.status.success());
    let md = std::fs::read_to_string(zh.join("report.md")).unwrap();
    assert!(md.contains("## 实验问题") && md.contains("帧 13"), "{md}");
}
