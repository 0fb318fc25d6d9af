//! Property tests of the HTTP/2 dissector (what CI runs of its fuzzing):
//! - arbitrary bytes after the connection preface, cut into arbitrary
//!   segments, in both directions: frames or per-frame errors, never a panic;
//! - the protobuf wire decoder on arbitrary bytes never panics, and reads
//!   back the fields of messages built from any field numbers and values;
//! - valid frames cut at arbitrary places come out whole, in order, each on
//!   the segment that completes it, whatever the cuts.

use etherparse::PacketBuilder;
use proptest::prelude::*;
use proptest::test_runner::Config;

use protolab::capture::{LinkType, RawFrame};
use protolab::decode::decode;
use protolab::dissect::http2::{Http2Dissector, PREFACE};
use protolab::dissect::protobuf::{known, wire_fields};

/// Feeds `payload` as one segment from the client (or the server) at `seq`;
/// returns the (type, stream) of the frames it completed.
fn feed(d: &mut Http2Dissector, from_client: bool, seq: u32, payload: &[u8]) -> Vec<(String, u32)> {
    let (s, t) = if from_client {
        (40000, 50051)
    } else {
        (50051, 40000)
    };
    let mut bytes = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(s, t, seq, 65535)
        .ack(1)
        .write(&mut bytes, payload)
        .unwrap();
    let frame = RawFrame {
        number: 1,
        ts_ns: 0,
        linktype: LinkType::ETHERNET,
        orig_len: bytes.len() as u32,
        bytes,
    };
    let packet = decode(&frame);
    match d.frame(&packet, &frame.bytes) {
        Some((app, _)) => app.all().map(|f| (f.kind.to_string(), f.stream)).collect(),
        None => Vec::new(),
    }
}

/// Cuts `bytes` at the given points (taken modulo its length) into segments.
fn cut(bytes: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = points
        .iter()
        .map(|p| p % (bytes.len() + 1))
        .chain([0, bytes.len()])
        .collect();
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

fn frame(t: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    v.extend([t, flags]);
    v.extend(stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        client in proptest::collection::vec(any::<u8>(), 0..2000),
        server in proptest::collection::vec(any::<u8>(), 0..2000),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut d = Http2Dissector::default();
        let mut seq = [1u32, 1u32];
        let up = [PREFACE, &client].concat();
        for (i, s) in cut(&up, &points).iter().enumerate() {
            feed(&mut d, true, seq[0], s);
            seq[0] += s.len() as u32;
            if let Some(down) = cut(&server, &points).get(i) {
                feed(&mut d, false, seq[1], down);
                seq[1] += down.len() as u32;
            }
        }
    }

    #[test]
    fn valid_frames_come_out_whole_whatever_the_cuts(
        frames in proptest::collection::vec((0u8..10, any::<u8>(), 0u32..8, 0usize..300), 1..12),
        points in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        // Types that need no header-block state: HEADERS and CONTINUATION are
        // sent as PING instead, so only their framing is tested here.
        let names = ["DATA", "PING", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE",
            "PING", "GOAWAY", "WINDOW_UPDATE", "PING"];
        let mut bytes = PREFACE.to_vec();
        let mut want = Vec::new();
        for (t, flags, stream, len) in &frames {
            let t = match t { 1 | 9 => 6, t => *t };
            bytes.extend(frame(t, *flags, *stream, &vec![0; *len]));
            want.push((names[t as usize].to_string(), *stream));
        }
        let mut d = Http2Dissector::default();
        let mut got = Vec::new();
        let mut seq = 1u32;
        // The connection is found by a segment that starts with at least the
        // preface's `PRI`.
        let points: Vec<usize> = points.into_iter().filter(|p| p % (bytes.len() + 1) >= 3).collect();
        for s in cut(&bytes, &points) {
            got.extend(feed(&mut d, true, seq, &s));
            seq += s.len() as u32;
        }
        prop_assert_eq!(got, want);
    }

    /// The protobuf wire decoder on any bytes: fields or an error, never a
    /// panic; whatever decodes serialises, and a message made of fields of
    /// every wire type reads back as those fields.
    #[test]
    fn protobuf_wire_fields_of_any_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        values in proptest::collection::vec((1u32..2000, any::<u64>(), 0u8..3), 0..20),
    ) {
        if let Ok(fields) = wire_fields(&bytes) {
            prop_assert!(serde_json::to_string(&fields).is_ok());
        }
        let _ = known::decode(known::ECHO, true, &bytes);
        let mut message = Vec::new();
        let mut want = Vec::new();
        for (field, value, kind) in &values {
            let (wire, name) = [(0u8, "VARINT"), (1, "I64"), (5, "I32")][usize::from(*kind)];
            varint(&mut message, u64::from(field << 3 | u32::from(wire)));
            let value = match wire {
                0 => { varint(&mut message, *value); *value }
                1 => { message.extend(value.to_le_bytes()); *value }
                _ => { message.extend((*value as u32).to_le_bytes()); u64::from(*value as u32) }
            };
            want.push((*field, name, Some(value)));
        }
        let got: Vec<_> = wire_fields(&message)
            .unwrap()
            .into_iter()
            .map(|f| (f.field, f.wire_type, f.value))
            .collect();
        prop_assert_eq!(got, want);
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}
