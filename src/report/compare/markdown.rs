//! `report.md` of a comparison: for hand-in, with the charts as PNG images under
//! `charts/`. Laid out by the `compare.md` template.

use std::collections::BTreeMap;

use super::page::page;
use crate::chart::Lang;
use crate::model::compare::CompareReport;
use crate::report::templates::render;

/// Renders `report.md`. `drawn` lists the chart files that exist (`charts/…png`);
/// the others are said to be not drawn.
pub fn render_compare_markdown(r: &CompareReport, drawn: &[String], lang: Lang) -> String {
    render("compare.md", page(r, &BTreeMap::new(), drawn, lang))
}
