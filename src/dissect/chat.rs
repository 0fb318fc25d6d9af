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
//! Only connections with one end on a chat port are looked at, so other
//! traffic costs one port comparison per frame.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use serde_json::Value;

use crate::chat::message::Message;
use crate::decode::{Packet, Transport};

/// Default chat port (`protolab serve chat`).
pub const CHAT_PORT: u16 = 8888;
/// Out-of-order bytes kept per direction while waiting for a gap to fill.
const MAX_PENDING: usize = 1 << 20;
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
    /// The message's data, passwords masked and long file chunks cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Why the body is not a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `app` object of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatApp {
    pub proto: &'static str,
    /// The first message this segment completed (flattened, as DESIGN §4 shows).
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
    /// Whether one end of `port_a`/`port_b` is a chat port.
    pub fn watches(&self, port_a: u16, port_b: u16) -> bool {
        self.ports.contains(&port_a) || self.ports.contains(&port_b)
    }

    /// [`ChatDissector::frame`], as one event per message.
    pub fn events(&mut self, packet: &Packet, bytes: &[u8], flow: Option<u64>) -> Vec<ChatEvent> {
        let Some(app) = self.frame(packet, bytes) else {
            return Vec::new();
        };
        let from_server = packet.tcp().is_some_and(|t| self.ports.contains(&t.sport));
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
#[derive(Default)]
struct Stream {
    next_seq: Option<u32>,
    buf: Vec<u8>,
    /// Out-of-order segments by sequence number.
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    stopped: Option<String>,
}

type Key = (SocketAddr, SocketAddr);

/// The dissector: feed it every frame in capture order.
pub struct ChatDissector {
    ports: Vec<u16>,
    streams: HashMap<Key, Stream>,
}

impl Default for ChatDissector {
    fn default() -> Self {
        ChatDissector::new(vec![CHAT_PORT])
    }
}

impl ChatDissector {
    /// Dissects connections with an end on one of `ports`.
    pub fn new(ports: Vec<u16>) -> Self {
        ChatDissector {
            ports,
            streams: HashMap::new(),
        }
    }

    /// What this frame carries of the chat, if it belongs to a chat connection.
    /// `bytes` are the frame's captured bytes (the payload is `packet.payload`).
    pub fn frame(&mut self, packet: &Packet, bytes: &[u8]) -> Option<ChatApp> {
        let Some(Transport::Tcp(tcp)) = &packet.transport else {
            return None;
        };
        if !self.ports.contains(&tcp.sport) && !self.ports.contains(&tcp.dport) {
            return None;
        }
        let ip = packet.ip.as_ref()?;
        let key = (sock(ip.src, tcp.sport), sock(ip.dst, tcp.dport));
        let flags = tcp.flags;
        if flags.syn() {
            // A new connection (or its retransmitted SYN): data starts after the SYN.
            let s = self.streams.entry(key).or_default();
            *s = Stream {
                next_seq: Some(tcp.seq.wrapping_add(1)),
                ..Stream::default()
            };
            return None;
        }
        let payload = bytes.get(packet.payload.clone()).unwrap_or(&[]);
        let stream = self.streams.entry(key).or_default();
        let mut app = None;
        if tcp.len > 0 && stream.stopped.is_none() {
            if (payload.len() as u32) < tcp.len {
                stream.stopped = Some(format!(
                    "the capture kept {} of {} payload bytes (snaplen): chat frames cannot be \
                     reassembled; capture with a larger snaplen",
                    payload.len(),
                    tcp.len
                ));
            } else {
                stream.add(tcp.seq, payload);
            }
            app = Some(stream.cut());
        }
        if flags.fin() || flags.rst() {
            self.streams.remove(&key);
        }
        app
    }
}

fn sock(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// `a - b` in sequence space (positive when a is after b).
fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl Stream {
    /// Puts a segment's bytes in place.
    fn add(&mut self, seq: u32, payload: &[u8]) {
        let next = *self.next_seq.get_or_insert(seq); // mid-stream: start here
        let d = seq_diff(seq, next);
        if d > 0 {
            // A gap before it: keep it for later (bounded).
            if self.pending_bytes + payload.len() <= MAX_PENDING {
                self.pending_bytes += payload.len();
                self.pending.insert(seq, payload.to_vec());
            } else {
                self.stopped = Some(
                    "too many bytes missing (a segment was not captured): dissection stops".into(),
                );
            }
            return;
        }
        self.append(d, payload);
        // The gap may be filled now.
        while let Some((&s, _)) = self.pending.iter().next() {
            let d = seq_diff(s, self.next_seq.unwrap_or(s));
            if d > 0 {
                break;
            }
            let bytes = self.pending.remove(&s).unwrap_or_default();
            self.pending_bytes -= bytes.len();
            self.append(d, &bytes);
        }
    }

    /// Appends `payload` that starts `-d` bytes before the next expected byte.
    fn append(&mut self, d: i64, payload: &[u8]) {
        let skip = (-d) as usize;
        if skip >= payload.len() {
            return; // all seen before: a retransmission
        }
        let new = &payload[skip..];
        self.buf.extend_from_slice(new);
        self.next_seq = self.next_seq.map(|n| n.wrapping_add(new.len() as u32));
    }

    /// Cuts complete chat frames off the front of the buffer.
    fn cut(&mut self) -> ChatApp {
        let mut messages = Vec::new();
        let mut at = 0;
        let mut partial = None;
        while self.stopped.is_none() {
            let rest = &self.buf[at..];
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
                self.stopped = Some(format!(
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
        self.buf.drain(..at.min(self.buf.len()));
        if self.stopped.is_some() {
            self.buf = Vec::new();
        }
        ChatApp {
            proto: "chat",
            first: messages.first().cloned(),
            messages: if messages.len() > 1 {
                messages
            } else {
                Vec::new()
            },
            partial,
            stopped: self.stopped.clone(),
        }
    }
}

/// A chat frame body as the `app` object shows it.
fn describe(body: &[u8]) -> ChatMessage {
    match Message::parse(body) {
        Ok(m) => {
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
                error: None,
            }
        }
        Err(e) => ChatMessage {
            kind: None,
            len: body.len(),
            summary: "not a chat message".into(),
            data: None,
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
    use crate::capture::{LinkType, RawFrame};
    use crate::chat::frame::encode_frame;
    use crate::chat::message::{LoginMes, SmsMes};
    use crate::decode::{decode, TcpFlags};
    use etherparse::PacketBuilder;

    const CLIENT: u16 = 40000;

    /// A TCP segment client → server with `payload` at `seq`, built and decoded.
    fn segment(seq: u32, flags: u16, payload: &[u8]) -> (Packet, Vec<u8>) {
        let mut tcp = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(CLIENT, CHAT_PORT, seq, 65535);
        if flags & TcpFlags::SYN != 0 {
            tcp = tcp.syn();
        } else {
            tcp = tcp.ack(1).psh();
        }
        let mut bytes = Vec::new();
        tcp.write(&mut bytes, payload).unwrap();
        let frame = RawFrame {
            number: 1,
            ts_ns: 0,
            linktype: LinkType::ETHERNET,
            orig_len: bytes.len() as u32,
            bytes,
        };
        (decode(&frame), frame.bytes)
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
        let (p, bytes) = segment(seq, flags, payload);
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

    #[test]
    fn other_ports_are_not_looked_at() {
        let mut d = ChatDissector::new(vec![9999]);
        assert!(feed(&mut d, 1, PA, &login()).is_none());
    }
}
