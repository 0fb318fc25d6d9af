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
    FlightSummary, FlowSummary, MinWindow, PerRole, PerSender, Role, RttEstimator, TcpSummary,
};
use crate::chart::{FrameRecord, KernelWindow, Lang};
use crate::model::tcp_dynamics::{CongState, CongStateChange, KernelTcp};
use crate::output::words::plural;

/// Congestion-state changes listed per socket (the JSON has them all).
const STATES_SHOWN: usize = 12;

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
    /// What the kernel's tracepoints said of each sending socket (a live run
    /// with kernel.json); `None` for a capture file alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelDynamics>,
}

/// The kernel's congestion control beside the packets, per sending endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct KernelDynamics {
    /// Why there is nothing (no root during the run, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The endpoints that sent data: `client` then `server`.
    pub senders: Vec<KernelSender>,
    /// Trace events the ring buffer lost during the run.
    pub lost_events: u64,
    /// The sockets' congestion-control algorithm (`cubic`, `bbr`, …), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub congestion_control: Option<String>,
}

/// One sending socket as the kernel traced it.
#[derive(Debug, Clone, Serialize)]
pub struct KernelSender {
    pub endpoint: &'static str,
    pub probe_events: u64,
    /// Largest `snd_cwnd`, segments.
    pub cwnd_max: Option<u32>,
    /// The last finite `ssthresh`, segments.
    pub ssthresh_last: Option<u32>,
    /// The last smoothed RTT, ms.
    pub srtt_last_ms: Option<f64>,
    pub cong_state: Vec<KernelStateRow>,
    /// `tcp_retransmit_skb` events of this socket.
    pub retransmissions: Option<u64>,
    /// The segments the socket itself counted as resent (`tcpi_total_retrans`
    /// at its end), when its program read them (`file-transfer`'s client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmitted_segments: Option<u64>,
    /// Set when the probes stop before the data does: the first frame after the
    /// last probe, and the last frame carrying this sender's data. `tcp_probe`
    /// fires only in ESTABLISHED, and a sender that closes right after writing
    /// goes on sending from FIN_WAIT1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes_end: Option<(u64, u64)>,
}

/// A congestion-state change, placed among the frames.
#[derive(Debug, Clone, Serialize)]
pub struct KernelStateRow {
    pub state: CongState,
    /// Since the connection's first frame, ms.
    pub at_ms: f64,
    /// The first frame captured at or after the change.
    pub next_frame: Option<u64>,
}

/// The ends of `f` as (sender, its peer) for `role`.
fn ends(f: &FlowSummary, role: Role) -> (std::net::SocketAddr, std::net::SocketAddr) {
    match role {
        Role::Client => (f.client, f.server),
        Role::Server => (f.server, f.client),
    }
}

/// The direction the window chart draws: the one that sent more payload.
pub fn chart_sender(f: &FlowSummary) -> Role {
    if f.bytes.server > f.bytes.client {
        Role::Server
    } else {
        Role::Client
    }
}

/// The largest payload `role` sent: the kernel counts its window in segments
/// of about this size (its `mss_cache`).
fn segment_size(frames: &[FrameRecord], role: Role) -> u32 {
    frames
        .iter()
        .filter(|r| r.analysis.sender == Some(role))
        .filter_map(|r| r.packet.tcp().map(|t| t.len))
        .max()
        .unwrap_or(0)
}

/// What the window chart of flow `flow` draws from the kernel (a traced run's
/// kernel.json), for [`crate::chart::ChartOptions`]: the chart sender's cwnd
/// and ssthresh in bytes (`kernel_window`), and its congestion-state changes
/// (`kernel_states`); both empty without a trace or without the flow.
pub fn kernel_chart_lines(
    tcp: Option<&KernelTcp>,
    data: &crate::chart::CaptureData,
    flow: u64,
) -> (Vec<KernelWindow>, Vec<CongStateChange>) {
    let Some((tcp, f)) = tcp.zip(data.flows.iter().find(|f| f.flow == flow)) else {
        return Default::default();
    };
    let frames = data.frames.get(&flow).map_or(&[][..], Vec::as_slice);
    let role = chart_sender(f);
    let (local, remote) = ends(f, role);
    let mss = f64::from(segment_size(frames, role).max(1));
    let window = tcp
        .probes(local, remote)
        .into_iter()
        // A probe fired by a data segment the sender *received* shows the same
        // window; only its ACKs move it, and both are kept.
        .map(|p| KernelWindow {
            ts_ns: p.ts_ns,
            cwnd_bytes: f64::from(p.snd_cwnd) * mss,
            ssthresh_bytes: p.ssthresh.map(|s| f64::from(s) * mss),
        })
        .collect();
    (window, tcp.cong_changes(local, remote))
}

impl KernelDynamics {
    /// The kernel's side of connection `f` (frames: its frames, in order).
    pub fn of(tcp: &KernelTcp, f: &FlowSummary, frames: &[FrameRecord]) -> KernelDynamics {
        let first_ts = frames.first().map_or(0, |r| r.packet.ts_ns);
        let senders = [
            (Role::Client, f.bytes.client),
            (Role::Server, f.bytes.server),
        ]
        .into_iter()
        .filter(|(_, bytes)| *bytes > 0)
        .map(|(role, _)| {
            let (local, remote) = ends(f, role);
            let probes = tcp.probes(local, remote);
            let cong_state = tcp
                .cong_changes(local, remote)
                .into_iter()
                .map(|c| KernelStateRow {
                    state: c.state,
                    at_ms: c.ts_ns as f64 / 1e6 - first_ts as f64 / 1e6,
                    next_frame: frames
                        .iter()
                        .find(|r| r.packet.ts_ns >= c.ts_ns)
                        .map(|r| r.packet.frame),
                })
                .collect();
            let last_data = frames
                .iter()
                .rev()
                .find(|r| {
                    r.analysis.sender == Some(role) && r.packet.tcp().is_some_and(|t| t.len > 0)
                })
                .map(|r| (r.packet.frame, r.packet.ts_ns));
            let probes_end = match (probes.last(), last_data) {
                (Some(p), Some((frame, ts))) if p.ts_ns < ts => frames
                    .iter()
                    .find(|r| r.packet.ts_ns >= p.ts_ns)
                    .map(|r| (r.packet.frame, frame)),
                _ => None,
            };
            KernelSender {
                probes_end,
                endpoint: if role == Role::Client {
                    "client"
                } else {
                    "server"
                },
                probe_events: tcp
                    .tcp_probe
                    .iter()
                    .filter(|p| p.local == local && p.remote == remote)
                    .map(|p| p.events)
                    .sum(),
                cwnd_max: probes.iter().map(|p| p.snd_cwnd).max(),
                ssthresh_last: probes.iter().rev().find_map(|p| p.ssthresh),
                srtt_last_ms: probes.last().map(|p| f64::from(p.srtt_us) / 1e3),
                cong_state,
                retransmissions: tcp.retransmissions(local, remote),
                retransmitted_segments: tcp.retransmitted_segments(local, remote),
            }
        })
        .collect();
        KernelDynamics {
            unavailable: tcp.tcp_trace.unavailable.clone(),
            senders,
            lost_events: tcp.tcp_trace.lost_events,
            // The sender's own (`run --cc`), else the system's default.
            congestion_control: [(f.client, f.server), (f.server, f.client)]
                .into_iter()
                .find_map(|(local, remote)| {
                    tcp.tcp_info_of(local, remote)?.congestion_control.clone()
                })
                .or_else(|| tcp.tcp_trace.congestion_control.clone()),
        }
    }
}

impl DynamicsData {
    /// Adds what the kernel traced of this connection (a run's kernel.json).
    pub fn with_kernel(
        mut self,
        tcp: Option<&KernelTcp>,
        f: &FlowSummary,
        frames: &[FrameRecord],
    ) -> DynamicsData {
        self.kernel = tcp.map(|t| KernelDynamics::of(t, f, frames));
        self
    }

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
            kernel: None,
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
        out.extend(kernel_states_line(tcp, client, lang));
    }
    out.extend(kernel_lines(tcp, lang));
    out
}

/// The kernel sender of this side, if traced.
fn kernel_sender(tcp: &DynamicsData, client: bool) -> Option<&KernelSender> {
    let want = if client { "client" } else { "server" };
    tcp.kernel
        .as_ref()?
        .senders
        .iter()
        .find(|s| s.endpoint == want)
}

/// "The kernel's congestion states of the client's socket: Open at 0.0 ms (frame 3), …"
/// — right under the phases the packets suggest, to compare.
fn kernel_states_line(tcp: &DynamicsData, client: bool, lang: Lang) -> Option<String> {
    let s = kernel_sender(tcp, client)?;
    if s.cong_state.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = s
        .cong_state
        .iter()
        .take(STATES_SHOWN)
        .map(|c| {
            let frame = c
                .next_frame
                .map(|n| {
                    if zh(lang) {
                        format!("，帧 {n} 前")
                    } else {
                        format!(" (before frame {n})")
                    }
                })
                .unwrap_or_default();
            if zh(lang) {
                format!(
                    "{:.1} ms 起 {}（{}）",
                    c.at_ms,
                    c.state.name(),
                    frame.trim_start_matches('，')
                )
            } else {
                format!("{} at {:.1} ms{frame}", c.state.name(), c.at_ms)
            }
        })
        .collect();
    let more = s.cong_state.len().saturating_sub(STATES_SHOWN);
    if more > 0 {
        parts.push(if zh(lang) {
            format!("另有 {more} 次")
        } else {
            format!("and {more} more")
        });
    }
    Some(if zh(lang) {
        format!(
            "内核记录的{}拥塞状态（tcp_cong_state_set）：{}",
            who(client, lang),
            parts.join("，")
        )
    } else {
        format!(
            "The kernel's congestion states of the {}'s socket (tcp_cong_state_set): {}",
            who(client, lang),
            parts.join(", ")
        )
    })
}

/// The kernel's window numbers and retransmissions, or why they are missing.
fn kernel_lines(tcp: &DynamicsData, lang: Lang) -> Vec<String> {
    let Some(k) = &tcp.kernel else {
        return Vec::new();
    };
    if let Some(why) = &k.unavailable {
        return vec![if zh(lang) {
            format!("内核的拥塞控制数据（cwnd、ssthresh、拥塞状态、重传）缺失：{why}")
        } else {
            format!("The kernel's congestion control (cwnd, ssthresh, states, retransmissions) is missing: {why}")
        }];
    }
    let mut out = Vec::new();
    let bbr = k.congestion_control.as_deref() == Some("bbr");
    if let Some(cc) = &k.congestion_control {
        out.push(if zh(lang) {
            format!("内核的拥塞控制算法：{cc}{}", if bbr { "（BBR 按带宽和 RTT 估计调节发送速率，不使用 ssthresh；经典的慢启动/拥塞避免用 `--cc cubic` 或 `--cc reno` 重新运行）" } else { "" })
        } else {
            format!("The kernel's congestion control: {cc}{}", if bbr { " (BBR paces by its bandwidth and RTT estimates and never sets ssthresh; for textbook slow start and congestion avoidance, run again with `--cc cubic` or `--cc reno`)" } else { "" })
        });
    }
    for s in &k.senders {
        let client = s.endpoint == "client";
        let resent = if client {
            tcp.retransmitted_segments_sender_view.client
        } else {
            tcp.retransmitted_segments_sender_view.server
        };
        let window = match (s.cwnd_max, zh(lang)) {
            (None, false) => "no tcp_probe event".to_string(),
            (None, true) => "没有 tcp_probe 事件".to_string(),
            (Some(c), false) => format!(
                "cwnd up to {c} segments, ssthresh {}, last srtt {:.1} ms ({} tcp_probe events)",
                s.ssthresh_last.map_or(
                    if bbr {
                        "never set (BBR)"
                    } else {
                        "never set (no loss seen)"
                    }
                    .to_string(),
                    |v| format!("finally {v} segments")
                ),
                s.srtt_last_ms.unwrap_or(0.0),
                s.probe_events
            ),
            (Some(c), true) => {
                format!(
                "cwnd 最大 {c} 个报文段，ssthresh {}，最后 srtt {:.1} ms（{} 个 tcp_probe 事件）",
                s.ssthresh_last.map_or(
                    if bbr { "未设置（BBR）" } else { "未设置（未见丢包）" }.to_string(),
                    |v| format!("最终 {v} 个报文段")
                ),
                s.srtt_last_ms.unwrap_or(0.0),
                s.probe_events
            )
            }
        };
        let kernel_resent = s.retransmissions.unwrap_or(0);
        out.push(if zh(lang) {
            format!(
                "内核视角，{}的套接字：{window}；内核重传 {kernel_resent} 个缓冲区（tcp_retransmit_skb 每个缓冲区触发一次，一个缓冲区可能分成几个报文段）{}，分组显示重发了 {resent} 个报文段",
                who(client, lang),
                s.retransmitted_segments.map_or(String::new(), |n| format!("，套接字自己计数 {n} 个报文段（tcpi_total_retrans）"))
            )
        } else {
            format!(
                "The kernel, {}'s socket: {window}; the kernel retransmitted {} (tcp_retransmit_skb fires once per buffer, which may leave as several segments){}, the packets show {resent} resent segments",
                who(client, lang),
                plural(kernel_resent, "buffer", "buffers"),
                s.retransmitted_segments.map_or(String::new(), |n| format!(
                    ", {} by the socket's own count (tcpi_total_retrans)",
                    plural(n, "segment", "segments")
                ))
            )
        });
    }
    for s in &k.senders {
        if let Some((probed, data)) = s.probes_end {
            let w = who(s.endpoint == "client", lang);
            out.push(if zh(lang) {
                format!("tcp_probe 只在 ESTABLISHED 状态触发：{w}的 cwnd 只记录到帧 {probed}，其数据一直发到帧 {data}（应用写完就 close()，之后在 FIN_WAIT1 中发送）；`--protocol sized` 让套接字保持到最后")
            } else {
                format!("tcp_probe fires only in ESTABLISHED: the {w}'s cwnd is traced up to frame {probed}, its data goes on to frame {data} (the application closed right after writing and the rest left from FIN_WAIT1); `--protocol sized` keeps the socket open to the end")
            });
        }
    }
    if k.lost_events > 0 {
        out.push(if zh(lang) {
            format!("注意：内核环形缓冲区丢失了 {} 个跟踪事件", k.lost_events)
        } else {
            format!(
                "Note: the kernel's ring buffer lost {} trace events",
                k.lost_events
            )
        });
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
