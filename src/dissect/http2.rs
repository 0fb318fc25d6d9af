//! The HTTP/2 dissector: the frames of cleartext HTTP/2 (h2c, what gRPC uses
//! on the lab's loopback) read back out of TCP payload, with their headers
//! and the gRPC messages their DATA carries.
//!
//! A connection is found by the 24 bytes every HTTP/2 client sends first, the
//! connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113, section
//! 3.4), on any port; the server's direction is followed from its first byte
//! (the SYN's sequence number when the capture has it). Each direction is a
//! byte stream cut into frames: a 9-byte header (24-bit length, type, flags,
//! 31-bit stream id) and that many bytes. As in the chat dissector, a frame
//! is reported on the TCP segment that completes it, several may end in one
//! segment, and one may span several.
//!
//! Header blocks are HPACK-compressed (RFC 7541), and HPACK is stateful: each
//! direction keeps a dynamic table that every block may change, so a decoder
//! is kept per direction and fed every block in order. A block the capture
//! missed, or one that does not decode, leaves that table unknown: the
//! direction's later blocks are then reported as undecodable rather than
//! guessed. The crate is `loona-hpack`, the maintained fork of `hpack` (the
//! `h2` crate's decoder is private); its table is bounded by
//! [`MAX_TABLE`], whatever size a peer asks for.
//!
//! gRPC (its HTTP/2 mapping) sends each message as a 5-byte prefix, a
//! compressed flag and a 32-bit length, then the message, in the DATA frames
//! of a stream whose `content-type` is `application/grpc…`; a message may
//! span frames. The stream's `:path` (`/package.Service/Method`) names the
//! call. A message's bytes are kept (up to [`MAX_MESSAGE`]) and decoded as
//! protobuf: by the greeter's own types for its calls, as raw wire fields for
//! any other ([`super::protobuf`]).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use loona_hpack::Decoder;
use serde::Serialize;

use super::app::first_and_all;
use super::protobuf::{known, wire_fields, ProtoMessage};
use super::tcp_stream::{sorted, ByteStream, Key, Segment};
use crate::decode::Packet;

/// What every HTTP/2 client sends first.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Bytes of a frame header.
const HEADER_LEN: usize = 9;
/// Largest HPACK dynamic table a decoder keeps (16 times the default).
pub const MAX_TABLE: usize = 64 << 10;
/// Largest header block (all its CONTINUATIONs) put together.
const MAX_BLOCK: usize = 1 << 20;
/// Most bytes of decoded header fields kept per block (name, value and 32
/// per field, as SETTINGS_MAX_HEADER_LIST_SIZE counts them).
pub const MAX_HEADER_LIST: usize = 256 << 10;
/// Largest gRPC message kept to be decoded; a longer one is only counted.
pub const MAX_MESSAGE: u32 = 64 << 10;

/// One gRPC message found in a stream's DATA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrpcMessage {
    /// The call: the stream's `:path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Bytes of the message (without its 5-byte prefix).
    pub len: u32,
    pub compressed: bool,
    /// The message decoded (absent when compressed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<ProtoMessage>,
}

/// One HTTP/2 frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Http2Frame {
    /// `DATA`, `HEADERS`, … or `UNKNOWN`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub stream: u32,
    pub flags: u8,
    /// The flags by name (`END_STREAM`, `END_HEADERS`, `ACK`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flag_names: Vec<&'static str>,
    /// Bytes of payload (the frame is 9 more).
    pub len: u32,
    /// SETTINGS: each parameter and its value, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<(String, u32)>,
    /// WINDOW_UPDATE: the increment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment: Option<u32>,
    /// RST_STREAM and GOAWAY: the error code's name (`CANCEL`) and number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<(String, u32)>,
    /// GOAWAY: the last stream the sender processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_stream: Option<u32>,
    /// HEADERS (with its CONTINUATIONs, on the frame ending the block): the
    /// decoded header fields, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<(String, String)>>,
    /// The first gRPC message this frame completes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcMessage>,
    /// All gRPC messages this frame completes, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grpc_messages: Vec<GrpcMessage>,
    /// One line: `HEADERS stream 1 POST /greet.Greeter/SayHello`.
    pub summary: String,
    /// What could not be read of this frame (the frame itself is still counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Bytes of an unfinished frame waiting for more segments: (have, need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Partial {
    pub have: usize,
    pub need: usize,
}

/// The `app` object of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Http2App {
    pub proto: &'static str,
    /// The segment starts with the connection preface.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preface: bool,
    /// The first frame this segment completed (flattened into `app`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub first: Option<Http2Frame>,
    /// All frames this segment completed, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Http2Frame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
    /// The direction cannot be dissected any more (and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl Http2App {
    /// Every frame of the segment, in order.
    pub fn all(&self) -> impl Iterator<Item = &Http2Frame> {
        self.first.iter().chain(self.messages.iter().skip(1))
    }

    /// The notes a frame's text line ends with: `  [h2 SETTINGS stream 0 …]`.
    pub fn line_notes(&self) -> String {
        let preface = if self.preface { "  [h2 preface]" } else { "" };
        let frames: String = self
            .all()
            .map(|f| format!("  [h2 {}]", f.summary))
            .collect();
        preface.to_string() + &frames
    }
}

/// A stream's state, per connection.
#[derive(Default)]
struct StreamInfo {
    path: Option<String>,
    grpc: bool,
}

/// A gRPC message being read, per stream and direction.
#[derive(Default)]
struct GrpcCursor {
    /// Bytes of the next prefix so far.
    prefix: Vec<u8>,
    /// Bytes of the current message still to come.
    left: u64,
    current: Option<GrpcMessage>,
    /// The current message's bytes so far (when it is to be decoded).
    body: Vec<u8>,
}

/// One direction of one connection.
struct Direction {
    bytes: ByteStream,
    /// The client's direction, which starts with the preface.
    client: bool,
    preface_left: usize,
    hpack: Decoder<'static>,
    /// Why the HPACK table is unknown now.
    hpack_lost: Option<String>,
    /// A header block waiting for its CONTINUATIONs: stream and bytes.
    block: Option<(u32, Vec<u8>)>,
    grpc: HashMap<u32, GrpcCursor>,
}

impl Direction {
    fn new(bytes: ByteStream, client: bool) -> Self {
        let mut hpack = Decoder::new();
        hpack.set_max_allowed_table_size(MAX_TABLE);
        Direction {
            bytes,
            client,
            preface_left: if client { PREFACE.len() } else { 0 },
            hpack,
            hpack_lost: None,
            block: None,
            grpc: HashMap::new(),
        }
    }
}

/// The dissector: feed it every frame in capture order.
#[derive(Default)]
pub struct Http2Dissector {
    directions: HashMap<Key, Direction>,
    /// Connections found by their preface (by sorted ends): the client's end.
    found: HashMap<Key, SocketAddr>,
    /// Streams per connection (by sorted ends).
    streams: HashMap<Key, HashMap<u32, StreamInfo>>,
    /// Where each direction's bytes start, from its SYN.
    syns: HashMap<Key, u32>,
    /// The first bytes of directions of connections not found yet: an HTTP/2
    /// server may send its SETTINGS before the client's preface arrives.
    early: HashMap<Key, ByteStream>,
}

/// Bytes kept per direction before its connection is found.
const MAX_EARLY: usize = 4096;

impl Http2Dissector {
    /// What this frame carries of HTTP/2, and whether the server sent it.
    pub fn frame(&mut self, packet: &Packet, bytes: &[u8]) -> Option<(Http2App, bool)> {
        let seg = Segment::of(packet, bytes)?;
        let conn = sorted(seg.key);
        if seg.flags.syn() {
            // (Bounded: an entry per SYN seen, dropped when the connection ends.)
            if self.syns.len() < 1 << 16 {
                self.syns.insert(seg.key, seg.seq.wrapping_add(1));
            }
            self.directions.remove(&seg.key);
            self.early.remove(&seg.key);
            if self.found.remove(&conn).is_some() {
                self.directions.remove(&(seg.key.1, seg.key.0));
                self.streams.remove(&conn);
            }
            return None;
        }
        if starts_preface(seg.payload) && !self.directions.contains_key(&seg.key) {
            self.found.insert(conn, seg.key.0);
            self.streams.remove(&conn);
            self.directions.insert(
                seg.key,
                Direction::new(ByteStream::starting_at(seg.seq), true),
            );
        }
        if !self.found.contains_key(&conn) && server_settings(seg.payload) {
            // A server that speaks first (hyper's does): its SETTINGS arrive
            // before the client's preface.
            self.found.insert(conn, seg.key.1);
            self.streams.remove(&conn);
        }
        let Some(&client) = self.found.get(&conn) else {
            if seg.flags.fin() || seg.flags.rst() {
                for key in [seg.key, (seg.key.1, seg.key.0)] {
                    self.syns.remove(&key);
                    self.early.remove(&key);
                }
            } else {
                self.keep_early(&seg);
            }
            return None;
        };
        let from_server = seg.key.0 != client;
        let mut app = None;
        if seg.len > 0 {
            let dir = match self.directions.entry(seg.key) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let bytes = self.early.remove(&seg.key).unwrap_or_else(|| {
                        let start = self.syns.get(&seg.key).copied().unwrap_or(seg.seq);
                        ByteStream::starting_at(start)
                    });
                    // The client's bytes start with the preface even when the
                    // server's SETTINGS found the connection.
                    e.insert(Direction::new(bytes, !from_server))
                }
            };
            let streams = self.streams.entry(conn).or_default();
            let preface = dir.client && dir.preface_left == PREFACE.len();
            if dir.bytes.stopped.is_none() {
                match seg.truncated() {
                    Some(why) => dir.bytes.stop(why),
                    None => dir.bytes.add(seg.seq, seg.payload),
                }
            }
            let mut a = cut(dir, streams);
            a.preface = preface && dir.preface_left < PREFACE.len();
            app = Some(a);
        }
        if seg.flags.fin() || seg.flags.rst() {
            self.directions.remove(&seg.key);
            self.syns.remove(&seg.key);
            self.early.remove(&seg.key);
            let reverse = (seg.key.1, seg.key.0);
            if seg.flags.rst() || !self.directions.contains_key(&reverse) {
                self.directions.remove(&reverse);
                self.syns.remove(&reverse);
                self.early.remove(&reverse);
                self.found.remove(&conn);
                self.streams.remove(&conn);
            }
        }
        app.map(|a| (a, from_server))
    }
}

impl Http2Dissector {
    /// Keeps the first bytes of a direction whose SYN was seen, in case its
    /// connection turns out to be HTTP/2 (the server speaks first); a
    /// direction with more than [`MAX_EARLY`] bytes before that is not kept.
    fn keep_early(&mut self, seg: &Segment) {
        if seg.payload.is_empty() {
            return;
        }
        let Some(&start) = self.syns.get(&seg.key) else {
            return;
        };
        if self.early.len() >= 1024 && !self.early.contains_key(&seg.key) {
            return; // (bounded: at most 1024 directions × MAX_EARLY bytes)
        }
        let early = self
            .early
            .entry(seg.key)
            .or_insert_with(|| ByteStream::starting_at(start));
        early.add(seg.seq, seg.payload);
        if early.buf().len() > MAX_EARLY || early.stopped.is_some() {
            // Not the start of an HTTP/2 connection: forget it, and its SYN.
            self.early.remove(&seg.key);
            self.syns.remove(&seg.key);
        }
    }
}

/// Whether `payload` starts with a whole SETTINGS frame a server sends
/// first: no flags, stream 0, and only parameters RFC 9113 defines.
fn server_settings(payload: &[u8]) -> bool {
    let Some(h) = payload.get(..HEADER_LEN) else {
        return false;
    };
    let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
    let Some(params) = payload.get(HEADER_LEN..HEADER_LEN + len) else {
        return false;
    };
    h[3] == SETTINGS
        && h[4] == 0
        && h[5..9] == [0, 0, 0, 0]
        && len % 6 == 0
        && params
            .chunks_exact(6)
            .all(|p| matches!(u16::from_be_bytes([p[0], p[1]]), 1..=6 | 8))
}

/// Whether `payload` starts with the preface, or is its start (a preface cut
/// into several segments; at least its `PRI`).
fn starts_preface(payload: &[u8]) -> bool {
    let n = payload.len().min(PREFACE.len());
    n >= 3 && payload[..n] == PREFACE[..n]
}

/// Cuts the frames the buffer now completes.
fn cut(dir: &mut Direction, streams: &mut HashMap<u32, StreamInfo>) -> Http2App {
    let mut frames = Vec::new();
    let mut partial = None;
    if dir.preface_left > 0 {
        let at = PREFACE.len() - dir.preface_left;
        let buf = dir.bytes.buf();
        let n = dir.preface_left.min(buf.len());
        if buf[..n] != PREFACE[at..at + n] {
            dir.bytes
                .stop("the connection preface is not HTTP/2's: dissection stops".into());
        } else {
            dir.preface_left -= n;
            dir.bytes.consume(n);
        }
    }
    while dir.bytes.stopped.is_none() && dir.preface_left == 0 {
        let buf = dir.bytes.buf();
        if buf.len() < HEADER_LEN {
            if !buf.is_empty() {
                partial = Some(Partial {
                    have: buf.len(),
                    need: HEADER_LEN,
                });
            }
            break;
        }
        let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
        if buf.len() < HEADER_LEN + len {
            partial = Some(Partial {
                have: buf.len(),
                need: HEADER_LEN + len,
            });
            break;
        }
        let header = [buf[3], buf[4]];
        let stream = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff;
        let payload = buf[HEADER_LEN..HEADER_LEN + len].to_vec();
        dir.bytes.consume(HEADER_LEN + len);
        frames.push(frame(dir, streams, header, stream, &payload));
    }
    let (first, messages) = first_and_all(frames);
    Http2App {
        proto: "http2",
        preface: false,
        first,
        messages,
        partial,
        stopped: dir.bytes.stopped.clone(),
    }
}

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const PRIORITY: u8 = 2;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PUSH_PROMISE: u8 = 5;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const CONTINUATION: u8 = 9;

fn type_name(t: u8) -> &'static str {
    match t {
        DATA => "DATA",
        HEADERS => "HEADERS",
        PRIORITY => "PRIORITY",
        RST_STREAM => "RST_STREAM",
        SETTINGS => "SETTINGS",
        PUSH_PROMISE => "PUSH_PROMISE",
        PING => "PING",
        GOAWAY => "GOAWAY",
        WINDOW_UPDATE => "WINDOW_UPDATE",
        CONTINUATION => "CONTINUATION",
        _ => "UNKNOWN",
    }
}

/// The flags a frame type defines, by name.
fn flag_names(t: u8, flags: u8) -> Vec<&'static str> {
    let defined: &[(u8, &str)] = match t {
        DATA => &[(0x1, "END_STREAM"), (0x8, "PADDED")],
        HEADERS => &[
            (0x1, "END_STREAM"),
            (0x4, "END_HEADERS"),
            (0x8, "PADDED"),
            (0x20, "PRIORITY"),
        ],
        SETTINGS | PING => &[(0x1, "ACK")],
        PUSH_PROMISE => &[(0x4, "END_HEADERS"), (0x8, "PADDED")],
        CONTINUATION => &[(0x4, "END_HEADERS")],
        _ => &[],
    };
    defined
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect()
}

/// An error code's name (RFC 9113, section 7).
pub fn error_name(code: u32) -> &'static str {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("UNKNOWN")
}

fn setting_name(id: u16) -> String {
    match id {
        1 => "HEADER_TABLE_SIZE".into(),
        2 => "ENABLE_PUSH".into(),
        3 => "MAX_CONCURRENT_STREAMS".into(),
        4 => "INITIAL_WINDOW_SIZE".into(),
        5 => "MAX_FRAME_SIZE".into(),
        6 => "MAX_HEADER_LIST_SIZE".into(),
        8 => "ENABLE_CONNECT_PROTOCOL".into(),
        n => format!("0x{n:x}"),
    }
}

/// The payload without its padding (PADDED flag): `Err` when the pad length
/// does not fit.
fn unpad(flags: u8, payload: &[u8]) -> Result<&[u8], String> {
    if flags & 0x8 == 0 {
        return Ok(payload);
    }
    let (&pad, rest) = payload.split_first().ok_or("PADDED without a pad length")?;
    rest.len()
        .checked_sub(pad as usize)
        .map(|n| &rest[..n])
        .ok_or_else(|| format!("pad length {pad} longer than the frame"))
}

/// One whole frame, read.
fn frame(
    dir: &mut Direction,
    streams: &mut HashMap<u32, StreamInfo>,
    [t, flags]: [u8; 2],
    stream: u32,
    payload: &[u8],
) -> Http2Frame {
    let mut f = Http2Frame {
        kind: type_name(t),
        stream,
        flags,
        flag_names: flag_names(t, flags),
        len: payload.len() as u32,
        settings: Vec::new(),
        increment: None,
        error_code: None,
        last_stream: None,
        headers: None,
        grpc: None,
        grpc_messages: Vec::new(),
        summary: String::new(),
        error: None,
    };
    let u32_at = |at: usize| {
        payload
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut detail = String::new();
    match t {
        SETTINGS => {
            if payload.len() % 6 != 0 {
                f.error = Some(format!(
                    "SETTINGS of {} bytes, not a multiple of 6",
                    payload.len()
                ));
            }
            for p in payload.chunks_exact(6) {
                let id = u16::from_be_bytes([p[0], p[1]]);
                let value = u32::from_be_bytes([p[2], p[3], p[4], p[5]]);
                f.settings.push((setting_name(id), value));
            }
            detail = f
                .settings
                .iter()
                .map(|(k, v)| format!(" {k}={v}"))
                .collect();
        }
        WINDOW_UPDATE => match u32_at(0) {
            Some(n) => {
                f.increment = Some(n & 0x7fff_ffff);
                detail = format!(" +{}", n & 0x7fff_ffff);
            }
            None => f.error = Some("WINDOW_UPDATE without its 4 bytes".into()),
        },
        RST_STREAM => match u32_at(0) {
            Some(code) => {
                f.error_code = Some((error_name(code).into(), code));
                detail = format!(" {}", error_name(code));
            }
            None => f.error = Some("RST_STREAM without its 4 bytes".into()),
        },
        GOAWAY => match (u32_at(0), u32_at(4)) {
            (Some(last), Some(code)) => {
                f.last_stream = Some(last & 0x7fff_ffff);
                f.error_code = Some((error_name(code).into(), code));
                detail = format!(" last {} {}", last & 0x7fff_ffff, error_name(code));
            }
            _ => f.error = Some("GOAWAY without its 8 bytes".into()),
        },
        HEADERS | CONTINUATION => {
            detail = header_block(dir, streams, &mut f, t, stream, payload);
        }
        DATA => {
            match unpad(flags, payload) {
                Ok(data) => {
                    if streams.get(&stream).is_some_and(|s| s.grpc) {
                        let path = streams.get(&stream).and_then(|s| s.path.clone());
                        let cursor = dir.grpc.entry(stream).or_default();
                        let done = grpc(cursor, data, path, !dir.client);
                        f.grpc = done.first().cloned();
                        if done.len() > 1 {
                            f.grpc_messages = done;
                        }
                    }
                }
                Err(e) => f.error = Some(e),
            }
            let all = if f.grpc_messages.is_empty() {
                f.grpc.as_slice()
            } else {
                &f.grpc_messages
            };
            for g in all {
                detail.push_str(&format!(" grpc {} B", g.len));
                if let Some(m) = &g.message {
                    detail.push(' ');
                    detail.push_str(&m.short());
                }
            }
        }
        _ => {}
    }
    if t == DATA && flags & 0x1 != 0 || t == RST_STREAM {
        dir.grpc.remove(&stream);
    }
    f.summary = format!("{} stream {stream}{detail}", f.kind);
    f
}

/// A HEADERS or CONTINUATION frame: its part of the header block, decoded
/// when the block ends. Returns the summary's detail.
fn header_block(
    dir: &mut Direction,
    streams: &mut HashMap<u32, StreamInfo>,
    f: &mut Http2Frame,
    t: u8,
    stream: u32,
    payload: &[u8],
) -> String {
    let fragment = if t == HEADERS {
        let body = match unpad(f.flags, payload) {
            Ok(b) => b,
            Err(e) => {
                f.error = Some(e);
                return String::new();
            }
        };
        // PRIORITY: a stream dependency and a weight before the block.
        let skip = if f.flags & 0x20 != 0 { 5 } else { 0 };
        match body.get(skip..) {
            Some(b) => b,
            None => {
                f.error = Some("PRIORITY fields longer than the frame".into());
                return String::new();
            }
        }
    } else {
        payload
    };
    let mut block = match (t, dir.block.take()) {
        (HEADERS, _) => fragment.to_vec(),
        (_, Some((s, mut b))) if s == stream => {
            b.extend_from_slice(fragment);
            b
        }
        _ => {
            f.error = Some("a CONTINUATION that continues no header block".into());
            return String::new();
        }
    };
    if f.flags & 0x4 == 0 {
        if block.len() > MAX_BLOCK {
            dir.hpack_lost = Some(format!("a header block over {MAX_BLOCK} bytes"));
        } else {
            dir.block = Some((stream, std::mem::take(&mut block)));
        }
        return " (block continues)".into();
    }
    if let Some(why) = &dir.hpack_lost {
        f.error = Some(format!(
            "headers not decoded: the HPACK table of this direction is unknown since {why}"
        ));
        return String::new();
    }
    // HPACK is a third party's parser of untrusted bytes: a panic in it is a
    // lost table, not a lost dissection.
    let hpack = &mut dir.hpack;
    // Each field is kept as text up to MAX_HEADER_LIST bytes in all: a block
    // of one-byte references to a large table entry would otherwise copy that
    // entry thousands of times (an "HPACK bomb"). The decoder still reads the
    // whole block, so its table stays right for the blocks after it.
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut size = 0usize;
    let mut dropped = 0usize;
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        hpack.decode_with_cb(&block, |k, v| {
            // RFC 9113's accounting: name, value and 32 bytes per field.
            size = size.saturating_add(k.len() + v.len() + 32);
            if size > MAX_HEADER_LIST {
                dropped += 1;
                return;
            }
            fields.push((
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            ));
        })
    }));
    match decoded {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let why = format!("a header block that did not decode ({e:?})");
            f.error = Some(format!("headers not decoded: {why}"));
            dir.hpack_lost = Some(why);
            return String::new();
        }
        Err(_) => {
            dir.hpack_lost = Some("the HPACK decoder failed".into());
            f.error = Some("headers not decoded: the HPACK decoder failed".into());
            return String::new();
        }
    }
    if dropped > 0 {
        f.error = Some(format!(
            "a header list over {MAX_HEADER_LIST} bytes: its last {dropped} fields not shown"
        ));
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let info = streams.entry(stream).or_default();
    if let Some(path) = get(":path") {
        info.path = Some(path.to_string());
    }
    if get("content-type").is_some_and(|c| c.starts_with("application/grpc")) {
        info.grpc = true;
    }
    let mut detail = String::new();
    for (name, shown) in [
        (":method", ""),
        (":path", ""),
        (":status", ""),
        ("grpc-status", "grpc-status "),
        ("grpc-message", ""),
    ] {
        if let Some(v) = get(name) {
            if name == "grpc-message" {
                // Percent-encoded on the wire; shown as the server wrote it.
                detail.push_str(&format!(" \"{}\"", streams::percent_decoded(v)));
            } else {
                detail.push_str(&format!(" {shown}{v}"));
            }
        }
    }
    f.headers = Some(fields);
    detail
}

/// Reads gRPC prefixes and message bytes in a DATA payload; returns the
/// messages it completes, decoded.
fn grpc(
    cursor: &mut GrpcCursor,
    mut data: &[u8],
    path: Option<String>,
    from_server: bool,
) -> Vec<GrpcMessage> {
    let mut done = Vec::new();
    loop {
        if let Some(current) = &mut cursor.current {
            let take = cursor.left.min(data.len() as u64) as usize;
            cursor.left -= take as u64;
            if !current.compressed && current.len <= MAX_MESSAGE {
                cursor.body.extend_from_slice(&data[..take]);
            }
            data = &data[take..];
            if cursor.left > 0 {
                break;
            }
            let body = std::mem::take(&mut cursor.body);
            current.message = decode_message(current, from_server, &body);
            done.extend(cursor.current.take());
            continue;
        }
        if data.is_empty() {
            break;
        }
        let need = 5 - cursor.prefix.len();
        let take = need.min(data.len());
        cursor.prefix.extend_from_slice(&data[..take]);
        data = &data[take..];
        if cursor.prefix.len() < 5 {
            break;
        }
        let p = std::mem::take(&mut cursor.prefix);
        let len = u32::from_be_bytes([p[1], p[2], p[3], p[4]]);
        cursor.left = u64::from(len);
        cursor.current = Some(GrpcMessage {
            path: path.clone(),
            len,
            compressed: p[0] & 1 != 0,
            message: None,
        });
    }
    done
}

pub mod streams;

/// A whole message's protobuf: by the greeter's types for its calls, else as
/// wire fields. Compressed messages are not decoded (gzip is not undone
/// here), nor those longer than [`MAX_MESSAGE`], whose bytes were not kept.
fn decode_message(m: &GrpcMessage, from_server: bool, body: &[u8]) -> Option<ProtoMessage> {
    if m.compressed {
        return None;
    }
    if m.len > MAX_MESSAGE {
        return Some(ProtoMessage::error(format!(
            "{} bytes, longer than the {MAX_MESSAGE} kept",
            m.len
        )));
    }
    let by_type = m
        .path
        .as_deref()
        .and_then(|p| known::decode(p, from_server, body));
    Some(by_type.unwrap_or_else(|| match wire_fields(body) {
        Ok(fields) => ProtoMessage {
            type_name: None,
            value: None,
            fields: Some(fields),
            error: None,
        },
        Err(e) => ProtoMessage::error(e),
    }))
}

#[cfg(test)]
mod tests;
