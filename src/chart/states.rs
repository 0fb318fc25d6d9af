//! The state timeline: one swimlane per endpoint, a coloured band per state,
//! time running down as in the ladder diagram; the kernel's own states, when a live
//! run recorded them, as a thin band beside each inferred one.
//!
//! Rows are evenly spaced per transition (not to scale) and labelled with their
//! real times, so a 40 µs SYN_RECEIVED is as visible as a 2 s ESTABLISHED.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::text::Text;
use super::{draw_err, style, ChartError, Ctx};
use crate::analyze::{TcpState, TcpSummary, TransitionRecord};
use crate::model::kernel::EndpointComparison;

/// The colour of a state's band.
pub fn state_color(s: TcpState) -> RGBColor {
    match s {
        TcpState::Closed => RGBColor(189, 189, 189),
        TcpState::Listen => RGBColor(207, 216, 220),
        TcpState::SynSent => RGBColor(255, 224, 130),
        TcpState::SynReceived => RGBColor(255, 204, 128),
        TcpState::Established => RGBColor(165, 214, 167),
        TcpState::FinWait1 => RGBColor(144, 202, 249),
        TcpState::FinWait2 => RGBColor(100, 181, 246),
        TcpState::Closing => RGBColor(206, 147, 216),
        TcpState::TimeWait => RGBColor(179, 157, 219),
        TcpState::CloseWait => RGBColor(239, 154, 154),
        TcpState::LastAck => RGBColor(244, 143, 177),
    }
}

/// Where the rows of the timeline are: one row per transition. Transitions of the
/// two endpoints at the same time share a row (the lanes line up in time); two of
/// one endpoint at the same time (FIN_WAIT_2 and TIME_WAIT on one ACK+FIN) get a
/// row each, so no state is drawn over by the next.
struct Rows {
    /// Every event time: start, each transition, end; sorted, distinct.
    times: Vec<u64>,
    /// The first row of each time.
    first_row: Vec<usize>,
    top: i32,
    step: f64,
}

impl Rows {
    /// `lanes`: the times of each endpoint's transitions, in order.
    fn new((start, end): (u64, u64), lanes: [&[u64]; 2], (top, bottom): (i32, i32)) -> Rows {
        let mut times: Vec<u64> = vec![start, end];
        times.extend(lanes.iter().flat_map(|l| l.iter().copied()));
        times.sort_unstable();
        times.dedup();
        let mut first_row = Vec::with_capacity(times.len());
        let mut rows = 0;
        for &ts in &times {
            first_row.push(rows);
            let most = lanes
                .iter()
                .map(|l| l.iter().filter(|&&t| t == ts).count())
                .max()
                .unwrap_or(0);
            rows += most.max(1);
        }
        // Row 0 holds the initial states, the last row the final ones.
        let step = f64::from(bottom - top) / (rows + 1) as f64;
        Rows {
            times,
            first_row,
            top,
            step,
        }
    }

    /// The y of the `k`-th row at time `ts`.
    fn y(&self, ts: u64, k: usize) -> i32 {
        let i = self.times.partition_point(|&x| x < ts);
        let row = self.first_row.get(i).copied().unwrap_or(0) + k + 1;
        self.top + (row as f64 * self.step) as i32
    }

    /// The y of each transition of one lane, from their times in order.
    fn lane(&self, times: &[u64]) -> Vec<i32> {
        let mut out = Vec::with_capacity(times.len());
        for (i, &ts) in times.iter().enumerate() {
            let k = times[..i].iter().filter(|&&e| e == ts).count();
            out.push(self.y(ts, k));
        }
        out
    }
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let Some(s) = ctx.summary else {
        return Err(ChartError::NoFlows);
    };
    let Some(tcp) = s.tcp.as_ref() else {
        return Err(ChartError::NotTcp {
            flow: s.flow,
            proto: s.proto,
            kind: "states",
        });
    };
    let kernel = ctx
        .opts
        .kernel
        .and_then(|k| k.connections.iter().find(|c| c.flow == s.flow));
    draw_title(root, ctx, s.flow, kernel.is_some())?;
    let (top, bottom) = (120, h - 80);
    let start = s.first_ts.0;
    let client_times = times(&tcp.client_transitions);
    let server_times = times(&tcp.server_transitions);
    let span = (start, s.last_ts.0.max(start));
    let rows = Rows::new(span, [&client_times, &server_times], (top, bottom));
    draw_time_axis(root, fam, t, &rows, start, w)?;

    // Each lane: the inferred band, then (live runs) the kernel's band and its labels.
    let per_lane = (w - 140) / 2;
    let lane_w = lane_width(per_lane, kernel.is_some());
    let lanes = [
        (
            format!("{} {}", t.pick("client", "客户端"), s.client),
            &tcp.client_states,
            &tcp.client_transitions,
            &client_times,
            kernel.map(|k| &k.client),
            130,
        ),
        (
            format!("{} {}", t.pick("server", "服务器"), s.server),
            &tcp.server_states,
            &tcp.server_transitions,
            &server_times,
            kernel.map(|k| &k.server),
            130 + per_lane,
        ),
    ];
    for (name, states, transitions, times, kernel, x) in lanes {
        style::text(
            root,
            &name,
            (x + lane_w / 2, top - 30),
            17,
            fam,
            &style::INK,
            (HPos::Center, VPos::Bottom),
        )?;
        let ys = rows.lane(times);
        let lane_at = Lane {
            x,
            top,
            bottom,
            ys: &ys,
        };
        lane(root, fam, states, transitions, &lane_at, lane_w)?;
        if let Some(k) = kernel {
            let kernel_at = Lane {
                x: x + lane_w + 6,
                ..lane_at
            };
            kernel_lane(root, fam, k, transitions, &kernel_at)?;
        }
    }
    draw_legend(root, fam, t, tcp, kernel.is_some(), h)
}

/// The times of a lane's transitions, in order.
fn times(transitions: &[TransitionRecord]) -> Vec<u64> {
    transitions.iter().map(|t| t.ts.0).collect()
}

/// Width of an inferred band: narrower when the kernel's band and labels sit beside it.
fn lane_width(per_lane: i32, kernel: bool) -> i32 {
    if kernel {
        per_lane - 230
    } else {
        (per_lane - 60).min(380)
    }
    .max(100)
}

/// Title and subtitle (the subtitle explains the kernel's band when there is one).
fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    flow: u64,
    kernel: bool,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let title = format!(
        "{} {} — {}",
        t.pick("TCP connection", "TCP 连接"),
        flow,
        t.pick("state timeline", "状态时间线")
    );
    let subtitle = if kernel {
        t.pick(
            "time runs down, one row per transition (not to scale) · thin band: the kernel's states",
            "时间自上而下，每次转换一行（非等比例）· 细条：内核记录的状态",
        )
    } else {
        t.pick(
            "time runs down, one row per transition (not to scale)",
            "时间自上而下，每次转换一行（非等比例）",
        )
    };
    style::title(root, t.family(), &title, subtitle)
}

/// Time labels and guide lines, one per event time.
fn draw_time_axis<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    t: Text,
    rows: &Rows,
    start: u64,
    w: i32,
) -> Result<(), ChartError> {
    for &ts in &rows.times {
        let y = rows.y(ts, 0);
        root.draw(&PathElement::new(
            vec![(110, y), (w - 20, y)],
            ShapeStyle::from(&style::LIGHT).stroke_width(1),
        ))
        .map_err(draw_err)?;
        let secs = ts.saturating_sub(start) as f64 / 1e9;
        style::text(
            root,
            &style::secs(secs),
            (100, y),
            15,
            fam,
            &style::GREY,
            (HPos::Right, VPos::Center),
        )?;
    }
    style::text(
        root,
        t.pick("time", "时间"),
        (100, rows.top - 30),
        15,
        fam,
        &style::GREY,
        (HPos::Right, VPos::Bottom),
    )
}

/// Legend: every state that appears (and the kernel's disagreement colour).
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    t: Text,
    tcp: &TcpSummary,
    kernel: bool,
    h: i32,
) -> Result<(), ChartError> {
    let mut seen: Vec<TcpState> = Vec::new();
    for st in tcp.client_states.iter().chain(&tcp.server_states) {
        if !seen.contains(st) {
            seen.push(*st);
        }
    }
    let mut entries: Vec<(RGBColor, &str)> =
        seen.iter().map(|s| (state_color(*s), s.name())).collect();
    if kernel {
        entries.push((style::RETRANS, t.pick("kernel disagrees", "内核不一致")));
    }
    style::legend(root, fam, &entries, h - 22)
}

/// Where one lane is drawn: its left edge, its span, and the y of each transition.
#[derive(Clone, Copy)]
struct Lane<'a> {
    x: i32,
    top: i32,
    bottom: i32,
    ys: &'a [i32],
}

/// Bands of one endpoint's inferred states.
fn lane<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    states: &[TcpState],
    transitions: &[TransitionRecord],
    at: &Lane,
    lane_w: i32,
) -> Result<(), ChartError> {
    let x = at.x;
    for (i, st) in states.iter().enumerate() {
        // transitions[i - 1] led to states[i].
        let y0 = match i {
            0 => at.top,
            _ => at.ys.get(i - 1).copied().unwrap_or(at.top),
        };
        let y1 = at.ys.get(i).copied().unwrap_or(at.bottom).max(y0 + 4);
        root.draw(&Rectangle::new(
            [(x, y0), (x + lane_w, y1)],
            state_color(*st).filled(),
        ))
        .map_err(draw_err)?;
        root.draw(&Rectangle::new(
            [(x, y0), (x + lane_w, y1)],
            ShapeStyle::from(&WHITE).stroke_width(1),
        ))
        .map_err(draw_err)?;
        let label = match transitions.get(i.wrapping_sub(1)).filter(|_| i > 0) {
            Some(tr) => format!("{}  (#{})", st.name(), tr.frame),
            None => st.name().to_string(),
        };
        let (pos, anchor) = if y1 - y0 >= 16 {
            (
                (x + lane_w / 2, (y0 + y1) / 2),
                (HPos::Center, VPos::Center),
            )
        } else {
            ((x + 4, y0 + 1), (HPos::Left, VPos::Top))
        };
        style::text(root, &label, pos, 15, fam, &style::INK, anchor)?;
    }
    Ok(())
}

/// Height of one line of a kernel band's labels (15 px text and a gap).
const LABEL_LINE: i32 = 18;

/// Tops of labels wanted at `wanted` (in order), each moved down just enough not
/// to overlap the one before.
fn label_tops(wanted: &[i32]) -> Vec<i32> {
    let mut next = i32::MIN;
    wanted
        .iter()
        .map(|&y| {
            let top = y.max(next);
            next = top + LABEL_LINE;
            top
        })
        .collect()
}

/// Where each kernel row starts: at the inferred transition it is compared with
/// (same frame and state), else just after the previous row.
fn kernel_starts(k: &EndpointComparison, transitions: &[TransitionRecord], at: &Lane) -> Vec<i32> {
    let mut starts: Vec<i32> = Vec::with_capacity(k.rows.len());
    for (i, row) in k.rows.iter().enumerate() {
        let same = |t: &TransitionRecord| Some(t.frame) == row.frame;
        let matched = transitions
            .iter()
            .position(|t| same(t) && Some(t.to) == row.inferred)
            .or_else(|| transitions.iter().position(same));
        let y = match matched {
            Some(j) => at.ys.get(j).copied().unwrap_or(at.bottom),
            None if i == 0 => at.top,
            None => starts.last().copied().unwrap_or(at.bottom) + 8,
        };
        starts.push(y);
    }
    starts
}

/// The kernel's states for one endpoint: a thin band beside the inferred one. Its
/// labels go at the top of their band, or just under the previous label when the
/// bands are too close: two labels never overlap.
fn kernel_lane<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    k: &EndpointComparison,
    transitions: &[TransitionRecord],
    at: &Lane,
) -> Result<(), ChartError> {
    let (x, band) = (at.x, 26);
    let starts = kernel_starts(k, transitions, at);
    let drawn: Vec<i32> = k
        .rows
        .iter()
        .zip(&starts)
        .filter(|(row, _)| row.kernel.is_some())
        .map(|(_, &y)| y + 2)
        .collect();
    let mut label_tops = label_tops(&drawn).into_iter();
    for (i, row) in k.rows.iter().enumerate() {
        let Some(st) = row.kernel else { continue };
        let y0 = starts[i];
        let y1 = starts.get(i + 1).copied().unwrap_or(at.bottom).max(y0 + 4);
        root.draw(&Rectangle::new(
            [(x, y0), (x + band, y1)],
            state_color(st).filled(),
        ))
        .map_err(draw_err)?;
        let outline = if row.agree {
            style::GREY
        } else {
            style::RETRANS
        };
        root.draw(&Rectangle::new(
            [(x, y0), (x + band, y1)],
            ShapeStyle::from(&outline).stroke_width(if row.agree { 1 } else { 3 }),
        ))
        .map_err(draw_err)?;
        let mut label = st.name().to_string();
        if let Some(off) = row.offset_us {
            label.push_str(&format!(" {off:+} µs"));
        }
        let y = label_tops.next().unwrap_or(y0 + 2);
        style::text(
            root,
            &label,
            (x + band + 4, y),
            15,
            fam,
            &outline,
            (HPos::Left, VPos::Top),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_transitions_of_one_endpoint_at_one_time_get_a_row_each() {
        // Client: FIN_WAIT_2 and TIME_WAIT on one frame (time 30); server: one
        // transition at 30 too.
        let client = [10, 30, 30];
        let server = [20, 30];
        let rows = Rows::new((0, 40), [&client, &server], (100, 900));
        let c = rows.lane(&client);
        let s = rows.lane(&server);
        assert!(c[0] < c[1] && c[1] < c[2], "{c:?}");
        // The two lanes still line up in time.
        assert_eq!(c[1], s[1]);
        assert!(s[0] < s[1]);
    }

    #[test]
    fn rows_are_evenly_spaced_without_shared_times() {
        let rows = Rows::new((0, 40), [&[10, 30], &[20]], (0, 600));
        // start, 10, 20, 30, end: five rows and the initial one.
        assert_eq!(rows.lane(&[10, 30]), vec![200, 400]);
        assert_eq!(rows.lane(&[20]), vec![300]);
    }

    #[test]
    fn kernel_labels_never_overlap() {
        // FIN_WAIT_2 and TIME_WAIT a few pixels apart, then one far below.
        let tops = label_tops(&[100, 103, 500]);
        assert_eq!(tops, vec![100, 100 + LABEL_LINE, 500]);
        assert!(tops.windows(2).all(|w| w[1] - w[0] >= LABEL_LINE));
    }
}
