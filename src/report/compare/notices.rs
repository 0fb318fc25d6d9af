//! "What to notice" in a comparison: a few sentences generated from the numbers,
//! one function per observation, in English and Chinese. Each returns `None` when
//! the data does not show what it would say.

use super::{bytes_label, level_for_gap, level_for_recovery, pct};
use crate::chart::compare::loss_label;
use crate::chart::Lang;
use crate::model::compare::{CompareReport, LevelResult};
use crate::output::words::{plural, rate};

/// All sentences, in the order a reader should meet them.
pub fn notices(r: &CompareReport, lang: Lang) -> Vec<String> {
    let (Some(base), Some(top)) = (lowest(r), highest(r)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = [
        headline(r, base, top, lang),
        repairs(top, lang),
        recovery(r, lang),
        gap(r, lang),
        measured(top, lang),
        goodput(base, top, lang),
        model(r, lang),
        monotone(r, lang),
    ]
    .into_iter()
    .flatten()
    .collect();
    out.extend(timeouts(r, lang));
    out.extend([latency(r, lang), disorder(r, lang)].into_iter().flatten());
    out
}

fn lowest(r: &CompareReport) -> Option<&LevelResult> {
    r.levels
        .iter()
        .min_by(|a, b| a.loss_configured.total_cmp(&b.loss_configured))
}

fn highest(r: &CompareReport) -> Option<&LevelResult> {
    r.levels
        .iter()
        .max_by(|a, b| a.loss_configured.total_cmp(&b.loss_configured))
}

/// The comparison in one sentence, at the highest loss level.
fn headline(
    r: &CompareReport,
    base: &LevelResult,
    top: &LevelResult,
    lang: Lang,
) -> Option<String> {
    if top.loss_configured <= 0.0 {
        return None;
    }
    let l = loss_label(top.loss_configured);
    let b = loss_label(base.loss_configured);
    let size = bytes_label(r.bytes, lang);
    let (u, gone) = (
        pct(top.udp.delivered_percent),
        pct(100.0 - top.udp.delivered_percent),
    );
    if let Some(e) = &top.tcp.error {
        return Some(match lang {
            Lang::En => {
                format!("At {l} loss the TCP transfer did not finish ({e}); UDP delivered {u}%.")
            }
            Lang::Zh => format!("丢包率 {l} 时 TCP 传输没有完成（{e}）；UDP 交付了 {u}%。"),
        });
    }
    let d = pct(top.tcp.delivered_percent);
    let t1 = format!("{:.2}", top.tcp.completion_s);
    let slower = (!std::ptr::eq(base, top)
        && base.tcp.error.is_none()
        && base.tcp.completion_s > 0.0)
        .then(|| {
            (
                format!("{:.1}", top.tcp.completion_s / base.tcp.completion_s),
                format!("{:.2}", base.tcp.completion_s),
            )
        });
    let whole = top.tcp.delivered_percent >= 100.0 && top.tcp.sha256_match;
    Some(match (lang, whole, slower) {
        (Lang::En, true, Some((x, t0))) => format!(
            "At {l} loss TCP still delivered 100% of {size} (SHA-256 matches), but took {x}× as long as at {b} ({t1} s against {t0} s); UDP delivered {u}% — the {gone}% the link lost never came back."
        ),
        (Lang::En, true, None) => format!(
            "At {l} loss TCP still delivered 100% of {size} (SHA-256 matches) in {t1} s; UDP delivered {u}% — the {gone}% the link lost never came back."
        ),
        (Lang::En, false, _) => format!(
            "At {l} loss TCP delivered only {d}% of {size} in {t1} s; UDP delivered {u}%."
        ),
        (Lang::Zh, true, Some((x, t0))) => format!(
            "丢包率 {l} 时 TCP 仍然交付了 {size} 的 100%（SHA-256 一致），但用时是 {b} 时的 {x} 倍（{t1} 秒对 {t0} 秒）；UDP 只交付了 {u}%——链路丢掉的 {gone}% 再也没有回来。"
        ),
        (Lang::Zh, true, None) => format!(
            "丢包率 {l} 时 TCP 仍然交付了 {size} 的 100%（SHA-256 一致），用时 {t1} 秒；UDP 只交付了 {u}%——链路丢掉的 {gone}% 再也没有回来。"
        ),
        (Lang::Zh, false, _) => format!(
            "丢包率 {l} 时 TCP 只交付了 {size} 的 {d}%，用时 {t1} 秒；UDP 交付了 {u}%。"
        ),
    })
}

/// How TCP repaired the losses at the highest level: the sender's resends
/// against the frames the bridge dropped and the kernel's own count.
fn repairs(top: &LevelResult, lang: Lang) -> Option<String> {
    let tcp = &top.tcp;
    let n = tcp.retransmissions_sender_view;
    if n == 0 && tcp.retransmissions == 0 {
        return None;
    }
    let l = loss_label(top.loss_configured);
    let (d, sp, f, w) = (
        tcp.dropped_data_frames,
        tcp.spurious_retransmissions,
        tcp.fast_retransmissions,
        tcp.retransmissions,
    );
    let kernel = (
        tcp.retransmissions_kernel_segments,
        tcp.retransmissions_kernel,
    );
    Some(match lang {
        Lang::En => format!(
            "TCP repaired the losses at {l} by resending {} (counted at the capture point, which is the sender's side of the bridge){}: the bridge dropped {d} of the client's data frames, and {} whose first copy had arrived. {} after duplicate ACKs. Wireshark's expert flags count {w}: its heuristic, made for a capture point in the middle of the path, calls many of the sender's resends \"out of order\".",
            plural(n, "segment", "segments"),
            match kernel {
                (Some(s), Some(b)) => format!(
                    "; the client's kernel says it resent {} (tcpi_total_retrans) in {} (tcp_retransmit_skb, once per buffer; a buffer may leave as several segments)",
                    plural(s, "segment", "segments"),
                    plural(b, "buffer", "buffers")
                ),
                (Some(s), None) => format!(
                    "; the client's kernel says it resent {} (tcpi_total_retrans)",
                    plural(s, "segment", "segments")
                ),
                (None, Some(b)) => format!(
                    "; the client's kernel resent {} (tcp_retransmit_skb, once per buffer; a buffer may leave as several segments)",
                    plural(b, "buffer", "buffers")
                ),
                (None, None) => String::new(),
            },
            plural(sp, "resend was spurious, one", "resends were spurious, ones"),
            if f == 1 {
                "One was a fast retransmission".to_string()
            } else {
                format!("{f} were fast retransmissions")
            },
        ),
        Lang::Zh => format!(
            "丢包率 {l} 时 TCP 重发了 {n} 个报文段（在捕获点计数，即网桥的发送方一侧）{}：网桥丢弃了客户端的 {d} 个数据帧，另有 {sp} 次重发是多余的（第一份已经到达）。其中 {f} 次是由重复 ACK 触发的快速重传。Wireshark 的专家标记只算出 {w} 次重传：它的启发式规则是为路径中间的捕获点设计的，把许多重发标成了“乱序”。",
            match kernel {
                (Some(s), Some(b)) => format!(
                    "；客户端内核自己计数重发了 {s} 个报文段（tcpi_total_retrans），分在 {b} 个缓冲区里（tcp_retransmit_skb 每个缓冲区触发一次，一个缓冲区可能分成几个报文段发出）"
                ),
                (Some(s), None) => format!("；客户端内核自己计数重发了 {s} 个报文段（tcpi_total_retrans）"),
                (None, Some(b)) => format!(
                    "；客户端内核重发了 {b} 个缓冲区（tcp_retransmit_skb 每个缓冲区触发一次，一个缓冲区可能分成几个报文段发出）"
                ),
                (None, None) => String::new(),
            },
        ),
    })
}

/// For each level where retransmission timeouts took a large share of the
/// transfer: how many, and how long the sender spent in the Loss state.
fn timeouts(r: &CompareReport, lang: Lang) -> Vec<String> {
    r.levels
        .iter()
        .filter_map(|level| {
            let tcp = &level.tcp;
            let (n, secs) = (tcp.rto_count?, tcp.rto_time_s?);
            // "Dominate": a third of the transfer or more waited on timeouts.
            if n == 0 || tcp.completion_s <= 0.0 || secs < tcp.completion_s / 3.0 {
                return None;
            }
            let l = loss_label(level.loss_configured);
            let share = secs / tcp.completion_s * 100.0;
            let total = tcp.completion_s;
            Some(match lang {
                Lang::En => format!(
                    "At {l} retransmission timeouts dominate: the sender's kernel went into the Loss state {} and spent {secs:.2} s of the {total:.2} s transfer there ({share:.0}%). Each timeout waits at least 200 ms (Linux's minimum RTO) and starts the window again from one segment, so one timeout more or less changes the time a lot: compare the runs' min–max.",
                    plural(n, "time", "times"),
                ),
                Lang::Zh => format!(
                    "丢包率 {l} 时超时重传占了主导：发送方内核进入 Loss 状态 {n} 次，在 {total:.2} 秒的传输中有 {secs:.2} 秒处于该状态（{share:.0}%）。每次超时至少等待 200 毫秒（Linux 的最小 RTO），并让窗口从一个报文段重新开始，所以多一次或少一次超时会大大改变用时：请对比各次运行的最小–最大值。"
                ),
            })
        })
        .collect()
}

/// Whether the median completion time grows with loss; if not, why not.
fn monotone(r: &CompareReport, lang: Lang) -> Option<String> {
    let mut levels: Vec<&LevelResult> = r.levels.iter().filter(|l| l.tcp.error.is_none()).collect();
    levels.sort_by(|a, b| a.loss_configured.total_cmp(&b.loss_configured));
    let median = |l: &LevelResult| l.figure("completion_s").map_or(l.tcp.completion_s, |s| s.0);
    let runs = levels
        .iter()
        .map(|l| l.runs.len().max(1))
        .max()
        .unwrap_or(1);
    let (a, b) = levels
        .windows(2)
        .map(|w| (w[0], w[1]))
        .find(|(a, b)| median(b) < median(a))?;
    let (la, lb) = (loss_label(a.loss_configured), loss_label(b.loss_configured));
    let (ta, tb) = (median(a), median(b));
    let rto = |l: &LevelResult| l.figure("rto_count").map_or(0.0, |s| s.0);
    let (ra, rb) = (rto(a), rto(b));
    Some(match lang {
        Lang::En => format!(
            "The median completion time does not grow with loss everywhere: {tb:.2} s at {lb} against {ta:.2} s at {la}. With {} per level, chance decides how many drops hit the segments whose loss costs a timeout (median timeouts: {ra:.0} at {la}, {rb:.0} at {lb}); more runs (--runs) or more bytes (--bytes) average that out.",
            plural(runs as u64, "run", "runs"),
        ),
        Lang::Zh => format!(
            "完成时间的中位数并非处处随丢包率增长：{lb} 时为 {tb:.2} 秒，而 {la} 时为 {ta:.2} 秒。每级只有 {runs} 次运行时，丢包是否恰好落在那些一丢就要等超时的报文段上全凭运气（超时次数中位数：{la} 时 {ra:.0}，{lb} 时 {rb:.0}）；更多次运行（--runs）或更多字节（--bytes）能把它平均掉。"
        ),
    })
}

/// The measured goodput beside the Mathis model's.
fn model(r: &CompareReport, lang: Lang) -> Option<String> {
    let l = r
        .levels
        .iter()
        .filter(|l| l.model_goodput_mbps.is_some() && l.tcp.error.is_none())
        .max_by(|a, b| a.loss_configured.total_cmp(&b.loss_configured))?;
    let m = l.model_goodput_mbps?;
    let g = l.figure("goodput_mbps").map_or(l.tcp.goodput_mbps, |s| s.0);
    let rtt = l.figure("rtt_ms").map(|s| s.0)?;
    let mss = l.tcp.mss?;
    let lv = loss_label(l.loss_configured);
    let p = l.tcp.loss_measured;
    Some(match lang {
        Lang::En => format!(
            "At {lv} the Mathis et al. model, goodput ≈ (MSS/RTT)·(C/√p) with C = √(3/2), gives {m:.2} Mbit/s for MSS {mss} bytes, RTT {rtt:.1} ms and p = {p:.2}%; TCP measured {g:.2} Mbit/s. The model assumes a long transfer in congestion avoidance whose losses fast retransmit repairs; short transfers, timeouts and BBR (which does not halve its rate on a loss) move the measurement away from it; `--cc reno` sends the way the model assumes."
        ),
        Lang::Zh => format!(
            "丢包率 {lv} 时，Mathis 等人的模型 goodput ≈ (MSS/RTT)·(C/√p)（C = √(3/2)）在 MSS {mss} 字节、RTT {rtt:.1} 毫秒、p = {p:.2}% 时给出 {m:.2} Mbit/s；TCP 实测为 {g:.2} Mbit/s。该模型假设长时间处于拥塞避免、丢包都由快速重传修复；短传输、超时以及 BBR（它不会因一次丢包把速率减半）都会让实测值偏离模型；`--cc reno` 按模型假设的方式发送。"
        ),
    })
}

/// The recovery the ladder shows.
fn recovery(r: &CompareReport, lang: Lang) -> Option<String> {
    let level = level_for_recovery(r)?;
    let rec = level.tcp.recovery.as_ref()?;
    let l = loss_label(level.loss_configured);
    let (lost, dup, fr, n, seq) = (
        rec.lost_frame,
        rec.first_dup_ack_frame,
        rec.fast_retransmission_frame,
        rec.dup_acks,
        rec.seq,
    );
    Some(match lang {
        Lang::En => format!(
            "The ladder shows TCP's first recovery at {l}: the bridge dropped frame {lost} (relative seq {seq}); the receiver's duplicate ACKs start at frame {dup}, and after {n} of them the sender resent that segment, seq {seq}, in frame {fr} (fast retransmission)."
        ),
        Lang::Zh => format!(
            "时序图展示了丢包率 {l} 时 TCP 的第一次恢复：网桥丢弃了第 {lost} 帧（相对序号 {seq}）；接收方的重复 ACK 从第 {dup} 帧开始，{n} 个之后发送方在第 {fr} 帧重发了这个序号为 {seq} 的段（快速重传）。"
        ),
    })
}

/// The UDP gap the ladder shows.
fn gap(r: &CompareReport, lang: Lang) -> Option<String> {
    let level = level_for_gap(r)?;
    let g = level.udp.first_gap.as_ref()?;
    let l = loss_label(level.loss_configured);
    let (seq, frame) = (g.seq, g.frame);
    Some(match lang {
        Lang::En => format!(
            "UDP at {l}: the first datagram lost was probe {seq} (frame {frame}). UDP has no acknowledgements, so nothing noticed the loss and nothing sent it again."
        ),
        Lang::Zh => format!(
            "丢包率 {l} 时的 UDP：第一个丢失的数据报是探测报文 {seq}（第 {frame} 帧）。UDP 没有确认机制，所以没有谁发现这次丢失，也没有谁重发它。"
        ),
    })
}

/// Configured against measured loss.
fn measured(top: &LevelResult, lang: Lang) -> Option<String> {
    if top.loss_configured <= 0.0 {
        return None;
    }
    let (c, m) = (
        loss_label(top.loss_configured),
        format!("{:.2}", top.loss_measured),
    );
    Some(match lang {
        Lang::En => format!(
            "At the {c} level the bridge really dropped {m}% of the frames: random drops come close to the configured rate, not exactly to it. Compare UDP's delivered % with 100 − measured loss."
        ),
        Lang::Zh => format!(
            "在 {c} 这一级，网桥实际丢弃了 {m}% 的帧：随机丢包接近配置的比例，但不会正好相等。请把 UDP 的交付率与 100 − 实测丢包率对比。"
        ),
    })
}

/// Goodput at the lowest and the highest level.
fn goodput(base: &LevelResult, top: &LevelResult, lang: Lang) -> Option<String> {
    if std::ptr::eq(base, top) || base.tcp.error.is_some() || top.tcp.error.is_some() {
        return None;
    }
    let (b, l) = (
        loss_label(base.loss_configured),
        loss_label(top.loss_configured),
    );
    // Each in the unit that fits it: a heavy loss takes TCP down to kbit/s.
    let mbps = |m: f64| rate(m * 1e6);
    let (g0, g1) = (mbps(base.tcp.goodput_mbps), mbps(top.tcp.goodput_mbps));
    let (u0, u1) = (mbps(base.udp.goodput_mbps), mbps(top.udp.goodput_mbps));
    Some(match lang {
        Lang::En => format!(
            "TCP goodput went from {g0} at {b} to {g1} at {l}: every loss costs it a repair and a smaller congestion window. UDP's went from {u0} to {u1}: its sender keeps its pace, only the lost datagrams are missing."
        ),
        Lang::Zh => format!(
            "TCP 的有效吞吐量从 {b} 时的 {g0} 变为 {l} 时的 {g1}：每次丢包都要修复，拥塞窗口也随之缩小。UDP 的从 {u0} 变为 {u1}：发送方保持原有速率，只是丢失的数据报不见了。"
        ),
    })
}

/// Whether UDP's latency depended on loss.
fn latency(r: &CompareReport, lang: Lang) -> Option<String> {
    let p50s: Vec<f64> = r
        .levels
        .iter()
        .filter(|l| l.udp.received > 0)
        .map(|l| l.udp.latency_ms.p50)
        .collect();
    let lo = p50s.iter().copied().reduce(f64::min)?;
    let hi = p50s.iter().copied().reduce(f64::max)?;
    let (a, b, d) = (
        format!("{lo:.2}"),
        format!("{hi:.2}"),
        format!("{}", r.delay_ms),
    );
    let flat = hi - lo <= (0.2 * hi).max(1.0);
    let range = match (lang, a == b) {
        (Lang::En, true) => format!("at {a} ms"),
        (Lang::En, false) => format!("between {a} and {b} ms"),
        (Lang::Zh, true) => format!("都是 {a} 毫秒"),
        (Lang::Zh, false) => format!("都在 {a} 到 {b} 毫秒之间"),
    };
    Some(match (lang, flat) {
        (Lang::En, true) => format!(
            "UDP's one-way latency hardly depends on loss: p50 stayed {range} at every level (the bridge adds {d} ms each way). A lost datagram is missing, not late."
        ),
        (Lang::En, false) => format!(
            "UDP's one-way latency p50 ranged from {a} to {b} ms across the levels (the bridge adds {d} ms each way)."
        ),
        (Lang::Zh, true) => format!(
            "UDP 的单向时延几乎与丢包无关：各级别的 p50 {range}（网桥每个方向附加 {d} 毫秒）。丢失的数据报是不见了，而不是迟到。"
        ),
        (Lang::Zh, false) => format!(
            "各级别 UDP 单向时延的 p50 在 {a} 到 {b} 毫秒之间（网桥每个方向附加 {d} 毫秒）。"
        ),
    })
}

/// Reordering and duplication UDP handed to the application.
fn disorder(r: &CompareReport, lang: Lang) -> Option<String> {
    let ooo: u64 = r.levels.iter().map(|l| l.udp.out_of_order).sum();
    let dup: u64 = r.levels.iter().map(|l| l.udp.duplicates).sum();
    if ooo + dup == 0 {
        return None;
    }
    Some(match lang {
        Lang::En => format!(
            "Over all levels UDP also handed the receiver datagrams out of order ({ooo}) and the same datagram twice ({dup}): an application on UDP must cope with that itself, while TCP's receiver puts the bytes back in order."
        ),
        Lang::Zh => format!(
            "在所有级别中，UDP 还把 {ooo} 个数据报乱序交给接收方，{dup} 个交付了两次：基于 UDP 的应用必须自己处理这些，而 TCP 的接收方会把字节重新排好顺序。"
        ),
    })
}
