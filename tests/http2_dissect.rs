//! The HTTP/2 dissector through `protolab inspect --json`, cross-checked
//! against Wireshark on a built h2c connection carrying gRPC calls: for every
//! frame, the HTTP/2 frames' types and stream ids, the `:path` values and the
//! `grpc-status` values must equal what tshark reports
//! (`-d tcp.port==50051,http2 -Y http2`). The connection is cut into TCP
//! segments so that frames span segments and segments hold several frames.
//!
//! Needs tshark (`scripts/setup` installs it) for the cross-check; without it
//! the test says so and checks only its own expectations, unless
//! `PROTOLAB_REQUIRE_TSHARK=1` (set in CI), where it fails.

mod common;

use std::path::Path;

use common::http2_view::{ours, theirs as theirs_on, H2};
use common::tcp_conversation::TcpConversation;
use common::tshark::tshark_available;
use loona_hpack::Encoder;

const PORT: u16 = 50051;
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The h2c connection being built, and each side's HPACK encoder.
struct Conn {
    tcp: TcpConversation,
    enc: [Encoder<'static>; 2],
}

impl Conn {
    fn new() -> Conn {
        Conn {
            tcp: TcpConversation::new([[127, 0, 0, 1], [127, 0, 0, 1]], [40000, PORT]),
            enc: [Encoder::new(), Encoder::new()],
        }
    }

    fn segment(&mut self, from: usize, flags: &str, payload: &[u8]) {
        self.tcp.segment(from, flags, payload);
    }

    fn headers(&mut self, from: usize, fields: &[(&str, &str)]) -> Vec<u8> {
        self.enc[from].encode(fields.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())))
    }
}

fn frame(t: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    v.extend([t, flags]);
    v.extend(stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn grpc(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0];
    v.extend((body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn request(c: &mut Conn, path: &str) -> Vec<u8> {
    c.headers(
        0,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "127.0.0.1:50051"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ],
    )
}

/// Two gRPC calls on one connection: a unary call answered, and a call the
/// client cancels (RST_STREAM) after the server's deadline answer.
fn built_capture(dir: &Path) -> std::path::PathBuf {
    let mut c = Conn::new();
    let settings = [0u8, 4, 0, 0x10, 0, 0]; // INITIAL_WINDOW_SIZE 1 MiB
    let first = [PREFACE, &frame(4, 0, 0, &settings)].concat();
    c.segment(0, "PA", &first);
    let answer = [frame(4, 0, 0, &[]), frame(4, 1, 0, &[])].concat();
    c.segment(1, "PA", &answer);
    c.segment(0, "PA", &frame(4, 1, 0, &[]));
    // Call 1: headers and message in one segment.
    let h = request(&mut c, "/greet.Greeter/SayHello");
    let call = [frame(1, 4, 1, &h), frame(0, 1, 1, &grpc(b"\x0a\x05alice"))].concat();
    c.segment(0, "PA", &call);
    let head = c.headers(
        1,
        &[(":status", "200"), ("content-type", "application/grpc")],
    );
    let trailers = c.headers(1, &[("grpc-status", "0"), ("grpc-message", "")]);
    let reply = [
        frame(8, 0, 0, &12u32.to_be_bytes()),
        frame(1, 4, 1, &head),
        frame(0, 0, 1, &grpc(b"\x0a\x0bHello alice")),
        frame(1, 5, 1, &trailers),
    ]
    .concat();
    // The reply split in the middle of its DATA frame.
    let cut = 13 + 9 + head.len() + 6;
    c.segment(1, "PA", &reply[..cut]);
    c.segment(1, "PA", &reply[cut..]);
    // Call 3: the deadline passes; the server says so, the client resets.
    let h = request(&mut c, "/greet.Greeter/Slow");
    c.segment(
        0,
        "PA",
        &[frame(1, 4, 3, &h), frame(0, 1, 3, &grpc(b""))].concat(),
    );
    let late = c.headers(1, &[(":status", "200"), ("grpc-status", "4")]);
    c.segment(1, "PA", &frame(1, 5, 3, &late));
    c.segment(0, "PA", &frame(3, 0, 3, &8u32.to_be_bytes()));
    c.segment(0, "PA", &frame(7, 0, 0, &[0, 0, 0, 3, 0, 0, 0, 0]));
    let file = dir.join("h2.pcap");
    std::fs::write(&file, common::classic_pcap(&c.tcp.frames)).unwrap();
    file
}

#[test]
fn grpc_calls_over_h2c_match_tshark_frame_by_frame() {
    let dir = tempfile::tempdir().unwrap();
    let file = built_capture(dir.path());
    let got = ours(&file);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let want: H2 = [
        (4, (vec![(4, 0)], vec![], vec![])),
        (5, (vec![(4, 0), (4, 0)], vec![], vec![])),
        (6, (vec![(4, 0)], vec![], vec![])),
        (
            7,
            (
                vec![(1, 1), (0, 1)],
                s(&["/greet.Greeter/SayHello"]),
                vec![],
            ),
        ),
        (8, (vec![(8, 0), (1, 1)], vec![], vec![])),
        (9, (vec![(0, 1), (1, 1)], vec![], s(&["0"]))),
        (
            10,
            (vec![(1, 3), (0, 3)], s(&["/greet.Greeter/Slow"]), vec![]),
        ),
        (11, (vec![(1, 3)], vec![], s(&["4"]))),
        (12, (vec![(3, 3)], vec![], vec![])),
        (13, (vec![(7, 0)], vec![], vec![])),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    if tshark_available() {
        assert_eq!(got, theirs_on(&file, PORT));
    }
}
