//! `report.md`: the report for hand-in, with the charts as PNG images under
//! `charts/`. Laid out by the `report.md` template.

use super::model::Report;
use super::page::page;
use super::templates::render;
use crate::chart::Lang;

/// Renders `report.md`.
pub fn render_markdown(r: &Report, lang: Lang) -> String {
    render("report.md", page(r, None, lang))
}
