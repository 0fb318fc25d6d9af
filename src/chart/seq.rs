//! The Stevens / tcptrace sequence graph of one direction (client → server):
//! each segment a vertical bar from its first to its last sequence number at the
//! time it was captured, the peer's ACK line under it and the receive window above.

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::coord::types::RangedCoordf64;

use super::text::Text;
use super::{draw_err, style, ChartError, Ctx, FrameRecord};
use crate::analyze::{FlowSummary, Role};

/// What the graph shows, times in seconds since `start` (or ms, after [`Series::in_unit`]).
struct Series {
    /// (time, seq, seq_end, retransmitted) per client segment.
    bars: Vec<(f64, f64, f64, bool)>,
    /// The server's ACK line.
    acks: Vec<(f64, f64)>,
    /// ACK + receive window.
    wins: Vec<(f64, f64)>,
}

impl Series {
    fn of(ctx: &Ctx, secs: impl Fn(u64) -> f64) -> Series {
        let dir = Role::Client;
        let peer_scale = peer_window_scale(ctx);
        let mut out = Series {
            bars: Vec::new(),
            acks: Vec::new(),
            wins: Vec::new(),
        };
        for r in ctx.frames {
            let (Some(tcp), Some(who)) = (r.packet.tcp(), r.analysis.sender) else {
                continue;
            };
            let x = secs(r.packet.ts_ns);
            if who == dir {
                let seq = f64::from(r.analysis.rel_seq.unwrap_or(0));
                let len = f64::from(tcp.len)
                    + f64::from(u8::from(tcp.flags.syn()) + u8::from(tcp.flags.fin()));
                out.bars
                    .push((x, seq, seq + len, r.analysis.flags.is_retransmission()));
            } else if tcp.flags.ack() {
                let ack = f64::from(r.analysis.rel_ack.unwrap_or(0));
                // The SYN-ACK's window is never scaled.
                let scale = if tcp.flags.syn() { 0 } else { peer_scale };
                out.acks.push((x, ack));
                out.wins
                    .push((x, ack + f64::from(u32::from(tcp.window) << scale)));
            }
        }
        out
    }

    /// The latest time drawn.
    fn span(&self) -> f64 {
        self.bars
            .iter()
            .map(|b| b.0)
            .chain(self.acks.iter().map(|a| a.0))
            .fold(0.0, f64::max)
    }

    /// Times in ms for short connections, so the axis reads 1.5 rather than 0.0015:
    /// the unit's name and the factor applied.
    fn in_unit(&mut self) -> (&'static str, f64) {
        let (unit, scale_x) = if self.span() < 2.0 {
            ("ms", 1e3)
        } else {
            ("s", 1.0)
        };
        for b in &mut self.bars {
            b.0 *= scale_x;
        }
        for p in self.acks.iter_mut().chain(self.wins.iter_mut()) {
            p.0 *= scale_x;
        }
        (unit, scale_x)
    }
}

/// The server's window scale, applied to its windows: only when both SYNs carried
/// the option (RFC 7323).
fn peer_window_scale(ctx: &Ctx) -> u8 {
    let mut wscale: [Option<u8>; 2] = [None, None];
    for r in ctx.frames {
        if let (Some(tcp), Some(who)) = (r.packet.tcp(), r.analysis.sender) {
            if tcp.flags.syn() {
                wscale[usize::from(who == Role::Server)] = tcp.options.wscale;
            }
        }
    }
    match wscale {
        [Some(_), Some(p)] => p.min(14),
        _ => 0,
    }
}

/// The directions of a connection that carried data, client's first: the ones its
/// sequence graph plots. Empty when neither did (a refused SYN), and then there is
/// no graph ([`ChartError::NoData`]); the report says so in the graph's place.
pub fn data_directions(summary: &FlowSummary, frames: &[FrameRecord]) -> Vec<Role> {
    [Role::Client, Role::Server]
        .into_iter()
        .filter(|&who| {
            let counted = match who {
                Role::Client => summary.bytes.client,
                Role::Server => summary.bytes.server,
            };
            // The kept frames too: a capture joined mid-stream may count no new bytes.
            counted > 0
                || frames.iter().any(|r| {
                    r.analysis.sender == Some(who) && r.packet.tcp().is_some_and(|t| t.len > 0)
                })
        })
        .collect()
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let Some(s) = ctx.summary else {
        return Err(ChartError::NoFlows);
    };
    if data_directions(s, ctx.frames).is_empty() {
        return Err(ChartError::NoData(s.flow));
    }
    let start = ctx.frames.first().map_or(s.first_ts.0, |r| r.packet.ts_ns);
    let secs = |ts: u64| ts.saturating_sub(start) as f64 / 1e9;
    let mut series = Series::of(ctx, secs);
    let (unit, scale_x) = series.in_unit();
    let x_max = series.span().max(1e-6) * 1.05;
    let data_max = series
        .bars
        .iter()
        .map(|b| b.2)
        .chain(series.acks.iter().map(|a| a.1))
        .fold(1.0, f64::max);
    let win_max = series.wins.iter().map(|w| w.1).fold(0.0, f64::max);
    // A window far above the data would squash it: let the window line leave the top.
    let y_max = win_max.min(data_max * 3.0).max(data_max) * 1.05;

    let title = format!(
        "{} {} — {} ({} → {})",
        t.pick("TCP connection", "TCP 连接"),
        s.flow,
        t.pick("sequence numbers over time", "序号—时间图"),
        s.client,
        s.server
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, (fam, 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(match (unit, t.lang) {
            ("ms", super::Lang::En) => "time since first segment (ms)".to_string(),
            ("ms", super::Lang::Zh) => "自第一个段起的时间（毫秒）".to_string(),
            (_, super::Lang::En) => "time since first segment (s)".to_string(),
            (_, super::Lang::Zh) => "自第一个段起的时间（秒）".to_string(),
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc(t.pick("relative sequence number (bytes)", "相对序号（字节）"))
        .label_style((fam, 15))
        .axis_desc_style((fam, 17))
        .light_line_style(style::LIGHT.mix(0.5))
        .draw()
        .map_err(draw_err)?;
    draw_window(&mut chart, t, &series.wins, (win_max, y_max))?;
    draw_acks_and_segments(&mut chart, t, &series)?;
    ctx.shade_folded_and_legend(
        &mut chart,
        |ts| secs(ts) * scale_x,
        y_max,
        SeriesLabelPosition::UpperLeft,
        fam,
    )
}

/// The receive window line, or, far above the data, a legend entry saying where it is.
fn draw_window<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    t: Text,
    wins: &[(f64, f64)],
    (win_max, y_max): (f64, f64),
) -> Result<(), ChartError> {
    if win_max <= y_max {
        chart
            .draw_series(LineSeries::new(
                step(wins),
                ShapeStyle::from(&style::SERVER).stroke_width(1),
            ))
            .map_err(draw_err)?
            .label(t.pick("receive window (ack + window)", "接收窗口（ack + 窗口）"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style::SERVER));
    } else {
        // Far above the data: say where it is instead of squashing the graph.
        let note = match t.lang {
            super::Lang::En => format!("receive window: above the top (up to {win_max:.0})"),
            super::Lang::Zh => format!("接收窗口：超出顶部（最大 {win_max:.0}）"),
        };
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(draw_err)?
            .label(note)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style::SERVER));
    }
    Ok(())
}

/// The ACK line, then the segments as bars (retransmissions crossed, in red).
fn draw_acks_and_segments<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    t: Text,
    series: &Series,
) -> Result<(), ChartError> {
    let bars = &series.bars;
    chart
        .draw_series(LineSeries::new(
            step(&series.acks),
            ShapeStyle::from(&style::DUP_ACK).stroke_width(2),
        ))
        .map_err(draw_err)?
        .label(t.pick("ACK from the server", "服务器的 ACK"))
        .legend(|(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], style::DUP_ACK.stroke_width(2))
        });
    let seg_style = |re: bool| {
        ShapeStyle::from(if re { &style::RETRANS } else { &style::CLIENT }).stroke_width(2)
    };
    chart
        .draw_series(
            bars.iter()
                .filter(|b| !b.3)
                .map(|&(x, a, b, re)| PathElement::new(vec![(x, a), (x, b)], seg_style(re))),
        )
        .map_err(draw_err)?
        .label(t.pick("segment (seq … seq+len)", "段（seq … seq+len）"))
        .legend(|(x, y)| {
            PathElement::new(
                vec![(x + 10, y - 6), (x + 10, y + 6)],
                style::CLIENT.stroke_width(2),
            )
        });
    chart
        .draw_series(
            bars.iter()
                .filter(|b| b.3)
                .map(|&(x, _, b, re)| Cross::new((x, b), 5, seg_style(re))),
        )
        .map_err(draw_err)?
        .label(t.pick("retransmission", "重传"))
        .legend(|(x, y)| Cross::new((x + 10, y), 5, style::RETRANS.stroke_width(2)));
    chart
        .draw_series(
            bars.iter()
                .filter(|b| b.3)
                .map(|&(x, a, b, re)| PathElement::new(vec![(x, a), (x, b)], seg_style(re))),
        )
        .map_err(draw_err)?;
    Ok(())
}

/// A step line: each value holds until the next one.
fn step(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 {
            out.push((x, points[i - 1].1));
        }
        out.push((x, y));
    }
    out
}
