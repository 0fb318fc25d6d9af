//! The pictures of `protolab compare`: what each protocol delivered at each loss
//! level, what the losses cost TCP in time and goodput, UDP's one-way latency per
//! level, and a close-up of one TCP recovery next to one UDP gap.
//!
//! Pure like the rest of `chart`: a [`CompareReport`] (and, for the close-ups, two
//! loaded captures) goes in, a drawing comes out. Each picture is one function
//! generic over the plotters backend, so SVG and PNG come from the same code.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::text::Text as Words;
use super::{
    draw_err, draw_kind, png_with, register_fonts, series_legend, style, svg_with, CaptureData,
    ChartError, ChartKind, ChartOptions, Lang, LoadLimits,
};
use crate::model::compare::{CompareReport, LevelResult};

/// TCP's colour in every compare chart.
const TCP: RGBColor = style::CLIENT;
/// UDP's colour in every compare chart.
const UDP: RGBColor = RGBColor(239, 108, 0);

/// One close-up for the recovery picture: a stretch of a capture's ladder with the
/// frame the bridge dropped marked.
#[derive(Clone, Copy, Debug)]
pub struct CloseUp<'a> {
    pub data: &'a CaptureData,
    pub flow: u64,
    /// First and last frame shown.
    pub frames: (u64, u64),
    /// The frame to point at, and what to say about it.
    pub mark: (u64, &'a str),
    /// The line above the ladder (which level, what happened).
    pub heading: &'a str,
}

/// Which compare picture, with what it is drawn from.
#[derive(Clone, Copy, Debug)]
pub enum ComparePicture<'a> {
    /// Delivered % against configured loss, TCP and UDP, with the ideal `100 − loss`.
    Delivered(&'a CompareReport),
    /// TCP completion time, and both protocols' goodput, against loss.
    Cost(&'a CompareReport),
    /// UDP one-way latency per level: box and whiskers, p50 and p99 marked.
    Latency(&'a CompareReport),
    /// One TCP recovery above one UDP gap (either may be missing).
    Recovery {
        tcp: Option<CloseUp<'a>>,
        udp: Option<CloseUp<'a>>,
    },
}

impl ComparePicture<'_> {
    /// File name stem under `charts/`.
    pub fn name(&self) -> &'static str {
        match self {
            ComparePicture::Delivered(_) => "delivered",
            ComparePicture::Cost(_) => "tcp_cost",
            ComparePicture::Latency(_) => "udp_latency",
            ComparePicture::Recovery { .. } => "recovery",
        }
    }

    /// Size in pixels (SVG user units).
    pub fn size(&self) -> (u32, u32) {
        match self {
            ComparePicture::Recovery { .. } => (1200, 1500),
            ComparePicture::Cost(_) => (1400, 700),
            _ => (1200, 750),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        lang: Lang,
    ) -> Result<(), ChartError> {
        register_fonts();
        root.fill(&WHITE).map_err(draw_err)?;
        let t = Words::new(lang);
        match *self {
            ComparePicture::Delivered(r) => draw_delivered(root, r, t),
            ComparePicture::Cost(r) => draw_cost(root, r, t),
            ComparePicture::Latency(r) => draw_latency(root, r, t),
            ComparePicture::Recovery { tcp, udp } => draw_recovery(root, tcp, udp, t),
        }
    }
}

/// The picture as an SVG document.
pub fn render_compare_svg(picture: &ComparePicture, lang: Lang) -> Result<String, ChartError> {
    svg_with(picture.size(), |root| picture.draw(root, lang))
}

/// The picture as PNG bytes.
pub fn render_compare_png(picture: &ComparePicture, lang: Lang) -> Result<Vec<u8>, ChartError> {
    png_with(picture.size(), |root| picture.draw(root, lang))
}

/// What to keep of a capture for a close-up ending at frame `last`: every frame up
/// to it (the default limits could fold a recovery deep inside a long transfer
/// away), none after it, and no bytes (the ladder does not need them).
pub fn close_up_limits(last: u64) -> LoadLimits {
    let upto = usize::try_from(last).unwrap_or(usize::MAX);
    LoadLimits {
        head: upto,
        tail: 0,
        other: 0,
        budget: usize::MAX,
        small: 0,
        total: usize::MAX,
        max_bytes: 0,
    }
}

/// "5%" — loss levels as the x axis and the text name them.
pub fn loss_label(loss: f64) -> String {
    let s = format!("{loss:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// The coordinates of every compare chart but the close-ups.
type Xy = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// The largest configured loss, at least 1 so an axis has a width.
fn loss_axis(levels: &[LevelResult]) -> f64 {
    let max = levels.iter().map(|l| l.loss_configured).fold(0.0, f64::max);
    if max <= 0.0 {
        1.0
    } else {
        max * 1.08
    }
}

/// How many y labels the meshes ask plotters for.
const Y_LABELS: usize = 10;

/// The decimals a tick label needs on an axis from 0 to `span` with at most
/// `max_points` ticks: plotters steps by 1, 2 or 5 × 10^k (the smallest that
/// fits), so the step's own decimals, and no tick repeats its neighbour's label
/// (as 0.1, 0.1, 0.2 did for steps of 0.05 printed with one decimal).
pub fn tick_decimals(span: f64, max_points: usize) -> usize {
    if span <= 0.0 || !span.is_finite() || max_points < 2 {
        return 0;
    }
    let mut k = (span / max_points as f64).log10().floor() as i32 - 1;
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(k);
            if ((span / step).floor() as usize) < max_points {
                return (-k).max(0) as usize;
            }
        }
        k += 1;
    }
}

fn mesh<'c, DB: DrawingBackend + 'c>(
    chart: &mut ChartContext<'c, DB, Xy>,
    fam: &str,
    x_desc: &str,
    y_desc: &str,
    decimals: usize,
) -> Result<(), ChartError> {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| loss_label(*x))
        .y_labels(Y_LABELS)
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style((fam, 15))
        .axis_desc_style((fam, 17))
        .light_line_style(style::LIGHT.mix(0.5))
        .draw()
        .map_err(draw_err)
}

/// A line through `points` with a dot at each, in the legend as `label`; with
/// `values`, each dot also gets its value written `dy` pixels above (< 0) or below.
fn dotted_line<'c, DB: DrawingBackend + 'c>(
    chart: &mut ChartContext<'c, DB, Xy>,
    points: &[(f64, f64)],
    color: RGBColor,
    label: &str,
    values: Option<(i32, &dyn Fn(f64) -> String)>,
    fam: &str,
) -> Result<(), ChartError> {
    let line = ShapeStyle::from(&color).stroke_width(3);
    chart
        .draw_series(LineSeries::new(points.iter().copied(), line))
        .map_err(draw_err)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line));
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 5, color.filled())))
        .map_err(draw_err)?;
    if let Some((dy, text)) = values {
        chart
            .draw_series(points.iter().map(|&(x, y)| {
                EmptyElement::at((x, y))
                    + plotters::element::Text::new(
                        text(y),
                        (6, dy),
                        TextStyle::from((fam, 14).into_font()).color(&color),
                    )
            }))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// What delivery to compare with: UDP's ideal (100 − loss) as a dashed line, and
/// 100 − the loss the bridge measured at each level.
fn draw_delivery_references<'c, DB: DrawingBackend + 'c>(
    chart: &mut ChartContext<'c, DB, Xy>,
    r: &CompareReport,
    t: Words,
    x_max: f64,
) -> Result<(), ChartError> {
    let ideal = ShapeStyle::from(&style::GREY).stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 100.0), (x_max, 100.0 - x_max)],
            10,
            6,
            ideal,
        ))
        .map_err(draw_err)?
        .label(t.pick("ideal for UDP: 100 − loss", "UDP 的理想值：100 − 丢包率"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ideal));
    let measured = ShapeStyle::from(&style::RETRANS).stroke_width(2);
    chart
        .draw_series(
            r.levels
                .iter()
                .map(|l| Cross::new((l.loss_configured, 100.0 - l.loss_measured), 7, measured)),
        )
        .map_err(draw_err)?
        .label(t.pick("100 − loss the bridge measured", "100 − 网桥实测的丢包率"))
        .legend(move |(x, y)| Cross::new((x + 10, y), 6, measured));
    Ok(())
}

/// Chart 1: delivered % against configured loss.
fn draw_delivered<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &CompareReport,
    t: Words,
) -> Result<(), ChartError> {
    let fam = t.family();
    let x_max = loss_axis(&r.levels);
    let lowest = r
        .levels
        .iter()
        .flat_map(|l| {
            [
                l.tcp.delivered_percent,
                l.udp.delivered_percent,
                100.0 - l.loss_measured,
            ]
        })
        .fold(100.0 - x_max, f64::min);
    let y_min = ((lowest - 5.0) / 5.0).floor().max(0.0) * 5.0;
    let mut chart = ChartBuilder::on(root)
        .caption(
            t.pick(
                "Delivered: TCP against UDP at each loss level",
                "交付率：各丢包率下的 TCP 与 UDP",
            ),
            (fam, 26),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_max, y_min..101.5)
        .map_err(draw_err)?;
    mesh(
        &mut chart,
        fam,
        t.pick("configured loss (--loss)", "配置的丢包率（--loss）"),
        t.pick(
            "delivered (% of bytes / datagrams)",
            "交付率（字节 / 数据报的 %）",
        ),
        0,
    )?;
    draw_delivery_references(&mut chart, r, t, x_max)?;
    let delivered = |value: fn(&LevelResult) -> f64| -> Vec<(f64, f64)> {
        r.levels
            .iter()
            .map(|l| (l.loss_configured, value(l)))
            .collect()
    };
    let one_decimal = |y: f64| format!("{y:.1}");
    // Values above the TCP line and below the UDP one, so they do not collide at 0%.
    dotted_line(
        &mut chart,
        &delivered(|l| l.tcp.delivered_percent),
        TCP,
        t.pick("TCP (file transfer)", "TCP（文件传输）"),
        Some((-22, &one_decimal)),
        fam,
    )?;
    dotted_line(
        &mut chart,
        &delivered(|l| l.udp.delivered_percent),
        UDP,
        t.pick("UDP (probe stream)", "UDP（探测数据流）"),
        Some((10, &one_decimal)),
        fam,
    )?;
    series_legend(&mut chart, SeriesLabelPosition::LowerLeft, fam)
}

/// The level every other is compared with: the lowest configured loss.
fn baseline(levels: &[LevelResult]) -> Option<&LevelResult> {
    levels
        .iter()
        .filter(|l| l.tcp.error.is_none() && l.tcp.completion_s > 0.0)
        .min_by(|a, b| a.loss_configured.total_cmp(&b.loss_configured))
}

/// One panel of the cost chart: loss across, 0 to a little above `max.1` up.
fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    max: (f64, f64),
    y_desc: &str,
    t: Words,
) -> Result<ChartContext<'a, DB, Xy>, ChartError> {
    let fam = t.family();
    let y_max = max.1.max(0.001) * 1.2;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (fam, 20))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..max.0, 0f64..y_max)
        .map_err(draw_err)?;
    let decimals = tick_decimals(y_max, Y_LABELS);
    mesh(
        &mut chart,
        fam,
        t.pick("configured loss", "配置的丢包率"),
        y_desc,
        decimals,
    )?;
    Ok(chart)
}

/// Chart 2: TCP completion time (left) and goodput of both (right) against loss.
fn draw_cost<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &CompareReport,
    t: Words,
) -> Result<(), ChartError> {
    let fam = t.family();
    style::title(
        root,
        fam,
        t.pick(
            "What the losses cost TCP: time and goodput",
            "丢包让 TCP 付出的代价：时间与有效吞吐量",
        ),
        t.pick(
            "TCP repairs every loss, so it delivers everything — later; UDP keeps its pace and loses what the link lost",
            "TCP 修复每一次丢包，最终全部交付，但更慢；UDP 保持速率，丢掉链路丢掉的部分",
        ),
    )?;
    let (_, body) = root.split_vertically(70);
    let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
    let x_max = loss_axis(&r.levels);
    let done: Vec<&LevelResult> = r.levels.iter().filter(|l| l.tcp.error.is_none()).collect();

    // Left: completion time (the median run's, with the runs' min–max as a bar),
    // each point labelled with its ratio to the baseline.
    let t_max = done
        .iter()
        .map(|l| l.figure("completion_s").map_or(l.tcp.completion_s, |s| s.2))
        .fold(0.0, f64::max);
    let mut chart = panel(
        &left,
        t.pick("TCP completion time", "TCP 完成时间"),
        (x_max, t_max),
        t.pick("seconds, SYN to last frame", "秒（从 SYN 到最后一帧）"),
        t,
    )?;
    let points: Vec<(f64, f64)> = done
        .iter()
        .map(|l| (l.loss_configured, l.tcp.completion_s))
        .collect();
    // Each point with its ratio to the baseline: the cost of the losses in one number.
    let base = baseline(&r.levels).map(|l| l.tcp.completion_s);
    let ratio = |y: f64| match base {
        Some(b) => format!("{y:.2} s (×{:.1})", y / b),
        None => format!("{y:.2} s"),
    };
    dotted_line(
        &mut chart,
        &points,
        TCP,
        t.pick("TCP completion time", "TCP 完成时间"),
        Some((-22, &ratio)),
        fam,
    )?;
    spread_bars(
        &mut chart,
        &done,
        "completion_s",
        TCP,
        t.pick("min–max over the runs", "各次运行的最小–最大值"),
    )?;
    series_legend(&mut chart, SeriesLabelPosition::UpperLeft, fam)?;

    // Right: goodput of both protocols.
    let g_max = r
        .levels
        .iter()
        .flat_map(|l| {
            [
                l.figure("goodput_mbps").map_or(l.tcp.goodput_mbps, |s| s.2),
                l.udp.goodput_mbps,
            ]
        })
        .fold(0.0, f64::max);
    let mut chart = panel(
        &right,
        t.pick("Goodput", "有效吞吐量"),
        (x_max, g_max),
        t.pick("Mbit/s of file bytes delivered", "Mbit/s（交付的文件字节）"),
        t,
    )?;
    let tcp: Vec<(f64, f64)> = done
        .iter()
        .map(|l| (l.loss_configured, l.tcp.goodput_mbps))
        .collect();
    let udp: Vec<(f64, f64)> = r
        .levels
        .iter()
        .map(|l| (l.loss_configured, l.udp.goodput_mbps))
        .collect();
    let label = t.pick("TCP goodput", "TCP 有效吞吐量");
    dotted_line(&mut chart, &tcp, TCP, label, None, fam)?;
    let label = t.pick("UDP goodput", "UDP 有效吞吐量");
    dotted_line(&mut chart, &udp, UDP, label, None, fam)?;
    spread_bars(
        &mut chart,
        &done,
        "goodput_mbps",
        TCP,
        t.pick("TCP: min–max over the runs", "TCP：各次运行的最小–最大值"),
    )?;
    // The Mathis model over the measured TCP goodput, clipped to the panel: at
    // a small loss it predicts far more than the link or the transfer allows.
    let model: Vec<(f64, f64)> = done
        .iter()
        .filter_map(|l| Some((l.loss_configured, l.model_goodput_mbps?)))
        .collect();
    if !model.is_empty() {
        let top = g_max.max(0.001) * 1.2;
        let clipped: Vec<(f64, f64)> = model.iter().map(|&(x, y)| (x, y.min(top))).collect();
        let dashed = ShapeStyle::from(&style::GREY).stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(clipped.iter().copied(), 8, 5, dashed))
            .map_err(draw_err)?
            .label(t.pick(
                "Mathis model (MSS/RTT)·(C/√p), measured RTT and loss",
                "Mathis 模型 (MSS/RTT)·(C/√p)，用实测 RTT 与丢包率",
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], dashed));
        chart
            .draw_series(
                clipped
                    .iter()
                    .map(|&p| Cross::new(p, 5, style::GREY.stroke_width(2))),
            )
            .map_err(draw_err)?;
    }
    series_legend(&mut chart, SeriesLabelPosition::UpperRight, fam)
}

/// A vertical bar from each level's min to its max of `figure` over the runs
/// (none for a level run once), in the legend once.
fn spread_bars<'c, DB: DrawingBackend + 'c>(
    chart: &mut ChartContext<'c, DB, Xy>,
    levels: &[&LevelResult],
    figure: &str,
    color: RGBColor,
    label: &str,
) -> Result<(), ChartError> {
    let bars: Vec<(f64, f64, f64)> = levels
        .iter()
        .filter(|l| l.runs.len() > 1)
        .filter_map(|l| {
            let (_, lo, hi) = l.figure(figure)?;
            Some((l.loss_configured, lo, hi))
        })
        .collect();
    if bars.is_empty() {
        return Ok(());
    }
    let bar = ShapeStyle::from(&color.mix(0.6)).stroke_width(2);
    chart
        .draw_series(
            bars.iter()
                .map(|&(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], bar)),
        )
        .map_err(draw_err)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], bar));
    // Whisker ends, a few pixels wide whatever the scale.
    chart
        .draw_series(bars.iter().flat_map(|&(x, lo, hi)| {
            [lo, hi]
                .map(|y| EmptyElement::at((x, y)) + PathElement::new(vec![(-5, 0), (5, 0)], bar))
        }))
        .map_err(draw_err)?;
    Ok(())
}

/// Linear-interpolated quantile `q` (0–1) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    let next = sorted[(i + 1).min(last)];
    Some(sorted[i] + (next - sorted[i]) * frac)
}

/// The latency axis: it spans the latencies, not 0 to them, or the added delay
/// would squash the distributions into flat lines.
fn latency_range(r: &CompareReport) -> (f64, f64) {
    let values = || {
        r.levels
            .iter()
            .filter(|l| l.udp.received > 0)
            .flat_map(|l| {
                let lat = l.udp.latency_ms;
                l.udp
                    .latency_samples_ms
                    .iter()
                    .copied()
                    .chain([lat.min, lat.p50, lat.p99, lat.max])
            })
            .filter(|v| v.is_finite())
    };
    let hi = values().fold(f64::MIN, f64::max);
    let lo = values().fold(f64::MAX, f64::min);
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = (hi - lo).max(0.1) * 0.25;
    ((lo - pad).max(0.0), hi + pad)
}

/// One level's distribution at `x`: whiskers min to max, a box over the middle
/// half of the samples, and the p50 and p99 marks with their values.
fn draw_latency_box<'c, DB: DrawingBackend + 'c>(
    chart: &mut ChartContext<'c, DB, Xy>,
    l: &LevelResult,
    x: f64,
    fam: &str,
) -> Result<(), ChartError> {
    let p50_style = ShapeStyle::from(&style::INK).stroke_width(3);
    let p99_style = ShapeStyle::from(&style::RETRANS).stroke_width(3);
    let lat = l.udp.latency_ms;
    let mut sorted: Vec<f64> = l
        .udp
        .latency_samples_ms
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let whisker = ShapeStyle::from(&UDP).stroke_width(2);
    if lat.max > lat.min {
        chart
            .draw_series([
                PathElement::new(vec![(x, lat.min), (x, lat.max)], whisker),
                PathElement::new(vec![(x - 0.08, lat.min), (x + 0.08, lat.min)], whisker),
                PathElement::new(vec![(x - 0.08, lat.max), (x + 0.08, lat.max)], whisker),
            ])
            .map_err(draw_err)?;
    }
    if let (Some(q1), Some(q3)) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75)) {
        chart
            .draw_series([
                Rectangle::new([(x - 0.2, q1), (x + 0.2, q3)], UDP.mix(0.25).filled()),
                Rectangle::new([(x - 0.2, q1), (x + 0.2, q3)], whisker),
            ])
            .map_err(draw_err)?;
    }
    // p99 is written above its line and p50 below, so close values stay readable.
    let marks = [
        (lat.p50, p50_style, format!("p50 {:.2}", lat.p50), 2),
        (lat.p99, p99_style, format!("p99 {:.2}", lat.p99), -18),
    ];
    for (y, line, text, dy) in marks {
        chart
            .draw_series([EmptyElement::at((x, y))
                + PathElement::new(vec![(-40, 0), (40, 0)], line)
                + plotters::element::Text::new(
                    text,
                    (46, dy),
                    TextStyle::from((fam, 14).into_font()).color(&line.color),
                )])
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Chart 3: UDP one-way latency per level.
fn draw_latency<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &CompareReport,
    t: Words,
) -> Result<(), ChartError> {
    let fam = t.family();
    let n = r.levels.len().max(1);
    let (y_min, y_max) = latency_range(r);
    let mut chart = ChartBuilder::on(root)
        .caption(
            t.pick(
                "UDP one-way latency at each loss level",
                "各丢包率下 UDP 的单向时延",
            ),
            (fam, 26),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y_min..y_max)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_labels(0)
        .disable_x_mesh()
        .x_desc(t.pick(
            "configured loss · box: middle half of the samples, whiskers: min to max",
            "配置的丢包率 · 箱体：样本的中间一半，须线：最小到最大",
        ))
        .y_desc(t.pick("one-way latency (ms)", "单向时延（毫秒）"))
        .y_label_formatter(&|y| format!("{y:.2}"))
        .label_style((fam, 15))
        .axis_desc_style((fam, 17))
        .light_line_style(style::LIGHT.mix(0.5))
        .draw()
        .map_err(draw_err)?;
    for (i, l) in r.levels.iter().enumerate() {
        let x = i as f64;
        // The level's name under its place (the axis has no numeric ticks).
        let (px, py) = chart.backend_coord(&(x, y_min));
        style::text(
            root,
            &loss_label(l.loss_configured),
            (px, py + 10),
            16,
            fam,
            &style::INK,
            (HPos::Center, VPos::Top),
        )?;
        if l.udp.received == 0 {
            continue; // nothing arrived: no latency to draw
        }
        draw_latency_box(&mut chart, l, x, fam)?;
    }
    Ok(())
}

/// Chart 4: the TCP close-up above the UDP one, each under its own heading.
fn draw_recovery<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    tcp: Option<CloseUp>,
    udp: Option<CloseUp>,
    t: Words,
) -> Result<(), ChartError> {
    let fam = t.family();
    let h = root.dim_in_pixel().1;
    let (top, bottom) = root.split_vertically(h * 3 / 5);
    let missing = [
        t.pick(
            "No fast retransmission at any level: no TCP recovery to show.",
            "各级别均无快速重传：没有可展示的 TCP 恢复过程。",
        ),
        t.pick(
            "No UDP datagram was lost at any level: no gap to show.",
            "各级别均无 UDP 数据报丢失：没有可展示的缺口。",
        ),
    ];
    for ((area, close), missing) in [(top, tcp), (bottom, udp)].into_iter().zip(missing) {
        let w = area.dim_in_pixel().0 as i32;
        let Some(c) = close else {
            style::text(
                &area,
                missing,
                (w / 2, 60),
                20,
                fam,
                &style::GREY,
                (HPos::Center, VPos::Top),
            )?;
            continue;
        };
        style::text(
            &area,
            c.heading,
            (w / 2, 12),
            20,
            fam,
            &style::INK,
            (HPos::Center, VPos::Top),
        )?;
        let (_, ladder) = area.split_vertically(44);
        let (lw, lh) = ladder.dim_in_pixel();
        let opts = ChartOptions {
            lang: t.lang,
            frames: Some(c.frames),
            mark: Some(c.mark),
            width: lw,
            height: lh,
            ..ChartOptions::default()
        };
        draw_kind(&ladder, ChartKind::Ladder, c.data, c.flow, &opts)?;
        area.draw(&PathElement::new(
            vec![(0, 0), (w, 0)],
            ShapeStyle::from(&style::LIGHT).stroke_width(2),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_never_repeat() {
        // 0 to 0.29 s: plotters steps by 0.05, which needs two decimals.
        assert_eq!(tick_decimals(0.288, 10), 2);
        assert_eq!(tick_decimals(2.4, 10), 1);
        assert_eq!(tick_decimals(12.0, 10), 0);
        assert_eq!(tick_decimals(0.0, 10), 0);
        // Against plotters' own ticks: every label differs from its neighbour.
        use plotters::coord::ranged1d::Ranged;
        for span in [0.0123, 0.15, 0.288, 0.9, 1.7, 3.3, 47.0, 980.0] {
            let d = tick_decimals(span, 10);
            let axis: RangedCoordf64 = (0.0..span).into();
            let labels: Vec<String> = axis
                .key_points(10)
                .iter()
                .map(|y| format!("{y:.d$}"))
                .collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(labels, unique, "span {span}");
            assert!(labels.len() >= 3, "span {span}: {labels:?}");
        }
    }

    #[test]
    fn loss_labels_drop_trailing_zeros() {
        assert_eq!(loss_label(0.0), "0%");
        assert_eq!(loss_label(5.0), "5%");
        assert_eq!(loss_label(0.5), "0.5%");
        assert_eq!(loss_label(12.25), "12.25%");
    }

    #[test]
    fn quantiles_interpolate_between_samples() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.25), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0], 0.5), Some(1.5));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
