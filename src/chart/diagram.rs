//! The TCP state-transition diagram as students learn it (RFC 9293 Figure 5 with
//! Stevens' additions), with the path each endpoint of one connection took drawn
//! over it in its ladder colour, every arc it took numbered with the frames that
//! moved it, and any move the standard diagram has no arc for drawn in red.
//!
//! The arcs come from [`DIAGRAM`](crate::analyze::diagram::DIAGRAM), the table
//! the inference is checked against, laid out by [`diagram_layout`](super::diagram_layout);
//! the paths from [`diagram_path`](super::diagram_path). This module only draws:
//! the figure's arcs solid, the RFC text's arcs dashed and grey, arcs Linux never
//! takes in light grey with a †, and a legend that says so.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::diagram_layout::{
    self as layout, offset, point_along, Edge, Layout, Node, Points, Rect, Side,
};
use super::diagram_path::{frames_label, Walk};
use super::states::state_color;
use super::text::Text;
use super::{draw_err, style, ChartError, Ctx, Lang};
use crate::analyze::diagram::{Drawn, DIAGRAM};
use crate::analyze::{Role, TcpState};

/// The figure's arcs.
const ARC: RGBColor = RGBColor(80, 80, 80);
/// Arcs Linux never takes.
const NEVER: RGBColor = RGBColor(185, 185, 185);
/// Space under the figure for the legend's first row.
const LEGEND_GAP: i32 = 34;

/// Design units to pixels: the layout is drawn at `s` pixels per unit, under a
/// title band of [`TITLE`] pixels that keeps its size (the title's text does).
#[derive(Clone, Copy)]
struct Px {
    s: f64,
    /// Left margin that centres a figure narrower than the picture.
    ox: i32,
}

/// Pixels (and design units) above the figure: the title and subtitle.
const TITLE: i32 = 70;

impl Px {
    /// As wide as the picture.
    fn of(w: i32) -> Px {
        Px {
            s: f64::from(w) / f64::from(layout::WIDTH),
            ox: 0,
        }
    }

    /// As large as fits a `w` × `h` picture with `legend` pixels under the figure,
    /// centred.
    fn fit(w: i32, h: i32, legend: i32) -> Px {
        let wide = Px::of(w);
        let room = f64::from(h - TITLE - legend).max(1.0);
        let s = wide.s.min(room / f64::from(layout::HEIGHT - TITLE));
        let ox = ((f64::from(w) - f64::from(layout::WIDTH) * s) / 2.0).round() as i32;
        Px { s, ox }
    }
    fn v(self, u: i32) -> i32 {
        (f64::from(u) * self.s).round() as i32
    }
    fn pt(self, (x, y): (i32, i32)) -> (i32, i32) {
        (self.ox + self.v(x), self.y(y))
    }
    fn y(self, y: i32) -> i32 {
        TITLE + self.v(y - TITLE)
    }
    fn font(self, size: u32) -> u32 {
        ((f64::from(size) * self.s).round() as u32).max(9)
    }
    fn rect(self, r: Rect) -> Rect {
        Rect {
            cx: self.ox + self.v(r.cx),
            cy: self.y(r.cy),
            hw: self.v(r.hw),
            hh: self.v(r.hh),
        }
    }
}

/// One entry of the legend: how its swatch is drawn, and its text.
enum Swatch {
    Line(RGBColor, bool),
    Dashed(RGBColor),
    /// A frame badge as the paths carry them.
    Badge,
}

fn role_color(role: Role) -> RGBColor {
    match role {
        Role::Client => style::CLIENT,
        Role::Server => style::SERVER,
    }
}

/// Both endpoints' paths over the layout (none for a flow that is not TCP).
fn walks(ctx: &Ctx, l: &Layout) -> Vec<Walk> {
    let Some(tcp) = ctx.summary.and_then(|s| s.tcp.as_ref()) else {
        return Vec::new();
    };
    vec![
        Walk::new(l, Role::Client, &tcp.client_states, &tcp.client_transitions),
        Walk::new(l, Role::Server, &tcp.server_states, &tcp.server_transitions),
    ]
}

fn legend_entries(ctx: &Ctx, walks: &[Walk]) -> Vec<(Swatch, String)> {
    let t = ctx.t;
    let zh = t.lang == Lang::Zh;
    let mut out = Vec::new();
    if let Some(s) = ctx.summary {
        out.push((
            Swatch::Line(style::CLIENT, true),
            format!("{} {}", t.pick("client", "客户端"), s.client),
        ));
        out.push((
            Swatch::Line(style::SERVER, true),
            format!("{} {}", t.pick("server", "服务器"), s.server),
        ));
    }
    out.push((
        Swatch::Badge,
        t.pick("the frame that moved it", "引起该转换的帧")
            .to_string(),
    ));
    out.push((
        Swatch::Dashed(style::GREY),
        t.pick(
            "stated in the RFC's text, not drawn in its figure",
            "RFC 正文规定、图中未画出",
        )
        .to_string(),
    ));
    let rst = DIAGRAM
        .iter()
        .find(|a| a.from == TcpState::Established && a.to == TcpState::Closed)
        .map(|a| a.label_in(zh))
        .unwrap_or("RST");
    out.push((Swatch::Dashed(style::GREY), format!("RST → CLOSED: {rst}")));
    out.push((
        Swatch::Line(NEVER, false),
        t.pick("† Linux never takes this arc", "† Linux 从不走这条弧")
            .to_string(),
    ));
    if walks
        .iter()
        .any(|w| w.moves.iter().any(|m| m.edge.is_none()))
    {
        out.push((
            Swatch::Line(style::RETRANS, true),
            t.pick(
                "anomaly: a move the standard diagram has no arc for",
                "异常：标准状态图中没有的转换",
            )
            .to_string(),
        ));
    }
    out
}

/// The legend's rows and where each entry goes, on a picture `w` wide.
fn legend_places(
    ctx: &Ctx,
    entries: &[(Swatch, String)],
    w: i32,
) -> Result<(Vec<(i32, i32)>, i32), ChartError> {
    // Room for a line swatch: the label is measured with a lead of spaces.
    let labels: Vec<String> = entries.iter().map(|e| format!("      {}", e.1)).collect();
    style::legend_layout(ctx.t.family(), labels.iter().map(String::as_str), w)
}

/// Pixels under the figure: the legend's rows on a picture `w` wide, and margins.
fn legend_height(ctx: &Ctx, entries: &[(Swatch, String)], w: i32) -> Result<i32, ChartError> {
    let (_, rows) = legend_places(ctx, entries, w)?;
    Ok(LEGEND_GAP + rows * style::LEGEND_ROW + 10)
}

/// The picture's height on a canvas `ctx.opts.width` wide: the figure scaled to
/// the width, and the legend under it.
pub fn content_height(ctx: &Ctx) -> Result<u32, ChartError> {
    let w = ctx.opts.width as i32;
    let l = Layout::standard();
    let walks = walks(ctx, &l);
    let entries = legend_entries(ctx, &walks);
    let px = Px::of(w);
    Ok((px.y(layout::HEIGHT) + legend_height(ctx, &entries, w)?) as u32)
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let Some(s) = ctx.summary else {
        return Err(ChartError::NoFlows);
    };
    if s.tcp.is_none() {
        return Err(ChartError::NotTcp {
            flow: s.flow,
            proto: s.proto,
            kind: "diagram",
        });
    }
    let (w, h) = root.dim_in_pixel();
    let l = Layout::standard();
    let walks = walks(ctx, &l);
    let entries = legend_entries(ctx, &walks);
    let px = Px::fit(w as i32, h as i32, legend_height(ctx, &entries, w as i32)?);
    let title = format!(
        "{} {} — {}",
        t.pick("TCP connection", "TCP 连接"),
        s.flow,
        t.pick("state-transition diagram", "状态转换图")
    );
    style::title(
        root,
        t.family(),
        &title,
        t.pick(
            "RFC 9293 Figure 5 with Stevens' FIN+ACK shortcut · each endpoint's path in its colour",
            "RFC 9293 图 5（含 Stevens 的 FIN+ACK 捷径）· 各端点走过的路径用其颜色标出",
        ),
    )?;
    let mut d = Drawer {
        root,
        px,
        t,
        taken: Vec::new(),
    };
    for e in &l.edges {
        d.edge_line(e)?;
    }
    for walk in &walks {
        d.path(&l, walk)?;
    }
    for (node, rect) in &l.nodes {
        d.state_box(*node, *rect)?;
    }
    for walk in &walks {
        d.visited(&l, walk)?;
    }
    for e in &l.edges {
        d.edge_label(e)?;
    }
    for walk in &walks {
        d.badges(&l, walk)?;
    }
    d.legend(ctx, &entries)
}

/// Draws on `root`, keeping the rectangles of text already placed so frame
/// badges find a free spot.
struct Drawer<'a, DB: DrawingBackend> {
    root: &'a DrawingArea<DB, Shift>,
    px: Px,
    t: Text,
    /// Pixel rectangles of boxes, labels and badges drawn so far.
    taken: Vec<Rect>,
}

impl<DB: DrawingBackend> Drawer<'_, DB> {
    fn line(
        &self,
        points: &[(i32, i32)],
        color: RGBColor,
        width: u32,
        dashed: bool,
    ) -> Result<(), ChartError> {
        let style = ShapeStyle::from(&color).stroke_width(width);
        if dashed {
            let (dash, gap) = (self.px.v(7).max(3), self.px.v(5).max(2));
            self.root
                .draw(&plotters::element::DashedPathElement::new(
                    points.to_vec(),
                    dash,
                    gap,
                    style,
                ))
                .map_err(draw_err)
        } else {
            self.root
                .draw(&PathElement::new(points.to_vec(), style))
                .map_err(draw_err)
        }
    }

    /// An arrow head at the end of `points`.
    fn head(&self, points: &[(i32, i32)], color: RGBColor, size: i32) -> Result<(), ChartError> {
        let [.., a, b] = points else { return Ok(()) };
        let (dx, dy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
        let len = dx.hypot(dy).max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let size = f64::from(size);
        let back = (f64::from(b.0) - ux * size, f64::from(b.1) - uy * size);
        let side = size * 0.45;
        let p = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
        self.root
            .draw(&Polygon::new(
                vec![
                    *b,
                    p(back.0 - uy * side, back.1 + ux * side),
                    p(back.0 + uy * side, back.1 - ux * side),
                ],
                color.filled(),
            ))
            .map_err(draw_err)
    }

    /// An edge of the diagram itself, before any path.
    fn edge_line(&self, e: &Edge) -> Result<(), ChartError> {
        let points: Vec<_> = e.points.iter().map(|&p| self.px.pt(p)).collect();
        let (color, dashed) = match (e.drawn, e.linux_never()) {
            (Drawn::TextOnly, _) => (style::GREY, true),
            (Drawn::Figure, true) => (NEVER, false),
            (Drawn::Figure, false) => (ARC, false),
        };
        let width = if self.px.s >= 0.8 { 2 } else { 1 };
        self.line(&points, color, width, dashed)?;
        self.head(&points, color, self.px.v(11).max(6))
    }

    /// One endpoint's path: every edge it took, beside the edge (the client on one
    /// side, the server on the other), and its moves off the diagram in red.
    fn path(&self, l: &Layout, walk: &Walk) -> Result<(), ChartError> {
        let off = match walk.role {
            Role::Client => -5,
            Role::Server => 5,
        };
        let color = role_color(walk.role);
        let width = self.px.v(4).max(2) as u32;
        for (i, e) in l.edges.iter().enumerate() {
            if walk.frames_on(i).is_empty() {
                continue;
            }
            let points = offset(&e.points, off);
            let points: Vec<_> = points.iter().map(|&p| self.px.pt(p)).collect();
            self.line(&points, color, width, false)?;
            self.head(&points, color, self.px.v(14).max(7))?;
        }
        for (from, to, _) in walk.anomalies() {
            let (_, points) = l.anomaly_route(from, to);
            let points = offset(&points, off);
            let points: Vec<_> = points.iter().map(|&p| self.px.pt(p)).collect();
            self.line(&points, style::RETRANS, width, false)?;
            self.head(&points, style::RETRANS, self.px.v(14).max(7))?;
        }
        Ok(())
    }

    fn state_box(&mut self, node: Node, rect: Rect) -> Result<(), ChartError> {
        let r = self.px.rect(rect);
        let state = node.state();
        let (fill, name_size) = match node {
            Node::Reset(_) => (RGBColor(236, 236, 236), 11),
            _ => (state_color(state), 15),
        };
        let corners = [(r.left(), r.top()), (r.right(), r.bottom())];
        self.root
            .draw(&Rectangle::new(corners, fill.filled()))
            .map_err(draw_err)?;
        let border = match node {
            Node::Reset(_) => style::GREY,
            _ => style::INK,
        };
        self.root
            .draw(&Rectangle::new(
                corners,
                ShapeStyle::from(&border).stroke_width(1),
            ))
            .map_err(draw_err)?;
        self.taken.push(r);
        let zh = self.t.lang == Lang::Zh && !matches!(node, Node::Reset(_));
        let name_y = if zh { r.cy - self.px.v(8) } else { r.cy };
        let font =
            TextStyle::from((style::SANS, self.px.font(name_size), FontStyle::Bold).into_font())
                .color(&style::INK)
                .pos(Pos::new(HPos::Center, VPos::Center));
        self.root
            .draw(&plotters::element::Text::new(
                state.name().to_string(),
                (r.cx, name_y),
                font,
            ))
            .map_err(draw_err)?;
        if zh {
            style::text(
                self.root,
                layout::state_caption_zh(state),
                (r.cx, r.cy + self.px.v(11)),
                self.px.font(12),
                style::CJK,
                &style::INK,
                (HPos::Center, VPos::Center),
            )?;
        }
        Ok(())
    }

    /// Outlines of the boxes an endpoint was in: the client's close, the server's
    /// a little further out, so a box both were in shows both.
    fn visited(&self, l: &Layout, walk: &Walk) -> Result<(), ChartError> {
        let grow = match walk.role {
            Role::Client => 3,
            Role::Server => 7,
        };
        let mut seen: Vec<Node> = Vec::new();
        for node in walk.nodes() {
            if seen.contains(&node) {
                continue;
            }
            seen.push(node);
            let Some(r) = l.rect(node) else { continue };
            let r = self.px.rect(r);
            let g = self.px.v(grow).max(2);
            self.root
                .draw(&Rectangle::new(
                    [(r.left() - g, r.top() - g), (r.right() + g, r.bottom() + g)],
                    ShapeStyle::from(&role_color(walk.role)).stroke_width(2),
                ))
                .map_err(draw_err)?;
        }
        Ok(())
    }

    /// Text on a white box, anchored as `side` says; returns the box.
    fn boxed_lines(
        &mut self,
        lines: &[String],
        (x, y): (i32, i32),
        side: Side,
        size: u32,
        color: RGBColor,
    ) -> Result<Rect, ChartError> {
        let fam = self.t.family();
        let font = TextStyle::from((fam, size).into_font());
        let mut width = 0;
        for line in lines {
            let (tw, _) = self
                .root
                .estimate_text_size(line, &font)
                .map_err(draw_err)?;
            width = width.max(tw as i32);
        }
        let lh = (size as i32 * 8 + 3) / 7;
        let at = layout::LabelAt { x, y, side };
        let mut rect = at.rect(width, lines.len() as i32, lh);
        let (left, top) = (rect.left(), rect.top());
        rect.hw += 2;
        rect.hh += 1;
        self.root
            .draw(&Rectangle::new(
                [(rect.left(), rect.top()), (rect.right(), rect.bottom())],
                WHITE.mix(0.85).filled(),
            ))
            .map_err(draw_err)?;
        for (i, line) in lines.iter().enumerate() {
            style::text(
                self.root,
                line,
                (left + width / 2, top + lh * i as i32 + lh / 2),
                size,
                fam,
                &color,
                (HPos::Center, VPos::Center),
            )?;
        }
        self.taken.push(rect);
        Ok(rect)
    }

    fn edge_label(&mut self, e: &Edge) -> Result<(), ChartError> {
        let zh = self.t.lang == Lang::Zh;
        let mut lines: Vec<String> = e.label_lines(zh).into_iter().map(String::from).collect();
        let never = e.linux_never();
        if never {
            if let Some(last) = lines.last_mut() {
                last.push_str(" †");
            }
        }
        let color = match (e.drawn, never) {
            (Drawn::Figure, false) => style::INK,
            _ => RGBColor(120, 120, 120),
        };
        let size = if matches!(e.to, Node::Reset(_)) {
            11
        } else {
            14
        };
        let at = self.px.pt((e.label.x, e.label.y));
        self.boxed_lines(&lines, at, e.label.side, self.px.font(size), color)?;
        Ok(())
    }

    /// The frame numbers on each edge an endpoint took (and on its anomalies),
    /// each at the first free spot along the edge.
    fn badges(&mut self, l: &Layout, walk: &Walk) -> Result<(), ChartError> {
        let color = role_color(walk.role);
        let off = match walk.role {
            Role::Client => -5,
            Role::Server => 5,
        };
        let mut todo: Vec<(Points, String, RGBColor)> = Vec::new();
        for (i, e) in l.edges.iter().enumerate() {
            let frames = walk.frames_on(i);
            if !frames.is_empty() {
                todo.push((offset(&e.points, off), frames_label(&frames), color));
            }
        }
        for (from, to, frames) in walk.anomalies() {
            let (_, points) = l.anomaly_route(from, to);
            todo.push((offset(&points, off), frames_label(&frames), style::RETRANS));
        }
        let size = self.px.font(13);
        let font = TextStyle::from((style::SANS, size).into_font());
        for (points, label, text_color) in todo {
            let points: Vec<_> = points.iter().map(|&p| self.px.pt(p)).collect();
            let (tw, th) = self
                .root
                .estimate_text_size(&label, &font)
                .map_err(draw_err)?;
            let (hw, hh) = (tw as i32 / 2 + 4, th as i32 / 2 + 3);
            let spots = [0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9];
            let at = |f: f64| point_along(&points, f);
            let rect_at = |(x, y): (i32, i32)| Rect {
                cx: x,
                cy: y,
                hw,
                hh,
            };
            // Along the path first; beside it when the path is too short (an RST
            // stub both endpoints took).
            let clear = self.px.v(layout::HH) + hh + 3;
            let beside = [
                (0, 0),
                (0, -2 * hh - 2),
                (0, 2 * hh + 2),
                (0, -clear),
                (0, clear),
            ];
            let spot = beside
                .iter()
                .flat_map(|&(dx, dy)| {
                    spots.iter().map(move |&f| {
                        let (x, y) = at(f);
                        rect_at((x + dx, y + dy))
                    })
                })
                .find(|r| !self.taken.iter().any(|o| o.overlaps(*r)))
                .unwrap_or_else(|| rect_at(at(0.5)));
            let corners = [(spot.left(), spot.top()), (spot.right(), spot.bottom())];
            self.root
                .draw(&Rectangle::new(corners, WHITE.filled()))
                .map_err(draw_err)?;
            self.root
                .draw(&Rectangle::new(
                    corners,
                    ShapeStyle::from(&color).stroke_width(2),
                ))
                .map_err(draw_err)?;
            style::text(
                self.root,
                &label,
                (spot.cx, spot.cy),
                size,
                style::SANS,
                &text_color,
                (HPos::Center, VPos::Center),
            )?;
            self.taken.push(spot);
        }
        Ok(())
    }

    fn legend(&self, ctx: &Ctx, entries: &[(Swatch, String)]) -> Result<(), ChartError> {
        let (w, _) = self.root.dim_in_pixel();
        let (places, _) = legend_places(ctx, entries, w as i32)?;
        let top = self.px.y(layout::HEIGHT) + LEGEND_GAP;
        for ((swatch, label), (row, x)) in entries.iter().zip(places) {
            let y = top + row * style::LEGEND_ROW;
            let line = [(x, y), (x + 34, y)];
            match swatch {
                Swatch::Line(c, thick) => {
                    self.line(&line, *c, if *thick { 4 } else { 2 }, false)?
                }
                Swatch::Dashed(c) => self.line(&line, *c, 2, true)?,
                Swatch::Badge => {
                    let corners = [(x + 2, y - 9), (x + 32, y + 9)];
                    self.root
                        .draw(&Rectangle::new(
                            corners,
                            ShapeStyle::from(&style::INK).stroke_width(2),
                        ))
                        .map_err(draw_err)?;
                    style::text(
                        self.root,
                        "#N",
                        (x + 17, y),
                        13,
                        style::SANS,
                        &style::INK,
                        (HPos::Center, VPos::Center),
                    )?;
                }
            }
            style::text(
                self.root,
                label,
                (x + 42, y),
                15,
                self.t.family(),
                &style::INK,
                (HPos::Left, VPos::Center),
            )?;
        }
        Ok(())
    }
}
