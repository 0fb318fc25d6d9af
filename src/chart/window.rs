//! The window chart of one sending direction: its bytes in flight per data
//! segment (Wireshark's `tcp.analysis.bytes_in_flight`, as `inspect` gives it), the
//! receive window its peer advertised (scaled), and the congestion-control phases
//! `flows` inferred from the packets, shaded behind them.
//!
//! The packets cannot show the congestion window itself. A live run can: the
//! kernel's `tcp_probe` gives `snd_cwnd` and `ssthresh`, and a caller that has them
//! passes them in [`ChartOptions::kernel_window`](super::ChartOptions), drawn as two
//! more lines over the same times (nothing is drawn when there are none). Its
//! congestion states (`tcp_cong_state_set`: Open, Disorder, Recovery, Loss) come
//! in [`ChartOptions::kernel_states`](super::ChartOptions), drawn as a strip along
//! the top, so the kernel's Recovery sits right above the packets' guess of it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::seq::window_scale;
use super::{draw_err, style, ChartError, Ctx, Lang};
use crate::analyze::phases::Phase;
use crate::analyze::Role;
use crate::model::tcp_dynamics::CongState;

/// Height of the kernel's state strip, pixels.
const STRIP_PX: u32 = 18;

/// The kernel's view of one socket's sending window at one time (`tcp_probe`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelWindow {
    pub ts_ns: u64,
    /// The congestion window, in bytes (segments × MSS).
    pub cwnd_bytes: f64,
    /// The slow-start threshold, in bytes; `None` while it is still "infinite".
    pub ssthresh_bytes: Option<f64>,
}

/// The phase's background colour.
fn shade(p: Phase) -> RGBColor {
    match p {
        Phase::SlowStart => RGBColor(227, 238, 250),
        Phase::CongestionAvoidance => RGBColor(229, 244, 230),
        Phase::Recovery => RGBColor(252, 228, 228),
    }
}

/// The kernel state's colour in the strip: stronger than the phases' shades,
/// the same hue for the same meaning (red: repairing a loss).
fn state_colour(s: CongState) -> RGBColor {
    match s {
        CongState::Open => RGBColor(150, 200, 150),
        CongState::Disorder => RGBColor(240, 200, 90),
        CongState::Cwr => RGBColor(240, 150, 70),
        CongState::Recovery => RGBColor(220, 90, 90),
        CongState::Loss => RGBColor(130, 20, 20),
    }
}

/// The direction drawn: the one that sent more payload (the client on a tie).
fn sender(ctx: &Ctx) -> Result<Role, ChartError> {
    let Some(s) = ctx.summary else {
        return Err(ChartError::NoFlows);
    };
    let dirs = super::data_directions(s, ctx.frames);
    match dirs.as_slice() {
        [] => Err(ChartError::NoData(s.flow)),
        [one] => Ok(*one),
        _ if s.bytes.server > s.bytes.client => Ok(Role::Server),
        _ => Ok(Role::Client),
    }
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let who = sender(ctx)?;
    let (start, end) = ctx.time_span();
    let span_s = (end - start) as f64 / 1e9;
    let (unit, factor) = if span_s < 2.0 {
        ("ms", 1e3)
    } else {
        ("s", 1.0)
    };
    let x = |ts: u64| ts.saturating_sub(start) as f64 / 1e9 * factor;
    let scale = window_scale(ctx, who.peer());
    let mut flight = Vec::new();
    let mut rwnd = Vec::new();
    for r in ctx.frames {
        let (Some(tcp), Some(from)) = (r.packet.tcp(), r.analysis.sender) else {
            continue;
        };
        if from == who {
            if let Some(b) = r.analysis.bytes_in_flight {
                flight.push((x(r.packet.ts_ns), f64::from(b)));
            }
        } else if !tcp.flags.rst() {
            let shift = if tcp.flags.syn() { 0 } else { scale };
            rwnd.push((x(r.packet.ts_ns), f64::from(u32::from(tcp.window) << shift)));
        }
    }
    let kernel = ctx.opts.kernel_window;
    let flight_max = flight
        .iter()
        .map(|p| p.1)
        .chain(kernel.iter().map(|k| k.cwnd_bytes))
        .fold(1.0, f64::max);
    let rwnd_max = rwnd.iter().map(|p| p.1).fold(0.0, f64::max);
    // A window far above the flight would flatten it: then the legend says where.
    let rwnd_shown = rwnd_max <= flight_max * 3.0;
    let y_max = if rwnd_shown {
        rwnd_max.max(flight_max)
    } else {
        flight_max
    } * 1.35;
    let x_max = x(end).max(1e-6) * 1.05;

    let s = ctx.summary.ok_or(ChartError::NoFlows)?;
    let (from, to) = match who {
        Role::Client => (s.client, s.server),
        Role::Server => (s.server, s.client),
    };
    let title = format!(
        "{} {} — {} ({from} → {to})",
        t.pick("TCP connection", "TCP 连接"),
        s.flow,
        t.pick("bytes in flight and windows", "在途字节与窗口"),
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, (fam, 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(draw_err)?;
    let x_desc = match (t.lang, unit) {
        (Lang::En, "ms") => "time (ms)",
        (Lang::En, _) => "time (s)",
        (Lang::Zh, "ms") => "时间（毫秒）",
        (Lang::Zh, _) => "时间（秒）",
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(t.pick("bytes", "字节"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((fam, 15))
        .axis_desc_style((fam, 17))
        .light_line_style(style::LIGHT.mix(0.5))
        .draw()
        .map_err(draw_err)?;

    // The phases first, behind everything, one legend entry per phase seen.
    let changes = s
        .tcp
        .as_ref()
        .and_then(|tcp| tcp.phases.get(who == Role::Client))
        .cloned()
        .unwrap_or_default();
    let mut seen: Vec<Phase> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let until = changes.get(i + 1).map_or(end, |n| n.ts.0);
        let band = Rectangle::new(
            [(x(c.ts.0), 0.0), (x(until), y_max)],
            shade(c.phase).filled(),
        );
        let series = chart.draw_series(std::iter::once(band)).map_err(draw_err)?;
        if !seen.contains(&c.phase) {
            seen.push(c.phase);
            let color = shade(c.phase);
            let name = match t.lang {
                Lang::En => c.phase.name(),
                Lang::Zh => c.phase.name_zh(),
            };
            series
                .label(format!("{} {name}", t.pick("phase:", "阶段：")))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 20, y + 6)], color.filled())
                });
        }
    }

    let peer = match who {
        Role::Client => style::SERVER,
        Role::Server => style::CLIENT,
    };
    let rwnd_label = match who {
        Role::Client => t.pick("server's receive window", "服务器的接收窗口"),
        Role::Server => t.pick("client's receive window", "客户端的接收窗口"),
    };
    let dashed = ShapeStyle::from(&peer).stroke_width(1);
    if rwnd_shown && !rwnd.is_empty() {
        chart
            .draw_series(DashedLineSeries::new(
                step(&rwnd, Some(x_max)),
                6,
                4,
                dashed,
            ))
            .map_err(draw_err)?
            .label(rwnd_label)
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], dashed)
                    + PathElement::new(vec![(12, 0), (20, 0)], dashed)
            });
    } else if !rwnd.is_empty() {
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(draw_err)?
            .label(format!(
                "{rwnd_label}{} {rwnd_max:.0}{}",
                t.pick(": above the top (up to", "：高于图顶（最高"),
                t.pick(")", "）")
            ))
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], dashed)
                    + PathElement::new(vec![(12, 0), (20, 0)], dashed)
            });
    }

    let own = match who {
        Role::Client => style::CLIENT,
        Role::Server => style::SERVER,
    };
    let line = ShapeStyle::from(&own).stroke_width(2);
    chart
        .draw_series(LineSeries::new(flight.iter().copied(), line))
        .map_err(draw_err)?
        .label(t.pick(
            "bytes in flight (from the packets)",
            "在途字节（由分组得出）",
        ))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line));
    chart
        .draw_series(flight.iter().map(|&p| Circle::new(p, 3, own.filled())))
        .map_err(draw_err)?;

    // The hook for the kernel's own numbers (a live run's tcp_probe).
    if !kernel.is_empty() {
        let cwnd: Vec<(f64, f64)> = kernel.iter().map(|k| (x(k.ts_ns), k.cwnd_bytes)).collect();
        let ink = ShapeStyle::from(&style::INK).stroke_width(2);
        chart
            .draw_series(LineSeries::new(step(&cwnd, None), ink))
            .map_err(draw_err)?
            .label(t.pick("kernel's cwnd (tcp_probe)", "内核的 cwnd（tcp_probe）"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ink));
        let ss: Vec<(f64, f64)> = kernel
            .iter()
            .filter_map(|k| Some((x(k.ts_ns), k.ssthresh_bytes?.min(y_max))))
            .collect();
        if !ss.is_empty() {
            let grey = ShapeStyle::from(&style::GREY).stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(step(&ss, None), 8, 4, grey))
                .map_err(draw_err)?
                .label(t.pick("kernel's ssthresh", "内核的 ssthresh"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
        }
    }
    // The kernel's states last, on top: a strip along the top edge, the legend
    // below it.
    let states = ctx.opts.kernel_states;
    let legend_at = if states.is_empty() {
        SeriesLabelPosition::UpperLeft
    } else {
        let (_, h) = chart.plotting_area().dim_in_pixel();
        let bottom = y_max * (1.0 - f64::from(STRIP_PX) / f64::from(h.max(STRIP_PX)));
        let mut named: Vec<CongState> = Vec::new();
        for (i, c) in states.iter().enumerate() {
            // A state holds until the next change; the last to the capture's end.
            let until = states.get(i + 1).map_or(end, |n| n.ts_ns);
            let colour = state_colour(c.state);
            let series = chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x(c.ts_ns), bottom), (x(until.max(c.ts_ns)), y_max)],
                    colour.filled(),
                )))
                .map_err(draw_err)?;
            if !named.contains(&c.state) {
                named.push(c.state);
                series
                    .label(format!(
                        "{} {}",
                        t.pick(
                            "kernel's state (tcp_cong_state_set, top strip):",
                            "内核的拥塞状态（tcp_cong_state_set，顶部色带）："
                        ),
                        c.state.name()
                    ))
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 6), (x + 20, y + 6)], colour.filled())
                    });
            }
        }
        SeriesLabelPosition::Coordinate(5, STRIP_PX as i32 + 6)
    };
    ctx.shade_folded_and_legend(&mut chart, x, y_max, legend_at, fam)
}

/// A step line (each value holds until the next), held to `x_end` when given.
/// The kernel's lines stop at their last sample: `tcp_probe` fires only while the
/// socket is ESTABLISHED, so after the sender's close() its window is unknown.
fn step(points: &[(f64, f64)], x_end: Option<f64>) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 {
            out.push((x, points[i - 1].1));
        }
        out.push((x, y));
    }
    if let (Some(&(_, y)), Some(x_end)) = (points.last(), x_end) {
        out.push((x_end, y));
    }
    out
}
