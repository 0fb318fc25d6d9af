//! The chat protocol's dissector: turns the TCP payload of chat connections back
//! into messages, so `inspect --json` can say which frame carried which
//! `LoginMes`, and the report can draw the message sequence.
//!
//! TCP delivers a byte stream, not messages, so this is a small TCP receiver of
//! its own, per direction: it follows sequence numbers from the SYN (or the
//! first data seen), appends payload in order, keeps a few out-of-order
//! segments until the gap fills, ignores bytes it already has (retransmissions),
//! and then cuts the stream at the 4-byte lengths. A segment may complete
//! several chat frames, and a chat frame may need several segments: the
//! message is reported on the frame whose segment completes it, and a frame
//! carrying only a part says how much of the message it holds.
//!
//! Connections with one end on a chat port are dissected from their SYN. A
//! connection on any other port is dissected from the first segment that
//! holds a whole chat message at its start (a 4-byte length, then a JSON
//! message of a known type), as Wireshark's heuristic dissectors find a
//! protocol off its port, so a chat server on `--listen :9000` needs no flag.
//! Other traffic costs a look at five bytes of each segment; only a segment
//! that passes it is parsed.
//!
//! A message's `data` may be a JSON string holding JSON (the notes' form) or a
//! nested object; either way the message is shown decoded, and `data_form`
//! says which form was on the wire.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use serde_json::Value;

use super::app::first_and_all;
use super::tcp_stream::ByteStream;
use crate::chat::message::{DataForm, Message};
use crate::decode::{Packet, Transport};

/// Default chat port (`protolab serve chat`): the notes' server listens on 8889.
pub const CHAT_PORT: u16 = 8889;
/// A length above this is not a chat frame: the direction stops being dissected.
const MAX_LEN: usize = 16 << 20;

/// One chat message found in the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// The message type (`LoginMes`), absent when the body is not a message.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Body length (the frame is 4 bytes more).
    pub len: usize,
    /// One line: what it says (passwords left out).
    pub summary: String,
    /// The message's data, decoded from either form, passwords masked and long
    /// file chunks cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// How `data` was on the wire: `string` (a JSON string, the notes' form) or
    /// `object`; absent when the message had no `data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_form: Option<DataForm>,
    /// Why the body is not a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `app` object of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatApp {
    pub proto: &'static str,
    /// The first message this segment completed (flattened into the frame's `app` object).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub first: Option<ChatMessage>,
    /// All messages this segment completed, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ChatMessage>,
    /// Bytes of an unfinished chat frame waiting for more segments: (have, need).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
    /// The direction cannot be dissected any more (and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Partial {
    pub have: usize,
    pub need: usize,
}

impl ChatApp {
    /// Every message of the frame, in order.
    pub fn all(&self) -> impl Iterator<Item = &ChatMessage> {
        self.first.iter().chain(self.messages.iter().skip(1))
    }

    /// The notes a frame's text line ends with, one `  [chat …]` per message this
    /// segment completed (`inspect` and `capture` print the same), each saying
    /// how its `data` travelled: `[chat LoginMes user 100 · data string]`.
    pub fn line_notes(&self) -> String {
        self.all()
            .map(|m| match m.data_form {
                Some(form) => format!("  [chat {} · data {}]", m.summary, form.word()),
                None => format!("  [chat {}]", m.summary),
            })
            .collect()
    }
}

/// One chat message located in a capture: for the report's message sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatEvent {
    /// The frame whose segment completed the message.
    pub frame: u64,
    pub ts_ns: u64,
    /// The connection (analyzer flow id).
    pub flow: Option<u64>,
    /// Sent by the chat server (the end on a chat port) rather than the client.
    pub from_server: bool,
    pub message: ChatMessage,
}

impl ChatDissector {
    /// [`ChatDissector::frame`], as one event per message.
    pub fn events(&mut self, packet: &Packet, bytes: &[u8], flow: Option<u64>) -> Vec<ChatEvent> {
        let Some((app, from_server)) = self.dissect(packet, bytes) else {
            return Vec::new();
        };
        app.all()
            .map(|m| ChatEvent {
                frame: packet.frame,
                ts_ns: packet.ts_ns,
                flow,
                from_server,
                message: m.clone(),
            })
            .collect()
    }
}

/// One direction of one connection.
/// One direction: (sender, receiver).
type Key = (SocketAddr, SocketAddr);

/// The dissector: feed it every frame in capture order.
pub struct ChatDissector {
    ports: Vec<u16>,
    /// Whether connections off the chat ports are tried (see the module doc).
    heuristic: bool,
    streams: HashMap<Key, ByteStream>,
    /// Connections found by their first message, by their ends in sorted
    /// order, with the end that is the server.
    found: HashMap<Key, SocketAddr>,
}

impl Default for ChatDissector {
    fn default() -> Self {
        ChatDissector::new(vec![CHAT_PORT])
    }
}

impl ChatDissector {
    /// Dissects connections with an end on one of `ports`, and others from
    /// their first chat message.
    pub fn new(ports: Vec<u16>) -> Self {
        ChatDissector {
            ports,
            heuristic: true,
            streams: HashMap::new(),
            found: HashMap::new(),
        }
    }

    /// Only the chat ports: connections elsewhere are never looked at.
    pub fn ports_only(mut self) -> Self {
        self.heuristic = false;
        self
    }

    /// What this frame carries of the chat, if it belongs to a chat connection.
    /// `bytes` are the frame's captured bytes (the payload is `packet.payload`).
    pub fn frame(&mut self, packet: &Packet, bytes: &[u8]) -> Option<ChatApp> {
        self.dissect(packet, bytes).map(|(app, _)| app)
    }

    /// [`ChatDissector::frame`], and whether the server sent the frame.
    fn dissect(&mut self, packet: &Packet, bytes: &[u8]) -> Option<(ChatApp, bool)> {
        let Some(Transport::Tcp(tcp)) = &packet.transport else {
            return None;
        };
        let on_port = self.ports.contains(&tcp.sport) || self.ports.contains(&tcp.dport);
        if !on_port && !self.heuristic {
            return None;
        }
        let ip = packet.ip.as_ref()?;
        let key = (sock(ip.src, tcp.sport), sock(ip.dst, tcp.dport));
        let payload = bytes.get(packet.payload.clone()).unwrap_or(&[]);
        let from_server = if on_port {
            self.ports.contains(&tcp.sport)
        } else {
            let server = self.found_server(key, payload)?;
            // A direction of a found connection starts where a message starts.
            if !self.streams.contains_key(&key)
                && !tcp.flags.syn()
                && frame_len_at_start(payload).is_none()
            {
                return None;
            }
            server == key.0
        };
        let flags = tcp.flags;
        if flags.syn() {
            // A new connection (or its retransmitted SYN): data starts after the SYN.
            let s = self.streams.entry(key).or_default();
            *s = ByteStream::starting_at(tcp.seq.wrapping_add(1));
            return None;
        }
        let mut app = None;
        if tcp.len > 0 {
            let stream = self.streams.entry(key).or_default();
            if stream.stopped.is_none() {
                if (payload.len() as u32) < tcp.len {
                    stream.stop(format!(
                        "the capture kept {} of {} (snaplen): chat frames cannot \
                         be reassembled; capture with a larger snaplen",
                        payload.len(),
                        crate::output::words::plural(tcp.len, "payload byte", "payload bytes")
                    ));
                } else {
                    stream.add(tcp.seq, payload);
                }
                app = Some(cut(stream));
            }
        }
        if flags.rst() || flags.fin() {
            self.streams.remove(&key);
            let reverse = (key.1, key.0);
            if flags.rst() || !self.streams.contains_key(&reverse) {
                // The connection is over: its 4-tuple may be reused by anything.
                self.streams.remove(&reverse);
                self.found.remove(&sorted(key));
            }
        }
        app.map(|app| (app, from_server))
    }

    /// The server of a connection off the chat ports: known already, or found
    /// now because `payload` starts with a whole chat message. The client
    /// speaks first, unless the message is one only servers send.
    fn found_server(&mut self, key: Key, payload: &[u8]) -> Option<SocketAddr> {
        // (A lookup in an empty map returns before hashing.)
        if let Some(&server) = self.found.get(&sorted(key)) {
            return Some(server);
        }
        let len = frame_len_at_start(payload)?;
        let body = payload.get(4..4 + len)?;
        let message = Message::parse(body).ok()?;
        let server = if message.sent_by_server() == Some(true) {
            key.0
        } else {
            key.1
        };
        self.found.insert(sorted(key), server);
        Some(server)
    }
}

/// The body length when `payload` could start a chat frame: a length a chat
/// frame may have, then `{`, where every message begins.
fn frame_len_at_start(payload: &[u8]) -> Option<usize> {
    let (len, rest) = payload.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    (rest.first() == Some(&b'{') && len <= MAX_LEN).then_some(len)
}

/// A connection's two ends in one order, whichever direction a frame goes.
fn sorted((a, b): Key) -> Key {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

fn sock(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// Cuts complete chat frames off the front of `stream`'s bytes.
fn cut(stream: &mut ByteStream) -> ChatApp {
    let mut messages = Vec::new();
    let mut at = 0;
    let mut partial = None;
    let mut stop = None;
    while stream.stopped.is_none() {
        let rest = &stream.buf()[at..];
        if rest.len() < 4 {
            if !rest.is_empty() {
                partial = Some(Partial {
                    have: rest.len(),
                    need: 4,
                });
            }
            break;
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_LEN {
            stop = Some(format!(
                "length {len} is not a chat frame (over {MAX_LEN}): dissection stops"
            ));
            break;
        }
        if rest.len() < 4 + len {
            partial = Some(Partial {
                have: rest.len(),
                need: 4 + len,
            });
            break;
        }
        messages.push(describe(&rest[4..4 + len]));
        at += 4 + len;
    }
    stream.consume(at);
    if let Some(why) = stop {
        stream.stop(why);
    }
    let (first, messages) = first_and_all(messages);
    ChatApp {
        proto: "chat",
        first,
        messages,
        partial,
        stopped: stream.stopped.clone(),
    }
}

/// A chat frame body as the `app` object shows it.
fn describe(body: &[u8]) -> ChatMessage {
    match Message::parse_with_form(body) {
        Ok((m, data_form)) => {
            let data = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|mut v| v.get_mut("data").map(Value::take))
                .map(|mut d| {
                    if let Value::String(inner) = &d {
                        // The notes' form: data as a JSON string.
                        d = serde_json::from_str(inner).unwrap_or(Value::Null);
                    }
                    mask(&mut d);
                    d
                });
            ChatMessage {
                kind: Some(m.type_name().to_string()),
                len: body.len(),
                summary: m.describe(),
                data,
                data_form,
                error: None,
            }
        }
        Err(e) => ChatMessage {
            kind: None,
            len: body.len(),
            summary: "not a chat message".into(),
            data: None,
            data_form: None,
            error: Some(e.to_string()),
        },
    }
}

/// Masks passwords and shortens file chunks, at any depth.
fn mask(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "userPwd" {
                    *val = Value::String("***".into());
                } else if let Value::String(s) = val {
                    if k == "data" && s.len() > 32 {
                        let n = s.len();
                        s.truncate(32);
                        s.push_str(&format!("… ({n} chars)"));
                    }
                } else {
                    mask(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::frame::encode_frame;
    use crate::chat::message::{LoginMes, SmsMes};
    use crate::decode::TcpFlags;
    use crate::dissect::test_segment::segment;

    const CLIENT: u16 = 40000;

    /// A TCP segment client → server with `payload` at `seq`, built and decoded.
    fn to_server(seq: u32, flags: u16, payload: &[u8]) -> (Packet, Vec<u8>) {
        segment(CLIENT, CHAT_PORT, seq, flags, payload)
    }

    fn login() -> Vec<u8> {
        Message::LoginMes(LoginMes {
            user_id: 100,
            user_pwd: "secret".into(),
            user_name: String::new(),
        })
        .to_frame()
        .to_vec()
    }

    fn sms(text: &str) -> Vec<u8> {
        Message::SmsMes(SmsMes {
            content: text.into(),
            user: None,
        })
        .to_frame()
        .to_vec()
    }

    fn feed(d: &mut ChatDissector, seq: u32, flags: u16, payload: &[u8]) -> Option<ChatApp> {
        let (p, bytes) = to_server(seq, flags, payload);
        d.frame(&p, &bytes)
    }

    const PA: u16 = TcpFlags::PSH | TcpFlags::ACK;

    #[test]
    fn one_message_in_one_segment_password_masked() {
        let mut d = ChatDissector::default();
        assert!(feed(&mut d, 999, TcpFlags::SYN, b"").is_none());
        let app = feed(&mut d, 1000, PA, &login()).unwrap();
        let first = app.first.as_ref().unwrap();
        assert_eq!(first.kind.as_deref(), Some("LoginMes"));
        assert_eq!(first.data.as_ref().unwrap()["userPwd"], "***");
        let json = serde_json::to_string(&app).unwrap();
        assert!(
            json.starts_with(r#"{"proto":"chat","type":"LoginMes","len":"#),
            "{json}"
        );
        assert!(!json.contains("secret"));
    }

    /// Either form of `data` is shown decoded, and says which it was.
    #[test]
    fn both_forms_of_data_are_decoded_and_named() {
        let message = Message::LoginMes(LoginMes {
            user_id: 100,
            user_pwd: "secret".into(),
            user_name: String::new(),
        });
        for form in [DataForm::String, DataForm::Object] {
            let mut d = ChatDissector::default();
            feed(&mut d, 999, TcpFlags::SYN, b"");
            let app = feed(&mut d, 1000, PA, &message.to_frame_in(form)).unwrap();
            let first = app.first.as_ref().unwrap();
            assert_eq!(first.data_form, Some(form));
            assert_eq!(first.data.as_ref().unwrap()["userId"], 100);
            assert_eq!(first.data.as_ref().unwrap()["userPwd"], "***");
            assert_eq!(
                app.line_notes(),
                format!("  [chat LoginMes user 100 · data {}]", form.word())
            );
            let json = serde_json::to_value(&app).unwrap();
            assert_eq!(json["data_form"], form.word());
        }
    }

    #[test]
    fn a_message_split_across_segments_then_two_in_one() {
        let mut d = ChatDissector::default();
        feed(&mut d, 0, TcpFlags::SYN, b"");
        let m = login();
        let app = feed(&mut d, 1, PA, &m[..3]).unwrap();
        assert_eq!(app.partial, Some(Partial { have: 3, need: 4 }));
        assert!(app.first.is_none());
        let app = feed(&mut d, 4, PA, &m[3..10]).unwrap();
        assert_eq!(
            app.partial,
            Some(Partial {
                have: 10,
                need: m.len()
            })
        );
        let app = feed(&mut d, 11, PA, &m[10..]).unwrap();
        assert_eq!(app.first.unwrap().kind.as_deref(), Some("LoginMes"));
        assert!(app.partial.is_none());
        let two = [sms("a"), sms("b")].concat();
        let app = feed(&mut d, 1 + m.len() as u32, PA, &two).unwrap();
        let kinds: Vec<_> = app.all().map(|m| m.summary.clone()).collect();
        assert_eq!(kinds, ["SmsMes: a", "SmsMes: b"]);
    }

    #[test]
    fn retransmission_and_reordering() {
        let mut d = ChatDissector::default();
        feed(&mut d, 0, TcpFlags::SYN, b"");
        let m = sms("hello");
        let half = m.len() / 2;
        // The second half arrives first, then the first half, then a retransmission.
        let app = feed(&mut d, 1 + half as u32, PA, &m[half..]).unwrap();
        assert!(app.first.is_none());
        let app = feed(&mut d, 1, PA, &m[..half]).unwrap();
        assert_eq!(app.first.unwrap().summary, "SmsMes: hello");
        let app = feed(&mut d, 1, PA, &m[..half]).unwrap();
        assert!(app.first.is_none() && app.partial.is_none());
    }

    #[test]
    fn bad_bodies_and_broken_lengths() {
        let mut d = ChatDissector::default();
        let app = feed(&mut d, 50, PA, &encode_frame(b"{nope")).unwrap();
        let first = app.first.unwrap();
        assert!(first.kind.is_none());
        assert!(first.error.unwrap().starts_with("the frame is not JSON"));
        let app = feed(&mut d, 50 + 9, PA, b"GET / HTTP/1.1\r\n").unwrap();
        assert!(app.stopped.unwrap().contains("is not a chat frame"));
    }

    /// Events of one segment between two ports (direction by the ports).
    fn events_between(
        d: &mut ChatDissector,
        (sport, dport): (u16, u16),
        seq: u32,
        flags: u16,
        payload: &[u8],
    ) -> Vec<ChatEvent> {
        let (p, bytes) = segment(sport, dport, seq, flags, payload);
        d.events(&p, &bytes, None)
    }

    fn login_res() -> Vec<u8> {
        Message::LoginResMes(crate::chat::message::LoginResMes {
            code: 200,
            users_id: vec![100],
            users: Vec::new(),
            user_name: "alice".into(),
            offline: 0,
            error: String::new(),
        })
        .to_frame()
        .to_vec()
    }

    #[test]
    fn a_chat_off_its_port_is_found_by_its_first_message() {
        const SERVER: u16 = 9000;
        let mut d = ChatDissector::default();
        let up = (CLIENT, SERVER);
        let down = (SERVER, CLIENT);
        // The handshake and a server byte before any message say nothing yet.
        assert!(events_between(&mut d, up, 0, TcpFlags::SYN, b"").is_empty());
        assert!(events_between(&mut d, down, 0, PA, b"{").is_empty());
        let m = login();
        let ev = events_between(&mut d, up, 1, PA, &m);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].message.kind.as_deref(), Some("LoginMes"));
        assert!(!ev[0].from_server, "the client speaks first");
        // The answer is dissected as the server's, and split answers reassemble.
        let r = login_res();
        let ev = events_between(&mut d, down, 1, PA, &r[..6]);
        assert!(ev.is_empty());
        let ev = events_between(&mut d, down, 7, PA, &r[6..]);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(ev[0].from_server);
        assert_eq!(ev[0].message.kind.as_deref(), Some("LoginResMes"));
        // Once both ends have closed, the 4-tuple is free: other data on it is
        // not taken for chat.
        let end = 1 + m.len() as u32;
        events_between(&mut d, up, end, TcpFlags::FIN, b"");
        events_between(&mut d, down, 1 + r.len() as u32, TcpFlags::FIN, b"");
        assert!(d.found.is_empty() && d.streams.is_empty());
        assert!(events_between(&mut d, up, end + 1, PA, b"GET / HTTP/1.1\r\n").is_empty());
    }

    #[test]
    fn a_server_only_message_names_its_sender_the_server() {
        // A capture that starts after the login: the first whole message is the
        // server's notification.
        let mut d = ChatDissector::default();
        let note = Message::NotifyUserStatusMes(crate::chat::message::NotifyUserStatusMes {
            user_id: 200,
            status: crate::chat::message::status::ONLINE,
            user_name: String::new(),
        })
        .to_frame();
        let ev = events_between(&mut d, (9000, CLIENT), 5000, PA, &note);
        assert_eq!(ev.len(), 1);
        assert!(ev[0].from_server);
    }

    #[test]
    fn other_traffic_is_not_taken_for_chat() {
        let mut d = ChatDissector::default();
        let http = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert!(feed_between(&mut d, (80, CLIENT), http).is_none());
        // A length and a brace, but no message: still not chat.
        assert!(feed_between(&mut d, (5000, CLIENT), &encode_frame(b"{\"a\":1}")).is_none());
        assert!(d.found.is_empty() && d.streams.is_empty());
    }

    #[test]
    fn ports_only_looks_at_nothing_else() {
        let mut d = ChatDissector::new(vec![9999]).ports_only();
        assert!(feed(&mut d, 1, PA, &login()).is_none());
        let mut d = ChatDissector::new(vec![9999]);
        assert!(feed(&mut d, 1, PA, &login()).is_some());
    }

    fn feed_between(d: &mut ChatDissector, ports: (u16, u16), payload: &[u8]) -> Option<ChatApp> {
        let (p, bytes) = segment(ports.0, ports.1, 1, PA, payload);
        d.frame(&p, &bytes)
    }
}
