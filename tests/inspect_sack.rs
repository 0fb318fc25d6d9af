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

/// The relative SACK edges equal Wireshark's (its default relative sequence
/// numbers: the same base as the ACK, the peer's ISN) on every fixture frame that
/// carries SACK blocks. Skipped without tshark, as tests/tshark_compare.rs is.
#[test]
fn rel_sack_equals_wiresharks_relative_sack_edges() {
    let has_tshark = std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_tshark {
        assert_ne!(
            std::env::var("PROTOLAB_REQUIRE_TSHARK").as_deref(),
            Ok("1"),
            "tshark is required"
        );
        eprintln!("SKIPPED: tshark not installed");
        return;
    }
    let mut compared = 0;
    for file in [
        "fast_retransmit.pcap",
        "kernel_simultaneous_open.pcapng",
        "kernel_syn_received_abort.pcapng",
        "kernel_syn_received_close.pcapng",
        "out_of_order.pcap",
    ] {
        let path = format!("captures/{file}");
        let tshark = std::process::Command::new("tshark")
            .args(["-r", &path, "-Y", "tcp.options.sack_le", "-T", "fields"])
            .args(["-e", "frame.number", "-e", "tcp.options.sack_le"])
            .args(["-e", "tcp.options.sack_re"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let theirs: Vec<(u64, Vec<[u64; 2]>)> = String::from_utf8(tshark.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let nums =
                    |s: &str| -> Vec<u64> { s.split(',').map(|n| n.parse().unwrap()).collect() };
                let blocks = nums(f[1])
                    .into_iter()
                    .zip(nums(f[2]))
                    .map(|(l, r)| [l, r])
                    .collect();
                (f[0].parse().unwrap(), blocks)
            })
            .collect();
        assert!(!theirs.is_empty(), "{file}: tshark found SACK blocks");
        let out = protolab(&["inspect", "--json", &path]);
        let ours: std::collections::BTreeMap<u64, serde_json::Value> =
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .filter(|v| v["tcp"]["rel_sack"].is_array())
                .map(|v| (v["frame"].as_u64().unwrap(), v["tcp"]["rel_sack"].clone()))
                .collect();
        assert_eq!(ours.len(), theirs.len(), "{file}: frames with SACK");
        for (frame, blocks) in theirs {
            assert_eq!(
                ours[&frame],
                serde_json::json!(blocks),
                "{file} frame {frame}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 9);
}
