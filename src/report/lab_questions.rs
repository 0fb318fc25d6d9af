//! "Lab questions": what a TCP lab sheet (the Kurose & Ross Wireshark TCP lab and
//! its kind) asks about one connection, answered for the report's first TCP
//! connection with frame numbers: the ISN, the SYN-ACK, the first six data
//! segments with SampleRTT and EstimatedRTT, the smallest advertised window and
//! whether it held the sender back, the retransmissions, and the throughput.
//!
//! [`answers`] gathers the numbers (they go into `report.json`); [`view`] says them
//! in English or Chinese for the pages.

use serde::Serialize;

use super::input::ReportInput;
use super::table::{heads, Row, Table};
use crate::analyze::{FlowSummary, Role};
use crate::chart::Lang;
use crate::decode::TcpFlags;

/// Data segments listed, as the lab sheet asks.
const SEGMENTS: usize = 6;
/// Resent segments named by frame, at most.
const RESENT_LISTED: usize = 10;

/// One of the first data segments of the sender.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentAnswer {
    pub frame: u64,
    pub rel_seq: u32,
    pub len: u32,
    /// Seconds since the connection's first frame.
    pub sent_s: f64,
    /// The ACK that gave its RTT sample, and that sample's estimator row.
    pub ack_frame: Option<u64>,
    pub ack_s: Option<f64>,
    pub sample_ms: Option<f64>,
    pub estimated_ms: Option<f64>,
}

/// The numbers behind the answers.
#[derive(Debug, Clone, Serialize)]
pub struct LabAnswers {
    pub flow: u64,
    /// The client's SYN: frame and raw sequence number (its ISN).
    pub syn: Option<(u64, u32)>,
    /// The SYN-ACK: frame, raw sequence number (the server's ISN), raw ACK.
    pub syn_ack: Option<(u64, u32, u32)>,
    /// Who sent the most data: the side the questions follow.
    pub sender: &'static str,
    pub segments: Vec<SegmentAnswer>,
    /// The receiver's smallest advertised window: bytes and frame.
    pub min_window: Option<(u64, u64)>,
    /// The sender's largest bytes in flight.
    pub max_in_flight: Option<u32>,
    /// Segments that reached the receiver's window exactly, and zero windows.
    pub window_full: u64,
    pub zero_windows: u64,
    pub resent_sender_view: u64,
    pub resent_frames: Vec<u64>,
    pub wireshark_retransmissions: u64,
    /// Bytes the sender sent, from its first data segment to the ACK of its last
    /// byte: (bytes, first frame, ACK frame, seconds).
    pub throughput: Option<(u64, u64, u64, f64)>,
}

/// The first TCP connection's answers; `None` when there is no TCP connection.
pub fn answers(input: &ReportInput) -> Option<LabAnswers> {
    let data = &input.data;
    let f: &FlowSummary = data.flows.iter().find(|f| f.proto == "tcp")?;
    let tcp = f.tcp.as_ref()?;
    let frames = data.frames.get(&f.flow).map(Vec::as_slice).unwrap_or(&[]);
    let t0 = frames.first().map_or(f.first_ts.0, |r| r.packet.ts_ns);
    let secs = |ts: u64| ts.saturating_sub(t0) as f64 / 1e9;
    let is_syn = |fl: TcpFlags| fl.syn() && !fl.ack();
    let syn = frames.iter().find_map(|r| {
        let t = r.packet.tcp()?;
        (is_syn(t.flags) && r.analysis.sender == Some(Role::Client))
            .then_some((r.packet.frame, t.seq))
    });
    let syn_ack = frames.iter().find_map(|r| {
        let t = r.packet.tcp()?;
        (t.flags.syn() && t.flags.ack()).then_some((r.packet.frame, t.seq, t.ack))
    });
    let sender = if f.bytes.server > f.bytes.client {
        Role::Server
    } else {
        Role::Client
    };
    let client = sender == Role::Client;
    let table = tcp.rtt_estimator.get(client);
    let mut segments = Vec::new();
    let mut resent_frames = Vec::new();
    let mut high: Option<u32> = None;
    let mut first_data: Option<(u64, u64)> = None;
    let mut data_end: Option<u32> = None;
    for r in frames {
        let (Some(t), Some(who)) = (r.packet.tcp(), r.analysis.sender) else {
            continue;
        };
        if who != sender || t.len == 0 {
            continue;
        }
        let seq = r.analysis.rel_seq.unwrap_or(0);
        let end = seq.wrapping_add(t.len);
        if high.is_some_and(|h| seq < h) && resent_frames.len() < RESENT_LISTED {
            resent_frames.push(r.packet.frame);
        }
        high = Some(high.map_or(end, |h| h.max(end)));
        data_end = high;
        first_data.get_or_insert((r.packet.frame, r.packet.ts_ns));
        if segments.len() < SEGMENTS {
            let row = table.and_then(|e| {
                e.rows
                    .iter()
                    .find(|row| row.segment_frame == r.packet.frame)
            });
            let ack_s = row.and_then(|row| {
                frames
                    .iter()
                    .find(|a| a.packet.frame == row.ack_frame)
                    .map(|a| secs(a.packet.ts_ns))
            });
            segments.push(SegmentAnswer {
                frame: r.packet.frame,
                rel_seq: seq,
                len: t.len,
                sent_s: secs(r.packet.ts_ns),
                ack_frame: row.map(|row| row.ack_frame),
                ack_s,
                sample_ms: row.map(|row| row.sample_ms),
                estimated_ms: row.map(|row| row.estimated_ms),
            });
        }
    }
    // The first ACK from the receiver covering the sender's last data byte.
    let throughput = match (first_data, data_end) {
        (Some((first, t_first)), Some(end)) => frames
            .iter()
            .find(|r| {
                r.analysis.sender == Some(sender.peer())
                    && r.packet.tcp().is_some_and(|t| t.flags.ack())
                    && r.analysis.rel_ack.is_some_and(|a| a >= end)
                    && r.packet.ts_ns >= t_first
            })
            .map(|a| {
                let bytes = if client {
                    f.bytes.client
                } else {
                    f.bytes.server
                };
                (
                    bytes,
                    first,
                    a.packet.frame,
                    (a.packet.ts_ns - t_first) as f64 / 1e9,
                )
            }),
        _ => None,
    };
    let resent = tcp.retransmitted_segments_sender_view;
    Some(LabAnswers {
        flow: f.flow,
        syn,
        syn_ack,
        sender: sender.name(),
        segments,
        min_window: tcp.min_window.get(!client).map(|w| (w.bytes, w.frame)),
        max_in_flight: tcp.bytes_in_flight.get(client).map(|b| b.max),
        window_full: tcp.window_full,
        zero_windows: tcp.zero_windows,
        resent_sender_view: if client { resent.client } else { resent.server },
        resent_frames,
        wireshark_retransmissions: tcp.retransmissions,
        throughput,
    })
}

/// One question and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct QandA {
    pub question: String,
    pub answer: String,
}

/// The section as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct LabView {
    pub heading: &'static str,
    pub intro: String,
    pub items: Vec<QandA>,
    pub segments: Table,
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "—".to_string(), |v| v.to_string())
}

/// The answers in words, English or Chinese.
pub fn view(a: &LabAnswers, lang: Lang) -> LabView {
    let zh = lang == Lang::Zh;
    let pick = |en: String, cn: String| if zh { cn } else { en };
    let who = |w: &str| match (w, zh) {
        ("client", false) => "client",
        ("server", false) => "server",
        ("client", true) => "客户端",
        (_, _) => "服务器",
    };
    let peer = if a.sender == "client" {
        "server"
    } else {
        "client"
    };
    let mut items = Vec::new();
    let mut qa = |q: String, ans: String| {
        items.push(QandA {
            question: q,
            answer: ans,
        })
    };
    qa(
        pick(
            "What is the sequence number of the SYN that opens the connection (the ISN)?".into(),
            "建立连接的 SYN 报文段的序号（初始序号 ISN）是多少？".into(),
        ),
        match a.syn {
            Some((frame, isn)) => pick(
                format!("Frame {frame}: raw sequence number {isn} (relative 0); the SYN flag, alone, marks it as a SYN."),
                format!("帧 {frame}：原始序号 {isn}（相对序号 0）；仅置位的 SYN 标志表明它是 SYN 报文段。"),
            ),
            None => pick("The client's SYN is not in the capture.".into(), "抓包中没有客户端的 SYN。".into()),
        },
    );
    qa(
        pick(
            "What are the sequence and acknowledgment numbers of the SYN-ACK?".into(),
            "SYN-ACK 报文段的序号和确认号是多少？".into(),
        ),
        match (a.syn_ack, a.syn) {
            (Some((frame, seq, ack)), Some((_, isn))) => pick(
                format!("Frame {frame}: sequence number {seq} (the server's ISN), acknowledgment number {ack} = the client's ISN {isn} + 1: the SYN takes one sequence number."),
                format!("帧 {frame}：序号 {seq}（服务器的 ISN），确认号 {ack} = 客户端 ISN {isn} + 1：SYN 占用一个序号。"),
            ),
            (Some((frame, seq, ack)), None) => pick(
                format!("Frame {frame}: sequence number {seq}, acknowledgment number {ack}."),
                format!("帧 {frame}：序号 {seq}，确认号 {ack}。"),
            ),
            _ => pick("No SYN-ACK in the capture.".into(), "抓包中没有 SYN-ACK。".into()),
        },
    );
    let first_rtt = a.segments.iter().filter(|s| s.sample_ms.is_some()).count();
    qa(
        pick(
            format!("The first six data segments of the {}: sequence numbers, lengths, SampleRTT and EstimatedRTT?", who(a.sender)),
            format!("{}的前六个数据段：序号、长度、SampleRTT 与 EstimatedRTT？", who(a.sender)),
        ),
        pick(
            format!("See the table below: {first_rtt} of them yield an RTT sample (an ACK acknowledging exactly their last byte, and not resent: Karn's rule). EstimatedRTT = 0.875·EstimatedRTT + 0.125·SampleRTT, starting at the first sample."),
            format!("见下表：其中 {first_rtt} 个得到 RTT 样本（某个 ACK 恰好确认其最后一个字节，且未被重传：Karn 算法）。EstimatedRTT = 0.875·EstimatedRTT + 0.125·SampleRTT，以第一个样本为初值。"),
        ),
    );
    qa(
        pick(
            format!("What is the smallest receive window the {} advertised, and did it throttle the sender?", who(peer)),
            format!("{}通告的最小接收窗口是多少？它是否限制了发送方？", who(peer)),
        ),
        match a.min_window {
            Some((bytes, frame)) => {
                let throttled = a.window_full > 0 || a.zero_windows > 0;
                let flight = opt(a.max_in_flight);
                if throttled {
                    pick(
                        format!("{bytes} bytes (frame {frame}). Yes: {} segments filled the window exactly (window full) and {} zero windows were advertised.", a.window_full, a.zero_windows),
                        format!("{bytes} 字节（帧 {frame}）。是：{} 个报文段恰好填满窗口（window full），通告了 {} 次零窗口。", a.window_full, a.zero_windows),
                    )
                } else {
                    pick(
                        format!("{bytes} bytes (frame {frame}). No: no segment filled the window and none was zero; the most bytes in flight was {flight}."),
                        format!("{bytes} 字节（帧 {frame}）。否：没有报文段填满窗口，也没有零窗口；在途字节最多为 {flight}。"),
                    )
                }
            }
            None => "—".into(),
        },
    );
    let frames: Vec<String> = a.resent_frames.iter().map(u64::to_string).collect();
    qa(
        pick(
            "Were any segments retransmitted?".into(),
            "是否有报文段被重传？".into(),
        ),
        if a.resent_sender_view == 0 {
            pick(
                format!("No: the {} never resent a byte it had already sent (Wireshark flags {} retransmissions).", who(a.sender), a.wireshark_retransmissions),
                format!("否：{}从未重发已发送过的字节（Wireshark 标记了 {} 次重传）。", who(a.sender), a.wireshark_retransmissions),
            )
        } else {
            pick(
                format!("Yes: {} segments resent bytes already sent (the sender's view), in frames {}; Wireshark flags {} as retransmissions.", a.resent_sender_view, frames.join(", "), a.wireshark_retransmissions),
                format!("是：{} 个报文段重发了已发送的字节（发送方视角），帧 {}；Wireshark 将其中 {} 个标记为重传。", a.resent_sender_view, frames.join("、"), a.wireshark_retransmissions),
            )
        },
    );
    qa(
        pick(
            "What is the throughput of the transfer?".into(),
            "这次传输的吞吐量是多少？".into(),
        ),
        match a.throughput {
            Some((bytes, first, ack, s)) if s > 0.0 => {
                let rate = bytes as f64 * 8.0 / s;
                pick(
                    format!("{bytes} bytes from frame {first} to the ACK of the last byte in frame {ack}, in {s:.6} s: {}.", crate::output::words::rate(rate)),
                    format!("从帧 {first} 到帧 {ack}（确认最后一个字节）共 {bytes} 字节，用时 {s:.6} 秒：{:.3} Mbit/s。", rate / 1e6),
                )
            }
            _ => pick(
                "The last byte's ACK is not in the capture.".into(),
                "抓包中没有最后一个字节的 ACK。".into(),
            ),
        },
    );
    let cols: &[(&str, bool)] = if zh {
        &[
            ("#", true),
            ("帧", true),
            ("相对序号", true),
            ("长度", true),
            ("发送时间 (s)", true),
            ("ACK 帧", true),
            ("ACK 时间 (s)", true),
            ("SampleRTT (ms)", true),
            ("EstimatedRTT (ms)", true),
        ]
    } else {
        &[
            ("#", true),
            ("Frame", true),
            ("Seq (relative)", true),
            ("Length", true),
            ("Sent (s)", true),
            ("ACK frame", true),
            ("ACK at (s)", true),
            ("SampleRTT (ms)", true),
            ("EstimatedRTT (ms)", true),
        ]
    };
    let rows = a
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Row::of([
                (i + 1).to_string(),
                s.frame.to_string(),
                s.rel_seq.to_string(),
                s.len.to_string(),
                format!("{:.6}", s.sent_s),
                opt(s.ack_frame),
                opt(s.ack_s.map(|v| format!("{v:.6}"))),
                opt(s.sample_ms.map(|v| format!("{v:.3}"))),
                opt(s.estimated_ms.map(|v| format!("{v:.3}"))),
            ])
        })
        .collect();
    LabView {
        heading: if zh { "实验问题" } else { "Lab questions" },
        intro: pick(
            format!("The questions of a TCP lab sheet, answered for connection {} with frame numbers (times from its first frame).", a.flow),
            format!("TCP 实验题目的常见问题，以连接 {} 为例作答，并给出帧号（时间自该连接第一帧起算）。", a.flow),
        ),
        items,
        segments: Table {
            class: None,
            head: heads(cols),
            rows,
        },
    }
}
