//! Renders the whole report in memory: the pages, report.json and every chart.
//! The file edge ([`crate::files::report_output`]) writes it into a folder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::build::build_report;
use super::html::render_html;
use super::input::ReportInput;
use super::markdown::render_markdown;
use super::model::{layers_chart, link_layer_chart, ChartRef, Report};
use crate::chart::{render_png, render_svg, ChartKind, ChartOptions, Lang};

/// Everything a report consists of, in memory.
#[derive(Debug)]
pub struct RenderedReport {
    pub report: Report,
    pub html: String,
    pub markdown: String,
    pub json: String,
    /// (path under the output folder, content), SVG and PNG.
    pub charts: Vec<(String, Vec<u8>)>,
    /// Charts that could not be drawn, with why (the report says "chart not drawn").
    pub chart_errors: Vec<String>,
}

/// The files a report folder holds, once written.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    pub dir: PathBuf,
    pub index_html: PathBuf,
    pub report_md: PathBuf,
    pub report_json: PathBuf,
    pub charts: Vec<PathBuf>,
    pub chart_errors: Vec<String>,
}

fn kind(name: &str) -> ChartKind {
    match name {
        "ladder" => ChartKind::Ladder,
        "states" => ChartKind::States,
        "seq" => ChartKind::Seq,
        "throughput" => ChartKind::Throughput,
        "rtt" => ChartKind::Rtt,
        "window" => ChartKind::Window,
        "diagram" => ChartKind::Diagram,
        _ => ChartKind::Layers,
    }
}

/// Renders the report in memory. Pure: values in, strings and bytes out.
pub fn render_report(input: &ReportInput, lang: Lang) -> RenderedReport {
    let report = build_report(input, lang);
    let mut wanted: Vec<(u64, Option<u64>, ChartRef)> = Vec::new();
    if report.link_layer {
        wanted.push((0, None, link_layer_chart(lang)));
    }
    if let Some(l) = report.layers {
        wanted.push((l.flow, Some(l.frame), layers_chart(lang)));
    }
    for c in &report.connections {
        // A chart left out on purpose has its note on the pages, and no file.
        for chart in c.charts.iter().filter(|c| c.not_drawn.is_none()) {
            wanted.push((c.flow, None, chart.clone()));
        }
    }
    let mut charts = Vec::new();
    let mut svgs = BTreeMap::new();
    let mut chart_errors = Vec::new();
    for (flow, frame, chart) in wanted {
        let k = kind(chart.kind);
        // The window chart of a traced run: the kernel's cwnd beside the
        // flight, its congestion states above the phases.
        let (kernel_window, kernel_states) = match k {
            ChartKind::Window => {
                super::dynamics::kernel_chart_lines(input.kernel_tcp.as_ref(), &input.data, flow)
            }
            _ => Default::default(),
        };
        let opts = ChartOptions {
            lang,
            kernel: input.kernel.as_ref(),
            frame,
            dropped: &input.dropped_frames,
            kernel_window: &kernel_window,
            kernel_states: &kernel_states,
            height: k.default_height(),
            ..ChartOptions::default()
        };
        match render_svg(k, &input.data, flow, &opts) {
            Ok(svg) => {
                charts.push((chart.svg.clone(), svg.clone().into_bytes()));
                svgs.insert(chart.svg.clone(), svg);
            }
            Err(e) => chart_errors.push(format!("{}: {e}", chart.svg)),
        }
        match render_png(k, &input.data, flow, &opts) {
            Ok(png) => charts.push((chart.png.clone(), png)),
            Err(e) => chart_errors.push(format!("{}: {e}", chart.png)),
        }
    }
    let html = render_html(&report, input, &svgs, lang);
    let markdown = render_markdown(&report, lang);
    let json = serde_json::to_string_pretty(&report).expect("serialisable") + "\n";
    RenderedReport {
        report,
        html,
        markdown,
        json,
        charts,
        chart_errors,
    }
}
