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
    [
        headline(r, base, top, lang),
        repairs(top, lang),
        recovery(r, lang),
        gap(r, lang),
        measured(top, lang),
        goodput(base, top, lang),
        latency(r, lang),
        disorder(r, lang),
    ]
    .into_iter()
    .flatten()
    .collect()
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

/// How TCP repaired the losses at the highest level.
fn repairs(top: &LevelResult, lang: Lang) -> Option<String> {
    let tcp = &top.tcp;
    if tcp.retransmissions == 0 {
        return None;
    }
    let l = loss_label(top.loss_configured);
    let (n, f, d) = (tcp.retransmissions, tcp.fast_retransmissions, tcp.dup_acks);
    Some(match lang {
        Lang::En => format!(
            "TCP repaired the losses at {l} with {}; {f} of them {}, sent after duplicate ACKs ({d} in all) instead of after a timeout.",
            plural(n, "retransmission", "retransmissions"),
            if f == 1 { "was a fast retransmission" } else { "were fast retransmissions" }
        ),
        Lang::Zh => format!(
            "丢包率 {l} 时 TCP 用 {n} 次重传修复了丢失；其中 {f} 次是快速重传，由重复 ACK（共 {d} 个）触发，而不是等到超时。"
        ),
    })
}

/// The recovery the ladder shows.
fn recovery(r: &CompareReport, lang: Lang) -> Option<String> {
    let level = level_for_recovery(r)?;
    let rec = level.tcp.recovery.as_ref()?;
    let l = loss_label(level.loss_configured);
    let (lost, dup, fr, n) = (
        rec.lost_frame,
        rec.first_dup_ack_frame,
        rec.fast_retransmission_frame,
        rec.dup_acks,
    );
    Some(match lang {
        Lang::En => format!(
            "The ladder shows TCP's first recovery at {l}: the bridge dropped frame {lost}; the receiver's duplicate ACKs start at frame {dup}, and after {n} of them the sender resent the segment in frame {fr} (fast retransmission)."
        ),
        Lang::Zh => format!(
            "时序图展示了丢包率 {l} 时 TCP 的第一次恢复：网桥丢弃了第 {lost} 帧；接收方的重复 ACK 从第 {dup} 帧开始，{n} 个之后发送方在第 {fr} 帧重发了该段（快速重传）。"
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
