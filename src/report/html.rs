//! `index.html`: the report in one self-contained page — inline CSS, inline SVG
//! charts, and a small inline script for the step-through players. No network,
//! works from `file://`. Laid out by the `report.html` template.

use std::collections::BTreeMap;

use super::input::ReportInput;
use super::model::Report;
use super::page::page;
use super::player::player;
use super::templates::render;
use crate::chart::Lang;

/// Renders `index.html`. `svgs` maps chart paths (`charts/…svg`) to their SVG text.
pub fn render_html(
    r: &Report,
    input: &ReportInput,
    svgs: &BTreeMap<String, String>,
    lang: Lang,
) -> String {
    let mut page = page(r, Some(svgs), lang);
    let empty = Vec::new();
    for (view, c) in page.connections.iter_mut().zip(&r.connections) {
        let frames = input.data.frames.get(&c.flow).unwrap_or(&empty);
        view.player = Some(player(c, frames, lang));
    }
    render("report.html", page)
}
