//! Bytes as a whole capture file: read every frame, decode and analyse each,
//! print it both ways, then summarise the flows.
//!
//! Unbounded allocation is caught by libFuzzer itself: run with
//! `-malloc_limit_mb=64` (the reader's buffers are capped at 16 MiB by design).

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use protolab::analyze::Analyzer;
use protolab::capture::{FileReader, LinkType, RawFrame};
use protolab::decode::decode;
use protolab::output::{frame_line, write_frame_json};

fuzz_target!(|data: &[u8]| {
    let input = Cursor::new(data.to_vec());
    let Ok(mut reader) = FileReader::from_reader("fuzz.pcap".into(), input, data.len() as u64)
    else {
        return;
    };
    let mut raw = RawFrame {
        number: 0,
        ts_ns: 0,
        linktype: LinkType::ETHERNET,
        orig_len: 0,
        bytes: Vec::new(),
    };
    let mut analyzer = Analyzer::new();
    let mut json = Vec::new();
    let mut t0 = None;
    let mut frames = 0u64;
    loop {
        match reader.read_next(&mut raw) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
        frames += 1;
        assert_eq!(raw.number, frames);
        assert!(
            raw.bytes.len() <= data.len(),
            "a frame larger than its file"
        );
        let packet = decode(&raw);
        assert!(packet.payload.end <= raw.bytes.len());
        let t0 = *t0.get_or_insert(packet.ts_ns);
        let analysis = analyzer.process(&packet);
        let line = frame_line(&packet, analysis, t0);
        assert!(!line.contains('\n'));
        json.clear();
        write_frame_json(&mut json, &packet, analysis).expect("writing to a Vec");
    }
    // A finished reader stays finished.
    assert!(matches!(reader.read_next(&mut raw), Ok(false)));
    let flows = analyzer.finish();
    serde_json::to_string(&flows).expect("flow summaries serialise");
});
