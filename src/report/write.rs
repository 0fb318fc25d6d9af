//! Renders the whole report and writes the output folder — the one function of
//! `report` that touches the file system for output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::build::build_report;
use super::html::render_html;
use super::input::ReportInput;
use super::markdown::render_markdown;
use super::model::{layers_chart, link_layer_chart, ChartRef, Report};
use super::ReportError;
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

/// The files written.
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
        for chart in &c.charts {
            wanted.push((c.flow, None, chart.clone()));
        }
    }
    let mut charts = Vec::new();
    let mut svgs = BTreeMap::new();
    let mut chart_errors = Vec::new();
    for (flow, frame, chart) in wanted {
        let opts = ChartOptions {
            lang,
            kernel: input.kernel.as_ref(),
            frame,
            dropped: &input.dropped_frames,
            ..ChartOptions::default()
        };
        let k = kind(chart.kind);
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

/// Renders the report and writes `index.html`, `report.md`, `report.json` and
/// `charts/*` into `out_dir` (created if needed).
pub fn write_report(
    input: &ReportInput,
    out_dir: &Path,
    lang: Lang,
) -> Result<ReportFiles, ReportError> {
    let rendered = render_report(input, lang);
    let written = write_folder(
        out_dir,
        &rendered.html,
        &rendered.markdown,
        &rendered.json,
        &rendered.charts,
    )?;
    Ok(ReportFiles {
        dir: out_dir.to_path_buf(),
        index_html: written.index_html,
        report_md: written.report_md,
        report_json: written.report_json,
        charts: written.charts,
        chart_errors: rendered.chart_errors,
    })
}

/// What [`write_folder`] wrote.
pub(crate) struct Written {
    pub index_html: PathBuf,
    pub report_md: PathBuf,
    pub report_json: PathBuf,
    pub charts: Vec<PathBuf>,
}

/// Writes a report folder: `charts/*`, then `index.html`, `report.md` and
/// `report.json` (the lab report and the compare report share the layout).
pub(crate) fn write_folder(
    dir: &Path,
    html: &str,
    markdown: &str,
    json: &str,
    charts: &[(String, Vec<u8>)],
) -> Result<Written, ReportError> {
    let charts_dir = dir.join("charts");
    std::fs::create_dir_all(&charts_dir).map_err(|source| ReportError::Write {
        path: charts_dir.clone(),
        source,
    })?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, ReportError> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    let charts = charts
        .iter()
        .map(|(name, bytes)| write(name, bytes))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Written {
        index_html: write("index.html", html.as_bytes())?,
        report_md: write("report.md", markdown.as_bytes())?,
        report_json: write("report.json", json.as_bytes())?,
        charts,
    })
}
