//! Throughput / goodput over time and RTT samples of one connection or stream.
//!
//! Throughput counts every byte on the wire; goodput only the payload bytes seen
//! for the first time (retransmissions excluded), per interval, in each direction.
//! RTT samples are the analyzer's ([`FrameAnalysis::rtt_ns`](crate::analyze::FrameAnalysis::rtt_ns),
//! Wireshark's rules): the chart only places them, it never measures RTT itself.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_err, style, ChartError, Ctx, Lang};
use crate::analyze::Role;

/// Most intervals the connection's duration is cut into (fewer for short flows).
const BINS: usize = 60;

fn flow_title(ctx: &Ctx, what_en: &str, what_zh: &str) -> String {
    let t = ctx.t;
    match ctx.summary {
        Some(s) if s.proto == "tcp" => format!(
            "{} {} — {}",
            t.pick("TCP connection", "TCP 连接"),
            s.flow,
            if t.lang == Lang::En { what_en } else { what_zh }
        ),
        Some(s) => format!(
            "{} {} — {}",
            t.pick("UDP stream", "UDP 流"),
            s.flow,
            if t.lang == Lang::En { what_en } else { what_zh }
        ),
        None => format!(
            "{} — {}",
            t.pick("Frames outside any flow", "流之外的帧"),
            if t.lang == Lang::En { what_en } else { what_zh }
        ),
    }
}

/// Time unit for an axis spanning `span_s` seconds: (name, factor from seconds).
fn unit(span_s: f64) -> (&'static str, f64) {
    if span_s < 2.0 {
        ("ms", 1e3)
    } else {
        ("s", 1.0)
    }
}

/// Bytes per interval: `[direction][kind: 0 throughput, 1 goodput][bin]`.
type Bins = [[[u64; BINS + 1]; 2]; 2];

/// Counts every frame's bytes (throughput) and its first-time payload bytes
/// (goodput) into `bins` intervals of `bin_s` seconds from `start`.
fn bin_bytes(ctx: &Ctx, start: u64, bins: usize, bin_s: f64) -> Bins {
    let mut bytes = [[[0u64; BINS + 1]; 2]; 2];
    for r in ctx.frames {
        let dir = usize::from(r.analysis.sender == Some(Role::Server));
        let bin = (((r.packet.ts_ns - start) as f64 / 1e9 / bin_s) as usize).min(bins);
        bytes[dir][0][bin] += u64::from(r.packet.len);
        let payload = match (r.packet.tcp(), r.packet.udp()) {
            (Some(tcp), _) => tcp.len,
            (None, Some(udp)) => udp.payload_len(),
            _ => 0,
        };
        if !r.analysis.flags.is_retransmission() {
            bytes[dir][1][bin] += u64::from(payload);
        }
    }
    bytes
}

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

pub fn draw_throughput<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let (start, end) = ctx.time_span();
    let span_s = (end - start) as f64 / 1e9;
    let (uname, ufac) = unit(span_s);
    // About three frames per interval, so a short exchange is not all spikes.
    let bins = (ctx.frames.len() / 3).clamp(8, BINS);
    let bin_s = span_s / bins as f64;
    let bytes = bin_bytes(ctx, start, bins, bin_s);
    // Rates in kbit/s, or Mbit/s when they are large.
    let peak = bytes.iter().flatten().flatten().copied().max().unwrap_or(0) as f64 * 8.0 / bin_s;
    let (rate_unit, rate_div) = if peak >= 1e7 {
        ("Mbit/s", 1e6)
    } else {
        ("kbit/s", 1e3)
    };
    let y_max = (peak / rate_div).max(1.0) * 1.1;
    let x_max = span_s * ufac * (1.0 + 1.0 / bins as f64);
    let mut chart = ChartBuilder::on(root)
        .caption(
            flow_title(ctx, "throughput and goodput", "吞吐量与有效吞吐量"),
            (fam, 26),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(draw_err)?;
    let x_desc = match (t.lang, uname) {
        (Lang::En, u) => format!("time ({u})"),
        (Lang::Zh, "ms") => "时间（毫秒）".to_string(),
        (Lang::Zh, _) => "时间（秒）".to_string(),
    };
    let y_desc = match t.lang {
        Lang::En => format!(
            "{rate_unit}, averaged over {} intervals",
            style::secs(bin_s)
        ),
        Lang::Zh => format!("{rate_unit}（每 {} 区间平均）", style::secs(bin_s)),
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((fam, 15))
        .axis_desc_style((fam, 17))
        .light_line_style(style::LIGHT.mix(0.5))
        .draw()
        .map_err(draw_err)?;
    let rate = |b: u64| b as f64 * 8.0 / bin_s / rate_div;
    draw_rates(&mut chart, ctx, &bytes, (bins, bin_s, ufac), rate)?;
    ctx.shade_folded_and_legend(
        &mut chart,
        |ts| ts.saturating_sub(start) as f64 / 1e9 * ufac,
        y_max,
        SeriesLabelPosition::UpperRight,
        fam,
    )
}

/// The four step lines: each direction's throughput (wide, pale) and goodput (thin,
/// dark on top), `bins` intervals of `bin_s` seconds, `ufac` x-units a second.
fn draw_rates<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    ctx: &Ctx,
    bytes: &Bins,
    (bins, bin_s, ufac): (usize, f64, f64),
    rate: impl Fn(u64) -> f64,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let series = [
        (
            0,
            0,
            style::CLIENT,
            t.pick("client → server, throughput", "客户端 → 服务器 吞吐量"),
        ),
        (
            0,
            1,
            style::CLIENT,
            t.pick("client → server, goodput", "客户端 → 服务器 有效吞吐量"),
        ),
        (
            1,
            0,
            style::SERVER,
            t.pick("server → client, throughput", "服务器 → 客户端 吞吐量"),
        ),
        (
            1,
            1,
            style::SERVER,
            t.pick("server → client, goodput", "服务器 → 客户端 有效吞吐量"),
        ),
    ];
    for (dir, kind, color, label) in series {
        // A step line: each interval's rate held flat across the interval.
        let points: Vec<(f64, f64)> = (0..=bins)
            .flat_map(|i| {
                let r = rate(bytes[dir][kind][i]);
                [
                    (i as f64 * bin_s * ufac, r),
                    ((i + 1) as f64 * bin_s * ufac, r),
                ]
            })
            .collect();
        // Throughput wide and pale, goodput thin and dark on top of it.
        let line = if kind == 0 {
            ShapeStyle::from(&color.mix(0.45)).stroke_width(6)
        } else {
            ShapeStyle::from(&color).stroke_width(1)
        };
        chart
            .draw_series(LineSeries::new(points, line))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line));
    }
    Ok(())
}

/// One RTT sample as the chart plots it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttSample {
    /// When the acknowledged data was sent (the x position).
    pub sent_ns: u64,
    pub rtt_ns: u64,
}

/// The analyzer's RTT samples among `frames`, per direction of the data (0: the
/// client's data, ACKed by the server; 1: the server's). The analyzer puts each sample
/// on the ACK that yields it, so the chart counts exactly what `flows` counts.
pub fn rtt_samples(frames: &[super::FrameRecord]) -> [Vec<RttSample>; 2] {
    let mut out: [Vec<RttSample>; 2] = [Vec::new(), Vec::new()];
    for r in frames {
        let (Some(rtt_ns), Some(acker)) = (r.analysis.rtt_ns, r.analysis.sender) else {
            continue;
        };
        // The ACK's sender measured the peer's data.
        out[usize::from(acker.peer() == Role::Server)].push(RttSample {
            sent_ns: r.packet.ts_ns.saturating_sub(rtt_ns),
            rtt_ns,
        });
    }
    out
}

/// One point of the RTO estimator drawn over the samples (RFC 6298, as `flows`
/// computes it): at the time the measured data was sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimatePoint {
    pub sent_ns: u64,
    pub estimated_ms: f64,
    pub rto_ms: f64,
}

/// EstimatedRTT and RTO after each sample of a data segment among `frames`, per
/// direction of the data, as the estimator table of `flows --json` runs (samples
/// of a SYN or FIN, or of a segment not kept, are left out).
pub fn estimate_lines(frames: &[super::FrameRecord]) -> [Vec<EstimatePoint>; 2] {
    let mut est = [crate::analyze::Estimator::default(); 2];
    let mut out: [Vec<EstimatePoint>; 2] = [Vec::new(), Vec::new()];
    for r in frames {
        let (Some(rtt_ns), Some(acked), Some(acker)) =
            (r.analysis.rtt_ns, r.analysis.acks_frame, r.analysis.sender)
        else {
            continue;
        };
        let Ok(at) = frames.binary_search_by_key(&acked, |f| f.packet.frame) else {
            continue;
        };
        if frames[at].packet.tcp().is_none_or(|t| t.len == 0) {
            continue;
        }
        let dir = usize::from(acker.peer() == Role::Server);
        let e = est[dir].update(rtt_ns);
        out[dir].push(EstimatePoint {
            sent_ns: r.packet.ts_ns.saturating_sub(rtt_ns),
            estimated_ms: e.estimated_ns / 1e6,
            rto_ms: e.rto_ns() / 1e6,
        });
    }
    out
}

pub fn draw_rtt<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let (start, end) = ctx.time_span();
    let (uname, ufac) = unit((end - start) as f64 / 1e9);
    let samples = rtt_samples(ctx.frames);
    let lines = estimate_lines(ctx.frames);
    let ms = |ns: u64| ns as f64 / 1e6;
    let y_max = samples
        .iter()
        .flatten()
        .map(|s| ms(s.rtt_ns))
        .chain(lines.iter().flatten().map(|p| p.rto_ms))
        .fold(0.001, f64::max)
        * 1.2;
    let x_max = (end - start) as f64 / 1e9 * ufac * 1.05;
    let mut chart = ChartBuilder::on(root)
        .caption(
            flow_title(
                ctx,
                "round-trip time samples (data → ACK)",
                "往返时间样本（数据 → ACK）",
            ),
            (fam, 26),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(draw_err)?;
    let x_desc = match (t.lang, uname) {
        (Lang::En, u) => format!("time the data was sent ({u})"),
        (Lang::Zh, "ms") => "数据发送时间（毫秒）".to_string(),
        (Lang::Zh, _) => "数据发送时间（秒）".to_string(),
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(t.pick("RTT (ms)", "往返时间（毫秒）"))
        .label_style((fam, 15))
        .axis_desc_style((fam, 17))
        .light_line_style(style::LIGHT.mix(0.5))
        .draw()
        .map_err(draw_err)?;
    let rel = |ts: u64| ts.saturating_sub(start) as f64 / 1e9 * ufac;
    draw_samples(&mut chart, t, &samples, &rel)?;
    draw_estimates(&mut chart, t, &lines, &rel)?;
    if let Some(hs) = ctx
        .summary
        .and_then(|s| s.tcp.as_ref())
        .and_then(|t| t.rtt_ms.handshake)
    {
        let label = match t.lang {
            Lang::En => format!("handshake RTT {hs:.3} ms"),
            Lang::Zh => format!("握手往返时间 {hs:.3} 毫秒"),
        };
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, hs), (x_max, hs)],
                ShapeStyle::from(&style::GREY).stroke_width(1),
            ))
            .map_err(draw_err)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style::GREY));
    }
    ctx.shade_folded_and_legend(&mut chart, rel, y_max, SeriesLabelPosition::UpperRight, fam)
}

/// EstimatedRTT (solid) and the textbook RTO = EstimatedRTT + 4·DevRTT (dashed)
/// over each direction's samples; no legend entry for a direction without any.
fn draw_estimates<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart<'c, DB>,
    t: super::text::Text,
    lines: &[Vec<EstimatePoint>; 2],
    rel: &dyn Fn(u64) -> f64,
) -> Result<(), ChartError> {
    for (dir, color) in [(0, style::CLIENT), (1, style::SERVER)] {
        let points = &lines[dir];
        if points.is_empty() {
            continue;
        }
        let who = if dir == 0 {
            t.pick("client's data", "客户端数据")
        } else {
            t.pick("server's data", "服务器数据")
        };
        let est: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (rel(p.sent_ns), p.estimated_ms))
            .collect();
        let rto: Vec<(f64, f64)> = points.iter().map(|p| (rel(p.sent_ns), p.rto_ms)).collect();
        let solid = ShapeStyle::from(&color).stroke_width(2);
        chart
            .draw_series(LineSeries::new(est, solid))
            .map_err(draw_err)?
            .label(format!("EstimatedRTT ({who}, α = 1/8)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], solid));
        let thin = ShapeStyle::from(&color.mix(0.8)).stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new(rto, 6, 4, thin))
            .map_err(draw_err)?
            .label(format!(
                "RTO = EstimatedRTT + 4·DevRTT ({who}{})",
                t.pick(", β = 1/4", "，β = 1/4")
            ))
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], thin)
                    + PathElement::new(vec![(12, 0), (20, 0)], thin)
            });
    }
    Ok(())
}

/// Each direction's samples as dots, counted in the legend.
fn draw_samples<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    t: super::text::Text,
    samples: &[Vec<RttSample>; 2],
    rel: &dyn Fn(u64) -> f64,
) -> Result<(), ChartError> {
    let ms = |ns: u64| ns as f64 / 1e6;
    let sets = [
        (
            0,
            style::CLIENT,
            t.pick(
                "client's data, ACKed by the server",
                "客户端数据（服务器确认）",
            ),
        ),
        (
            1,
            style::SERVER,
            t.pick(
                "server's data, ACKed by the client",
                "服务器数据（客户端确认）",
            ),
        ),
    ];
    for (dir, color, label) in sets {
        let n = samples[dir].len();
        let label = format!("{label}: {n}");
        chart
            .draw_series(
                samples[dir]
                    .iter()
                    .map(|s| Circle::new((rel(s.sent_ns), ms(s.rtt_ns)), 4, color.filled())),
            )
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
    }
    Ok(())
}
