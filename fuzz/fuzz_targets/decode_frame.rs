//! One frame through decode, analysis and both printers.
//!
//! Input: the first byte picks the link type (low 3 bits, among the eight
//! protolab decodes) and whether the frame was cut by snaplen (bit 7); the rest
//! is the frame. The frame is analysed twice, a millisecond apart, so the second
//! copy reaches the analyzer's paths for a known flow (retransmissions, dup ACKs).

#![no_main]

use libfuzzer_sys::fuzz_target;
use protolab::analyze::Analyzer;
use protolab::capture::{LinkType, RawFrame};
use protolab::decode::decode;
use protolab::output::{frame_line, write_frame_json};

const LINKTYPES: [LinkType; 8] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
];

const T0: u64 = 1_700_000_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let linktype = LINKTYPES[usize::from(selector & 7)];
    let snaplen_cut = selector & 0x80 != 0;
    let caplen = bytes.len() as u32;
    let mut analyzer = Analyzer::new();
    let mut json = Vec::new();
    for copy in 0..2u64 {
        let raw = RawFrame {
            number: copy + 1,
            ts_ns: T0 + copy * 1_000_000,
            linktype,
            orig_len: if snaplen_cut {
                caplen.saturating_add(1000)
            } else {
                caplen
            },
            bytes: bytes.to_vec(),
        };
        let packet = decode(&raw);
        assert!(packet.payload.start <= packet.payload.end);
        assert!(packet.payload.end <= bytes.len());
        let analysis = analyzer.process(&packet);
        let line = frame_line(&packet, analysis, T0);
        assert!(!line.contains('\n'));
        json.clear();
        write_frame_json(&mut json, &packet, analysis).expect("writing to a Vec");
        serde_json::from_slice::<serde_json::Value>(&json).expect("frame JSON is valid");
    }
    let flows = analyzer.finish();
    let text = serde_json::to_string(&flows).expect("flow summaries serialise");
    serde_json::from_str::<serde_json::Value>(&text).expect("flow JSON is valid");
});
