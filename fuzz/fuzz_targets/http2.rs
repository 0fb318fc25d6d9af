//! The HTTP/2 dissector on one connection whose bytes the fuzzer chooses.
//!
//! Input: a list of segments, each a header byte (bit 0: sent by the server)
//! and a 16-bit big-endian length, then that many bytes (fewer at the end of
//! the input). The client's direction starts with the connection preface,
//! sent before the first segment, so every input is dissected as HTTP/2 and
//! the fuzzer spends its time on frames, HPACK blocks and gRPC messages.
//! Every `app` object must serialise to valid JSON and feed the report's
//! per-stream table; the input as a whole also goes through the protobuf wire
//! decoder and the greeter's message types.

#![no_main]

use etherparse::PacketBuilder;
use libfuzzer_sys::fuzz_target;
use protolab::capture::{LinkType, RawFrame};
use protolab::decode::decode;
use protolab::dissect::http2::streams::StreamTable;
use protolab::dissect::http2::{Http2Dissector, PREFACE};
use protolab::dissect::protobuf::{known, wire_fields};

/// One segment of the connection 127.0.0.1:40000 ⇄ 127.0.0.1:50051.
fn segment(from_server: bool, seq: u32, payload: &[u8]) -> RawFrame {
    let (sport, dport) = if from_server { (50051, 40000) } else { (40000, 50051) };
    let mut bytes = Vec::new();
    PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(sport, dport, seq, 65535)
        .ack(1)
        .write(&mut bytes, payload)
        .expect("writing to a Vec");
    RawFrame {
        number: 1,
        ts_ns: 0,
        linktype: LinkType::RAW,
        orig_len: bytes.len() as u32,
        bytes,
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = wire_fields(data);
    for path in [known::SAY_HELLO, known::COUNTDOWN, known::ECHO] {
        let _ = known::decode(path, data.first().is_some_and(|b| b & 1 != 0), data);
    }
    let mut dissector = Http2Dissector::default();
    let mut streams = StreamTable::default();
    let mut number = 0u64;
    let mut seq = [1u32, 1u32];
    let mut feed = |from_server: bool, payload: &[u8], seq: &mut [u32; 2]| {
        let at = &mut seq[usize::from(from_server)];
        let raw = segment(from_server, *at, payload);
        *at = at.wrapping_add(payload.len() as u32);
        let packet = decode(&raw);
        number += 1;
        if let Some((app, from_server)) = dissector.frame(&packet, &raw.bytes) {
            streams.add(Some(1), number, &app, from_server);
            let json = serde_json::to_vec(&app).expect("app serialises");
            serde_json::from_slice::<serde_json::Value>(&json).expect("app JSON is valid");
        }
    };
    feed(false, PREFACE, &mut seq);
    let mut rest = data;
    while let [h, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (payload, next) = tail.split_at(len);
        if !payload.is_empty() {
            feed(h & 1 != 0, payload, &mut seq);
        }
        rest = next;
    }
    let streams = streams.into_streams();
    serde_json::to_string(&streams).expect("streams serialise");
});
