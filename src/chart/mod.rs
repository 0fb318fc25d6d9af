//! Pictures of a capture: ladder diagrams, state timelines, the state-transition
//! diagram, sequence graphs, throughput, RTT samples with the RTO estimator, bytes
//! in flight against the windows, and the encapsulation of one frame; and the pictures of
//! `protolab compare` ([`compare`]).
//!
//! Pure: a [`CaptureData`] goes in, a drawing comes out on any plotters backend.
//! [`render_svg`] and [`render_png`] are the two backends the CLI and the report use.
//! Latin text uses the embedded DejaVu fonts, so English charts are the same on
//! every machine. Chinese labels (`Lang::Zh`) name a list of CJK font families in
//! SVG, which any browser resolves; PNG needs a CJK font, which no crate ships: the
//! edge that reads the system's font file hands its bytes to [`register_cjk_font`]
//! (`protolab chart` and the reports do). Without it Chinese glyphs show as boxes
//! in PNG.

pub mod compare;
pub mod data;
mod diagram;
pub mod diagram_layout;
pub mod diagram_path;
mod ladder;
mod layers;
mod seq;
mod states;
mod style;
mod text;
mod throughput;
mod window;

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

pub use data::{CaptureData, Collector, Damage, FrameRecord, LoadLimits};
pub use seq::data_directions;
pub use states::state_color;
pub use style::register_cjk_font;
pub use throughput::{estimate_lines, rtt_samples, EstimatePoint, RttSample};
pub use window::KernelWindow;

use crate::analyze::FlowSummary;
use crate::model::kernel::KernelComparison;
use crate::model::tcp_dynamics::CongStateChange;

/// Which picture to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Sequence (ladder) diagram: one arrow per segment between two lifelines.
    Ladder,
    /// Both endpoints' states as coloured bands over time.
    States,
    /// Stevens / tcptrace sequence-number graph of each direction that carried data.
    Seq,
    /// Bytes per interval, both directions.
    Throughput,
    /// Data → ACK round-trip samples.
    Rtt,
    /// Encapsulation of one frame: nested headers and a coloured hex dump.
    Layers,
    /// The TCP state-transition diagram with each endpoint's path over it.
    Diagram,
    /// Bytes in flight, the receive window and the inferred phases of one sender.
    Window,
}

impl ChartKind {
    pub const ALL: [ChartKind; 8] = [
        ChartKind::Ladder,
        ChartKind::States,
        ChartKind::Diagram,
        ChartKind::Seq,
        ChartKind::Throughput,
        ChartKind::Rtt,
        ChartKind::Window,
        ChartKind::Layers,
    ];

    /// What the picture shows, in one line (the command line's help).
    pub fn about(self) -> &'static str {
        match self {
            ChartKind::Ladder => {
                "Sequence (ladder) diagram: one arrow per segment between two lifelines"
            }
            ChartKind::States => "Both endpoints' states as coloured bands over time",
            ChartKind::Seq => {
                "Stevens / tcptrace sequence-number graph of each direction that carried data"
            }
            ChartKind::Throughput => "Bytes per interval, both directions",
            ChartKind::Rtt => {
                "Data → ACK round-trip samples, with EstimatedRTT and the RTO (RFC 6298)"
            }
            ChartKind::Window => {
                "Bytes in flight, the receive window and the inferred congestion phases"
            }
            ChartKind::Layers => {
                "Encapsulation of one frame: nested headers and a coloured hex dump"
            }
            ChartKind::Diagram => {
                "The TCP state-transition diagram (RFC 9293 Figure 5) with each endpoint's path, numbered by frame"
            }
        }
    }

    /// The height to ask for when the user names none: the state diagram's figure
    /// is taller than wide charts (it is cut to what it needs at the width).
    pub fn default_height(self) -> u32 {
        match self {
            ChartKind::Diagram => 2000,
            _ => 800,
        }
    }

    /// Lower-case name, as on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Ladder => "ladder",
            ChartKind::States => "states",
            ChartKind::Seq => "seq",
            ChartKind::Throughput => "throughput",
            ChartKind::Rtt => "rtt",
            ChartKind::Layers => "layers",
            ChartKind::Diagram => "diagram",
            ChartKind::Window => "window",
        }
    }
}

/// Language of the labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The language's code, as on the command line (`en`, `zh`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

/// What to draw besides the kind and the flow.
#[derive(Clone, Copy, Debug)]
pub struct ChartOptions<'a> {
    pub lang: Lang,
    /// The kernel's states (live runs): drawn under the inferred ones in the states chart.
    pub kernel: Option<&'a KernelComparison>,
    /// For the layers chart: the frame to show (default: the flow's first frame).
    pub frame: Option<u64>,
    /// For the ladder: only frames `first..=last` (a close-up of one event); states
    /// on the first row are the ones in force when `first` was captured.
    pub frames: Option<(u64, u64)>,
    /// For the ladder: a frame to point at, drawn highlighted with this note (say,
    /// "dropped by the bridge", which the capture itself cannot show).
    pub mark: Option<(u64, &'a str)>,
    /// For the ladder: frames the lab's bridge dropped (from bridge.json, sorted),
    /// each drawn in the mark colour with "dropped by the bridge".
    pub dropped: &'a [u64],
    /// For the window chart: the kernel's cwnd and ssthresh over time (`tcp_probe`
    /// of a live run), drawn beside the packets' bytes in flight; empty: not drawn.
    pub kernel_window: &'a [KernelWindow],
    /// For the window chart: the kernel's congestion-state changes of the same
    /// sender (`tcp_cong_state_set`), drawn as a strip along the top above the
    /// phases the packets suggest; empty: not drawn.
    pub kernel_states: &'a [CongStateChange],
    /// Size in pixels (SVG user units).
    pub width: u32,
    pub height: u32,
}

impl Default for ChartOptions<'_> {
    fn default() -> Self {
        ChartOptions {
            lang: Lang::En,
            kernel: None,
            frame: None,
            frames: None,
            mark: None,
            dropped: &[],
            kernel_window: &[],
            kernel_states: &[],
            width: 1200,
            height: 800,
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("no flow {0} in this capture: `protolab flows FILE` lists the flows and their ids")]
    NoSuchFlow(u64),
    #[error("frame {0} was not kept for charting (not in the capture, or folded away in a long flow): `protolab inspect FILE` lists the frames")]
    NoSuchFrame(u64),
    #[error("the capture has no flow to chart (no TCP or UDP traffic): try `--kind layers --frame N` or `protolab inspect FILE`")]
    NoFlows,
    #[error("flow {flow} is {proto}: the {kind} chart is for TCP connections only; choose a TCP flow with --flow (see `protolab flows FILE`)")]
    NotTcp {
        flow: u64,
        proto: &'static str,
        kind: &'static str,
    },
    /// A sequence graph plots data bytes against time: a connection that carried
    /// none (a refused SYN, an open and close with nothing sent) has no graph.
    #[error("flow {0} carried no data bytes in either direction (only SYN, ACK, FIN or RST segments), so its sequence graph would have nothing to plot: its ladder (`--kind ladder`) shows every segment, and `--kind states` the endpoints' states")]
    NoData(u64),
    #[error("reading the capture: {0}")]
    Capture(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("size {0}x{1} is too small to draw on: use at least 400x300")]
    TooSmall(u32, u32),
}

pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(
    e: DrawingAreaErrorKind<E>,
) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Registers the embedded fonts with plotters, once per process.
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(style::register);
}

/// Everything a chart module needs to draw.
pub(crate) struct Ctx<'a> {
    pub data: &'a CaptureData,
    /// Flow id; 0 for the frames that belong to no flow.
    pub flow: u64,
    pub summary: Option<&'a FlowSummary>,
    pub frames: &'a [FrameRecord],
    pub opts: &'a ChartOptions<'a>,
    pub t: text::Text,
}

impl Ctx<'_> {
    /// When frames in the middle of this flow were not kept: the times of the last
    /// kept frame before the gap and the first after it, and how many were left out.
    pub fn folded_span(&self) -> Option<(u64, u64, u64)> {
        let n = *self.data.folded.get(&self.flow)?;
        let at = *self.data.fold_at.get(&self.flow)?;
        let before = self.frames.get(at.checked_sub(1)?)?;
        let after = self.frames.get(at).unwrap_or(before);
        Some((before.packet.ts_ns, after.packet.ts_ns, n))
    }

    /// First and last frame time of the flow (at least 1 ns apart, so spans divide).
    pub fn time_span(&self) -> (u64, u64) {
        let start = self.frames.first().map_or(0, |r| r.packet.ts_ns);
        let end = self
            .frames
            .last()
            .map_or(0, |r| r.packet.ts_ns)
            .max(start + 1);
        (start, end)
    }

    /// Legend text for the folded span.
    pub fn folded_label(&self, n: u64) -> String {
        match self.t.lang {
            Lang::En => format!(
                "{} here not kept (long flow)",
                crate::output::words::plural(n, "frame", "frames")
            ),
            Lang::Zh => format!("此处 {n} 帧未保留（长连接）"),
        }
    }

    /// The common end of the time charts (seq, throughput, RTT): shade the span whose
    /// frames were folded away, then draw the legend. `x` maps a capture time to the
    /// chart's x coordinate.
    pub fn shade_folded_and_legend<'c, DB: plotters::prelude::DrawingBackend + 'c>(
        &self,
        chart: &mut plotters::prelude::ChartContext<
            'c,
            DB,
            plotters::prelude::Cartesian2d<
                plotters::coord::types::RangedCoordf64,
                plotters::coord::types::RangedCoordf64,
            >,
        >,
        x: impl Fn(u64) -> f64,
        y_max: f64,
        position: plotters::chart::SeriesLabelPosition,
        fam: &str,
    ) -> Result<(), ChartError> {
        use plotters::prelude::*;
        if let Some((a, b, n)) = self.folded_span() {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x(a), 0.0), (x(b), y_max)],
                    style::LIGHT.mix(0.7).filled(),
                )))
                .map_err(draw_err)?
                .label(self.folded_label(n))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 20, y + 6)], style::LIGHT.filled())
                });
        }
        series_legend(chart, position, fam)
    }
}

/// The legend of a chart's series, in the lab's style, at `position`.
pub(crate) fn series_legend<'c, DB: DrawingBackend + 'c, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'c, DB, CT>,
    position: SeriesLabelPosition,
    fam: &str,
) -> Result<(), ChartError> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((fam, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(style::GREY)
        .draw()
        .map_err(draw_err)
}

fn context<'a>(
    kind: ChartKind,
    data: &'a CaptureData,
    flow: u64,
    opts: &'a ChartOptions<'a>,
) -> Result<Ctx<'a>, ChartError> {
    if opts.width < 400 || opts.height < 300 {
        return Err(ChartError::TooSmall(opts.width, opts.height));
    }
    let t = text::Text::new(opts.lang);
    if flow == 0 {
        // The frames outside any flow: ARP, ICMP, the undecodable.
        return Ok(Ctx {
            data,
            flow,
            summary: None,
            frames: &data.other,
            opts,
            t,
        });
    }
    let summary = data.flow(flow).ok_or(ChartError::NoSuchFlow(flow))?;
    if summary.proto != "tcp"
        && matches!(
            kind,
            ChartKind::States | ChartKind::Seq | ChartKind::Diagram
        )
    {
        return Err(ChartError::NotTcp {
            flow,
            proto: summary.proto,
            kind: kind.name(),
        });
    }
    Ok(Ctx {
        data,
        flow,
        summary: Some(summary),
        frames: data.flow_frames(flow),
        opts,
        t,
    })
}

/// Draws `kind` for `flow` onto any plotters drawing area.
pub fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    kind: ChartKind,
    data: &CaptureData,
    flow: u64,
    opts: &ChartOptions,
) -> Result<(), ChartError> {
    draw_kind(root, kind, data, flow, opts)?;
    root.present().map_err(draw_err)
}

/// [`draw_on`] without presenting, so a picture can hold more than one chart.
pub(crate) fn draw_kind<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    kind: ChartKind,
    data: &CaptureData,
    flow: u64,
    opts: &ChartOptions,
) -> Result<(), ChartError> {
    register_fonts();
    let ctx = context(kind, data, flow, opts)?;
    root.fill(&WHITE).map_err(draw_err)?;
    match kind {
        ChartKind::Ladder => ladder::draw(root, &ctx),
        ChartKind::States => states::draw(root, &ctx),
        ChartKind::Seq => seq::draw(root, &ctx),
        ChartKind::Throughput => throughput::draw_throughput(root, &ctx),
        ChartKind::Rtt => throughput::draw_rtt(root, &ctx),
        ChartKind::Window => window::draw(root, &ctx),
        ChartKind::Layers => layers::draw(root, &ctx),
        ChartKind::Diagram => diagram::draw(root, &ctx),
    }
}

/// The canvas size: the one asked for, but the ladder and the layers picture only
/// as tall as their content (a refused connection is two arrows and a short
/// frame's dump a few rows, not a page), the state diagram as tall as its figure
/// is at that width (it shrinks to fit a lower one), and never under the 300
/// pixels every chart needs. Errors are left to the drawing, which reports them.
fn canvas(kind: ChartKind, data: &CaptureData, flow: u64, opts: &ChartOptions) -> (u32, u32) {
    let content = match kind {
        ChartKind::Ladder => ladder::content_height,
        ChartKind::Layers => layers::content_height,
        ChartKind::Diagram => diagram::content_height,
        _ => return (opts.width, opts.height),
    };
    // The ladder measures its legend's text.
    register_fonts();
    let height = context(kind, data, flow, opts)
        .and_then(|ctx| content(&ctx))
        .map_or(opts.height, |h| h.clamp(300, opts.height.max(300)));
    (opts.width, height)
}

/// The chart as an SVG document.
pub fn render_svg(
    kind: ChartKind,
    data: &CaptureData,
    flow: u64,
    opts: &ChartOptions,
) -> Result<String, ChartError> {
    svg_with(canvas(kind, data, flow, opts), |root| {
        draw_kind(root, kind, data, flow, opts)
    })
}

/// The chart as PNG bytes.
pub fn render_png(
    kind: ChartKind,
    data: &CaptureData,
    flow: u64,
    opts: &ChartOptions,
) -> Result<Vec<u8>, ChartError> {
    png_with(canvas(kind, data, flow, opts), |root| {
        draw_kind(root, kind, data, flow, opts)
    })
}

/// Runs `draw` on an SVG canvas of `size` pixels and returns the document.
pub(crate) fn svg_with(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), ChartError>,
) -> Result<String, ChartError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

/// Runs `draw` on a bitmap of `size` pixels and returns it as PNG bytes.
///
/// Drawn into memory and encoded with the same encoder and settings plotters uses
/// when it saves a PNG file, so the bytes are those a file would hold.
pub(crate) fn png_with(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    let (w, h) = size;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    let mut png = std::io::Cursor::new(Vec::new());
    image::write_buffer_with_format(
        &mut png,
        &pixels,
        w,
        h,
        image::ColorType::Rgb8,
        image::ImageOutputFormat::Png,
    )
    .map_err(|e| ChartError::Draw(e.to_string()))?;
    Ok(png.into_inner())
}
