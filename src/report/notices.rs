//! "What to notice": a few sentences generated from the data, each pointing at
//! the frames a student should look at. One function per kind of observation,
//! in English and Chinese.

mod chat_data;
mod framing;

use super::input::ReportInput;
use super::model::{payload_len, Connection, Report};
use super::text;
use crate::analyze::{AnalysisFlags, Role, TcpState, Why};
use crate::chart::{Damage, FrameRecord, Lang};
use crate::chat::message::DataForm;
use crate::output::words::plural;

fn ms(ns: f64) -> String {
    format!("{:.3}", ns)
}

/// The warning at the top of a report of a damaged capture: where it ends, and that
/// the report covers only the whole frames before that.
pub fn damage(d: &Damage, lang: Lang) -> String {
    let n = d.after_frame;
    match (lang, d.truncated) {
        (Lang::En, true) => format!(
            "The capture was truncated after frame {n} (its last record is cut short): this report covers the {} before the cut.",
            plural(n, "whole frame", "whole frames")
        ),
        (Lang::En, false) => format!(
            "The capture is damaged after frame {n}: this report covers the {} before the damage.",
            plural(n, "whole frame", "whole frames")
        ),
        (Lang::Zh, true) => format!(
            "抓包文件在第 {n} 帧之后被截断（最后一条记录不完整）：本报告只涵盖截断之前的 {n} 个完整帧。"
        ),
        (Lang::Zh, false) => {
            format!("抓包文件在第 {n} 帧之后已损坏：本报告只涵盖损坏之前的 {n} 个完整帧。")
        }
    }
}

fn handshake(c: &Connection, rtt_ms: Option<f64>, lang: Lang) -> Option<String> {
    let hs = c.handshake?;
    let opened = c.transitions.iter().any(|t| t.why_code == "AckOfSyn");
    if !opened || hs.frames < 3 {
        return None;
    }
    let (a, b, n) = (hs.first_frame, hs.last_frame, c.flow);
    if c.transitions
        .iter()
        .any(|t| t.why_code == "SimultaneousOpen")
    {
        return Some(match lang {
            Lang::En => format!(
                "Connection {n}: both sides sent SYN at once (simultaneous open, frames {a}–{b}): each went SYN_SENT → SYN_RECEIVED → ESTABLISHED, with no LISTEN anywhere."
            ),
            Lang::Zh => format!(
                "连接 {n}：双方同时发送 SYN（同时打开，第 {a}–{b} 帧）：每一方都经历 SYN_SENT → SYN_RECEIVED → ESTABLISHED，没有任何一方处于 LISTEN。"
            ),
        });
    }
    let rtt = rtt_ms.map(ms);
    Some(match (lang, rtt) {
        (Lang::En, Some(r)) => format!(
            "Connection {n}: the three-way handshake (SYN, SYN-ACK, ACK) is frames {a}–{b}; it took one round trip, {r} ms."
        ),
        (Lang::En, None) => format!(
            "Connection {n}: the three-way handshake (SYN, SYN-ACK, ACK) is frames {a}–{b}."
        ),
        (Lang::Zh, Some(r)) => format!(
            "连接 {n}：三次握手（SYN、SYN-ACK、ACK）是第 {a}–{b} 帧，用时一个往返，{r} 毫秒。"
        ),
        (Lang::Zh, None) => format!("连接 {n}：三次握手（SYN、SYN-ACK、ACK）是第 {a}–{b} 帧。"),
    })
}

fn closing(c: &Connection, frames: &[FrameRecord], lang: Lang) -> Option<String> {
    let fin = frames
        .iter()
        .find(|r| r.packet.tcp().is_some_and(|t| t.flags.fin()))?;
    let first = fin.analysis.sender?;
    let n = c.flow;
    let f = fin.packet.frame;
    let tw_client = c.client_states.contains(&TcpState::TimeWait);
    let tw_server = c.server_states.contains(&TcpState::TimeWait);
    let side = text::role(first.name(), lang);
    let other = text::role(first.peer().name(), lang);
    let closer_tw = match first {
        Role::Client => tw_client,
        Role::Server => tw_server,
    };
    if tw_client && tw_server {
        return Some(match lang {
            Lang::En => format!(
                "Connection {n}: both sides sent FIN before receiving the other's (simultaneous close): both went through CLOSING, and both entered TIME_WAIT."
            ),
            Lang::Zh => format!(
                "连接 {n}：双方都在收到对方的 FIN 之前发送了 FIN（同时关闭）：双方都经过 CLOSING，并且都进入了 TIME_WAIT。"
            ),
        });
    }
    if closer_tw {
        let passive = match first {
            Role::Client => &c.server_states,
            Role::Server => &c.client_states,
        };
        let went_close_wait = passive.contains(&TcpState::CloseWait);
        return Some(match (lang, went_close_wait) {
            (Lang::En, true) => format!(
                "Connection {n}: the {side}, which closed first (FIN at frame {f}), is the side that entered TIME_WAIT; the {other} closed passively through CLOSE_WAIT and LAST_ACK. TIME_WAIT lasts 2×MSL, longer than this capture."
            ),
            (Lang::En, false) => format!(
                "Connection {n}: the {side}, which closed first (FIN at frame {f}), is the side that entered TIME_WAIT. TIME_WAIT lasts 2×MSL, longer than this capture."
            ),
            (Lang::Zh, true) => format!(
                "连接 {n}：先关闭的一方（{side}，第 {f} 帧发送 FIN）进入了 TIME_WAIT；{other}经 CLOSE_WAIT 和 LAST_ACK 被动关闭。TIME_WAIT 持续 2×MSL，比本次抓包更长。"
            ),
            (Lang::Zh, false) => format!(
                "连接 {n}：先关闭的一方（{side}，第 {f} 帧发送 FIN）进入了 TIME_WAIT。TIME_WAIT 持续 2×MSL，比本次抓包更长。"
            ),
        });
    }
    Some(match lang {
        Lang::En => format!(
            "Connection {n}: the {side} closed first (FIN at frame {f}); TIME_WAIT was not reached in this capture."
        ),
        Lang::Zh => format!("连接 {n}：{side}先关闭（第 {f} 帧发送 FIN）；本次抓包中没有出现 TIME_WAIT。"),
    })
}

/// Data the passive side still sent after the first FIN: a FIN closes one direction only.
fn half_close(c: &Connection, frames: &[FrameRecord], lang: Lang) -> Option<String> {
    let fin = frames
        .iter()
        .position(|r| r.packet.tcp().is_some_and(|t| t.flags.fin()))?;
    let closer = frames[fin].analysis.sender?;
    let mut bytes = 0u64;
    for r in &frames[fin + 1..] {
        if r.analysis.sender == Some(closer.peer()) && !r.analysis.flags.is_retransmission() {
            bytes += payload_len(r);
        }
    }
    if bytes == 0 {
        return None;
    }
    let (n, f) = (c.flow, frames[fin].packet.frame);
    let (side, other) = (
        text::role(closer.name(), lang),
        text::role(closer.peer().name(), lang),
    );
    Some(match lang {
        Lang::En => format!(
            "Connection {n}: after the {side}'s FIN (frame {f}) the {other} still sent {}: a FIN closes only one direction (half-close), and the {side} keeps receiving in FIN_WAIT_2.",
            plural(bytes, "byte", "bytes")
        ),
        Lang::Zh => format!(
            "连接 {n}：{side}发送 FIN（第 {f} 帧）之后，{other}仍发送了 {bytes} 字节：FIN 只关闭一个方向（半关闭），{side}在 FIN_WAIT_2 中继续接收。"
        ),
    })
}

fn fast_retransmits(c: &Connection, frames: &[FrameRecord], lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    let mut dups = 0u32;
    for r in frames {
        let flags = r.analysis.flags;
        if flags.has(AnalysisFlags::DUPLICATE_ACK) {
            dups = dups.max(r.analysis.dup_ack_count).max(1);
        }
        if flags.has(AnalysisFlags::FAST_RETRANSMISSION) {
            let (n, f) = (c.flow, r.packet.frame);
            out.push(match lang {
                Lang::En => format!(
                    "Connection {n}: {} {} followed by a fast retransmission at frame {f}: the sender did not wait for its retransmission timer.",
                    plural(dups, "duplicate ACK", "duplicate ACKs"),
                    if dups == 1 { "was" } else { "were" }
                ),
                Lang::Zh => format!(
                    "连接 {n}：{dups} 个重复 ACK 之后，第 {f} 帧是快速重传：发送方没有等待重传计时器超时。"
                ),
            });
            dups = 0;
        }
    }
    out
}

fn first_flagged(frames: &[FrameRecord], bit: u16) -> Option<(u64, usize)> {
    let flagged: Vec<u64> = frames
        .iter()
        .filter(|r| r.analysis.flags.has(bit))
        .map(|r| r.packet.frame)
        .collect();
    flagged.first().map(|f| (*f, flagged.len()))
}

fn flag_notices(c: &Connection, frames: &[FrameRecord], lang: Lang) -> Vec<String> {
    let n = c.flow;
    let mut out = Vec::new();
    if let Some((f, _)) = first_flagged(frames, AnalysisFlags::LOST_SEGMENT) {
        out.push(match lang {
            Lang::En => format!(
                "Connection {n}: at frame {f} the sequence numbers jump: the segment before it was lost (or not captured), so the receiver kept acknowledging the last byte it had in order."
            ),
            Lang::Zh => format!(
                "连接 {n}：第 {f} 帧的序号出现跳跃：它之前的报文段丢失（或未被捕获），所以接收方一直确认它按序收到的最后一个字节。"
            ),
        });
    }
    if let Some((f, k)) = first_flagged(frames, AnalysisFlags::ZERO_WINDOW) {
        out.push(match lang {
            Lang::En => format!(
                "Connection {n}: the receiver advertised a zero window {}, first at frame {f}: its buffer was full and the sender had to wait (flow control).",
                plural(k, "time", "times")
            ),
            Lang::Zh => format!(
                "连接 {n}：接收方 {k} 次通告零窗口，第一次在第 {f} 帧：它的缓冲区满了，发送方只能等待（流量控制）。"
            ),
        });
    }
    if let Some((f, k)) = first_flagged(frames, AnalysisFlags::OUT_OF_ORDER) {
        out.push(match lang {
            Lang::En => format!(
                "Connection {n}: {} arrived out of order, first at frame {f}.",
                plural(k, "segment", "segments")
            ),
            Lang::Zh => format!("连接 {n}：{k} 个报文段乱序到达，第一个在第 {f} 帧。"),
        });
    }
    out
}

/// A connect nobody answered: its SYNs, their doubling gaps, the timer's arc.
fn timed_out(c: &Connection, frames: &[FrameRecord], lang: Lang) -> Option<String> {
    let t = c
        .transitions
        .iter()
        .find(|t| t.why_code == format!("{:?}", Why::ConnectTimedOut))?;
    let syns: Vec<u64> = frames
        .iter()
        .filter(|r| r.analysis.sender == Some(Role::Client))
        .filter(|r| {
            r.packet
                .tcp()
                .is_some_and(|t| t.flags.syn() && !t.flags.ack())
        })
        .map(|r| r.packet.ts_ns)
        .collect();
    let gaps: Vec<String> = syns
        .windows(2)
        .map(|w| format!("{:.1}", w[1].saturating_sub(w[0]) as f64 / 1e9))
        .collect();
    let (n, k, last) = (c.flow, syns.len(), t.frame);
    let gaps_en = if gaps.is_empty() {
        String::new()
    } else {
        format!(
            ", {} s apart: each retransmission timeout twice the one before (exponential backoff)",
            gaps.join(" s, ")
        )
    };
    let gaps_zh = if gaps.is_empty() {
        String::new()
    } else {
        format!(
            "，间隔 {} 秒：每次重传超时是上一次的两倍（指数退避）",
            gaps.join(" 秒、")
        )
    };
    Some(match lang {
        Lang::En => format!(
            "Connection {n} timed out: nobody answered its SYN, not even with RST. The client sent it {}{gaps_en}, then gave up after frame {last}: SYN_SENT → CLOSED by its timer, connect() fails with ETIMEDOUT. No segment shows that last step: protolab infers it at the end of the capture.",
            plural(k as u64, "time", "times")
        ),
        Lang::Zh => format!(
            "连接 {n} 超时：没有任何一方回应它的 SYN，连 RST 都没有。客户端共发送 {k} 次 SYN{gaps_zh}，在第 {last} 帧之后放弃：由定时器从 SYN_SENT 进入 CLOSED，connect() 返回 ETIMEDOUT。最后这一步没有任何报文段可见：protolab 在捕获结束时推断出它。"
        ),
    })
}

fn aborted(c: &Connection, lang: Lang) -> Option<String> {
    let n = c.flow;
    if let Some(t) = c.transitions.iter().find(|t| t.why_code == "Refused") {
        let f = t.frame;
        let port = c.server.port();
        return Some(match lang {
            Lang::En => format!(
                "Connection {n} was refused: the SYN was answered by RST at frame {f} because nothing listened on port {port}; the server side never left CLOSED."
            ),
            Lang::Zh => format!(
                "连接 {n} 被拒绝：第 {f} 帧用 RST 回应了 SYN，因为端口 {port} 上没有程序监听；服务器一侧始终处于 CLOSED。"
            ),
        });
    }
    let rst = c
        .transitions
        .iter()
        .find(|t| t.why_code == format!("{:?}", Why::SentRst))?;
    let (f, side) = (rst.frame, text::role(rst.endpoint, lang));
    Some(match lang {
        Lang::En => format!(
            "Connection {n} was aborted by the {side} with RST at frame {f}: no FIN exchange and no TIME_WAIT; data still in flight is thrown away."
        ),
        Lang::Zh => format!(
            "连接 {n} 被{side}在第 {f} 帧用 RST 中止：没有 FIN 交换，也没有 TIME_WAIT；仍在途中的数据被丢弃。"
        ),
    })
}

fn udp(c: &Connection, frames: &[FrameRecord], answered: u64, lang: Lang) -> Vec<String> {
    let n = c.flow;
    let mut out = Vec::new();
    if let Some(first) = frames.first() {
        let (f, b) = (first.packet.frame, payload_len(first));
        out.push(match lang {
            Lang::En => format!(
                "UDP stream {n} had no handshake: the first datagram (frame {f}) already carried data ({}), and nothing closes it.",
                plural(b, "byte", "bytes")
            ),
            Lang::Zh => format!(
                "UDP 流 {n} 没有握手：第一个数据报（第 {f} 帧）就已经携带数据（{b} 字节），也没有任何关闭过程。"
            ),
        });
    }
    let sent = c.packets.client;
    out.push(match lang {
        Lang::En => format!(
            "UDP stream {n}: {answered} of {} {} answered; UDP itself neither acknowledges nor retransmits.",
            plural(sent, "client datagram", "client datagrams"),
            if sent == 1 { "was" } else { "were" }
        ),
        Lang::Zh => format!(
            "UDP 流 {n}：客户端的 {sent} 个数据报中有 {answered} 个得到应答；UDP 本身既不确认也不重传。"
        ),
    });
    out
}

fn kernel(report: &Report, lang: Lang) -> Option<String> {
    let k = report.kernel.as_ref()?;
    if k.unavailable.is_some() || k.connections.is_empty() {
        return None;
    }
    if k.agree {
        return Some(match lang {
            Lang::En => "The kernel's own record of its sockets agrees with every state inferred from the packets.".to_string(),
            Lang::Zh => "内核对自身套接字状态的记录与从数据包推断出的每一个状态都一致。".to_string(),
        });
    }
    let bad: Vec<String> = k
        .connections
        .iter()
        .flat_map(|c| [(c.flow, &c.client), (c.flow, &c.server)])
        .filter(|(_, e)| !e.agree)
        .map(|(flow, e)| format!("{flow}/{}", text::role(e.endpoint, lang)))
        .collect();
    let list = bad.join(", ");
    Some(match lang {
        Lang::En => format!("The kernel disagrees with the inferred states for: {list}; see the kernel cross-check."),
        Lang::Zh => format!("内核记录与推断状态不一致：{list}；见内核交叉核对。"),
    })
}

/// At most this many notices of one kind (handshake, close, fast retransmission, …):
/// forty connections of an iperf run should not give eighty near-identical sentences.
pub const MAX_PER_KIND: usize = 3;

/// Keeps the first [`MAX_PER_KIND`] notices of each kind and counts the rest.
struct Capped {
    out: Vec<String>,
    kinds: std::collections::HashMap<&'static str, usize>,
    left_out: usize,
}

impl Capped {
    fn add(&mut self, kind: &'static str, notices: impl IntoIterator<Item = String>) {
        for n in notices {
            let k = self.kinds.entry(kind).or_insert(0);
            *k += 1;
            if *k <= MAX_PER_KIND {
                self.out.push(n);
            } else {
                self.left_out += 1;
            }
        }
    }
}

/// The "what to notice" list for the detailed connections.
pub fn notices(input: &ReportInput, report: &Report, lang: Lang) -> Vec<String> {
    let mut capped = Capped {
        out: Vec::new(),
        kinds: Default::default(),
        left_out: 0,
    };
    let empty = Vec::new();
    // The chat's framing first: it is what a chat capture is there to show.
    let mut prefix_shown = false;
    // How `data` travels, once per form in the whole capture.
    let mut forms_shown = Vec::new();
    for c in &report.connections {
        let frames = input.data.frames.get(&c.flow).unwrap_or(&empty);
        let events: Vec<_> = input
            .chat
            .iter()
            .filter(|e| e.flow == Some(c.flow))
            .collect();
        if events.is_empty() {
            continue;
        }
        if !prefix_shown {
            let p = framing::prefix(c, &events, frames, lang);
            prefix_shown = p.is_some();
            capped.add("chat_prefix", p);
        }
        for form in [DataForm::String, DataForm::Object] {
            if !forms_shown.contains(&form) {
                let n = chat_data::form(c, &events, form, lang);
                if n.is_some() {
                    forms_shown.push(form);
                }
                capped.add("chat_data_form", n);
            }
        }
        capped.add(
            "chat_several",
            framing::several_in_one_segment(c, &events, lang),
        );
        capped.add(
            "chat_spread",
            framing::spread_over_segments(c, &events, frames, lang),
        );
    }
    for c in &report.connections {
        let frames = input.data.frames.get(&c.flow).unwrap_or(&empty);
        let summary = input.data.flows.iter().find(|f| f.flow == c.flow);
        if c.proto == "udp" {
            let answered = summary.and_then(|s| s.udp).map(|u| u.answered).unwrap_or(0);
            capped.add("udp", udp(c, frames, answered, lang));
            continue;
        }
        let rtt = summary
            .and_then(|s| s.tcp.as_ref())
            .and_then(|t| t.rtt_ms.handshake);
        capped.add("handshake", handshake(c, rtt, lang));
        capped.add("fast_retransmission", fast_retransmits(c, frames, lang));
        capped.add("flags", flag_notices(c, frames, lang));
        capped.add("half_close", half_close(c, frames, lang));
        match aborted(c, lang).or_else(|| timed_out(c, frames, lang)) {
            Some(a) => capped.add("abort", Some(a)),
            None => capped.add("close", closing(c, frames, lang)),
        }
    }
    let mut out = capped.out;
    if capped.left_out > 0 {
        let n = capped.left_out;
        out.push(match lang {
            Lang::En => format!(
                "{} of the same kinds {} left out: the transition tables and the anomalies list have every connection.",
                plural(n, "more notice", "more notices"),
                if n == 1 { "is" } else { "are" }
            ),
            Lang::Zh => format!("另有 {n} 条同类提示未列出：状态转换表和异常列表包含每个连接。"),
        });
    }
    out.extend(kernel(report, lang));
    out
}
