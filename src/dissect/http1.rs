//! The HTTP/1.1 dissector: requests and responses read back out of TCP
//! payload, for `inspect`, `inspect --json` and the report's message sequence.
//!
//! HTTP/1.1 is text in a byte stream, so this cuts the stream as a receiver
//! does (RFC 9112, section 6.3): a head ends at the first empty line, and the
//! body that follows is as long as `Content-Length` says, or a series of
//! chunks ending with an empty one (`Transfer-Encoding: chunked`), or — a
//! response with neither — everything until the server closes. Answers to
//! `HEAD`, `1xx`, `204` and `304` have no body whatever their headers say, so
//! each connection remembers which of its requests were `HEAD`.
//!
//! Like the chat dissector, a message is reported on the frame whose segment
//! completes it (this is where Wireshark, which reassembles the same way,
//! shows it), several may end in one segment, and a segment carrying only a
//! part says how much it has. A direction is followed from a segment that
//! starts with a request line or a status line, on any port; anything that
//! does not parse afterwards stops it (and says why) rather than guessing.
//! Body bytes are counted, not kept, so a long download costs no memory.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::app::first_and_all;
use super::tcp_stream::{sorted, ByteStream, Key, Segment};
use crate::decode::Packet;

/// A head longer than this is not HTTP the dissector follows.
const MAX_HEAD: usize = 64 << 10;
/// Most headers read from one head.
const MAX_HEADERS: usize = 64;
/// Methods a request may start with (RFC 9110, section 9, and WebDAV's common ones).
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PROPFIND",
];

/// One HTTP message found in the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpMessage {
    /// `request` or `response`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: &'static str,
    /// Header lines as sent: name and value, in order.
    pub headers: Vec<(String, String)>,
    /// Bytes of body (the chunks' data, without their framing).
    pub body_len: u64,
    /// The body travelled in chunks.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chunked: bool,
    /// Bytes of the whole message: head and body as framed.
    pub len: u64,
    /// One line: `GET / HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub summary: String,
}

/// Bytes of an unfinished message: how many are here, and how many it needs
/// when its head says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Partial {
    pub have: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need: Option<u64>,
}

/// The `app` object of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpApp {
    pub proto: &'static str,
    /// The first message this segment completed (flattened into `app`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub first: Option<HttpMessage>,
    /// All messages this segment completed, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<HttpMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
    /// The direction cannot be dissected any more (and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl HttpApp {
    /// Every message of the frame, in order.
    pub fn all(&self) -> impl Iterator<Item = &HttpMessage> {
        self.first.iter().chain(self.messages.iter().skip(1))
    }

    /// The notes a frame's text line ends with: `  [http GET / HTTP/1.1]`.
    pub fn line_notes(&self) -> String {
        self.all()
            .map(|m| match m.body_len {
                0 => format!("  [http {}]", m.summary),
                n => format!("  [http {} · body {n} B]", m.summary),
            })
            .collect()
    }

    fn new(messages: Vec<HttpMessage>, partial: Option<Partial>, stopped: Option<String>) -> Self {
        let (first, messages) = first_and_all(messages);
        HttpApp {
            proto: "http",
            first,
            messages,
            partial,
            stopped,
        }
    }
}

/// A message whose head is read and whose body is still arriving.
struct Body {
    message: HttpMessage,
    framing: Framing,
}

enum Framing {
    /// This many body bytes still to come.
    Length(u64),
    /// Chunks, read from the buffer.
    Chunked,
    /// Until the sender closes.
    ToClose,
}

/// One direction of one connection.
#[derive(Default)]
struct Direction {
    bytes: ByteStream,
    body: Option<Body>,
}

/// The dissector: feed it every frame in capture order.
#[derive(Default)]
pub struct Http1Dissector {
    directions: HashMap<Key, Direction>,
    /// Per connection, whether each request not answered yet was `HEAD`.
    heads: HashMap<Key, VecDeque<bool>>,
}

impl Http1Dissector {
    /// What this frame carries of HTTP/1.x, if its direction is followed, and
    /// whether the sender is the server (it sends responses).
    pub fn frame(&mut self, packet: &Packet, bytes: &[u8]) -> Option<HttpApp> {
        let seg = Segment::of(packet, bytes)?;
        if seg.flags.syn() {
            // A new connection (or its SYN again): whatever was followed on this
            // 4-tuple is over.
            self.directions.remove(&seg.key);
            self.heads.remove(&sorted(seg.key));
            return None;
        }
        let dir = match self.directions.entry(seg.key) {
            Entry::Occupied(e) => e.into_mut(),
            // A direction is followed from where a message starts.
            Entry::Vacant(_) if !starts_message(seg.payload) => return None,
            Entry::Vacant(e) => e.insert(Direction {
                bytes: ByteStream::starting_at(seg.seq),
                body: None,
            }),
        };
        let heads = self.heads.entry(sorted(seg.key)).or_default();
        let mut app = None;
        if seg.len > 0 && dir.bytes.stopped.is_none() {
            match seg.truncated() {
                Some(why) => dir.bytes.stop(why),
                None => dir.bytes.add(seg.seq, seg.payload),
            }
            app = Some(dir.cut(heads));
        }
        if seg.flags.fin() || seg.flags.rst() {
            // The end of the stream ends a body that runs to the close.
            if let Some(Body {
                message,
                framing: Framing::ToClose,
            }) = dir.body.take()
            {
                let stopped = dir.bytes.stopped.clone();
                let app = app.get_or_insert_with(|| HttpApp::new(Vec::new(), None, stopped));
                app.partial = None;
                app.first.get_or_insert(message.clone());
                if !app.messages.is_empty() {
                    app.messages.push(message);
                }
            }
            self.directions.remove(&seg.key);
            let reverse = (seg.key.1, seg.key.0);
            if seg.flags.rst() || !self.directions.contains_key(&reverse) {
                self.directions.remove(&reverse);
                self.heads.remove(&sorted(seg.key));
            }
        }
        app
    }

    /// [`Http1Dissector::frame`], and whether the server sent it (the frame's
    /// messages are responses).
    pub fn frame_from_server(&mut self, packet: &Packet, bytes: &[u8]) -> Option<(HttpApp, bool)> {
        let app = self.frame(packet, bytes)?;
        let from_server = app.all().next().map(|m| m.kind == "response");
        Some((app, from_server.unwrap_or(false)))
    }
}

/// Whether `payload` starts like a request line or a status line.
fn starts_message(payload: &[u8]) -> bool {
    payload.starts_with(b"HTTP/1.")
        || METHODS.iter().any(|m| {
            payload.len() > m.len() && payload.starts_with(m.as_bytes()) && payload[m.len()] == b' '
        })
}

impl Direction {
    /// Cuts the messages the buffer now completes.
    fn cut(&mut self, heads: &mut VecDeque<bool>) -> HttpApp {
        let mut done = Vec::new();
        let mut partial = None;
        while self.bytes.stopped.is_none() {
            if let Some(body) = &mut self.body {
                let buf = self.bytes.buf();
                match &mut body.framing {
                    Framing::Length(left) => {
                        let take = (*left).min(buf.len() as u64);
                        *left -= take;
                        self.bytes.consume(take as usize);
                        if *left > 0 {
                            let need = body.message.len;
                            partial = Some(Partial {
                                have: need - *left,
                                need: Some(need),
                            });
                            break;
                        }
                    }
                    Framing::Chunked => match chunks(buf) {
                        Ok(Some((framed, data))) => {
                            body.message.len += framed as u64;
                            body.message.body_len = data;
                            self.bytes.consume(framed);
                        }
                        Ok(None) => {
                            partial = Some(Partial {
                                have: body.message.len + buf.len() as u64,
                                need: None,
                            });
                            break;
                        }
                        Err(e) => {
                            self.bytes.stop(e);
                            break;
                        }
                    },
                    Framing::ToClose => {
                        body.message.body_len += buf.len() as u64;
                        body.message.len += buf.len() as u64;
                        let n = buf.len();
                        self.bytes.consume(n);
                        partial = Some(Partial {
                            have: body.message.len,
                            need: None,
                        });
                        break;
                    }
                }
                if let Some(body) = self.body.take() {
                    done.push(body.message);
                }
                continue;
            }
            let buf = self.bytes.buf();
            if buf.is_empty() {
                break;
            }
            match head(buf, heads) {
                Ok(Some((message, head_len, framing))) => {
                    self.bytes.consume(head_len);
                    if message.status == Some(101) {
                        // The connection now speaks another protocol.
                        done.push(message);
                        self.bytes
                            .stop("101 Switching Protocols: what follows is not HTTP/1.1".into());
                        break;
                    }
                    self.body = Some(Body { message, framing });
                }
                Ok(None) if buf.len() > MAX_HEAD => {
                    self.bytes.stop(format!(
                        "no end of the head in {MAX_HEAD} bytes: dissection stops"
                    ));
                }
                Ok(None) => {
                    partial = Some(Partial {
                        have: buf.len() as u64,
                        need: None,
                    });
                    break;
                }
                Err(e) => self.bytes.stop(e),
            }
        }
        HttpApp::new(done, partial, self.bytes.stopped.clone())
    }
}

/// Reads a head off the front of `buf`: the message so far, the head's
/// length and how its body is framed; `None` while the head is incomplete.
fn head(
    buf: &[u8],
    heads: &mut VecDeque<bool>,
) -> Result<Option<(HttpMessage, usize, Framing)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let bad = |e: httparse::Error| format!("not an HTTP/1.x message ({e}): dissection stops");
    let (mut message, head_len, no_body) = if buf.starts_with(b"HTTP/") {
        let mut res = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(n) = res.parse(buf).map_err(bad)? else {
            return Ok(None);
        };
        let status = res.code.unwrap_or(0);
        let version = version(res.version);
        let reason = res.reason.unwrap_or("").to_string();
        // A 1xx is not the answer yet: the request waits for the final one.
        let informational = (100..200).contains(&status);
        let to_head = if informational {
            false
        } else {
            heads.pop_front().unwrap_or(false)
        };
        let m = HttpMessage {
            kind: "response",
            method: None,
            uri: None,
            status: Some(status),
            summary: format!("{version} {status} {reason}")
                .trim_end()
                .to_string(),
            reason: Some(reason),
            version,
            headers: pairs(res.headers),
            body_len: 0,
            chunked: false,
            len: n as u64,
        };
        (
            m,
            n,
            informational || status == 204 || status == 304 || to_head,
        )
    } else {
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(n) = req.parse(buf).map_err(bad)? else {
            return Ok(None);
        };
        let method = req.method.unwrap_or("").to_string();
        let uri = req.path.unwrap_or("").to_string();
        let version = version(req.version);
        heads.push_back(method == "HEAD");
        let m = HttpMessage {
            kind: "request",
            summary: format!("{method} {uri} {version}"),
            method: Some(method),
            uri: Some(uri),
            status: None,
            reason: None,
            version,
            headers: pairs(req.headers),
            body_len: 0,
            chunked: false,
            len: n as u64,
        };
        (m, n, false)
    };
    let header = |name: &str| {
        message
            .headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let chunked = header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().trim_end().ends_with("chunked"));
    let length = header("content-length");
    let framing = if no_body {
        Framing::Length(0)
    } else if chunked {
        message.chunked = true;
        Framing::Chunked
    } else if let Some(v) = length {
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| format!("Content-Length {v:?} is not a number: dissection stops"))?;
        message.body_len = n;
        message.len += n;
        Framing::Length(n)
    } else if message.kind == "response" {
        Framing::ToClose
    } else {
        // A request without either has no body (RFC 9112, section 6.3).
        Framing::Length(0)
    };
    Ok(Some((message, head_len, framing)))
}

fn version(minor: Option<u8>) -> &'static str {
    match minor {
        Some(0) => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

fn pairs(headers: &[httparse::Header]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

/// A whole chunked body at the front of `buf`: its framed length and the
/// bytes of data it carries; `None` while the last chunk has not arrived.
fn chunks(buf: &[u8]) -> Result<Option<(usize, u64)>, String> {
    let mut at = 0usize;
    let mut data = 0u64;
    loop {
        let rest = &buf[at..];
        let (line, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(c)) => c,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("a chunk size is not hex: dissection stops".into()),
        };
        at += line;
        if size == 0 {
            // Trailer fields, then an empty line.
            let rest = &buf[at..];
            if rest.starts_with(b"\r\n") {
                return Ok(Some((at + 2, data)));
            }
            return Ok(rest
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| (at + p + 4, data)));
        }
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| at.checked_add(s)?.checked_add(2))
            .ok_or("a chunk size too large: dissection stops")?;
        if buf.len() < end {
            return Ok(None);
        }
        if &buf[end - 2..end] != b"\r\n" {
            return Err("a chunk does not end with CRLF: dissection stops".into());
        }
        data += size;
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TcpFlags;
    use crate::dissect::test_segment::segment;

    const PA: u16 = TcpFlags::PSH | TcpFlags::ACK;
    const CLIENT: u16 = 40000;
    const SERVER: u16 = 8080;

    fn up(d: &mut Http1Dissector, seq: u32, payload: &[u8]) -> Option<HttpApp> {
        let (p, b) = segment(CLIENT, SERVER, seq, PA, payload);
        d.frame(&p, &b)
    }

    fn down(d: &mut Http1Dissector, seq: u32, flags: u16, payload: &[u8]) -> Option<HttpApp> {
        let (p, b) = segment(SERVER, CLIENT, seq, flags, payload);
        d.frame(&p, &b)
    }

    fn summaries(app: &HttpApp) -> Vec<String> {
        app.all().map(|m| m.summary.clone()).collect()
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: a\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nHello World!";

    #[test]
    fn a_request_and_its_response() {
        let mut d = Http1Dissector::default();
        let app = up(&mut d, 1, GET).unwrap();
        let m = app.first.as_ref().unwrap();
        assert_eq!(
            (m.method.as_deref(), m.uri.as_deref()),
            (Some("GET"), Some("/"))
        );
        assert_eq!(m.headers, [("host".to_string(), "a".to_string())]);
        let json = serde_json::to_string(&app).unwrap();
        assert!(
            json.starts_with(r#"{"proto":"http","type":"request","method":"GET","uri":"/""#),
            "{json}"
        );
        let app = down(&mut d, 1, PA, OK).unwrap();
        let m = app.first.as_ref().unwrap();
        assert_eq!(
            (m.status, m.body_len, m.len),
            (Some(200), 12, OK.len() as u64)
        );
        assert_eq!(app.line_notes(), "  [http HTTP/1.1 200 OK · body 12 B]");
    }

    #[test]
    fn split_heads_and_bodies_then_two_in_one_segment() {
        let mut d = Http1Dissector::default();
        let app = up(&mut d, 1, &GET[..10]).unwrap();
        assert!(app.first.is_none());
        assert_eq!(app.partial.unwrap().have, 10);
        let app = up(&mut d, 11, &GET[10..]).unwrap();
        assert_eq!(summaries(&app), ["GET / HTTP/1.1"]);
        // The body arrives in two parts.
        let app = down(&mut d, 1, PA, &OK[..OK.len() - 5]).unwrap();
        assert!(app.first.is_none());
        assert_eq!(
            app.partial,
            Some(Partial {
                have: OK.len() as u64 - 5,
                need: Some(OK.len() as u64)
            })
        );
        let app = down(&mut d, OK.len() as u32 - 4, PA, &OK[OK.len() - 5..]).unwrap();
        assert_eq!(summaries(&app), ["HTTP/1.1 200 OK"]);
        // Pipelined: two requests in one segment.
        let two = [GET, b"HEAD /x HTTP/1.1\r\n\r\n"].concat();
        let app = up(&mut d, 1 + GET.len() as u32, &two).unwrap();
        assert_eq!(summaries(&app), ["GET / HTTP/1.1", "HEAD /x HTTP/1.1"]);
        // The answer to HEAD has a length but no body.
        let answers = [OK, b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n"].concat();
        let app = down(&mut d, 1 + OK.len() as u32, PA, &answers).unwrap();
        let lens: Vec<_> = app.all().map(|m| m.body_len).collect();
        assert_eq!(lens, [12, 0], "HEAD's answer says 99 but carries none");
        assert!(app.partial.is_none());
    }

    #[test]
    fn chunked_and_to_close_bodies() {
        let mut d = Http1Dissector::default();
        up(&mut d, 1, GET);
        let r = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n";
        let app = down(&mut d, 1, PA, r).unwrap();
        assert!(app.first.is_none());
        let app = down(&mut d, 1 + r.len() as u32, PA, b"1;x=y\r\n!\r\n0\r\n\r\n").unwrap();
        let m = app.first.unwrap();
        assert!(m.chunked);
        assert_eq!(m.body_len, 6);
        // Another connection: a body that runs until the server closes.
        let mut d = Http1Dissector::default();
        up(&mut d, 1, GET);
        let r = b"HTTP/1.0 200 OK\r\n\r\nsome";
        let app = down(&mut d, 1, PA, r).unwrap();
        assert!(app.first.is_none());
        let app = down(&mut d, 1 + r.len() as u32, TcpFlags::FIN, b"").unwrap();
        let m = app.first.unwrap();
        assert_eq!((m.version, m.body_len), ("HTTP/1.0", 4));
    }

    #[test]
    fn other_traffic_is_left_alone_and_garbage_stops() {
        let mut d = Http1Dissector::default();
        assert!(up(&mut d, 1, b"\x00\x00\x00\x05{}").is_none());
        assert!(up(&mut d, 1, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").is_none());
        let app = up(&mut d, 1, b"GET / HTTP/1.1\r\nbad header\r\n\r\n").unwrap();
        assert!(app.stopped.unwrap().starts_with("not an HTTP/1.x message"));
        let app = down(
            &mut d,
            1,
            PA,
            b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
        )
        .unwrap();
        assert!(app.stopped.unwrap().contains("is not a number"));
    }
}
