//! The RTO estimator table of `flows --json` against a hand computation on the
//! committed loopback capture `recorded_lo_tcp.pcap`.
//!
//! The samples, read with `tshark -r captures/recorded_lo_tcp.pcap -T fields -e
//! frame.number -e tcp.len -e tcp.analysis.acks_frame -e tcp.analysis.ack_rtt`:
//! the client's data segments 4, 8 and 11 are acknowledged by frames 5, 9 and 12
//! after 4, 123 and 127 µs; the server's 6, 9 and 12 by 7, 10 and 13 after 30, 35
//! and 16 µs. (The SYN's and FIN's samples are not data: not in the table.)

mod common;

use common::protolab;
use serde_json::Value;

/// By hand, in µs, α = 1/8, β = 1/4, DevRTT from the EstimatedRTT before the sample:
/// (segment, ack, SampleRTT, EstimatedRTT, DevRTT, RTO = Est + 4·Dev).
const CLIENT: [(u64, u64, f64, f64, f64, f64); 3] = [
    // First sample: Est = R = 4, Dev = R/2 = 2, RTO = 4 + 8.
    (4, 5, 4.0, 4.0, 2.0, 12.0),
    // Dev = 0.75·2 + 0.25·|4 − 123| = 31.25; Est = 0.875·4 + 0.125·123 = 18.875.
    (8, 9, 123.0, 18.875, 31.25, 143.875),
    // Dev = 0.75·31.25 + 0.25·|18.875 − 127| = 50.46875; Est = 0.875·18.875 + 0.125·127.
    (11, 12, 127.0, 32.390625, 50.46875, 234.265625),
];
const SERVER: [(u64, u64, f64, f64, f64, f64); 3] = [
    (6, 7, 30.0, 30.0, 15.0, 90.0),
    // Dev = 0.75·15 + 0.25·5 = 12.5; Est = 0.875·30 + 0.125·35 = 30.625.
    (9, 10, 35.0, 30.625, 12.5, 80.625),
    // Dev = 0.75·12.5 + 0.25·|30.625 − 16| = 13.03125; Est = 0.875·30.625 + 2 = 28.796875.
    (12, 13, 16.0, 28.796875, 13.03125, 80.921875),
];

fn check(side: &Value, expected: &[(u64, u64, f64, f64, f64, f64)]) {
    let rows = side["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), expected.len(), "{side}");
    assert_eq!(side["samples"], expected.len());
    for (row, &(seg, ack, sample, est, dev, rto)) in rows.iter().zip(expected) {
        assert_eq!(
            (row["segment_frame"].as_u64(), row["ack_frame"].as_u64()),
            (Some(seg), Some(ack))
        );
        let us = |k: &str| row[k].as_f64().unwrap() * 1000.0;
        // The JSON gives milliseconds to the nanosecond.
        for (k, want) in [
            ("sample_ms", sample),
            ("estimated_ms", est),
            ("dev_ms", dev),
            ("rto_ms", rto),
        ] {
            assert!(
                (us(k) - want).abs() < 0.001,
                "frame {seg} {k}: {} µs, by hand {want}",
                us(k)
            );
        }
        // Every RTO here is far below RFC 6298's 1 s floor.
        assert_eq!(row["rto_rfc6298_ms"], 1000.0);
    }
    assert_eq!(side["final"], *rows.last().unwrap());
}

#[test]
fn rtt_table_matches_a_hand_computation() {
    let out = protolab(&["flows", "--json", "captures/recorded_lo_tcp.pcap"]);
    assert!(out.status.success());
    let flow: Value = serde_json::from_slice(&out.stdout).unwrap();
    check(&flow["rtt_estimator"]["client"], &CLIENT);
    check(&flow["rtt_estimator"]["server"], &SERVER);
}
