//! "What to notice" for chat connections: the chat's message boundaries, the
//! lesson of `run chat`. TCP delivers a byte stream, so every chat message
//! travels as a 4-byte big-endian length and then that many bytes of JSON
//! (`src/chat/frame.rs`, docs/chat-protocol.md). These sentences point at the
//! frames where a student can see it: a length prefix in the bytes, a segment
//! that carries several messages, a message that needed several segments.

use crate::analyze::Role;
use crate::chart::{FrameRecord, Lang};
use crate::dissect::chat::ChatEvent;

use super::super::model::{payload_len, Connection};

/// Bytes of the length prefix (as `chat::frame::HEADER_LEN`).
const HEADER_LEN: u64 = 4;

fn kind(e: &ChatEvent) -> &str {
    e.message.kind.as_deref().unwrap_or("?")
}

fn sender(e: &ChatEvent) -> Role {
    if e.from_server {
        Role::Server
    } else {
        Role::Client
    }
}

/// The framing itself, shown on the first message that fills its segment exactly
/// (length prefix and body, nothing else), so the four bytes are at the start of
/// that segment's payload.
pub fn prefix(
    c: &Connection,
    events: &[&ChatEvent],
    frames: &[FrameRecord],
    lang: Lang,
) -> Option<String> {
    let alone = |e: &&&ChatEvent| events.iter().filter(|o| o.frame == e.frame).count() == 1;
    let (e, r) = events.iter().filter(alone).find_map(|e| {
        let r = frames.iter().find(|r| r.packet.frame == e.frame)?;
        (payload_len(r) == HEADER_LEN + e.message.len as u64).then_some((e, r))
    })?;
    let (n, f, k, len) = (c.flow, r.packet.frame, kind(e), e.message.len);
    let hex = (len as u32)
        .to_be_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let total = len as u64 + HEADER_LEN;
    Some(match lang {
        Lang::En => format!(
            "Connection {n}: every chat message is a 4-byte big-endian length, then that many bytes of JSON. Frame {f} carries a {k}: its payload starts with {hex} ({len} in decimal), then {len} bytes of JSON follow, {total} bytes in all. TCP keeps no message boundaries of its own: this length is how the receiver knows where a message ends."
        ),
        Lang::Zh => format!(
            "连接 {n}：每条聊天消息先是 4 字节的大端序长度，再是这么多字节的 JSON。第 {f} 帧携带一条 {k}：载荷以 {hex}（十进制 {len}）开头，后面是 {len} 字节的 JSON，共 {total} 字节。TCP 本身不保留消息边界：接收方靠这个长度知道一条消息在哪里结束。"
        ),
    })
}

/// The first segment of the connection that carried several messages.
pub fn several_in_one_segment(c: &Connection, events: &[&ChatEvent], lang: Lang) -> Option<String> {
    let first = events
        .iter()
        .find(|e| events.iter().filter(|o| o.frame == e.frame).count() > 1)?;
    let f = first.frame;
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.frame == f)
        .map(|e| kind(e))
        .collect();
    let sep = match lang {
        Lang::En => ", ",
        Lang::Zh => "、",
    };
    let (n, k, list) = (c.flow, kinds.len(), kinds.join(sep));
    Some(match lang {
        Lang::En => format!(
            "Connection {n}: frame {f} is one TCP segment carrying {k} chat messages ({list}): the receiver cuts them apart at their length prefixes, not at segment boundaries."
        ),
        Lang::Zh => format!(
            "连接 {n}：第 {f} 帧是一个 TCP 报文段，却携带了 {k} 条聊天消息（{list}）：接收方按各自的长度前缀把它们分开，而不是按报文段的边界。"
        ),
    })
}

/// The first message of the connection that needed more than one segment: a
/// segment with data that completed no message holds part of the next one.
pub fn spread_over_segments(
    c: &Connection,
    events: &[&ChatEvent],
    frames: &[FrameRecord],
    lang: Lang,
) -> Option<String> {
    let (part, whole) = frames
        .iter()
        .filter(|r| payload_len(r) > 0 && !r.analysis.flags.is_retransmission())
        .filter(|r| !events.iter().any(|e| e.frame == r.packet.frame))
        .find_map(|r| {
            let who = r.analysis.sender?;
            let whole = events
                .iter()
                .find(|e| e.frame > r.packet.frame && sender(e) == who)?;
            Some((r.packet.frame, whole))
        })?;
    let (n, g, k) = (c.flow, whole.frame, kind(whole));
    let total = whole.message.len as u64 + HEADER_LEN;
    Some(match lang {
        Lang::En => format!(
            "Connection {n}: frame {part} carries only part of a chat message; the {k} is complete at frame {g}. The receiver keeps reading until it has all {total} bytes the length announced, however TCP cut them into segments."
        ),
        Lang::Zh => format!(
            "连接 {n}：第 {part} 帧只携带了一条聊天消息的一部分；这条 {k} 到第 {g} 帧才完整。无论 TCP 怎样把它切成报文段，接收方都会一直读，直到收齐长度所声明的全部 {total} 字节。"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::FrameAnalysis;
    use crate::decode::{Packet, TcpInfo, Transport};
    use crate::dissect::chat::ChatMessage;

    /// A segment of `len` payload bytes sent by `who`.
    fn segment(frame: u64, who: Role, len: u32) -> FrameRecord {
        FrameRecord {
            packet: Packet {
                frame,
                transport: Some(Transport::Tcp(TcpInfo {
                    len,
                    ..TcpInfo::default()
                })),
                ..Packet::default()
            },
            analysis: FrameAnalysis {
                sender: Some(who),
                ..FrameAnalysis::default()
            },
            bytes: Vec::new(),
            masked: 0,
        }
    }

    /// A message of a `len`-byte body, complete at `frame`.
    fn message(frame: u64, from_server: bool, kind: &str, len: usize) -> ChatEvent {
        ChatEvent {
            frame,
            ts_ns: 0,
            flow: Some(1),
            from_server,
            message: ChatMessage {
                kind: Some(kind.into()),
                len,
                summary: String::new(),
                data: None,
                data_form: None,
                error: None,
            },
        }
    }

    #[test]
    fn the_length_prefix_is_shown_in_hex_on_a_message_that_fills_its_segment() {
        // Frame 4 holds two messages, frame 5 one of 99 bytes in a 103-byte segment.
        let frames = [segment(4, Role::Server, 200), segment(5, Role::Client, 103)];
        let events = [
            message(4, true, "LoginResMes", 100),
            message(4, true, "OfflineMes", 92),
            message(5, false, "SmsMes", 99),
        ];
        let events: Vec<&ChatEvent> = events.iter().collect();
        let c = Connection::for_tests(1);
        let en = prefix(&c, &events, &frames, Lang::En).unwrap();
        assert!(
            en.contains("Frame 5 carries a SmsMes: its payload starts with 00 00 00 63 (99 in decimal), then 99 bytes of JSON follow, 103 bytes in all."),
            "{en}"
        );
        let zh = prefix(&c, &events, &frames, Lang::Zh).unwrap();
        assert!(zh.contains("00 00 00 63（十进制 99）"), "{zh}");
        let several = several_in_one_segment(&c, &events, Lang::En).unwrap();
        assert_eq!(
            several,
            "Connection 1: frame 4 is one TCP segment carrying 2 chat messages (LoginResMes, OfflineMes): the receiver cuts them apart at their length prefixes, not at segment boundaries."
        );
        assert!(spread_over_segments(&c, &events, &frames, Lang::En).is_none());
    }

    #[test]
    fn a_message_over_several_segments_is_pointed_at_where_it_starts_and_ends() {
        // The server's 20000-byte message: frames 6 and 8 carry parts, frame 9 ends it;
        // frame 7 is the client's ACK, and a client message at frame 10.
        let frames = [
            segment(6, Role::Server, 16384),
            segment(7, Role::Client, 0),
            segment(8, Role::Server, 3000),
            segment(9, Role::Server, 620),
            segment(10, Role::Client, 40),
        ];
        let events = [
            message(9, true, "FileChunkMes", 20000),
            message(10, false, "LogoutMes", 36),
        ];
        let events: Vec<&ChatEvent> = events.iter().collect();
        let c = Connection::for_tests(1);
        let en = spread_over_segments(&c, &events, &frames, Lang::En).unwrap();
        assert_eq!(
            en,
            "Connection 1: frame 6 carries only part of a chat message; the FileChunkMes is complete at frame 9. The receiver keeps reading until it has all 20004 bytes the length announced, however TCP cut them into segments."
        );
        assert!(several_in_one_segment(&c, &events, Lang::En).is_none());
        // Frame 10 fills its segment exactly.
        assert!(prefix(&c, &events, &frames, Lang::En)
            .unwrap()
            .contains("Frame 10 carries a LogoutMes"));
    }
}
