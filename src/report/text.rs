//! Every word of the report, in English and Chinese (`--lang zh`).
//!
//! Fixed labels live in one [`Text`] table per language; sentences that carry
//! numbers are small functions in [`notices`](super::notices). Transition reasons
//! translate every [`Why`] variant, so no English leaks into a Chinese report.

use crate::analyze::{Anomaly, Why};
use crate::chart::Lang;

/// The fixed words of one language.
#[derive(Debug, serde::Serialize)]
pub struct Text {
    pub code: &'static str,
    pub html_lang: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    pub what_was_run: &'static str,
    pub scenario: &'static str,
    pub command: &'static str,
    pub not_a_run: &'static str,
    pub reproduce: &'static str,
    pub reproduce_report: &'static str,
    pub reproduce_check: &'static str,
    pub capture_file: &'static str,
    pub frames: &'static str,
    pub tcp_connections: &'static str,
    pub udp_streams: &'static str,
    pub other_frames: &'static str,
    pub duration: &'static str,
    pub expectation: &'static str,
    pub expectation_met: &'static str,
    pub expectation_failed: &'static str,
    pub notes: &'static str,
    /// Label of the damaged-capture warning at the top.
    pub warning: &'static str,
    pub layers: &'static str,
    /// `{frame}` is replaced by the frame number.
    pub layers_intro: &'static str,
    /// Heading and intro of the link-layer ladder (ARP, neighbour discovery).
    pub link_layer: &'static str,
    pub link_layer_intro: &'static str,
    pub connections: &'static str,
    pub connection: &'static str,
    pub udp_stream: &'static str,
    pub client: &'static str,
    pub server: &'static str,
    pub handshake: &'static str,
    pub data: &'static str,
    pub teardown: &'static str,
    pub none_seen: &'static str,
    pub frames_word: &'static str,
    pub segments: &'static str,
    /// A UDP stream's payload-bearing frames: datagrams, not segments.
    pub datagrams_with_data: &'static str,
    pub bytes: &'static str,
    /// The singular of the four above, for a count of 1 (the same words in Chinese).
    pub frame_word: &'static str,
    pub segment: &'static str,
    pub datagram_with_data: &'static str,
    pub byte: &'static str,
    /// Before a range of frame numbers ("Frames 12–67"); [`Text::frame`] names one.
    pub frames_range: &'static str,
    pub ladder: &'static str,
    pub state_timeline: &'static str,
    pub state_diagram: &'static str,
    /// Under the player's state diagram: what its colours mean.
    pub diagram_key: &'static str,
    pub seq_graph: &'static str,
    /// In the sequence graph's place when the connection carried no data.
    pub seq_no_data: &'static str,
    /// Titles of the window chart (bytes in flight, windows, phases) and the RTT chart.
    pub window_chart: &'static str,
    pub rtt_chart: &'static str,
    pub player: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub before_first: &'static str,
    pub transitions: &'static str,
    /// Heading of a connection's application messages (chat).
    pub messages: &'static str,
    pub message: &'static str,
    /// Column of how a message carried its `data` (string or object).
    pub data_form: &'static str,
    /// That column's values.
    pub data_string: &'static str,
    pub data_object: &'static str,
    pub frame: &'static str,
    pub time_ms: &'static str,
    pub endpoint: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub why: &'static str,
    pub states: &'static str,
    pub conn_state: &'static str,
    pub folded: &'static str,
    pub omitted: &'static str,
    /// [`Text::omitted`] after a count of 1.
    pub omitted_one: &'static str,
    pub anomalies: &'static str,
    pub no_anomalies: &'static str,
    pub flags: &'static str,
    pub meaning: &'static str,
    pub anomalies_cut: &'static str,
    /// [`Text::anomalies_cut`] after a count of 1.
    pub anomalies_cut_one: &'static str,
    pub kernel: &'static str,
    pub kernel_source: &'static str,
    pub kernel_unavailable: &'static str,
    /// Said in the kernel cross-check when the capture has UDP streams: they have
    /// no states to compare (the notes' own point about UDP).
    pub kernel_udp: &'static str,
    pub inferred: &'static str,
    pub kernel_state: &'static str,
    pub offset_us: &'static str,
    pub agree: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    /// In the "agree" column of a row only the kernel can show (a call with nothing
    /// on the wire, a timer).
    pub kernel_only: &'static str,
    pub udp: &'static str,
    pub no_udp: &'static str,
    pub datagrams: &'static str,
    pub answered: &'static str,
    pub notice: &'static str,
    pub chart_failed: &'static str,
    pub generated_by: &'static str,
}

pub const EN: Text = Text {
    code: "en",
    html_lang: "en",
    title: "Lab report",
    summary: "Summary",
    what_was_run: "What was run",
    scenario: "Scenario",
    command: "Command",
    not_a_run: "A capture file analysed on its own (not a folder written by protolab run).",
    reproduce: "How to reproduce",
    reproduce_report: "Make this report again",
    reproduce_check: "Check that the capture is the same file",
    capture_file: "Capture file",
    frames: "Frames",
    tcp_connections: "TCP connections",
    udp_streams: "UDP streams",
    other_frames: "Frames outside any flow (ARP, ICMP, …)",
    duration: "Duration",
    expectation: "Expectation of the scenario",
    expectation_met: "met",
    expectation_failed: "not met",
    notes: "Notes",
    warning: "Warning:",
    layers: "The layers of one packet",
    layers_intro:
        "Encapsulation: each layer wraps the one above it. The picture shows frame {frame}.",
    link_layer: "The link layer: ARP and neighbour discovery",
    link_layer_intro: "Before the first IP packet can leave, the sender must learn the receiver's \
        MAC address: an ARP request (broadcast: who has this IP address?) and its reply. These \
        are the frames that belong to no connection.",
    connections: "Connections",
    connection: "Connection",
    udp_stream: "UDP stream",
    client: "client",
    server: "server",
    handshake: "Handshake",
    data: "Data",
    teardown: "Teardown",
    none_seen: "not seen in the capture",
    frames_word: "frames",
    segments: "segments with data",
    datagrams_with_data: "datagrams with data",
    bytes: "bytes",
    frame_word: "frame",
    segment: "segment with data",
    datagram_with_data: "datagram with data",
    byte: "byte",
    frames_range: "Frames",
    ladder: "Ladder diagram",
    state_timeline: "State timeline",
    state_diagram: "State-transition diagram",
    diagram_key: "Each endpoint's state now is outlined in its colour (client blue, server green); the arc it just took is drawn thick, the arcs taken before it thin.",
    seq_graph: "Sequence graph",
    window_chart: "Bytes in flight, receive window and phases",
    rtt_chart: "RTT samples, EstimatedRTT and RTO",
    seq_no_data: "Not drawn: this connection carried no data bytes in either direction (only SYN, ACK, FIN or RST segments), so a sequence graph would have nothing to plot. The ladder diagram above shows every segment.",
    player: "Step through, packet by packet",
    previous: "◀ Previous",
    next: "Next ▶",
    before_first: "before the first packet",
    transitions: "State transitions",
    messages: "Message sequence (application layer)",
    message: "Message",
    data_form: "data as",
    data_string: "JSON string (notes)",
    data_object: "object",
    frame: "Frame",
    time_ms: "Time (ms)",
    endpoint: "Endpoint",
    from: "From",
    to: "To",
    why: "Why",
    states: "States",
    conn_state: "Zeek conn_state / history",
    folded: "long data phase folded in the charts and the player",
    omitted: "more connections are not detailed (only the first ones are)",
    omitted_one: "more connection is not detailed (only the first ones are)",
    anomalies: "Anomalies (expert flags)",
    no_anomalies: "None: no retransmission, duplicate ACK, loss, zero window or malformed frame.",
    flags: "Flags",
    meaning: "What it means",
    anomalies_cut: "more flagged frames are not listed",
    anomalies_cut_one: "more flagged frame is not listed",
    kernel: "Kernel cross-check",
    kernel_source: "Source",
    kernel_unavailable: "No kernel comparison was possible",
    kernel_udp: "UDP has no connection state (no handshake, no close, no ESTABLISHED or \
        TIME_WAIT): each datagram stands alone, so the kernel has no states of a UDP stream \
        to compare with the capture.",
    inferred: "Inferred (from packets)",
    kernel_state: "Kernel",
    offset_us: "Kernel − capture (µs)",
    agree: "Agree",
    yes: "yes",
    no: "NO",
    kernel_only: "kernel only: no packet shows it",
    udp: "UDP statistics",
    no_udp: "No UDP traffic in this capture.",
    datagrams: "Datagrams (client / server)",
    answered: "Client datagrams answered",
    notice: "What to notice",
    chart_failed: "chart not drawn",
    generated_by: "Generated by protolab",
};

pub const ZH: Text = Text {
    code: "zh",
    html_lang: "zh-CN",
    title: "实验报告",
    summary: "概要",
    what_was_run: "运行内容",
    scenario: "场景",
    command: "命令",
    not_a_run: "单独分析的抓包文件（不是 protolab run 生成的运行目录）。",
    reproduce: "如何复现",
    reproduce_report: "重新生成本报告",
    reproduce_check: "校验抓包文件是否相同",
    capture_file: "抓包文件",
    frames: "帧数",
    tcp_connections: "TCP 连接数",
    udp_streams: "UDP 流数",
    other_frames: "不属于任何流的帧（ARP、ICMP 等）",
    duration: "时长",
    expectation: "场景预期",
    expectation_met: "符合",
    expectation_failed: "不符合",
    notes: "备注",
    warning: "注意：",
    layers: "一个数据包的各层（封装与解封装）",
    layers_intro: "封装：每一层把上一层包在里面。下图是第 {frame} 帧。",
    link_layer: "链路层：ARP 与邻居发现",
    link_layer_intro: "第一个 IP 包发出之前，发送方必须先知道接收方的 MAC 地址：一个 ARP 请求（广播：谁有这个 IP 地址？）和它的应答。下图是不属于任何连接的帧。",
    connections: "连接",
    connection: "连接",
    udp_stream: "UDP 流",
    client: "客户端",
    server: "服务器",
    handshake: "三次握手",
    data: "数据传输",
    teardown: "四次挥手（连接释放）",
    none_seen: "抓包中未出现",
    frames_word: "帧",
    segments: "个携带数据的报文段",
    datagrams_with_data: "个携带数据的数据报",
    bytes: "字节",
    frame_word: "帧",
    segment: "个携带数据的报文段",
    datagram_with_data: "个携带数据的数据报",
    byte: "字节",
    frames_range: "帧",
    ladder: "时序图（梯形图）",
    state_timeline: "状态时间线",
    state_diagram: "状态转换图",
    diagram_key: "各端点当前的状态用其颜色框出（客户端蓝色，服务器绿色）；刚走过的弧画粗线，之前走过的画细线。",
    seq_graph: "序号-时间图",
    window_chart: "在途字节、接收窗口与拥塞阶段",
    rtt_chart: "RTT 样本、EstimatedRTT 与 RTO",
    seq_no_data: "未绘制：该连接在两个方向上都没有传输数据字节（只有 SYN、ACK、FIN 或 RST 报文段），序号-时间图无内容可画。上方的时序图（梯形图）展示了每个报文段。",
    player: "逐包演示",
    previous: "◀ 上一个",
    next: "下一个 ▶",
    before_first: "第一个数据包之前",
    transitions: "状态转换",
    messages: "消息序列（应用层）",
    message: "消息",
    data_form: "data 形式",
    data_string: "JSON 字符串（笔记）",
    data_object: "对象",
    frame: "帧",
    time_ms: "时间（毫秒）",
    endpoint: "端点",
    from: "原状态",
    to: "新状态",
    why: "原因",
    states: "状态序列",
    conn_state: "Zeek conn_state / history",
    folded: "较长的数据阶段在图和演示中被折叠",
    omitted: "个连接未详细展示（只展示前面的连接）",
    omitted_one: "个连接未详细展示（只展示前面的连接）",
    anomalies: "异常（专家信息）",
    no_anomalies: "无：没有重传、重复 ACK、丢包、零窗口或畸形帧。",
    flags: "标记",
    meaning: "含义",
    anomalies_cut: "个带标记的帧未列出",
    anomalies_cut_one: "个带标记的帧未列出",
    kernel: "内核交叉核对",
    kernel_source: "来源",
    kernel_unavailable: "无法与内核比较",
    kernel_udp: "UDP 没有连接状态（没有握手，没有挥手，也没有 ESTABLISHED 或 TIME_WAIT）：\
        每个数据报都是独立的，所以内核没有 UDP 流的状态可以与抓包比较。",
    inferred: "推断（来自数据包）",
    kernel_state: "内核",
    offset_us: "内核 − 抓包（微秒）",
    agree: "一致",
    yes: "是",
    no: "否",
    kernel_only: "仅内核可见：没有数据包显示它",
    udp: "UDP 统计",
    no_udp: "本抓包中没有 UDP 流量。",
    datagrams: "数据报（客户端 / 服务器）",
    answered: "得到应答的客户端数据报",
    notice: "值得注意",
    chart_failed: "图未能生成",
    generated_by: "由 protolab 生成",
};

/// The table of fixed words for `lang`.
pub fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// A transition's reason in plain words.
pub fn why(why: Why, lang: Lang) -> &'static str {
    match lang {
        Lang::En => why.text(),
        Lang::Zh => match why {
            Why::SentSyn => "发送 SYN（主动打开）",
            Why::ReceivedSyn => "监听套接字收到 SYN",
            Why::SentSynAckSynUnseen => "发送 SYN-ACK（对应的 SYN 未被捕获）",
            Why::SimultaneousOpen => "在 SYN_SENT 状态收到 SYN（同时打开）",
            Why::ReceivedSynAck => "收到确认自己 SYN 的 SYN-ACK",
            Why::AckOfSyn => "收到对自己 SYN 的 ACK",
            Why::SentFin => "发送 FIN",
            Why::ReceivedFin => "收到 FIN",
            Why::SimultaneousClose => "自己的 FIN 被确认之前收到对方的 FIN（同时关闭）",
            Why::FinCrossed => "在对方的 FIN 到达之前发送了 FIN（其 ACK 未覆盖那个 FIN）",
            Why::AckOfFin => "收到覆盖自己 FIN 的 ACK",
            Why::SentRst => "发送 RST（中止连接）",
            Why::ReceivedRst => "收到 RST",
            Why::Refused => "自己的 SYN 被 RST 回应（连接被拒绝）",
            Why::ConnectTimedOut => "自己的 SYN 始终没有回应：connect 超时",
        },
    }
}

/// A state anomaly (a segment impossible in its endpoint's state), in the report's language.
pub fn anomaly(a: Anomaly, lang: Lang) -> &'static str {
    match (lang, a) {
        (Lang::En, _) => a.text(),
        (Lang::Zh, Anomaly::DataAfterFin) => "在自己的 FIN 之后又发送了数据",
        (Lang::Zh, Anomaly::AckOfUnseenData) => "确认了未见对方发送的字节（捕获中缺少某帧？）",
        (Lang::Zh, Anomaly::SentWhileClosed) => "在 CLOSED 状态发送了 RST 或 SYN 以外的报文段",
        (Lang::Zh, Anomaly::SentBeforeOpen) => {
            "在 LISTEN 或 SYN_SENT 状态发送了数据、ACK 或 FIN（捕获中缺少 SYN 或 SYN-ACK？）"
        }
        (Lang::Zh, Anomaly::ReceivedBeforeOpen) => {
            "在 LISTEN 或 SYN_SENT 状态收到了 ACK、数据或 FIN（捕获中缺少 SYN-ACK？）"
        }
        (Lang::Zh, Anomaly::SynAckNotForItsSyn) => "收到的 SYN-ACK 没有确认自己的 SYN",
    }
}

/// A stable machine name for a `Why` (report.json's `why_code`).
pub fn why_code(why: Why) -> String {
    format!("{why:?}")
}

/// "client" / "server" in the report's language.
pub fn role(name: &str, lang: Lang) -> &'static str {
    let t = text(lang);
    if name == "server" {
        t.server
    } else {
        t.client
    }
}

/// An expert flag's name and what it means.
pub fn flag(name: &str, lang: Lang) -> (&'static str, &'static str) {
    match (lang, name) {
        (Lang::En, "retransmission") => ("retransmission", "data sent again: it was sent before"),
        (Lang::En, "fast_retransmission") => (
            "fast retransmission",
            "sent again right after duplicate ACKs, without waiting for the timer",
        ),
        (Lang::En, "spurious_retransmission") => (
            "spurious retransmission",
            "sent again although the receiver had already acknowledged it",
        ),
        (Lang::En, "out_of_order") => (
            "out of order",
            "arrived after data with higher sequence numbers",
        ),
        (Lang::En, "duplicate_ack") => (
            "duplicate ACK",
            "the same acknowledgment again: the receiver is missing data",
        ),
        (Lang::En, "zero_window") => ("zero window", "the receiver's buffer is full (window 0)"),
        (Lang::En, "zero_window_probe") => (
            "zero-window probe",
            "one byte sent into a zero window to see whether it opened",
        ),
        (Lang::En, "window_full") => (
            "window full",
            "the sender filled the receiver's whole advertised window",
        ),
        (Lang::En, "lost_segment") => (
            "previous segment not captured",
            "a gap in sequence numbers: an earlier segment was lost or not captured",
        ),
        (Lang::En, "keep_alive") => (
            "keep-alive",
            "a probe checking that the peer is still there",
        ),
        (Lang::Zh, "retransmission") => ("重传", "重新发送了之前发送过的数据"),
        (Lang::Zh, "fast_retransmission") => ("快速重传", "收到重复 ACK 后立即重传，不等超时"),
        (Lang::Zh, "spurious_retransmission") => ("虚假重传", "重传了接收方已经确认的数据"),
        (Lang::Zh, "out_of_order") => ("乱序", "在序号更大的数据之后才到达"),
        (Lang::Zh, "duplicate_ack") => ("重复 ACK", "再次发送相同的确认号：接收方缺少数据"),
        (Lang::Zh, "zero_window") => ("零窗口", "接收方缓冲区已满（窗口为 0）"),
        (Lang::Zh, "zero_window_probe") => ("零窗口探测", "向零窗口发送一个字节，探测窗口是否打开"),
        (Lang::Zh, "window_full") => ("窗口已满", "发送方填满了接收方通告的整个窗口"),
        (Lang::Zh, "lost_segment") => (
            "前一报文段未捕获",
            "序号出现空缺：之前的报文段丢失或未被捕获",
        ),
        (Lang::Zh, "keep_alive") => ("保活", "检查对方是否仍然在线的探测报文"),
        (Lang::En, "malformed") => ("malformed", "the frame could not be decoded completely"),
        (Lang::Zh, "malformed") => ("畸形帧", "该帧无法完整解码"),
        (_, _) => ("?", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::AnalysisFlags;

    const ALL_WHY: [Why; 15] = [
        Why::SentSyn,
        Why::ReceivedSyn,
        Why::SentSynAckSynUnseen,
        Why::SimultaneousOpen,
        Why::ReceivedSynAck,
        Why::AckOfSyn,
        Why::SentFin,
        Why::ReceivedFin,
        Why::SimultaneousClose,
        Why::FinCrossed,
        Why::AckOfFin,
        Why::SentRst,
        Why::ReceivedRst,
        Why::Refused,
        Why::ConnectTimedOut,
    ];

    #[test]
    fn every_anomaly_has_its_own_chinese_text() {
        let mut seen = std::collections::HashSet::new();
        for a in Anomaly::ALL {
            let zh = anomaly(a, Lang::Zh);
            assert!(zh.chars().any(|c| c > '\u{2e80}'), "{a:?}: {zh}");
            assert!(seen.insert(zh), "{a:?} shares its text");
            assert_eq!(anomaly(a, Lang::En), a.text());
        }
    }

    #[test]
    fn every_why_has_its_own_chinese_text() {
        let mut seen = std::collections::HashSet::new();
        for w in ALL_WHY {
            let zh = why(w, Lang::Zh);
            assert_ne!(zh, w.text(), "{w:?} untranslated");
            assert!(zh.chars().any(|c| c > '\u{2e80}'), "{w:?}: {zh}");
            assert!(seen.insert(zh), "{w:?} shares its text");
            assert_eq!(why(w, Lang::En), w.text());
        }
    }

    #[test]
    fn every_expert_flag_is_named_and_explained_in_both_languages() {
        for name in AnalysisFlags(u16::MAX).names().chain(["malformed"]) {
            for lang in [Lang::En, Lang::Zh] {
                let (n, meaning) = flag(name, lang);
                assert_ne!(n, "?", "{name} in {lang:?}");
                assert!(!meaning.is_empty(), "{name} in {lang:?}");
            }
        }
    }
}
