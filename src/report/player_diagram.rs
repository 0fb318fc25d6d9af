//! The player's state-transition diagram: the layout of the diagram chart
//! ([`crate::chart::diagram_layout`]) as values for `player.html` to draw, with an
//! id per box and per arrow, so `player.js` can light each endpoint's state and
//! the arc it just took as the student steps. A connection's moves that the
//! standard diagram has no arc for get red arrows of their own after the
//! standard ones, so every step has something to light.

use serde::Serialize;

use super::model::{Connection, TransitionRow};
use crate::analyze::diagram::{DiagramArc, Drawn};
use crate::analyze::TcpState;
use crate::chart::diagram_layout::{self as layout, offset, Layout, Node, Side};
use crate::chart::{state_color, Lang};

/// How far each endpoint's trace runs beside an arrow (client left, server right).
const TRACE: i32 = 5;
/// Height of a label line, in design units.
const LINE: i32 = 16;

/// Everything `player.html` needs to draw one connection's diagram.
#[derive(Debug, Clone, Serialize)]
pub struct DiagramView {
    /// The player's id (`p1`): boxes are `{id}-n-{key}`, arrows `{id}-e{index}`.
    pub id: String,
    pub width: i32,
    pub height: i32,
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
}

/// One box.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    pub key: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub name: &'static str,
    /// The Chinese caption under the name (empty in English).
    pub caption: &'static str,
    /// A small CLOSED box reached by RST.
    pub small: bool,
    pub fill: String,
}

/// One arrow: its own path, each endpoint's trace beside it, its label.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeView {
    /// `arc`, `text-only`, `never` or `anomaly` (the page's CSS draws them).
    pub class: &'static str,
    pub d: String,
    pub client: String,
    pub server: String,
    pub lines: Vec<LineView>,
}

/// One line of a label.
#[derive(Debug, Clone, Serialize)]
pub struct LineView {
    pub x: i32,
    pub y: i32,
    /// SVG `text-anchor`.
    pub anchor: &'static str,
    pub text: String,
    pub small: bool,
}

fn path_d(points: &[(i32, i32)]) -> String {
    points
        .iter()
        .enumerate()
        .map(|(i, (x, y))| format!("{}{x} {y}", if i == 0 { "M" } else { " L" }))
        .collect()
}

/// Lines of a label placed as the chart places them: `at` and `side` as in the
/// layout, baselines a line apart.
fn lines_at(texts: &[String], at: layout::LabelAt, small: bool) -> Vec<LineView> {
    let r = at.rect(0, texts.len() as i32, LINE);
    let (x, anchor) = match at.side {
        Side::Left | Side::AboveLeft => (at.x, "end"),
        Side::Right | Side::AboveRight => (at.x, "start"),
        Side::Above | Side::Below => (at.x, "middle"),
    };
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| LineView {
            x,
            y: r.top() + LINE * i as i32 + 12,
            anchor,
            text: text.clone(),
            small,
        })
        .collect()
}

/// The moves of this connection that the standard diagram has no arc for, once
/// each, in the order they first happen.
pub fn off_diagram(c: &Connection) -> Vec<(TcpState, TcpState)> {
    let mut out = Vec::new();
    for t in &c.transitions {
        if DiagramArc::of(t.from, t.to, t.reason).is_none() && !out.contains(&(t.from, t.to)) {
            out.push((t.from, t.to));
        }
    }
    out
}

/// Where a transition goes on the player's diagram: the index of its arrow and
/// the key of the box it ends in.
pub fn place(l: &Layout, extra: &[(TcpState, TcpState)], t: &TransitionRow) -> (usize, String) {
    if let Some(i) = DiagramArc::of(t.from, t.to, t.reason).and_then(|a| l.edge_of(a)) {
        return (i, l.edges[i].to.key());
    }
    let k = extra
        .iter()
        .position(|&p| p == (t.from, t.to))
        .unwrap_or_default();
    (l.edges.len() + k, l.anomaly_route(t.from, t.to).0.key())
}

/// The box an endpoint starts in.
pub fn start_key(states: &[TcpState]) -> String {
    Node::State(states.first().copied().unwrap_or(TcpState::Closed)).key()
}

/// The diagram of one connection's player `id`, and the arrows of its moves off
/// the standard diagram (for [`place`]).
pub fn diagram(id: &str, c: &Connection, lang: Lang) -> (DiagramView, Vec<(TcpState, TcpState)>) {
    let mut view = standard(id, lang);
    let l = Layout::standard();
    let extra = off_diagram(c);
    let anomaly = if lang == Lang::Zh {
        "异常"
    } else {
        "anomaly"
    };
    for &(from, to) in &extra {
        let (_, points) = l.anomaly_route(from, to);
        let mid = layout::point_along(&points, 0.5);
        view.edges.push(EdgeView {
            class: "anomaly",
            d: path_d(&points),
            client: path_d(&offset(&points, -TRACE)),
            server: path_d(&offset(&points, TRACE)),
            lines: lines_at(
                &[format!("{anomaly}: {from} → {to}")],
                layout::LabelAt {
                    x: mid.0 + 6,
                    y: mid.1,
                    side: Side::Right,
                },
                false,
            ),
        });
    }
    (view, extra)
}

/// The standard diagram alone, with no connection's moves off it: what the live
/// page (`protolab watch`) lights for whichever connection is selected.
pub fn standard(id: &str, lang: Lang) -> DiagramView {
    let l = Layout::standard();
    let zh = lang == Lang::Zh;
    let nodes = l
        .nodes
        .iter()
        .map(|(n, r)| NodeView {
            key: n.key(),
            x: r.left(),
            y: r.top(),
            w: r.hw * 2,
            h: r.hh * 2,
            name: n.state().name(),
            caption: if zh && !matches!(n, Node::Reset(_)) {
                layout::state_caption_zh(n.state())
            } else {
                ""
            },
            small: matches!(n, Node::Reset(_)),
            fill: if matches!(n, Node::Reset(_)) {
                "#ececec".to_string()
            } else {
                css_color(n.state())
            },
        })
        .collect();
    let edges: Vec<EdgeView> = l
        .edges
        .iter()
        .map(|e| {
            let mut texts: Vec<String> = e.label_lines(zh).into_iter().map(String::from).collect();
            if e.linux_never() {
                if let Some(last) = texts.last_mut() {
                    last.push_str(" †");
                }
            }
            let class = match (e.drawn, e.linux_never()) {
                (Drawn::TextOnly, _) => "text-only",
                (Drawn::Figure, true) => "never",
                (Drawn::Figure, false) => "arc",
            };
            EdgeView {
                class,
                d: path_d(&e.points),
                client: path_d(&offset(&e.points, -TRACE)),
                server: path_d(&offset(&e.points, TRACE)),
                lines: lines_at(&texts, e.label, matches!(e.to, Node::Reset(_))),
            }
        })
        .collect();
    DiagramView {
        id: id.to_string(),
        width: layout::WIDTH,
        height: layout::HEIGHT,
        nodes,
        edges,
    }
}

/// The diagram as SVG markup, drawn by the report player's own template macro.
pub fn svg(view: &DiagramView) -> String {
    super::templates::render_str(
        "{% from \"player.html\" import diagram %}{{ diagram(d) }}",
        minijinja::context! { d => view },
    )
}

/// A state's colour (the state timeline's) as CSS.
fn css_color(s: TcpState) -> String {
    let c = state_color(s);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}
