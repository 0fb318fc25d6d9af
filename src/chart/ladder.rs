//! The ladder (sequence) diagram: two lifelines, one sloping arrow per segment,
//! each endpoint's state written on its lifeline where it changes.
//!
//! Time runs down. Rows are one per segment (not to scale, so a 40 µs handshake
//! stays as readable as a 2 s transfer); each row is labelled with its real time.
//! Long data phases are folded into one "… N segments …" row. A frame window
//! ([`ChartOptions::frames`](super::ChartOptions)) draws a close-up of one event,
//! and a marked frame is drawn in its own colour with a note.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::text::Text;
use super::{draw_err, style, ChartError, Ctx, FrameRecord, Lang};
use crate::analyze::{AnalysisFlags, Role, TcpState};
use crate::decode::{ArpOp, Transport};

/// Above this many kept segments the middle is folded.
const FOLD_ABOVE: usize = 40;
/// Segments kept on each side of the fold.
const KEEP: usize = 12;
const ROW_MIN: i32 = 22;

/// One row of the diagram.
enum Item<'a> {
    Segment(&'a FrameRecord),
    Fold(u64),
}

/// Which side of the picture a frame starts from, for frames outside any flow.
fn endpoint_key(r: &FrameRecord) -> Option<(String, String)> {
    let p = &r.packet;
    if let Some(ip) = &p.ip {
        return Some((ip.src.to_string(), ip.dst.to_string()));
    }
    if let Some(arp) = &p.arp {
        return Some((arp.sender_ip.to_string(), arp.target_ip.to_string()));
    }
    p.eth
        .as_ref()
        .map(|e| (e.src.to_string(), e.dst.to_string()))
}

/// The arrow's label: tcpdump flags, relative numbers and length.
fn label(r: &FrameRecord) -> String {
    let p = &r.packet;
    let a = &r.analysis;
    match &p.transport {
        Some(Transport::Tcp(t)) => {
            let mut s = format!("[{}] seq={}", t.flags.tcpdump(), a.rel_seq.unwrap_or(t.seq));
            if t.flags.ack() {
                s.push_str(&format!(" ack={}", a.rel_ack.unwrap_or(t.ack)));
            }
            s.push_str(&format!(" win={} len={}", t.window, t.len));
            s
        }
        Some(Transport::Udp(u)) => format!("UDP {} → {} len={}", u.sport, u.dport, u.payload_len()),
        Some(Transport::Icmp(i)) => match (i.icmp_type, i.echo) {
            (8 | 128, Some((id, seq))) => format!("ICMP echo request id={id} seq={seq}"),
            (0 | 129, Some((id, seq))) => format!("ICMP echo reply id={id} seq={seq}"),
            (t, _) => format!("ICMP type={t} code={}", i.code),
        },
        None => match &p.arp {
            Some(arp) => match arp.op {
                ArpOp::Request => format!("ARP who-has {} tell {}", arp.target_ip, arp.sender_ip),
                ArpOp::Reply => format!("ARP {} is-at {}", arp.sender_ip, arp.sender_mac),
                ArpOp::Other(n) => format!("ARP op {n}"),
            },
            None => format!("frame {} ({} bytes)", p.frame, p.len),
        },
    }
}

/// Colour and expert note of an arrow.
/// The note on a frame the lab's bridge dropped on purpose.
fn dropped_note(t: Text) -> &'static str {
    t.pick("dropped by the bridge", "被网桥丢弃")
}

fn marking(r: &FrameRecord, sender: Role, t: Text) -> (RGBColor, &'static str) {
    let f = r.analysis.flags;
    if f.is_retransmission() {
        let note = if f.has(AnalysisFlags::FAST_RETRANSMISSION) {
            t.pick("fast retransmission", "快速重传")
        } else if f.has(AnalysisFlags::SPURIOUS_RETRANSMISSION) {
            t.pick("spurious retransmission", "伪重传")
        } else {
            t.pick("retransmission", "重传")
        };
        (style::RETRANS, note)
    } else if f.has(AnalysisFlags::DUPLICATE_ACK) {
        (style::DUP_ACK, t.pick("dup ACK", "重复 ACK"))
    } else if f.has(AnalysisFlags::OUT_OF_ORDER) {
        (style::OOO, t.pick("out-of-order", "乱序"))
    } else {
        let c = match sender {
            Role::Client => style::CLIENT,
            Role::Server => style::SERVER,
        };
        (c, "")
    }
}

/// Who is on the left and on the right, and the frames between them: a flow's
/// client and server, or, outside any flow, the first pair of hosts seen.
fn sides<'a>(ctx: &Ctx<'a>) -> (String, String, Vec<&'a FrameRecord>) {
    let t = ctx.t;
    if let Some(s) = ctx.summary {
        return (
            format!("{} {}", t.pick("client", "客户端"), s.client),
            format!("{} {}", t.pick("server", "服务器"), s.server),
            ctx.frames.iter().collect(),
        );
    }
    let Some((a, b)) = ctx.frames.iter().find_map(endpoint_key) else {
        return (String::new(), String::new(), Vec::new());
    };
    let frames = ctx
        .frames
        .iter()
        .filter(|r| endpoint_key(r).is_some_and(|(s, d)| (s == a && d == b) || (s == b && d == a)))
        .collect();
    (a, b, frames)
}

/// A close-up: only the frames of the window, and the states in force (client,
/// server) when its first frame was captured.
fn window<'a>(
    ctx: &Ctx,
    frames: Vec<&'a FrameRecord>,
) -> (Vec<&'a FrameRecord>, [Option<TcpState>; 2]) {
    let mut before = [None, None];
    let Some((first, last)) = ctx.opts.frames else {
        return (frames, before);
    };
    for r in frames.iter().take_while(|r| r.packet.frame < first) {
        for tr in &r.analysis.transitions {
            before[usize::from(tr.endpoint == Role::Server)] = Some(tr.to);
        }
    }
    let frames = frames
        .into_iter()
        .filter(|r| (first..=last).contains(&r.packet.frame))
        .collect();
    (frames, before)
}

/// Title (what flow) and subtitle (which frames, how time runs).
fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    shown: u64,
    all_frames: u64,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let proto = ctx.summary.map(|s| s.proto).unwrap_or("");
    let title = match (proto, ctx.summary) {
        ("tcp", Some(s)) => format!(
            "{} {} — {}",
            t.pick("TCP connection", "TCP 连接"),
            s.flow,
            t.pick("ladder diagram", "时序图")
        ),
        ("udp", Some(s)) => format!(
            "{} {} — {}",
            t.pick("UDP stream", "UDP 流"),
            s.flow,
            t.pick("ladder diagram", "时序图")
        ),
        _ => t
            .pick(
                "Frames outside any flow (ARP, ICMP) — ladder diagram",
                "流之外的帧（ARP、ICMP）— 时序图",
            )
            .to_string(),
    };
    let how = t.pick(
        " · time runs down, one row per packet (not to scale)",
        " · 时间自上而下，每个报文一行（非等比例）",
    );
    let subtitle = match ctx.opts.frames {
        Some((first, last)) => match t.lang {
            Lang::En => format!("frames {first}–{last} of {all_frames}{how}"),
            Lang::Zh => format!("第 {first}–{last} 帧（共 {all_frames} 帧）{how}"),
        },
        None => match t.lang {
            Lang::En => format!(
                "{}{how}",
                crate::output::words::plural(shown, "frame", "frames")
            ),
            Lang::Zh => format!("{shown} 帧{how}"),
        },
    };
    style::title(root, t.family(), &title, &subtitle)
}

/// The rows: every segment, or, when there are too many (or the loader folded
/// some), the first and last few around one "… N segments …" row.
fn rows<'a>(
    frames: &[&'a FrameRecord],
    max_rows: usize,
    data_folded: u64,
    fold_at: Option<usize>,
) -> Vec<Item<'a>> {
    let n = frames.len();
    if n <= FOLD_ABOVE.min(max_rows) && data_folded == 0 {
        return frames.iter().map(|r| Item::Segment(r)).collect();
    }
    let keep = KEEP.min((max_rows - 1) / 2);
    let head = keep.min(fold_at.unwrap_or(n));
    let tail = keep.min(n - head);
    let mut items: Vec<Item> = frames[..head].iter().map(|r| Item::Segment(r)).collect();
    let hidden = (n - head - tail) as u64 + data_folded;
    if hidden > 0 {
        items.push(Item::Fold(hidden));
    }
    items.extend(frames[n - tail..].iter().map(|r| Item::Segment(r)));
    items
}

/// Where things go: the first row, the row height, how far an arrow drops, the
/// two lifelines.
struct Geometry {
    top: i32,
    row_h: i32,
    drop: i32,
    xl: i32,
    xr: i32,
}

/// Above the first row: the title, the hosts and their first states.
const TOP: i32 = 120;
/// Rows are at most this tall (a short flow), at least [`ROW_MIN`] (a long one).
const ROW_MAX: i32 = 60;
/// Under the rows: the legend's last row and a margin.
const FOOT: i32 = 50;
/// Between the last row and the legend, when the picture is cut to its rows.
const GAP: i32 = 10;

/// What the diagram shows: who is on each side, the frames (a window's, if one
/// was asked for) and what was folded away.
struct Shown<'a> {
    left: String,
    right: String,
    frames: Vec<&'a FrameRecord>,
    /// States in force (client, server) before a window's first frame.
    before: [Option<TcpState>; 2],
    /// Frames of the flow in all, kept or not.
    all_frames: u64,
    data_folded: u64,
    fold_at: Option<usize>,
}

impl<'a> Shown<'a> {
    fn of(ctx: &Ctx<'a>) -> Shown<'a> {
        let (left, right, frames) = sides(ctx);
        let all_frames = frames.len() as u64 + ctx.data.folded.get(&ctx.flow).copied().unwrap_or(0);
        let (frames, before) = window(ctx, frames);
        // Folded frames are outside a window (or it was not kept whole): nothing to say.
        let (data_folded, fold_at) = match ctx.opts.frames {
            Some(_) => (0, None),
            None => (
                ctx.data.folded.get(&ctx.flow).copied().unwrap_or(0),
                ctx.data.fold_at.get(&ctx.flow).copied(),
            ),
        };
        Shown {
            left,
            right,
            frames,
            before,
            all_frames,
            data_folded,
            fold_at,
        }
    }

    /// The rows that fit between `top` and `bottom`.
    fn items(&self, top: i32, bottom: i32) -> Vec<Item<'a>> {
        let max_rows = ((bottom - top) / ROW_MIN).max(5) as usize;
        rows(&self.frames, max_rows, self.data_folded, self.fold_at)
    }
}

/// Pixels under the rows on a picture `w` wide: the legend, however many rows it
/// wraps onto, and the margin.
fn foot(ctx: &Ctx, w: i32) -> Result<i32, ChartError> {
    let entries = legend_entries(ctx);
    let (_, rows) = style::legend_layout(ctx.t.family(), entries.iter().map(|e| e.1), w)?;
    Ok(FOOT + (rows - 1) * style::LEGEND_ROW)
}

/// The height the diagram needs: its rows at their full height and the legend
/// under them. A refused connection is two arrows, not a page with two arrows at
/// the top; a long flow needs more than any page and gets the height asked for.
pub fn content_height(ctx: &Ctx) -> Result<u32, ChartError> {
    let (w, h) = (ctx.opts.width as i32, ctx.opts.height as i32);
    let foot = foot(ctx, w)?;
    let items = Shown::of(ctx).items(TOP, h - foot);
    // One extra row at the top for the initial states.
    let n_rows = items.len() as i32 + 1;
    Ok((TOP + n_rows * ROW_MAX + GAP + foot) as u32)
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let shown = Shown::of(ctx);
    let Shown {
        ref left,
        ref right,
        ref frames,
        before,
        all_frames,
        data_folded,
        ..
    } = shown;
    draw_title(root, ctx, frames.len() as u64 + data_folded, all_frames)?;

    let (top, bottom) = (TOP, h - foot(ctx, w)?);
    let items = shown.items(top, bottom);
    // One extra row at the top for the initial states.
    let n_rows = items.len() as i32 + 1;
    let row_h = ((bottom - top) / n_rows.max(1)).clamp(ROW_MIN, ROW_MAX);
    let geo = Geometry {
        top,
        row_h,
        drop: row_h * 2 / 3,
        xl: 300.min(w / 3),
        xr: w - 220.min(w / 4),
    };
    draw_lifelines(root, t, &geo, top + n_rows * row_h, [left, right])?;
    if let Some(tcp) = ctx.summary.and_then(|s| s.tcp.as_ref()) {
        let first = |s: &[TcpState]| s.first().copied().unwrap_or(TcpState::Closed);
        let cs = before[0].unwrap_or_else(|| first(&tcp.client_states));
        let ss = before[1].unwrap_or_else(|| first(&tcp.server_states));
        state_label(root, fam, cs.name(), geo.xl, top + 2, true, STATE_FONT)?;
        state_label(root, fam, ss.name(), geo.xr, top + 2, false, STATE_FONT)?;
    }

    let sender_of = |r: &FrameRecord| -> Role {
        match ctx.summary {
            Some(_) => r.analysis.sender.unwrap_or(Role::Client),
            None => match endpoint_key(r) {
                Some((s, _)) if s == *left => Role::Client,
                _ => Role::Server,
            },
        }
    };
    let first_ts = frames.first().map(|r| r.packet.ts_ns).unwrap_or(0);
    // Lowest label drawn on each lifeline so far, so close transitions do not overlap.
    let mut last_label = [top + 2, top + 2];
    for (i, item) in items.iter().enumerate() {
        let y0 = top + (i as i32 + 1) * geo.row_h;
        match item {
            Item::Fold(n) => draw_fold(root, t, &geo, y0, *n)?,
            Item::Segment(r) => {
                let sender = sender_of(r);
                draw_segment(root, ctx, &geo, (r, sender), y0)?;
                let secs = r.packet.ts_ns.saturating_sub(first_ts) as f64 / 1e9;
                style::text(
                    root,
                    &style::secs(secs),
                    (14, y0),
                    15,
                    fam,
                    &style::GREY,
                    (HPos::Left, VPos::Center),
                )?;
                draw_transitions(root, fam, &geo, (r, sender), y0, &mut last_label)?;
            }
        }
    }
    draw_legend(root, ctx, h)
}

const STATE_FONT: u32 = 15;

/// Both lifelines down to `y_end`, their hosts above them, and the time column's heading.
fn draw_lifelines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Text,
    geo: &Geometry,
    y_end: i32,
    [left, right]: [&str; 2],
) -> Result<(), ChartError> {
    let fam = t.family();
    let top = geo.top;
    for (x, name, color) in [
        (geo.xl, left, style::CLIENT),
        (geo.xr, right, style::SERVER),
    ] {
        root.draw(&PathElement::new(
            vec![(x, top - 8), (x, y_end)],
            ShapeStyle::from(&style::GREY).stroke_width(3),
        ))
        .map_err(draw_err)?;
        style::text(
            root,
            name,
            (x, top - 30),
            17,
            fam,
            &color,
            (HPos::Center, VPos::Bottom),
        )?;
    }
    style::text(
        root,
        t.pick("time", "时间"),
        (14, top - 30),
        15,
        fam,
        &style::GREY,
        (HPos::Left, VPos::Bottom),
    )
}

/// The "… N segments …" row.
fn draw_fold<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Text,
    geo: &Geometry,
    y0: i32,
    n: u64,
) -> Result<(), ChartError> {
    let msg = format!("… {n} {} …", t.pick("segments", "个段"));
    let y = y0 + geo.drop / 2;
    root.draw(&PathElement::new(
        vec![(geo.xl + 20, y), (geo.xr - 20, y)],
        ShapeStyle::from(&style::LIGHT).stroke_width(1),
    ))
    .map_err(draw_err)?;
    boxed_text(
        root,
        &msg,
        ((geo.xl + geo.xr) / 2, y),
        16,
        t.family(),
        &style::GREY,
    )
}

/// One segment: a sloping arrow from its sender's lifeline, with its label (and
/// expert note) lifted so the arrow clears both ends of the text.
fn draw_segment<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    geo: &Geometry,
    (r, sender): (&FrameRecord, Role),
    y0: i32,
) -> Result<(), ChartError> {
    let (t, fam, drop) = (ctx.t, ctx.t.family(), geo.drop);
    let (x0, x1) = match sender {
        Role::Client => (geo.xl, geo.xr),
        Role::Server => (geo.xr, geo.xl),
    };
    let (color, note) = match ctx.opts.mark {
        Some((n, note)) if n == r.packet.frame => (style::MARK, note),
        _ if ctx.opts.dropped.binary_search(&r.packet.frame).is_ok() => {
            (style::MARK, dropped_note(t))
        }
        _ => marking(r, sender, t),
    };
    let y1 = y0 + drop;
    root.draw(&PathElement::new(
        vec![(x0, y0), (x1, y1)],
        ShapeStyle::from(&color).stroke_width(2),
    ))
    .map_err(draw_err)?;
    // Arrow head: the one polygon per segment (tests count them).
    let dir = if x1 > x0 { -1 } else { 1 };
    let slope = f64::from(drop) / f64::from((x1 - x0).abs().max(1));
    let back = 12;
    let yb = y1 - (f64::from(back) * slope) as i32;
    root.draw(&Polygon::new(
        vec![
            (x1, y1),
            (x1 + dir * back, yb - 5),
            (x1 + dir * back, yb + 5),
        ],
        color.filled(),
    ))
    .map_err(draw_err)?;
    let mut text = label(r);
    if !note.is_empty() {
        text = format!("{text}  ({note})");
    }
    let (tw, _) = root
        .estimate_text_size(&text, &TextStyle::from((fam, 15).into_font()))
        .map_err(draw_err)?;
    let span = f64::from((x1 - x0).abs().max(1));
    let lift = (f64::from(drop) * f64::from(tw) / (2.0 * span)) as i32 + 3;
    let mid = ((x0 + x1) / 2, (y0 + y1) / 2 - lift);
    style::text(
        root,
        &text,
        mid,
        15,
        fam,
        &color,
        (HPos::Center, VPos::Bottom),
    )
}

/// States entered because of this segment, on each lifeline: the sender's where
/// the arrow leaves, the receiver's where it arrives, never over the label above.
fn draw_transitions<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    geo: &Geometry,
    (r, sender): (&FrameRecord, Role),
    y0: i32,
    last_label: &mut [i32; 2],
) -> Result<(), ChartError> {
    let y1 = y0 + geo.drop;
    for tr in &r.analysis.transitions {
        let (x, y, left_side) = match tr.endpoint {
            Role::Client => (geo.xl, if sender == Role::Client { y0 } else { y1 }, true),
            Role::Server => (geo.xr, if sender == Role::Server { y0 } else { y1 }, false),
        };
        let slot = &mut last_label[usize::from(!left_side)];
        let y = y.max(*slot + 22);
        *slot = y;
        state_label(root, fam, tr.to.name(), x, y, left_side, STATE_FONT)?;
    }
    Ok(())
}

/// The colours' legend (and the mark's or the bridge's note).
fn legend_entries<'a>(ctx: &Ctx<'a>) -> Vec<(RGBColor, &'a str)> {
    let t = ctx.t;
    let mut entries = vec![
        (style::CLIENT, t.pick("client → server", "客户端 → 服务器")),
        (style::SERVER, t.pick("server → client", "服务器 → 客户端")),
        (style::RETRANS, t.pick("retransmission", "重传")),
        (style::DUP_ACK, t.pick("duplicate ACK", "重复 ACK")),
        (style::OOO, t.pick("out-of-order", "乱序")),
    ];
    if ctx.summary.is_none() {
        entries.truncate(2);
        entries[0].1 = t.pick("left → right", "左 → 右");
        entries[1].1 = t.pick("right → left", "右 → 左");
    }
    if let Some((_, note)) = ctx.opts.mark {
        entries.push((style::MARK, note));
    } else if !ctx.opts.dropped.is_empty() {
        entries.push((style::MARK, dropped_note(t)));
    }
    entries
}

fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
    h: i32,
) -> Result<(), ChartError> {
    style::legend(root, ctx.t.family(), &legend_entries(ctx), h - 22)
}

/// A state name beside a lifeline, in a box so it reads over the lines.
fn state_label<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    name: &str,
    x: i32,
    y: i32,
    left_side: bool,
    size: u32,
) -> Result<(), ChartError> {
    let font = TextStyle::from((fam, size).into_font());
    let (tw, th) = root.estimate_text_size(name, &font).map_err(draw_err)?;
    let (tw, th) = (tw as i32, th as i32);
    let (x0, x1) = if left_side {
        (x - tw - 14, x - 4)
    } else {
        (x + 4, x + tw + 14)
    };
    root.draw(&Rectangle::new(
        [(x0, y - th / 2 - 3), (x1, y + th / 2 + 3)],
        RGBColor(255, 248, 225).filled(),
    ))
    .map_err(draw_err)?;
    root.draw(&Rectangle::new(
        [(x0, y - th / 2 - 3), (x1, y + th / 2 + 3)],
        ShapeStyle::from(&style::GREY).stroke_width(1),
    ))
    .map_err(draw_err)?;
    style::text(
        root,
        name,
        ((x0 + x1) / 2, y),
        size,
        fam,
        &style::INK,
        (HPos::Center, VPos::Center),
    )
}

/// Centred text on a white box.
fn boxed_text<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &str,
    at: (i32, i32),
    size: u32,
    fam: &str,
    color: &RGBColor,
) -> Result<(), ChartError> {
    let font = TextStyle::from((fam, size).into_font());
    let (tw, th) = root.estimate_text_size(s, &font).map_err(draw_err)?;
    let (tw, th) = (tw as i32, th as i32);
    root.draw(&Rectangle::new(
        [
            (at.0 - tw / 2 - 6, at.1 - th / 2 - 2),
            (at.0 + tw / 2 + 6, at.1 + th / 2 + 2),
        ],
        WHITE.filled(),
    ))
    .map_err(draw_err)?;
    style::text(root, s, at, size, fam, color, (HPos::Center, VPos::Center))
}
