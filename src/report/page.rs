//! What the report's templates lay out: the [`Report`] turned into words and
//! tables in the report's language. `report.html` and `report.md` get the same
//! [`Page`]; the HTML page adds each connection's player and the inline charts.

use serde::Serialize;

use super::model::{layers_chart, link_layer_chart, ChartRef, Connection, Phase, Report};
use super::notices;
use super::player::Player;
use super::table::{self, Table};
use super::templates::{inline_svg, trusted};
use super::text::{text, Text};
use crate::analyze::TcpState;
use crate::chart::Lang;
use crate::output::words::plural;

/// The whole page.
#[derive(Debug, Serialize)]
pub struct Page {
    pub t: &'static Text,
    /// The capture's (or run's) name, after the report's title.
    pub title: String,
    /// The damaged-capture warning, first of all.
    pub damage: Option<String>,
    pub run: Option<RunView>,
    /// The capture's facts: file, hash, counts, duration.
    pub facts: Vec<Fact>,
    pub reproduce: Vec<String>,
    pub notices: Vec<String>,
    /// A TCP lab sheet's questions, answered for the first TCP connection.
    pub lab: Option<super::lab_questions::LabView>,
    pub link_layer: Option<ChartView>,
    pub layers: Option<LayersView>,
    pub connections: Vec<ConnectionView>,
    /// "3 more connections are not detailed …", when some are not.
    pub omitted: Option<String>,
    /// `None` when no frame was flagged.
    pub anomalies: Option<Table>,
    /// "1 more flagged frame is not listed", when some are not.
    pub anomalies_omitted: Option<String>,
    pub kernel: Option<KernelView>,
    /// `None` when the capture has no UDP stream.
    pub udp: Option<Table>,
    pub version: &'static str,
}

/// What was run.
#[derive(Debug, Serialize)]
pub struct RunView {
    pub scenario: String,
    pub command: String,
    /// Met or not met, in words; `None` when the run had no expectation.
    pub expectation: Option<&'static str>,
    pub mismatches: Vec<String>,
    pub notes: Vec<String>,
}

/// One labelled value; `code` values are set in a monospace font.
#[derive(Debug, Serialize)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    pub code: bool,
}

/// A chart: its title, its PNG (Markdown) and its inline SVG (HTML; `None` when it
/// could not be drawn), or why it was left out.
#[derive(Debug, Serialize)]
pub struct ChartView {
    pub title: String,
    pub png: String,
    pub svg: Option<minijinja::Value>,
    /// Set when the chart was left out on purpose: said in the picture's place.
    pub not_drawn: Option<String>,
}

/// The layers section: its intro names the frame.
#[derive(Debug, Serialize)]
pub struct LayersView {
    pub intro: String,
    pub chart: ChartView,
}

/// One endpoint's states, as a path.
#[derive(Debug, Serialize)]
pub struct StatesView {
    pub who: &'static str,
    pub path: String,
}

/// A phase of a connection in words.
#[derive(Debug, Serialize)]
pub struct PhaseView {
    pub name: &'static str,
    pub text: String,
}

/// One detailed connection.
#[derive(Debug, Serialize)]
pub struct ConnectionView {
    pub flow: u64,
    /// "Connection 1: client → server".
    pub heading: String,
    pub conn_state: &'static str,
    pub history: String,
    pub states: Vec<StatesView>,
    pub phases: Vec<PhaseView>,
    /// "120 frames", when the loader folded some away.
    pub folded: Option<String>,
    pub messages: Option<Table>,
    /// HTTP/2 connections: which frames belong to which stream.
    pub streams: Option<super::streams::Streams>,
    pub charts: Vec<ChartView>,
    pub transitions: Option<Table>,
    pub dynamics: Option<super::dynamics::Dynamics>,
    /// HTML only.
    pub player: Option<Player>,
}

/// The kernel cross-check.
#[derive(Debug, Serialize)]
pub struct KernelView {
    pub source: String,
    pub unavailable: Option<String>,
    /// Why UDP streams have no states here.
    pub note: Option<String>,
    /// (heading, table) per endpoint.
    pub tables: Vec<(String, Table)>,
}

/// Chart files to inline SVG: `svgs` maps `charts/…svg` to the SVG text.
pub type Svgs<'a> = Option<&'a std::collections::BTreeMap<String, String>>;

fn chart(c: &ChartRef, svgs: Svgs) -> ChartView {
    ChartView {
        title: c.title.clone(),
        png: c.png.clone(),
        svg: svgs
            .and_then(|m| m.get(&c.svg))
            .map(|svg| trusted(inline_svg(svg))),
        not_drawn: c.not_drawn.clone(),
    }
}

/// `with_data` names the frames that carry payload, (singular, plural): segments
/// (TCP) or datagrams (UDP).
fn phase_text(t: &Text, p: Option<Phase>, with_data: (&str, &str)) -> String {
    let Some(p) = p else {
        return t.none_seen.to_string();
    };
    let frames = if p.first_frame == p.last_frame {
        format!("{} {}", t.frame, p.first_frame)
    } else {
        format!("{} {}–{}", t.frames_range, p.first_frame, p.last_frame)
    };
    format!(
        "{frames} ({}, {}, {})",
        plural(p.frames, t.frame_word, t.frames_word),
        plural(p.segments, with_data.0, with_data.1),
        plural(p.bytes, t.byte, t.bytes)
    )
}

fn connection(c: &Connection, svgs: Svgs, lang: Lang) -> ConnectionView {
    let t = text(lang);
    let kind = if c.proto == "udp" {
        t.udp_stream
    } else {
        t.connection
    };
    let mut states = Vec::new();
    let mut phases = vec![(t.data, c.data)];
    let mut with_data = (t.datagram_with_data, t.datagrams_with_data);
    if c.proto == "tcp" {
        states = [(t.client, &c.client_states), (t.server, &c.server_states)]
            .into_iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(who, s)| StatesView {
                who,
                path: TcpState::path(s),
            })
            .collect();
        with_data = (t.segment, t.segments);
        phases = vec![
            (t.handshake, c.handshake),
            (t.data, c.data),
            (t.teardown, c.teardown),
        ];
    }
    ConnectionView {
        flow: c.flow,
        heading: format!("{kind} {}: {} → {}", c.flow, c.client, c.server),
        conn_state: c.conn_state,
        history: c.history.clone(),
        states,
        phases: phases
            .into_iter()
            .map(|(name, p)| PhaseView {
                name,
                text: phase_text(t, p, with_data),
            })
            .collect(),
        folded: (c.folded > 0).then(|| plural(c.folded, t.frame_word, t.frames_word)),
        messages: (!c.messages.is_empty()).then(|| table::messages(c, lang)),
        streams: super::streams::streams(&c.http2_streams, lang),
        charts: c.charts.iter().map(|r| chart(r, svgs)).collect(),
        transitions: (!c.transitions.is_empty()).then(|| table::transitions(c, lang)),
        dynamics: c
            .dynamics
            .as_ref()
            .map(|d| super::dynamics::dynamics(d, lang)),
        player: None,
    }
}

fn facts(r: &Report, t: &'static Text) -> Vec<Fact> {
    let s = &r.summary;
    let fact = |label, value: String, code| Fact { label, value, code };
    vec![
        fact(t.capture_file, s.capture.clone(), true),
        fact("SHA-256", s.sha256.clone(), true),
        fact(t.frames, s.frames.to_string(), false),
        fact(t.tcp_connections, s.tcp_connections.to_string(), false),
        fact(t.udp_streams, s.udp_streams.to_string(), false),
        fact(t.other_frames, s.other_frames.to_string(), false),
        fact(t.duration, format!("{} s", s.duration), false),
    ]
}

fn run(r: &Report, t: &'static Text) -> Option<RunView> {
    let run = r.summary.run.as_ref()?;
    Some(RunView {
        scenario: run.scenario.clone(),
        command: run.command.clone(),
        expectation: run.expectation_met.map(|met| {
            if met {
                t.expectation_met
            } else {
                t.expectation_failed
            }
        }),
        mismatches: run.mismatches.clone(),
        notes: run.notes.clone(),
    })
}

/// The page of report `r`; with `svgs`, the charts are inlined (HTML).
pub fn page(r: &Report, svgs: Svgs, lang: Lang) -> Page {
    let t = text(lang);
    let layers = r.layers.map(|l| LayersView {
        intro: t.layers_intro.replace("{frame}", &l.frame.to_string()),
        chart: chart(&layers_chart(lang), svgs),
    });
    Page {
        t,
        title: r.summary.capture_name.clone(),
        damage: r.summary.damage.as_ref().map(|d| notices::damage(d, lang)),
        run: run(r, t),
        facts: facts(r, t),
        reproduce: r.summary.reproduce.clone(),
        notices: r.notices.clone(),
        lab: r
            .lab_questions
            .as_ref()
            .map(|a| super::lab_questions::view(a, lang)),
        link_layer: r.link_layer.then(|| chart(&link_layer_chart(lang), svgs)),
        layers,
        connections: r
            .connections
            .iter()
            .map(|c| connection(c, svgs, lang))
            .collect(),
        omitted: (r.omitted_connections > 0)
            .then(|| plural(r.omitted_connections, t.omitted_one, t.omitted)),
        anomalies: (!r.anomalies.is_empty()).then(|| table::anomalies(&r.anomalies, lang)),
        anomalies_omitted: (r.anomalies_omitted > 0)
            .then(|| plural(r.anomalies_omitted, t.anomalies_cut_one, t.anomalies_cut)),
        kernel: r.kernel.as_ref().map(|k| KernelView {
            source: k.source.clone(),
            unavailable: k.unavailable.clone(),
            note: r.kernel_note.clone(),
            tables: table::kernel(r, lang),
        }),
        udp: (!r.udp.is_empty()).then(|| table::udp(&r.udp, lang)),
        version: env!("CARGO_PKG_VERSION"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bug: "Frame 1–1 (1 frames, 1 segments with data, …)".
    #[test]
    fn a_phase_of_one_frame_is_said_in_the_singular() {
        let one = Phase {
            first_frame: 7,
            last_frame: 7,
            frames: 1,
            segments: 1,
            bytes: 1,
        };
        let en = text(Lang::En);
        assert_eq!(
            phase_text(en, Some(one), (en.segment, en.segments)),
            "Frame 7 (1 frame, 1 segment with data, 1 byte)"
        );
        let many = Phase {
            first_frame: 4,
            last_frame: 15,
            frames: 12,
            segments: 0,
            bytes: 6000,
        };
        assert_eq!(
            phase_text(
                en,
                Some(many),
                (en.datagram_with_data, en.datagrams_with_data)
            ),
            "Frames 4–15 (12 frames, 0 datagrams with data, 6000 bytes)"
        );
        let zh = text(Lang::Zh);
        assert_eq!(
            phase_text(zh, Some(one), (zh.segment, zh.segments)),
            "帧 7 (1 帧, 1 个携带数据的报文段, 1 字节)"
        );
    }
}
