//! `index.html` of a comparison: one self-contained page — the lab report's CSS,
//! the charts as inline SVG, links to each level's own lab report. No script, no
//! network; works from `file://`. Laid out by the `compare.html` template.

use std::collections::BTreeMap;

use super::page::page;
use crate::chart::Lang;
use crate::model::compare::CompareReport;
use crate::report::templates::render;

/// Renders `index.html`. `svgs` maps chart paths (`charts/…svg`) to their SVG text.
pub fn render_compare_html(
    r: &CompareReport,
    svgs: &BTreeMap<String, String>,
    lang: Lang,
) -> String {
    // Every chart with an SVG is drawn; the PNGs are the Markdown's.
    let drawn: Vec<String> = Vec::new();
    render("compare.html", page(r, svgs, &drawn, lang))
}
