//! Rendered reports written into their folders: `index.html`, `report.md`,
//! `report.json` and `charts/*` (the lab report and the compare report share the
//! layout).

use std::path::{Path, PathBuf};

use super::capture::load_close_up;
use super::font::load_cjk_font;
use crate::chart::Lang;
use crate::model::compare::CompareReport;
use crate::report::compare::{CompareFiles, RenderedCompare};
use crate::report::{render_report, ReportError, ReportFiles, ReportInput};

/// Renders the report and writes `index.html`, `report.md`, `report.json` and
/// `charts/*` into `out_dir` (created if needed).
pub fn write_report(
    input: &ReportInput,
    out_dir: &Path,
    lang: Lang,
) -> Result<ReportFiles, ReportError> {
    if lang == Lang::Zh {
        load_cjk_font();
    }
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
struct Written {
    pub index_html: PathBuf,
    pub report_md: PathBuf,
    pub report_json: PathBuf,
    pub charts: Vec<PathBuf>,
}

/// Writes a report folder: `charts/*`, then `index.html`, `report.md` and
/// `report.json` (the lab report and the compare report share the layout).
fn write_folder(
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

/// Renders the compare report in memory, reading the close-ups' captures from
/// `dir` (paths in `report` are relative to it).
pub fn render_compare_report(report: &CompareReport, dir: &Path, lang: Lang) -> RenderedCompare {
    if lang == Lang::Zh {
        load_cjk_font();
    }
    let mut load = |capture: &str, last: u64| {
        load_close_up(&dir.join(capture), last).map_err(|e| format!("{capture}: {e}"))
    };
    crate::report::compare::render_compare_report(report, &mut load, lang)
}

/// Renders the report and writes `index.html`, `report.md`, `report.json` and
/// `charts/*` into `dir`, the compare folder (the captures the report names are
/// read from there too).
pub fn write_compare_report(
    report: &CompareReport,
    dir: &Path,
    lang: Lang,
) -> Result<CompareFiles, ReportError> {
    let rendered = render_compare_report(report, dir, lang);
    let written = write_folder(
        dir,
        &rendered.html,
        &rendered.markdown,
        &rendered.json,
        &rendered.charts,
    )?;
    Ok(ReportFiles {
        dir: dir.to_path_buf(),
        index_html: written.index_html,
        report_md: written.report_md,
        report_json: written.report_json,
        charts: written.charts,
        chart_errors: rendered.chart_errors,
    })
}
