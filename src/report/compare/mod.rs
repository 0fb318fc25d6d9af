//! The report of `protolab compare`: one page that puts TCP and UDP side by side at
//! every loss level — `index.html` (self-contained), `report.md` with PNG charts for
//! hand-in, and `report.json` (the [`CompareReport`] itself).
//!
//! - [`text`] — the fixed words in English and Chinese.
//! - [`notices`] — "what to notice", generated from the numbers.
//! - [`page`] — the report as the values the `compare.html` / `compare.md`
//!   templates lay out (its table of levels is a [`Table`](crate::report::table::Table)).
//! - [`markdown`], [`html`] — writers: report in, string out.
//! - this module — the charts, and the whole report rendered in memory
//!   ([`render_compare_report`]); the file edge ([`crate::files`]) reads the
//!   close-ups' captures and writes the folder.
//!
//! The report is redrawn from a saved report.json and the captures it names, so
//! nothing here needs the lab to run again.

pub mod html;
pub mod markdown;
pub mod notices;
pub mod page;
pub mod text;

use crate::chart::compare::{
    loss_label, render_compare_png, render_compare_svg, CloseUp, ComparePicture,
};
use crate::chart::{CaptureData, Lang};
use crate::model::compare::{CompareReport, LevelResult};
use crate::output::words::plural;
use text::compare_text;

/// The files written: the same as a lab report's.
pub type CompareFiles = super::ReportFiles;

/// The whole report in memory.
#[derive(Debug)]
pub struct RenderedCompare {
    pub html: String,
    pub markdown: String,
    pub json: String,
    /// (path under the compare folder, content), SVG and PNG.
    pub charts: Vec<(String, Vec<u8>)>,
    pub chart_errors: Vec<String>,
}

/// One chart of the report: where its files go and its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRef {
    pub name: &'static str,
    pub title: &'static str,
    pub svg: String,
    pub png: String,
}

/// The four charts, in the order the report shows them.
pub fn chart_refs(lang: Lang) -> [ChartRef; 4] {
    let t = compare_text(lang);
    [
        ("delivered", t.chart_delivered),
        ("tcp_cost", t.chart_cost),
        ("udp_latency", t.chart_latency),
        ("recovery", t.chart_recovery),
    ]
    .map(|(name, title)| ChartRef {
        name,
        title,
        svg: format!("charts/{name}.svg"),
        png: format!("charts/{name}.png"),
    })
}

/// A percentage for text: `100`, `90.3`.
pub fn pct(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{:.0}", x.round())
    } else {
        format!("{x:.1}")
    }
}

/// A byte count for text: `4 MiB`, `1.5 MiB`, `512 KiB`, `100 bytes`.
pub fn bytes_label(b: u64, lang: Lang) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    let scaled = |unit: u64, name: &str| {
        if b % unit == 0 {
            format!("{} {name}", b / unit)
        } else {
            format!("{:.1} {name}", b as f64 / unit as f64)
        }
    };
    if b >= MIB {
        scaled(MIB, "MiB")
    } else if b >= KIB {
        scaled(KIB, "KiB")
    } else {
        match lang {
            Lang::En => plural(b, "byte", "bytes"),
            Lang::Zh => format!("{b} 字节"),
        }
    }
}

/// The link to a level's TCP run report, relative to the compare folder.
pub fn run_report_link(level: &LevelResult) -> String {
    format!("{}/index.html", level.tcp.run_dir.trim_end_matches('/'))
}

/// The column headings of the table of levels (the TCP run link comes last).
pub fn table_headings(lang: Lang) -> [&'static str; 23] {
    let t = compare_text(lang);
    [
        t.loss_configured,
        t.loss_measured,
        t.tcp_delivered,
        t.tcp_completion,
        t.tcp_goodput,
        t.model_goodput,
        t.sender_view,
        t.kernel_segments,
        t.kernel_retransmissions,
        t.dropped_data,
        t.retransmissions,
        t.fast_retransmissions,
        t.rtos,
        t.dup_acks,
        t.sha256,
        t.udp_delivered,
        t.udp_lost,
        t.out_of_order,
        t.duplicates,
        t.jitter_ms,
        t.p50,
        t.p99,
        t.tcp_run,
    ]
}

/// A figure as its median with the min–max after it when the runs differ:
/// `1.25 (1.10–3.40)`, `10.4% (9.9–10.4%)` with `unit` "%".
pub fn spread_label(s: Option<(f64, f64, f64)>, decimals: usize, unit: &str) -> String {
    match s {
        None => "—".to_string(),
        Some((m, lo, hi)) if (hi - lo).abs() < 0.5 * 10f64.powi(-(decimals as i32)) => {
            format!("{m:.decimals$}{unit}")
        }
        Some((m, lo, hi)) => {
            format!("{m:.decimals$}{unit} ({lo:.decimals$}–{hi:.decimals$}{unit})")
        }
    }
}

/// One level's cells, in [`table_headings`] order but for the run link.
pub fn table_cells(l: &LevelResult, lang: Lang) -> [String; 22] {
    let t = compare_text(lang);
    let (tcp, udp) = (&l.tcp, &l.udp);
    let f = |name: &str, d: usize| spread_label(l.figure(name), d, "");
    let p = |name: &str, d: usize| spread_label(l.figure(name), d, "%");
    [
        loss_label(l.loss_configured),
        p("loss_measured", 2),
        format!("{}%", pct(tcp.delivered_percent)),
        f("completion_s", 2),
        f("goodput_mbps", 2),
        l.model_goodput_mbps
            .map_or("—".to_string(), |m| format!("{m:.2}")),
        f("retransmissions_sender_view", 0),
        f("retransmissions_kernel_segments", 0),
        f("retransmissions_kernel", 0),
        f("dropped_data_frames", 0),
        f("retransmissions", 0),
        tcp.fast_retransmissions.to_string(),
        f("rto_count", 0),
        tcp.dup_acks.to_string(),
        (if tcp.sha256_match { t.yes } else { t.no }).to_string(),
        p("udp_delivered_percent", 1),
        format!("{} / {}", f("udp_lost", 0), udp.sent),
        udp.out_of_order.to_string(),
        udp.duplicates.to_string(),
        f("udp_jitter_ms", 3),
        format!("{:.2}", udp.latency_ms.p50),
        f("udp_p99_ms", 2),
    ]
}

/// The "what ran" list: (label, value), the command first.
pub fn what_ran(r: &CompareReport, lang: Lang) -> Vec<(&'static str, String)> {
    let t = compare_text(lang);
    let started = if r.started > 0.0 {
        crate::timestamp::utc_stamp((r.started * 1e9) as u64)
    } else {
        "—".to_string()
    };
    vec![
        (t.reproduce, r.command.clone()),
        (t.seed, r.seed.to_string()),
        (
            t.bytes,
            format!("{} ({})", bytes_label(r.bytes, lang), r.bytes),
        ),
        (t.delay, format!("{} ms", r.delay_ms)),
        (
            t.runs,
            r.levels
                .iter()
                .map(|l| l.runs.len().max(1))
                .max()
                .unwrap_or(1)
                .to_string(),
        ),
        (
            t.congestion,
            r.congestion_control
                .clone()
                .unwrap_or_else(|| t.system_default.to_string()),
        ),
        (t.jitter, format!("{} ms", r.jitter_ms)),
        (t.started, started),
        (t.version, r.protolab_version.clone()),
    ]
}

/// The highest loss level with a TCP recovery (the close-up's level).
pub fn level_for_recovery(r: &CompareReport) -> Option<&LevelResult> {
    r.levels
        .iter()
        .filter(|l| l.tcp.recovery.is_some())
        .max_by(|a, b| a.loss_configured.total_cmp(&b.loss_configured))
}

/// The highest loss level with a UDP gap.
pub fn level_for_gap(r: &CompareReport) -> Option<&LevelResult> {
    r.levels
        .iter()
        .filter(|l| l.udp.first_gap.is_some())
        .max_by(|a, b| a.loss_configured.total_cmp(&b.loss_configured))
}

/// A close-up's capture, loaded, and what to show of it.
struct Loaded {
    data: CaptureData,
    flow: u64,
    frames: (u64, u64),
    mark: u64,
    heading: String,
}

impl Loaded {
    fn close_up<'a>(&'a self, note: &'a str) -> CloseUp<'a> {
        CloseUp {
            data: &self.data,
            flow: self.flow,
            frames: self.frames,
            mark: (self.mark, note),
            heading: &self.heading,
        }
    }
}

/// The TCP recovery's capture: frames from the lost segment to two after the fast
/// retransmission.
fn load_recovery(
    r: &CompareReport,
    load: LoadCloseUp,
    lang: Lang,
) -> Result<Option<Loaded>, String> {
    let Some(level) = level_for_recovery(r) else {
        return Ok(None);
    };
    let Some(rec) = &level.tcp.recovery else {
        return Ok(None);
    };
    let first = rec.lost_frame.min(rec.fast_retransmission_frame);
    let last = rec.lost_frame.max(rec.fast_retransmission_frame) + 2;
    let data = load(&level.tcp.capture, last)?;
    let l = loss_label(level.loss_configured);
    let heading = match lang {
        Lang::En => format!(
            "TCP at {l} loss: frame {} (seq {}) dropped → {} from frame {} → fast retransmission of seq {} in frame {}",
            rec.lost_frame,
            rec.seq,
            plural(rec.dup_acks, "duplicate ACK", "duplicate ACKs"),
            rec.first_dup_ack_frame,
            rec.seq,
            rec.fast_retransmission_frame
        ),
        Lang::Zh => format!(
            "丢包率 {l} 时的 TCP：第 {} 帧（序号 {}）被丢弃 → 从第 {} 帧起 {} 个重复 ACK → 第 {} 帧快速重传序号 {}",
            rec.lost_frame,
            rec.seq,
            rec.first_dup_ack_frame,
            rec.dup_acks,
            rec.fast_retransmission_frame,
            rec.seq
        ),
    };
    Ok(Some(Loaded {
        data,
        flow: rec.flow,
        frames: (first, last),
        mark: rec.lost_frame,
        heading,
    }))
}

/// The UDP gap's capture: four frames either side of the lost datagram.
fn load_gap(r: &CompareReport, load: LoadCloseUp, lang: Lang) -> Result<Option<Loaded>, String> {
    let Some(level) = level_for_gap(r) else {
        return Ok(None);
    };
    let Some(gap) = &level.udp.first_gap else {
        return Ok(None);
    };
    let (first, last) = (gap.frame.saturating_sub(4).max(1), gap.frame + 4);
    let data = load(&level.udp.capture, last)?;
    // The stream the datagram belongs to (the capture may hold more, like ARP).
    let flow = data
        .frame(gap.frame)
        .and_then(|f| f.analysis.flow)
        .or_else(|| data.flows.iter().find(|f| f.proto == "udp").map(|f| f.flow))
        .ok_or_else(|| {
            format!(
                "{}: no UDP stream at frame {}",
                level.udp.capture, gap.frame
            )
        })?;
    let l = loss_label(level.loss_configured);
    let (seq, frame) = (gap.seq, gap.frame);
    let heading = match lang {
        Lang::En => format!(
            "UDP at {l} loss: probe {seq} (frame {frame}) dropped — no acknowledgement, so no one sends it again"
        ),
        Lang::Zh => format!(
            "丢包率 {l} 时的 UDP：探测报文 {seq}（第 {frame} 帧）被丢弃——没有确认，所以没有谁重发它"
        ),
    };
    Ok(Some(Loaded {
        data,
        flow,
        frames: (first, last),
        mark: frame,
        heading,
    }))
}

/// Loads the capture a close-up is drawn from: its path as the report names it
/// and the last frame shown; a message when it cannot be read.
pub type LoadCloseUp<'a> = &'a mut dyn FnMut(&str, u64) -> Result<CaptureData, String>;

/// Renders the report in memory. The two captures of the close-ups come from
/// `load`; a capture that cannot be read leaves that chart out and says why in
/// `chart_errors`.
pub fn render_compare_report(
    report: &CompareReport,
    load: LoadCloseUp,
    lang: Lang,
) -> RenderedCompare {
    let t = compare_text(lang);
    let mut charts = Vec::new();
    let mut svgs = std::collections::BTreeMap::new();
    let mut chart_errors = Vec::new();
    let refs = chart_refs(lang);
    let loaded = load_recovery(report, &mut *load, lang)
        .and_then(|tcp| Ok((tcp, load_gap(report, load, lang)?)));
    let pictures = [
        Ok(ComparePicture::Delivered(report)),
        Ok(ComparePicture::Cost(report)),
        Ok(ComparePicture::Latency(report)),
        match &loaded {
            Ok((tcp, udp)) => Ok(ComparePicture::Recovery {
                tcp: tcp.as_ref().map(|l| l.close_up(t.dropped)),
                udp: udp.as_ref().map(|l| l.close_up(t.dropped_never_resent)),
            }),
            Err(e) => Err(e.clone()),
        },
    ];
    for (chart, picture) in refs.iter().zip(pictures) {
        let picture = match picture {
            Ok(p) => p,
            Err(e) => {
                chart_errors.push(format!("{}: {e}", chart.svg));
                continue;
            }
        };
        match render_compare_svg(&picture, lang) {
            Ok(svg) => {
                charts.push((chart.svg.clone(), svg.clone().into_bytes()));
                svgs.insert(chart.svg.clone(), svg);
            }
            Err(e) => chart_errors.push(format!("{}: {e}", chart.svg)),
        }
        match render_compare_png(&picture, lang) {
            Ok(png) => charts.push((chart.png.clone(), png)),
            Err(e) => chart_errors.push(format!("{}: {e}", chart.png)),
        }
    }
    let drawn: Vec<String> = charts.iter().map(|(p, _)| p.clone()).collect();
    RenderedCompare {
        html: html::render_compare_html(report, &svgs, lang),
        markdown: markdown::render_compare_markdown(report, &drawn, lang),
        json: serde_json::to_string_pretty(report).expect("serialisable") + "\n",
        charts,
        chart_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_drop_a_needless_decimal() {
        assert_eq!(pct(100.0), "100");
        assert_eq!(pct(90.3), "90.3");
        assert_eq!(pct(9.96), "10");
        assert_eq!(pct(0.04), "0");
    }

    #[test]
    fn byte_counts_use_binary_units() {
        assert_eq!(bytes_label(4 * 1024 * 1024, Lang::En), "4 MiB");
        assert_eq!(bytes_label(1536 * 1024, Lang::En), "1.5 MiB");
        assert_eq!(bytes_label(512 * 1024, Lang::Zh), "512 KiB");
        assert_eq!(bytes_label(100, Lang::En), "100 bytes");
        assert_eq!(bytes_label(100, Lang::Zh), "100 字节");
    }
}
