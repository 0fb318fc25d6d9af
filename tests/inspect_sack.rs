//! SACK blocks in `inspect`'s output, on the committed fast-retransmit capture
//! (its receiver SACKs the segments after the lost one).
//!
//! Bug (issue 13): the text form printed SACK blocks raw (`sack
//! 2000009001:2000010001`) beside a relative `ack 1001`, so a student could not
//! see that the block starts 1000 bytes after the hole.

mod common;

use common::protolab;

#[test]
fn sack_blocks_are_relative_like_the_ack_in_text_and_both_in_json() {
    let out = protolab(&["inspect", "captures/fast_retransmit.pcap"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let frame10 = text
        .lines()
        .find(|l| l.trim_start().starts_with("10 "))
        .expect(&text);
    assert!(
        frame10.contains(" ack 1001 ") && frame10.contains("sack 2001:3001>"),
        "{frame10}"
    );

    let out = protolab(&["inspect", "--json", "captures/fast_retransmit.pcap"]);
    assert!(out.status.success());
    let frame10: serde_json::Value = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["frame"] == 10)
        .expect("frame 10");
    let tcp = &frame10["tcp"];
    assert_eq!(tcp["rel_ack"], 1001);
    assert_eq!(tcp["rel_sack"], serde_json::json!([[2001, 3001]]));
    // The raw edges stay where they were.
    assert_eq!(
        tcp["options"]["sack"],
        serde_json::json!([[2_000_009_001u32, 2_000_010_001u32]])
    );
    // No SACK, no rel_sack.
    let out = protolab(&[
        "inspect",
        "--json",
        "captures/handshake_data_client_close.pcap",
    ]);
    assert!(!String::from_utf8(out.stdout).unwrap().contains("rel_sack"));
}
