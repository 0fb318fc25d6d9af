//! The Stevens / tcptrace sequence graph of each direction that carried data:
//! each segment a vertical bar from its first to its last sequence number at the
//! time it was captured, the receiver's ACK line under it and its receive window
//! above. When both sides sent data (a half-close: the request, then the reply
//! after the client's FIN) each direction gets a panel of its own over the same
//! times. Everything is drawn in its sender's colour: the segments in one, the
//! ACK and window lines in the other. SACK blocks the receiver reported are drawn
//! as Wireshark's tcptrace graph draws them: a short vertical bar at the ACK's
//! time from each block's left edge to its right edge, above the ACK line.

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::coord::types::RangedCoordf64;

use super::text::Text;
use super::{draw_err, style, ChartError, Ctx, FrameRecord, Lang};
use crate::analyze::{FlowSummary, Role};

/// One direction's part of the graph, times in seconds since the first segment (or
/// ms, after [`Series::in_unit`]).
struct Direction {
    /// Who sent the segments.
    sender: Role,
    /// (time, seq, seq_end, retransmitted) per segment.
    bars: Vec<(f64, f64, f64, bool)>,
    /// The receiver's ACK line.
    acks: Vec<(f64, f64)>,
    /// ACK + the receiver's window.
    wins: Vec<(f64, f64)>,
    /// (time, left, right) of each SACK block the receiver sent, relative.
    sacks: Vec<(f64, f64, f64)>,
}

impl Direction {
    fn of(ctx: &Ctx, sender: Role, secs: impl Fn(u64) -> f64) -> Direction {
        let scale = window_scale(ctx, sender.peer());
        let mut out = Direction {
            sender,
            bars: Vec::new(),
            acks: Vec::new(),
            wins: Vec::new(),
            sacks: Vec::new(),
        };
        for r in ctx.frames {
            let (Some(tcp), Some(who)) = (r.packet.tcp(), r.analysis.sender) else {
                continue;
            };
            let x = secs(r.packet.ts_ns);
            if who == sender {
                let seq = f64::from(r.analysis.rel_seq.unwrap_or(0));
                let len = f64::from(tcp.len)
                    + f64::from(u8::from(tcp.flags.syn()) + u8::from(tcp.flags.fin()));
                out.bars
                    .push((x, seq, seq + len, r.analysis.flags.is_retransmission()));
            } else if tcp.flags.ack() {
                let ack = f64::from(r.analysis.rel_ack.unwrap_or(0));
                // A SYN's window is never scaled.
                let scale = if tcp.flags.syn() { 0 } else { scale };
                out.acks.push((x, ack));
                for (l, r) in crate::output::rel_sack(tcp, &r.analysis).unwrap_or_default() {
                    out.sacks.push((x, f64::from(l), f64::from(r)));
                }
                out.wins
                    .push((x, ack + f64::from(u32::from(tcp.window) << scale)));
            }
        }
        out
    }

    /// The highest sequence number or ACK drawn.
    fn data_max(&self) -> f64 {
        self.bars
            .iter()
            .map(|b| b.2)
            .chain(self.acks.iter().map(|a| a.1))
            .fold(0.0, f64::max)
    }

    fn win_max(&self) -> f64 {
        self.wins.iter().map(|w| w.1).fold(0.0, f64::max)
    }
}

/// What the graph shows: the directions that carried data, the client's first.
struct Series {
    dirs: Vec<Direction>,
}

impl Series {
    fn of(ctx: &Ctx, senders: &[Role], secs: impl Fn(u64) -> f64 + Copy) -> Series {
        Series {
            dirs: senders
                .iter()
                .map(|&who| Direction::of(ctx, who, secs))
                .collect(),
        }
    }

    /// The latest time drawn.
    fn span(&self) -> f64 {
        self.dirs
            .iter()
            .flat_map(|d| d.bars.iter().map(|b| b.0).chain(d.acks.iter().map(|a| a.0)))
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
        for d in &mut self.dirs {
            for b in &mut d.bars {
                b.0 *= scale_x;
            }
            for p in d.acks.iter_mut().chain(d.wins.iter_mut()) {
                p.0 *= scale_x;
            }
            for s in &mut d.sacks {
                s.0 *= scale_x;
            }
        }
        (unit, scale_x)
    }
}

/// The window scale `of` applies to the windows it advertises: only when both SYNs
/// carried the option (RFC 7323).
pub(crate) fn window_scale(ctx: &Ctx, of: Role) -> u8 {
    let mut wscale: [Option<u8>; 2] = [None, None];
    for r in ctx.frames {
        if let (Some(tcp), Some(who)) = (r.packet.tcp(), r.analysis.sender) {
            if tcp.flags.syn() {
                wscale[usize::from(who == Role::Server)] = tcp.options.wscale;
            }
        }
    }
    match (wscale, of) {
        ([Some(c), Some(_)], Role::Client) => c.min(14),
        ([Some(_), Some(s)], Role::Server) => s.min(14),
        _ => 0,
    }
}

/// The colour of what `who` sent: its segments, or its ACK and window lines.
fn colour(who: Role) -> RGBColor {
    match who {
        Role::Client => style::CLIENT,
        Role::Server => style::SERVER,
    }
}

/// The legend's words for one direction.
struct Labels {
    segments: &'static str,
    acks: &'static str,
    window: &'static str,
    /// The window's legend entry when it is above the top (followed by the maximum).
    window_above: &'static str,
}

fn labels(t: Text, sender: Role) -> Labels {
    match sender {
        Role::Client => Labels {
            segments: t.pick(
                "client → server segment (seq … seq+len)",
                "客户端 → 服务器的段（seq … seq+len）",
            ),
            acks: t.pick("ACK from the server", "服务器的 ACK"),
            window: t.pick(
                "server's receive window (ack + window)",
                "服务器的接收窗口（ack + 窗口）",
            ),
            window_above: t.pick(
                "server's receive window: above the top (up to",
                "服务器的接收窗口：超出顶部（最大",
            ),
        },
        Role::Server => Labels {
            segments: t.pick(
                "server → client segment (seq … seq+len)",
                "服务器 → 客户端的段（seq … seq+len）",
            ),
            acks: t.pick("ACK from the client", "客户端的 ACK"),
            window: t.pick(
                "client's receive window (ack + window)",
                "客户端的接收窗口（ack + 窗口）",
            ),
            window_above: t.pick(
                "client's receive window: above the top (up to",
                "客户端的接收窗口：超出顶部（最大",
            ),
        },
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
    let senders = data_directions(s, ctx.frames);
    if senders.is_empty() {
        return Err(ChartError::NoData(s.flow));
    }
    let start = ctx.frames.first().map_or(s.first_ts.0, |r| r.packet.ts_ns);
    let secs = |ts: u64| ts.saturating_sub(start) as f64 / 1e9;
    let mut series = Series::of(ctx, &senders, secs);
    let (unit, scale_x) = series.in_unit();
    let x = Axis {
        max: series.span().max(1e-6) * 1.05,
        desc: match (unit, t.lang) {
            ("ms", Lang::En) => "time since first segment (ms)",
            ("ms", Lang::Zh) => "自第一个段起的时间（毫秒）",
            (_, Lang::En) => "time since first segment (s)",
            (_, Lang::Zh) => "自第一个段起的时间（秒）",
        },
        scale: scale_x,
    };

    let (from, to) = match senders.as_slice() {
        [Role::Server] => (s.server, s.client),
        _ => (s.client, s.server),
    };
    let arrow = if senders.len() == 2 { "⇄" } else { "→" };
    let title = format!(
        "{} {} — {} ({from} {arrow} {to})",
        t.pick("TCP connection", "TCP 连接"),
        s.flow,
        t.pick("sequence numbers over time", "序号—时间图"),
    );
    let area = root
        .margin(10, 0, 0, 0)
        .titled(&title, (fam, 26))
        .map_err(draw_err)?;
    // Both directions: one panel each, over the same times, so a 10-byte request
    // is as readable as the 3500-byte reply that follows it.
    let panels = area.split_evenly((series.dirs.len(), 1));
    let both = series.dirs.len() == 2;
    for (panel, d) in panels.iter().zip(&series.dirs) {
        let caption = both.then(|| {
            let (dir, bytes) = match d.sender {
                Role::Client => (t.pick("client → server", "客户端 → 服务器"), s.bytes.client),
                Role::Server => (t.pick("server → client", "服务器 → 客户端"), s.bytes.server),
            };
            format!("{dir}: {bytes} {}", t.pick("bytes", "字节"))
        });
        draw_panel(panel, ctx, d, &x, caption, secs)?;
    }
    Ok(())
}

/// The time axis every panel shares.
struct Axis {
    max: f64,
    desc: &'static str,
    /// Seconds to the axis's unit.
    scale: f64,
}

/// Space around a panel and under it for the time axis, in pixels.
const MARGIN: u32 = 20;
const X_LABELS: u32 = 50;

/// One direction's graph on `area`, its own sequence-number axis and legend.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    d: &Direction,
    x: &Axis,
    caption: Option<String>,
    secs: impl Fn(u64) -> f64,
) -> Result<(), ChartError> {
    let (t, fam) = (ctx.t, ctx.t.family());
    let area = match caption {
        Some(c) => area
            .margin(8, 0, 0, 0)
            .titled(&c, (fam, 18))
            .map_err(draw_err)?,
        None => area.clone(),
    };
    let data_max = d.data_max().max(1.0);
    let win_max = d.win_max();
    // A window far above the data would squash it: then it is left out and the
    // legend says where it is.
    let top = if win_max <= data_max * 3.0 {
        win_max.max(data_max)
    } else {
        data_max
    };
    // Room above the lines for the legend in the upper left, which would hide
    // an early burst of segments: the lines stay below it.
    let plot_h = f64::from(area.dim_in_pixel().1) - f64::from(2 * MARGIN + X_LABELS);
    let entries = 4 + u8::from(ctx.folded_span().is_some()) + u8::from(!d.sacks.is_empty());
    let legend_h = f64::from(entries) * 20.0 + 20.0;
    let room = ((plot_h - legend_h) / plot_h).max(1.0 / 3.0);
    let y_max = top * 1.05 / room;
    let mut chart = ChartBuilder::on(&area)
        .margin(MARGIN)
        .x_label_area_size(X_LABELS)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..x.max, 0f64..y_max)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x.desc)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc(t.pick("relative sequence number (bytes)", "相对序号（字节）"))
        .label_style((fam, 15))
        .axis_desc_style((fam, 17))
        .light_line_style(style::LIGHT.mix(0.5))
        .draw()
        .map_err(draw_err)?;
    draw_window(&mut chart, t, d, y_max)?;
    draw_acks_and_segments(&mut chart, t, d)?;
    draw_retransmissions(&mut chart, t, d)?;
    draw_sacks(&mut chart, t, d)?;
    ctx.shade_folded_and_legend(
        &mut chart,
        |ts| secs(ts) * x.scale,
        y_max,
        SeriesLabelPosition::UpperLeft,
        fam,
    )
}

/// The receiver's window line (dashed, in the receiver's colour), or, far above the
/// data, a legend entry saying where it is.
fn draw_window<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart<'c, DB>,
    t: Text,
    d: &Direction,
    y_max: f64,
) -> Result<(), ChartError> {
    let c = colour(d.sender.peer());
    let words = labels(t, d.sender);
    let win_max = d.win_max();
    if win_max <= y_max {
        chart
            .draw_series(DashedLineSeries::new(
                step(&d.wins),
                6,
                4,
                ShapeStyle::from(&c).stroke_width(1),
            ))
            .map_err(draw_err)?
            .label(words.window)
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], c)
                    + PathElement::new(vec![(12, 0), (20, 0)], c)
            });
    } else {
        // Far above the data: say where it is instead of squashing the graph.
        let close = t.pick(")", "）");
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(draw_err)?
            .label(format!("{} {win_max:.0}{close}", words.window_above))
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], c)
                    + PathElement::new(vec![(12, 0), (20, 0)], c)
            });
    }
    Ok(())
}

/// The receiver's ACK line, then the sender's segments as bars (retransmissions
/// are drawn over them, by [`draw_retransmissions`]).
fn draw_acks_and_segments<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    t: Text,
    d: &Direction,
) -> Result<(), ChartError> {
    let words = labels(t, d.sender);
    let (seg, ack) = (colour(d.sender), colour(d.sender.peer()));
    chart
        .draw_series(LineSeries::new(
            step(&d.acks),
            ShapeStyle::from(&ack).stroke_width(2),
        ))
        .map_err(draw_err)?
        .label(words.acks)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ack.stroke_width(2)));
    chart
        .draw_series(
            d.bars
                .iter()
                .filter(|b| !b.3)
                .map(|&(x, a, b, _)| PathElement::new(vec![(x, a), (x, b)], seg.stroke_width(2))),
        )
        .map_err(draw_err)?
        .label(words.segments)
        .legend(move |(x, y)| {
            PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], seg.stroke_width(2))
        });
    Ok(())
}

/// Retransmitted segments: red bars, crossed at their end.
fn draw_retransmissions<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    t: Text,
    d: &Direction,
) -> Result<(), ChartError> {
    let re = ShapeStyle::from(&style::RETRANS).stroke_width(2);
    let bars = || d.bars.iter().filter(|b| b.3);
    chart
        .draw_series(bars().map(|&(x, _, b, _)| Cross::new((x, b), 5, re)))
        .map_err(draw_err)?
        .label(t.pick("retransmission", "重传"))
        .legend(|(x, y)| Cross::new((x + 10, y), 5, style::RETRANS.stroke_width(2)));
    chart
        .draw_series(bars().map(|&(x, a, b, _)| PathElement::new(vec![(x, a), (x, b)], re)))
        .map_err(draw_err)?;
    Ok(())
}

/// The receiver's SACK blocks: bars at the ACK's time over the bytes each block
/// reports received (none drawn, and no legend entry, without SACK).
fn draw_sacks<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    t: Text,
    d: &Direction,
) -> Result<(), ChartError> {
    if d.sacks.is_empty() {
        return Ok(());
    }
    let c = ShapeStyle::from(&style::SACK).stroke_width(3);
    chart
        .draw_series(
            d.sacks
                .iter()
                .map(|&(x, l, r)| PathElement::new(vec![(x, l), (x, r)], c)),
        )
        .map_err(draw_err)?
        .label(t.pick(
            "SACK block (received out of order)",
            "SACK 块（乱序收到的数据）",
        ))
        .legend(move |(x, y)| PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], c));
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
