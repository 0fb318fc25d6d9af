//! Where the state-transition diagram puts its boxes and arrows: the textbook
//! arrangement of RFC 9293 Figure 5, in a fixed design space of [`WIDTH`] ×
//! [`HEIGHT`] units that the chart scales to its canvas and the report's player
//! uses as its SVG `viewBox`.
//!
//! CLOSED is at the top, LISTEN under it, SYN_RECEIVED and SYN_SENT on either side,
//! ESTABLISHED in the middle; the active close runs down the left (FIN_WAIT_1,
//! FIN_WAIT_2), the passive close down the right (CLOSE_WAIT, LAST_ACK), CLOSING
//! and TIME_WAIT in the middle, and a second CLOSED box at the bottom right, as in
//! the RFC's figure. Every arc of [`DIAGRAM`] is on one [`Edge`]: arcs between the
//! same two states drawn the same way share an arrow and a combined label. The
//! RST arcs that the RFC states only in its text would cross the whole picture, so
//! each is a short dashed arrow from its state to a small CLOSED box of its own.
//!
//! Pure geometry: no drawing here. The routes are laid out by hand, as the figure
//! is, so that no two labels meet; a test checks that.

use serde::Serialize;

use crate::analyze::diagram::{DiagramArc, Drawn, Linux, DIAGRAM};
use crate::analyze::TcpState;

/// The design space's size, in units (pixels at scale 1).
pub const WIDTH: i32 = 1240;
/// Down to the last box; legends go below.
pub const HEIGHT: i32 = 1000;

/// Half the width and height of a state's box.
pub const HW: i32 = 92;
pub const HH: i32 = 24;
/// Half the width and height of a small CLOSED box reached by RST.
pub const RESET_HW: i32 = 38;
pub const RESET_HH: i32 = 11;
/// Length of the dashed stub to a small CLOSED box.
const STUB: i32 = 40;

// Columns and rows of the figure.
const L: i32 = 230;
const C: i32 = 620;
const R: i32 = 1010;
const Y: [i32; 7] = [130, 250, 380, 510, 640, 780, 910];

/// A polyline in design units.
pub type Points = Vec<(i32, i32)>;

/// Where an arrow goes: the box it ends in, its route, its label's place.
type Route = (Node, Points, LabelAt);

/// A box of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// A state's box; CLOSED is the one at the top, where connections start.
    State(TcpState),
    /// The CLOSED box at the bottom, where an orderly close ends.
    ClosedEnd,
    /// The small CLOSED box beside a state, reached from it by RST.
    Reset(TcpState),
}

impl Node {
    /// The state the box stands for.
    pub fn state(self) -> TcpState {
        match self {
            Node::State(s) => s,
            Node::ClosedEnd | Node::Reset(_) => TcpState::Closed,
        }
    }

    /// A name usable in an HTML id: `ESTABLISHED`, `CLOSED-end`, `RST-ESTABLISHED`.
    pub fn key(self) -> String {
        match self {
            Node::State(s) => s.name().to_string(),
            Node::ClosedEnd => "CLOSED-end".to_string(),
            Node::Reset(s) => format!("RST-{}", s.name()),
        }
    }
}

/// A box's place: its centre and half sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    pub cx: i32,
    pub cy: i32,
    pub hw: i32,
    pub hh: i32,
}

impl Rect {
    pub fn left(self) -> i32 {
        self.cx - self.hw
    }
    pub fn top(self) -> i32 {
        self.cy - self.hh
    }
    pub fn right(self) -> i32 {
        self.cx + self.hw
    }
    pub fn bottom(self) -> i32 {
        self.cy + self.hh
    }

    /// The point where the line from the centre towards `(x, y)` leaves the box.
    pub fn border_towards(self, (x, y): (i32, i32)) -> (i32, i32) {
        let (dx, dy) = (f64::from(x - self.cx), f64::from(y - self.cy));
        if dx == 0.0 && dy == 0.0 {
            return (self.cx, self.cy);
        }
        let sx = if dx == 0.0 {
            f64::INFINITY
        } else {
            f64::from(self.hw) / dx.abs()
        };
        let sy = if dy == 0.0 {
            f64::INFINITY
        } else {
            f64::from(self.hh) / dy.abs()
        };
        let s = sx.min(sy);
        (
            self.cx + (dx * s).round() as i32,
            self.cy + (dy * s).round() as i32,
        )
    }

    /// Whether two rectangles overlap.
    pub fn overlaps(self, o: Rect) -> bool {
        (self.cx - o.cx).abs() < self.hw + o.hw && (self.cy - o.cy).abs() < self.hh + o.hh
    }
}

/// Which side of its anchor point a label's text is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Side {
    /// Text ends at the point (right-aligned, vertically centred).
    Left,
    /// Text starts at the point.
    Right,
    /// Text is centred above the point (its last line ends there).
    Above,
    /// Text is centred below the point (its first line starts there).
    Below,
    /// Starts at the point and rises from it: beside a line going down and right.
    AboveRight,
    /// Ends at the point and rises from it: beside a line going down and left.
    AboveLeft,
}

/// Where an edge's label goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LabelAt {
    pub x: i32,
    pub y: i32,
    pub side: Side,
}

/// One arrow of the picture: the arcs of [`DIAGRAM`] from `from` to `to` drawn
/// the same way.
#[derive(Debug, Clone)]
pub struct Edge {
    pub from: Node,
    pub to: Node,
    pub drawn: Drawn,
    pub arcs: Vec<&'static DiagramArc>,
    /// The route, from the source box's border to the target's (the arrow's tip).
    pub points: Vec<(i32, i32)>,
    pub label: LabelAt,
}

impl Edge {
    /// Whether Linux can take none of the edge's arcs.
    pub fn linux_never(&self) -> bool {
        self.arcs.iter().all(|a| matches!(a.linux, Linux::Never(_)))
    }

    /// The label's lines: each arc's label once, in table order. An RST stub says
    /// only "RST" (the legend says the rest).
    pub fn label_lines(&self, zh: bool) -> Vec<&'static str> {
        if matches!(self.to, Node::Reset(_)) {
            return vec!["RST"];
        }
        let mut lines: Vec<&'static str> = Vec::new();
        for a in &self.arcs {
            let l = a.label_in(zh);
            if !lines.contains(&l) {
                lines.push(l);
            }
        }
        lines
    }
}

impl LabelAt {
    /// The rectangle `lines` take at this place, for text `width` units wide per
    /// line and `line` units per line (the chart measures; tests estimate).
    pub fn rect(self, width: i32, lines: i32, line: i32) -> Rect {
        let height = lines * line;
        let (left, top) = match self.side {
            Side::Left => (self.x - width, self.y - height / 2),
            Side::Right => (self.x, self.y - height / 2),
            Side::Above => (self.x - width / 2, self.y - height),
            Side::Below => (self.x - width / 2, self.y),
            Side::AboveRight => (self.x, self.y - height),
            Side::AboveLeft => (self.x - width, self.y - height),
        };
        Rect {
            cx: left + width / 2,
            cy: top + height / 2,
            hw: width / 2,
            hh: height / 2,
        }
    }
}

/// The whole picture's geometry.
#[derive(Debug, Clone)]
pub struct Layout {
    pub nodes: Vec<(Node, Rect)>,
    pub edges: Vec<Edge>,
}

/// Where each state's box is.
fn state_rect(s: TcpState) -> Rect {
    use TcpState::*;
    let (cx, cy) = match s {
        Closed => (C, Y[0]),
        Listen => (C, Y[1]),
        SynReceived => (L, Y[2]),
        SynSent => (R, Y[2]),
        Established => (C, Y[3]),
        FinWait1 => (L, Y[4]),
        CloseWait => (R, Y[4]),
        FinWait2 => (L, Y[5]),
        Closing => (C, Y[5]),
        LastAck => (R, Y[5]),
        TimeWait => (C, Y[6]),
    };
    Rect {
        cx,
        cy,
        hw: HW,
        hh: HH,
    }
}

/// Which way a state's RST stub leaves it: outwards on the sides, down from TIME_WAIT.
#[derive(Clone, Copy)]
enum Out {
    Left,
    Right,
    Down,
}

fn reset_side(s: TcpState) -> Out {
    match state_rect(s).cx {
        L => Out::Left,
        _ if s == TcpState::TimeWait => Out::Down,
        _ => Out::Right,
    }
}

/// The small CLOSED box beside `s`, and the stub to it.
fn reset_route(s: TcpState) -> (Rect, Points, LabelAt) {
    let r = state_rect(s);
    let small = |cx, cy| Rect {
        cx,
        cy,
        hw: RESET_HW,
        hh: RESET_HH,
    };
    match reset_side(s) {
        Out::Left => (
            small(r.left() - STUB - RESET_HW, r.cy),
            vec![(r.left(), r.cy), (r.left() - STUB, r.cy)],
            LabelAt {
                x: r.left() - STUB / 2,
                y: r.cy - 4,
                side: Side::Above,
            },
        ),
        Out::Right => (
            small(r.right() + STUB + RESET_HW, r.cy),
            vec![(r.right(), r.cy), (r.right() + STUB, r.cy)],
            LabelAt {
                x: r.right() + STUB / 2,
                y: r.cy - 4,
                side: Side::Above,
            },
        ),
        Out::Down => (
            small(r.cx, r.bottom() + STUB + RESET_HH),
            vec![(r.cx, r.bottom()), (r.cx, r.bottom() + STUB)],
            LabelAt {
                x: r.cx + 6,
                y: r.bottom() + STUB / 2,
                side: Side::Right,
            },
        ),
    }
}

/// The route and label of the figure's (and the text's SYN_RECEIVED → CLOSE_WAIT)
/// arrows, laid out as RFC 9293 Figure 5 does.
fn route(from: TcpState, to: TcpState) -> Option<Route> {
    use Side::*;
    use TcpState::*;
    let at = |x, y, side| LabelAt { x, y, side };
    let mid = |a: i32, b: i32| (a + b) / 2;
    let state = Node::State;
    let (y0, y1, y2, y3, y4, y5, y6) = (Y[0], Y[1], Y[2], Y[3], Y[4], Y[5], Y[6]);
    Some(match (from, to) {
        (Closed, Listen) => (
            state(to),
            vec![(C - 30, y0 + HH), (C - 30, y1 - HH)],
            at(C - 38, mid(y0, y1), Left),
        ),
        (Listen, Closed) => (
            state(to),
            vec![(C + 30, y1 - HH), (C + 30, y0 + HH)],
            at(C + 38, mid(y0, y1), Right),
        ),
        (Closed, SynSent) => (
            state(to),
            vec![(C + HW, y0 - 10), (R + 30, y0 - 10), (R + 30, y2 - HH)],
            at(mid(C + HW, R + 30), y0 - 14, Above),
        ),
        (SynSent, Closed) => (
            state(to),
            vec![(R - 30, y2 - HH), (R - 30, y0 + 12), (C + HW, y0 + 12)],
            at(mid(C + HW, R - 30), y0 + 16, Below),
        ),
        (Listen, SynReceived) => (
            state(to),
            vec![(C - HW, y1 + 8), (L + 30, y1 + 8), (L + 30, y2 - HH)],
            at(mid(L + 30, C - HW), y1 + 12, Below),
        ),
        (SynReceived, Listen) => (
            state(to),
            vec![(L - 30, y2 - HH), (L - 30, y1 - 8), (C - HW, y1 - 8)],
            at(mid(L - 30, C - HW), y1 - 12, Above),
        ),
        (Listen, SynSent) => (
            state(to),
            vec![(C + HW, y1 + 8), (R - 70, y1 + 8), (R - 70, y2 - HH)],
            at(mid(C + HW, R - 70), y1 + 12, Below),
        ),
        (SynSent, SynReceived) => (
            state(to),
            vec![(R - HW, y2), (L + HW, y2)],
            at(C, y2 + 4, Below),
        ),
        (SynSent, Established) => (
            state(to),
            vec![(R - 60, y2 + HH), (C + 50, y3 - HH)],
            at(mid(R - 60, C + 50) - 6, mid(y2, y3) - 8, AboveLeft),
        ),
        (SynReceived, Established) => (
            state(to),
            vec![(L + 60, y2 + HH), (C - 50, y3 - HH)],
            at(mid(L + 60, C - 50) + 6, mid(y2, y3) - 8, AboveRight),
        ),
        (SynReceived, FinWait1) => (
            state(to),
            vec![(L - 40, y2 + HH), (L - 40, y4 - HH)],
            at(L - 48, mid(y2, y4), Left),
        ),
        (SynReceived, CloseWait) => (
            state(to),
            vec![
                (L + 10, y2 + HH),
                (L + 10, y3 + 45),
                (R - 60, y3 + 45),
                (R - 60, y4 - HH),
            ],
            at(mid(C + 50, R - 60), y3 + 49, Below),
        ),
        (Established, FinWait1) => (
            state(to),
            vec![(C - 50, y3 + HH), (C - 50, y4 - 8), (L + HW, y4 - 8)],
            at(mid(L + HW, C - 50), y4 - 12, Above),
        ),
        (Established, CloseWait) => (
            state(to),
            vec![(C + 50, y3 + HH), (C + 50, y4), (R - HW, y4)],
            at(mid(C + 50, R - HW), y4 - 4, Above),
        ),
        (FinWait1, FinWait2) => (
            state(to),
            vec![(L, y4 + HH), (L, y5 - HH)],
            at(L - 8, mid(y4, y5), Left),
        ),
        (FinWait1, Closing) => (
            state(to),
            vec![(L + HW, y4 + 14), (C - 10, y4 + 14), (C - 10, y5 - HH)],
            at(mid(L + HW, C - 10), y4 + 24, Below),
        ),
        (FinWait1, TimeWait) => {
            let (a, b) = ((L + 60, y4 + HH), (C - 60, y6 - HH));
            // A third of the way down, clear of FIN_WAIT_2 and of CLOSING.
            let p = (a.0 + (b.0 - a.0) * 35 / 100, a.1 + (b.1 - a.1) * 35 / 100);
            (state(to), vec![a, b], at(p.0 + 8, p.1 - 6, AboveRight))
        }
        (FinWait2, TimeWait) => (
            state(to),
            vec![(L, y5 + HH), (L, y6), (C - HW, y6)],
            at(mid(L, C - HW), y6 - 4, Above),
        ),
        (Closing, TimeWait) => (
            state(to),
            vec![(C, y5 + HH), (C, y6 - HH)],
            at(C + 8, mid(y5, y6), Right),
        ),
        (CloseWait, LastAck) => (
            state(to),
            vec![(R, y4 + HH), (R, y5 - HH)],
            at(R + 8, mid(y4, y5), Right),
        ),
        (LastAck, Closed) => (
            Node::ClosedEnd,
            vec![(R, y5 + HH), (R, y6 - HH)],
            at(R + 8, mid(y5, y6), Right),
        ),
        (TimeWait, Closed) => (
            Node::ClosedEnd,
            vec![(C + HW, y6), (R - HW, y6)],
            at(mid(C + HW, R - HW), y6 - 4, Above),
        ),
        _ => return None,
    })
}

/// The box a transition starts from: CLOSED is the top box.
pub fn from_node(s: TcpState) -> Node {
    Node::State(s)
}

impl Layout {
    /// The diagram: every state's box, the bottom CLOSED box, and every arc of
    /// [`DIAGRAM`] on one edge.
    pub fn standard() -> Layout {
        let mut nodes: Vec<(Node, Rect)> = TcpState::ALL
            .iter()
            .map(|&s| (Node::State(s), state_rect(s)))
            .collect();
        nodes.push((
            Node::ClosedEnd,
            Rect {
                cx: R,
                cy: Y[6],
                hw: HW,
                hh: HH,
            },
        ));
        let mut edges: Vec<Edge> = Vec::new();
        for arc in DIAGRAM {
            let same = |e: &&mut Edge| {
                e.from.state() == arc.from && e.to.state() == arc.to && e.drawn == arc.drawn
            };
            if let Some(e) = edges.iter_mut().find(same) {
                e.arcs.push(arc);
                continue;
            }
            let reset = arc.drawn == Drawn::TextOnly && arc.to == TcpState::Closed;
            let (to, points, label) = if reset {
                let (rect, points, label) = reset_route(arc.from);
                nodes.push((Node::Reset(arc.from), rect));
                (Node::Reset(arc.from), points, label)
            } else {
                // An arc the table gains without a route here is still drawn: a
                // straight arrow between the boxes (the layout test fails on it).
                route(arc.from, arc.to).unwrap_or_else(|| {
                    let (a, b) = (state_rect(arc.from), state_rect(arc.to));
                    let points = vec![
                        a.border_towards((b.cx, b.cy)),
                        b.border_towards((a.cx, a.cy)),
                    ];
                    let label = LabelAt {
                        x: (a.cx + b.cx) / 2,
                        y: (a.cy + b.cy) / 2,
                        side: Side::Right,
                    };
                    (Node::State(arc.to), points, label)
                })
            };
            edges.push(Edge {
                from: from_node(arc.from),
                to,
                drawn: arc.drawn,
                arcs: vec![arc],
                points,
                label,
            });
        }
        Layout { nodes, edges }
    }

    /// Where `node` is.
    pub fn rect(&self, node: Node) -> Option<Rect> {
        self.nodes.iter().find(|(n, _)| *n == node).map(|(_, r)| *r)
    }

    /// The index of the edge an arc is drawn on.
    pub fn edge_of(&self, arc: &DiagramArc) -> Option<usize> {
        self.edges.iter().position(|e| e.arcs.contains(&arc))
    }

    /// The route of a move the diagram has no arc for: straight from box to box
    /// (to the bottom CLOSED box when it ends in CLOSED).
    pub fn anomaly_route(&self, from: TcpState, to: TcpState) -> (Node, Vec<(i32, i32)>) {
        let target = if to == TcpState::Closed {
            Node::ClosedEnd
        } else {
            Node::State(to)
        };
        let a = state_rect(from);
        let b = self.rect(target).unwrap_or_else(|| state_rect(to));
        if a == b {
            // A state "moving" to itself: a small loop on its right.
            let (x, y) = (a.right(), a.cy);
            return (
                target,
                vec![(x, y - 8), (x + 30, y - 8), (x + 30, y + 8), (x, y + 8)],
            );
        }
        (
            target,
            vec![
                a.border_towards((b.cx, b.cy)),
                b.border_towards((a.cx, a.cy)),
            ],
        )
    }
}

/// The Chinese caption under a state's name (the names of the Chinese textbooks).
pub fn state_caption_zh(s: TcpState) -> &'static str {
    match s {
        TcpState::Closed => "关闭",
        TcpState::Listen => "监听",
        TcpState::SynSent => "同步已发送",
        TcpState::SynReceived => "同步收到",
        TcpState::Established => "已建立连接",
        TcpState::FinWait1 => "终止等待 1",
        TcpState::FinWait2 => "终止等待 2",
        TcpState::Closing => "同时关闭",
        TcpState::TimeWait => "时间等待",
        TcpState::CloseWait => "关闭等待",
        TcpState::LastAck => "最后确认",
    }
}

/// `points` moved `d` units to the left of their direction (negative: right),
/// corners mitred, so a path runs beside the edge it follows.
pub fn offset(points: &[(i32, i32)], d: i32) -> Vec<(i32, i32)> {
    let normal = |a: (i32, i32), b: (i32, i32)| {
        let (dx, dy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
        let len = dx.hypot(dy).max(1.0);
        (dy / len, -dx / len)
    };
    let d = f64::from(d);
    let n = points.len();
    (0..n)
        .map(|i| {
            let before = (i > 0).then(|| normal(points[i - 1], points[i]));
            let after = (i + 1 < n).then(|| normal(points[i], points[i + 1]));
            let (nx, ny) = match (before, after) {
                (Some(a), Some(b)) => {
                    let k = 1.0 + a.0 * b.0 + a.1 * b.1;
                    if k.abs() < 1e-6 {
                        a
                    } else {
                        ((a.0 + b.0) / k, (a.1 + b.1) / k)
                    }
                }
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => (0.0, 0.0),
            };
            (
                points[i].0 + (nx * d).round() as i32,
                points[i].1 + (ny * d).round() as i32,
            )
        })
        .collect()
}

/// The point a fraction `f` of the way along a polyline.
pub fn point_along(points: &[(i32, i32)], f: f64) -> (i32, i32) {
    let seg = |a: (i32, i32), b: (i32, i32)| f64::from(b.0 - a.0).hypot(f64::from(b.1 - a.1));
    let total: f64 = points.windows(2).map(|w| seg(w[0], w[1])).sum();
    let mut left = total * f;
    for w in points.windows(2) {
        let l = seg(w[0], w[1]);
        if left <= l && l > 0.0 {
            let k = left / l;
            return (
                w[0].0 + (f64::from(w[1].0 - w[0].0) * k).round() as i32,
                w[0].1 + (f64::from(w[1].1 - w[0].1) * k).round() as i32,
            );
        }
        left -= l;
    }
    points.last().copied().unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_arc_is_on_one_routed_edge() {
        let l = Layout::standard();
        for arc in DIAGRAM {
            let on: Vec<_> = l.edges.iter().filter(|e| e.arcs.contains(&arc)).collect();
            assert_eq!(on.len(), 1, "{arc:?}");
            let reset = arc.drawn == Drawn::TextOnly && arc.to == TcpState::Closed;
            assert!(
                reset || route(arc.from, arc.to).is_some(),
                "{arc:?} has no route"
            );
        }
        // The two SYN_SENT → CLOSED arcs of the figure (close, timeout) share one.
        let close = DIAGRAM
            .iter()
            .find(|a| {
                a.from == TcpState::SynSent && a.to == TcpState::Closed && a.drawn == Drawn::Figure
            })
            .unwrap();
        let e = &l.edges[l.edge_of(close).unwrap()];
        assert_eq!(e.label_lines(false).len(), 2, "{:?}", e.label_lines(false));
    }

    #[test]
    fn every_route_starts_and_ends_on_its_boxes() {
        let l = Layout::standard();
        let on_border = |r: Rect, (x, y): (i32, i32)| {
            let inside_x = (r.left()..=r.right()).contains(&x);
            let inside_y = (r.top()..=r.bottom()).contains(&y);
            (inside_x && (y == r.top() || y == r.bottom()))
                || (inside_y && (x == r.left() || x == r.right()))
        };
        for e in &l.edges {
            let a = l.rect(e.from).unwrap();
            let b = l.rect(e.to).unwrap();
            assert!(on_border(a, e.points[0]), "{:?} → {:?} start", e.from, e.to);
            assert!(
                on_border(b, *e.points.last().unwrap()),
                "{:?} → {:?} end {:?} not on {b:?}",
                e.from,
                e.to,
                e.points.last()
            );
        }
    }

    #[test]
    fn labels_overlap_no_other_label_and_no_box() {
        // At 14 px, DejaVu Sans averages under 8 px a character, a Chinese one 14.
        let l = Layout::standard();
        for zh in [false, true] {
            let rects: Vec<(String, Rect)> = l
                .edges
                .iter()
                .map(|e| {
                    let lines = e.label_lines(zh);
                    let width = lines
                        .iter()
                        .map(|s| s.chars().map(|c| if c.is_ascii() { 8 } else { 14 }).sum())
                        .max()
                        .unwrap_or(0);
                    let r = e.label.rect(width, lines.len() as i32, 16);
                    (lines.join(" | "), r)
                })
                .collect();
            for (i, (a, ra)) in rects.iter().enumerate() {
                for (b, rb) in &rects[i + 1..] {
                    assert!(!ra.overlaps(*rb), "{a:?} meets {b:?}");
                }
                for (n, r) in &l.nodes {
                    assert!(!ra.overlaps(*r), "{a:?} meets box {n:?}");
                }
                assert!(
                    ra.left() >= 0 && ra.right() <= WIDTH,
                    "{a:?} off the picture"
                );
            }
        }
    }

    #[test]
    fn boxes_do_not_overlap_and_fit_the_design_space() {
        let l = Layout::standard();
        for (i, (n, r)) in l.nodes.iter().enumerate() {
            assert!(r.left() >= 0 && r.right() <= WIDTH, "{n:?}");
            assert!(r.top() >= 60 && r.bottom() <= HEIGHT, "{n:?}");
            for (m, o) in &l.nodes[i + 1..] {
                assert!(!r.overlaps(*o), "{n:?} and {m:?}");
            }
        }
    }

    #[test]
    fn an_offset_path_runs_beside_its_edge_at_a_constant_distance() {
        // Right, then down: to the left of "right" is up (y smaller) in screen terms.
        let p = offset(&[(0, 0), (100, 0), (100, 100)], 5);
        assert_eq!(p, vec![(0, -5), (105, -5), (105, 100)]);
    }

    #[test]
    fn a_point_along_a_polyline_goes_by_length() {
        let p = [(0, 0), (100, 0), (100, 100)];
        assert_eq!(point_along(&p, 0.5), (100, 0));
        assert_eq!(point_along(&p, 0.25), (50, 0));
        assert_eq!(point_along(&p, 1.0), (100, 100));
    }
}
