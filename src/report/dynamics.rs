//! The "TCP dynamics" part of each connection in the report: bytes in flight, the
//! retransmissions as the sender sees them beside Wireshark's flags, the smallest
//! advertised windows, the inferred congestion-control phases, and the RTO
//! estimator table (RFC 6298 / Kurose & Ross), in English or Chinese.
//!
//! Its words live here rather than in `text.rs` because they come with numbers:
//! each line is a small function of the flow's summary, like the notices.

use serde::Serialize;

use super::table::{heads, Row, Table};
use crate::analyze::phases::PhaseChange;
use crate::analyze::{
    FlightSummary, FlowSummary, MinWindow, PerRole, PerSender, RttEstimator, TcpSummary,
};
use crate::chart::Lang;
use crate::output::words::plural;

/// Rows of the estimator table shown per sender (the JSON has up to 100).
pub const ROWS_SHOWN: usize = 10;

/// One connection's dynamics as numbers (what `report.json` holds): the
/// summary's fields of the same names.
#[derive(Debug, Clone, Serialize)]
pub struct DynamicsData {
    pub bytes_in_flight: PerSender<FlightSummary>,
    pub retransmitted_segments_sender_view: PerRole,
    pub retransmissions: u64,
    pub out_of_order: u64,
    pub min_window: PerSender<MinWindow>,
    pub phases: PerSender<Vec<PhaseChange>>,
    pub rtt_estimator: PerSender<RttEstimator>,
}

impl DynamicsData {
    /// A TCP connection's; `None` for UDP.
    pub fn of(f: &FlowSummary) -> Option<Self> {
        let tcp: &TcpSummary = f.tcp.as_ref()?;
        Some(DynamicsData {
            bytes_in_flight: tcp.bytes_in_flight.clone(),
            retransmitted_segments_sender_view: tcp.retransmitted_segments_sender_view,
            retransmissions: tcp.retransmissions,
            out_of_order: tcp.out_of_order,
            min_window: tcp.min_window.clone(),
            phases: tcp.phases.clone(),
            rtt_estimator: tcp.rtt_estimator.clone(),
        })
    }
}

/// One connection's dynamics, ready for the templates.
#[derive(Debug, Clone, Serialize)]
pub struct Dynamics {
    pub heading: &'static str,
    pub facts: Vec<String>,
    /// (heading, table) per sender with RTT samples.
    pub rtt: Vec<(String, Table)>,
}

fn zh(lang: Lang) -> bool {
    lang == Lang::Zh
}

fn who(client: bool, lang: Lang) -> &'static str {
    match (client, zh(lang)) {
        (true, false) => "client",
        (false, false) => "server",
        (true, true) => "客户端",
        (false, true) => "服务器",
    }
}

/// "slow start from frame 4, recovery from frame 12, …".
fn phases_line(tcp: &DynamicsData, client: bool, lang: Lang) -> Option<String> {
    let changes = tcp.phases.get(client)?;
    let parts: Vec<String> = changes
        .iter()
        .map(|c| {
            if zh(lang) {
                format!("帧 {} 起{}", c.frame, c.phase.name_zh())
            } else {
                format!("{} from frame {}", c.phase.name(), c.frame)
            }
        })
        .collect();
    Some(if zh(lang) {
        format!(
            "{}发送方向的阶段（由分组推断）：{}",
            who(client, lang),
            parts.join("，")
        )
    } else {
        format!(
            "Phases of the {}'s sending, inferred from the packets: {}",
            who(client, lang),
            parts.join(", ")
        )
    })
}

fn facts(tcp: &DynamicsData, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    for client in [true, false] {
        if let Some(b) = tcp.bytes_in_flight.get(client) {
            out.push(if zh(lang) {
                format!(
                    "{}在途字节（bytes in flight）：最大 {} 字节，平均 {:.0} 字节（{} 个数据段）",
                    who(client, lang),
                    b.max,
                    b.mean,
                    b.segments
                )
            } else {
                format!(
                    "Bytes in flight, {}: max {} bytes, mean {:.0} bytes (over {} data segments)",
                    who(client, lang),
                    b.max,
                    b.mean,
                    b.segments
                )
            });
        }
    }
    let resent = tcp.retransmitted_segments_sender_view;
    out.push(if zh(lang) {
        format!(
            "重传的报文段（发送方视角）：客户端 {}，服务器 {}；Wireshark 专家标记：重传 {}，乱序 {}",
            resent.client, resent.server, tcp.retransmissions, tcp.out_of_order
        )
    } else {
        format!(
            "Retransmitted segments (sender's view): client {}, server {}; Wireshark's expert flags: {}, {} out-of-order",
            resent.client,
            resent.server,
            plural(tcp.retransmissions, "retransmission", "retransmissions"),
            tcp.out_of_order
        )
    });
    for client in [true, false] {
        if let Some(w) = tcp.min_window.get(client) {
            out.push(if zh(lang) {
                format!(
                    "{}通告的最小接收窗口：{} 字节（帧 {}）",
                    who(client, lang),
                    w.bytes,
                    w.frame
                )
            } else {
                format!(
                    "Smallest receive window the {} advertised: {} bytes (frame {})",
                    who(client, lang),
                    w.bytes,
                    w.frame
                )
            });
        }
    }
    for client in [true, false] {
        out.extend(phases_line(tcp, client, lang));
    }
    out
}

/// The estimator table of one sender: its first rows.
pub fn rtt_table(e: &RttEstimator, lang: Lang, rows: usize) -> Table {
    let cols: &[(&str, bool)] = if zh(lang) {
        &[
            ("数据段帧", true),
            ("ACK 帧", true),
            ("SampleRTT (ms)", true),
            ("EstimatedRTT (ms)", true),
            ("DevRTT (ms)", true),
            ("RTO (ms)", true),
            ("RTO RFC 6298 (ms)", true),
        ]
    } else {
        &[
            ("Segment frame", true),
            ("ACK frame", true),
            ("SampleRTT (ms)", true),
            ("EstimatedRTT (ms)", true),
            ("DevRTT (ms)", true),
            ("RTO (ms)", true),
            ("RTO, RFC 6298 (ms)", true),
        ]
    };
    let ms = |v: f64| format!("{v:.3}");
    Table {
        class: None,
        head: heads(cols),
        rows: e
            .rows
            .iter()
            .take(rows)
            .map(|r| {
                Row::of([
                    r.segment_frame.to_string(),
                    r.ack_frame.to_string(),
                    ms(r.sample_ms),
                    ms(r.estimated_ms),
                    ms(r.dev_ms),
                    ms(r.rto_ms),
                    ms(r.rto_rfc6298_ms),
                ])
            })
            .collect(),
    }
}

/// A TCP connection's dynamics in words and tables.
pub fn dynamics(tcp: &DynamicsData, lang: Lang) -> Dynamics {
    let rtt = [true, false]
        .into_iter()
        .filter_map(|client| {
            let e = tcp.rtt_estimator.get(client)?;
            let last = e.last;
            let heading = if zh(lang) {
                format!(
                    "RTT 估计（{}发送的数据段；α = 1/8，β = 1/4；共 {} 个样本，最后 EstimatedRTT {:.3} ms，RTO {:.3} ms）：",
                    who(client, lang),
                    e.samples,
                    last.estimated_ms,
                    last.rto_ms
                )
            } else {
                format!(
                    "RTT estimation, data sent by the {} (α = 1/8, β = 1/4; {}, finally EstimatedRTT {:.3} ms, RTO {:.3} ms):",
                    who(client, lang),
                    plural(e.samples, "sample", "samples"),
                    last.estimated_ms,
                    last.rto_ms
                )
            };
            Some((heading, rtt_table(e, lang, ROWS_SHOWN)))
        })
        .collect();
    Dynamics {
        heading: if zh(lang) {
            "TCP 动态"
        } else {
            "TCP dynamics"
        },
        facts: facts(tcp, lang),
        rtt,
    }
}
