//! The HTTP/2 dissector on hand-built connections: frames made byte by byte,
//! header blocks by an HPACK encoder, cut into TCP segments at awkward places.

use super::*;
use crate::decode::TcpFlags;
use crate::dissect::test_segment::segment;
use loona_hpack::Encoder;

const CLIENT: u16 = 40000;
const SERVER: u16 = 50051;
const PA: u16 = TcpFlags::PSH | TcpFlags::ACK;

/// A connection: each side's next sequence number, and its HPACK encoders.
struct Conn {
    d: Http2Dissector,
    next: [u32; 2],
    enc: [Encoder<'static>; 2],
}

impl Conn {
    fn new() -> Conn {
        let mut c = Conn {
            d: Http2Dissector::default(),
            next: [100, 900],
            enc: [Encoder::new(), Encoder::new()],
        };
        c.syn(0);
        c.syn(1);
        c
    }

    fn syn(&mut self, from: usize) {
        let ports = [CLIENT, SERVER];
        let (p, b) = segment(
            ports[from],
            ports[1 - from],
            self.next[from],
            TcpFlags::SYN,
            b"",
        );
        assert!(self.d.frame(&p, &b).is_none());
        self.next[from] += 1;
    }

    /// Sends `payload` from the client (0) or the server (1).
    fn send(&mut self, from: usize, payload: &[u8]) -> Option<(Http2App, bool)> {
        let ports = [CLIENT, SERVER];
        let (p, b) = segment(ports[from], ports[1 - from], self.next[from], PA, payload);
        self.next[from] += payload.len() as u32;
        self.d.frame(&p, &b)
    }

    fn headers(&mut self, from: usize, fields: &[(&str, &str)]) -> Vec<u8> {
        self.enc[from].encode(fields.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())))
    }
}

fn frame_bytes(t: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    v.extend([t, flags]);
    v.extend(stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn grpc_message(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0];
    v.extend((body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn kinds(app: &Http2App) -> Vec<(&'static str, u32)> {
    app.all().map(|f| (f.kind, f.stream)).collect()
}

fn settings(pairs: &[(u16, u32)]) -> Vec<u8> {
    pairs
        .iter()
        .flat_map(|(id, v)| id.to_be_bytes().into_iter().chain(v.to_be_bytes()))
        .collect()
}

/// The preface and the two SETTINGS: the connection as every gRPC call opens it.
fn opened() -> Conn {
    let mut c = Conn::new();
    let first = [
        PREFACE,
        &frame_bytes(SETTINGS, 0, 0, &settings(&[(2, 0), (4, 1 << 20)])),
    ]
    .concat();
    let (app, from_server) = c.send(0, &first).unwrap();
    assert!(!from_server && app.preface);
    let f = app.first.as_ref().unwrap();
    assert_eq!(
        f.settings,
        [
            ("ENABLE_PUSH".to_string(), 0),
            ("INITIAL_WINDOW_SIZE".to_string(), 1 << 20)
        ]
    );
    let json = serde_json::to_string(&app).unwrap();
    assert!(
        json.starts_with(
            r#"{"proto":"http2","preface":true,"type":"SETTINGS","stream":0,"flags":0,"#
        ),
        "{json}"
    );
    let answer = [
        frame_bytes(SETTINGS, 0, 0, &[]),
        frame_bytes(SETTINGS, 1, 0, &[]),
    ]
    .concat();
    let (app, from_server) = c.send(1, &answer).unwrap();
    assert!(from_server && !app.preface);
    assert_eq!(kinds(&app), [("SETTINGS", 0), ("SETTINGS", 0)]);
    assert_eq!(app.messages[1].flag_names, ["ACK"]);
    c
}

#[test]
fn preface_and_settings_open_the_connection() {
    let c = opened();
    assert_eq!(c.d.found.len(), 1);
}

#[test]
fn a_unary_grpc_call_split_and_joined_across_segments() {
    let mut c = opened();
    let path = "/greet.Greeter/SayHello";
    let block = c.headers(
        0,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ],
    );
    let request = [
        frame_bytes(HEADERS, 0x4, 1, &block),
        frame_bytes(DATA, 0x1, 1, &grpc_message(b"\x0a\x05alice")),
    ]
    .concat();
    // The HEADERS frame and the first 3 bytes of the DATA frame, then the rest.
    let cut = 9 + block.len() + 3;
    let (app, _) = c.send(0, &request[..cut]).unwrap();
    assert_eq!(kinds(&app), [("HEADERS", 1)]);
    let h = app.first.as_ref().unwrap();
    assert_eq!(h.summary, format!("HEADERS stream 1 POST {path}"));
    assert_eq!(h.flag_names, ["END_HEADERS"]);
    assert_eq!(
        app.partial,
        Some(Partial { have: 3, need: 9 }),
        "the length is not known yet"
    );
    let (app, _) = c.send(0, &request[cut..]).unwrap();
    let data = app.first.unwrap();
    assert_eq!(
        data.grpc,
        Some(GrpcMessage {
            path: Some(path.into()),
            len: 7,
            compressed: false,
            message: known::decode(path, false, b"\x0a\x05alice"),
        })
    );
    assert_eq!(
        data.summary,
        r#"DATA stream 1 grpc 7 B greet.HelloRequest {"name":"alice"}"#
    );
    // The answer: headers, two messages in one DATA frame, and trailers.
    let head = c.headers(
        1,
        &[(":status", "200"), ("content-type", "application/grpc")],
    );
    let trailers = c.headers(1, &[("grpc-status", "0")]);
    let answer = [
        frame_bytes(HEADERS, 0x4, 1, &head),
        frame_bytes(
            DATA,
            0,
            1,
            &[grpc_message(b"ab"), grpc_message(b"")].concat(),
        ),
        frame_bytes(HEADERS, 0x5, 1, &trailers),
    ]
    .concat();
    let (app, from_server) = c.send(1, &answer).unwrap();
    assert!(from_server);
    assert_eq!(kinds(&app), [("HEADERS", 1), ("DATA", 1), ("HEADERS", 1)]);
    assert_eq!(app.messages[1].grpc_messages.len(), 2);
    assert_eq!(app.messages[2].summary, "HEADERS stream 1 grpc-status 0");
    let json = serde_json::to_value(&app).unwrap();
    assert_eq!(json["messages"][1]["grpc"]["path"], path);
    assert_eq!(json["messages"][1]["grpc"]["len"], 2);
}

/// A call the dissector has no types for: its messages as wire fields; a
/// compressed one is not decoded.
#[test]
fn another_services_messages_show_their_wire_fields() {
    let mut c = opened();
    let block = c.headers(
        0,
        &[
            (":method", "POST"),
            (":path", "/shop.Cart/Add"),
            ("content-type", "application/grpc+proto"),
        ],
    );
    // 1: 150, 2: "hi"; then the same bytes flagged compressed.
    let body = b"\x08\x96\x01\x12\x02hi";
    let mut compressed = grpc_message(body);
    compressed[0] = 1;
    let bytes = [
        frame_bytes(HEADERS, 0x4, 1, &block),
        frame_bytes(DATA, 0, 1, &grpc_message(body)),
        frame_bytes(DATA, 0x1, 1, &compressed),
    ]
    .concat();
    let (app, _) = c.send(0, &bytes).unwrap();
    let json = serde_json::to_value(&app).unwrap();
    let message = &json["messages"][1]["grpc"]["message"];
    assert_eq!(
        message["fields"],
        serde_json::json!([
            {"field": 1, "wire_type": "VARINT", "value": 150},
            {"field": 2, "wire_type": "LEN", "len": 2, "string": "hi"},
        ])
    );
    assert_eq!(
        app.messages[1].summary,
        r#"DATA stream 1 grpc 7 B {1: 150, 2: "hi"}"#
    );
    let packed = &json["messages"][2]["grpc"];
    assert_eq!(packed["compressed"], true);
    assert!(packed.get("message").is_none(), "{packed}");
}

#[test]
fn window_update_rst_stream_and_goaway_codes() {
    let mut c = opened();
    let bytes = [
        frame_bytes(WINDOW_UPDATE, 0, 0, &70000u32.to_be_bytes()),
        frame_bytes(RST_STREAM, 0, 3, &8u32.to_be_bytes()),
        frame_bytes(
            GOAWAY,
            0,
            0,
            &[3u32.to_be_bytes(), 0u32.to_be_bytes()].concat(),
        ),
    ]
    .concat();
    let (app, _) = c.send(0, &bytes).unwrap();
    let f: Vec<&Http2Frame> = app.all().collect();
    assert_eq!(f[0].increment, Some(70000));
    assert_eq!(f[1].error_code, Some(("CANCEL".into(), 8)));
    assert_eq!(f[1].summary, "RST_STREAM stream 3 CANCEL");
    assert_eq!(
        (f[2].last_stream, f[2].error_code.clone()),
        (Some(3), Some(("NO_ERROR".into(), 0)))
    );
}

#[test]
fn continuation_joins_a_header_block() {
    let mut c = opened();
    let block = c.headers(0, &[(":method", "GET"), (":path", "/long")]);
    let (a, b) = block.split_at(3);
    let bytes = [
        frame_bytes(HEADERS, 0, 5, a),
        frame_bytes(CONTINUATION, 0x4, 5, b),
    ]
    .concat();
    let (app, _) = c.send(0, &bytes).unwrap();
    assert_eq!(
        app.messages[0].summary,
        "HEADERS stream 5 (block continues)"
    );
    assert_eq!(app.messages[1].summary, "CONTINUATION stream 5 GET /long");
}

#[test]
fn invalid_hpack_is_a_frame_error_and_the_table_stays_lost() {
    let mut c = opened();
    // Index 127 of an empty dynamic table: no such entry.
    let (app, _) = c
        .send(0, &frame_bytes(HEADERS, 0x4, 1, &[0xff, 0x40]))
        .unwrap();
    let f = app.first.unwrap();
    assert!(f.error.unwrap().starts_with("headers not decoded"));
    assert!(f.headers.is_none());
    // A good block after it is not guessed at: the table may have changed.
    let block = c.headers(0, &[(":method", "GET")]);
    let (app, _) = c.send(0, &frame_bytes(HEADERS, 0x4, 3, &block)).unwrap();
    assert!(app
        .first
        .unwrap()
        .error
        .unwrap()
        .contains("HPACK table of this direction is unknown"));
    // The other direction's table is its own.
    let block = c.headers(1, &[(":status", "200")]);
    let (app, _) = c.send(1, &frame_bytes(HEADERS, 0x4, 1, &block)).unwrap();
    assert_eq!(app.first.unwrap().summary, "HEADERS stream 1 200");
}

#[test]
fn a_table_size_over_the_limit_is_refused() {
    let mut c = opened();
    // A dynamic table size update to 2^20 (001xxxxx, 5-bit prefix integer).
    let mut block = vec![0x3f];
    let mut n = (1usize << 20) - 31;
    while n >= 128 {
        block.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    block.push(n as u8);
    let (app, _) = c.send(0, &frame_bytes(HEADERS, 0x4, 1, &block)).unwrap();
    assert!(app.first.unwrap().error.is_some());
}

/// An HPACK integer with an `n`-bit prefix, after the pattern bits `first`.
fn hpack_int(first: u8, bits: u32, mut n: usize) -> Vec<u8> {
    let max = (1usize << bits) - 1;
    if n < max {
        return vec![first | n as u8];
    }
    let mut out = vec![first | max as u8];
    n -= max;
    while n >= 128 {
        out.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    out.push(n as u8);
    out
}

/// One 60 kB table entry, then 1000 one-byte references to it: 60 MB of
/// headers from 61 kB. The fields kept stop at MAX_HEADER_LIST bytes, and the
/// table is still right for the next block.
#[test]
fn an_hpack_bomb_is_cut_at_the_header_list_limit() {
    let mut c = opened();
    let mut block = hpack_int(0x20, 5, MAX_TABLE); // table size update
    block.extend([0x40, 1, b'x']); // literal with indexing, new name "x"
    block.extend(hpack_int(0, 7, 60_000));
    block.extend(vec![b'a'; 60_000]);
    block.extend(vec![0x80 | 62; 1000]); // index 62: the entry just added
    let (app, _) = c.send(0, &frame_bytes(HEADERS, 0x4, 1, &block)).unwrap();
    let f = app.first.unwrap();
    let kept = f.headers.as_ref().unwrap().len();
    assert!(
        kept * 60_033 <= MAX_HEADER_LIST && kept > 0,
        "{kept} fields kept"
    );
    assert_eq!(
        f.error.as_deref(),
        Some(format!(
            "a header list over {MAX_HEADER_LIST} bytes: its last {} fields not shown",
            1001 - kept
        ))
        .as_deref()
    );
    let (app, _) = c
        .send(0, &frame_bytes(HEADERS, 0x4, 3, &[0x80 | 62]))
        .unwrap();
    let f = app.first.unwrap();
    assert_eq!(f.error, None);
    assert_eq!(f.headers.unwrap()[0].1.len(), 60_000);
}

#[test]
fn huge_lengths_wait_and_garbage_never_panics() {
    let mut c = opened();
    // A frame header announcing 16 MiB: the frame waits for its bytes.
    let (app, _) = c.send(0, &[0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0]).unwrap();
    assert_eq!(
        app.partial,
        Some(Partial {
            have: 10,
            need: 9 + 0xff_ffff
        })
    );
    // Pseudo-random frames after an opened connection: errors, not panics.
    let mut x: u32 = 12345;
    for _ in 0..300 {
        let mut c = opened();
        let mut bytes = Vec::new();
        for _ in 0..64 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            bytes.push((x >> 16) as u8);
        }
        // A plausible header, so the payload is read.
        let t = (x % 10) as u8;
        let f = frame_bytes(t, (x >> 8) as u8, x >> 20, &bytes[..(x % 60) as usize]);
        c.send(0, &f);
        c.send(1, &bytes);
    }
}

#[test]
fn other_traffic_is_not_taken_for_http2() {
    let mut d = Http2Dissector::default();
    let (p, b) = segment(CLIENT, SERVER, 1, PA, b"GET / HTTP/1.1\r\n\r\n");
    assert!(d.frame(&p, &b).is_none());
    // A SETTINGS ACK, or one with a parameter RFC 9113 does not define, does
    // not open a connection.
    let (p, b) = segment(SERVER, CLIENT, 1, PA, &frame_bytes(SETTINGS, 1, 0, &[]));
    assert!(d.frame(&p, &b).is_none());
    let odd = frame_bytes(SETTINGS, 0, 0, &settings(&[(0x99, 1)]));
    let (p, b) = segment(SERVER, CLIENT, 1, PA, &odd);
    assert!(d.frame(&p, &b).is_none());
}

#[test]
fn a_server_that_speaks_before_the_preface_is_found_by_its_settings() {
    let mut c = Conn::new();
    // hyper's server sends its SETTINGS as soon as it accepts.
    let (app, from_server) = c
        .send(1, &frame_bytes(SETTINGS, 0, 0, &settings(&[(3, 100)])))
        .unwrap();
    assert!(from_server);
    assert_eq!(
        app.first.unwrap().settings,
        [("MAX_CONCURRENT_STREAMS".to_string(), 100)]
    );
    // The client's ACK of it carries no data, then its preface comes.
    assert!(c.send(0, b"").is_none());
    let (app, from_server) = c.send(0, PREFACE).unwrap();
    assert!(!from_server && app.preface && app.first.is_none());
    assert!(app.partial.is_none());
    let (app, _) = c.send(1, &frame_bytes(SETTINGS, 1, 0, &[])).unwrap();
    assert_eq!(kinds(&app), [("SETTINGS", 0)]);
}

#[test]
fn a_server_whose_first_bytes_are_not_settings_is_kept_until_the_preface() {
    let mut c = Conn::new();
    // A PING first (no server does this, but the bytes are kept all the same).
    assert!(c.send(1, &frame_bytes(PING, 0, 0, &[0; 8])).is_none());
    let (app, _) = c.send(0, PREFACE).unwrap();
    assert!(app.preface);
    let (app, from_server) = c.send(1, &frame_bytes(SETTINGS, 1, 0, &[])).unwrap();
    assert!(from_server);
    assert_eq!(kinds(&app), [("PING", 0), ("SETTINGS", 0)]);
}
