//! The state timeline: one swimlane per endpoint, a coloured band per state,
//! time running down as in the ladder diagram; the kernel's own states, when a live
//! run recorded them, as a thin band beside each inferred one.
//!
//! Rows are evenly spaced per transition (not to scale) and labelled with their
//! real times, so a 40 µs SYN_RECEIVED is as visible as a 2 s ESTABLISHED.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{draw_err, style, ChartError, Ctx};
use crate::analyze::{TcpState, TransitionRecord};
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
    let title = format!(
        "{} {} — {}",
        t.pick("TCP connection", "TCP 连接"),
        s.flow,
        t.pick("state timeline", "状态时间线")
    );
    let kernel = ctx
        .opts
        .kernel
        .and_then(|k| k.connections.iter().find(|c| c.flow == s.flow));
    let subtitle = if kernel.is_some() {
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
    style::title(root, fam, &title, subtitle)?;

    // Event times: start, every transition, end.
    let start = s.first_ts.0;
    let end = s.last_ts.0.max(start);
    let mut times: Vec<u64> = vec![start, end];
    times.extend(tcp.client_transitions.iter().map(|t| t.ts.0));
    times.extend(tcp.server_transitions.iter().map(|t| t.ts.0));
    times.sort_unstable();
    times.dedup();
    let top = 120;
    let bottom = h - 80;
    // Row 0 holds the initial states, the last row the final ones.
    let step = f64::from(bottom - top) / (times.len() + 1) as f64;
    let y_of = |ts: u64| -> i32 {
        let rank = times.partition_point(|&x| x < ts) + 1;
        top + (rank as f64 * step) as i32
    };

    // Time labels and guide lines.
    for &ts in &times {
        let y = y_of(ts);
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
        (100, top - 30),
        15,
        fam,
        &style::GREY,
        (HPos::Right, VPos::Bottom),
    )?;

    // Each lane: the inferred band, then (live runs) the kernel's band and its labels.
    let per_lane = (w - 140) / 2;
    let lane_w = if kernel.is_some() {
        per_lane - 230
    } else {
        (per_lane - 60).min(380)
    }
    .max(100);
    let lanes = [
        (
            format!("{} {}", t.pick("client", "客户端"), s.client),
            &tcp.client_states,
            &tcp.client_transitions,
            kernel.map(|k| &k.client),
            130,
        ),
        (
            format!("{} {}", t.pick("server", "服务器"), s.server),
            &tcp.server_states,
            &tcp.server_transitions,
            kernel.map(|k| &k.server),
            130 + per_lane,
        ),
    ];
    for (name, states, transitions, kernel, x) in lanes {
        style::text(
            root,
            &name,
            (x + lane_w / 2, top - 30),
            17,
            fam,
            &style::INK,
            (HPos::Center, VPos::Bottom),
        )?;
        lane(
            root,
            fam,
            states,
            transitions,
            (top, bottom),
            &y_of,
            x,
            lane_w,
        )?;
        if let Some(k) = kernel {
            kernel_lane(
                root,
                fam,
                k,
                transitions,
                (top, bottom),
                &y_of,
                x + lane_w + 6,
            )?;
        }
    }

    // Legend: every state that appears.
    let mut seen: Vec<TcpState> = Vec::new();
    for st in tcp.client_states.iter().chain(&tcp.server_states) {
        if !seen.contains(st) {
            seen.push(*st);
        }
    }
    let mut entries: Vec<(RGBColor, &str)> =
        seen.iter().map(|s| (state_color(*s), s.name())).collect();
    if kernel.is_some() {
        entries.push((style::RETRANS, t.pick("kernel disagrees", "内核不一致")));
    }
    style::legend(root, fam, &entries, h - 22)
}

/// Bands of one endpoint's inferred states.
#[allow(clippy::too_many_arguments)]
fn lane<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    states: &[TcpState],
    transitions: &[TransitionRecord],
    (top, bottom): (i32, i32),
    y_of: &dyn Fn(u64) -> i32,
    x: i32,
    lane_w: i32,
) -> Result<(), ChartError> {
    for (i, st) in states.iter().enumerate() {
        // transitions[i - 1] led to states[i].
        let y0 = match i {
            0 => top,
            _ => transitions.get(i - 1).map_or(top, |t| y_of(t.ts.0)),
        };
        let y1 = transitions
            .get(i)
            .map_or(bottom, |t| y_of(t.ts.0))
            .max(y0 + 4);
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
        if y1 - y0 >= 16 {
            style::text(
                root,
                &label,
                (x + lane_w / 2, (y0 + y1) / 2),
                15,
                fam,
                &style::INK,
                (HPos::Center, VPos::Center),
            )?;
        } else {
            style::text(
                root,
                &label,
                (x + 4, y0 + 1),
                15,
                fam,
                &style::INK,
                (HPos::Left, VPos::Top),
            )?;
        }
    }
    Ok(())
}

/// The kernel's states for one endpoint: a thin band beside the inferred one.
#[allow(clippy::too_many_arguments)]
fn kernel_lane<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    k: &EndpointComparison,
    transitions: &[TransitionRecord],
    (top, bottom): (i32, i32),
    y_of: &dyn Fn(u64) -> i32,
    x: i32,
) -> Result<(), ChartError> {
    let band = 26;
    // Where each kernel row starts: the inferred transition's frame, else after the previous.
    let mut starts: Vec<i32> = Vec::with_capacity(k.rows.len());
    for (i, row) in k.rows.iter().enumerate() {
        let y = match row
            .frame
            .and_then(|f| transitions.iter().find(|t| t.frame == f))
        {
            Some(tr) => y_of(tr.ts.0),
            None if i == 0 => top,
            None => starts.last().copied().unwrap_or(bottom) + 8,
        };
        starts.push(y);
    }
    for (i, row) in k.rows.iter().enumerate() {
        let Some(st) = row.kernel else { continue };
        let y0 = starts[i];
        let y1 = starts.get(i + 1).copied().unwrap_or(bottom).max(y0 + 4);
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
        style::text(
            root,
            &label,
            (x + band + 4, y0 + 2),
            15,
            fam,
            &outline,
            (HPos::Left, VPos::Top),
        )?;
    }
    Ok(())
}
